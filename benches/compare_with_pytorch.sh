#!/usr/bin/env bash
# Side-by-side figures for docs/BENCHMARKS.md: the PyTorch reference script and mcgrad's
# criterion benches and example training steps, alternated at 1 and 2 threads in one run so
# that ratios are taken under the same machine load.
#
#   bash benches/compare_with_pytorch.sh [OUT_DIR]
#
# Needs the PyTorch virtualenv of ../shared/peer/README.md (PEER_PYTHON, default
# ~/.cache/torch-peer/bin/python) and the reference script (PEER_SCRIPT, default
# ../shared/peer/torch_bench.py). Takes about 12 minutes on 2 cores once built.
set -u
cd "$(dirname "$0")/.."
OUT="${1:-runs/bench}"
PEER_PYTHON="${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}"
PEER_SCRIPT="${PEER_SCRIPT:-../shared/peer/torch_bench.py}"
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/mcgrad-target" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/mcgrad-target"
fi
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release --features wgpu,ndarray --examples
cargo bench --features wgpu,ndarray --bench pathwise --bench discrete --bench noise --no-run
mkdir -p "$OUT"
for t in 1 2; do
    "$PEER_PYTHON" "$PEER_SCRIPT" --threads $t --data data/mnist --json "$OUT/torch_t$t.json" \
        > "$OUT/torch_t$t.log" 2>&1
    RAYON_NUM_THREADS=$t cargo bench --features wgpu,ndarray --bench pathwise --bench discrete \
        --bench noise > "$OUT/ours_t$t.log" 2>&1
    # one epoch of training steps (test set cut to 1000 images: only steps/s is wanted)
    "$TARGET/release/examples/vae" --epochs 1 --test-limit 1000 --iw-samples 0 --quiet \
        --threads $t --out-dir "$OUT/vae_t$t" > /dev/null
    for est in gumbel-softmax st-gumbel; do
        "$TARGET/release/examples/discrete_vae" --estimator $est --epochs 1 --max-steps 600 \
            --test-limit 1000 --quiet --threads $t --out-dir "$OUT/dvae_${est}_t$t" > /dev/null
    done
done
for t in 1 2; do
    echo "== $t thread(s): mcgrad (criterion: low, median, high)"
    grep -B1 "time:" "$OUT/ours_t$t.log" | grep -v -e '^--' -e 'change:' | paste - - \
        | sed -E 's/Benchmarking [^:]*: Analyzing//; s/ +/ /g'
    echo "== $t thread(s): PyTorch"
    cut -d' ' -f1-40 "$OUT/torch_t$t.log" | sed -E 's/ +/ /g'
    echo "== $t thread(s): example training steps per second"
    grep -H steps_per_sec "$OUT"/*_t$t/metrics.json
done
