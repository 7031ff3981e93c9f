#!/usr/bin/env bash
# Alternating rounds of the discrete-estimator comparison (docs/BENCHMARKS.md): three rounds
# of (PyTorch reference, then mcgrad's `discrete` criterion bench) at 1 and 2 threads, so the
# ratio can be quoted as a median over rounds on a noisy machine.
#   bash benches/discrete_rounds.sh   (about 10 minutes; needs the PyTorch virtualenv of
#   ../shared/peer/README.md)
set -u
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/mcgrad-target" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/mcgrad-target"
fi
O=runs/discrete_rounds
mkdir -p $O
cargo bench --features wgpu,ndarray --bench discrete --no-run
for r in 1 2 3; do
  for t in 1 2; do
    "${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}" ../shared/peer/torch_bench.py --threads $t --data data/mnist --repeats 5 > $O/torch_t${t}_r$r.log 2>&1
    RAYON_NUM_THREADS=$t cargo bench --features wgpu,ndarray --bench discrete -- --measurement-time 3 > $O/ours_t${t}_r$r.log 2>&1
  done
done
echo done > $O/DONE
