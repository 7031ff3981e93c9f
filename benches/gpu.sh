#!/usr/bin/env bash
# Training throughput of every example on a GPU through Burn's wgpu device (issue 15).
#
#   bash benches/gpu.sh [BIN_DIR] [OUT_DIR] [STEPS]
#
# Trains each example for two epochs of STEPS optimizer steps each (default 200; the training
# set is cut to STEPS batches) on `--device wgpu`, at the batch size of PyTorch's reference
# script (../shared/peer), and writes one line per example to OUT_DIR/gpu.txt: the steps per
# second of the SECOND epoch's training loop (from the run's metrics.json; the first epoch
# compiles the shaders and is reported beside it), and the card (`nvidia-smi`, where present).
# Test evaluation is cut to 200 images and is not timed. BIN_DIR holds the example executables
# (default: the release examples of the target directory, from
# `cargo build --release --features wgpu,ndarray --examples`).
#
# PyTorch's reference script measures the CPU only (it has no CUDA path), so this script has no
# PyTorch figure to put beside the GPU ones; docs/BENCHMARKS.md gives the CPU comparison.
#
# On a machine without a GPU the wgpu device is Mesa's software Vulkan (lavapipe, about 10x
# slower than the CPU device): `bash benches/gpu.sh "" runs/gpu_smoke 2` is the smoke test.
set -u
cd "$(dirname "$0")/.."
B="${1:-}"
B="${B:-${CARGO_TARGET_DIR:-$HOME/.cache/mcgrad-target}/release/examples}"
O="${2:-runs/gpu}"
STEPS="${3:-200}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
mkdir -p "$O"
card="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
echo "card: ${card:-none found (software Vulkan?)}; $STEPS steps per epoch; $(date -u +%FT%TZ)" > "$O/gpu.txt"
# name | executable | batch size | the example's own options
runs=(
  "vae|vae|128|--iw-samples 0"
  "discrete_vae-soft|discrete_vae|100|--estimator gumbel-softmax"
  "discrete_vae-st|discrete_vae|100|--estimator st-gumbel"
  "vq_vae|vq_vae|64|"
  "nade|nade|20|"
  "binary_vae-disarm|binary_vae|50|--estimator disarm"
  "dirichlet_vae|dirichlet_vae|128|--iw-samples 0"
)
status=0
for r in "${runs[@]}"; do
  IFS='|' read -r name exe batch opts <<< "$r"
  if [ ! -x "$B/$exe" ]; then
    echo "$name: executable $B/$exe not found (skipped)" | tee -a "$O/gpu.txt"
    continue
  fi
  # shellcheck disable=SC2086
  if "$B/$exe" $opts --device wgpu --epochs 2 --batch-size "$batch" \
      --train-limit $((batch * STEPS)) --test-limit 200 --quiet --overwrite \
      --out-dir "$O/$name" > "$O/$name.log" 2>&1; then
    python3 - "$O/$name/metrics.json" "$name" "$batch" >> "$O/gpu.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["epoch_seconds"]
steps = m["steps"] / len(s)
print(f"{sys.argv[2]}: {steps / s[-1]:.1f} steps/s at batch {sys.argv[3]} "
      f"(epoch 2: {steps:.0f} steps in {s[-1]:.2f} s; epoch 1 with shader compilation: {s[0]:.2f} s)")
PY
  else
    status=1
    echo "$name: failed, see $O/$name.log: $(tail -1 "$O/$name.log")" | tee -a "$O/gpu.txt"
  fi
done
cat "$O/gpu.txt"
exit $status
