#!/usr/bin/env bash
# Trains the binary_vae example once per gradient estimator at one step budget, then writes the
# comparison table and charts (examples/binary_vae_compare):
#
#   OUT/<estimator>/        each run (metrics.json, history.json, pictures, command.txt, train.log)
#   OUT/table.md            one row per estimator, with the command of each row
#   OUT/gradient_variance.png, OUT/test_elbo.png
#
# Usage: examples/binary_vae/compare.sh [OUT]        (default OUT: runs/binary_vae_compare)
# Environment (defaults in brackets):
#   EPOCHS [20]          epochs of 1200 steps (batch 50, 60000 images): the step budget
#   MODEL [linear]       linear or nonlinear
#   JOBS [2]             trainings at once (each on one CPU thread)
#   VARIANCE_EVERY [400] steps between variance measurements, each of K estimates
#   VARIANCE_K [10]      K
#   SEED [0]
#   ESTIMATORS           the estimators to run [all eleven]
#   EXTRA                more options for every run (e.g. "--max-steps 100 --train-limit 5000")
#   OVERWRITE [0]        1 passes --overwrite: without it, a folder that holds a run is refused
#                        (that run's row fails) and nothing earlier is destroyed
#   DEVICE [flex]        flex, ndarray or wgpu
#   BUILD [1]            0 uses the binaries already in the target directory (no cargo build)
#
# The binaries are built once and copied into OUT/bin, so that another build of the shared target
# directory cannot replace them during the runs. Run from the repository root.
set -euo pipefail

OUT=${1:-runs/binary_vae_compare}
EPOCHS=${EPOCHS:-20}
MODEL=${MODEL:-linear}
JOBS=${JOBS:-2}
VARIANCE_EVERY=${VARIANCE_EVERY:-400}
VARIANCE_K=${VARIANCE_K:-10}
SEED=${SEED:-0}
DEVICE=${DEVICE:-flex}
EXTRA=${EXTRA:-}
ESTIMATORS=${ESTIMATORS:-"reinforce rloo arm disarm rebar relax st gumbel-softmax reinmax gumbel-rao decoupled-st"}

TARGET=${CARGO_TARGET_DIR:-target}
if [[ ${BUILD:-1} != 0 ]]; then
    cargo build --release --features wgpu,ndarray --example binary_vae --example binary_vae_compare
fi
mkdir -p "$OUT/bin"
cp "$TARGET/release/examples/binary_vae" "$TARGET/release/examples/binary_vae_compare" "$OUT/bin/"

overwrite=()
if [[ ${OVERWRITE:-0} == 1 ]]; then overwrite=(--overwrite); fi

train() {
    local e=$1
    local dir="$OUT/$e"
    # shellcheck disable=SC2206
    local args=(--estimator "$e" --model "$MODEL" --epochs "$EPOCHS" --seed "$SEED"
        --variance-every "$VARIANCE_EVERY" --variance-estimates "$VARIANCE_K"
        --device "$DEVICE" --threads 1 --quiet --out-dir "$dir" "${overwrite[@]}" $EXTRA)
    mkdir -p "$dir"
    local log="$dir/train.log"
    [[ -e $log ]] && log="$dir/train.$(date +%s).log"
    if "$OUT/bin/binary_vae" "${args[@]}" >"$log" 2>&1; then
        echo "cargo run --release --features wgpu,ndarray --example binary_vae -- ${args[*]}" >"$dir/command.txt"
        echo "$e: $(tail -n 2 "$log" | head -n 1)"
    else
        echo "$e: FAILED, see $log: $(tail -n 1 "$log")"
    fi
}

started=$(date +%s)
running=0
for e in $ESTIMATORS; do
    if (( running >= JOBS )); then
        wait -n || true
        running=$((running - 1))
    fi
    train "$e" &
    running=$((running + 1))
done
wait
echo "trainings done in $(( $(date +%s) - started )) s"

runs=()
for e in $ESTIMATORS; do
    [[ -f "$OUT/$e/metrics.json" && -f "$OUT/$e/command.txt" ]] && runs+=("$OUT/$e")
done
"$OUT/bin/binary_vae_compare" --out "$OUT" "${runs[@]}"
