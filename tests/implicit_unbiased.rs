//! The pathwise estimator with implicit reparameterization gradients is unbiased, for every
//! implicitly reparameterized family, against exact gradients of moments in closed form:
//!
//! - Gamma(α, β): `E[z] = α/β`, so `∇ = (1/β, −α/β²)`; `E[ln z] = ψ(α) − ln β`, so
//!   `∇ = (ψ′(α), −1/β)` (trigamma), through `log_rsample` (at α = 1e-2 most draws are below the
//!   `f32` range of `z`);
//! - Chi2(k): `E[z] = k`, `E[ln z] = ψ(k/2) + ln 2`;
//! - Beta(a, b): `∂E[z]/∂a = b/(a + b)²`, `∂E[z]/∂b = −a/(a + b)²`;
//! - Dirichlet(α): the mean's Jacobian `∂E[z_i]/∂α_j = (δ_ij α₀ − α_i)/α₀²`, through a linear
//!   cost `w·z`: `∇_j = (w_j α₀ − w·α)/α₀²`;
//! - von Mises(μ, κ): `E[cos(z − μ)] = A(κ) = I₁(κ)/I₀(κ)`, `∂/∂κ = A′ = 1 − A/κ − A²`; and
//!   `E[cos z] = A(κ) cos μ` for the location;
//! - Student-t(ν, μ, σ): `E[z²] = μ² + σ²ν/(ν − 2)` (ν > 2), so
//!   `∇ = (−2σ²/(ν − 2)², 2μ, 2σν/(ν − 2))`; for ν ≤ 2 a bounded cost against quadrature of the
//!   density (the kit's `density_quadrature`).
//!
//! Small, moderate and large parameters, including α = 1e-2 and κ = 1e-2. Each check is the
//! kit's z-test of 20 000 independent estimates at false-failure rate 1e-6 (Bonferroni over the
//! parameters); about 45 checks, so an unbiased estimator fails this file with probability
//! below 5e-5. Seeds are fixed. The negative controls at the bottom (a gradient that ignores
//! the implicit term, a Gaussian-approximation gradient, a wrong concentration, a dropped path)
//! must be flagged by the same check.

mod common;
mod implicit_common;

use burn::prelude::*;
use implicit_common as reference;
use mcgrad::distributions::{
    Beta, Chi2, Dirichlet, Distribution, Gamma, Reparameterized, StudentT, VonMises,
};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::testing::{
    GradientCheck, UnbiasednessReport, density_quadrature, exact_gradient, simpson_rule,
};
use mcgrad::{NoiseSource, Result};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// Column `j` of θ rows, `[R, 1]`.
fn col(theta: &Tensor<2>, j: usize) -> Tensor<2> {
    let [rows, _] = theta.dims();
    theta.clone().slice([0..rows, j..j + 1])
}

/// The kit's unbiasedness check of `surrogate(θ rows, noise)` against `exact`.
fn check<F>(theta: &[f64], exact: &[f64], seed: u64, surrogate: F) -> UnbiasednessReport
where
    F: FnMut(Tensor<2>, &mut NoiseSource) -> Result<Tensor<1>>,
{
    GradientCheck::new(SAMPLES)
        .seed(seed)
        .run(&common::device(), theta, surrogate)
        .unwrap()
        .unbiasedness(exact, RATE)
        .unwrap()
}

/// The pathwise surrogate of `cost` under `dist` (one draw per row).
fn pathwise<P: Reparameterized<2>>(
    dist: &P,
    noise: &mut NoiseSource,
    cost: impl FnOnce(Tensor<2>) -> Tensor<1>,
) -> Result<Tensor<1>> {
    Ok(Pathwise.estimate(dist, 1, noise, cost)?.surrogate)
}

fn rows(t: &Tensor<2>) -> usize {
    t.dims()[0]
}

#[test]
fn gamma_mean_gradient_is_exact() {
    for (k, &alpha) in [1e-2, 0.3, 1.0, 4.5, 60.0, 2e3].iter().enumerate() {
        let beta = 2.0;
        let report = check(
            &[alpha, beta],
            &[1.0 / beta, -alpha / (beta * beta)],
            10 + k as u64,
            |t, noise| {
                let g = Gamma::new_unchecked(col(&t, 0), col(&t, 1))?;
                let r = rows(&t);
                pathwise(&g, noise, |z| z.reshape([r]))
            },
        );
        assert!(report.passed(), "α = {alpha}\n{report}");
    }
}

#[test]
fn gamma_log_mean_gradient_is_trigamma() {
    for (k, &alpha) in [1e-2, 0.3, 2.0, 40.0, 1e3].iter().enumerate() {
        let beta = 0.5;
        let exact = [reference::trigamma(alpha), -1.0 / beta];
        let report = check(&[alpha, beta], &exact, 20 + k as u64, |t, noise| {
            let g = Gamma::new_unchecked(col(&t, 0), col(&t, 1))?;
            let r = rows(&t);
            Ok(g.log_rsample(noise).reshape([r]))
        });
        assert!(report.passed(), "α = {alpha}\n{report}");
    }
}

/// `rsample_with_noise` (the quantile transform) estimates the same gradients.
#[test]
fn gamma_quantile_transform_is_unbiased() {
    for (k, &alpha) in [0.05, 0.7, 9.0].iter().enumerate() {
        let report = check(&[alpha], &[1.0], 30 + k as u64, |t, noise| {
            let a = col(&t, 0);
            let g = Gamma::new_unchecked(a.clone(), a.ones_like())?;
            let r = rows(&t);
            let eps = g.draw_noise(noise);
            Ok(g.rsample_with_noise(eps)?.reshape([r]))
        });
        assert!(report.passed(), "α = {alpha}\n{report}");
    }
}

#[test]
fn chi2_moment_gradients_are_exact() {
    for (k, &df) in [0.1, 3.0, 50.0].iter().enumerate() {
        let report = check(&[df], &[1.0], 40 + k as u64, |t, noise| {
            let c = Chi2::new_unchecked(col(&t, 0))?;
            let r = rows(&t);
            pathwise(&c, noise, |z| z.reshape([r]))
        });
        assert!(report.passed(), "k = {df}\n{report}");
    }
    // E[ln z] = ψ(k/2) + ln 2: ∂/∂k = ψ′(k/2)/2 (z is representable here)
    let df = 6.0;
    let report = check(
        &[df],
        &[0.5 * reference::trigamma(0.5 * df)],
        43,
        |t, noise| {
            let c = Chi2::new_unchecked(col(&t, 0))?;
            let r = rows(&t);
            pathwise(&c, noise, |z| z.log().reshape([r]))
        },
    );
    assert!(report.passed(), "{report}");
}

#[test]
fn beta_mean_gradient_is_exact() {
    for (k, &(a, b)) in [
        (0.05, 0.3),
        (1.0, 1.0),
        (2.0, 3.0),
        (0.5, 40.0),
        (60.0, 15.0),
    ]
    .iter()
    .enumerate()
    {
        let s = a + b;
        let exact = [b / (s * s), -a / (s * s)];
        let report = check(&[a, b], &exact, 50 + k as u64, |t, noise| {
            let d = Beta::new_unchecked(col(&t, 0), col(&t, 1))?;
            let r = rows(&t);
            pathwise(&d, noise, |z| z.reshape([r]))
        });
        assert!(report.passed(), "(a, b) = ({a}, {b})\n{report}");
    }
}

const WEIGHTS: [f64; 3] = [1.0, -2.0, 0.5];

/// `∇_j E[w·z] = (w_j α₀ − w·α)/α₀²`.
fn dirichlet_exact(alpha: &[f64]) -> Vec<f64> {
    let total: f64 = alpha.iter().sum();
    let wa: f64 = alpha.iter().zip(WEIGHTS).map(|(a, w)| a * w).sum();
    WEIGHTS
        .iter()
        .map(|w| (w * total - wa) / (total * total))
        .collect()
}

fn weighted_sum(z: Tensor<2>) -> Tensor<1> {
    let r = z.dims()[0];
    let w = Tensor::<2>::from_floats([WEIGHTS.map(|w| w as f32)], &z.device());
    (z * w).sum_dim(1).reshape([r])
}

#[test]
fn dirichlet_mean_jacobian_is_exact() {
    for (k, alpha) in [[0.3, 1.0, 2.5], [0.02, 0.05, 0.1], [20.0, 5.0, 50.0]]
        .iter()
        .enumerate()
    {
        let exact = dirichlet_exact(alpha);
        let report = check(alpha, &exact, 60 + k as u64, |t, noise| {
            let d = Dirichlet::new_unchecked(t)?;
            pathwise(&d, noise, weighted_sum)
        });
        assert!(report.passed(), "α = {alpha:?}\n{report}");
    }
}

/// The log-space sample (`Dirichlet::log_rsample`) is unbiased for `∇E[ln z_k]`:
/// `E[ln z_i] = ψ(α_i) − ψ(α₀)`, so `∂/∂α_j = ψ′(α_i)δ_ij − ψ′(α₀)`.
#[test]
fn dirichlet_log_sample_gradient_is_exact() {
    let alpha = [0.05, 0.4, 3.0];
    let total: f64 = alpha.iter().sum();
    let exact: Vec<f64> = (0..3)
        .map(|j| if j == 0 { reference::trigamma(alpha[0]) } else { 0.0 } - reference::trigamma(total))
        .collect();
    let report = check(&alpha, &exact, 64, |t, noise| {
        let d = Dirichlet::new_unchecked(t.clone())?;
        let r = rows(&t);
        Ok(d.log_rsample(noise).slice([0..r, 0..1]).reshape([r]))
    });
    assert!(report.passed(), "{report}");
}

#[test]
fn von_mises_concentration_gradient_is_exact() {
    let mu = 0.4;
    for (k, &kappa) in [1e-2, 0.5, 2.0, 10.0, 100.0, 1e3].iter().enumerate() {
        let (_, da) = reference::bessel_ratio(kappa);
        let report = check(&[kappa], &[da], 70 + k as u64, |t, noise| {
            let r = rows(&t);
            let loc = Tensor::<2>::full([r, 1], mu, &t.device());
            let d = VonMises::new_unchecked(loc, col(&t, 0))?;
            pathwise(&d, noise, |z| (z - mu).cos().reshape([r]))
        });
        assert!(report.passed(), "κ = {kappa}\n{report}");
    }
}

#[test]
fn von_mises_location_and_concentration_gradients_are_exact() {
    for (k, &(mu, kappa)) in [(0.4f64, 1e-2), (-1.2, 3.0), (2.5, 300.0)]
        .iter()
        .enumerate()
    {
        // E[cos z] = A(κ) cos μ
        let (a, da) = reference::bessel_ratio(kappa);
        let exact = [-a * mu.sin(), da * mu.cos()];
        let report = check(&[mu, kappa], &exact, 80 + k as u64, |t, noise| {
            let d = VonMises::new_unchecked(col(&t, 0), col(&t, 1))?;
            let r = rows(&t);
            pathwise(&d, noise, |z| z.cos().reshape([r]))
        });
        assert!(report.passed(), "(μ, κ) = ({mu}, {kappa})\n{report}");
    }
}

#[test]
fn student_t_gradients_are_exact_for_the_second_moment() {
    for (k, &(nu, mu, sigma)) in [(9.0, 0.5, 1.5), (30.0, -1.0, 0.7)].iter().enumerate() {
        let exact = [
            -2.0 * sigma * sigma / ((nu - 2.0) * (nu - 2.0)),
            2.0 * mu,
            2.0 * sigma * nu / (nu - 2.0),
        ];
        let report = check(&[nu, mu, sigma], &exact, 90 + k as u64, |t, noise| {
            let d = StudentT::new_unchecked(col(&t, 0), col(&t, 1), col(&t, 2))?;
            let r = rows(&t);
            pathwise(&d, noise, |z| z.square().reshape([r]))
        });
        assert!(
            report.passed(),
            "(ν, μ, σ) = ({nu}, {mu}, {sigma})\n{report}"
        );
    }
}

/// `f(z) = exp(−(z − 1)²/4)`: bounded with light tails, so `E[f]` exists for every ν.
fn bump(z: Tensor<2>) -> Tensor<1> {
    let r = z.dims()[0];
    (z.sub_scalar(1.0).square().mul_scalar(-0.25))
        .exp()
        .reshape([r])
}

#[test]
fn student_t_heavy_tails_against_quadrature() {
    for (k, &(nu, mu, sigma)) in [(0.7, 0.3, 1.2), (3.0, -0.5, 0.8)].iter().enumerate() {
        let (x, w) = simpson_rule(-40.0, 42.0, 16_000);
        let exact = exact_gradient(&common::device(), &[nu, mu, sigma], |t| {
            let d = StudentT::new_unchecked(col(&t, 0), col(&t, 1), col(&t, 2))?;
            density_quadrature(&d, &x, &w, bump)
        })
        .unwrap();
        let report = check(&[nu, mu, sigma], &exact, 95 + k as u64, |t, noise| {
            let d = StudentT::new_unchecked(col(&t, 0), col(&t, 1), col(&t, 2))?;
            pathwise(&d, noise, bump)
        });
        assert!(
            report.passed(),
            "(ν, μ, σ) = ({nu}, {mu}, {sigma})\n{report}"
        );
    }
}

/// `rsample_with_noise` of the two-noise families (Beta, Student-t) is unbiased too.
#[test]
fn two_gamma_quantile_transforms_are_unbiased() {
    let (a, b) = (0.8, 2.5);
    let s = a + b;
    let report = check(&[a, b], &[b / (s * s), -a / (s * s)], 101, |t, noise| {
        let d = Beta::new_unchecked(col(&t, 0), col(&t, 1))?;
        let r = rows(&t);
        let eps = d.draw_noise(noise);
        Ok(d.rsample_with_noise(eps)?.reshape([r]))
    });
    assert!(report.passed(), "{report}");
    let (nu, mu, sigma) = (12.0, 0.2, 1.1);
    let exact = [
        -2.0 * sigma * sigma / ((nu - 2.0) * (nu - 2.0)),
        2.0 * mu,
        2.0 * sigma * nu / (nu - 2.0),
    ];
    let report = check(&[nu, mu, sigma], &exact, 102, |t, noise| {
        let d = StudentT::new_unchecked(col(&t, 0), col(&t, 1), col(&t, 2))?;
        let r = rows(&t);
        let eps = d.draw_noise(noise);
        Ok(d.rsample_with_noise(eps)?.square().reshape([r]))
    });
    assert!(report.passed(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Negative controls: the same checks flag deliberately wrong gradients.
// ---------------------------------------------------------------------------------------------

/// The "explicit" gradient `∂ln z/∂α = 1/α` (the scaling part only, without the implicit
/// correction) is biased for `E[ln z]`: its mean is `1/α`, not `ψ′(α)`.
#[test]
fn negative_control_gradient_without_the_implicit_term_is_flagged() {
    let alpha = 2.0;
    let report = check(&[alpha], &[reference::trigamma(alpha)], 120, |t, noise| {
        let a = col(&t, 0);
        let g = Gamma::new_unchecked(a.clone(), a.ones_like())?;
        let r = rows(&t);
        let ln_z = g.log_rsample(noise).detach();
        Ok((ln_z + (a.clone() - a.clone().detach()) / a.detach()).reshape([r]))
    });
    assert!(!report.passed(), "a biased gradient passed:\n{report}");
}

/// The Gaussian-limit gradient `∂ξ/∂κ = −ξ/(2κ)` is biased at moderate κ.
#[test]
fn negative_control_gaussian_approximation_is_flagged() {
    let kappa = 2.0;
    let (_, da) = reference::bessel_ratio(kappa);
    let report = check(&[kappa], &[da], 121, |t, noise| {
        let k = col(&t, 0);
        let r = rows(&t);
        let d = VonMises::new_unchecked(k.zeros_like(), k.clone())?;
        let xi = d.rsample(noise).detach();
        let wrong =
            xi.clone() + (k.clone() - k.clone().detach()) * xi.neg() / k.detach().mul_scalar(2.0);
        Ok(wrong.cos().reshape([r]))
    });
    assert!(!report.passed(), "a biased gradient passed:\n{report}");
}

/// Sampling with the first concentration 10% too large is flagged by the Dirichlet check. (A
/// common scale factor would not do: it leaves the mean, and nearly its Jacobian, unchanged.)
#[test]
fn negative_control_wrong_concentration_is_flagged() {
    let alpha = [0.3, 1.0, 2.5];
    let exact = dirichlet_exact(&alpha);
    let report = check(&alpha, &exact, 122, |t, noise| {
        let skew = Tensor::<2>::from_floats([[1.1, 1.0, 1.0]], &t.device());
        let d = Dirichlet::new_unchecked(t * skew)?;
        pathwise(&d, noise, weighted_sum)
    });
    assert!(!report.passed(), "a biased gradient passed:\n{report}");
}

/// Dropping the path through `b` (a detached parameter) is flagged, and only in `b`.
#[test]
fn negative_control_dropped_path_is_flagged() {
    let (a, b) = (2.0, 3.0);
    let s = a + b;
    let report = check(&[a, b], &[b / (s * s), -a / (s * s)], 123, |t, noise| {
        let d = Beta::new_unchecked(col(&t, 0), col(&t, 1).detach())?;
        let r = rows(&t);
        pathwise(&d, noise, |z| z.reshape([r]))
    });
    assert!(!report.passed(), "a biased gradient passed:\n{report}");
    assert!(report.parameters[0].z.abs() < report.critical_z);
    assert!(report.parameters[1].z.abs() > report.critical_z);
}

/// The samples are draws of the right family: the value shapes and the device agree.
#[test]
fn implicit_families_report_their_shapes() {
    let device = common::device();
    let d = Dirichlet::new(Tensor::<3>::ones([2, 3, 4], &device)).unwrap();
    assert_eq!(d.batch_shape(), vec![2, 3]);
    assert_eq!(d.event_shape(), vec![4]);
    let b = Beta::new(
        Tensor::<2>::ones([5, 1], &device),
        Tensor::<2>::ones([1, 3], &device),
    )
    .unwrap();
    assert_eq!(b.value_shape(), [5, 3]);
    assert_eq!(b.noise_shape(), [5, 6]);
}
