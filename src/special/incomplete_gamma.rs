//! The regularized incomplete gamma functions `P(a, x)`, `Q(a, x) = 1 − P(a, x)`, their
//! quantile, and the implicit derivative of a Gamma sample with respect to its shape, all in
//! `f64` on the host.
//!
//! # The implicit derivative
//!
//! A sample `x ~ Gamma(a, 1)` drawn by any method moves with `a` as the quantile at a fixed
//! level does: `∂x/∂a = −(∂P(a, x)/∂a) / p(x; a)` (Figurnov, Mohamed & Mnih 2018, eq. 3), with
//! `p(x; a) = x^{a−1} e^{−x}/Γ(a)`. We return the *elasticity excess*
//! `e(a, x) = (a/x)·∂x/∂a − 1`, from which `∂x/∂a = x(1 + e)/a` and `∂ln x/∂a = (1 + e)/a`
//! follow without under- or overflow; `e` itself is what a Student-t needs for large degrees of
//! freedom (`e → 0` as `a → ∞`). Three methods cover `a ∈ (0, ∞)`, all derived here:
//!
//! - **Series** (`x < a + 8`, and `a < 3` or the tails). With
//!   `P(a, x) = x^a e^{−x}/Γ(a + 1) · T`, `T = Σ_{n≥0} xⁿ/((a + 1)⋯(a + n))`, differentiating
//!   term by term gives `(a/x) ∂x/∂a = −[T (ln x − ψ(a + 1)) + T′]`,
//!   `T′ = ∂T/∂a = −Σ_n tₙ Σ_{k=1}^{n} 1/(a + k)`: no exponential survives, so the formula holds
//!   down to `x = 0` (where `ln x` is passed in separately).
//! - **Continued fraction** (`x ≥ a + 8`). With `Q(a, x) = x^a e^{−x}/Γ(a) · h(a, x)` and `h` the
//!   Legendre continued fraction, `(a/x) ∂x/∂a = a [h (ln x − ψ(a)) + ∂h/∂a]`; `∂h/∂a` is carried
//!   through the modified Lentz recurrence in forward mode.
//! - **Temme's uniform expansion** (`a ≥ 3`, `|η| ≤ 1.5`). With `λ = x/a`,
//!   `η = sign(λ − 1) √(2(λ − 1 − ln λ))`, Temme's `Q(a, x) = ½ erfc(η √(a/2)) + R_a(η)`,
//!   `R_a(η) = e^{−aη²/2}/√(2πa) · Σ_k c_k(η) a^{−k}` (DLMF 8.12.7), differentiated at fixed `x`:
//!   since `∂Q/∂x = −p`, the chain rule through `η(λ)` gives
//!   `∂x/∂a = λ + (∂F/∂a)|_η / p(x)`, and with `p(x) = e^{−aη²/2}/(√(2πa) λ Γ*(a))` every
//!   exponential cancels:
//!
//!   `e = Γ*(a) · [−(λ − 1 − ln λ)/(λ − 1) − c₀/(2a) − (η²/2 + 1/(2a)) S₁ − Σ_k k c_k a^{−k−1}]`,
//!
//!   `S₁ = Σ_{k≥1} c_k a^{−k}`, `Γ*(a) = Γ(a)/(√(2π) a^{a−½} e^{−a})`. The Taylor coefficients of
//!   `c₀ … c₄` in `η` were derived exactly (rational arithmetic) from
//!   `c₀ = 1/(λ − 1) − 1/η` and the recurrence `c_k = η⁻¹ c′_{k−1} + (−1)^k g_k/(λ − 1)`
//!   (`g_k` Stirling's coefficients, DLMF 8.12.10); they converge for `|η| < 2√π`.
//!
//! # Accuracy
//!
//! Measured against a high-precision reference (the derivative of the regularized incomplete
//! gamma function by arbitrary-precision numerical differentiation, mpmath with 30-40 digits,
//! at quantiles `u ∈ [1e-10, 1 − 1e-10]`): the series and continued fraction are within
//! `3e-12` relative for `a ∈ [1e-3, 30]`; the expansion is within `1e-6` relative at `a = 4`,
//! `2e-8` at `a = 10` and falls as `a⁻⁵` beyond. The unit tests below and
//! tests/implicit_gradients.rs check the same against independent `f64` quadrature (see the
//! figures there).

use super::gamma::{digamma, ln_gamma, stirling_remainder};

/// Where the derivative switches to Temme's expansion.
const TEMME_MIN_SHAPE: f64 = 3.0;
/// The series serves the derivative for `x < a + SERIES_REACH` (cheaper there than the
/// continued fraction; it cancels at most a factor `e^{SERIES_REACH}`, leaving 1e-12).
const SERIES_REACH: f64 = 8.0;
/// Where `P` and `Q` switch to Temme's expansion (higher: the quantile wants `1e-9`).
const TEMME_MIN_SHAPE_CDF: f64 = 20.0;
/// The largest `|η|` the Taylor series of the `c_k` are summed at (radius of convergence 2√π).
const TEMME_MAX_ETA: f64 = 1.5;

/// Taylor coefficients (in η, constant term first) of Temme's `c₀ … c₄`.
const TEMME_C: [&[f64]; 5] = [
    &[
        -0.333_333_333_333_333_3,
        0.083_333_333_333_333_33,
        -0.014_814_814_814_814_815,
        0.001_157_407_407_407_407_3,
        0.000_352_733_686_067_019_4,
        -0.000_178_755_144_032_921_8,
        3.919_263_178_522_438e-5,
        -2.185_448_510_679_992e-6,
        -1.854_062_210_715_16e-6,
        8.296_711_340_953_087e-7,
        -1.766_595_273_682_607_8e-7,
        6.707_853_543_401_498e-9,
        1.026_180_978_424_030_9e-8,
        -4.382_036_018_453_353e-9,
        9.147_699_582_236_79e-10,
        -2.551_419_399_494_624_8e-11,
        -5.830_772_132_550_426e-11,
        2.436_194_802_066_741_5e-11,
        -5.027_669_280_114_175_5e-12,
    ],
    &[
        -0.001_851_851_851_851_852,
        -0.003_472_222_222_222_222,
        0.002_645_502_645_502_645_4,
        -0.000_990_226_337_448_559_6,
        0.000_205_761_316_872_427_98,
        -4.018_775_720_164_609e-7,
        -1.809_855_033_448_997_7e-5,
        7.649_160_916_081_11e-6,
        -1.612_090_089_456_344_6e-6,
        4.647_127_802_807_434e-9,
        1.378_633_446_915_721e-7,
        -5.752_545_603_517_705e-8,
        1.195_162_859_977_814_8e-8,
        -1.754_324_171_974_764_7e-11,
        -1.009_154_371_060_041_3e-9,
        4.162_792_991_842_583e-10,
        -8.563_907_026_492_98e-11,
    ],
    &[
        0.004_133_597_883_597_883,
        -0.002_681_327_160_493_827_3,
        0.000_771_604_938_271_604_9,
        2.009_387_860_082_304_7e-6,
        -0.000_107_366_532_263_651_6,
        5.292_344_882_912_012_5e-5,
        -1.276_063_518_861_872_8e-5,
        3.423_578_734_096_138e-8,
        1.372_195_730_906_293_4e-6,
        -6.298_992_138_380_055e-7,
        1.428_061_420_606_424_2e-7,
        -2.047_709_842_199_086_6e-10,
        -1.409_252_991_086_752e-8,
    ],
    &[
        0.000_649_434_156_378_600_8,
        0.000_229_472_093_621_399_17,
        -0.000_469_189_494_395_255_7,
        0.000_267_720_632_062_838_85,
        -7.561_801_671_883_977e-5,
        -2.396_505_113_867_297e-7,
        1.108_265_411_534_730_2e-5,
        -5.674_952_826_991_596_5e-6,
        1.423_090_073_243_588_3e-6,
        -2.786_108_029_152_814_3e-11,
        -1.695_840_409_193_027_8e-7,
    ],
    &[
        -0.000_861_888_290_916_711_7,
        0.000_784_039_221_720_066_6,
        -0.000_299_072_480_303_190_2,
        -1.463_845_257_884_341_8e-6,
        6.641_498_215_465_122e-5,
        -3.968_365_047_179_435e-5,
        1.137_572_697_067_841_9e-5,
        2.507_497_226_237_533e-10,
        -1.695_414_953_655_830_5e-6,
    ],
];

/// `λ − 1 − ln λ` for `λ = 1 + m`, accurate when `m` is small.
fn lambda_minus_one_minus_ln(m: f64) -> f64 {
    if m.abs() < 0.1 {
        // Σ_{n≥2} (−m)ⁿ/n
        let mut term = m * m;
        let mut sum = 0.0f64;
        let mut n = 2.0;
        let mut sign = 1.0;
        while term.abs() > 1e-18 * sum.abs().max(1e-300) && n < 40.0 {
            sum += sign * term / n;
            term *= m;
            sign = -sign;
            n += 1.0;
        }
        sum
    } else {
        m - m.ln_1p()
    }
}

/// Temme's variables at `λ = 1 + m`: `(λ − 1 − ln λ, η)`.
fn temme_eta(m: f64) -> (f64, f64) {
    let d = lambda_minus_one_minus_ln(m);
    (d, (2.0 * d).sqrt().copysign(m))
}

/// A Gamma(a, 1) point given as `ln(x/a)`: `(x, ln x, m = x/a − 1)`, each without loss of
/// precision (`m` stays exact for `a` far beyond `1/ε`).
fn point(a: f64, ln_ratio: f64) -> (f64, f64, f64) {
    (a * ln_ratio.exp(), a.ln() + ln_ratio, ln_ratio.exp_m1())
}

/// `c_k(η)` for `k = 0 … 4` from their Taylor series (`|η| ≤ 1.5`).
fn temme_coefficients(eta: f64) -> [f64; 5] {
    let mut c = [0.0; 5];
    for (k, coeffs) in TEMME_C.iter().enumerate() {
        c[k] = coeffs.iter().rev().fold(0.0, |acc, &ck| acc * eta + ck);
    }
    c
}

/// The elasticity excess `e = (a/x) ∂x/∂a − 1` by Temme's expansion.
fn elasticity_temme(a: f64, m: f64, d: f64, eta: f64) -> f64 {
    let c = temme_coefficients(eta);
    let inv = 1.0 / a;
    let (mut s1, mut ds, mut power) = (0.0, 0.0, 1.0);
    for (k, ck) in c.iter().enumerate().skip(1) {
        power *= inv;
        s1 += ck * power;
        ds -= k as f64 * ck * power * inv;
    }
    // −η/2 − (η²/2) c₀ = −(λ − 1 − ln λ)/(λ − 1), whose limit at λ = 1 is 0
    let lead = if m == 0.0 { 0.0 } else { -d / m };
    let bracket = lead - c[0] * 0.5 * inv - (d + 0.5 * inv) * s1 + ds;
    stirling_remainder(a).exp() * bracket
}

/// The series `T = Σ tₙ` and `T′ = ∂T/∂a` at `(a, x)` (relative tolerance 1e-11), and
/// `ψ(a + 1)`: the loop accumulates `H_n = Σ_{k=1}^{n} 1/(a + k)` anyway, and runs until
/// `a + n + 1 ≥ 7`, so `ψ(a + 1) = ψ(a + n + 1) − H_n` takes Stirling's series alone.
fn lower_series(a: f64, x: f64) -> (f64, f64, f64) {
    let (mut t, mut sum, mut harmonic, mut dsum) = (1.0, 1.0, 0.0, 0.0);
    let mut n = 0.0;
    loop {
        n += 1.0;
        let r = 1.0 / (a + n);
        t *= x * r;
        harmonic += r;
        sum += t;
        dsum -= t * harmonic;
        if (t * (1.0 + harmonic) <= 1e-11 * sum && a + n >= 6.0) || n > 10_000.0 {
            break;
        }
    }
    (sum, dsum, digamma(a + n + 1.0) - harmonic)
}

/// The Legendre continued fraction `h(a, x)` of `Q(a, x) = x^a e^{−x} h / Γ(a)` and `∂h/∂a`,
/// by the modified Lentz method carried in forward mode.
fn upper_fraction(a: f64, x: f64) -> (f64, f64) {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let db = -1.0;
    let (mut c, mut dc) = (1.0 / TINY, 0.0);
    let (mut d, mut dd) = (1.0 / b, 1.0 / (b * b));
    let (mut h, mut dh) = (d, dd);
    for i in 1..5_000 {
        let fi = i as f64;
        let (an, dan) = (-fi * (fi - a), fi);
        b += 2.0;
        let den = an * d + b;
        let dden = dan * d + an * dd + db;
        let den = if den.abs() < TINY { TINY } else { den };
        d = 1.0 / den;
        dd = -dden * d * d;
        let cn = b + an / c;
        dc = db + dan / c - an * dc / (c * c);
        c = if cn.abs() < TINY { TINY } else { cn };
        let delta = d * c;
        let ddelta = dd * c + d * dc;
        let dh_next = dh * delta + h * ddelta;
        h *= delta;
        let settled = (delta - 1.0).abs() < 1e-14
            && (dh_next - dh).abs() <= 1e-13 * dh_next.abs().max(1e-300 * h.abs());
        dh = dh_next;
        if settled {
            break;
        }
    }
    (h, dh)
}

/// The elasticity excess `e(a, x) = (a/x)·∂x/∂a − 1` of a Gamma(a, 1) sample `x`, given as
/// `ln_ratio = ln(x/a)` (so that `x` may underflow and huge `a` keep their precision):
/// `∂x/∂a = x(1 + e)/a`, `∂ ln x/∂a = (1 + e)/a`.
///
/// NaN for `a` not finite and positive or a `ln_ratio` that is NaN or +∞.
pub(crate) fn gamma_elasticity_excess(a: f64, ln_ratio: f64) -> f64 {
    if ln_ratio.is_nan() || ln_ratio == f64::INFINITY {
        return f64::NAN;
    }
    let (x, ln_x, m) = point(a, ln_ratio);
    gamma_elasticity_excess_at(a, x, || ln_x, m)
}

/// [`gamma_elasticity_excess`] at a point given as `x`, `ln x` (computed only where a method
/// needs it) and `m = x/a − 1` (exact for huge `a`).
pub(crate) fn gamma_elasticity_excess_at(
    a: f64,
    x: f64,
    ln_x: impl FnOnce() -> f64,
    m: f64,
) -> f64 {
    if !(a > 0.0 && a.is_finite() && x >= 0.0 && x.is_finite()) || m.is_nan() {
        return f64::NAN;
    }
    if a >= TEMME_MIN_SHAPE {
        let (d, eta) = temme_eta(m);
        if eta.abs() <= TEMME_MAX_ETA {
            return elasticity_temme(a, m, d, eta);
        }
    }
    let ln_x = ln_x();
    if x < a + SERIES_REACH {
        let (t, dt, psi) = lower_series(a, x);
        -(t * (ln_x - psi) + dt) - 1.0
    } else {
        let (h, dh) = upper_fraction(a, x);
        a * (h * (ln_x - digamma(a)) + dh) - 1.0
    }
}

/// `ln(x p(x; a))` for the Gamma(a, 1) density `p`, from `ln x` (valid where `x`
/// underflows).
fn gamma_ln_x_density(a: f64, x: f64, ln_x: f64) -> f64 {
    a * ln_x - x - ln_gamma(a)
}

/// `(ln P(a, x), ln Q(a, x))` for `a > 0` at `x = a·e^{ln_ratio}`, each accurate to a few
/// `1e-15` relative in `P` or `Q` (Temme's expansion, used for `a ≥ 20` near the mode: `1e-10`).
pub(crate) fn gamma_ln_pq(a: f64, ln_ratio: f64) -> (f64, f64) {
    if ln_ratio == f64::NEG_INFINITY {
        return (f64::NEG_INFINITY, 0.0);
    }
    let (x, ln_x, m) = point(a, ln_ratio);
    if a >= TEMME_MIN_SHAPE_CDF {
        let (d, eta) = temme_eta(m);
        let y = eta * (0.5 * a).sqrt();
        if eta.abs() <= TEMME_MAX_ETA && y.abs() <= 25.0 {
            let c = temme_coefficients(eta);
            let mut s = 0.0;
            let mut power = 1.0;
            for ck in c {
                s += ck * power;
                power /= a;
            }
            let r = (-a * d).exp() / (2.0 * core::f64::consts::PI * a).sqrt() * s;
            let q = 0.5 * erfc(y) + r;
            let p = 0.5 * erfc(-y) - r;
            return (p.ln(), q.ln());
        }
    }
    if x < a + 1.0 {
        let (t, _) = lower_series_value(a, x);
        let ln_p = a * ln_x - x - ln_gamma(a + 1.0) + t.ln();
        (ln_p, (-ln_p.exp()).ln_1p())
    } else {
        let (h, _) = upper_fraction(a, x);
        let ln_q = a * ln_x - x - ln_gamma(a) + h.ln();
        ((-ln_q.exp()).ln_1p(), ln_q)
    }
}

/// `T` alone (the value part of [`lower_series`]).
fn lower_series_value(a: f64, x: f64) -> (f64, usize) {
    let (mut t, mut sum) = (1.0, 1.0);
    let mut n = 0;
    loop {
        n += 1;
        t *= x / (a + n as f64);
        sum += t;
        if t <= 1e-17 * sum || n > 100_000 {
            break;
        }
    }
    (sum, n)
}

/// `erfc(y) = Q(½, y²)` for `y ≥ 0` and `2 − erfc(−y)` below, accurate to a few `1e-15`
/// relative (also deep in the upper tail, by the continued fraction).
pub(crate) fn erfc(y: f64) -> f64 {
    if y.is_nan() {
        return f64::NAN;
    }
    let t = y * y;
    let (ln_p, ln_q) = if t == 0.0 {
        (f64::NEG_INFINITY, 0.0)
    } else {
        gamma_ln_pq(0.5, (2.0 * t).ln())
    };
    if y >= 0.0 {
        ln_q.exp()
    } else {
        1.0 + ln_p.exp()
    }
}

/// A rough standard normal quantile (Abramowitz & Stegun 26.2.23, error below `5e-4`) from
/// `p` and `1 − p` given separately: a starting point for Newton's method.
pub(crate) fn rough_normal_quantile(p: f64, one_minus_p: f64) -> f64 {
    let (tail, sign) = if p < 0.5 {
        (p, -1.0)
    } else {
        (one_minus_p, 1.0)
    };
    let t = (-2.0 * tail.max(1e-300).ln()).sqrt();
    let w = t
        - (2.515_517 + t * (0.802_853 + t * 0.010_328))
            / (1.0 + t * (1.432_788 + t * (0.189_269 + t * 0.001_308)));
    sign * w
}

/// Finds `y` with `φ(y) = 0` for an increasing `φ` by Newton's method from `y0`, bisecting
/// inside the bracket the iterates establish whenever a step leaves it. `eval` returns
/// `(φ(y), φ′(y))`.
pub(crate) fn safeguarded_newton(
    y0: f64,
    mut lo: f64,
    mut hi: f64,
    tolerance: f64,
    mut eval: impl FnMut(f64) -> (f64, f64),
) -> f64 {
    let mut y = y0.clamp(lo, hi);
    for _ in 0..300 {
        let (phi, dphi) = eval(y);
        if phi == 0.0 {
            return y;
        }
        if phi.is_nan() {
            return f64::NAN;
        }
        if phi < 0.0 {
            lo = y;
        } else {
            hi = y;
        }
        let mut next = y - phi / dphi;
        if !(next > lo && next < hi) {
            next = if lo.is_finite() && hi.is_finite() {
                0.5 * (lo + hi)
            } else if lo.is_finite() {
                lo + (1.0 + lo.abs())
            } else {
                hi - (1.0 + hi.abs())
            };
        }
        if (next - y).abs() <= tolerance * next.abs().max(1.0) {
            return next;
        }
        y = next;
    }
    y
}

/// The Gamma(a, 1) quantile as `ln(x/a)`, with `P(a, x) = u`, for `u ∈ (0, 1)` given together
/// with `v = 1 − u` (exact, so that the upper tail keeps its precision). Works in logarithms, so
/// tiny quantiles (`a = 1e-3`, `x = e^{−10⁴}`) and huge shapes keep their precision.
pub(crate) fn gamma_ln_quantile_ratio(a: f64, u: f64, v: f64) -> f64 {
    if !(a > 0.0 && a.is_finite() && u > 0.0 && v > 0.0) {
        return f64::NAN;
    }
    let lower = u <= 0.5;
    let target = if lower { u.ln() } else { v.ln() };
    // starting point: P ≈ x^a/Γ(a + 1) for small x; Wilson–Hilferty otherwise
    let small = (u.ln() + ln_gamma(a + 1.0)) / a;
    let w = rough_normal_quantile(u, v);
    let t = 1.0 - 1.0 / (9.0 * a) + w / (3.0 * a.sqrt());
    let ln_a = a.ln();
    let y0 = if a >= 1.0 && t > 0.0 {
        3.0 * t.ln()
    } else if small < 0.0 || lower {
        small - ln_a
    } else {
        // the upper tail of a small shape: Q ≈ x^{a−1} e^{−x}/Γ(a)
        (-(v.ln()) - ln_gamma(a)).max(1.0).ln() - ln_a
    };
    // Newton in y = ln(x/a); the tolerance is relative to max(1, |y|) and y ~ 1/√a near the
    // mode, so it is tightened for large shapes
    let tolerance = 1e-14 / a.sqrt().max(1.0);
    safeguarded_newton(y0, f64::NEG_INFINITY, f64::INFINITY, tolerance, |y| {
        let (x, ln_x, _) = point(a, y);
        let (ln_p, ln_q) = gamma_ln_pq(a, y);
        // d ln P/dy = x p(x)/P, d ln Q/dy = −x p(x)/Q
        let ln_xp = gamma_ln_x_density(a, x, ln_x);
        if lower {
            (ln_p - target, (ln_xp - ln_p).exp())
        } else {
            (target - ln_q, (ln_xp - ln_q).exp())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::gamma::trigamma;

    /// `P(a, x)` by composite Gauss–Legendre quadrature of the density of `w = ln t`,
    /// `e^{aw − e^w}/Γ(a)` (smooth and unimodal for every `a`), from `w = −40` (below, the
    /// density is `e^{aw}/Γ(a)` to 1e-17: mass `e^{−40a}/(aΓ(a))`): an independent reference.
    fn p_by_quadrature(a: f64, x: f64) -> f64 {
        const N: [f64; 5] = [
            0.0,
            -0.538_469_310_105_683_1,
            0.538_469_310_105_683_1,
            -0.906_179_845_938_664,
            0.906_179_845_938_664,
        ];
        const W: [f64; 5] = [
            0.568_888_888_888_888_9,
            0.478_628_670_499_366_5,
            0.478_628_670_499_366_5,
            0.236_926_885_056_189_1,
            0.236_926_885_056_189_1,
        ];
        let (lo, hi) = (-40.0, x.ln());
        let panels = 20_000;
        let h = (hi - lo) / panels as f64;
        let mut sum = 0.0;
        for i in 0..panels {
            let mid = lo + (i as f64 + 0.5) * h;
            for (n, w) in N.iter().zip(W) {
                let t = mid + 0.5 * h * n;
                sum += w * 0.5 * h * (a * t - t.exp() - ln_gamma(a)).exp();
            }
        }
        sum + (a * lo - ln_gamma(a)).exp() / a
    }

    #[test]
    fn cdf_matches_closed_forms_and_quadrature() {
        // P(1, x) = 1 − e^{−x}; P(½, x) = erf(√x); Q(2, x) = (1 + x) e^{−x}
        for x in [1e-8f64, 0.3, 1.0, 2.5, 7.0, 40.0] {
            let (lp, lq) = gamma_ln_pq(1.0, x.ln());
            let p1 = -(-x).exp_m1();
            assert!((lp.exp() / p1 - 1.0).abs() < 1e-13, "P(1, {x})");
            assert!((lq - (-x)).abs() < 1e-13);
            let (_, lq2) = gamma_ln_pq(2.0, (x / 2.0).ln());
            assert!((lq2 - ((1.0 + x).ln() - x)).abs() < 1e-13, "{x}");
        }
        for (a, x) in [
            (0.01, 0.5),
            (0.5, 0.2),
            (3.3, 2.0),
            (3.3, 6.0),
            (25.0, 22.0),
            (25.0, 31.0),
        ] {
            let (lp, _) = gamma_ln_pq(a, (x / a).ln());
            let want = p_by_quadrature(a, x);
            assert!(
                (lp.exp() - want).abs() < 1e-10 * want,
                "P({a}, {x}) = {} vs {want}",
                lp.exp()
            );
        }
        // erfc(1) and erfc(−0.5), tabulated
        for (y, want) in [
            (1.0, 0.157_299_207_050_285_13),
            (-0.5, 1.520_499_877_813_046_5),
            (10.0, 2.088_487_583_762_545e-45),
        ] {
            let got = erfc(y);
            assert!(
                (got / want - 1.0).abs() < 1e-13,
                "erfc({y}) = {got} vs {want}"
            );
        }
    }

    #[test]
    fn quantile_inverts_the_cdf() {
        for a in [1e-3, 0.05, 0.7, 1.0, 3.9, 4.1, 25.0, 900.0, 1e4] {
            for u in [2f64.powi(-24), 1e-4, 0.2, 0.5, 0.9, 1.0 - 2f64.powi(-24)] {
                let v = 1.0 - u;
                let y = gamma_ln_quantile_ratio(a, u, v);
                assert!(y.is_finite(), "a = {a}, u = {u}");
                let (lp, lq) = gamma_ln_pq(a, y);
                let err = if u <= 0.5 { lp - u.ln() } else { lq - v.ln() };
                assert!(err.abs() < 1e-9, "a = {a}, u = {u}: ln-error {err}");
            }
        }
    }

    /// `∂x/∂a` by the central difference of the quantile at a fixed level (quantile by Newton
    /// on the CDF): an independent check of all three methods.
    #[test]
    fn implicit_derivative_matches_the_quantile_difference() {
        let mut worst = 0.0f64;
        for a in [1e-3, 0.01, 0.3, 1.0, 2.5, 3.99, 4.0, 7.0, 30.0, 500.0, 1e4] {
            for u in [1e-6, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0 - 1e-6] {
                let y = gamma_ln_quantile_ratio(a, u, 1.0 - u);
                let e = gamma_elasticity_excess(a, y);
                let dln = (1.0 + e) / a;
                let h = 1e-5 * a;
                // ln x = ln a + ln(x/a)
                let yp = gamma_ln_quantile_ratio(a + h, u, 1.0 - u) + (a + h).ln();
                let ym = gamma_ln_quantile_ratio(a - h, u, 1.0 - u) + (a - h).ln();
                let want = (yp - ym) / (2.0 * h);
                let rel = (dln - want).abs() / want.abs();
                worst = worst.max(rel);
                assert!(rel < 1e-5, "a = {a}, u = {u}: {dln} vs {want}");
            }
        }
        eprintln!("gamma implicit derivative vs quantile difference: worst relative {worst:.2e}");
    }

    #[test]
    fn elasticity_limits() {
        // ∂x/∂a for a → ∞ at x = a: 1 + 1/(6a) + O(a⁻²)
        let a = 1e6;
        let e = gamma_elasticity_excess(a, 0.0);
        assert!((e - 1.0 / (6.0 * a)).abs() < 1e-12, "{e}");
        // E[∂ln x/∂a] = ψ′(a): a deterministic check by quadrature over the quantile
        let a = 0.5;
        let n = 20_000;
        let mut sum = 0.0;
        for i in 0..n {
            let u = (i as f64 + 0.5) / n as f64;
            let y = gamma_ln_quantile_ratio(a, u, 1.0 - u);
            sum += (1.0 + gamma_elasticity_excess(a, y)) / a;
        }
        let mean = sum / n as f64;
        assert!(
            (mean - trigamma(a)).abs() < 2e-3 * trigamma(a),
            "{mean} vs {}",
            trigamma(a)
        );
        assert!(gamma_elasticity_excess(0.0, 0.0).is_nan());
        assert!(gamma_elasticity_excess(f64::NAN, 0.0).is_nan());
        // x underflowed: still finite
        assert!(gamma_elasticity_excess(1e-3, -5000.0).is_finite());
    }
}
