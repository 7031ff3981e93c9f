//! The numerics grid of the low-bias straight-through estimators (ReinMax, Gumbel-Rao,
//! decoupled ST): for logits from −1e4 to 1e4, beyond (±1e30 and ±3e38, which the categorical
//! normalizes, one class then at −∞) and impossible classes (−∞), and temperatures from 1e-3
//! to 1e3, every forward value is exactly one-hot (or 0/1), and every cost and every gradient
//! is finite.
//!
//! Deterministic (fixed seeds): it holds or it does not. It catches, for instance, `−∞ − (−∞)`
//! in the tangent of an impossible class (ReinMax without its clamp of the log-probabilities
//! fails `reinmax_stays_finite`), or a forward value that is not exactly the draw. The
//! accuracy of Gumbel-Rao's truncated Gumbels, which would stay finite even if computed in
//! linear space, is a unit test beside the estimator
//! (`conditional_draws_are_truncated_gumbels_below_the_maximum`).

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, OneHotCategorical};
use mcgrad::estimators::{DecoupledStraightThrough, Estimator, GumbelRao, ReinMax};

/// The grid (±1e4 and between) and beyond it (±1e30, ±3e38).
const VALUES: [f32; 11] = [
    -3e38, -1e30, -1e4, -100.0, -10.0, 0.0, 10.0, 100.0, 1e4, 1e30, 3e38,
];
const TEMPERATURES: [f64; 7] = [1e-3, 1e-2, 0.1, 0.5, 1.0, 10.0, 1e3];

fn finite(what: &str, v: &[f32]) {
    assert!(
        v.iter().all(|x| x.is_finite()),
        "{what}: non-finite value among {:?}",
        &v[..v.len().min(12)]
    );
}

/// Every triple of `values` as rows of logits `[rows, 3]`, plus rows with impossible classes.
fn triples(values: &[f32], device: &Device) -> Tensor<2> {
    let mut v = Vec::new();
    for &a in values {
        for &b in values {
            for &c in values {
                v.extend([a, b, c]);
            }
        }
    }
    v.extend([
        0.0,
        f32::NEG_INFINITY,
        5.0,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
        -1e4,
    ]);
    common::matrix(v.len() / 3, 3, v, device)
}

/// Runs an estimator on the categorical grid and checks values, costs and gradients.
fn categorical<E>(name: &str, mut estimator: E, values: &[f32])
where
    E: Estimator<2, OneHotCategorical<2>, Sample = Tensor<2>>,
{
    let device = common::device().autodiff();
    let logits = triples(values, &device).require_grad();
    let rows = logits.dims()[0];
    let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
    let w = Tensor::<2>::from_floats([[1.5], [-2.0], [0.5]], &device);
    let n = 2;
    let est = estimator
        .estimate(&q, n, &mut NoiseSource::seed_from_u64(7), |y| {
            let s = y.matmul(w).reshape([n * rows]);
            s.clone() + s.square()
        })
        .unwrap();
    let y = est
        .samples
        .clone()
        .inner()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert!(
        y.iter().all(|&x| x == 0.0 || x == 1.0),
        "{name}: a forward value is not exactly 0 or 1"
    );
    for row in y.chunks(3) {
        assert_eq!(row.iter().sum::<f32>(), 1.0, "{name}: not one-hot: {row:?}");
    }
    // an impossible class is never drawn
    let last = rows - 2;
    for i in 0..n {
        for r in [last, last + 1] {
            let row = &y[(i * rows + r) * 3..(i * rows + r) * 3 + 3];
            assert!(row[1] == 0.0, "{name}: drew an impossible class: {row:?}");
        }
    }
    finite(
        &format!("{name}: costs"),
        &est.costs.clone().try_into_vec_as::<f32>().unwrap(),
    );
    let g = logits.grad(&est.loss().backward()).unwrap();
    finite(
        &format!("{name}: gradient"),
        &g.try_into_vec_as::<f32>().unwrap(),
    );
}

fn bernoulli<E>(name: &str, mut estimator: E, values: &[f32])
where
    E: Estimator<2, Bernoulli<2>, Sample = Tensor<2>>,
{
    let device = common::device().autodiff();
    let k = values.len();
    let logits = common::matrix(1, k, values.to_vec(), &device).require_grad();
    let b = Bernoulli::from_logits(logits.clone()).unwrap();
    let n = 16;
    let est = estimator
        .estimate(&b, n, &mut NoiseSource::seed_from_u64(8), |x| {
            let s = x.sum_dim(1).reshape([n]);
            s.clone() * 0.5 + s.square()
        })
        .unwrap();
    let x = est
        .samples
        .clone()
        .inner()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert!(x.iter().all(|&v| v == 0.0 || v == 1.0), "{name}: not 0/1");
    finite(
        &format!("{name}: costs"),
        &est.costs.clone().try_into_vec_as::<f32>().unwrap(),
    );
    let g = logits.grad(&est.loss().backward()).unwrap();
    finite(
        &format!("{name}: gradient"),
        &g.try_into_vec_as::<f32>().unwrap(),
    );
}

#[test]
fn reinmax_stays_finite() {
    for tau in TEMPERATURES {
        let est = ReinMax::new(tau).unwrap();
        categorical(&format!("ReinMax τ = {tau}"), est, &VALUES);
        bernoulli(&format!("ReinMax τ = {tau}"), est, &VALUES);
    }
}

#[test]
fn gumbel_rao_stays_finite() {
    for tau in TEMPERATURES {
        let est = GumbelRao::new(tau, 5).unwrap();
        categorical(&format!("Gumbel-Rao τ = {tau}"), est, &VALUES);
        bernoulli(&format!("Gumbel-Rao τ = {tau}"), est, &VALUES);
    }
}

#[test]
fn decoupled_straight_through_stays_finite() {
    for tau in TEMPERATURES {
        for (tf, tb) in [(tau, tau), (1.0, tau), (tau, 1.0), (tau, 1.0 / tau)] {
            let est = DecoupledStraightThrough::new(tf, tb).unwrap();
            categorical(&format!("decoupled ST ({tf}, {tb})"), est, &VALUES);
            bernoulli(&format!("decoupled ST ({tf}, {tb})"), est, &VALUES);
        }
    }
}

/// One draw of each row of `logits` and the gradient of the cost `Σ_k y_k` (1 for every
/// one-hot draw, so its exact gradient is zero).
fn draw_and_gradient<E>(mut estimator: E, logits: &Tensor<2>) -> (Vec<f32>, Vec<f32>)
where
    E: Estimator<2, OneHotCategorical<2>, Sample = Tensor<2>>,
{
    let logits = logits.clone().require_grad();
    let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
    let rows = logits.dims()[0];
    let est = estimator
        .estimate(&q, 1, &mut NoiseSource::seed_from_u64(1), |y| {
            y.sum_dim(1).reshape([rows])
        })
        .unwrap();
    let y = est
        .samples
        .clone()
        .inner()
        .try_into_vec_as::<f32>()
        .unwrap();
    let g = logits.grad(&est.loss().backward()).unwrap();
    (y, g.try_into_vec_as::<f32>().unwrap())
}

/// At logits ±1e4 the draw is the larger class, and the gradient of a cost that is the same
/// for every class is zero.
#[test]
fn saturated_logits_draw_the_larger_class() {
    let device = common::device().autodiff();
    let logits = Tensor::<2>::from_floats([[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]], &device);
    for tau in [1e-3, 1.0, 1e3] {
        for (name, (y, g)) in [
            (
                "ReinMax",
                draw_and_gradient(ReinMax::new(tau).unwrap(), &logits),
            ),
            (
                "Gumbel-Rao",
                draw_and_gradient(GumbelRao::new(tau, 4).unwrap(), &logits),
            ),
            (
                "decoupled ST",
                draw_and_gradient(DecoupledStraightThrough::new(1.0, tau).unwrap(), &logits),
            ),
        ] {
            assert_eq!(y, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0], "{name} τ = {tau}");
            assert!(g.iter().all(|x| x.abs() < 1e-6), "{name} τ = {tau}: {g:?}");
        }
    }
}
