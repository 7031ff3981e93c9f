//! ARM and DisARM are unbiased against the exact gradient by enumeration: vectors of 4 and 5
//! Bernoullis, four costs that are not monotone in the bits, one and several antithetic pairs,
//! and a cost that depends on θ itself (the gradient through `f`'s own parameters).
//!
//! Exact values: `∇θ Σ_b p_θ(b) f(b)` over the `2^M` configurations
//! ([`exact_expectation`] differentiated by autodiff).
//!
//! False-failure rate: each check is the kit's z-test at 1e-6 for its whole parameter vector
//! (Bonferroni inside); 28 checks in the file (including four of DisARM's local form for the
//! multi-sample bound), so an unbiased estimator fails it with probability below 3e-5. Seeds are fixed. Negative controls at the bottom: a DisARM without
//! its `σ(|θ|)` factor, and an "ARM" whose second draw is independent instead of antithetic,
//! are both flagged by the same check, and so is plain DisARM taken as the gradient of the
//! multi-sample bound.

mod common;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use mcgrad::distributions::{Bernoulli, sum_per_row};
use mcgrad::estimators::{Arm, DisArm, Estimator, exact_expectation};
use mcgrad::testing::{GradientCheck, UnbiasednessReport, exact_gradient};
use mcgrad::{NoiseSource, Result, StandardNoise};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// Costs of rows of bits `[R, M]`, none monotone in the bits.
#[derive(Debug, Clone, Copy)]
enum BitsCost {
    /// (Σb − 1.3)²
    CountSquared,
    /// a tanh network of w·b
    Net,
    /// cos(π·(w·b)): oscillates along the cube
    Wave,
    /// a pseudo-random table of the configuration (an arbitrary black box)
    Table,
}

const COSTS: [BitsCost; 4] = [
    BitsCost::CountSquared,
    BitsCost::Net,
    BitsCost::Wave,
    BitsCost::Table,
];

impl BitsCost {
    fn eval(self, b: Tensor<2>) -> Tensor<1> {
        let [rows, m] = b.dims();
        let device = b.device();
        let w: Vec<f32> = (0..m).map(|i| 0.7 - 0.45 * i as f32).collect();
        let w = common::matrix(m, 1, w, &device);
        match self {
            BitsCost::CountSquared => (b.sum_dim(1) - 1.3).square().reshape([rows]),
            BitsCost::Net => {
                let h = (b.matmul(w) * 2.0 - 0.5).tanh();
                (h.clone() * 1.5 + h.square()).reshape([rows])
            }
            BitsCost::Wave => (b.matmul(w) * std::f64::consts::PI).cos().reshape([rows]),
            BitsCost::Table => {
                // the configuration's index Σ 2^i b_i, mapped through sin(2.7·index²)
                let powers: Vec<f32> = (0..m).map(|i| (1u32 << i) as f32).collect();
                let index = b.matmul(common::matrix(m, 1, powers, &device));
                (index.clone() * index * 2.7).sin().reshape([rows])
            }
        }
    }
}

/// An antithetic estimator, by name.
#[derive(Debug, Clone, Copy)]
enum Which {
    Arm,
    DisArm,
}

fn estimate(
    which: Which,
    q: &Bernoulli<2>,
    pairs: usize,
    noise: &mut NoiseSource,
    f: impl FnOnce(Tensor<2>) -> Tensor<1>,
) -> Result<Tensor<1>> {
    Ok(match which {
        Which::Arm => Arm.estimate(q, pairs, noise, f)?.surrogate,
        Which::DisArm => DisArm.estimate(q, pairs, noise, f)?.surrogate,
    })
}

fn check(
    which: Which,
    theta: &[f64],
    pairs: usize,
    cost: BitsCost,
    seed: u64,
) -> UnbiasednessReport {
    let device = common::device();
    let build = |t: Tensor<2>| Bernoulli::from_logits_unchecked(t).unwrap();
    let f = move |x: Tensor<2>| cost.eval(x);
    let exact = exact_gradient(&device, theta, |t| exact_expectation(&build(t), f)).unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(seed)
        .run(&device, theta, |t, noise| {
            estimate(which, &build(t), pairs, noise, f)
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

#[test]
fn arm_and_disarm_are_unbiased_for_four_bernoullis_and_non_monotone_costs() {
    let theta = [0.4, -1.1, 2.0, 0.0];
    for which in [Which::Arm, Which::DisArm] {
        for (i, cost) in COSTS.into_iter().enumerate() {
            for pairs in [1, 3] {
                let report = check(which, &theta, pairs, cost, 10 + i as u64);
                assert!(
                    report.passed(),
                    "{which:?}, {cost:?}, {pairs} pairs\n{report}"
                );
            }
        }
    }
}

#[test]
fn arm_and_disarm_are_unbiased_for_five_bernoullis_with_extreme_logits() {
    // a near-deterministic bit (θ = 4.5) and a nearly-off one (θ = −3)
    let theta = [4.5, -3.0, 0.7, -0.2, 1.3];
    for which in [Which::Arm, Which::DisArm] {
        for cost in [BitsCost::Wave, BitsCost::Table, BitsCost::Net] {
            let report = check(which, &theta, 2, cost, 21);
            assert!(report.passed(), "{which:?}, {cost:?}\n{report}");
        }
    }
}

#[test]
fn the_gradient_of_a_cost_that_depends_on_theta_flows_through_both_draws() {
    // θ = (4 logits, s): f(b; s) = s·Wave(b) + s², so ∂/∂s E f = E Wave(b) + 2s
    let theta = [0.3, -0.8, 1.2, 0.1, 0.7];
    let device = common::device();
    let logits = |t: &Tensor<2>| {
        Bernoulli::from_logits_unchecked(t.clone().slice([0..t.dims()[0], 0..4])).unwrap()
    };
    let cost = |t: &Tensor<2>, b: Tensor<2>| {
        let [rows, _] = b.dims();
        let s = t.clone().slice([0..t.dims()[0], 4..5]);
        let s = s.repeat_dim(0, rows / t.dims()[0]).reshape([rows]);
        BitsCost::Wave.eval(b) * s.clone() + s.square()
    };
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(&logits(&t), |b| cost(&t, b))
    })
    .unwrap();
    assert!(
        exact[4].abs() > 0.5,
        "the θ-dependent part must matter: {exact:?}"
    );
    for which in [Which::Arm, Which::DisArm] {
        let report = GradientCheck::new(SAMPLES)
            .chunk(SAMPLES)
            .seed(5)
            .run(&device, &theta, |t, noise| {
                estimate(which, &logits(&t), 2, noise, |b| cost(&t, b))
            })
            .unwrap()
            .unbiasedness(&exact, RATE)
            .unwrap();
        assert!(report.passed(), "{which:?}\n{report}");
    }
}

#[test]
fn the_surrogate_value_is_the_mean_cost_of_the_draws_and_f_is_called_once() {
    let device = common::device().autodiff();
    let logits =
        Tensor::<2>::from_floats([[0.3, -1.0, 2.0], [0.0, 0.5, -0.5]], &device).require_grad();
    let q = Bernoulli::from_logits(logits).unwrap();
    let mut calls = 0;
    let est = DisArm
        .estimate(&q, 3, &mut NoiseSource::seed_from_u64(1), |b| {
            calls += 1;
            assert_eq!(b.dims(), [12, 3]);
            BitsCost::CountSquared.eval(b)
        })
        .unwrap();
    assert_eq!(calls, 1);
    let costs = common::values(est.costs.clone().mean_dim(0).reshape([2]));
    let value = common::values(est.surrogate.clone());
    for (c, v) in costs.iter().zip(&value) {
        assert!((c - v).abs() < 1e-6, "{costs:?} vs {value:?}");
    }
    // every draw is exactly 0 or 1, and each pair is antithetic: b² = 1[θ − L > 0]
    let s = common::values(est.samples);
    assert!(s.iter().all(|&x| x == 0.0 || x == 1.0));
}

/// DisARM without its σ(|θ|) factor, or "ARM" with an independent second draw: the two
/// classic mistakes, written with the public API.
fn wrong_estimate(
    q_logits: Tensor<2>,
    noise: &mut NoiseSource,
    cost: BitsCost,
    independent: bool,
) -> Tensor<1> {
    let [rows, m] = q_logits.dims();
    let device = q_logits.device();
    let theta = q_logits.clone().detach();
    let l = noise.tensor::<2>(StandardNoise::Logistic, [rows, m], &device);
    let first = (theta.clone() + l.clone()).greater_elem(0.0).float();
    let second = if independent {
        let l2 = noise.tensor::<2>(StandardNoise::Logistic, [rows, m], &device);
        (theta.clone() + l2).greater_elem(0.0).float()
    } else {
        (theta.clone() - l.clone()).greater_elem(0.0).float()
    };
    let costs = cost
        .eval(Tensor::cat(vec![first.clone(), second.clone()], 0))
        .detach();
    let diff = (costs.clone().narrow(0, 0, rows) - costs.narrow(0, rows, rows)).reshape([rows, 1]);
    let weight = if independent {
        sigmoid(l) - 0.5
    } else {
        (first - second) * 0.5
    };
    let term = sum_per_row(q_logits * (weight * diff));
    term.clone() - term.detach()
}

fn negative_control(independent: bool) -> UnbiasednessReport {
    let device = common::device();
    let theta = [0.4, -1.1, 2.0, 0.0];
    let cost = BitsCost::CountSquared;
    let build = |t: Tensor<2>| Bernoulli::from_logits_unchecked(t).unwrap();
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(&build(t), |b| cost.eval(b))
    })
    .unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(8)
        .run(&device, &theta, |t, noise| {
            Ok(wrong_estimate(t, noise, cost, independent))
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

#[test]
fn negative_control_disarm_without_its_sigma_factor_is_flagged() {
    let report = negative_control(false);
    assert!(!report.passed(), "{report}");
}

#[test]
fn negative_control_arm_with_an_independent_second_draw_is_flagged() {
    let report = negative_control(true);
    assert!(!report.passed(), "{report}");
}

/// The negative n-sample bound of a joint row of `n` blocks of 3 bits:
/// `C = −ln((1/n) Σ_i exp(−f(block_i)))`.
fn bound_cost(y: Tensor<2>, n: usize, cost: BitsCost) -> Tensor<1> {
    let rows = y.dims()[0];
    let fs: Vec<Tensor<2>> = (0..n)
        .map(|i| {
            cost.eval(y.clone().slice([0..rows, 3 * i..3 * i + 3]))
                .reshape([rows, 1])
        })
        .collect();
    let x = Tensor::cat(fs, 1).neg();
    let m = x.clone().max_dim(1);
    let lse = (x - m.clone()).exp().sum_dim(1).log() + m;
    (lse - (n as f64).ln()).neg().reshape([rows])
}

fn bound_check(n: usize, cost: BitsCost, plain: bool) -> UnbiasednessReport {
    let device = common::device();
    let theta = [0.6, -0.9, 0.1];
    // the n draws as one row of 3n bits with tied logits: 2^(3n) configurations
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(
            &Bernoulli::from_logits_unchecked(t.repeat_dim(1, n)).unwrap(),
            |y| bound_cost(y, n, cost),
        )
    })
    .unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(31 + n as u64)
        .run(&device, &theta, |t, noise| {
            let q = Bernoulli::from_logits_unchecked(t)?;
            let f = move |b: Tensor<2>| cost.eval(b);
            Ok(if plain {
                DisArm.estimate(&q, n, noise, f)?.surrogate
            } else {
                DisArm.multi_sample_bound(&q, n, noise, f)?.surrogate
            })
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

#[test]
fn local_disarm_is_unbiased_for_the_multi_sample_bound() {
    for n in [2, 3] {
        for cost in [BitsCost::Net, BitsCost::Wave] {
            let report = bound_check(n, cost, false);
            assert!(report.passed(), "n = {n}, {cost:?}\n{report}");
        }
    }
}

#[test]
fn negative_control_the_plain_disarm_of_e_f_is_flagged_as_a_bound_gradient() {
    let report = bound_check(3, BitsCost::Net, true);
    assert!(!report.passed(), "{report}");
}
