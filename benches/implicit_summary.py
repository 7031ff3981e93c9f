#!/usr/bin/env python3
"""Summarizes the rounds of benches/implicit_rounds.sh as the markdown table of
docs/BENCHMARKS.md: per case and thread count, the median over rounds of PyTorch's median time
and of criterion's median estimate, and the speed-up (PyTorch time / mcgrad time, computed per
round, then the median of the per-round ratios).

Usage: python3 benches/implicit_summary.py runs/implicit_rounds
"""
import json
import re
import statistics
import sys
from pathlib import Path

# (label, mcgrad bench, PyTorch case)
CASES = [
    ("Gamma rsample + backward [1024, 100]", "gamma_rsample_fwd_bwd_1024x100", "gamma_rsample_fwd_bwd_1024x100"),
    ("Gamma sample [1024, 100]", "gamma_sample_1024x100", "gamma_sample_1024x100"),
    ("Dirichlet K = 10 rsample + backward [1024, 10, 10]", "dirichlet_k10_rsample_fwd_bwd_1024x10x10",
     "dirichlet_k10_rsample_fwd_bwd_1024x10x10"),
    ("von Mises rsample + backward [1024, 100] (PyTorch: sample only)", "von_mises_rsample_fwd_bwd_1024x100",
     "von_mises_sample_1024x100"),
    ("von Mises sample [1024, 100]", "von_mises_sample_1024x100", "von_mises_sample_1024x100"),
]

UNIT = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def criterion_medians(path):
    """bench name -> median ms, from a criterion log."""
    text = path.read_text()
    out = {}
    for m in re.finditer(r"^(\S+)\s*\n?\s*time:\s+\[(\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\]", text, re.M):
        out[m.group(1)] = float(m.group(4)) * UNIT[m.group(5)]
    return out


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/implicit_rounds")
    for t in (1, 2):
        rows = {c[0]: ([], [], []) for c in CASES}
        foreign = []
        for r in (1, 2, 3):
            tj, ol = root / f"torch_t{t}_r{r}.json", root / f"ours_t{t}_r{r}.log"
            if not (tj.exists() and ol.exists()):
                continue
            torch = json.loads(tj.read_text())["cases"]
            ours = criterion_medians(ol)
            for label, mine, theirs in CASES:
                if mine in ours and theirs in torch:
                    pt = torch[theirs]["median_s"] * 1e3
                    foreign.append(torch[theirs]["foreign_cores"])
                    rows[label][0].append(pt)
                    rows[label][1].append(ours[mine])
                    rows[label][2].append(pt / ours[mine])
        print(f"\n{t} thread(s): median over rounds (ms); speed-up = PyTorch / mcgrad")
        print("| case | PyTorch | mcgrad | speed-up | rounds |")
        print("|---|---:|---:|---:|---:|")
        for label, (pt, mc, ratio) in rows.items():
            if pt:
                print(f"| {label} | {statistics.median(pt):.2f} | {statistics.median(mc):.2f} | "
                      f"{statistics.median(ratio):.2f}× | {len(pt)} |")
        if foreign:
            print(f"(other processes used {min(foreign):.2f}-{max(foreign):.2f} cores during the "
                  f"PyTorch runs)")


if __name__ == "__main__":
    main()
