#!/usr/bin/env python3
"""PyTorch (CPU, eager) formulations of ARM, DisARM and REBAR, timed like mcgrad's
`discrete_estimators` criterion bench, for the side-by-side figures of docs/BENCHMARKS.md.

Same shapes and costs as benches/discrete_estimators.rs:
  Bernoulli logits [1024, 200], f(y) = sum_j w_j (y_j - t_j)^2
  categorical logits [1024, 30, 10], f(y) = sum_l (sum_k v_k y_lk - t_l)^2
one draw (one antithetic pair) per batch element, f called once on the stacked rows, then
loss.backward(). REBAR: tau = 0.5, eta = 1. (RELAX needs a second-order backward in
PyTorch and has no few-line formulation; it is not timed here.)

Timing as ../shared/peer/torch_bench.py does it: a warm-up, then `repeats` blocks of about
`target` seconds each; the per-iteration median over blocks is reported, with the number
of cores other processes used meanwhile ("foreign").

  ~/.cache/torch-peer/bin/python benches/torch_estimators.py --threads 1 [--json out.json]
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

B, M, L, K = 1024, 200, 30, 10
TAU, ETA = 0.5, 1.0
CLK = os.sysconf("SC_CLK_TCK")


def snapshot():
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    with open("/proc/self/stat") as fh:
        st = fh.read().rsplit(")", 1)[1].split()
    return time.perf_counter(), busy, int(st[11]) + int(st[12])


def foreign(a, b):
    dt = b[0] - a[0]
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / CLK / dt) if dt > 0 else 0.0


def bench(fn, target=0.25, repeats=9, warmup=0.3):
    t0, it = time.perf_counter(), 0
    while it < 3 or time.perf_counter() - t0 < warmup:
        fn()
        it += 1
    n = max(1, round(target / ((time.perf_counter() - t0) / it)))
    times = []
    s0 = snapshot()
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    s1 = snapshot()
    return {"median_s": statistics.median(times), "min_s": min(times), "foreign_cores": foreign(s0, s1)}


def logit(u):
    return torch.log(u) - torch.log1p(-u)


# --- Bernoulli -----------------------------------------------------------------------
logits_b = torch.randn(B, M, requires_grad=True)
w_b = torch.rand(1, M) + 0.5
t_b = torch.rand(1, M)


def f_bits(y):
    return ((y - t_b) ** 2 * w_b).sum(1)


def arm():
    u = torch.rand(B, M)
    p = torch.sigmoid(logits_b)
    b1 = (u > 1 - p).float()
    b2 = (u < p).float()
    f = f_bits(torch.cat([b1, b2]))
    f1, f2 = f[:B], f[B:]
    g = (f1 - f2).detach()[:, None] * (u - 0.5)
    loss = (0.5 * (f1 + f2) + (logits_b * g).sum(1)).mean()
    loss.backward()


def disarm():
    u = torch.rand(B, M)
    p = torch.sigmoid(logits_b)
    b1 = (u > 1 - p).float()
    b2 = (u < p).float()
    f = f_bits(torch.cat([b1, b2]))
    f1, f2 = f[:B], f[B:]
    g = 0.5 * (f1 - f2).detach()[:, None] * (b1 - b2) * torch.sigmoid(logits_b.detach().abs())
    loss = (0.5 * (f1 + f2) + (logits_b * g).sum(1)).mean()
    loss.backward()


def rebar_bernoulli():
    u, v = torch.rand(B, M), torch.rand(B, M)
    p = torch.sigmoid(logits_b)
    z = logits_b + logit(u)
    b = (z > 0).float().detach()
    v1 = b * (v * p + 1 - p) + (1 - b) * v * (1 - p)
    zt = logits_b + logit(v1)
    f = f_bits(torch.cat([b, torch.sigmoid(z / TAU), torch.sigmoid(zt / TAU)]))
    fb, fz, fzt = f[:B], f[B:2 * B], f[2 * B:]
    logp = -F.binary_cross_entropy_with_logits(logits_b, b, reduction="none").sum(1)
    loss = (fb + (fb.detach() - ETA * fzt.detach()) * logp + ETA * (fz - fzt)).mean()
    loss.backward()


# --- categorical ---------------------------------------------------------------------
logits_c = torch.randn(B, L, K, requires_grad=True)
v_c = torch.randn(1, 1, K)
t_c = torch.randn(1, L)


def f_classes(y):
    return (((y * v_c).sum(2) - t_c) ** 2).sum(1)


def rebar_categorical():
    u, v = torch.rand(B, L, K), torch.rand(B, L, K)
    logp = torch.log_softmax(logits_c, -1)
    z = logp - torch.log(-torch.log(u))
    b = F.one_hot(z.argmax(-1), K).float()
    vb = (v * b).sum(-1, keepdim=True)
    zt_b = -torch.log(-torch.log(vb))
    zt_other = -torch.log(-torch.log(v) / torch.exp(logp) - torch.log(vb))
    zt = b * zt_b + (1 - b) * zt_other
    y = torch.cat([b, torch.softmax(z / TAU, -1), torch.softmax(zt / TAU, -1)])
    f = f_classes(y)
    fb, fz, fzt = f[:B], f[B:2 * B], f[2 * B:]
    lp = (b * logp).sum((1, 2))
    loss = (fb + (fb.detach() - ETA * fzt.detach()) * lp + ETA * (fz - fzt)).mean()
    loss.backward()


CASES = [
    ("arm_fwd_bwd_1024x200", arm),
    ("disarm_fwd_bwd_1024x200", disarm),
    ("rebar_bernoulli_fwd_bwd_1024x200", rebar_bernoulli),
    ("rebar_categorical_fwd_bwd_1024x30x10", rebar_categorical),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": args.threads, "cases": {}}
    for name, fn in CASES:
        r = bench(fn, repeats=args.repeats)
        out["cases"][name] = r
        print(f"{name:40s} {r['median_s'] * 1e3:9.3f} ms  (min {r['min_s'] * 1e3:.3f}, foreign {r['foreign_cores']:.2f} cores)", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
