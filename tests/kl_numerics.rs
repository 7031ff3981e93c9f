//! Every closed-form KL divergence of the crate over the whole range of its parameters, against
//! references computed here in f64 from the same f32 inputs. Deterministic (no sampling): each
//! check either holds or it does not.
//!
//! For each pair the test asserts: a value within a relative tolerance of the f64 reference
//! wherever that is at most `f32::MAX`, `+∞` exactly where it is above (references within
//! 1e-3 of `f32::MAX` are skipped as undecidable in f32), never NaN; for nearly equal
//! distributions a relative error below 1e-4 (1e-2 for the categorical families, whose stored
//! log-probabilities carry their own rounding); and finite gradients over a moderate range.
//! The tolerances hold on flex; ndarray's and a GPU's elementary functions are less exact in
//! places, and their tolerances are wider (see `device_tolerance`).
//!
//! References, with `φ(u) = e^u − 1 − u` (in f64 by its series below |u| = 1e-2, by
//! `expm1(u) − u` above):
//! - Normal: `KL = ½((μ₁ − μ₂)/σ₂)² + ½φ(2d)`, `d = ln(σ₁/σ₂)` (by `ln_1p` of the relative
//!   difference for ratios near 1). LogNormal: the same.
//! - Exponential: `KL = φ(ln(λ₂/λ₁))`.
//! - Laplace: `KL = φ(d) + (b₁/b₂)(t − 1 + e^{−t})`, `d = ln(b₁/b₂)`, `t = |μ₁ − μ₂|/b₁`, the
//!   second term by its series `t²/2 − t³/6 + …` below t = 1e-2.
//! - Uniform (nested supports): `ln(w₂/w₁)` of the widths.
//! - MultivariateNormal (2-D): `Σ_i ½φ(2 ln M_ii) + ½M₂₁² + ½‖L₂⁻¹(μ₂ − μ₁)‖²`,
//!   `M = L₂⁻¹L₁`, solved by hand in f64.
//! - Categorical, Bernoulli: `ln(1 + Σ_k t_k)` with `t_k = p_k φ(Δ_k − c)`,
//!   `Δ_k = ln q_k − ln p_k`, `c = Σ_k p_k Δ_k`, and `t_k = q_k e^{−c}` where `p_k = 0` (an
//!   exact identity, free of cancellation, since `Σ_k q_k e^{−c} = e^{KL}`), the
//!   log-probabilities by an f64 log-sum-exp; `Σ_k p_k(ln p_k − ln q_k)` above 1 nat.
//!
//! The code before this file failed here, among others: `KL(N(0, 1e-30) ‖ N(0, 1))` gave +∞
//! (exact 68.58), a scale ratio of 1e20 gave NaN, `KL(Exp(1) ‖ Exp(3e38))` gave NaN, the
//! Laplace pair with `b₁/b₂ = 1e38` gave NaN, and nearly equal pairs of every family lost all
//! their digits (σ₂ = σ₁(1 + 10⁻⁵) gave 0).

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Bernoulli, Categorical, Exponential, Laplace, LogNormal, MultivariateNormal, Normal,
    OneHotCategorical, Uniform,
};
use mcgrad::kl::kl_divergence;

/// The valid scales, from the smallest normal f32 to the largest accepted.
const SCALES: [f32; 10] = [
    f32::MIN_POSITIVE,
    1e-30,
    1e-12,
    1e-3,
    0.7,
    1.0,
    3.0,
    1e5,
    1e15,
    1e19,
];

/// Pairs of locations, up to ±f32::MAX.
const LOCS: [(f32, f32); 5] = [
    (0.0, 0.0),
    (0.5, -1.5),
    (1e-30, 0.0),
    (1e30, -1e30),
    (3e38, -3e38),
];

/// Relative differences of nearly equal parameters.
const NEAR: [f64; 7] = [1.2e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.3];

fn phi(u: f64) -> f64 {
    if u.abs() < 1e-2 {
        (2..12)
            .map(|k| u.powi(k) / (1..=k).map(f64::from).product::<f64>())
            .sum()
    } else {
        u.exp_m1() - u
    }
}

/// `ln(a/b)` in f64, with `ln_1p` near a ratio of 1.
fn ln_ratio(a: f64, b: f64) -> f64 {
    if a >= b / 2.0 && a <= 2.0 * b {
        ((a - b) / b).ln_1p()
    } else {
        a.ln() - b.ln()
    }
}

fn r(x: f32) -> f64 {
    x as f64
}

/// The tolerance on the device under test: as stated on flex; other backends evaluate the
/// elementary functions less tightly (ndarray's `log_sigmoid` is exact only to an absolute
/// 1e-9 in its tail, a GPU's `ln` to an absolute 2⁻²¹ near 1), so their tolerance is wider.
fn device_tolerance(rel: f64) -> f64 {
    match std::env::var("MCGRAD_TEST_DEVICE").as_deref() {
        Ok("ndarray") => rel * 20.0,
        Ok("wgpu") => rel * 1e3,
        _ => rel,
    }
}

/// Compares an f32 result with its f64 reference.
fn check(what: &str, got: f64, exact: f64, rel: f64) {
    let rel = device_tolerance(rel);
    assert!(!got.is_nan(), "{what}: NaN (exact {exact:e})");
    let max = f32::MAX as f64;
    if exact > max * (1.0 + 1e-3) {
        assert_eq!(got, f64::INFINITY, "{what}: exact {exact:e} exceeds f32");
    } else if exact < max * (1.0 - 1e-3) {
        assert!(
            got.is_finite() && (got - exact).abs() <= rel * exact.abs() + 1e-37,
            "{what}: got {got:e}, exact {exact:e} (relative error {:e})",
            (got - exact).abs() / exact.abs()
        );
    }
}

fn column(v: &[f32], device: &Device) -> Tensor<2> {
    Tensor::<1>::from_floats(v, device).reshape([v.len(), 1])
}

/// Every (scale, scale, locations) combination of the grids: (σ₁, σ₂, μ₁, μ₂).
fn scale_grid() -> Vec<(f32, f32, f32, f32)> {
    let mut out = Vec::new();
    for s1 in SCALES {
        for s2 in SCALES {
            for (m1, m2) in LOCS {
                out.push((s1, s2, m1, m2));
            }
        }
    }
    out
}

/// Nearly equal scale pairs around several magnitudes, with nearly equal locations too.
fn near_grid() -> Vec<(f32, f32, f32, f32)> {
    let mut out = Vec::new();
    for base in [1e-30f32, 1e-3, 1.0, 1e10, 5e18] {
        for eps in NEAR {
            let s2 = (base as f64 * (1.0 + eps)) as f32;
            out.push((base, s2, 0.0, 0.0));
            out.push((s2, base, 0.0, 0.0));
            let m = (base as f64 * eps) as f32;
            out.push((base, base, m, 0.0));
            out.push((base, s2, 1.0, (1.0 + eps) as f32));
        }
    }
    out
}

fn normal_reference(s1: f32, s2: f32, m1: f32, m2: f32) -> f64 {
    let (s1, s2, m1, m2) = (r(s1), r(s2), r(m1), r(m2));
    let d = ln_ratio(s1, s2);
    0.5 * ((m1 - m2) / s2).powi(2) + 0.5 * phi(2.0 * d)
}

fn run_normal_like(grid: &[(f32, f32, f32, f32)], rel: f64, label: &str) {
    let device = common::device();
    let col = |f: fn(&(f32, f32, f32, f32)) -> f32| {
        column(&grid.iter().map(f).collect::<Vec<_>>(), &device)
    };
    let (s1, s2, m1, m2) = (col(|g| g.0), col(|g| g.1), col(|g| g.2), col(|g| g.3));
    let p = Normal::new(m1.clone(), s1.clone()).unwrap();
    let q = Normal::new(m2.clone(), s2.clone()).unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    // the same pairs as log-normals wherever the log-normal accepts them
    let lognormal_ok: Vec<bool> = grid
        .iter()
        .map(|&(a, b, c, d)| {
            let ok = |s: f32, m: f32| {
                s >= 1e-20
                    && (m as f64).abs() + 13.708 * s as f64 <= 87.0
                    && m as f64 + (s as f64).powi(2) / 2.0 <= 87.0
            };
            ok(a, c) && ok(b, d)
        })
        .collect();
    for (i, &(a, b, c, d)) in grid.iter().enumerate() {
        check(
            &format!("{label} Normal σ = ({a:e}, {b:e}), μ = ({c:e}, {d:e})"),
            got[i],
            normal_reference(a, b, c, d),
            rel,
        );
        if lognormal_ok[i] {
            let t = |v: f32| Tensor::<1>::from_floats([v], &device);
            let lp = LogNormal::new(t(c), t(a)).unwrap();
            let lq = LogNormal::new(t(d), t(b)).unwrap();
            let v = common::values(kl_divergence(&lp, &lq).unwrap())[0];
            assert_eq!(v.to_bits(), got[i].to_bits(), "LogNormal = Normal at {i}");
        }
    }
}

#[test]
fn normal_and_log_normal_kl_over_the_whole_range() {
    run_normal_like(&scale_grid(), 2e-5, "range");
    // the example of the issue
    let device = common::device();
    let t = |v: f32| Tensor::<1>::from_floats([v], &device);
    let p = Normal::new(t(0.0), t(1e-30)).unwrap();
    let q = Normal::new(t(0.0), t(1.0)).unwrap();
    let v = common::values(kl_divergence(&p, &q).unwrap())[0];
    assert!((v - 68.577_552_789_821_37).abs() < 1e-4, "{v}");
}

#[test]
fn normal_kl_of_nearly_equal_distributions_keeps_its_digits() {
    run_normal_like(&near_grid(), 1e-4, "near");
}

/// Where both log-scales are given, the log-ratio is their difference: exact.
#[test]
fn normal_kl_from_log_scales_covers_the_whole_log_scale_range() {
    let device = common::device();
    let logs = [-87.3f32, -60.0, -1e-6, 0.0, 1e-6, 5.0, 43.7];
    let mut l1 = Vec::new();
    let mut l2 = Vec::new();
    for a in logs {
        for b in logs {
            l1.push(a);
            l2.push(b);
        }
    }
    let p = Normal::from_log_scale(column(&vec![0.0; l1.len()], &device), column(&l1, &device))
        .unwrap();
    let q = Normal::from_log_scale(column(&vec![0.0; l2.len()], &device), column(&l2, &device))
        .unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    for (i, (a, b)) in l1.iter().zip(&l2).enumerate() {
        let exact = 0.5 * phi(2.0 * (r(*a) - r(*b)));
        check(&format!("log-scales ({a}, {b})"), got[i], exact, 2e-5);
    }
}

#[test]
fn exponential_kl_over_the_whole_range_and_near_equality() {
    let device = common::device();
    let rates = [1e-19f32, 1e-10, 1e-3, 0.5, 1.0, 7.0, 1e10, 1e30, f32::MAX];
    let mut pairs = Vec::new();
    for a in rates {
        for b in rates {
            pairs.push((a, b));
        }
    }
    for base in [1e-19f32, 1.0, 1e30] {
        for eps in NEAR {
            pairs.push((base, (base as f64 * (1.0 + eps)) as f32));
        }
    }
    let p = Exponential::new(column(
        &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        &device,
    ));
    let q = Exponential::new(column(
        &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        &device,
    ));
    let got = common::values(kl_divergence(&p.unwrap(), &q.unwrap()).unwrap());
    for (i, &(a, b)) in pairs.iter().enumerate() {
        let exact = phi(ln_ratio(r(b), r(a)));
        let rel = if i < rates.len() * rates.len() {
            2e-5
        } else {
            1e-4
        };
        check(&format!("Exp({a:e}) ‖ Exp({b:e})"), got[i], exact, rel);
    }
}

fn laplace_reference(b1: f32, b2: f32, m1: f32, m2: f32) -> f64 {
    let (b1, b2) = (r(b1), r(b2));
    let d = ln_ratio(b1, b2);
    let t = (r(m1) - r(m2)).abs() / b1;
    let tail = if t < 1e-2 {
        (2..10)
            .map(|k| (-t).powi(k) / (1..=k).map(f64::from).product::<f64>())
            .sum()
    } else {
        t - 1.0 + (-t).exp()
    };
    phi(d) + (b1 / b2) * tail
}

#[test]
fn laplace_kl_over_the_whole_range_and_near_equality() {
    let device = common::device();
    for (grid, rel, label) in [(scale_grid(), 2e-5, "range"), (near_grid(), 1e-4, "near")] {
        let col = |f: fn(&(f32, f32, f32, f32)) -> f32| {
            column(&grid.iter().map(f).collect::<Vec<_>>(), &device)
        };
        let p = Laplace::new(col(|g| g.2), col(|g| g.0)).unwrap();
        let q = Laplace::new(col(|g| g.3), col(|g| g.1)).unwrap();
        let got = common::values(kl_divergence(&p, &q).unwrap());
        for (i, &(a, b, c, d)) in grid.iter().enumerate() {
            check(
                &format!("{label} Laplace b = ({a:e}, {b:e}), μ = ({c:e}, {d:e})"),
                got[i],
                laplace_reference(a, b, c, d),
                rel,
            );
        }
    }
}

#[test]
fn uniform_kl_over_the_whole_range_and_near_equality() {
    let device = common::device();
    // nested intervals [0, w₁) ⊆ [0, w₂) and [−w₂/2, w₂/2) around them
    let widths = [f32::MIN_POSITIVE, 1e-30, 1e-3, 1.0, 1e10, 1e38];
    let mut pairs = Vec::new();
    for (i, &a) in widths.iter().enumerate() {
        for &b in &widths[i..] {
            pairs.push((a, b));
        }
    }
    for base in [1e-30f32, 1.0, 1e10] {
        for eps in NEAR {
            pairs.push((base, (base as f64 * (1.0 + eps)) as f32));
        }
    }
    let zeros = vec![0.0f32; pairs.len()];
    let p = Uniform::new(
        column(&zeros, &device),
        column(&pairs.iter().map(|p| p.0).collect::<Vec<_>>(), &device),
    )
    .unwrap();
    let q = Uniform::new(
        column(&zeros, &device),
        column(&pairs.iter().map(|p| p.1).collect::<Vec<_>>(), &device),
    )
    .unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    for (i, &(a, b)) in pairs.iter().enumerate() {
        let exact = ln_ratio(r(b), r(a));
        if exact == 0.0 {
            assert_eq!(got[i], 0.0, "equal widths {a:e}");
        } else {
            check(&format!("U(0, {a:e}) ‖ U(0, {b:e})"), got[i], exact, 1e-5);
        }
    }
    // and outside: +∞
    let v = common::values(kl_divergence(&q, &p).unwrap());
    for (i, &(a, b)) in pairs.iter().enumerate() {
        if b > a {
            assert_eq!(v[i], f64::INFINITY, "U(0, {b:e}) ‖ U(0, {a:e})");
        }
    }
}

/// A 2-D case: p's factor, q's factor, p's first mean coordinate, the tolerance.
type MvnCase = ([f32; 3], [f32; 3], f32, f64);

/// A categorical case: p's logits, q's logits, the tolerance.
type CategoricalCase = ([f32; 3], [f32; 3], f64);

/// The 2-D reference: `L = [[a, 0], [b, c]]` for p and `[[d, 0], [e, f]]` for q, means
/// `(m, 0)` and `(0, 0)`.
fn mvn_reference(l1: [f32; 3], l2: [f32; 3], m: f32) -> f64 {
    let [a, b, c] = l1.map(r);
    let [d, e, f] = l2.map(r);
    let m00 = ln_ratio(a, d);
    let m11 = ln_ratio(c, f);
    // M = L₂⁻¹L₁: M₁₀ = (b − e·a/d)/f
    let m10 = (b - e * a / d) / f;
    // y = L₂⁻¹(μ₂ − μ₁) with μ₂ − μ₁ = (−m, 0): y₀ = −m/d, y₁ = (0 − e·y₀)/f
    let y0 = -r(m) / d;
    let y1 = -e * y0 / f;
    0.5 * phi(2.0 * m00) + 0.5 * phi(2.0 * m11) + 0.5 * m10 * m10 + 0.5 * (y0 * y0 + y1 * y1)
}

#[test]
fn multivariate_normal_kl_over_the_range_and_near_equality() {
    let device = common::device();
    let mut cases: Vec<MvnCase> = Vec::new();
    // diagonal scales over the whole range (the pair of normals, twice)
    for s1 in SCALES {
        for s2 in SCALES {
            cases.push(([s1, 0.0, s2], [s2, 0.0, s1], 0.0, 2e-5));
        }
    }
    // full lower-triangular factors, nearly equal
    for eps in NEAR {
        let l1 = [1.2f32, 0.3, 0.7];
        let l2 = [
            (1.2 * (1.0 + eps)) as f32,
            (0.3 + 0.5 * eps) as f32,
            (0.7 * (1.0 - eps)) as f32,
        ];
        cases.push((l1, l2, (0.1 * eps) as f32, 1e-4));
    }
    let n = cases.len();
    let loc1: Vec<f32> = cases.iter().flat_map(|c| [c.2, 0.0]).collect();
    let tril = |pick: fn(&MvnCase) -> [f32; 3]| -> Tensor<3> {
        let v: Vec<f32> = cases
            .iter()
            .flat_map(|c| {
                let [a, b, cc] = pick(c);
                [a, 0.0, b, cc]
            })
            .collect();
        Tensor::<1>::from_floats(v.as_slice(), &device).reshape([n, 2, 2])
    };
    let p = MultivariateNormal::new(
        Tensor::<1>::from_floats(loc1.as_slice(), &device).reshape([n, 2]),
        tril(|c| c.0),
    )
    .unwrap();
    let q = MultivariateNormal::new(Tensor::<2>::zeros([n, 2], &device), tril(|c| c.1)).unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    for (i, (l1, l2, m, rel)) in cases.iter().enumerate() {
        check(
            &format!("MVN {l1:?} ‖ {l2:?}, μ₁ = ({m}, 0)"),
            got[i],
            mvn_reference(*l1, *l2, *m),
            *rel,
        );
    }
}

/// Normalized log-probabilities of f32 logits, in f64.
fn log_probs(logits: &[f32]) -> Vec<f64> {
    let l: Vec<f64> = logits.iter().map(|&x| r(x)).collect();
    let top = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = top + l.iter().map(|x| (x - top).exp()).sum::<f64>().ln();
    l.iter().map(|x| x - lse).collect()
}

/// `KL(p ‖ q)` of two rows of log-probabilities, in f64, by the cancellation-free form below
/// 1 nat.
fn discrete_reference(lp: &[f64], lq: &[f64]) -> f64 {
    let p: Vec<f64> = lp.iter().map(|x| x.exp()).collect();
    let direct: f64 = p
        .iter()
        .zip(lp.iter().zip(lq))
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, (a, b))| p * (a - b))
        .sum();
    if direct >= 1.0 || direct.is_infinite() {
        return direct;
    }
    let delta: Vec<f64> = lq
        .iter()
        .zip(lp)
        .zip(&p)
        .map(|((b, a), p)| if *p > 0.0 { b - a } else { 0.0 })
        .collect();
    let c: f64 = p.iter().zip(&delta).map(|(p, d)| p * d).sum();
    // where p_k = 0 the term is its limit q_k e^{−c}
    p.iter()
        .zip(&delta)
        .zip(lq)
        .map(|((p, d), q)| {
            if *p > 0.0 {
                p * phi(d - c)
            } else {
                (q - c).exp()
            }
        })
        .sum::<f64>()
        .ln_1p()
}

#[test]
fn categorical_kl_over_extreme_logits_and_near_equality() {
    let device = common::device();
    let big = [0.0f32, 1.0, -20.0, 100.0, -1e4, 1e30, -3e38, 3e38];
    let mut rows: Vec<CategoricalCase> = Vec::new();
    for &a in &big {
        for &b in &big {
            rows.push(([a, 0.0, -a / 2.0], [b, 0.5, 0.0], 2e-5));
        }
    }
    for delta in [1e-3f32, 1e-2, 0.1] {
        for base in [[0.0f32, 0.0, 0.0], [2.0, -1.0, 0.5], [30.0, 0.0, -30.0]] {
            let q = [base[0] + delta, base[1] - delta, base[2]];
            rows.push((base, q, 1e-2));
        }
    }
    let n = rows.len();
    let flat = |pick: fn(&CategoricalCase) -> [f32; 3]| {
        let v: Vec<f32> = rows.iter().flat_map(pick).collect();
        Tensor::<1>::from_floats(v.as_slice(), &device).reshape([n, 3])
    };
    let p = Categorical::from_logits(flat(|r| r.0)).unwrap();
    let q = Categorical::from_logits(flat(|r| r.1)).unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    let one_hot = common::values(
        kl_divergence(
            &OneHotCategorical::from_logits(flat(|r| r.0)).unwrap(),
            &OneHotCategorical::from_logits(flat(|r| r.1)).unwrap(),
        )
        .unwrap(),
    );
    for (i, (a, b, rel)) in rows.iter().enumerate() {
        let exact = discrete_reference(&log_probs(a), &log_probs(b));
        check(&format!("Categorical {a:?} ‖ {b:?}"), got[i], exact, *rel);
        assert_eq!(got[i].to_bits(), one_hot[i].to_bits());
    }
}

#[test]
fn bernoulli_kl_over_extreme_logits_and_near_equality() {
    let device = common::device();
    let logits = [
        0.0f32, 1e-3, -1.0, 20.0, -100.0, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38,
    ];
    let mut pairs = Vec::new();
    for a in logits {
        for b in logits {
            pairs.push((a, b, 2e-5));
        }
    }
    for base in [0.0f32, 3.0, -15.0] {
        for delta in [1e-4f32, 1e-3, 1e-2] {
            pairs.push((base, base + delta, 1e-3));
        }
    }
    let p = Bernoulli::from_logits(column(
        &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        &device,
    ))
    .unwrap();
    let q = Bernoulli::from_logits(column(
        &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        &device,
    ))
    .unwrap();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    for (i, &(a, b, rel)) in pairs.iter().enumerate() {
        // the two outcomes as a two-class categorical with logits (0, ℓ)
        let exact = discrete_reference(&log_probs(&[0.0, a]), &log_probs(&[0.0, b]));
        check(
            &format!("Bernoulli({a:e}) ‖ Bernoulli({b:e})"),
            got[i],
            exact,
            rel,
        );
    }
}

/// The gradients of every KL with respect to every parameter are finite over a moderate range
/// of scales (1e-15 to 1e15, pairs within a factor 1e3, where the exact gradients are finite
/// in f32) and locations.
#[test]
fn kl_gradients_are_finite() {
    let device = common::device().autodiff();
    // pairs of scales within a factor 1e3 of each other, from 1e-15 to 1e15: the exact
    // gradients (up to (σ₁/σ₂)²/σ₂ ≈ 1e21) are finite in f32
    let mut s1 = Vec::new();
    let mut s2 = Vec::new();
    for a in [1e-15f32, 1e-9, 1e-3, 1.0, 7.0, 1e5, 1e15] {
        for f in [1.0f32, 1.0 + 1e-6, 0.3, 1e3, 1e-3] {
            s1.push(a);
            s2.push(a * f);
        }
    }
    let n = s1.len();
    // locations a few scales apart
    let m1: Vec<f32> = (0..n).map(|i| [0.0, 0.3, -2.0][i % 3] * s1[i]).collect();
    let m2: Vec<f32> = (0..n).map(|i| [0.0, 1e-4, 5.0][i % 3] * s1[i]).collect();
    let leaf = |v: &[f32]| column(v, &device).require_grad();
    // the gradient of an element whose divergence is finite
    let all_finite = |what: &str, kl: Tensor<2>, leaves: &[&Tensor<2>]| {
        let values = common::values(kl.clone().inner());
        let grads = kl.sum().backward();
        for (j, t) in leaves.iter().enumerate() {
            let g = common::values(t.grad(&grads).unwrap());
            for (i, (g, v)) in g.iter().zip(&values).enumerate() {
                assert!(
                    !v.is_finite() || g.is_finite(),
                    "{what}, parameter {j}, row {i}: {g}"
                );
            }
        }
    };
    let (a, b, c, d) = (leaf(&s1), leaf(&s2), leaf(&m1), leaf(&m2));
    let kl = kl_divergence(
        &Normal::new(c.clone(), a.clone()).unwrap(),
        &Normal::new(d.clone(), b.clone()).unwrap(),
    )
    .unwrap();
    all_finite("Normal", kl, &[&a, &b, &c, &d]);
    let (a, b, c, d) = (leaf(&s1), leaf(&s2), leaf(&m1), leaf(&m2));
    let kl = kl_divergence(
        &Laplace::new(c.clone(), a.clone()).unwrap(),
        &Laplace::new(d.clone(), b.clone()).unwrap(),
    )
    .unwrap();
    all_finite("Laplace", kl, &[&a, &b, &c, &d]);
    let (a, b) = (leaf(&s1), leaf(&s2));
    let kl = kl_divergence(
        &Exponential::new(a.clone()).unwrap(),
        &Exponential::new(b.clone()).unwrap(),
    )
    .unwrap();
    all_finite("Exponential", kl, &[&a, &b]);
    let (c, d) = (leaf(&m1), leaf(&m2));
    let kl = kl_divergence(
        &Bernoulli::from_logits(c.clone().mul_scalar(30.0)).unwrap(),
        &Bernoulli::from_logits(d.clone()).unwrap(),
    )
    .unwrap();
    all_finite("Bernoulli", kl, &[&c, &d]);
    let lp =
        Tensor::<2>::from_floats([[0.0, 1e-3, -1.0], [30.0, 0.0, -1e4]], &device).require_grad();
    let lq = Tensor::<2>::from_floats([[0.0, 0.0, -1.0], [0.0, 2.0, f32::NEG_INFINITY]], &device)
        .require_grad();
    let kl = kl_divergence(
        &Categorical::from_logits(lp.clone()).unwrap(),
        &Categorical::from_logits(lq.clone()).unwrap(),
    )
    .unwrap();
    let grads = kl.clone().sum().backward();
    let g = common::values(lq.grad(&grads).unwrap());
    assert!(g.iter().all(|x| !x.is_nan()), "Categorical q: {g:?}");
    let g = common::values(lp.grad(&grads).unwrap());
    assert!(g.iter().all(|x| x.is_finite()), "Categorical p: {g:?}");
}

/// The gradients are the textbook formulas' gradients: on ordinary parameters (neither nearly
/// equal nor extreme, where the textbook formula in f32 is itself accurate) the autodiff
/// gradient of each rewritten closed form agrees with that of the textbook closed form to
/// 1e-4 (relative, or absolute below 1).
#[test]
fn kl_gradients_match_the_textbook_formulas() {
    let device = common::device().autodiff();
    let leaf = |v: &[f32]| column(v, &device).require_grad();
    let close = |what: &str, a: Vec<f64>, b: Vec<f64>| {
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= device_tolerance(1e-4) * y.abs().max(1.0),
                "{what}, row {i}: {x} vs textbook {y}"
            );
        }
    };
    let (s1, s2, m1, m2) = (
        [0.5f32, 2.0, 0.7, 1.3],
        [1.0f32, 3.0, 0.2, 1.3],
        [0.3f32, -1.0, 0.0, 2.0],
        [0.0f32, 0.5, 0.4, -1.0],
    );
    // Normal: ln(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½
    let grads = |textbook: bool| {
        let (a, b, c, d) = (leaf(&s1), leaf(&s2), leaf(&m1), leaf(&m2));
        let kl = if textbook {
            (b.clone().log() - a.clone().log())
                + (a.clone().square() + (c.clone() - d.clone()).square())
                    / (b.clone().square() * 2.0)
                - 0.5
        } else {
            kl_divergence(
                &Normal::new(c.clone(), a.clone()).unwrap(),
                &Normal::new(d.clone(), b.clone()).unwrap(),
            )
            .unwrap()
        };
        let g = kl.sum().backward();
        [&a, &b, &c, &d]
            .iter()
            .flat_map(|t| common::values(t.grad(&g).unwrap()))
            .collect::<Vec<_>>()
    };
    let (ours, textbook) = (grads(false), grads(true));
    // the negative control: a gradient off by 0.1% is caught by the same comparison
    let miss = 10.0 * device_tolerance(1e-4);
    let off: Vec<f64> = textbook.iter().map(|g| g * (1.0 + miss) + miss).collect();
    let caught = std::panic::catch_unwind(|| close("Normal, 0.1% off", ours.clone(), off));
    assert!(caught.is_err(), "a 0.1% error passed");
    close("Normal", ours, textbook);
    // Laplace: ln(b₂/b₁) + |μ₁ − μ₂|/b₂ + (b₁/b₂)e^{−|μ₁ − μ₂|/b₁} − 1
    let grads = |textbook: bool| {
        let (a, b, c, d) = (leaf(&s1), leaf(&s2), leaf(&m1), leaf(&m2));
        let kl = if textbook {
            let gap = (c.clone() - d.clone()).abs();
            (b.clone().log() - a.clone().log())
                + gap.clone() / b.clone()
                + (a.clone() / b.clone()) * (gap.neg() / a.clone()).exp()
                - 1.0
        } else {
            kl_divergence(
                &Laplace::new(c.clone(), a.clone()).unwrap(),
                &Laplace::new(d.clone(), b.clone()).unwrap(),
            )
            .unwrap()
        };
        let g = kl.sum().backward();
        [&a, &b, &c, &d]
            .iter()
            .flat_map(|t| common::values(t.grad(&g).unwrap()))
            .collect::<Vec<_>>()
    };
    close("Laplace", grads(false), grads(true));
    // Exponential: ln(λ₁/λ₂) + λ₂/λ₁ − 1
    let grads = |textbook: bool| {
        let (a, b) = (leaf(&s1), leaf(&s2));
        let kl = if textbook {
            (a.clone().log() - b.clone().log()) + b.clone() / a.clone() - 1.0
        } else {
            kl_divergence(
                &Exponential::new(a.clone()).unwrap(),
                &Exponential::new(b.clone()).unwrap(),
            )
            .unwrap()
        };
        let g = kl.sum().backward();
        [&a, &b]
            .iter()
            .flat_map(|t| common::values(t.grad(&g).unwrap()))
            .collect::<Vec<_>>()
    };
    close("Exponential", grads(false), grads(true));
    // Categorical and Bernoulli: Σ_k p_k (ln p_k − ln q_k) from log-softmax
    let lp = [[0.3f32, -1.0, 2.0], [0.0, 0.1, 0.2], [4.0, -3.0, 0.0]];
    let lq = [[1.0f32, 0.5, -0.5], [0.05, 0.0, 0.3], [0.0, 0.0, 0.0]];
    let grads = |textbook: bool| {
        let a = Tensor::<2>::from_floats(lp, &device).require_grad();
        let b = Tensor::<2>::from_floats(lq, &device).require_grad();
        let kl = if textbook {
            use burn::tensor::activation::log_softmax;
            let (la, lb) = (log_softmax(a.clone(), 1), log_softmax(b.clone(), 1));
            (la.clone().exp() * (la - lb)).sum_dim(1)
        } else {
            kl_divergence(
                &Categorical::from_logits(a.clone()).unwrap(),
                &Categorical::from_logits(b.clone()).unwrap(),
            )
            .unwrap()
        };
        let g = kl.sum().backward();
        [&a, &b]
            .iter()
            .flat_map(|t| common::values(t.grad(&g).unwrap()))
            .collect::<Vec<_>>()
    };
    close("Categorical", grads(false), grads(true));
    let grads = |textbook: bool| {
        let (a, b) = (leaf(&m1), leaf(&m2));
        let kl = if textbook {
            use burn::tensor::activation::{log_sigmoid, sigmoid};
            let p = sigmoid(a.clone());
            p.clone() * (log_sigmoid(a.clone()) - log_sigmoid(b.clone()))
                + p.neg().add_scalar(1.0)
                    * (log_sigmoid(a.clone().neg()) - log_sigmoid(b.clone().neg()))
        } else {
            kl_divergence(
                &Bernoulli::from_logits(a.clone()).unwrap(),
                &Bernoulli::from_logits(b.clone()).unwrap(),
            )
            .unwrap()
        };
        let g = kl.sum().backward();
        [&a, &b]
            .iter()
            .flat_map(|t| common::values(t.grad(&g).unwrap()))
            .collect::<Vec<_>>()
    };
    close("Bernoulli", grads(false), grads(true));
}
