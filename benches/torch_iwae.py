#!/usr/bin/env python3
"""PyTorch (CPU, eager, float32) reference for benches/iwae.rs: one training step of the
Gaussian VAE of examples/vae on the k-sample importance-weighted bound (IWAE, k = 50),
batch 128, Adam 1e-3, and the single-sample ELBO step for scale.

A step: gather 128 random MNIST training images, binarize them dynamically, encode
(784-400 ReLU, mean and log-scale heads of 20), draw 50 x 128 latents, decode (20-400-784
ReLU, Bernoulli logits), log-weights ln p(x|z) + ln p(z) - ln q(z|x), log-mean-exp over the
50 draws, backward, Adam. The same arithmetic as mcgrad's ImportanceWeighted with the
standard gradient.

Timing: after a warm-up, blocks of iterations of about --block-s seconds each; the figure
is the median over --repeats blocks, with the average number of cores that *other*
processes used meanwhile ("foreign", from /proc/stat less this process's own ticks).

  ~/.cache/torch-peer/bin/python benches/torch_iwae.py --threads 1 --data data/mnist
"""
import argparse
import gzip
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HALF_LN_2PI = 0.5 * math.log(2 * math.pi)
TICK = os.sysconf("SC_CLK_TCK")


def load_images(directory):
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).astype(np.float32) / 255.0).reshape(-1, 784)


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(784, 400)
        self.mean = nn.Linear(400, 20)
        self.log_scale = nn.Linear(400, 20)
        self.decoder_hidden = nn.Linear(20, 400)
        self.decoder_out = nn.Linear(400, 784)

    def neg_bound(self, x, k):
        """-ln (1/k) sum_i p(x, z_i)/q(z_i|x), per image, [B]."""
        h = F.relu(self.encoder(x))
        mu, log_scale = self.mean(h), self.log_scale(h)
        scale = log_scale.exp()
        z = mu + scale * torch.randn((k,) + mu.shape)
        logits = self.decoder_out(F.relu(self.decoder_hidden(z)))  # [k, B, 784]
        log_px = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").sum(-1)
        log_pz = (-0.5 * z.pow(2) - HALF_LN_2PI).sum(-1)
        log_qz = (-0.5 * ((z - mu) / scale).pow(2) - log_scale - HALF_LN_2PI).sum(-1)
        log_w = log_px + log_pz - log_qz
        return -(torch.logsumexp(log_w, 0) - math.log(k))


def snapshot():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    t = os.times()
    return time.perf_counter(), busy, (t.user + t.system) * TICK


def foreign_cores(a, b):
    wall = b[0] - a[0]
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / TICK / wall) if wall > 0 else 0.0


def time_step(step, block_s, repeats, warmup_s):
    start = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - start < warmup_s:
        step()
        n += 1
    per = (time.perf_counter() - start) / n
    iters = max(1, round(block_s / per))
    blocks = []
    a = snapshot()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        blocks.append((time.perf_counter() - t0) / iters)
    b = snapshot()
    return {
        "median_ms": 1e3 * statistics.median(blocks),
        "min_ms": 1e3 * min(blocks),
        "max_ms": 1e3 * max(blocks),
        "blocks_ms": [1e3 * x for x in blocks],
        "iters_per_block": iters,
        "foreign_cores": foreign_cores(a, b),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--block-s", type=float, default=1.0)
    p.add_argument("--warmup-s", type=float, default=2.0)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    images = load_images(a.data)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "loadavg_start": open("/proc/loadavg").read().split()[:3], "cases": {}}
    for name, k in (("iwae_k50_standard", 50), ("elbo_k1", 1)):
        model = Vae()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)

        def step():
            idx = torch.randint(0, images.shape[0], (128,))
            x = torch.bernoulli(images[idx])
            loss = model.neg_bound(x, k).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        r = time_step(step, a.block_s, a.repeats, a.warmup_s)
        out["cases"][name] = r
        print(f"torch {name:20s} threads={a.threads} median={r['median_ms']:.2f} ms "
              f"[{r['min_ms']:.2f}, {r['max_ms']:.2f}] foreign={r['foreign_cores']:.2f}", flush=True)
    out["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
