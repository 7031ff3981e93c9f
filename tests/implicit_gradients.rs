//! The implicit derivatives `∂z/∂θ = −(∂F(z; θ)/∂θ)/p(z; θ)` that the library attaches to
//! Gamma and von Mises samples, against central finite differences of distribution functions
//! computed independently here (`implicit_common`: quadrature of the density), on a grid of
//! parameters and quantile levels. Deterministic: no randomness, no false-failure rate.
//!
//! The library's derivative goes through the public path: the quantile transform
//! (`rsample_with_noise`, `Gamma::log_rsample_with_noise`) at a level `u`, then autodiff of the
//! sample with respect to the tracked parameter. The reference is
//! `−[F(z; θ + h) − F(z; θ − h)]/(2h) / p(z; θ)` with `h = 1e-4·min(θ, √θ)` (the scale on
//! which `F` varies in θ at fixed `z`: truncation below 1e-7 relative) and `F` by 8-point
//! Gauss–Legendre quadrature to about 1e-13. The library receives `f32` parameters and noise;
//! the reference is evaluated at those rounded values.
//!
//! Tolerance: 1e-4 relative. The library's own error (f64 series, continued fraction and
//! asymptotic expansions) is below 1e-5 (see `special/incomplete_gamma.rs`); what remains is the
//! `f32` rounding of the sample and its gradient (about 1e-7). Each test prints the worst error
//! it saw (`--nocapture`). The negative control perturbs the reference parameter by 1% and must
//! fail the same check.

mod common;
mod implicit_common;

use burn::prelude::*;
use burn::tensor::TensorData;
use implicit_common as reference;
use mcgrad::distributions::{Gamma, Reparameterized, VonMises};

const TOLERANCE: f64 = 1e-4;

fn column(values: &[f64], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len(), 1]), device)
}

/// `(ln z, ∂ln z/∂α)` from the library at each `(α, u)`, rate 1.
fn library_gamma(points: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let device = common::device().autodiff();
    let alpha = column(&points.iter().map(|p| p.0).collect::<Vec<_>>(), &device).require_grad();
    let u = column(&points.iter().map(|p| p.1).collect::<Vec<_>>(), &device);
    let gamma = Gamma::new(alpha.clone(), Tensor::ones([points.len(), 1], &device)).unwrap();
    let ln_z = gamma.log_rsample_with_noise(u).unwrap();
    let grads = ln_z.clone().sum().backward();
    let g = alpha.grad(&grads).unwrap();
    (common::values(ln_z.inner()), common::values(g))
}

/// `∂ln z/∂α = −(∂P(α, z)/∂α) / (z p(z))` with the central difference of the reference `P`
/// (or `−Q`, whichever is computed directly).
fn reference_gamma(alpha: f64, ln_z: f64) -> f64 {
    let z = ln_z.exp();
    // F varies in α on the scale min(α, √α) at fixed z
    let h = 1e-4 * alpha.min(alpha.sqrt());
    let below_mode = ln_z <= alpha.ln();
    let f = |a: f64| {
        let (p, q) = reference::gamma_cdf_ln(a, ln_z);
        if below_mode { p } else { -q }
    };
    let dp = (f(alpha + h) - f(alpha - h)) / (2.0 * h);
    // z p(z) = exp(α ln z − z − ln Γ(α))
    -dp / (alpha * ln_z - z - reference::ln_gamma(alpha)).exp()
}

const GAMMA_SHAPES: [f64; 14] = [
    1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0, 3.9, 4.0, 4.1, 10.0, 100.0, 1e3, 5e3, 1e4,
];
const LEVELS: [f64; 9] = [1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0 - 1e-4];

fn gamma_points() -> Vec<(f64, f64)> {
    GAMMA_SHAPES
        .iter()
        .flat_map(|&a| LEVELS.iter().map(move |&u| (a, u)))
        .collect()
}

/// The worst relative error over the grid, with the offending point.
fn worst(points: &[(f64, f64)], got: &[f64], want: &[f64]) -> (f64, (f64, f64)) {
    points
        .iter()
        .zip(got.iter().zip(want))
        .map(|(p, (g, w))| ((g - w).abs() / w.abs(), *p))
        .fold(
            (0.0, (0.0, 0.0)),
            |acc, x| if x.0 > acc.0 { x } else { acc },
        )
}

#[test]
fn gamma_implicit_derivative_matches_the_cdf_difference() {
    let points = gamma_points();
    let (ln_z, got) = library_gamma(&points);
    let want: Vec<f64> = points
        .iter()
        .zip(&ln_z)
        .map(|(&(a, _), &l)| reference_gamma(a as f32 as f64, l))
        .collect();
    // the samples are the quantiles: F(z) = u, up to the f32 rounding of ln z (which moves F by
    // z p(z) · δln z, |δln z| ≤ 6e-8 |ln z|)
    for (&(a, u), &l) in points.iter().zip(&ln_z) {
        // the noise is f32: the level the library inverted is u rounded to f32
        let (a, u) = (a as f32 as f64, u as f32 as f64);
        let (p, q) = reference::gamma_cdf_ln(a, l);
        let err = if u <= 0.5 { p - u } else { (1.0 - u) - q };
        let zp = (a * l - l.exp() - reference::ln_gamma(a)).exp();
        assert!(
            err.abs() <= 1.2e-7 * zp * l.abs() + 1e-9,
            "α = {a}, u = {u}: F(z) − u = {err}"
        );
    }
    let (rel, at) = worst(&points, &got, &want);
    eprintln!(
        "Gamma ∂ln z/∂α vs finite difference of the CDF, α ∈ [1e-3, 1e4], u ∈ [1e-4, 1 − 1e-4]: \
         worst relative error {rel:.2e} at (α, u) = {at:?}"
    );
    assert!(rel < TOLERANCE, "worst relative error {rel} at {at:?}");
}

/// The same through `rsample_with_noise` (the sample itself, not its logarithm) where it is
/// representable in `f32`, and with a rate: `∂z/∂α = z ∂ln z/∂α`, `∂z/∂β = −z/β`.
#[test]
fn gamma_sample_gradients_through_rsample_with_noise() {
    let points: Vec<(f64, f64)> = gamma_points().into_iter().filter(|p| p.0 >= 0.5).collect();
    let device = common::device().autodiff();
    let n = points.len();
    let alpha = column(&points.iter().map(|p| p.0).collect::<Vec<_>>(), &device).require_grad();
    let rate = Tensor::<2>::full([n, 1], 2.5, &device).require_grad();
    let u = column(&points.iter().map(|p| p.1).collect::<Vec<_>>(), &device);
    let z = Gamma::new(alpha.clone(), rate.clone())
        .unwrap()
        .rsample_with_noise(u)
        .unwrap();
    let grads = z.clone().sum().backward();
    let ga = common::values(alpha.grad(&grads).unwrap());
    let gr = common::values(rate.grad(&grads).unwrap());
    let z = common::values(z.inner());
    let mut worst_rel = 0.0f64;
    for (k, &(a, _)) in points.iter().enumerate() {
        let standard = z[k] * 2.5;
        let want = z[k] * reference_gamma(a as f32 as f64, standard.ln());
        let rel = (ga[k] - want).abs() / want.abs();
        worst_rel = worst_rel.max(rel);
        assert!(
            rel < TOLERANCE,
            "α = {a}, u = {}: ∂z/∂α = {} vs {want}",
            points[k].1,
            ga[k]
        );
        assert!(
            (gr[k] + z[k] / 2.5).abs() <= 1e-6 * z[k],
            "∂z/∂β at α = {a}"
        );
    }
    eprintln!("Gamma ∂z/∂α through rsample_with_noise: worst relative error {worst_rel:.2e}");
}

const KAPPAS: [f64; 11] = [1e-3, 1e-2, 0.1, 1.0, 5.0, 20.0, 49.0, 51.0, 200.0, 1e3, 2e3];
const VM_LEVELS: [f64; 8] = [1e-3, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.999];

/// `(ξ, ∂ξ/∂κ)` from the library at each `(κ, u)`, location 0.
fn library_von_mises(points: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let device = common::device().autodiff();
    let kappa = column(&points.iter().map(|p| p.0).collect::<Vec<_>>(), &device).require_grad();
    let u = column(&points.iter().map(|p| p.1).collect::<Vec<_>>(), &device);
    let vm = VonMises::new(Tensor::zeros([points.len(), 1], &device), kappa.clone()).unwrap();
    let xi = vm.rsample_with_noise(u).unwrap();
    let grads = xi.clone().sum().backward();
    (
        common::values(xi.inner()),
        common::values(kappa.grad(&grads).unwrap()),
    )
}

fn reference_von_mises(kappa: f64, xi: f64) -> f64 {
    let h = 1e-4 * kappa;
    let df = (reference::von_mises_cdf(kappa + h, xi) - reference::von_mises_cdf(kappa - h, xi))
        / (2.0 * h);
    let (i0e, _) = reference::scaled_bessel_pair(kappa);
    let p = (kappa * (xi.cos() - 1.0)).exp() / (2.0 * core::f64::consts::PI * i0e);
    -df / p
}

#[test]
fn von_mises_implicit_derivative_matches_the_cdf_difference() {
    let points: Vec<(f64, f64)> = KAPPAS
        .iter()
        .flat_map(|&k| VM_LEVELS.iter().map(move |&u| (k, u)))
        .collect();
    let (xi, got) = library_von_mises(&points);
    let want: Vec<f64> = points
        .iter()
        .zip(&xi)
        .map(|(&(k, _), &x)| reference_von_mises(k as f32 as f64, x))
        .collect();
    // F(ξ) = u up to the f32 rounding of ξ
    for (&(k, u), &x) in points.iter().zip(&xi) {
        let (k, u) = (k as f32 as f64, u as f32 as f64);
        let f = reference::von_mises_cdf(k, x);
        assert!((f - u).abs() < 1e-6, "κ = {k}, u = {u}: F = {f}");
    }
    let (rel, at) = worst(&points, &got, &want);
    eprintln!(
        "von Mises ∂ξ/∂κ vs finite difference of the CDF, κ ∈ [1e-3, 2e3], u ∈ [1e-3, 0.999]: \
         worst relative error {rel:.2e} at (κ, u) = {at:?}"
    );
    assert!(rel < TOLERANCE, "worst relative error {rel} at {at:?}");
}

/// Negative control: the same check against the reference at a parameter 1% off (the derivative
/// a sampler with a mis-scaled parameter would need) is flagged, for both families.
#[test]
fn negative_control_wrong_parameter_is_flagged() {
    let points: Vec<(f64, f64)> = [0.3, 5.0, 200.0]
        .iter()
        .flat_map(|&a| [0.1, 0.7].iter().map(move |&u| (a, u)))
        .collect();
    let (ln_z, got) = library_gamma(&points);
    let want: Vec<f64> = points
        .iter()
        .zip(&ln_z)
        .map(|(&(a, _), &l)| reference_gamma(1.01 * a, l))
        .collect();
    let (rel, _) = worst(&points, &got, &want);
    assert!(rel > TOLERANCE, "a 1% parameter error passed: {rel}");
    let points: Vec<(f64, f64)> = [0.5, 10.0, 300.0]
        .iter()
        .flat_map(|&k| [0.1, 0.7].iter().map(move |&u| (k, u)))
        .collect();
    let (xi, got) = library_von_mises(&points);
    let want: Vec<f64> = points
        .iter()
        .zip(&xi)
        .map(|(&(k, _), &x)| reference_von_mises(1.01 * k, x))
        .collect();
    let (rel, _) = worst(&points, &got, &want);
    assert!(rel > TOLERANCE, "a 1% parameter error passed: {rel}");
}
