//! Exact variances on the toy problem E_{b~Bernoulli(σ(φ))}[(b − t)²] at φ = 0, t = 0.45:
//!
//! - REINFORCE, one draw: g = f(b)(b − ½), so g = 0.15125 or −0.10125 with probability ½
//!   each; Var g = 0.12625² = 1.5939e-2.
//! - RLOO with two draws: g = (f₁ − f₂)(b₁ − b₂)/2, which is 0.05 with probability ½ and 0
//!   otherwise; Var g = 0.025² = 6.25e-4.
//!
//! Both estimates take two values with probability ½ each, so the usual normal approximation
//! of the sample variance does not hold: with `p̂` the share of the larger value, the sample
//! variance is `(a − b)²p̂(1 − p̂)·N/(N − 1)`, whose error is second order,
//! `σ²(1 − χ²₁)/N` to leading order. The check asserts the estimate takes exactly two values
//! and `|s² − σ²| ≤ 30σ²/N`, which a correct estimator fails with probability
//! `P(χ²₁ > 31) < 3e-8`. Seeds fixed. The negative controls: each estimator's variance is
//! rejected as the other's (they differ 25-fold), and the unbiasedness z-test at 1e-6 passes.

mod common;

use mcgrad::distributions::Bernoulli;
use mcgrad::estimators::baselines::{Baseline, LeaveOneOut, NoBaseline};
use mcgrad::estimators::{Estimator, ScoreFunction};
use mcgrad::testing::GradientCheck;

const T: f64 = 0.45;
const RATE: f64 = 1e-6;
const REINFORCE_VARIANCE: f64 = 0.12625 * 0.12625;
const RLOO_VARIANCE: f64 = 6.25e-4;

/// The measured variance of the single estimates.
fn measure<B: Baseline>(n: usize, baseline: impl Fn() -> B) -> f64 {
    let samples = GradientCheck::new(SAMPLES)
        .seed(99)
        .chunk(50_000)
        .run(&common::device(), &[0.0], |phi, noise| {
            let rows = phi.dims()[0] * n;
            let b = Bernoulli::from_logits_unchecked(phi)?;
            let est = ScoreFunction::new(baseline())
                .estimate(&b, n, noise, |x| (x - T).square().reshape([rows]))?;
            Ok(est.surrogate)
        })
        .unwrap();
    // both estimators are unbiased: d/dφ E = σ'(0)(f(1) − f(0)) = 0.25·0.1
    let unbiased = samples.unbiasedness(&[0.025], RATE).unwrap();
    assert!(unbiased.passed(), "{unbiased}");
    let mut values: Vec<f64> = samples.column(0).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    assert_eq!(values.len(), 2, "a two-point estimate expected: {values:?}");
    samples.variance().parameters[0].variance
}

/// `|measured − exact| ≤ 30σ²/N` (see the file's documentation).
fn matches(measured: f64, exact: f64) -> bool {
    (measured - exact).abs() <= 30.0 * exact / SAMPLES as f64
}

const SAMPLES: usize = 200_000;

#[test]
fn reinforce_variance_is_1_594e_2() {
    let v = measure(1, || NoBaseline);
    println!("REINFORCE: measured variance {v:e}, exact {REINFORCE_VARIANCE:e}");
    assert!(
        matches(v, REINFORCE_VARIANCE),
        "measured {v:e}, exact {REINFORCE_VARIANCE:e}"
    );
    assert!(!matches(v, RLOO_VARIANCE), "negative control: {v:e}");
}

#[test]
fn rloo_with_two_samples_has_variance_6_25e_4() {
    let v = measure(2, || LeaveOneOut);
    println!("RLOO, 2 draws: measured variance {v:e}, exact {RLOO_VARIANCE:e}");
    assert!(
        matches(v, RLOO_VARIANCE),
        "measured {v:e}, exact {RLOO_VARIANCE:e}"
    );
    assert!(!matches(v, REINFORCE_VARIANCE), "negative control: {v:e}");
}
