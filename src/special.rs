//! Numerically stable elementary functions built from single backend ops.

pub(crate) mod bessel;
pub(crate) mod gamma;
pub(crate) mod incomplete_gamma;
pub(crate) mod von_mises_cdf;

use burn::prelude::*;
use burn::tensor::activation::{self, log_sigmoid};

/// `softplus(x) = ln(1 + eˣ) = −ln σ(−x)`, exact in both tails (it is `x` for large `x` and
/// `eˣ` for very negative `x`, never `inf − inf`): one fused backend op (`log_sigmoid`), where
/// Burn's `activation::softplus` is a chain of seven, and `eˣ` itself below −15 (where
/// `ln(1 + eˣ) = eˣ` to `f32` precision), because only flex's `log_sigmoid` keeps that tail:
/// Burn's generic one, on ndarray and wgpu, rounds `ln(1 + eˣ)` to 0 there.
pub(crate) fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let tail = x.clone().lower_elem(-15.0);
    let small = x.clone().clamp_max(-15.0).exp();
    log_sigmoid(x.neg()).neg().mask_where(tail, small)
}

/// `softmax(x)` along `dim`: `y_k = exp(x_k) / Σ_j exp(x_j)`.
///
/// The value is the backend's fused softmax of `x` taken off the autodiff graph (on the CPU
/// backend one SIMD pass that shifts each row by its maximum, so finite rows never overflow).
/// The gradient is attached through a term that is exactly zero in the forward pass:
///
/// `y = y_c ⊙ (1 + δ − Σ_j y_c,j δ_j)`, with `y_c = sg(softmax(x))` and `δ = x − sg(x)`.
///
/// For finite `x`, `δ = x − x` is exactly 0, so the value is `y_c` bit for bit; the Jacobian is
/// `diag(y_c) − y_c y_cᵀ`, softmax's own. Burn's autodiff splits `softmax` into
/// max/sub/exp/sum/div and recomputes the `exp` in the backward pass (two scalar `exp` per
/// value); this form has one vectorized `exp` forward and none backward.
pub(crate) fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if !x.is_autodiff() {
        return activation::softmax(x, dim);
    }
    let y = activation::softmax(x.clone().inner(), dim).autodiff();
    let delta = x.clone() - x.detach();
    let mixed = (y.clone() * delta.clone()).sum_dim(dim);
    y * (delta - mixed + 1.0)
}

/// `exp(x)`, with the gradient `g ⊙ eˣ` from the forward value instead of a second `exp`.
///
/// Burn's autodiff recomputes `exp` of the input in the backward pass; here the value
/// `e_c = sg(exp(x))` is taken off the graph and the gradient attached through a term that is
/// exactly zero forward: `e = e_c ⊙ (1 + δ)`, `δ = x − sg(x)` (0 for finite `x`, so the value
/// is `e_c` bit for bit; `∂e/∂x = e_c`).
pub(crate) fn exp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !x.is_autodiff() {
        return x.exp();
    }
    let e = x.clone().inner().exp().autodiff();
    e * (x.clone() - x.detach() + 1.0)
}

/// `ln(1 + x)`, accurate for small `x` on every backend (Burn's `log1p` lowers to `ln(1 + x)`
/// on wgpu, and a GPU's `ln` is exact only to an absolute 2⁻²¹ near 1): the series
/// `x − x²/2 + … − x⁶/6` for `|x| < 1e-2` (truncation below `x⁷/7`, plain arithmetic), and
/// beyond, with `u = 1 + x` rounded, `ln(1 + x) = ln(u)·x/(u − 1)` (Goldberg, *What every
/// computer scientist should know about floating-point arithmetic*, 1991, Theorem 4). For
/// `x > −1`.
pub(crate) fn log1p<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let small = x.clone().abs().lower_elem(1e-2);
    let xs = x.clone().clamp(-1e-2, 1e-2);
    let mut series = xs.clone().mul_scalar(-1.0 / 6.0).add_scalar(1.0 / 5.0);
    for c in [-1.0 / 4.0, 1.0 / 3.0, -1.0 / 2.0] {
        series = (series * xs.clone()).add_scalar(c);
    }
    let series = ((series * xs.clone()).add_scalar(1.0)) * xs;
    let u = x.clone().add_scalar(1.0);
    let den = u.clone().sub_scalar(1.0);
    let exact = den.clone().equal_elem(0.0).bool_or(small.clone());
    let den = den.mask_fill(exact, 1.0);
    let ln_u = u.log();
    // x/(u − 1) ≈ 1 first where ln(u)·x would overflow (x above f32::MAX/89); elsewhere the
    // product first, the rounding every earlier figure of the crate was computed with
    // (clamped so that the branch not taken stays finite, and so does its gradient)
    let huge = x.clone().abs().greater_elem(1e36);
    let product_first = ln_u.clone() * x.clone().clamp(-1e36, 1e36) / den.clone();
    let v = product_first.mask_where(huge, ln_u * (x.clone() / den));
    v.mask_where(small, series)
}

/// `e^x − 1 − x` by its Taylor series `Σ_{k=2}^{11} x^k/k!` (Horner), for `|x| ≤ 1`: the
/// truncation error is below `1/12! ≈ 2e-9` relative to the value's `x²/e` or more, so the
/// result is correct to a few `f32` ulp where the direct formula loses every digit.
pub(crate) fn exp_excess_series<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut factorial = [1.0f64; 12];
    for k in 1..12 {
        factorial[k] = factorial[k - 1] * k as f64;
    }
    let mut p = x
        .clone()
        .mul_scalar(1.0 / factorial[11])
        .add_scalar(1.0 / factorial[10]);
    for k in (2..10).rev() {
        p = (p * x.clone()).add_scalar(1.0 / factorial[k]);
    }
    p * x.square()
}

/// `w·(e^u − 1 − u)` with `w = e^{log_w} ≤ 1`, accurate and overflow-free: the Taylor series
/// for `|u| ≤ 1`, where the direct formula cancels, and `e^{log_w + u} − w(1 + u)` beyond, which
/// overflows only where the exact value exceeds `f32::MAX`. Every KL divergence of the crate is
/// a sum of such terms (`φ(u) = e^u − 1 − u ≥ 0` is the convex gap behind them), so no closed
/// form subtracts nearly equal numbers.
///
/// The branches are chosen per element and each is fed values it handles (the series a
/// clamped `u`), so the unselected one never puts a NaN into the gradient.
pub(crate) fn weighted_exp_excess<const D: usize>(log_w: Tensor<D>, u: Tensor<D>) -> Tensor<D> {
    let small = u.clone().abs().lower_equal_elem(1.0);
    let w = log_w.clone().clamp_max(LN_F32_MAX).exp();
    let series = w.clone() * exp_excess_series(u.clone().clamp(-1.0, 1.0));
    let direct = (log_w + u.clone()).exp() - w * u.add_scalar(1.0);
    direct.mask_where(small, series)
}

/// `x / d` for a positive `d`, with a gradient that stays finite for tiny `d`: computed as
/// `(x·s)/(d·s)` with `s = sg(1/d)` (Burn's division backward computes `−x/d²`, which
/// overflows once `d²` underflows, below `d ≈ 1e-19`; here the divisor `d·s` is about 1). The
/// value is within about 2 ulp of `x/d`.
pub(crate) fn div_stable<const D: usize>(x: Tensor<D>, d: Tensor<D>) -> Tensor<D> {
    let s = d.clone().detach().recip();
    (x * s.clone()) / (d * s)
}

/// `ln f32::MAX`, rounded down: `exp` of anything up to it is finite.
pub(crate) const LN_F32_MAX: f32 = 88.722;

/// `e^{log_w}·x`, accurate where `e^{log_w}` is subnormal or underflows (a probability below
/// `f32::MIN_POSITIVE` times a large log-ratio, say): there it is computed as
/// `sign(x)·e^{log_w + ln|x|}`, whose exponent is in the normal range when the product is.
/// Elsewhere it is the plain product (the same bits).
pub(crate) fn exp_times<const D: usize>(log_w: Tensor<D>, x: Tensor<D>) -> Tensor<D> {
    let normal = log_w.clone().greater_equal_elem(-87.0);
    let plain = log_w.clone().exp() * x.clone();
    let magnitude = x
        .clone()
        .abs()
        .mask_fill(normal.clone().bool_or(x.clone().equal_elem(0.0)), 1.0);
    let tiny = x.sign() * (log_w.clamp_max(-87.0) + magnitude.log()).exp();
    tiny.mask_where(normal, plain)
}

/// `ln(a/b)` for positive finite `a` and `b` (normal `f32` numbers), accurate in every range:
/// `ln(1 + (a − b)/b)` by [`log1p`] for `a/b ∈ [½, 2]` (`a − b` is then exact, so nearly equal
/// scales keep every digit of their small log-ratio), `ln(a/b)` while the ratio is a normal
/// `f32`, and `ln a − ln b` beyond (a log-ratio above 87 in magnitude, where the ratio itself
/// would overflow or underflow).
///
/// The divisions go through `1/b` taken off the graph (`a/b = (a·s)/(b·s)`, `s = sg(1/b)`), so
/// the gradient never squares a tiny `b` (Burn's division backward computes `−a/b²`, which
/// underflows for `b < 1e-19`); each branch is fed values it handles, so the unselected ones
/// put no NaN into the gradient.
pub(crate) fn log_ratio<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (da, db) = (a.dims(), b.dims());
    let shape: [usize; D] = core::array::from_fn(|i| da[i].max(db[i]));
    let (a, b) = (a.expand(shape), b.expand(shape));
    let s = b.clone().detach().recip();
    let ratio = (a.clone().detach() * s.clone()) / (b.clone().detach() * s.clone());
    let near = ratio
        .clone()
        .greater_equal_elem(0.5)
        .bool_and(ratio.clone().lower_equal_elem(2.0));
    let mid = ratio
        .clone()
        .greater_equal_elem(f32::MIN_POSITIVE)
        .bool_and(ratio.is_finite())
        .bool_and(near.clone().bool_not());
    let bs = b.clone() * s.clone();
    let a_near = b.clone().mask_where(near.clone(), a.clone());
    let close = log1p((a_near - b.clone()) * s.clone() / bs.clone());
    let a_mid = b.clone().mask_where(mid.clone(), a.clone());
    let middle = (a_mid * s / bs).log();
    let far = a.log() - b.log();
    far.mask_where(mid, middle).mask_where(near, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_matches_the_definition_and_survives_huge_logits() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [1e7, -1e7, 0.0]], &device);
        let y = softmax(x, 1).try_into_vec_as::<f32>().unwrap();
        let z: f64 = [1f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        for (k, v) in [1f64, 2.0, 3.0].iter().enumerate() {
            assert!((y[k] as f64 - v.exp() / z).abs() < 1e-7);
        }
        assert_eq!(&y[3..], &[1.0, 0.0, 0.0]);
    }

    #[test]
    fn softmax_gradient_is_the_softmax_jacobian() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats([[0.3, -1.2, 2.0, 0.5]], &device).require_grad();
        let w = [1.5f64, -0.5, 0.25, 2.0];
        let y = softmax(x.clone(), 1);
        let values = y.clone().inner().try_into_vec_as::<f32>().unwrap();
        let loss = (y * Tensor::<2>::from_floats([[1.5, -0.5, 0.25, 2.0]], &device)).sum();
        let grad = x.grad(&loss.backward()).unwrap();
        let grad = grad.try_into_vec_as::<f32>().unwrap();
        // d/dx_j Σ_k w_k y_k = y_j (w_j − Σ_k w_k y_k), in f64 from the definition
        let xs = [0.3f64, -1.2, 2.0, 0.5];
        let z: f64 = xs.iter().map(|v| v.exp()).sum();
        let p: Vec<f64> = xs.iter().map(|v| v.exp() / z).collect();
        let mean: f64 = p.iter().zip(&w).map(|(p, w)| p * w).sum();
        for j in 0..4 {
            assert!((values[j] as f64 - p[j]).abs() < 1e-7);
            let want = p[j] * (w[j] - mean);
            assert!((grad[j] as f64 - want).abs() < 1e-6, "{grad:?}");
        }
    }

    #[test]
    fn exp_has_the_value_and_gradient_of_exp() {
        let device = Device::flex().autodiff();
        let xs = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
        let x = Tensor::<1>::from_floats(xs, &device).require_grad();
        let e = exp(x.clone());
        let plain = x.clone().inner().exp().try_into_vec_as::<f32>().unwrap();
        assert_eq!(e.clone().inner().try_into_vec_as::<f32>().unwrap(), plain);
        let w = Tensor::<1>::from_floats([1.0, -2.0, 0.5, 3.0, 0.25], &device);
        let grad = x.grad(&(e * w).sum().backward()).unwrap();
        let grad = grad.try_into_vec_as::<f32>().unwrap();
        for (k, w) in [1.0f32, -2.0, 0.5, 3.0, 0.25].iter().enumerate() {
            assert_eq!(grad[k], plain[k] * w);
        }
    }

    #[test]
    fn softplus_is_exact_in_both_tails() {
        let device = Device::flex();
        let x = Tensor::<1>::from_floats([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], &device);
        let y = softplus(x).try_into_vec_as::<f32>().unwrap();
        let want = [
            0.0,
            (-50f64).exp(),
            (1.0 + (-1f64).exp()).ln(),
            2f64.ln(),
            (1.0 + 1f64.exp()).ln(),
            50.0,
            1e4,
        ];
        for (g, w) in y.iter().zip(want) {
            assert!(
                (*g as f64 - w).abs() <= 1e-6 * w.abs().max(1e-30),
                "{g} vs {w}"
            );
        }
    }

    #[test]
    fn log1p_is_accurate_for_small_arguments() {
        let device = Device::flex();
        let xs = [-0.5f64, -1e-3, -3e-8, 0.0, 1e-10, 2e-7, 1e-4, 0.3, 1.0];
        let x = Tensor::<1>::from_floats(xs.map(|v| v as f32), &device);
        let y = log1p(x).try_into_vec_as::<f32>().unwrap();
        for (v, got) in xs.iter().zip(y) {
            let v32 = *v as f32 as f64;
            let want = v32.ln_1p();
            assert!(
                (got as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * want.abs(),
                "log1p({v}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn weighted_exp_excess_is_accurate_and_overflows_only_where_the_value_does() {
        let device = Device::flex();
        let us = [
            -1e4f64, -80.0, -1.5, -1.0, -0.3, -1e-4, 0.0, 1e-6, 0.02, 1.0, 3.0, 60.0, 88.0,
        ];
        let u = Tensor::<1>::from_floats(us.map(|v| v as f32), &device);
        for log_w in [0.0f64, -(2f64.ln()), -20.0] {
            let lw = Tensor::<1>::full([us.len()], log_w, &device);
            let got = weighted_exp_excess(lw, u.clone())
                .try_into_vec_as::<f32>()
                .unwrap();
            for (&uv, g) in us.iter().zip(got) {
                let uv = uv as f32 as f64;
                // f64 reference: the series for small |u|, the definition beyond
                let phi = if uv.abs() < 0.1 {
                    (1..20)
                        .map(|k| uv.powi(k + 1) / (1..=k + 1).map(f64::from).product::<f64>())
                        .sum()
                } else {
                    uv.exp_m1() - uv
                };
                let want = log_w.exp() * phi;
                // exp of an f32 argument x carries its rounding, |x|·2⁻²⁴ relative
                let tol = 1e-6 + 1.2e-7 * (uv.abs() + log_w.abs());
                assert!(
                    (g as f64 - want).abs() <= tol * want.abs(),
                    "log_w {log_w}, u {uv}: {g} vs {want}"
                );
            }
        }
        let big = Tensor::<1>::from_floats([89.0, 100.0], &device);
        let v = weighted_exp_excess(big.zeros_like(), big)
            .try_into_vec_as::<f32>()
            .unwrap();
        assert!(v.iter().all(|x| *x == f32::INFINITY));
    }

    #[test]
    fn log_ratio_is_accurate_in_every_range() {
        let device = Device::flex();
        let pairs = [
            (1.0f32, 1.0f32),
            (1.0, 1.0 + 2e-7),
            (3e10, 3e10 * (1.0 + 1e-6)),
            (1e-30, 1.0),
            (1.0, 1e-30),
            (f32::MIN_POSITIVE, 1e19),
            (1e19, f32::MIN_POSITIVE),
            (f32::MAX, f32::MIN_POSITIVE),
            (0.7, 2.5),
            (1e-20, 3e-20),
        ];
        let a = Tensor::<1>::from_floats(pairs.map(|p| p.0), &device);
        let b = Tensor::<1>::from_floats(pairs.map(|p| p.1), &device);
        let got = log_ratio(a, b).try_into_vec_as::<f32>().unwrap();
        for ((a, b), g) in pairs.iter().zip(got) {
            let want = (*a as f64).ln() - (*b as f64).ln();
            let tol = 4e-7 * want.abs() + 1e-12;
            assert!(
                (g as f64 - want).abs() <= tol,
                "ln({a}/{b}) = {g}, want {want}"
            );
        }
    }

    #[test]
    fn log_ratio_gradients_are_finite_for_tiny_and_huge_scales() {
        let device = Device::flex().autodiff();
        let a = Tensor::<1>::from_floats([1e-30, 1.0, 1e-37, 1e19, 2e-38], &device).require_grad();
        let b =
            Tensor::<1>::from_floats([1e-30, 1e-30, 1e19, 1e-37, 3e-38], &device).require_grad();
        let grads = log_ratio(a.clone(), b.clone()).sum().backward();
        let ga = a.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        let gb = b.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        for (i, (x, y)) in ga.iter().zip(&gb).enumerate() {
            assert!(x.is_finite() && y.is_finite(), "{i}: {x}, {y}");
        }
        // d/da ln(a/b) = 1/a
        assert!((ga[1] - 1.0).abs() < 1e-6 && (gb[0] * 1e-30 + 1.0).abs() < 1e-5);
    }
}

/// The grid of implicit derivatives that `benches/implicit_accuracy.py` compares with a
/// 30-digit mpmath reference (the accuracy figures in docs/RESULTS.md):
///
/// ```sh
/// cargo test --release --features wgpu,ndarray --lib export_implicit_derivatives \
///     -- --ignored --nocapture > runs/implicit_grid.txt
/// python3 benches/implicit_accuracy.py runs/implicit_grid.txt
/// ```
///
/// Lines `gamma a u ln(x/a) ∂ln x/∂a` for Gamma(a, 1) at the quantile level `u`, and
/// `vonmises κ u ξ ∂ξ/∂κ` for von Mises(0, κ).
#[cfg(test)]
mod accuracy_grid {
    use super::incomplete_gamma::{gamma_elasticity_excess, gamma_ln_quantile_ratio};
    use super::von_mises_cdf::{von_mises_implicit_derivative, von_mises_quantile};

    /// Quantile levels from the far lower tail to the far upper tail.
    const LEVELS: [f64; 11] = [
        1e-6, 1e-4, 1e-2, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999, 0.999999,
    ];

    /// Three values per decade from `10^lo` to `10^hi`.
    fn decades(lo: i32, hi: i32) -> Vec<f64> {
        let mut out = Vec::new();
        for e in lo..hi {
            for m in [1.0, 2.0, 5.0] {
                out.push(m * 10f64.powi(e));
            }
        }
        out.push(10f64.powi(hi));
        out
    }

    #[test]
    #[ignore = "prints the accuracy grid for benches/implicit_accuracy.py"]
    fn export_implicit_derivatives() {
        for a in decades(-3, 4) {
            for u in LEVELS {
                let ln_ratio = gamma_ln_quantile_ratio(a, u, 1.0 - u);
                let d = (1.0 + gamma_elasticity_excess(a, ln_ratio)) / a;
                assert!(ln_ratio.is_finite() && d.is_finite(), "a = {a}, u = {u}");
                println!("gamma {a:e} {u:e} {ln_ratio:.17e} {d:.17e}");
            }
        }
        // not u = ½: there ξ = 0 and ∂ξ/∂κ = 0 by symmetry (a relative error is undefined)
        for kappa in decades(-3, 3) {
            for u in LEVELS.into_iter().filter(|&u| u != 0.5) {
                let xi = von_mises_quantile(kappa, u, 1.0 - u);
                let d = von_mises_implicit_derivative(kappa, xi);
                assert!(xi.is_finite() && d.is_finite(), "κ = {kappa}, u = {u}");
                println!("vonmises {kappa:e} {u:e} {xi:.17e} {d:.17e}");
            }
        }
    }
}
