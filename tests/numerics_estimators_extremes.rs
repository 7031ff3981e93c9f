//! The estimators added after the hardening of issue 9 at the ends of the `f32` range, where
//! tests/numerics_discrete_estimators.rs (logits to ±1e4, τ from 1e-3 to 10) and
//! tests/numerics_straight_through.rs (τ from 1e-3 to 1e3) stop: logits ±1e30 and ±3e38 for
//! ARM, DisARM (and its multi-sample bound), REBAR, RELAX, VIMCO and the group baselines (GRPO,
//! Dr. GRPO); temperatures from 1e-300 to 1e300, everything a constructor accepts (finite and
//! positive), for REBAR and the low-bias straight-through estimators (ReinMax, Gumbel-Rao,
//! decoupled ST); costs up to `±f32::MAX` for GRPO's standardization. Every surrogate value,
//! every gradient of the logits, and the costs, are finite.
//!
//! Before this file: ARM, DisARM and RELAX built their gradient term as `θ·g − sg(θ·g)`,
//! which overflows to `∞ − ∞ = NaN` in the surrogate's *value* once `|θ·g| > f32::MAX`
//! (logits 3e38 with cost differences of order 1); the temperature of every relaxation was
//! passed to `f32` as it was, so τ = 1e-300 became 0 (`z/0`: NaN relaxed samples and
//! gradients) and τ = 1e300 became +∞; GRPO's group mean and standard deviation overflowed
//! for costs near `f32::MAX` (NaN advantages).
//!
//! Deterministic (fixed seeds): no false-failure rate. The negative control: the product form
//! `θ·g − sg(θ·g)` that the estimators used is NaN at these logits.

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, OneHotCategorical};
use mcgrad::estimators::baselines::{DrGrpo, Grpo};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::multisample::{MultiSampleEstimator, Vimco};
use mcgrad::estimators::{
    Arm, DecoupledStraightThrough, DisArm, Estimator, GumbelRao, Rebar, RebarScale, ReinMax, Relax,
    ScoreFunction,
};

const LOGITS: [f32; 9] = [-3e38, -1e30, -1e4, -10.0, 0.0, 10.0, 1e4, 1e30, 3e38];
const TEMPERATURES: [f64; 8] = [1e-300, 1e-40, 1e-3, 1.0, 1e3, 1e30, 1e38, 1e300];

/// Every triple of the logits, `[729, 3]`.
fn triples(device: &Device) -> Tensor<2> {
    let mut v = Vec::new();
    for a in LOGITS {
        for b in LOGITS {
            for c in LOGITS {
                v.extend([a, b, c]);
            }
        }
    }
    common::matrix(v.len() / 3, 3, v, device)
}

fn all_finite<const D: usize>(what: &str, t: Tensor<D>) {
    let v = common::values(t);
    let bad = v.iter().filter(|x| !x.is_finite()).count();
    assert_eq!(bad, 0, "{what}: {bad} non-finite values among {}", v.len());
}

/// A cost of rows `[R, 3]` (bits, relaxed bits, or one-hot rows).
fn cost(y: Tensor<2>) -> Tensor<1> {
    let rows = y.dims()[0];
    let w = Tensor::<2>::from_floats([[0.3], [-1.0], [2.0]], &y.device());
    let s = y.matmul(w);
    ((s.clone() - 0.4).square() + s.sin()).reshape([rows])
}

/// Checks an estimate's value and the gradient of the logits.
fn check(what: &str, surrogate: Tensor<1>, logits: &Tensor<2>) {
    all_finite(&format!("{what}: value"), surrogate.clone().inner());
    let g = logits.grad(&surrogate.mean().backward()).unwrap();
    all_finite(&format!("{what}: gradient"), g);
}

#[test]
fn antithetic_estimators_stay_finite_at_extreme_logits() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(1);
    for n in [1, 3] {
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = Arm.estimate(&q, n, &mut noise, cost).unwrap();
        check(&format!("ARM, n = {n}"), est.surrogate, &logits);
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = DisArm.estimate(&q, n, &mut noise, cost).unwrap();
        check(&format!("DisARM, n = {n}"), est.surrogate, &logits);
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        // a multi-sample objective: the cost as a log-likelihood
        let est = DisArm
            .multi_sample_bound(&q, n.max(2), &mut noise, |y| cost(y).neg())
            .unwrap();
        check(&format!("DisARM bound, n = {n}"), est.surrogate, &logits);
    }
}

#[test]
fn rebar_stays_finite_at_extreme_logits_and_temperatures() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(2);
    for tau in TEMPERATURES {
        for scale in [RebarScale::Fixed(1.0), RebarScale::LeaveOneOut] {
            let mut rebar = Rebar::with_scale(tau, scale).unwrap();
            let what = format!("REBAR τ = {tau:e}, {scale:?}");
            let logits = triples(&device).require_grad();
            let q = Bernoulli::from_logits(logits.clone()).unwrap();
            let est = rebar.estimate(&q, 2, &mut noise, cost).unwrap();
            all_finite(
                &format!("{what}, Bernoulli samples"),
                est.samples.clone().inner(),
            );
            check(&format!("{what}, Bernoulli"), est.surrogate, &logits);
            let logits = triples(&device).require_grad();
            let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
            let est = rebar.estimate(&q, 2, &mut noise, cost).unwrap();
            all_finite(
                &format!("{what}, categorical samples"),
                est.samples.clone().inner(),
            );
            check(&format!("{what}, categorical"), est.surrogate, &logits);
        }
    }
}

#[test]
fn relax_stays_finite_at_extreme_logits() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(3);
    let mut relax = Relax::new(ControlNetwork::new(3, 8, &mut noise, &device));
    for n in [1, 4] {
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = relax.estimate(&q, n, &mut noise, cost).unwrap();
        check(&format!("RELAX Bernoulli, n = {n}"), est.surrogate, &logits);
        let logits = triples(&device).require_grad();
        let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
        let est = relax.estimate(&q, n, &mut noise, cost).unwrap();
        check(
            &format!("RELAX categorical, n = {n}"),
            est.surrogate,
            &logits,
        );
    }
}

/// The straight-through estimators at the temperatures beyond tests/numerics_straight_through.rs.
#[test]
fn straight_through_estimators_stay_finite_at_extreme_temperatures() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(4);
    for tau in TEMPERATURES {
        let run = |name: &str,
                   est: &mut dyn FnMut(&OneHotCategorical<2>, &mut NoiseSource) -> Tensor<1>,
                   noise: &mut NoiseSource| {
            let logits = triples(&device).require_grad();
            let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
            let s = est(&q, noise);
            check(&format!("{name}, τ = {tau:e}"), s, &logits);
        };
        run(
            "ReinMax",
            &mut |q, noise| {
                ReinMax::new(tau)
                    .unwrap()
                    .estimate(q, 2, noise, cost)
                    .unwrap()
                    .surrogate
            },
            &mut noise,
        );
        run(
            "Gumbel-Rao",
            &mut |q, noise| {
                GumbelRao::new(tau, 3)
                    .unwrap()
                    .estimate(q, 2, noise, cost)
                    .unwrap()
                    .surrogate
            },
            &mut noise,
        );
        for (tf, tb) in [(tau, tau), (1.0, tau), (tau, 1.0)] {
            run(
                &format!("decoupled ST ({tf:e}, {tb:e})"),
                &mut |q, noise| {
                    DecoupledStraightThrough::new(tf, tb)
                        .unwrap()
                        .estimate(q, 2, noise, cost)
                        .unwrap()
                        .surrogate
                },
                &mut noise,
            );
        }
        // Bernoulli rows too
        let logits = common::matrix(1, LOGITS.len(), LOGITS.to_vec(), &device).require_grad();
        let b = Bernoulli::from_logits(logits.clone()).unwrap();
        let k = LOGITS.len();
        let bits_cost = |x: Tensor<2>| {
            let rows = x.dims()[0];
            let s = x.sum_dim(1).reshape([rows]);
            s.clone() * 0.5 + s.square() / k as f32
        };
        let est = ReinMax::new(tau)
            .unwrap()
            .estimate(&b, 4, &mut noise, bits_cost)
            .unwrap();
        check(
            &format!("ReinMax Bernoulli, τ = {tau:e}"),
            est.surrogate,
            &logits,
        );
        let logits = common::matrix(1, LOGITS.len(), LOGITS.to_vec(), &device).require_grad();
        let b = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = GumbelRao::new(tau, 2)
            .unwrap()
            .estimate(&b, 4, &mut noise, bits_cost)
            .unwrap();
        check(
            &format!("Gumbel-Rao Bernoulli, τ = {tau:e}"),
            est.surrogate,
            &logits,
        );
    }
}

#[test]
fn vimco_and_group_baselines_stay_finite_at_extreme_logits() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(5);
    for k in [2, 5] {
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        // ln p(x, h): a bounded function of the bits
        let est = Vimco::new(k)
            .unwrap()
            .estimate(&q, &mut noise, |h| cost(h).neg())
            .unwrap();
        check(&format!("VIMCO k = {k}"), est.surrogate, &logits);
    }
    for n in [2, 8] {
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = ScoreFunction::new(Grpo::new())
            .estimate(&q, n, &mut noise, cost)
            .unwrap();
        check(&format!("GRPO n = {n}"), est.surrogate, &logits);
        let logits = triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        let est = ScoreFunction::new(DrGrpo)
            .estimate(&q, n, &mut noise, cost)
            .unwrap();
        check(&format!("Dr. GRPO n = {n}"), est.surrogate, &logits);
    }
}

/// GRPO's advantages of costs up to `±f32::MAX`: finite, and the standardized values of the
/// rescaled group (scale invariance, up to ε).
#[test]
fn grpo_advantages_of_extreme_costs_are_finite_and_scale_invariant() {
    let device = common::device();
    let groups: [[f32; 4]; 5] = [
        [f32::MAX, -f32::MAX, 0.0, 1.0],
        [3e38, 3e38, 3e38, 3e38],
        [1e30, -1e30, 2e30, 0.0],
        [3e38, 2.9e38, 3.1e38, 3e38],
        [1.0, 2.0, 4.0, 5.0],
    ];
    let mut v = Vec::new();
    for i in 0..4 {
        for g in &groups {
            v.push(g[i]);
        }
    }
    let costs = common::matrix(4, groups.len(), v, &device);
    for grpo in [Grpo::new(), Grpo::mean_only()] {
        let a = grpo.advantages(&costs).unwrap();
        all_finite(&format!("{grpo:?} advantages"), a.clone());
        if grpo.scales_by_std() {
            let a = common::values(a);
            for (e, g) in groups.iter().enumerate() {
                let g: Vec<f64> = g.iter().map(|&x| x as f64).collect();
                let mean = g.iter().sum::<f64>() / 4.0;
                let sd = (g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
                for i in 0..4 {
                    let want = (g[i] - mean) / (sd + 1e-4);
                    let got = a[i * groups.len() + e];
                    assert!(
                        (got - want).abs() < 1e-5 * want.abs().max(1.0),
                        "group {e}: {got} vs {want}"
                    );
                }
            }
        }
    }
    all_finite("Dr. GRPO advantages", DrGrpo.advantages(&costs).unwrap());
}

/// Negative control: `θ·g − sg(θ·g)` at logits 3e38 and a gradient of order 1 is NaN in value
/// (IEEE arithmetic, on the CPU device: a GPU compiler may fold `x − x` to 0).
#[test]
fn negative_control_the_product_form_overflows() {
    let device = Device::flex().autodiff();
    let theta = Tensor::<2>::from_floats([[3e38, 3e38]], &device).require_grad();
    let g = Tensor::<2>::from_floats([[0.9, 0.8]], &device);
    let term = (theta * g).sum_dim(1);
    let v = common::values((term.clone() - term.detach()).inner());
    assert!(v[0].is_nan(), "{v:?}");
}
