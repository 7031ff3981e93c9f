#!/usr/bin/env bash
# Alternating rounds of the IWAE (k = 50) VAE training step, PyTorch vs mcgrad, at 1 and 2
# threads (docs/BENCHMARKS.md): three rounds of (PyTorch T threads, mcgrad T threads) for
# T = 1, 2, each run wrapped by benches/load_meter.py, which records how many cores other
# processes used meanwhile. About 8 minutes on 2 cores once built.
#
#   bash benches/iwae_rounds.sh [OUT_DIR]
#
# Needs the PyTorch virtualenv of ../shared/peer/README.md (PEER_PYTHON, default
# ~/.cache/torch-peer/bin/python).
set -eu
cd "$(dirname "$0")/.."
OUT="${1:-runs/iwae_rounds}"
PY="${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mcgrad-target}"
mkdir -p "$OUT"
# IWAE_BENCH_BIN: a bench binary built beforehand (`cargo bench --bench iwae --no-run` prints it)
if [ -z "${IWAE_BENCH_BIN:-}" ]; then
    cargo bench --features wgpu,ndarray --bench iwae --no-run 2> "$OUT/build.log" || {
        cat "$OUT/build.log"; exit 1; }
    IWAE_BENCH_BIN=$(grep -o '/[^ ]*/deps/iwae-[0-9a-f]*' "$OUT/build.log" | tail -1)
fi
BIN="$IWAE_BENCH_BIN"
for r in 1 2 3; do
  for t in 1 2; do
    "$PY" benches/load_meter.py "$OUT/torch_t${t}_r$r.load" \
        "$PY" benches/torch_iwae.py --threads $t --data data/mnist --json "$OUT/torch_t${t}_r$r.json" \
        > "$OUT/torch_t${t}_r$r.log" 2>&1
    RAYON_NUM_THREADS=$t "$PY" benches/load_meter.py "$OUT/ours_t${t}_r$r.load" \
        "$BIN" --bench --measurement-time 10 > "$OUT/ours_t${t}_r$r.log" 2>&1
  done
done
"$PY" benches/iwae_summary.py "$OUT"
