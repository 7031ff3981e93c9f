//! The relaxations on *raw* logits never produce NaN: `gumbel_softmax` (soft and hard),
//! `RelaxedOneHotCategorical` and `RelaxedBernoulli`, for finite logits up to `±f32::MAX` and
//! any temperature `τ > 0` (from 1e-45, below `1/f32::MAX`, to 1e300, above `f32::MAX`), with
//! drawn noise and noise at both ends of its range. Samples are finite and on the simplex
//! (resp. in `[0, 1]`), log-densities at samples are never NaN (and finite up to τ = 1e3),
//! their gradients are never NaN up to τ = 1e30 (beyond, the density varies on scales below
//! `f32` resolution), and the gradients of a linear cost through the samples, the estimators'
//! path, are finite at every τ. Deterministic (fixed seeds).
//!
//! The relaxation is invariant to a shift of the logits, so a row far beyond `f32` after
//! division by τ must give what its shifted version gives: the one-hot vector of the largest
//! perturbed logit, checked here against the argmax.
//!
//! The code before this file gave NaN samples once `|ℓ|/τ` left `f32` (for instance
//! `gumbel_softmax([1e30, −1e30, 0], τ = 1e-10)`), NaN log-densities for logits of 3e38, and
//! NaN gradients with a `−∞` logit in the relaxed categorical.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Distribution, RelaxedBernoulli, RelaxedOneHotCategorical, Reparameterized,
};
use mcgrad::estimators::gumbel_softmax;
use mcgrad::{NoiseSource, StandardNoise};

const LOGITS: [f32; 9] = [
    -f32::MAX,
    -1e30,
    -1e4,
    -1.0,
    0.0,
    1e-3,
    1e10,
    1e30,
    f32::MAX,
];
const TEMPERATURES: [f64; 9] = [1e-45, 1e-30, 1e-10, 1e-3, 0.5, 1.0, 1e3, 1e30, 1e300];

fn no_nan(what: &str, v: &[f64]) {
    assert!(v.iter().all(|x| !x.is_nan()), "{what}: NaN among {v:?}");
}

fn all_finite(what: &str, v: &[f64]) {
    assert!(v.iter().all(|x| x.is_finite()), "{what}: {v:?}");
}

/// Rows `[a, b, c]` over the grid (every pair for `a, b`, `c` cycling), plus a row with an
/// impossible class: `[n, 3]`.
fn rows() -> Vec<[f32; 3]> {
    let mut v = Vec::new();
    for (i, &a) in LOGITS.iter().enumerate() {
        for &b in &LOGITS {
            v.push([a, b, LOGITS[(i * 4) % LOGITS.len()]]);
        }
    }
    v.push([0.0, f32::NEG_INFINITY, 1.0]);
    v.push([f32::MAX, f32::NEG_INFINITY, -f32::MAX]);
    v
}

fn matrix(rows: &[[f32; 3]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([rows.len(), 3])
}

#[test]
fn relaxed_one_hot_categorical_on_raw_logits_is_never_nan() {
    let device = common::device().autodiff();
    let rows = rows();
    let n = rows.len();
    let w = Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device);
    let (g_low, g_high) = StandardNoise::Gumbel.bounds();
    let mut noise = NoiseSource::seed_from_u64(0);
    for tau in TEMPERATURES {
        let logits = matrix(&rows, &device).require_grad();
        let d = RelaxedOneHotCategorical::new(logits.clone(), tau).unwrap();
        let edge: Vec<f32> = (0..n * 3)
            .map(|i| if (i / 3 + i) % 2 == 0 { g_low } else { g_high })
            .collect();
        let edge = Tensor::<1>::from_floats(edge.as_slice(), &device).reshape([n, 3]);
        for (name, g) in [("drawn", d.draw_noise(&mut noise)), ("edge", edge)] {
            let what = format!("τ = {tau:e}, {name} noise");
            let y = d.rsample_with_noise(g.clone()).unwrap();
            let log_y = d.rsample_log_with_noise(g.clone()).unwrap();
            let yv = common::values(y.clone());
            all_finite(&format!("{what}: y"), &yv);
            all_finite(&format!("{what}: ln y"), &common::values(log_y.clone()));
            for (r, row) in yv.chunks(3).enumerate() {
                let sum: f64 = row.iter().sum();
                assert!(
                    row.iter().all(|y| (0.0..=1.0).contains(y)) && (sum - 1.0).abs() < 1e-5,
                    "{what}: row {r} {:?} gives {row:?}",
                    rows[r]
                );
            }
            let lp = d.log_prob(&y).unwrap();
            let lp_log = d.log_prob_from_log(&log_y).unwrap();
            no_nan(&format!("{what}: log_prob"), &common::values(lp.clone()));
            no_nan(
                &format!("{what}: log_prob_from_log"),
                &common::values(lp_log.clone()),
            );
            // the gradient of a linear cost through the sample is finite
            let grads = (y * w.clone()).sum().backward();
            all_finite(
                &format!("{what}: gradient through y"),
                &common::values(logits.grad(&grads).unwrap()),
            );
            // the gradients of the log-densities are never NaN, up to τ = 1e30 (beyond, the
            // density varies on scales below f32 resolution and τ·∂ln y overflows)
            if tau > 1e30 {
                continue;
            }
            let d2 = RelaxedOneHotCategorical::new(logits.clone(), tau).unwrap();
            let y2 = d2.rsample_with_noise(g.clone()).unwrap();
            let log_y2 = d2.rsample_log_with_noise(g).unwrap();
            let loss =
                d2.log_prob(&y2).unwrap().sum() + d2.log_prob_from_log(&log_y2).unwrap().sum();
            no_nan(
                &format!("{what}: gradient of the log-densities"),
                &common::values(logits.grad(&loss.backward()).unwrap()),
            );
        }
    }
}

/// Shift invariance made true numerically: where `(ℓ + g)/τ` leaves `f32`, the sample is the
/// one-hot vector of the largest perturbed logit, as for the shifted logits.
#[test]
fn huge_tempered_logits_give_the_gumbel_max_one_hot_vector() {
    let device = common::device();
    let logits = Tensor::<2>::from_floats(
        [
            [1e30, -1e30, 0.0],
            [0.0, 3e38, -3e38],
            [5.0, 7.0, f32::NEG_INFINITY],
        ],
        &device,
    );
    for tau in [1e-45, 1e-30, 1e-20] {
        let g = NoiseSource::seed_from_u64(4).tensor(StandardNoise::Gumbel, [3, 3], &device);
        let d = RelaxedOneHotCategorical::new(logits.clone(), tau).unwrap();
        let y = common::values(d.rsample_with_noise(g.clone()).unwrap());
        let winner = common::values((logits.clone() + g).argmax(1).float());
        for r in 0..3 {
            for k in 0..3 {
                let want = if k as f64 == winner[r] { 1.0 } else { 0.0 };
                assert_eq!(
                    y[3 * r + k],
                    want,
                    "τ = {tau:e}, row {r}: {:?}",
                    &y[3 * r..3 * r + 3]
                );
            }
        }
    }
}

#[test]
fn gumbel_softmax_on_raw_logits_is_never_nan() {
    let device = common::device().autodiff();
    let rows = rows();
    let w = Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device);
    let mut noise = NoiseSource::seed_from_u64(1);
    for tau in TEMPERATURES {
        for hard in [false, true] {
            let what = format!("τ = {tau:e}, hard = {hard}");
            let logits = matrix(&rows, &device).require_grad();
            let y = gumbel_softmax(logits.clone(), tau, hard, &mut noise).unwrap();
            let v = common::values(y.clone());
            all_finite(&format!("{what}: y"), &v);
            if hard {
                for row in v.chunks(3) {
                    assert_eq!(
                        row.iter().filter(|&&x| x == 1.0).count(),
                        1,
                        "{what}: {row:?}"
                    );
                    assert_eq!(
                        row.iter().filter(|&&x| x == 0.0).count(),
                        2,
                        "{what}: {row:?}"
                    );
                }
            }
            let grads = (y * w.clone()).sum().backward();
            all_finite(
                &format!("{what}: gradient"),
                &common::values(logits.grad(&grads).unwrap()),
            );
        }
    }
}

#[test]
fn relaxed_bernoulli_on_raw_logits_is_never_nan() {
    let device = common::device().autodiff();
    let (l_low, l_high) = StandardNoise::Logistic.bounds();
    let mut noise = NoiseSource::seed_from_u64(2);
    for tau in TEMPERATURES {
        let n = LOGITS.len();
        let logits = Tensor::<1>::from_floats(LOGITS, &device)
            .reshape([n, 1])
            .require_grad();
        let d = RelaxedBernoulli::new(logits.clone(), tau).unwrap();
        let edge: Vec<f32> = (0..n)
            .map(|i| if i % 2 == 0 { l_low } else { l_high })
            .collect();
        let edge = Tensor::<1>::from_floats(edge.as_slice(), &device).reshape([n, 1]);
        for (name, eps) in [("drawn", d.draw_noise(&mut noise)), ("edge", edge)] {
            let what = format!("τ = {tau:e}, {name} noise");
            let y = d.rsample_with_noise(eps).unwrap();
            let yv = common::values(y.clone());
            assert!(
                yv.iter().all(|y| (0.0..=1.0).contains(y)),
                "{what}: y {yv:?}"
            );
            let lp = d.log_prob(&y).unwrap();
            let lpv = common::values(lp.clone());
            no_nan(&format!("{what}: log_prob"), &lpv);
            // finite at moderate τ; at τ ≥ 1e30 the density at an f32 sample can be 0
            if tau <= 1e3 {
                all_finite(&format!("{what}: log_prob"), &lpv);
            }
            let x = d.rsample_logit(&mut noise);
            all_finite(&format!("{what}: logit sample"), &common::values(x.clone()));
            let lp_logit = d.log_prob_logit(&x).unwrap();
            no_nan(
                &format!("{what}: log_prob_logit"),
                &common::values(lp_logit.clone()),
            );
            let grads = (lp.sum() + lp_logit.sum()).backward();
            no_nan(
                &format!("{what}: gradient of the log-densities"),
                &common::values(logits.grad(&grads).unwrap()),
            );
            let y = d.rsample_with_noise(d.draw_noise(&mut noise)).unwrap();
            let grads = y.sum().backward();
            all_finite(
                &format!("{what}: gradient through y"),
                &common::values(logits.grad(&grads).unwrap()),
            );
        }
    }
}
