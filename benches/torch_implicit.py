#!/usr/bin/env python3
"""PyTorch (CPU, eager) reference for benches/implicit.rs: implicit reparameterization.

Timed cases, float32, the shapes and inputs of the criterion bench:
  gamma_rsample_fwd_bwd_1024x100      Gamma(alpha, 1).rsample(), (z*w).sum().backward()
  gamma_sample_1024x100               Gamma(alpha, 1).sample()
  dirichlet_k10_rsample_fwd_bwd_1024x10x10   Dirichlet(alpha).rsample(), (z*w).sum().backward()
  von_mises_sample_1024x100           VonMises(0, kappa).sample()   (no rsample in PyTorch)
with alpha, kappa = exp(N(0, 1)) and w ~ N(0, 1).

Timing as in ../shared/peer/torch_bench.py: warm-up, then `repeats` blocks of n iterations
(n chosen for ~0.25 s per block); the median per-iteration time over blocks, and the average
number of cores other processes used meanwhile ("foreign").

Usage: ~/.cache/torch-peer/bin/python benches/torch_implicit.py --threads 1 [--repeats 7]
"""
import argparse
import json
import os
import statistics
import time

import torch

_CLK = os.sysconf("SC_CLK_TCK")


def _snapshot():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    with open("/proc/self/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return time.perf_counter(), busy, int(st[11]) + int(st[12])


def bench(fn, repeats, target_s=0.25, warmup_s=0.5):
    t0 = time.perf_counter()
    it = 0
    while it < 3 or time.perf_counter() - t0 < warmup_s:
        fn()
        it += 1
    n = max(1, round(target_s / ((time.perf_counter() - t0) / it)))
    times = []
    a = _snapshot()
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    b = _snapshot()
    foreign = max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / _CLK / max(b[0] - a[0], 1e-9))
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "iters_per_block": n, "foreign_cores": foreign}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    D = torch.distributions

    alpha = torch.randn(1024, 100).exp().requires_grad_()
    w = torch.randn(1024, 100)
    one = torch.ones(())

    def gamma_rsample():
        z = D.Gamma(alpha, one).rsample()
        (z * w).sum().backward()

    alpha_plain = alpha.detach()

    def gamma_sample():
        D.Gamma(alpha_plain, one).sample()

    alpha_d = torch.randn(1024, 10, 10).exp().requires_grad_()
    w_d = torch.randn(1024, 10, 10)

    def dirichlet_rsample():
        z = D.Dirichlet(alpha_d).rsample()
        (z * w_d).sum().backward()

    kappa = torch.randn(1024, 100).exp()
    loc = torch.zeros(1024, 100)

    def von_mises_sample():
        D.VonMises(loc, kappa).sample()

    cases = {
        "gamma_rsample_fwd_bwd_1024x100": gamma_rsample,
        "gamma_sample_1024x100": gamma_sample,
        "dirichlet_k10_rsample_fwd_bwd_1024x10x10": dirichlet_rsample,
        "von_mises_sample_1024x100": von_mises_sample,
    }
    out = {"torch": torch.__version__, "threads": args.threads, "cases": {}}
    for name, fn in cases.items():
        r = bench(fn, args.repeats)
        out["cases"][name] = r
        print(f"{name:45s} {r['median_s'] * 1e3:9.3f} ms  (min {r['min_s'] * 1e3:.3f}, "
              f"max {r['max_s'] * 1e3:.3f}, foreign {r['foreign_cores']:.2f} cores)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
