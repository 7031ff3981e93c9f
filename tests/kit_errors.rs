//! The testing kit fails loudly instead of silently: a surrogate or an expectation that never
//! reaches θ is an error (it used to report a zero gradient, which passes a check against an
//! exact zero), and so is a gradient of the wrong shape (it used to be read into misaligned
//! rows). Each error has a positive control next to it: the same check on a surrogate that does
//! reach θ, even with a gradient that is exactly zero, passes. Deterministic.

mod common;

use burn::prelude::*;
use mcgrad::Error;
use mcgrad::distributions::Normal;
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::testing::{GradientCheck, exact_gradient};

fn col(t: &Tensor<2>, j: usize) -> Tensor<2> {
    let [rows, _] = t.dims();
    t.clone().slice([0..rows, j..j + 1])
}

/// Negative control: a detached surrogate (a common slip: `x.detach()` in the cost, or a
/// distribution built from `theta.detach()`) is an error, not N zero estimates.
#[test]
fn a_surrogate_that_does_not_reach_theta_is_an_error() {
    let device = common::device();
    let r = GradientCheck::new(100).run(&device, &[0.5, 1.0], |t, noise| {
        let q = Normal::new_unchecked(col(&t, 0).detach(), col(&t, 1).detach())?;
        Ok(Pathwise
            .estimate(&q, 1, noise, |z| z.reshape([100]))?
            .surrogate)
    });
    assert!(
        matches!(
            r,
            Err(Error::InvalidArgument {
                name: "estimator",
                ..
            })
        ),
        "{r:?}"
    );
    // and before the fix it "passed" against the exact zero gradient of a constant cost;
    // a constant surrogate is an error as well
    let r = GradientCheck::new(100).run(&device, &[0.5], |t, _| {
        let [rows, _] = t.dims();
        Ok(Tensor::<1>::zeros([rows], &t.device()))
    });
    assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
}

/// Positive control: a surrogate that reaches θ but whose gradient in one coordinate is
/// exactly zero gives zero estimates there, and the check runs.
#[test]
fn a_surrogate_with_an_exactly_zero_gradient_still_runs() {
    let device = common::device();
    // E[z − μ] = 0 for z ~ N(μ, σ²): the pathwise gradient in μ is 1 − 1 = 0 exactly, in σ it
    // is ε (mean 0)
    let samples = GradientCheck::new(2000)
        .seed(3)
        .run(&device, &[0.5, 1.0], |t, noise| {
            let mu = col(&t, 0);
            let q = Normal::new_unchecked(mu.clone(), col(&t, 1))?;
            let [rows, _] = t.dims();
            let mu_rows = mu.reshape([rows]);
            Ok(Pathwise
                .estimate(&q, 1, noise, |z| z.reshape([rows]) - mu_rows)?
                .surrogate)
        })
        .unwrap();
    assert!(samples.column(0).all(|g| g == 0.0));
    let report = samples.unbiasedness(&[0.0, 0.0], 1e-6).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn an_expectation_that_does_not_reach_theta_is_an_error() {
    let device = common::device();
    let r = exact_gradient(&device, &[1.0, 2.0], |t| Ok(t.detach().sum().reshape([1])));
    assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
    // the positive control: d/dθ Σθ = (1, 1)
    let g = exact_gradient(&device, &[1.0, 2.0], |t| Ok(t.sum().reshape([1]))).unwrap();
    assert_eq!(g, vec![1.0, 1.0]);
}

/// A surrogate of the wrong length would have shifted every later row of the estimates; it is
/// a shape error.
#[test]
fn a_surrogate_of_the_wrong_length_is_a_shape_error() {
    let device = common::device();
    let r = GradientCheck::new(64)
        .chunk(16)
        .run(&device, &[0.5], |t, _| {
            let [rows, _] = t.dims();
            Ok(t.reshape([rows]).slice(0..rows - 1))
        });
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
}
