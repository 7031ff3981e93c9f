//! The kit measures the variance of the pathwise estimator exactly where it is known in
//! closed form: x ~ N(1, 1), f(x) = (x − k)². With x = μ + σε:
//!
//! - ∂f/∂μ = 2(x − k), variance 4σ² = 4 for every k;
//! - ∂f/∂σ = 2(x − k)ε, at k = 0 equal to 2ε + 2ε², variance 4(1 + 2) = 12.
//!
//! Each check is a z-test of the measured variance at a false-failure rate of 1e-6 (its
//! standard error from the fourth central moment), with a fixed seed. The negative control
//! draws noise of the wrong scale (ε·1.1, variances 4.84 and about 14.2) and must fail.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{Distribution, Normal, Reparameterized};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::testing::{GradientCheck, GradientSamples};

const SAMPLES: usize = 200_000;
const RATE: f64 = 1e-6;

fn split(t: &Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let [rows, _] = t.dims();
    (
        t.clone().slice([0..rows, 0..1]),
        t.clone().slice([0..rows, 1..2]),
    )
}

fn pathwise_samples(k: f64, noise_scale: f64) -> GradientSamples {
    GradientCheck::new(SAMPLES)
        .seed(2024)
        .chunk(50_000)
        .run(&common::device(), &[1.0, 1.0], |t, noise| {
            let (mu, sigma) = split(&t);
            let rows = mu.dims()[0];
            let normal = Normal::new_unchecked(mu, sigma)?;
            if noise_scale == 1.0 {
                let est =
                    Pathwise.estimate(&normal, 1, noise, |x| (x - k).square().reshape([rows]))?;
                Ok(est.surrogate)
            } else {
                let eps = normal.draw_noise(noise) * noise_scale;
                let x = normal.rsample_with_noise(eps)?;
                Ok((x - k).square().reshape([rows]))
            }
        })
        .unwrap()
}

#[test]
fn pathwise_variance_of_the_location_gradient_is_four() {
    for k in [0.0, 1.0, 3.0] {
        let report = pathwise_samples(k, 1.0).variance();
        let z = report
            .z_scores(&[4.0, report.parameters[1].variance])
            .unwrap();
        let crit = mcgrad::testing::normal_quantile(1.0 - RATE / 2.0);
        assert!(z[0].abs() < crit, "k = {k}: {report}");
    }
}

#[test]
fn pathwise_variances_at_k_zero_are_four_and_twelve() {
    let samples = pathwise_samples(0.0, 1.0);
    let report = samples.variance();
    eprintln!("{report}");
    assert!(report.matches(&[4.0, 12.0], RATE).unwrap(), "{report}");
    // and the estimator is unbiased: E[∂/∂μ] = 2(μ − k) = 2, E[∂/∂σ] = 2σ = 2
    let unbiased = samples.unbiasedness(&[2.0, 2.0], RATE).unwrap();
    assert!(unbiased.passed(), "{unbiased}");
}

#[test]
fn negative_control_wrong_noise_scale_is_flagged() {
    let samples = pathwise_samples(0.0, 1.1);
    let report = samples.variance();
    assert!(!report.matches(&[4.0, 12.0], RATE).unwrap(), "{report}");
    assert!(!samples.unbiasedness(&[2.0, 2.0], RATE).unwrap().passed());
}

#[test]
fn n_samples_per_element_divide_the_variance_by_n() {
    // n samples per element average n independent estimates: the variance falls as 1/n
    let device = common::device();
    let run = |n: usize| {
        GradientCheck::new(20_000)
            .seed(5)
            .run(&device, &[1.0, 1.0], |t, noise| {
                let (mu, sigma) = split(&t);
                let normal = Normal::new_unchecked(mu, sigma)?;
                let rows = normal.rows() * n;
                Ok(Pathwise
                    .estimate(&normal, n, noise, |x| x.square().reshape([rows]))?
                    .surrogate)
            })
            .unwrap()
            .variance()
    };
    let one = run(1);
    let four = run(4);
    // z-test of the ratio at 5 sigma (false-failure rate 6e-7 per parameter), its standard
    // error by the delta method
    for j in 0..2 {
        let (a, b) = (one.parameters[j], four.parameters[j]);
        let ratio = a.variance / b.variance;
        let se = ratio
            * ((a.standard_error / a.variance).powi(2) + (b.standard_error / b.variance).powi(2))
                .sqrt();
        assert!(
            (ratio - 4.0).abs() < 5.0 * se,
            "variance ratio {ratio} ± {se} for n = 4 (param {j})"
        );
    }
}
