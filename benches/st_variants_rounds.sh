#!/usr/bin/env bash
# Alternating rounds of the straight-through-variants comparison (docs/BENCHMARKS.md): three
# rounds of (PyTorch, then mcgrad's criterion bench) at 1 and 2 threads, so that each ratio
# is a median over rounds measured under the same load.
#   bash benches/st_variants_rounds.sh [OUT]   (about 12 minutes; PyTorch from
#   PEER_PYTHON, default ~/.cache/torch-peer/bin/python)
set -u
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache/mcgrad-target" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/mcgrad-target"
fi
O=${1:-runs/st_variants_rounds}
mkdir -p "$O"
# the release profile (the one every build of this project uses), bench target in bench mode
BIN=$(cargo test --release --features wgpu,ndarray --bench straight_through_variants --no-run \
    --message-format=json 2>/dev/null | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$BIN" ] || { echo "bench binary not built" >&2; exit 1; }
PY=${PEER_PYTHON:-$HOME/.cache/torch-peer/bin/python}
for r in 1 2 3; do
  for t in 1 2; do
    cat /proc/loadavg > "$O/torch_t${t}_r$r.log"
    "$PY" benches/torch_st_variants.py --threads $t --json "$O/torch_t${t}_r$r.json" >> "$O/torch_t${t}_r$r.log" 2>&1
    cat /proc/loadavg > "$O/ours_t${t}_r$r.log"
    RAYON_NUM_THREADS=$t "$BIN" --bench --measurement-time 3 --warm-up-time 1 >> "$O/ours_t${t}_r$r.log" 2>&1
  done
done
"$PY" benches/st_variants_summary.py "$O" | tee "$O/summary.txt"
echo done > "$O/DONE"
