#!/usr/bin/env python3
"""Accuracy of the implicit derivatives against a high-precision reference (mpmath, 30 digits).

The library's f64 values come from an ignored unit test that prints them on a grid:

    cargo test --release --features wgpu,ndarray --lib export_implicit_derivatives \
        -- --ignored --nocapture > runs/implicit_grid.txt
    python3 benches/implicit_accuracy.py runs/implicit_grid.txt

Lines `gamma a u ln_ratio dlnx_da` and `vonmises kappa u xi dxi_dkappa`. The reference:
  Gamma:     d ln x/da = -(dP(a, x)/da) / (x p(x; a)), with dP/da by mpmath's numerical
             differentiation of the regularized incomplete gamma function at 30 digits;
  von Mises: dxi/dkappa = -(dF/dkappa)/p(xi), dF/dkappa = integral over [-pi, xi] of
             (cos t - A(kappa)) p(t) dt by mpmath's adaptive quadrature (the lighter side).
Prints the worst relative error per parameter decade and overall.
"""
import sys
from collections import defaultdict

import mpmath as mp

mp.mp.dps = 30


def gamma_reference(a, ln_ratio):
    a = mp.mpf(a)
    x = a * mp.exp(mp.mpf(ln_ratio))
    dp = mp.diff(lambda s: mp.gammainc(s, 0, x, regularized=True), a)
    xp = mp.exp(a * mp.log(x) - x - mp.loggamma(a))
    return -dp / xp


def von_mises_reference(kappa, xi):
    k, xi = mp.mpf(kappa), mp.mpf(xi)
    i0, i1 = mp.besseli(0, k), mp.besseli(1, k)
    a = i1 / i0
    f = lambda t: (mp.cos(t) - a) * mp.exp(k * (mp.cos(t) - mp.cos(xi)))
    if xi <= 0:
        v = mp.quad(f, [-mp.pi, xi])
    else:
        v = -mp.quad(f, [xi, mp.pi])
    return -v


def main():
    worst = defaultdict(float)
    where = {}
    with open(sys.argv[1]) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 5 or parts[0] not in ("gamma", "vonmises"):
                continue
            fam, p, u, v, got = parts[0], float(parts[1]), float(parts[2]), float(parts[3]), float(parts[4])
            ref = gamma_reference(p, v) if fam == "gamma" else von_mises_reference(p, v)
            rel = abs(float((mp.mpf(got) - ref) / ref))
            key = (fam, int(mp.floor(mp.log10(p))))
            if rel > worst[key]:
                worst[key], where[key] = rel, (p, u)
    for fam in ("gamma", "vonmises"):
        keys = sorted(k for k in worst if k[0] == fam)
        if not keys:
            continue
        total = max(worst[k] for k in keys)
        print(f"{fam}: worst relative error {total:.2e}")
        for k in keys:
            print(f"  parameter in [1e{k[1]}, 1e{k[1] + 1}): {worst[k]:.2e} at (parameter, u) = {where[k]}")


if __name__ == "__main__":
    main()
