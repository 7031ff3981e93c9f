//! The relaxed estimators are biased, and the testing kit says so: for a one-hot Categorical
//! with K = 3 and the cost f(y) = (y·w − 1)², the Gumbel-softmax estimator at τ = 1 fails the
//! unbiasedness check against the exact gradient (by enumeration), and its bias, measured at
//! τ = 2, 1, 0.5, 0.25 and 0.1, shrinks as τ falls. The straight-through variants are flagged
//! too. The bias is the mean estimate minus the exact gradient; its Euclidean norm is compared
//! across temperatures by z-tests at 5 sigma (a false failure below 6e-7 per comparison).
//! Seeds fixed. Run with `--nocapture` to see the table of measured biases.

mod common;

use burn::prelude::*;
use mcgrad::distributions::OneHotCategorical;
use mcgrad::estimators::{Estimator, GumbelSoftmax, StraightThrough, exact_expectation};
use mcgrad::testing::{GradientCheck, GradientSamples, exact_gradient};

const THETA: [f64; 3] = [0.5, -0.3, 0.2];
const SAMPLES: usize = 100_000;

fn cost(y: Tensor<2>) -> Tensor<1> {
    let [rows, _] = y.dims();
    let w = Tensor::<2>::from_floats([[2.0], [-1.0], [0.5]], &y.device());
    (y.matmul(w) - 1.0).square().reshape([rows])
}

fn exact() -> Vec<f64> {
    exact_gradient(&common::device(), &THETA, |t| {
        exact_expectation(&OneHotCategorical::from_logits_unchecked(t)?, cost)
    })
    .unwrap()
}

fn samples<E: Estimator<2, OneHotCategorical<2>, Sample = Tensor<2>> + Clone>(
    estimator: E,
) -> GradientSamples {
    GradientCheck::new(SAMPLES)
        .seed(21)
        .chunk(50_000)
        .run(&common::device(), &THETA, |t, noise| {
            let q = OneHotCategorical::from_logits_unchecked(t)?;
            Ok(estimator.clone().estimate(&q, 1, noise, cost)?.surrogate)
        })
        .unwrap()
}

/// (‖bias‖, its standard error by the delta method)
fn bias_norm(s: &GradientSamples, exact: &[f64]) -> (f64, f64) {
    let report = s.unbiasedness(exact, 1e-6).unwrap();
    let b: Vec<f64> = report.parameters.iter().map(|p| p.mean - p.exact).collect();
    let norm = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    let se = (report
        .parameters
        .iter()
        .zip(&b)
        .map(|(p, bi)| (bi / norm.max(1e-12) * p.standard_error).powi(2))
        .sum::<f64>())
    .sqrt();
    (norm, se)
}

#[test]
fn gumbel_softmax_bias_is_flagged_and_shrinks_as_temperature_falls() {
    let exact = exact();
    let temperatures = [2.0, 1.0, 0.5, 0.25, 0.1];
    let mut rows = Vec::new();
    for tau in temperatures {
        let s = samples(GumbelSoftmax::new(tau).unwrap());
        let report = s.unbiasedness(&exact, 1e-6).unwrap();
        let (norm, se) = bias_norm(&s, &exact);
        eprintln!(
            "soft Gumbel-softmax τ = {tau:<5} ‖bias‖ = {norm:.4} ± {se:.4}, max |z| = {:.1}",
            report.max_abs_z()
        );
        if tau >= 1.0 {
            assert!(
                !report.passed(),
                "τ = {tau}: the bias went unnoticed\n{report}"
            );
        }
        rows.push((tau, norm, se));
    }
    for pair in rows.windows(2) {
        let ((t0, b0, s0), (t1, b1, s1)) = (pair[0], pair[1]);
        let z = (b0 - b1) / (s0 * s0 + s1 * s1).sqrt();
        assert!(
            z > 5.0,
            "bias did not shrink from τ = {t0} ({b0:.4}) to τ = {t1} ({b1:.4}): z = {z:.1}"
        );
    }
}

#[test]
fn straight_through_estimators_are_flagged_as_biased() {
    let exact = exact();
    for tau in [1.0, 0.5, 0.1] {
        let s = samples(GumbelSoftmax::straight_through(tau).unwrap());
        let report = s.unbiasedness(&exact, 1e-6).unwrap();
        let (norm, se) = bias_norm(&s, &exact);
        eprintln!(
            "straight-through Gumbel τ = {tau:<4} ‖bias‖ = {norm:.4} ± {se:.4}, max |z| = {:.1}",
            report.max_abs_z()
        );
        assert!(
            !report.passed(),
            "ST Gumbel-softmax at τ = {tau} passed\n{report}"
        );
    }
    let s = samples(StraightThrough);
    let report = s.unbiasedness(&exact, 1e-6).unwrap();
    let (norm, se) = bias_norm(&s, &exact);
    eprintln!(
        "plain straight-through         ‖bias‖ = {norm:.4} ± {se:.4}, max |z| = {:.1}",
        report.max_abs_z()
    );
    assert!(!report.passed(), "plain ST passed\n{report}");
}
