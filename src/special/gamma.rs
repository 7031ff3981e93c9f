//! The gamma function's logarithm and its derivatives: `ln Γ`, `ψ = (ln Γ)′` and `ψ′`, in `f64`
//! on the host (for the samplers and their implicit gradients) and as differentiable tensor
//! functions on any device (for log-densities, entropies and KL divergences).
//!
//! # Method
//!
//! Both use the recurrence `Γ(x + 1) = x Γ(x)` to move the argument to `x ≥ 8` (tensors) or
//! `x ≥ 10` (host) and Stirling's series there,
//!
//! `ln Γ(x) = (x − ½) ln x − x + ½ ln 2π + 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + …`,
//!
//! whose truncation error is below the first omitted term (at `x = 8`: `1/(1188·8⁹) < 7e-12`;
//! Abramowitz & Stegun 6.1.41, 6.3.18, 6.4.12). On the host the results are within a few
//! units in the last place of `f64` in absolute terms; the tensor versions run in `f32`, to a
//! few `f32` ulp of the value.
//!
//! The tensor functions are compositions of element-wise backend ops, so Burn's autodiff
//! differentiates them (the gradient of `ln_gamma` is the derivative of the same series, i.e.
//! `ψ` to `f32` accuracy). Both branches of the argument split are evaluated on clamped
//! inputs, so neither produces a NaN that a masked gradient could pick up.
//!
//! For large arguments `ln Γ(q) − ln Γ(p)` loses everything to cancellation in `f32`;
//! [`ln_gamma_bregman`] and [`ln_gamma_half_ratio`] rearrange the differences the KL
//! divergences and the Student-t need so that no intermediate leaves the `f32` range while the
//! result is in it.

use burn::prelude::*;

/// `½ ln 2π`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// The Euler–Mascheroni constant γ = −ψ(1).
#[cfg(test)]
pub(crate) const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Where the host functions switch from the recurrence to Stirling's series.
const HOST_SHIFT: f64 = 10.0;

/// `ln Γ(x) − (x − ½) ln x + x − ½ ln 2π` for `x ≥ 10` by Stirling's series (the remainder of
/// Stirling's formula, `ln Γ*(x)`; error below `2e-15`).
fn stirling_remainder_large(x: f64) -> f64 {
    let r = 1.0 / (x * x);
    (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0 - r * (1.0 / 1188.0)))))
        / x
}

/// `ln Γ(x)` for `x > 0` (NaN for `x ≤ 0` or NaN).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x >= HOST_SHIFT {
        return (x - 0.5) * x.ln() - x + HALF_LN_2PI + stirling_remainder_large(x);
    }
    // ln Γ(x) = ln Γ(x + n) − ln(x (x+1) ⋯ (x+n−1)); the product stays below 10¹⁰·x
    let mut y = x;
    let mut product = 1.0;
    while y < HOST_SHIFT {
        product *= y;
        y += 1.0;
    }
    ln_gamma(y) - product.ln()
}

/// `ln Γ*(x) = ln Γ(x) − (x − ½) ln x + x − ½ ln 2π`, the remainder of Stirling's formula, for
/// `x > 0`: `1/(12x) + O(x⁻³)` for large `x`, computed without the cancellation of the
/// definition there.
pub(crate) fn stirling_remainder(x: f64) -> f64 {
    if x >= HOST_SHIFT {
        stirling_remainder_large(x)
    } else {
        ln_gamma(x) - (x - 0.5) * x.ln() + x - HALF_LN_2PI
    }
}

/// The digamma function `ψ(x) = Γ′(x)/Γ(x)` for `x > 0`.
pub(crate) fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut y = x;
    let mut acc = 0.0;
    while y < 7.0 {
        acc -= 1.0 / y;
        y += 1.0;
    }
    let r = 1.0 / (y * y);
    // ψ(y) = ln y − 1/(2y) − Σ B₂ₖ/(2k y²ᵏ), to y⁻¹⁴ (below 1e-15 at y = 7)
    acc + y.ln()
        - 0.5 / y
        - r * (1.0 / 12.0
            - r * (1.0 / 120.0
                - r * (1.0 / 252.0
                    - r * (1.0 / 240.0
                        - r * (1.0 / 132.0 - r * (691.0 / 32760.0 - r * (1.0 / 12.0)))))))
}

/// The trigamma function `ψ′(x)` for `x > 0` (error below `2e-15` relative).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut y = x;
    let mut acc = 0.0;
    while y < HOST_SHIFT {
        acc += 1.0 / (y * y);
        y += 1.0;
    }
    let r = 1.0 / (y * y);
    // ψ′(y) = 1/y + 1/(2y²) + Σ B₂ₖ / y²ᵏ⁺¹
    acc + 1.0 / y
        + 0.5 * r
        + r / y
            * (1.0 / 6.0
                - r * (1.0 / 30.0
                    - r * (1.0 / 42.0
                        - r * (1.0 / 30.0 - r * (5.0 / 66.0 - r * (691.0 / 2730.0))))))
}

// ---------------------------------------------------------------------------------------------
// Tensor versions (f32, differentiable by autodiff)
// ---------------------------------------------------------------------------------------------

/// Where the tensor functions switch from the recurrence to Stirling's series.
const SHIFT: f32 = 8.0;

/// `Σ cₖ xᵏ` by Horner's rule, coefficients from the constant term up.
pub(crate) fn polynomial<const D: usize>(x: Tensor<D>, coefficients: &[f64]) -> Tensor<D> {
    let (last, rest) = coefficients.split_last().expect("at least one coefficient");
    let mut acc = x.zeros_like().add_scalar(*last as f32);
    for &c in rest.iter().rev() {
        acc = (acc * x.clone()).add_scalar(c as f32);
    }
    acc
}

/// `ln(1 + x)` for `x > −1`, accurate on every device: `ln(u)·x/(u − 1)` with `u = 1 + x`
/// (Goldberg's correction of the rounding of `u`; `x` itself where `u` rounds to 1). Some
/// backends evaluate `log1p` as `ln(1 + x)`, which loses all digits for `|x| < 1e-7` (wgpu on
/// Mesa does); the terms that multiply it by a large factor (a Student-t with ν = 10⁶) need it
/// exact. Finite for every finite `x > −1`, `f32::MAX` included.
pub(crate) fn log1p<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let u = x.clone().add_scalar(1.0);
    let d = u.clone().sub_scalar(1.0);
    let same = d.clone().equal_elem(0.0);
    // x/d ≈ 1 first: ln(u)·x overflows for x above f32::MAX/89
    let corrected = u.log() * (x.clone() / d.mask_fill(same.clone(), 1.0));
    corrected.mask_where(same, x)
}

/// `1/(12y) − 1/(360y³) + 1/(1260y⁵)` (the Stirling remainder, `y ≥ 8`).
fn stirling_tail<const D: usize>(y: Tensor<D>) -> Tensor<D> {
    let inv = y.recip();
    let r = inv.clone().square();
    polynomial(r, &[1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0]) * inv
}

/// `ψ(y) − ln y + 1/(2y) = −1/(12y²) + 1/(120y⁴) − 1/(252y⁶)` (`y ≥ 8`).
fn digamma_tail<const D: usize>(y: Tensor<D>) -> Tensor<D> {
    let r = y.recip().square();
    polynomial(r.clone(), &[-1.0 / 12.0, 1.0 / 120.0, -1.0 / 252.0]) * r
}

/// The argument split shared by the tensor functions: `(small, large, is_large)`, with
/// `small = min(x, 8)` (for the recurrence) and `large = max(x, 8)` (for Stirling's series).
fn split<const D: usize>(x: &Tensor<D>) -> (Tensor<D>, Tensor<D>, Tensor<D, Bool>) {
    (
        x.clone().clamp_max(SHIFT),
        x.clone().clamp_min(SHIFT),
        x.clone().greater_equal_elem(SHIFT),
    )
}

/// `ln((x + 1)(x + 2) ⋯ (x + 7))` for `x ≤ 8` (below `ln(15!/8!)`, no overflow).
fn ln_rising<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut product = x.clone().add_scalar(1.0);
    for k in 2..8 {
        product = product * x.clone().add_scalar(k as f32);
    }
    product.log()
}

/// `ln Γ(x)` element-wise for `x > 0`, differentiable (its gradient is `ψ(x)`).
pub(crate) fn ln_gamma_tensor<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (small, large, is_large) = split(&x);
    let y = small.clone().add_scalar(SHIFT);
    // ln Γ(x) = ln Γ(x + 8) − ln x − ln((x+1)⋯(x+7))
    let shifted =
        stirling_main(y.clone()) + stirling_tail(y) - small.clone().log() - ln_rising(small);
    let direct = stirling_main(large.clone()) + stirling_tail(large);
    shifted.mask_where(is_large, direct)
}

/// `(y − ½) ln y − y + ½ ln 2π`.
fn stirling_main<const D: usize>(y: Tensor<D>) -> Tensor<D> {
    (y.clone().sub_scalar(0.5) * y.clone().log() - y).add_scalar(HALF_LN_2PI as f32)
}

/// `Σ_{k=0}^{7} 1/(x + k)` for `x ≤ 8`.
fn reciprocal_sum<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let mut acc = x.clone().recip();
    for k in 1..8 {
        acc = acc + x.clone().add_scalar(k as f32).recip();
    }
    acc
}

/// The digamma function `ψ(x)` element-wise for `x > 0`, differentiable (gradient `ψ′`).
pub(crate) fn digamma_tensor<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (small, large, is_large) = split(&x);
    let y = small.clone().add_scalar(SHIFT);
    let shifted = y.clone().log() - y.clone().recip().mul_scalar(0.5) + digamma_tail(y)
        - reciprocal_sum(small);
    let direct = large.clone().log() - large.clone().recip().mul_scalar(0.5) + digamma_tail(large);
    shifted.mask_where(is_large, direct)
}

/// `R(x) = ln Γ(x) − x ln x + x` and `R′(x) = ψ(x) − ln x` element-wise (`x > 0`): what is
/// left of `ln Γ` and `ψ` after the part that grows. `R(x) = −½ ln x + ½ ln 2π + O(1/x)` and
/// `R′(x) = −1/(2x) + O(x⁻²)` for large `x`; `R(x) ≈ −ln x`, `R′(x) ≈ −1/x` near 0.
pub(crate) fn growth_remainders<const D: usize>(x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    let (small, large, is_large) = split(&x);
    let y = small.clone().add_scalar(SHIFT);
    let ln_small = small.clone().log();
    let ln_gamma_small = stirling_main(y.clone()) + stirling_tail(y.clone())
        - ln_small.clone()
        - ln_rising(small.clone());
    let r_small = ln_gamma_small - small.clone() * ln_small.clone() + small.clone();
    let digamma_small = y.clone().log() - y.clone().recip().mul_scalar(0.5) + digamma_tail(y)
        - reciprocal_sum(small);
    let dr_small = digamma_small - ln_small;
    let ln_large = large.clone().log();
    let r_large =
        (ln_large.mul_scalar(-0.5) + stirling_tail(large.clone())).add_scalar(HALF_LN_2PI as f32);
    let dr_large = large.clone().recip().mul_scalar(-0.5) + digamma_tail(large);
    (
        r_small.mask_where(is_large.clone(), r_large),
        dr_small.mask_where(is_large, dr_large),
    )
}

/// `p [(1 + d) ln(1 + d) − d]` with `d = (q − p)/p`, i.e. `q ln(q/p) − (q − p)`, for
/// `p, q > 0`: by the series `p d² Σ_{n≥0} (−d)ⁿ/((n + 1)(n + 2))` where `|d| < 0.1` (the
/// direct form cancels there), else directly with `ln(q/p) = ln q − ln p`, which stays finite
/// when `q/p` leaves the `f32` range.
fn ratio_entropy_term<const D: usize>(p: Tensor<D>, q: Tensor<D>) -> Tensor<D> {
    let d = (q.clone() - p.clone()) / p.clone();
    let near = d.clone().abs().lower_elem(0.1);
    let ds = d.clamp(-0.1, 0.1);
    let series = polynomial(
        ds.clone(),
        &[
            0.5,
            -1.0 / 6.0,
            1.0 / 12.0,
            -1.0 / 20.0,
            1.0 / 30.0,
            -1.0 / 42.0,
            1.0 / 56.0,
            -1.0 / 72.0,
        ],
    ) * ds.square()
        * p.clone();
    // ln(q/p) from the ratio where it is a normal f32 (one rounding), else from the logarithms
    let ratio = q.clone() / p.clone();
    let normal = ratio
        .clone()
        .is_finite()
        .bool_and(ratio.clone().greater_equal_elem(f32::MIN_POSITIVE));
    let ln_ratio = (q.clone().log() - p.clone().log())
        .mask_where(normal, ratio.clamp(f32::MIN_POSITIVE, f32::MAX).log());
    let direct = q.clone() * ln_ratio - (q - p);
    direct.mask_where(near, series)
}

/// `s − ln(1 + s)` for `s > −1`, by its series `Σ_{n≥2} (−1)ⁿ sⁿ/n` where `|s| < 0.1`;
/// `+∞` stays finite (`f32::MAX − ln f32::MAX`) so that a product with 0 is not NaN.
pub(crate) fn x_minus_log1p<const D: usize>(s: Tensor<D>) -> Tensor<D> {
    let near = s.clone().abs().lower_elem(0.1);
    let ss = s.clone().clamp(-0.1, 0.1);
    let series = polynomial(
        ss.clone(),
        &[
            0.5,
            -1.0 / 3.0,
            0.25,
            -0.2,
            1.0 / 6.0,
            -1.0 / 7.0,
            0.125,
            -1.0 / 9.0,
        ],
    ) * ss.square();
    let sf = s.clone().clamp(-0.9999999, f32::MAX);
    let direct = sf.clone() - log1p(sf);
    direct.mask_where(near, series)
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)` element-wise for `a, b > 0`, as
/// `−a ln(1 + b/a) − b ln(1 + a/b) + R(a) + R(b) − R(a + b)` with `R(x) = ln Γ(x) − x ln x + x`:
/// the `x ln x` parts cancel analytically, so the result is finite wherever it is
/// representable (the three `ln Γ` alone overflow `f32` near `a, b ~ 10³⁷`).
pub(crate) fn ln_beta_tensor<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let sum = a.clone() + b.clone();
    let (ra, _) = growth_remainders(a.clone());
    let (rb, _) = growth_remainders(b.clone());
    let (rs, _) = growth_remainders(sum);
    // x ln(1 + y/x) = x softplus(ln y − ln x): finite when y/x leaves the f32 range
    let gap = b.clone().log() - a.clone().log();
    let cross = a * super::softplus(gap.clone()) + b * super::softplus(gap.neg());
    ra + rb - rs - cross
}

/// The Bregman divergence of `ln Γ`: `B(p, q) = ln Γ(q) − ln Γ(p) − (q − p) ψ(p) ≥ 0`, for
/// `p, q > 0`, element-wise and differentiable in both.
///
/// With `ln Γ(x) = x ln x − x + R(x)` and `d = (q − p)/p`,
///
/// `B(p, q) = p [(1 + d) ln(1 + d) − d] + R(q) − R(p) − (q − p) R′(p)`
/// (`= q ln(q/p) − (q − p) + …`):
///
/// the part that grows is a multiple of `p` times a bounded function of the ratio `q/p`, and
/// `R`, `R′` stay small, so no intermediate overflows or cancels catastrophically when the
/// result is representable (`ln Γ(q) − ln Γ(p)` alone would, for `p, q ~ 10³⁷`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn ln_gamma_bregman<const D: usize>(p: Tensor<D>, q: Tensor<D>) -> Tensor<D> {
    ratio_entropy_term(p.clone(), q.clone()) + remainder_bregman(p, q)
}

/// `R(q) − R(p) − (q − p)R′(p)` with `R(x) = ln Γ(x) − x ln x + x`: the part of
/// [`ln_gamma_bregman`] beyond the growth term `q ln(q/p) − (q − p)`, element-wise, for
/// `p, q > 0`.
///
/// With `h = q − p` and `d = h/p`: where `|d| ≥ 0.1` directly from `R` and `R′`. Near `q = p`
/// that difference of `O(1)` numbers is `O(h²)` and cancels in `f32`, so there it is expanded
/// analytically (Bregman divergences are linear in the function):
///
/// - `p ≥ 8`: `R(y) = ½ ln 2π − ½ ln y + S(y)`, `S(y) = 1/(12y) − 1/(360y³) + 1/(1260y⁵)`
///   (Stirling), so the divergence is `½(d − ln(1 + d)) + Σ_m c_m p^{−m} d² Q_m(d)` with
///   `(1 + d)^{−m} − 1 + md = d² Q_m(d)`: `Q₁ = 1/(1 + d)`, `Q₃ = (6 + 8d + 3d²)/(1 + d)³`,
///   `Q₅ = (15 + 40d + 45d² + 24d³ + 5d⁴)/(1 + d)⁵`;
/// - `p < 8`: with `p′ = p + 8` and `ln Γ(x) = ln Γ(x + 8) − Σ_{k<8} ln(x + k)`,
///   `R(x) = R(x + 8) + [x′ ln x′ − x′] − [x ln x − x] − Σ_k ln(x + k)`, so the divergence is
///   the `p ≥ 8` form at `(p′, q′)` plus `p′φ(h/p′) − pφ(d)` plus `Σ_k (s_k − ln(1 + s_k))`,
///   `s_k = h/(p + k)`, with `φ(x) = (1 + x) ln(1 + x) − x`, every piece by its series.
///
/// Each piece is `O(h²)` with no cancellation beyond a small factor, so nearly equal arguments
/// keep their relative digits.
pub(crate) fn remainder_bregman<const D: usize>(p: Tensor<D>, q: Tensor<D>) -> Tensor<D> {
    let h = q.clone() - p.clone();
    remainder_bregman_with(p, q, h)
}

/// [`remainder_bregman`] with the difference `h = q − p` given: for sums of parameters, whose
/// difference `Σ_k (q_k − p_k)` is exact where `Σ q_k − Σ p_k` loses a small term's change.
pub(crate) fn remainder_bregman_with<const D: usize>(
    p: Tensor<D>,
    q: Tensor<D>,
    h: Tensor<D>,
) -> Tensor<D> {
    let shape = broadcast_dims(&[p.dims(), q.dims(), h.dims()]);
    let (p, q, h) = (p.expand(shape), q.expand(shape), h.expand(shape));
    let near = (h.clone() / p.clone()).detach().abs().lower_elem(0.1);
    let (r_p, dr_p) = growth_remainders(p.clone());
    let (r_q, _) = growth_remainders(q.clone());
    let direct = r_q - r_p - h.clone() * dr_p;
    // the near branches on inputs replaced by harmless ones where they are not taken: a clamp
    // of `h/p` would stop the gradient there, but not the 0·∞ of the derivative `−h/p²` of an
    // overflowing quotient before it (a NaN gradient)
    let (p, dn) = near_inputs(near.clone(), p, h);
    let large = p.clone().greater_equal_elem(SHIFT);
    let stirling_part = |y: Tensor<D>, e: Tensor<D>| -> Tensor<D> {
        let inv = y.recip();
        let one = e.clone().add_scalar(1.0);
        let q1 = one.clone().recip();
        let q3 = polynomial(e.clone(), &[6.0, 8.0, 3.0]) / one.clone().powi_scalar(3);
        let q5 = polynomial(e.clone(), &[15.0, 40.0, 45.0, 24.0, 5.0]) / one.powi_scalar(5);
        let inv2 = inv.clone().square();
        let inv3 = inv2.clone() * inv.clone();
        let s = inv.clone() * q1 * (1.0 / 12.0) - inv3.clone() * q3 * (1.0 / 360.0)
            + inv3 * inv2 * q5 * (1.0 / 1260.0);
        x_minus_log1p(e.clone()).mul_scalar(0.5) + s * e.square()
    };
    let pl = p.clone().clamp_min(SHIFT);
    let at_large = stirling_part(pl, dn.clone());
    let ps = p.clamp_max(SHIFT);
    let hs = dn.clone() * ps.clone();
    let pp = ps.clone().add_scalar(SHIFT);
    let dp = hs.clone() / pp.clone();
    let mut shifted = stirling_part(pp.clone(), dp.clone()) + pp * relative_entropy_series(dp)
        - ps.clone() * relative_entropy_series(dn);
    for k in 0..8 {
        shifted = shifted + x_minus_log1p(hs.clone() / ps.clone().add_scalar(k as f32));
    }
    direct.mask_where(near, shifted.mask_where(large, at_large))
}

/// The part of `Σ_k B(p_k, q_k) − B(p₀, q₀)` (`p₀ = Σ_k p_k`, `q₀ = Σ_k q_k`) that grows with
/// the parameters, for one component `k`: `p_k(1 + d₀) φ(e_k)`, `φ(x) = (1 + x) ln(1 + x) − x`,
/// `d_k = (q_k − p_k)/p_k`, `d₀ = (q₀ − p₀)/p₀`, `1 + e_k = (1 + d_k)/(1 + d₀)`. Summed over `k`
/// it equals `Σ_k p_k φ(d_k) − p₀ φ(d₀)` (the linear terms cancel, `Σ_k p_k(d_k − d₀) = 0`), a
/// sum of non-negative terms instead of a difference of large ones. By the series of `φ` where
/// `|e_k| < 0.1`, else as `q_k L − (q_k − p_k) + (p_k/p₀)(q₀ − p₀)`,
/// `L = ln(q_k/p_k) − ln(q₀/p₀)` from logarithms. The totals come as `(p₀, q₀, h₀)` with
/// `h₀ = Σ_k (q_k − p_k)` summed term by term (`q₀ − p₀` would lose a small component's change
/// to the rounding of `q₀`).
pub(crate) fn mixture_growth<const D: usize>(
    pk: Tensor<D>,
    qk: Tensor<D>,
    (p0, q0, h0): (Tensor<D>, Tensor<D>, Tensor<D>),
) -> Tensor<D> {
    let shape = broadcast_dims(&[pk.dims(), qk.dims(), p0.dims(), q0.dims(), h0.dims()]);
    let (pk, qk) = (pk.expand(shape), qk.expand(shape));
    let (p0, q0, h0) = (p0.expand(shape), q0.expand(shape), h0.expand(shape));
    let relative = |pk: Tensor<D>, qk: Tensor<D>, p0: Tensor<D>, h0: Tensor<D>| {
        let dk = (qk - pk.clone()) / pk;
        let d0 = h0 / p0;
        let one_d0 = d0.clone().add_scalar(1.0);
        ((dk - d0) / one_d0.clone(), one_d0)
    };
    // decided on constants (a NaN ratio, where both totals leave f32, is far from 0)
    let (e, _) = relative(
        pk.clone().detach(),
        qk.clone().detach(),
        p0.clone().detach(),
        h0.clone().detach(),
    );
    let near = e.abs().lower_elem(0.1);
    // the series on inputs replaced by p = q (e = 0) where it is not taken: `1 + d₀` rounds to
    // 0 when q₀ ≪ p₀, and `−q_k/p_k²` overflows for a tiny p_k, which a masked or clamped
    // output would turn into a NaN gradient (0·∞)
    let far = near.clone().bool_not();
    let (pn, qn) = (
        pk.clone().mask_fill(far.clone(), 1.0),
        qk.clone().mask_fill(far.clone(), 1.0),
    );
    let (p0n, h0n) = (
        p0.clone().mask_fill(far.clone(), 1.0),
        h0.clone().mask_fill(far, 0.0),
    );
    let (en, one_d0) = relative(pn.clone(), qn, p0n, h0n);
    let series = pn * one_d0 * relative_entropy_series(en);
    let l = qk.clone().log() - pk.clone().log() - q0.log() + p0.clone().log();
    let direct = qk.clone() * l - (qk - pk.clone()) + pk / p0 * h0;
    direct.mask_where(near, series)
}

/// The broadcast of tensor shapes (each axis the largest size; sizes are 1 or equal, as the
/// callers' shapes have been checked to broadcast).
fn broadcast_dims<const D: usize>(shapes: &[[usize; D]]) -> [usize; D] {
    let mut out = [1; D];
    for s in shapes {
        for (o, &d) in out.iter_mut().zip(s) {
            *o = (*o).max(d);
        }
    }
    out
}

/// `(p, h/p)` with `(1, 0)` where `near` is false: the inputs of a branch that is evaluated
/// everywhere but used only where `near` holds, made harmless elsewhere so that neither its
/// value nor its gradient can be infinite or NaN there (a masked branch still multiplies its
/// local derivatives by the zero upstream gradient: `0·∞ = NaN`).
fn near_inputs<const D: usize>(
    near: Tensor<D, Bool>,
    p: Tensor<D>,
    h: Tensor<D>,
) -> (Tensor<D>, Tensor<D>) {
    let far = near.bool_not();
    let p = p.mask_fill(far.clone(), 1.0);
    let d = h.mask_fill(far, 0.0) / p.clone();
    (p, d)
}

/// `φ(1 + e) = (1 + e) ln(1 + e) − e` for `|e| ≤ 0.1` (clamped there), by its series
/// `e² Σ_{n≥0} (−e)ⁿ/((n + 1)(n + 2))` (to `e¹⁰`, truncation below `1e-10` relative): the
/// direct form cancels near `e = 0`.
pub(crate) fn relative_entropy_series<const D: usize>(e: Tensor<D>) -> Tensor<D> {
    let es = e.clamp(-0.1, 0.1);
    polynomial(
        es.clone(),
        &[
            0.5,
            -1.0 / 6.0,
            1.0 / 12.0,
            -1.0 / 20.0,
            1.0 / 30.0,
            -1.0 / 42.0,
            1.0 / 56.0,
            -1.0 / 72.0,
            1.0 / 90.0,
        ],
    ) * es.square()
}

/// `ln Γ(x + ½) − ln Γ(x)` element-wise for `x > 0` (the Student-t normalizer), accurate for
/// large `x` where the two terms cancel: for `x ≥ 8` it is
/// `½ ln x + x ln(1 + 1/(2x)) − ½ + R*(x + ½) − R*(x)` with `R*` the Stirling remainder.
pub(crate) fn ln_gamma_half_ratio<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (small, large, is_large) = split(&x);
    let direct = ln_gamma_tensor(small.clone().add_scalar(0.5)) - ln_gamma_tensor(small);
    let half = large.clone().add_scalar(0.5);
    let asymptotic = (large.clone().log().mul_scalar(0.5)
        + large.clone() * log1p(large.clone().recip().mul_scalar(0.5)))
    .sub_scalar(0.5)
        + stirling_tail(half)
        - stirling_tail(large);
    direct.mask_where(is_large, asymptotic)
}

/// `ψ(x + ½) − ψ(x)` element-wise for `x > 0`, accurate for large `x`: for `x ≥ 8` it is
/// `ln(1 + 1/(2x)) + 1/(2x) − 1/(2x + 1) + T(x + ½) − T(x)` with `T(y) = ψ(y) − ln y + 1/(2y)`.
pub(crate) fn digamma_half_difference<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (small, large, is_large) = split(&x);
    let direct = digamma_tensor(small.clone().add_scalar(0.5)) - digamma_tensor(small);
    let half = large.clone().add_scalar(0.5);
    let inv2x = large.clone().recip().mul_scalar(0.5);
    let asymptotic = log1p(inv2x.clone()) + inv2x - half.clone().mul_scalar(2.0).recip()
        + digamma_tail(half)
        - digamma_tail(large);
    direct.mask_where(is_large, asymptotic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::f64::consts::PI;

    fn close(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }

    #[test]
    fn host_functions_match_closed_forms() {
        // Γ(½) = √π, Γ(n) = (n − 1)!, ψ(1) = −γ, ψ(½) = −γ − 2 ln 2, ψ′(1) = π²/6, ψ′(½) = π²/2
        close(ln_gamma(0.5), 0.5 * PI.ln(), 1e-13);
        close(ln_gamma(1.0), 0.0, 1e-13);
        close(ln_gamma(5.0), 24f64.ln(), 1e-13);
        close(
            ln_gamma(20.0),
            (1..20).map(|k| (k as f64).ln()).sum(),
            1e-14,
        );
        close(digamma(1.0), -EULER_GAMMA, 1e-13);
        close(digamma(0.5), -EULER_GAMMA - 2.0 * 2f64.ln(), 1e-13);
        close(trigamma(1.0), PI * PI / 6.0, 1e-13);
        close(trigamma(0.5), PI * PI / 2.0, 1e-13);
        // the recurrences across the switch point and far out
        for x in [1e-3, 0.3, 2.7, 9.5, 9.999, 10.0, 37.2, 1e6] {
            close(ln_gamma(x + 1.0) - ln_gamma(x), x.ln(), 1e-13);
            close(digamma(x + 1.0) - digamma(x), 1.0 / x, 1e-13);
            close(trigamma(x) - trigamma(x + 1.0), 1.0 / (x * x), 1e-12);
        }
        // small arguments: ln Γ(x) = −ln x − γx + O(x²)
        close(ln_gamma(1e-8), -(1e-8f64).ln() - EULER_GAMMA * 1e-8, 1e-13);
        assert!(ln_gamma(0.0).is_nan() && digamma(-1.0).is_nan() && trigamma(f64::NAN).is_nan());
        close(stirling_remainder(1e4), 1.0 / 12e4, 1e-9);
        close(
            stirling_remainder(3.0),
            2f64.ln() - 2.5 * 3f64.ln() + 3.0 - HALF_LN_2PI,
            1e-13,
        );
    }

    fn tensor(v: &[f64]) -> Tensor<1> {
        let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        Tensor::from_floats(data.as_slice(), &Device::flex())
    }

    fn values(t: Tensor<1>) -> Vec<f64> {
        t.try_into_vec_as::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    }

    const POINTS: [f64; 12] = [
        1e-30, 1e-6, 0.013, 0.5, 1.0, 2.5, 7.99, 8.0, 8.01, 33.0, 1e5, 1e30,
    ];

    #[test]
    fn tensor_functions_match_the_host_ones() {
        let lg = values(ln_gamma_tensor(tensor(&POINTS)));
        let dg = values(digamma_tensor(tensor(&POINTS)));
        for (k, &x) in POINTS.iter().enumerate() {
            let x = x as f32 as f64;
            close(lg[k], ln_gamma(x), 3e-6);
            close(dg[k], digamma(x), 3e-6);
        }
    }

    #[test]
    fn tensor_gradients_are_the_next_derivative() {
        let device = Device::flex().autodiff();
        let xs = [0.01, 0.7, 3.0, 7.5, 8.5, 120.0];
        let x = Tensor::<1>::from_floats(xs.map(|v| v as f32).as_slice(), &device).require_grad();
        let g = x
            .grad(&ln_gamma_tensor(x.clone()).sum().backward())
            .unwrap();
        let g2 = x.grad(&digamma_tensor(x.clone()).sum().backward()).unwrap();
        for (k, (a, b)) in values(g).into_iter().zip(values(g2)).enumerate() {
            close(a, digamma(xs[k]), 1e-5);
            close(b, trigamma(xs[k]), 1e-5);
        }
    }

    #[test]
    fn bregman_and_half_ratio_are_stable() {
        let ps = [1e-3, 0.5, 3.0, 9.0, 1e4, 1e30, 2.0, 1e-20];
        let qs = [2.0, 0.5, 2.9, 1e4, 1.0001e4, 2e30, 1e-20, 5.0];
        let b = values(ln_gamma_bregman(tensor(&ps), tensor(&qs)));
        for k in 0..ps.len() {
            let (p, q) = (ps[k] as f32 as f64, qs[k] as f32 as f64);
            // B = p[(1 + d) ln(1 + d) − d] + R(q) − R(p) − (q − p) R′(p) in f64, with
            // R(x) = ln Γ(x) − x ln x + x = ½ ln 2π − ½ ln x + ln Γ*(x), R′(x) = ψ(x) − ln x
            let r = |x: f64| HALF_LN_2PI - 0.5 * x.ln() + stirling_remainder(x);
            let dr = |x: f64| {
                if x < 1e6 {
                    digamma(x) - x.ln()
                } else {
                    -0.5 / x - 1.0 / (12.0 * x * x)
                }
            };
            // p[(1 + d) ln(1 + d) − d] = q ln(q/p) − (q − p)
            let want = q * (q / p).ln() - (q - p) + r(q) - r(p) - (q - p) * dr(p);
            if p < 1e6 && q < 1e6 {
                close(want, ln_gamma(q) - ln_gamma(p) - (q - p) * digamma(p), 1e-9);
            }
            assert!(b[k].is_finite() && b[k] >= -1e-6, "B({p}, {q}) = {}", b[k]);
            close(b[k], want, 2e-5);
        }
        let xs = [1e-3, 0.5, 7.9, 8.1, 1e3, 1e7, 1e30];
        let h = values(ln_gamma_half_ratio(tensor(&xs)));
        let d = values(digamma_half_difference(tensor(&xs)));
        for (k, &x) in xs.iter().enumerate() {
            let x = x as f32 as f64;
            let (want_h, want_d) = if x < 1e6 {
                (
                    ln_gamma(x + 0.5) - ln_gamma(x),
                    digamma(x + 0.5) - digamma(x),
                )
            } else {
                // ½ ln x − 1/(8x) and 1/(2x) + 1/(8x²)
                (0.5 * x.ln() - 0.125 / x, 0.5 / x + 0.125 / (x * x))
            };
            // below x = 8 a difference of two f32 ln Γ: a few 1e-6 absolute
            close(h[k], want_h, 1e-5);
            assert!(
                (d[k] - want_d).abs() <= 3e-6 * want_d.abs(),
                "ψ(x+½) − ψ(x) at {x}: {} vs {want_d}",
                d[k]
            );
        }
    }
}
