#!/usr/bin/env python3
"""Summarizes benches/iwae_rounds.sh: per round and thread count, PyTorch's median step time
and criterion's median for mcgrad, with the foreign load of each run; then the median over
rounds and the ratio PyTorch / mcgrad (above 1: mcgrad is faster).

  python benches/iwae_summary.py runs/iwae_rounds
"""
import glob
import json
import os
import re
import statistics
import sys

UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def criterion_medians(path):
    """{case: median ms} from a criterion log."""
    out, name = {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^vae_train_step_b128/(\S+)", line)
        if m:
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            out[name] = float(t.group(1)) * UNITS[t.group(2)]
            name = None
    return out


def main():
    d = sys.argv[1]
    rows = {}
    for t in (1, 2):
        for r in sorted({int(re.search(r"_r(\d+)", p).group(1)) for p in glob.glob(f"{d}/torch_t{t}_r*.json")}):
            torch = json.load(open(f"{d}/torch_t{t}_r{r}.json"))["cases"]
            ours = criterion_medians(f"{d}/ours_t{t}_r{r}.log")
            lt = json.load(open(f"{d}/torch_t{t}_r{r}.load"))
            lo = json.load(open(f"{d}/ours_t{t}_r{r}.load"))
            for case in ("iwae_k50_standard", "elbo_k1", "iwae_k50_dreg"):
                tt = torch.get(case, {}).get("median_ms")
                oo = ours.get(case)
                rows.setdefault((t, case), []).append((tt, oo, lt["foreign_cores"], lo["foreign_cores"]))
                show = lambda v: "-" if v is None else f"{v:.1f}"
                print(f"t={t} round {r} {case:18s} torch {show(tt)} ms "
                      f"(foreign {lt['foreign_cores']:.2f})  mcgrad {show(oo)} ms "
                      f"(foreign {lo['foreign_cores']:.2f})")
    print()
    print("| case | threads | PyTorch ms (median of rounds) | mcgrad ms | PyTorch / mcgrad | foreign cores (torch, ours) |")
    print("|---|---|---|---|---|---|")
    for (t, case), v in sorted(rows.items()):
        tt = [x[0] for x in v if x[0] is not None]
        oo = [x[1] for x in v if x[1] is not None]
        mt = statistics.median(tt) if tt else None
        mo = statistics.median(oo) if oo else None
        ratio = f"{mt / mo:.2f}" if mt and mo else "-"
        ft = max(x[2] for x in v)
        fo = max(x[3] for x in v)
        show = lambda v: "-" if v is None else f"{v:.1f}"
        print(f"| {case} | {t} | {show(mt)} | {show(mo)} | {ratio} | ≤ {ft:.2f}, ≤ {fo:.2f} |")


if __name__ == "__main__":
    main()
