#!/usr/bin/env python3
"""Median table of benches/discrete_estimators_rounds.sh: per case and thread count, the
median over rounds of mcgrad's criterion estimate and of PyTorch's median, and their ratio
per round (median of the per-round ratios), with the load seen."""
import json
import re
import statistics
import sys
from pathlib import Path

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def criterion(path):
    """{bench name: median seconds} from a criterion log ("name time: [lo u mid u hi u]",
    the name alone on the line before when it is long)."""
    out, name = {}, None
    for line in Path(path).read_text().splitlines():
        m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if m:
            if not line[:1].isspace():
                name = line.split()[0]
            if name:
                out[name] = float(m.group(1)) * UNITS[m.group(2)]
            name = None
        elif line and not line[:1].isspace() and not line.startswith(("Benchmarking", "Found", "Gnuplot", "Warning")):
            name = line.split()[0]
    return out


def main(folder):
    d = Path(folder)
    rows = {}
    for t in (1, 2):
        for r in (1, 2, 3):
            ours = d / f"ours_t{t}_r{r}.log"
            torch = d / f"torch_t{t}_r{r}.json"
            if not ours.exists():
                continue
            o = criterion(ours)
            p = json.loads(torch.read_text())["cases"] if torch.exists() else {}
            for case, s in o.items():
                rows.setdefault((case, t), []).append((s, p.get(case, {}).get("median_s"), p.get(case, {}).get("foreign_cores")))
    print("| case | threads | mcgrad (ms) | PyTorch (ms) | PyTorch / mcgrad | rounds | PyTorch foreign cores |")
    print("|---|---|---|---|---|---|---|")
    for (case, t), vals in sorted(rows.items()):
        ours = statistics.median(v[0] for v in vals) * 1e3
        torch = [v[1] for v in vals if v[1] is not None]
        ratios = [v[1] / v[0] for v in vals if v[1] is not None]
        fc = [v[2] for v in vals if v[2] is not None]
        tm = f"{statistics.median(torch) * 1e3:.3f}" if torch else "—"
        ra = f"{statistics.median(ratios):.2f}×" if ratios else "—"
        fcs = f"{min(fc):.2f}–{max(fc):.2f}" if fc else "—"
        print(f"| {case} | {t} | {ours:.3f} | {tm} | {ra} | {len(vals)} | {fcs} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/discrete_estimators_rounds")
