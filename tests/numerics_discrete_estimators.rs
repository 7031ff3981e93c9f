//! The numerics grid of the relaxations (tests/numerics.rs) extended to ARM, DisARM, REBAR and
//! RELAX: logits up to ±1e4 (every triple of grid values, as Bernoulli rows and as 3-class
//! categorical rows), temperatures down to 1e-3; no NaN or infinity in the surrogate values, in
//! the gradients of the logits, or in the gradients of RELAX's control network.
//!
//! Deterministic (fixed seeds): it either holds or it does not. It would catch, for instance,
//! `logit(v')` of an underflowed probability in REBAR's conditional draw, a `0·∞` in the
//! categorical conditional at an impossible class, or an unguarded division in the
//! leave-one-out scale. The negative control: a naive conditional draw written with the
//! textbook formula `θ + logit(v·σ(θ) + 1 − σ(θ))` does produce non-finite values on this grid.

mod common;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, Categorical, OneHotCategorical};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::{Arm, DisArm, Estimator, Rebar, RebarScale, Relax};

const LOGITS: [f32; 7] = [-1e4, -100.0, -10.0, 0.0, 10.0, 100.0, 1e4];
const TEMPERATURES: [f64; 5] = [1e-3, 1e-2, 0.1, 1.0, 10.0];

/// Every triple of grid logits: `[343, 3]`.
fn logit_triples(device: &Device) -> Tensor<2> {
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

/// A cost of float rows `[R, 3]` (bits, relaxed bits, or one-hot rows of 3 classes).
fn cost(y: Tensor<2>) -> Tensor<1> {
    let rows = y.dims()[0];
    let w = Tensor::<2>::from_floats([[0.3], [-1.0], [2.0]], &y.device());
    let s = y.matmul(w);
    ((s.clone() - 0.4).square() + s.sin()).reshape([rows])
}

#[test]
fn antithetic_estimators_stay_finite_on_the_grid() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(0);
    for pairs in [1, 3] {
        let logits = logit_triples(&device).require_grad();
        let q = Bernoulli::from_logits(logits.clone()).unwrap();
        for (name, est) in [
            ("ARM", Arm.estimate(&q, pairs, &mut noise, cost).unwrap()),
            (
                "DisARM",
                DisArm.estimate(&q, pairs, &mut noise, cost).unwrap(),
            ),
        ] {
            all_finite(
                &format!("{name}, {pairs} pairs: value"),
                est.surrogate.clone(),
            );
            let grad = logits.grad(&est.loss().backward()).unwrap();
            all_finite(&format!("{name}, {pairs} pairs: gradient"), grad);
        }
    }
}

fn rebar_scales() -> [(RebarScale, usize); 4] {
    [
        (RebarScale::Fixed(1.0), 1),
        (RebarScale::Fixed(0.0), 2),
        (RebarScale::LeaveOneOut, 3),
        (RebarScale::Running { decay: 0.9 }, 2),
    ]
}

#[test]
fn rebar_stays_finite_on_the_grid_for_bernoullis_and_categoricals() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(1);
    for tau in TEMPERATURES {
        for (scale, n) in rebar_scales() {
            let mut rebar = Rebar::with_scale(tau, scale).unwrap();
            // the running scale twice, so that it is used after its first update
            let rounds = if matches!(scale, RebarScale::Running { .. }) {
                2
            } else {
                1
            };
            for round in 0..rounds {
                let what = format!("τ = {tau}, {scale:?}, round {round}");
                let logits = logit_triples(&device).require_grad();
                let q = Bernoulli::from_logits(logits.clone()).unwrap();
                let est = rebar.estimate(&q, n, &mut noise, cost).unwrap();
                all_finite(&format!("Bernoulli {what}: value"), est.surrogate.clone());
                all_finite(&format!("Bernoulli {what}: samples"), est.samples.clone());
                all_finite(
                    &format!("Bernoulli {what}: gradient"),
                    logits.grad(&est.loss().backward()).unwrap(),
                );

                let logits = logit_triples(&device).require_grad();
                let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
                let est = rebar.estimate(&q, n, &mut noise, cost).unwrap();
                all_finite(&format!("categorical {what}: value"), est.surrogate.clone());
                all_finite(&format!("categorical {what}: samples"), est.samples.clone());
                all_finite(
                    &format!("categorical {what}: gradient"),
                    logits.grad(&est.loss().backward()).unwrap(),
                );
            }
            if let Some(eta) = rebar.running_scale() {
                all_finite(&format!("τ = {tau}: running η"), eta);
            }
        }
    }
}

#[test]
fn rebar_and_relax_survive_impossible_classes() {
    // −∞ logits are valid for a Categorical: a class that never occurs
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(2);
    let logits = Tensor::<2>::from_floats(
        [
            [0.0, f32::NEG_INFINITY, 1.0],
            [f32::NEG_INFINITY, f32::NEG_INFINITY, 5.0],
        ],
        &device,
    )
    .require_grad();
    // the distribution is rebuilt for each backward pass (a graph is consumed once)
    let q = || Categorical::from_logits(logits.clone()).unwrap();
    for tau in [1e-3, 1.0] {
        let est = Rebar::with_scale(tau, RebarScale::LeaveOneOut)
            .unwrap()
            .estimate(&q(), 4, &mut noise, cost)
            .unwrap();
        all_finite(&format!("τ = {tau}: value"), est.surrogate.clone());
        let s = common::values(est.samples.clone().slice([0..8, 0..3]));
        // the hard rows never pick an impossible class
        for row in s.chunks(3).enumerate() {
            let (i, r) = row;
            if i % 2 == 1 {
                assert_eq!(r, &[0.0, 0.0, 1.0]);
            } else {
                assert_eq!(r[1], 0.0);
            }
        }
        all_finite(
            &format!("τ = {tau}: gradient"),
            logits.grad(&est.loss().backward()).unwrap(),
        );
    }
    let mut relax = Relax::new(ControlNetwork::new(3, 4, &mut noise, &device));
    let est = relax.estimate(&q(), 4, &mut noise, cost).unwrap();
    all_finite("RELAX value", est.surrogate.clone());
    all_finite(
        "RELAX gradient",
        logits.grad(&est.loss().backward()).unwrap(),
    );
}

#[test]
fn relax_stays_finite_on_the_grid_including_its_network_gradients() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(3);
    // a network with a non-zero output layer: one Adam step on an ordinary problem
    let mut relax = Relax::new(ControlNetwork::new(3, 8, &mut noise, &device));
    let q = Bernoulli::from_logits(Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device)).unwrap();
    let est = relax.estimate(&q, 8, &mut noise, cost).unwrap();
    let grads = GradientsParams::from_grads(est.loss().backward(), relax.control());
    let mut optim = AdamConfig::new().init();
    relax = Relax::new(optim.step(0.1, relax.control().clone(), grads));
    for family in ["Bernoulli", "categorical"] {
        for n in [1, 4] {
            let logits = logit_triples(&device).require_grad();
            let est = if family == "Bernoulli" {
                relax.estimate(
                    &Bernoulli::from_logits(logits.clone()).unwrap(),
                    n,
                    &mut noise,
                    cost,
                )
            } else {
                relax.estimate(
                    &OneHotCategorical::from_logits(logits.clone()).unwrap(),
                    n,
                    &mut noise,
                    cost,
                )
            }
            .unwrap();
            all_finite(&format!("{family}, n = {n}: value"), est.surrogate.clone());
            let grads = est.loss().backward();
            all_finite(
                &format!("{family}, n = {n}: gradient"),
                logits.grad(&grads).unwrap(),
            );
            let params = GradientsParams::from_grads(grads, relax.control());
            assert!(
                !params.is_empty(),
                "the control network receives a gradient"
            );
        }
    }
}

#[test]
fn negative_control_the_textbook_conditional_draw_overflows_on_the_grid() {
    // z̃ = θ + logit(v' ), v' = v·σ(θ) + 1 − σ(θ) for b = 1, in f32: at θ = 1e4, 1 − σ(θ) = 0 and
    // v' = v is fine, but at θ = −100, σ(θ) underflows and v' = 1: logit(1) = +∞
    let device = common::device();
    let theta = common::matrix(1, 7, LOGITS.to_vec(), &device);
    let v = Tensor::<2>::full([1, 7], 0.3, &device);
    let p = sigmoid(theta.clone());
    let v1 = v * p.clone() + p.neg() + 1.0;
    let naive = theta + v1.clone().log() - (v1.neg() + 1.0).log();
    let values = common::values(naive);
    assert!(values.iter().any(|x| !x.is_finite()), "{values:?}");
}
