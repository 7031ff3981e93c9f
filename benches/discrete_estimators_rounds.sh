#!/usr/bin/env bash
# Alternating rounds of the ARM / DisARM / REBAR / RELAX comparison (docs/BENCHMARKS.md):
# three rounds of (PyTorch formulation, then mcgrad's `discrete_estimators` criterion bench)
# at 1 and 2 threads, logs in runs/discrete_estimators_rounds/, then the median table.
#   bash benches/discrete_estimators_rounds.sh   (about 15 minutes; needs the PyTorch
#   virtualenv of ../shared/peer/README.md, or PEER_PYTHON)
set -u
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/mcgrad-target" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/mcgrad-target"
fi
O=${ROUNDS_DIR:-runs/discrete_estimators_rounds}
PY="${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}"
mkdir -p "$O"
# BENCH_BIN: an already built bench executable (a copy, so that builds of other checkouts
# sharing the target directory cannot replace it between rounds)
if [ -z "${BENCH_BIN:-}" ]; then
  cargo bench --features wgpu,ndarray --bench discrete_estimators --no-run
fi
ours() {
  if [ -n "${BENCH_BIN:-}" ]; then
    "$BENCH_BIN" --bench --measurement-time 3
  else
    cargo bench --features wgpu,ndarray --bench discrete_estimators -- --measurement-time 3
  fi
}
for r in 1 2 3; do
  for t in 1 2; do
    cat /proc/loadavg > "$O/load_t${t}_r$r.txt"
    "$PY" benches/torch_estimators.py --threads $t --json "$O/torch_t${t}_r$r.json" > "$O/torch_t${t}_r$r.log" 2>&1
    RAYON_NUM_THREADS=$t ours > "$O/ours_t${t}_r$r.log" 2>&1
    cat /proc/loadavg >> "$O/load_t${t}_r$r.txt"
  done
done
python3 benches/discrete_estimators_table.py "$O" | tee "$O/table.md"
