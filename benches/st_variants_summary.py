#!/usr/bin/env python3
"""Summary of benches/st_variants_rounds.sh: per round and thread count, PyTorch's and
mcgrad's milliseconds per fwd+bwd on [1024, 30, 10], their ratio (PyTorch / mcgrad, above 1
means mcgrad is faster), the load average at the start of each run and the cores other
processes used during PyTorch's timing; then the medians over rounds.

  python3 benches/st_variants_summary.py runs/st_variants_rounds
"""
import json
import os
import re
import statistics
import sys

d=sys.argv[1]
cases=["reinmax","gumbel_rao_k10","decoupled_st","st_gumbel_softmax"]
def ours(f):
    txt=open(f).read(); out={}
    for m in re.finditer(r"^(\S+)_fwd_bwd_1024x30x10\s*\n\s*time:\s*\[\S+ \S+ (\S+) (\S+)",txt,re.M):
        v=float(m.group(2)); u=m.group(3)
        out[m.group(1)]=v*(1000 if u=="s" else 1)
    return out, txt.split("\n")[0]
def torch(f):
    j=json.load(open(f)); return {k:v["ms"] for k,v in j["cases"].items()}, {k:v["foreign_cores"] for k,v in j["cases"].items()}, open(f.replace(".json",".log")).readline().strip()
for t in [1,2]:
    print(f"== {t} thread(s)")
    rows={c:[] for c in cases}; est={}
    for r in [1,2,3]:
        fo=f"{d}/ours_t{t}_r{r}.log"; ft=f"{d}/torch_t{t}_r{r}.json"
        if not (os.path.exists(fo) and os.path.exists(ft)): continue
        o,lo=ours(fo); p,fc,lt=torch(ft)
        print(f" round {r}: load torch [{lt[:14]}] ours [{lo[:14]}]")
        for c in cases:
            if c in o and c in p:
                rows[c].append((p[c],o[c],p[c]/o[c]))
                print(f"   {c:20s} torch {p[c]:8.2f} ms (foreign {fc[c]:.2f})  ours {o[c]:8.2f} ms  ratio {p[c]/o[c]:.2f}")
        for c in ["reinmax","gumbel_rao_k10","decoupled_st"]:
            if c+"_estimator" in o: est.setdefault(c,[]).append(o[c+"_estimator"])
    for c in cases:
        if rows[c]:
            print(f" median {c:20s} torch {statistics.median(x[0] for x in rows[c]):8.2f} ours {statistics.median(x[1] for x in rows[c]):8.2f} ratio {statistics.median(x[2] for x in rows[c]):.2f}  rounds {' / '.join(f'{x[2]:.2f}' for x in rows[c])}")
    for c,v in est.items(): print(f" estimator path {c}: median {statistics.median(v):.2f} ms")
