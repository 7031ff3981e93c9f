#!/usr/bin/env bash
# Alternating rounds of the implicit-reparameterization comparison (docs/BENCHMARKS.md):
# three rounds of (PyTorch reference benches/torch_implicit.py, then mcgrad's `implicit`
# criterion bench) at 1 and 2 threads, so that ratios are medians over rounds taken under the
# same machine load. Also records the machine load (1-minute load average) before each run.
#   bash benches/implicit_rounds.sh [OUT_DIR]   (about 8 minutes once built; needs the PyTorch
#   virtualenv of ../shared/peer/README.md, PEER_PYTHON to override)
set -u
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/mcgrad-target" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/mcgrad-target"
fi
O="${1:-runs/implicit_rounds}"
PY="${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}"
mkdir -p "$O"
cargo bench --features wgpu,ndarray --bench implicit --no-run
for r in 1 2 3; do
  for t in 1 2; do
    echo "round $r threads $t torch $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)" >> "$O/load.log"
    "$PY" benches/torch_implicit.py --threads $t --repeats 7 --json "$O/torch_t${t}_r$r.json" > "$O/torch_t${t}_r$r.log" 2>&1
    echo "round $r threads $t mcgrad $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)" >> "$O/load.log"
    RAYON_NUM_THREADS=$t cargo bench --features wgpu,ndarray --bench implicit -- --measurement-time 3 > "$O/ours_t${t}_r$r.log" 2>&1
  done
done
echo done > "$O/DONE"
