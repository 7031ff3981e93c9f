//! Bad arguments to the estimators added after issue 9 are typed errors, never a panic: `n = 0`
//! draws (and `n = 1` where a group or a leave-one-out baseline needs two), `k < 2` for VIMCO
//! and `k = 0` for the importance-weighted estimators, temperatures that are 0, negative, NaN or
//! infinite, `K = 0` conditional draws for Gumbel-Rao, an ε that is not positive for GRPO, and
//! a cost (or log-joint) of the wrong length. ARM, DisARM, REBAR and RELAX are covered by
//! tests/discrete_estimators_bad_input.rs; this file covers the straight-through variants
//! (ReinMax, Gumbel-Rao, decoupled ST), DisARM's multi-sample bound, the group baselines (GRPO,
//! Dr. GRPO) and the multi-sample estimators (IWAE, VIMCO).
//!
//! Deterministic: each call either returns the expected error or the test fails (a panic
//! fails it too). The negative control: a valid call of each is accepted, so the checks do not
//! reject everything.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{Bernoulli, Normal, OneHotCategorical};
use mcgrad::estimators::baselines::{DrGrpo, Grpo};
use mcgrad::estimators::multisample::{ImportanceWeighted, MultiSampleEstimator, Vimco};
use mcgrad::estimators::{
    DecoupledStraightThrough, DisArm, Estimator, GumbelRao, ReinMax, ScoreFunction,
};
use mcgrad::{Error, NoiseSource};

const BAD_TEMPERATURES: [f64; 5] = [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

fn is_argument<T>(what: &str, r: Result<T, Error>, name: &str) {
    match r {
        Err(Error::InvalidArgument { name: n, .. }) => assert_eq!(n, name, "{what}"),
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

fn is_parameter<T>(what: &str, r: Result<T, Error>, name: &str) {
    match r {
        Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name, "{what}"),
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

fn is_shape<T>(what: &str, r: Result<T, Error>) {
    match r {
        Err(Error::ShapeMismatch { .. }) => {}
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

fn categorical(device: &Device) -> OneHotCategorical<2> {
    OneHotCategorical::from_logits(Tensor::<2>::from_floats(
        [[0.1, -0.5, 2.0], [1.0, 0.0, -1.0]],
        device,
    ))
    .unwrap()
}

fn bits(device: &Device) -> Bernoulli<2> {
    Bernoulli::from_logits(Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], device)).unwrap()
}

fn cost(y: Tensor<2>) -> Tensor<1> {
    let rows = y.dims()[0];
    y.sum_dim(1).reshape([rows])
}

fn wrong(y: Tensor<2>) -> Tensor<1> {
    Tensor::<1>::zeros([y.dims()[0] + 1], &y.device())
}

#[test]
fn straight_through_variants_reject_bad_temperatures_zero_draws_and_wrong_costs() {
    let device = common::device();
    let q = categorical(&device);
    let b = bits(&device);
    let mut noise = NoiseSource::seed_from_u64(0);
    for tau in BAD_TEMPERATURES {
        is_parameter("ReinMax", ReinMax::new(tau), "temperature");
        is_parameter("Gumbel-Rao", GumbelRao::new(tau, 2), "temperature");
        is_parameter(
            "decoupled ST forward",
            DecoupledStraightThrough::new(tau, 1.0),
            "forward_temperature",
        );
        is_parameter(
            "decoupled ST backward",
            DecoupledStraightThrough::new(1.0, tau),
            "backward_temperature",
        );
    }
    is_parameter("Gumbel-Rao K = 0", GumbelRao::new(1.0, 0), "draws");
    // n = 0, for categorical and Bernoulli rows
    let mut reinmax = ReinMax::new(0.5).unwrap();
    let mut rao = GumbelRao::new(0.5, 3).unwrap();
    let mut decoupled = DecoupledStraightThrough::new(1.0, 0.5).unwrap();
    is_argument(
        "ReinMax n = 0",
        reinmax.estimate(&q, 0, &mut noise, cost),
        "n",
    );
    is_argument(
        "Gumbel-Rao n = 0",
        rao.estimate(&q, 0, &mut noise, cost),
        "n",
    );
    is_argument(
        "decoupled n = 0",
        decoupled.estimate(&q, 0, &mut noise, cost),
        "n",
    );
    is_argument(
        "ReinMax n = 0 (bits)",
        reinmax.estimate(&b, 0, &mut noise, cost),
        "n",
    );
    is_argument(
        "Gumbel-Rao n = 0 (bits)",
        rao.estimate(&b, 0, &mut noise, cost),
        "n",
    );
    is_argument(
        "decoupled n = 0 (bits)",
        decoupled.estimate(&b, 0, &mut noise, cost),
        "n",
    );
    // a cost of the wrong length, with one draw and with several
    for n in [1, 3] {
        is_shape("ReinMax cost", reinmax.estimate(&q, n, &mut noise, wrong));
        is_shape("Gumbel-Rao cost", rao.estimate(&q, n, &mut noise, wrong));
        is_shape(
            "decoupled cost",
            decoupled.estimate(&q, n, &mut noise, wrong),
        );
        is_shape(
            "ReinMax cost (bits)",
            reinmax.estimate(&b, n, &mut noise, wrong),
        );
    }
    // negative control: valid calls go through
    assert!(reinmax.estimate(&q, 2, &mut noise, cost).is_ok());
    assert!(rao.estimate(&b, 1, &mut noise, cost).is_ok());
    assert!(decoupled.estimate(&q, 1, &mut noise, cost).is_ok());
}

#[test]
fn group_baselines_and_the_disarm_bound_reject_too_few_draws_and_wrong_costs() {
    let device = common::device();
    let b = bits(&device);
    let mut noise = NoiseSource::seed_from_u64(1);
    for n in [0, 1] {
        is_argument(
            &format!("GRPO n = {n}"),
            ScoreFunction::new(Grpo::new()).estimate(&b, n, &mut noise, cost),
            "n",
        );
        is_argument(
            &format!("GRPO mean-only n = {n}"),
            ScoreFunction::new(Grpo::mean_only()).estimate(&b, n, &mut noise, cost),
            "n",
        );
        is_argument(
            &format!("Dr. GRPO n = {n}"),
            ScoreFunction::new(DrGrpo).estimate(&b, n, &mut noise, cost),
            "n",
        );
    }
    for eps in [0.0, -1e-4, f64::NAN, f64::INFINITY] {
        is_parameter("GRPO ε", Grpo::new().epsilon(eps), "epsilon");
    }
    is_shape(
        "GRPO cost",
        ScoreFunction::new(Grpo::new()).estimate(&b, 4, &mut noise, wrong),
    );
    is_shape(
        "Dr. GRPO cost",
        ScoreFunction::new(DrGrpo).estimate(&b, 4, &mut noise, wrong),
    );
    is_argument(
        "DisARM bound n = 0",
        DisArm.multi_sample_bound(&b, 0, &mut noise, cost),
        "n",
    );
    is_shape(
        "DisARM bound cost",
        DisArm.multi_sample_bound(&b, 3, &mut noise, wrong),
    );
    // negative control
    assert!(
        ScoreFunction::new(Grpo::new())
            .estimate(&b, 2, &mut noise, cost)
            .is_ok()
    );
    assert!(DisArm.multi_sample_bound(&b, 2, &mut noise, cost).is_ok());
}

#[test]
fn multisample_estimators_reject_too_few_samples_and_wrong_log_joints() {
    let device = common::device();
    let mut noise = NoiseSource::seed_from_u64(2);
    is_parameter("VIMCO k = 0", Vimco::new(0), "k");
    is_parameter("VIMCO k = 1", Vimco::new(1), "k");
    is_parameter("IWAE k = 0", ImportanceWeighted::new(0), "k");
    let b = bits(&device);
    let wrong_joint = |h: Tensor<2>| Tensor::<1>::zeros([h.dims()[0] - 1], &h.device());
    is_shape(
        "VIMCO log-joint",
        Vimco::new(3).unwrap().estimate(&b, &mut noise, wrong_joint),
    );
    let q = Normal::new(
        Tensor::<2>::zeros([2, 1], &device),
        Tensor::<2>::ones([2, 1], &device),
    )
    .unwrap();
    is_shape(
        "IWAE log-joint",
        ImportanceWeighted::new(4)
            .unwrap()
            .estimate(&q, &mut noise, |z: Tensor<2>| {
                Tensor::<1>::zeros([z.dims()[0] + 2], &z.device())
            }),
    );
    // negative control
    assert!(
        Vimco::new(2)
            .unwrap()
            .estimate(&b, &mut noise, |h| cost(h).neg())
            .is_ok()
    );
}
