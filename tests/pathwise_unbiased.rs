//! The pathwise estimator is unbiased for every reparameterized family, over parameter ranges
//! (proptest) and several cost functions, against exact gradients by quadrature of the
//! density (independent of the sampler).
//!
//! False-failure rate: each check is a z-test at 1e-6 for the parameter vector (Bonferroni);
//! the file runs about 150 checks, so an unbiased estimator fails it with probability below
//! 2e-4. Seeds are fixed (proptest's and the noise's), so the outcome is reproducible.
//! Negative controls at the bottom show the same checks fail on biased estimators.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Exponential, Gumbel, Laplace, LogNormal, Logistic, MultivariateNormal, Normal, Reparameterized,
    Uniform,
};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::testing::{GradientCheck, density_quadrature, exact_gradient, simpson_rule};
use mcgrad::{NoiseSource, Result};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// The cost functions `f(z)`, one cost per row of `z: [R, 1]`.
#[derive(Debug, Clone, Copy)]
enum Cost {
    /// `(z − ½)² + 0.1 z³`
    Polynomial,
    /// `exp(0.3 z)`, or `exp(−z)` on the positive half-line
    Exp,
    /// `sin(2z)`
    Sin,
    /// a fixed one-hidden-layer tanh network, 1-8-1
    Net,
}

impl Cost {
    fn eval(self, z: Tensor<2>, positive_support: bool) -> Tensor<1> {
        let [rows, _] = z.dims();
        let out = match self {
            Cost::Polynomial => (z.clone() - 0.5).square() + z.powi_scalar(3) * 0.1,
            Cost::Exp if positive_support => z.neg().exp(),
            Cost::Exp => (z * 0.3).exp(),
            Cost::Sin => (z * 2.0).sin(),
            Cost::Net => {
                let device = z.device();
                let a = Tensor::<2>::from_floats(
                    [[0.9, -1.3, 0.4, 2.0, -0.7, 1.1, -2.2, 0.3]],
                    &device,
                );
                let b = Tensor::<2>::from_floats(
                    [[0.1, 0.5, -0.3, -1.0, 0.8, 0.0, 0.4, -0.6]],
                    &device,
                );
                let v = Tensor::<2>::from_floats(
                    [[1.0], [-0.5], [0.8], [0.3], [-1.2], [0.6], [0.2], [-0.9]],
                    &device,
                );
                (z.matmul(a) + b).tanh().matmul(v)
            }
        };
        out.reshape([rows])
    }
}

fn cost() -> impl Strategy<Value = Cost> {
    prop_oneof![
        Just(Cost::Polynomial),
        Just(Cost::Exp),
        Just(Cost::Sin),
        Just(Cost::Net)
    ]
}

fn config() -> Config {
    Config {
        cases: 6,
        rng_seed: RngSeed::Fixed(0x5eed),
        ..Config::default()
    }
}

/// Column `j` of θ rows, `[R, 1]`.
fn col(theta: &Tensor<2>, j: usize) -> Tensor<2> {
    let [rows, _] = theta.dims();
    theta.clone().slice([0..rows, j..j + 1])
}

/// Runs the unbiasedness check of the pathwise estimator for the family `build(θ)` against
/// the exact gradient `exact`.
fn check_unbiased<P, B>(
    theta: &[f64],
    exact: &[f64],
    cost: Cost,
    positive: bool,
    build: B,
) -> Result<mcgrad::testing::UnbiasednessReport>
where
    P: Reparameterized<2>,
    B: Fn(Tensor<2>) -> Result<P>,
{
    let device = common::device();
    let samples = GradientCheck::new(SAMPLES).seed(17).run(
        &device,
        theta,
        |t, noise: &mut NoiseSource| {
            let dist = build(t)?;
            Ok(Pathwise
                .estimate(&dist, 1, noise, |z| cost.eval(z, positive))?
                .surrogate)
        },
    )?;
    samples.unbiasedness(exact, RATE)
}

/// The exact gradient by quadrature of the density on `(nodes, weights)`.
fn exact_by_density<P, B>(
    theta: &[f64],
    nodes: &[f64],
    weights: &[f64],
    cost: Cost,
    positive: bool,
    build: B,
) -> Result<Vec<f64>>
where
    P: Reparameterized<2>,
    B: Fn(Tensor<2>) -> Result<P>,
{
    exact_gradient(&common::device(), theta, |t| {
        density_quadrature(&build(t)?, nodes, weights, |z| cost.eval(z, positive))
    })
}

fn assert_unbiased<P, B>(
    theta: &[f64],
    nodes: (Vec<f64>, Vec<f64>),
    cost: Cost,
    positive: bool,
    build: B,
) where
    P: Reparameterized<2>,
    B: Fn(Tensor<2>) -> Result<P> + Copy,
{
    let exact = exact_by_density(theta, &nodes.0, &nodes.1, cost, positive, build).unwrap();
    let report = check_unbiased(theta, &exact, cost, positive, build).unwrap();
    assert!(report.passed(), "θ = {theta:?}, {cost:?}\n{report}");
}

/// Nodes in `z = exp(u)` for `u` in `[lo, hi]`: the change of variables puts the points where
/// a log-normal's mass is.
fn log_spaced(lo: f64, hi: f64, intervals: usize) -> (Vec<f64>, Vec<f64>) {
    let (u, w) = simpson_rule(lo, hi, intervals);
    let z = u.iter().map(|u| u.exp()).collect();
    let w = u.iter().zip(&w).map(|(u, w)| w * u.exp()).collect();
    (z, w)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normal_pathwise_is_unbiased(mu in -2.0..2.0f64, sigma in 0.3..1.5f64, cost in cost()) {
        let nodes = simpson_rule(mu - 12.0 * sigma, mu + 12.0 * sigma, 6000);
        assert_unbiased(&[mu, sigma], nodes, cost, false, |t| Normal::new_unchecked(col(&t, 0), col(&t, 1)));
    }

    #[test]
    fn log_normal_pathwise_is_unbiased(mu in -1.0..1.0f64, sigma in 0.2..0.8f64, cost in cost()) {
        let nodes = log_spaced(mu - 12.0 * sigma, mu + 12.0 * sigma, 6000);
        assert_unbiased(&[mu, sigma], nodes, cost, true, |t| LogNormal::new_unchecked(col(&t, 0), col(&t, 1)));
    }

    #[test]
    fn laplace_pathwise_is_unbiased(mu in -2.0..2.0f64, b in 0.3..1.2f64, cost in cost()) {
        // a multiple of 4 intervals puts a panel boundary on the kink at μ
        let nodes = simpson_rule(mu - 45.0 * b, mu + 45.0 * b, 12_000);
        assert_unbiased(&[mu, b], nodes, cost, false, |t| Laplace::new_unchecked(col(&t, 0), col(&t, 1)));
    }

    #[test]
    fn logistic_pathwise_is_unbiased(mu in -2.0..2.0f64, s in 0.3..1.2f64, cost in cost()) {
        let nodes = simpson_rule(mu - 45.0 * s, mu + 45.0 * s, 12_000);
        assert_unbiased(&[mu, s], nodes, cost, false, |t| Logistic::new_unchecked(col(&t, 0), col(&t, 1)));
    }

    #[test]
    fn gumbel_pathwise_is_unbiased(mu in -2.0..2.0f64, beta in 0.3..1.2f64, cost in cost()) {
        let nodes = simpson_rule(mu - 6.0 * beta, mu + 45.0 * beta, 12_000);
        assert_unbiased(&[mu, beta], nodes, cost, false, |t| Gumbel::new_unchecked(col(&t, 0), col(&t, 1)));
    }

    #[test]
    fn exponential_pathwise_is_unbiased(rate in 0.8..3.0f64, cost in cost()) {
        let nodes = simpson_rule(0.0, 60.0 / rate, 12_000);
        assert_unbiased(&[rate], nodes, cost, true, |t| Exponential::new_unchecked(col(&t, 0)));
    }

    #[test]
    fn uniform_pathwise_is_unbiased(low in -2.0..1.0f64, width in 0.2..3.0f64, cost in cost()) {
        // E f = ∫₀¹ f(a + (b − a)u) du: the support moves with θ, so integrate in u
        let theta = [low, low + width];
        let (u, w) = simpson_rule(0.0, 1.0, 2000);
        let exact = exact_gradient(&common::device(), &theta, |t| {
            let m = u.len();
            let device = t.device();
            let u_t = common::matrix(m, 1, u.iter().map(|&x| x as f32).collect(), &device);
            let w_t = Tensor::<1>::from_data(burn::tensor::TensorData::new(w.iter().map(|&x| x as f32).collect::<Vec<_>>(), [m]), &device);
            let (a, b) = (col(&t, 0), col(&t, 1));
            let z = a.clone() + (b - a) * u_t;
            Ok((cost.eval(z, false) * w_t).sum())
        }).unwrap();
        let report = check_unbiased(&theta, &exact, cost, false, |t| Uniform::new_unchecked(col(&t, 0), col(&t, 1))).unwrap();
        prop_assert!(report.passed(), "θ = {theta:?}, {cost:?}\n{report}");
    }
}

/// A pathwise estimator that drops the path through the scale: `z = μ + sg(σ)·ε`. Its
/// gradient in σ is zero, the exact one is not: the kit must flag it.
#[test]
fn negative_control_dropped_scale_path_is_flagged() {
    let theta = [0.5, 1.2];
    let nodes = simpson_rule(0.5 - 14.4, 0.5 + 14.4, 6000);
    let build = |t: Tensor<2>| Normal::new_unchecked(col(&t, 0), col(&t, 1));
    let exact =
        exact_by_density(&theta, &nodes.0, &nodes.1, Cost::Polynomial, false, build).unwrap();
    let samples = GradientCheck::new(SAMPLES)
        .seed(17)
        .run(&common::device(), &theta, |t, noise| {
            let mu = col(&t, 0);
            let sigma = col(&t, 1).detach();
            let biased = Normal::new_unchecked(mu, sigma)?;
            Ok(Pathwise
                .estimate(&biased, 1, noise, |z| Cost::Polynomial.eval(z, false))?
                .surrogate)
        })
        .unwrap();
    let report = samples.unbiasedness(&exact, RATE).unwrap();
    assert!(!report.passed(), "a biased estimator passed:\n{report}");
    // the location gradient is still right: only the scale is flagged
    assert!(report.parameters[0].z.abs() < report.critical_z);
    assert!(report.parameters[1].z.abs() > report.critical_z);
}

/// The gradient scaled by 1.1: a 10% bias in every coordinate.
#[test]
fn negative_control_scaled_gradient_is_flagged() {
    let theta = [-0.3, 0.8];
    let nodes = simpson_rule(-0.3 - 4.8, -0.3 + 36.0, 12_000);
    let build = |t: Tensor<2>| Gumbel::new_unchecked(col(&t, 0), col(&t, 1));
    let exact =
        exact_by_density(&theta, &nodes.0, &nodes.1, Cost::Polynomial, false, build).unwrap();
    // a 10% bias needs power: 200 000 estimates put it near 13 standard errors
    let samples = GradientCheck::new(200_000)
        .seed(17)
        .chunk(50_000)
        .run(&common::device(), &theta, |t, noise| {
            let est =
                Pathwise.estimate(&build(t)?, 1, noise, |z| Cost::Polynomial.eval(z, false))?;
            Ok(est.surrogate * 1.1)
        })
        .unwrap();
    let report = samples.unbiasedness(&exact, RATE).unwrap();
    assert!(!report.passed(), "a 10% bias passed:\n{report}");
    // and the unscaled estimator passes the same check
    let report = check_unbiased(&theta, &exact, Cost::Polynomial, false, build).unwrap();
    assert!(report.passed(), "{report}");
}

/// The bivariate normal `N(μ, LLᵀ)` with θ = (μ₁, μ₂, L₁₁, L₂₁, L₂₂), the off-diagonal path
/// optionally cut (`sg(L₂₁)`, the negative control).
fn bivariate(t: &Tensor<2>, cut_off_diagonal: bool) -> Result<MultivariateNormal> {
    let [rows, _] = t.dims();
    let l21 = if cut_off_diagonal {
        col(t, 3).detach()
    } else {
        col(t, 3)
    };
    let zero = col(t, 2).zeros_like();
    let tril = Tensor::cat(vec![col(t, 2), zero, l21, col(t, 4)], 1).reshape([rows, 2, 2]);
    MultivariateNormal::new_unchecked(Tensor::cat(vec![col(t, 0), col(t, 1)], 1), tril)
}

/// `f(z) = zᵀAz` with `A = [[1, ½], [½, 3]]`, one value per row of `z: [R, 2]`.
fn quadratic_form(z: Tensor<2>) -> Tensor<1> {
    let [rows, _] = z.dims();
    let (z1, z2) = (col(&z, 0), col(&z, 1));
    (z1.clone().square() + z2.clone().square() * 3.0 + z1 * z2).reshape([rows])
}

/// The multivariate normal's pathwise gradient (z = μ + Lε) is unbiased against the closed
/// form `E[zᵀAz] = μᵀAμ + tr(A L Lᵀ)`: `∇_μ = 2Aμ`, `∇_L = 2AL` (lower triangle). Negative
/// control: cutting the path through `L₂₁` (a "diagonal-only" reparameterization) is flagged on
/// that coordinate alone. False-failure rate 1e-6 per check (z-test, Bonferroni over 5).
#[test]
fn multivariate_normal_pathwise_is_unbiased_and_a_cut_path_is_flagged() {
    let theta = [0.5, -1.0, 1.2, 0.4, 0.7];
    let a = [[1.0, 0.5], [0.5, 3.0]];
    let (mu, l) = (
        [theta[0], theta[1]],
        [[theta[2], 0.0], [theta[3], theta[4]]],
    );
    let a_mu = |i: usize| a[i][0] * mu[0] + a[i][1] * mu[1];
    let a_l = |i: usize, j: usize| a[i][0] * l[0][j] + a[i][1] * l[1][j];
    let exact = [
        2.0 * a_mu(0),
        2.0 * a_mu(1),
        2.0 * a_l(0, 0),
        2.0 * a_l(1, 0),
        2.0 * a_l(1, 1),
    ];
    let run = |cut: bool| {
        GradientCheck::new(SAMPLES)
            .seed(23)
            .run(&common::device(), &theta, |t, noise| {
                Ok(Pathwise
                    .estimate(&bivariate(&t, cut)?, 1, noise, quadratic_form)?
                    .surrogate)
            })
            .unwrap()
            .unbiasedness(&exact, RATE)
            .unwrap()
    };
    let report = run(false);
    assert!(report.passed(), "{report}");
    let report = run(true);
    assert!(!report.passed(), "a cut path passed:\n{report}");
    for (i, p) in report.parameters.iter().enumerate() {
        assert_eq!(p.z.abs() > report.critical_z, i == 3, "{report}");
    }
}
