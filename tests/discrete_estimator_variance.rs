//! Exact variances of the discrete estimators on the single-Bernoulli toy problem
//! `E_{b~Bernoulli(σ(θ))}[(b − t)²]`, `t = 0.45`, so `f(1) − f(0) = Δ = 0.1`, and the ordering
//! of REBAR and RELAX against REINFORCE on a vector problem, measured with `mcgrad::diagnostics`.
//!
//! # Derivations (p = σ(θ), a = |p − ½|)
//!
//! - REINFORCE, one draw: `g = f(b)(b − p)`, two values: `f(1)(1 − p)` with probability p and
//!   `−f(0)p`; `Var = (f(1)(1 − p) + f(0)p)² p(1 − p)`.
//! - RLOO, two draws: `g = ½(f₁ − f₂)(b₁ − b₂)`: `Δ/2` when the draws differ (probability
//!   `q = 2p(1 − p)`), else 0; `Var = (Δ/2)² q(1 − q)`.
//! - ARM, one pair: `g = (f(b¹) − f(b²))(u − ½)`. With `w = |u − ½| ~ U(0, ½)`, the pair
//!   differs exactly when `w > a`, and then `g = Δw` (the sign of `f(b¹) − f(b²)` is the sign of
//!   `u − ½`); `E g = Δ(¼ − a²) = Δp(1 − p)`, `E g² = Δ²∫_a^½ 2w² dw = Δ²(1/12 − 2a³/3)`, so
//!   `Var = Δ²(1/12 − 2a³/3 − (¼ − a²)²)`.
//! - DisARM, one pair: `g = ½(f(b¹) − f(b²))(b¹ − b²)σ(|θ|) = ½Δ max(p, 1 − p)` when the pair
//!   differs (probability `2 min(p, 1 − p)`), else 0.
//!
//! | | θ = 0 (p = ½) | θ = ln 3 (p = ¾) |
//! |---|---|---|
//! | REINFORCE | 0.12625² = 1.5939e-2 | 0.2275²·3/16 = 9.7043e-3 |
//! | RLOO(2) | 0.05²·¼ = 6.25e-4 | 0.05²·(3/8)(5/8) = 5.8594e-4 |
//! | ARM | Δ²/48 = 2.0833e-4 | Δ²·29/768 = 3.7760e-4 |
//! | DisARM | 0 (every pair gives 0.025) | 0.0375²·¼ = 3.5156e-4 |
//!
//! # Checks and false-failure rates
//!
//! - A two-point estimate whose two values are equally likely (REINFORCE and RLOO at θ = 0,
//!   DisARM at θ = ln 3) has a sample variance with a second-order error (see
//!   tests/discrete_variance.rs): `|s² − σ²| ≤ 30σ²/N` fails with probability
//!   `P(χ²₁ > 31) < 3e-8`.
//! - The other estimates (ARM, and REINFORCE, RLOO at θ = ln 3) use the kit's variance z-test at
//!   1e-6 (normal approximation of `s²` with its fourth moment; N = 200 000).
//! - DisARM at θ = 0: every estimate equals 0.025 to `f32` precision (deterministic).
//! - The REBAR/RELAX ordering on 8 Bernoullis with the smooth cost `(w·y − 0.3)²`: REBAR at
//!   τ = 0.5 and RELAX after 150 Adam steps of its control network each have at most ¾ of
//!   REINFORCE's total variance, asserted with 10 standard errors of margin on each side (the
//!   standard error of a total taken as the sum of the parameters' standard errors, an upper
//!   bound); false-failure rate below 1e-10 each. Measured: 3.71 (REINFORCE), 1.44 (REBAR),
//!   1.66 (RELAX).
//! - REBAR's leave-one-out η against η = 1 at τ = 2 with two draws (measured 0.86 against
//!   1.28): lower, with 5 standard errors of margin on each side (false-failure rate below
//!   3e-7).
//!
//! 18 checks (11 z-tests at 1e-6, 4 two-point bounds, 3 orderings): a correct implementation
//! fails the file with probability below 2e-5. Negative controls: each measured variance is rejected as a
//! neighbouring estimator's exact value by the same check, and untrained RELAX is not below
//! REINFORCE.

mod common;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use mcgrad::diagnostics::GradientStatistics;
use mcgrad::distributions::Bernoulli;
use mcgrad::estimators::baselines::{LeaveOneOut, NoBaseline};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::{Arm, DisArm, Estimator, Rebar, RebarScale, Relax, ScoreFunction};
use mcgrad::testing::{GradientCheck, GradientSamples};
use mcgrad::{NoiseSource, Result};

const T: f64 = 0.45;
const DELTA: f64 = 0.1;
const N: usize = 200_000;
const RATE: f64 = 1e-6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Toy {
    Reinforce,
    Rloo,
    Arm,
    DisArm,
}

/// The exact variance of one estimate at p = σ(θ).
fn exact_variance(which: Toy, p: f64) -> f64 {
    let (f1, f0) = ((1.0 - T) * (1.0 - T), T * T);
    let a = (p - 0.5).abs();
    match which {
        Toy::Reinforce => (f1 * (1.0 - p) + f0 * p).powi(2) * p * (1.0 - p),
        Toy::Rloo => {
            let q = 2.0 * p * (1.0 - p);
            (DELTA / 2.0).powi(2) * q * (1.0 - q)
        }
        Toy::Arm => DELTA * DELTA * (1.0 / 12.0 - 2.0 * a.powi(3) / 3.0 - (0.25 - a * a).powi(2)),
        Toy::DisArm => {
            let q = 2.0 * p.min(1.0 - p);
            (0.5 * DELTA * p.max(1.0 - p)).powi(2) * q * (1.0 - q)
        }
    }
}

/// N single estimates of the toy gradient at logit θ.
fn toy_samples(which: Toy, theta: f64) -> GradientSamples {
    GradientCheck::new(N)
        .seed(99)
        .chunk(50_000)
        .run(
            &common::device(),
            &[theta],
            |phi, noise| -> Result<Tensor<1>> {
                let rows = phi.dims()[0];
                let q = Bernoulli::from_logits_unchecked(phi)?;
                let f = |x: Tensor<2>| {
                    let r = x.dims()[0];
                    (x - T).square().reshape([r])
                };
                Ok(match which {
                    Toy::Reinforce => {
                        ScoreFunction::new(NoBaseline)
                            .estimate(&q, 1, noise, f)?
                            .surrogate
                    }
                    Toy::Rloo => {
                        ScoreFunction::new(LeaveOneOut)
                            .estimate(&q, 2, noise, f)?
                            .surrogate
                    }
                    Toy::Arm => Arm.estimate(&q, 1, noise, f)?.surrogate,
                    Toy::DisArm => DisArm.estimate(&q, 1, noise, f)?.surrogate,
                })
                .inspect(|s| assert_eq!(s.dims(), [rows]))
            },
        )
        .unwrap()
}

/// Does the measured variance match `exact`? Two-point estimates with equally likely values
/// use the second-order bound, the others the kit's z-test.
fn matches(samples: &GradientSamples, exact: f64, two_point_even: bool) -> bool {
    let report = samples.variance();
    let measured = report.parameters[0].variance;
    if two_point_even {
        (measured - exact).abs() <= 30.0 * exact / N as f64
    } else {
        report.matches(&[exact], RATE).unwrap()
    }
}

fn check_toy(which: Toy, theta: f64, two_point_even: bool, control: Toy) {
    let p = 1.0 / (1.0 + (-theta).exp());
    let samples = toy_samples(which, theta);
    // all four are unbiased: d/dθ E f = p(1 − p)Δ
    let unbiased = samples
        .unbiasedness(&[p * (1.0 - p) * DELTA], RATE)
        .unwrap();
    assert!(unbiased.passed(), "{which:?} at θ = {theta}\n{unbiased}");
    let exact = exact_variance(which, p);
    let measured = samples.variance().parameters[0].variance;
    println!("{which:?}, θ = {theta:.4}: measured variance {measured:.6e}, exact {exact:.6e}");
    assert!(
        matches(&samples, exact, two_point_even),
        "{which:?} at θ = {theta}: measured {measured:e}, exact {exact:e}"
    );
    let wrong = exact_variance(control, p);
    assert!(
        !matches(&samples, wrong, two_point_even),
        "negative control: {which:?} accepted as {control:?} ({measured:e} vs {wrong:e})"
    );
}

#[test]
fn exact_variances_at_theta_zero() {
    assert!((exact_variance(Toy::Reinforce, 0.5) - 1.5939e-2).abs() < 1e-6);
    assert!((exact_variance(Toy::Rloo, 0.5) - 6.25e-4).abs() < 1e-12);
    assert!((exact_variance(Toy::Arm, 0.5) - 2.0833e-4).abs() < 1e-8);
    assert_eq!(exact_variance(Toy::DisArm, 0.5), 0.0);
    check_toy(Toy::Reinforce, 0.0, true, Toy::Rloo);
    check_toy(Toy::Rloo, 0.0, true, Toy::Reinforce);
    check_toy(Toy::Arm, 0.0, false, Toy::Rloo);
    // DisARM: every pair gives the exact gradient
    let samples = toy_samples(Toy::DisArm, 0.0);
    assert!(
        samples.column(0).all(|g| (g - 0.025).abs() < 1e-8),
        "DisARM at θ = 0 is not constant"
    );
    let v = samples.variance().parameters[0].variance;
    println!("DisArm, θ = 0: measured variance {v:e}, exact 0");
    assert!(v < 1e-14, "{v:e}");
    // negative control: ARM's estimates are not constant
    let arm = toy_samples(Toy::Arm, 0.0);
    assert!(!arm.column(0).all(|g| (g - 0.025).abs() < 1e-8));
}

#[test]
fn exact_variances_at_theta_ln_3() {
    let theta = 3f64.ln();
    assert!((exact_variance(Toy::Reinforce, 0.75) - 9.704296875e-3).abs() < 1e-12);
    assert!((exact_variance(Toy::Rloo, 0.75) - 5.859375e-4).abs() < 1e-12);
    assert!((exact_variance(Toy::Arm, 0.75) - 0.01 * 29.0 / 768.0).abs() < 1e-12);
    assert!((exact_variance(Toy::DisArm, 0.75) - 3.515625e-4).abs() < 1e-12);
    check_toy(Toy::Reinforce, theta, false, Toy::Rloo);
    check_toy(Toy::Rloo, theta, false, Toy::Arm);
    check_toy(Toy::Arm, theta, false, Toy::DisArm);
    check_toy(Toy::DisArm, theta, true, Toy::Arm);
}

/// A smooth cost of 8 bits: (w·y − 0.3)², defined on relaxed values.
fn smooth_cost(y: Tensor<2>) -> Tensor<1> {
    let [rows, m] = y.dims();
    let w: Vec<f32> = (0..m).map(|i| ((i as f32) * 0.9).sin()).collect();
    let w = common::matrix(m, 1, w, &y.device());
    (y.matmul(w) - 0.3).square().reshape([rows])
}

const VECTOR_THETA: [f64; 8] = [0.3, -0.7, 1.1, 0.0, -1.5, 0.6, 2.0, -0.2];

/// 20 000 single estimates of the vector problem's gradient with `estimate`.
fn vector_samples(
    seed: u64,
    mut estimate: impl FnMut(&Bernoulli<2>, &mut NoiseSource) -> Result<Tensor<1>>,
) -> GradientSamples {
    GradientCheck::new(20_000)
        .chunk(20_000)
        .seed(seed)
        .run(&common::device(), &VECTOR_THETA, |t, noise| {
            estimate(&Bernoulli::from_logits_unchecked(t)?, noise)
        })
        .unwrap()
}

/// The total variance with its standard error (from the per-parameter standard errors,
/// treated as independent: a conservative margin is used on top).
fn total(samples: &GradientSamples) -> (f64, f64) {
    let report = samples.variance();
    let v = report.parameters.iter().map(|p| p.variance).sum();
    let se = report.parameters.iter().map(|p| p.standard_error).sum();
    (v, se)
}

#[test]
fn rebar_and_trained_relax_have_lower_variance_than_reinforce_and_diagnostics_agree_with_the_kit() {
    let reinforce = vector_samples(1, |q, noise| {
        Ok(ScoreFunction::new(NoBaseline)
            .estimate(q, 1, noise, smooth_cost)?
            .surrogate)
    });
    let rebar = vector_samples(2, |q, noise| {
        Ok(Rebar::new(0.5)?
            .estimate(q, 1, noise, smooth_cost)?
            .surrogate)
    });
    // RELAX: a network trained 150 Adam steps on the estimator's variance, and the untrained one
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(3);
    let untrained = ControlNetwork::new(8, 16, &mut noise, &device);
    let mut relax = Relax::new(untrained.clone());
    let mut optim = AdamConfig::new().init();
    let logits: Vec<f32> = VECTOR_THETA.iter().map(|&t| t as f32).collect();
    for _ in 0..150 {
        let theta = common::matrix(1, 8, logits.clone(), &device);
        let est = relax
            .estimate(
                &Bernoulli::from_logits_unchecked(theta).unwrap(),
                16,
                &mut noise,
                smooth_cost,
            )
            .unwrap();
        let grads = GradientsParams::from_grads(est.loss().backward(), relax.control());
        relax = Relax::new(optim.step(1e-2, relax.control().clone(), grads));
    }
    let trained = relax.into_control();
    let relax_trained = vector_samples(4, |q, noise| {
        Ok(Relax::new(trained.clone())
            .estimate(q, 1, noise, smooth_cost)?
            .surrogate)
    });
    let relax_untrained = vector_samples(4, |q, noise| {
        Ok(Relax::new(untrained.clone())
            .estimate(q, 1, noise, smooth_cost)?
            .surrogate)
    });

    let (v_sf, se_sf) = total(&reinforce);
    let (v_rebar, se_rebar) = total(&rebar);
    let (v_trained, se_trained) = total(&relax_trained);
    let (v_untrained, se_untrained) = total(&relax_untrained);
    println!(
        "total variance: REINFORCE {v_sf:.4e} ± {se_sf:.1e}, REBAR(τ = 0.5) {v_rebar:.4e} ± {se_rebar:.1e}, RELAX trained {v_trained:.4e} ± {se_trained:.1e}, untrained {v_untrained:.4e} ± {se_untrained:.1e}"
    );
    // both at most ¾ of REINFORCE's, with 10 standard errors on each side
    assert!(
        v_rebar + 10.0 * se_rebar < 0.75 * (v_sf - 10.0 * se_sf),
        "REBAR {v_rebar:e} vs REINFORCE {v_sf:e}"
    );
    assert!(
        v_trained + 10.0 * se_trained < 0.75 * (v_sf - 10.0 * se_sf),
        "RELAX {v_trained:e} vs REINFORCE {v_sf:e}"
    );
    // negative control: the untrained network is REINFORCE (zero output layer)
    assert!(
        (v_untrained - v_sf).abs() < 10.0 * (se_sf + se_untrained),
        "untrained RELAX {v_untrained:e} vs REINFORCE {v_sf:e}"
    );

    // REBAR's leave-one-out η against η = 1, at a temperature where η = 1 is far from optimal
    let fixed = vector_samples(5, |q, noise| {
        Ok(Rebar::new(2.0)?
            .estimate(q, 2, noise, smooth_cost)?
            .surrogate)
    });
    let adaptive = vector_samples(5, |q, noise| {
        Ok(Rebar::with_scale(2.0, RebarScale::LeaveOneOut)?
            .estimate(q, 2, noise, smooth_cost)?
            .surrogate)
    });
    let (v_fixed, se_fixed) = total(&fixed);
    let (v_adaptive, se_adaptive) = total(&adaptive);
    println!(
        "REBAR τ = 2, two draws: η = 1 {v_fixed:.4e} ± {se_fixed:.1e}, leave-one-out η {v_adaptive:.4e} ± {se_adaptive:.1e}"
    );
    assert!(
        v_adaptive + 5.0 * se_adaptive < v_fixed - 5.0 * se_fixed,
        "leave-one-out η {v_adaptive:e} vs η = 1 {v_fixed:e}"
    );

    // the diagnostics API gives the kit's per-parameter variances
    let stats = GradientStatistics::from_samples(&rebar, &Device::flex());
    let summary = stats.summary().unwrap();
    assert!(
        (summary.total_variance - v_rebar).abs() < 1e-4 * v_rebar,
        "{summary} vs {v_rebar:e}"
    );
    let per_param = common::values(stats.variance().clone());
    for (d, k) in per_param.iter().zip(rebar.variance().parameters.iter()) {
        assert!(
            (d - k.variance).abs() < 1e-4 * k.variance.max(1e-12),
            "{d} vs {}",
            k.variance
        );
    }
}
