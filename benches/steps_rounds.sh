#!/usr/bin/env bash
# Alternating rounds of PyTorch vs mcgrad training-step throughput (docs/BENCHMARKS.md):
# three rounds of (PyTorch T threads, vae, discrete_vae soft and ST) for T = 1, 2.
#   bash benches/steps_rounds.sh   (about 7 minutes, after `cargo build --release --features wgpu,ndarray
#   --examples`; needs the PyTorch virtualenv of ../shared/peer/README.md)
set -u
cd "$(dirname "$0")/.."
B="${CARGO_TARGET_DIR:-$HOME/.cache/mcgrad-target}/release/examples"
O=runs/steps_rounds
mkdir -p $O
for r in 1 2 3; do
  for t in 1 2; do
    "${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}" ../shared/peer/torch_bench.py --threads $t --data data/mnist --repeats 5 > $O/torch_t${t}_r$r.log 2>&1
    $B/vae --epochs 1 --max-steps 300 --test-limit 200 --iw-samples 0 --quiet --threads $t --out-dir $O/vae_t${t}_r$r > /dev/null 2>&1
    for est in gumbel-softmax st-gumbel; do
      $B/discrete_vae --estimator $est --epochs 1 --max-steps 300 --test-limit 200 --quiet --threads $t --out-dir $O/dvae_${est}_t${t}_r$r > /dev/null 2>&1
    done
  done
done
echo done > $O/DONE
