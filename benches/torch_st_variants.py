#!/usr/bin/env python3
"""PyTorch (CPU, eager) side of benches/straight_through_variants.rs.

Forward + backward on logits [1024, 30, 10] of:
  - ReinMax, tau = 1 (Liu et al. 2023), as a torch.autograd.Function (the form of the
    authors' package: the one-hot draw forward, the second-order Jacobian backward);
  - Gumbel-Rao, K = 10, tau = 1 (Paulus et al. 2021): K Gumbel draws conditioned on the
    sampled class, the mean of their softmaxes as the straight-through surrogate;
  - decoupled ST, tau_f = 1, tau_b = 2 (Shah et al. 2024);
  - straight-through Gumbel-softmax, tau = 1 (F.gumbel_softmax(hard=True)).
The categorical draws use the Gumbel-max trick (torch.multinomial, which the ReinMax package
uses, is slower). The cost is sum(y * w), as in the Rust bench.

Timing as ../shared/peer/torch_bench.py: after a warm-up, blocks of about 0.25 s, the median
per-iteration time of 9 blocks, and the average number of cores other processes used meanwhile.

  python benches/torch_st_variants.py --threads 1 [--json out.json]
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

B, N, K = 1024, 30, 10
CLK = os.sysconf("SC_CLK_TCK")


def snapshot():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    with open("/proc/self/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return time.perf_counter(), busy, int(st[11]) + int(st[12])


def bench(fn, target_s=0.25, repeats=9, warmup_s=0.3):
    t0, it = time.perf_counter(), 0
    while it < 3 or time.perf_counter() - t0 < warmup_s:
        fn()
        it += 1
    n = max(1, round(target_s / ((time.perf_counter() - t0) / it)))
    times = []
    s0 = snapshot()
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    s1 = snapshot()
    foreign = max(0.0, ((s1[1] - s0[1]) - (s1[2] - s0[2])) / CLK / (s1[0] - s0[0]))
    return {"ms": statistics.median(times) * 1e3, "all_ms": [x * 1e3 for x in times],
            "foreign_cores": foreign}


def gumbel_like(x):
    return -torch.empty_like(x).exponential_().log()


def one_hot_argmax(x):
    return torch.zeros_like(x).scatter_(-1, x.argmax(-1, keepdim=True), 1.0)


class ReinMaxFn(torch.autograd.Function):
    """Forward: a one-hot draw from softmax(logits). Backward: [2 J(pi_half) - J(pi)/2] g,
    J(p) = diag(p) - p p^T, pi_half = (D + softmax(logits / tau)) / 2."""

    @staticmethod
    def forward(ctx, logits, tau):
        with torch.no_grad():
            d = one_hot_argmax(logits + gumbel_like(logits))
        ctx.save_for_backward(logits, d)
        ctx.tau = tau
        return d

    @staticmethod
    def backward(ctx, g):
        logits, d = ctx.saved_tensors
        pi = logits.softmax(-1)
        half = 0.5 * ((logits / ctx.tau).softmax(-1) + d)
        gh = 2.0 * half * (g - (half * g).sum(-1, keepdim=True))
        gp = 0.5 * pi * (g - (pi * g).sum(-1, keepdim=True))
        return gh - gp, None


def reinmax(logits, tau):
    return ReinMaxFn.apply(logits, tau)


def gumbel_rao(logits, k, tau):
    with torch.no_grad():
        d = one_hot_argmax(logits + gumbel_like(logits))
        e = torch.empty((k,) + logits.shape).exponential_()
        e_top = (d * e).sum(-1, keepdim=True)
        log_z = logits.logsumexp(-1, keepdim=True)
        # Paulus et al. 2021: the maximum is -log E_top + log Z, the others Gumbels truncated
        # below it, -log(E / exp(logits) + E_top / Z)
        adjusted = d * (-e_top.log() + log_z) + (1 - d) * -(e / logits.exp() + e_top / log_z.exp()).log()
        noise = adjusted - logits
    y = ((logits + noise) / tau).softmax(-1).mean(0)
    return d + y - y.detach()


def decoupled_st(logits, tau_f, tau_b):
    g = gumbel_like(logits)
    with torch.no_grad():
        d = one_hot_argmax(logits / tau_f + g)
    y = (logits / tau_b + g).softmax(-1)
    return d + y - y.detach()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(B, N, K, generator=g).requires_grad_(True)
    w = torch.randn(B, N, K, generator=g)
    cases = {
        "reinmax": lambda: reinmax(logits, 1.0),
        "gumbel_rao_k10": lambda: gumbel_rao(logits, 10, 1.0),
        "decoupled_st": lambda: decoupled_st(logits, 1.0, 2.0),
        "st_gumbel_softmax": lambda: F.gumbel_softmax(logits, tau=1.0, hard=True),
    }
    res = {"threads": torch.get_num_threads(), "torch": torch.__version__,
           "loadavg_start": open("/proc/loadavg").read().split()[:3], "cases": {}}
    for name, draw in cases.items():
        def step():
            (draw() * w).sum().backward()
            logits.grad = None
        r = bench(step)
        res["cases"][name] = r
        print(f"{name}_fwd_bwd_1024x30x10: {r['ms']:.3f} ms (foreign cores {r['foreign_cores']:.2f})",
              flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
