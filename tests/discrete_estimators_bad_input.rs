//! Bad input to ARM, DisARM, REBAR, RELAX and the variance diagnostics gives a typed error, never
//! a panic, NaN or silent wrong result. Deterministic.

mod common;

use burn::prelude::*;
use mcgrad::diagnostics::{GradientAccumulator, GradientStatistics};
use mcgrad::distributions::{Bernoulli, OneHotCategorical};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::{Arm, DisArm, Estimator, Rebar, RebarScale, Relax};
use mcgrad::{Error, NoiseSource};

fn bits(device: &Device) -> Bernoulli<2> {
    Bernoulli::from_logits(Tensor::<2>::from_floats([[0.1, -0.4, 0.0]], device)).unwrap()
}

fn sum_cost(y: Tensor<2>) -> Tensor<1> {
    let rows = y.dims()[0];
    y.sum_dim(1).reshape([rows])
}

#[test]
fn rebar_rejects_bad_parameters() {
    for tau in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                Rebar::new(tau),
                Err(Error::InvalidParameter {
                    owner: "Rebar",
                    name: "temperature",
                    ..
                })
            ),
            "τ = {tau}"
        );
    }
    assert!(matches!(
        Rebar::with_scale(0.5, RebarScale::Fixed(f64::NAN)),
        Err(Error::InvalidParameter { name: "eta", .. })
    ));
    for decay in [1.0, -0.1, f64::NAN] {
        assert!(matches!(
            Rebar::with_scale(0.5, RebarScale::Running { decay }),
            Err(Error::InvalidParameter { name: "decay", .. })
        ));
    }
    let mut rebar = Rebar::new(0.5).unwrap();
    assert!(rebar.set_temperature(0.0).is_err());
    assert_eq!(rebar.temperature(), 0.5);
}

#[test]
fn zero_samples_and_too_few_for_leave_one_out_are_argument_errors() {
    let device = common::device();
    let q = bits(&device);
    let mut noise = NoiseSource::seed_from_u64(0);
    assert!(matches!(
        Arm.estimate(&q, 0, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "n", .. })
    ));
    assert!(matches!(
        DisArm.estimate(&q, 0, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "n", .. })
    ));
    assert!(matches!(
        Rebar::new(1.0)
            .unwrap()
            .estimate(&q, 0, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "n", .. })
    ));
    let mut loo = Rebar::with_scale(1.0, RebarScale::LeaveOneOut).unwrap();
    assert!(matches!(
        loo.estimate(&q, 1, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "n", .. })
    ));
    let net = ControlNetwork::new(3, 4, &mut noise, &device);
    assert!(matches!(
        Relax::new(net).estimate(&q, 0, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "n", .. })
    ));
}

#[test]
fn a_cost_of_the_wrong_length_is_a_shape_error() {
    let device = common::device();
    let q = bits(&device);
    let mut noise = NoiseSource::seed_from_u64(1);
    let wrong = |y: Tensor<2>| Tensor::<1>::zeros([y.dims()[0] + 1], &y.device());
    assert!(matches!(
        Arm.estimate(&q, 2, &mut noise, wrong),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        DisArm.estimate(&q, 2, &mut noise, wrong),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Rebar::new(1.0).unwrap().estimate(&q, 2, &mut noise, wrong),
        Err(Error::ShapeMismatch { .. })
    ));
    let net = ControlNetwork::new(3, 4, &mut noise, &device);
    assert!(matches!(
        Relax::new(net).estimate(&q, 2, &mut noise, wrong),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn a_control_network_of_the_wrong_width_is_a_shape_error() {
    let device = common::device();
    let mut noise = NoiseSource::seed_from_u64(2);
    let net = ControlNetwork::new(4, 4, &mut noise, &device);
    let q = OneHotCategorical::from_logits(Tensor::<2>::zeros([2, 5], &device)).unwrap();
    assert!(matches!(
        Relax::new(net).estimate(&q, 1, &mut noise, sum_cost),
        Err(Error::ShapeMismatch { left, right, .. }) if left == vec![4] && right == vec![5]
    ));
}

#[test]
fn a_running_scale_refuses_a_different_number_of_logits_per_row() {
    let device = common::device();
    let mut noise = NoiseSource::seed_from_u64(3);
    let mut rebar = Rebar::with_scale(0.5, RebarScale::Running { decay: 0.5 }).unwrap();
    rebar
        .estimate(&bits(&device), 2, &mut noise, sum_cost)
        .unwrap();
    let wider = Bernoulli::from_logits(Tensor::<2>::zeros([1, 4], &device)).unwrap();
    assert!(matches!(
        rebar.estimate(&wider, 2, &mut noise, sum_cost),
        Err(Error::InvalidArgument { name: "dist", .. })
    ));
    // the state is kept: the original shape still works
    rebar
        .estimate(&bits(&device), 2, &mut noise, sum_cost)
        .unwrap();
}

#[test]
fn diagnostics_reject_too_few_or_mismatched_estimates() {
    let device = common::device();
    assert!(matches!(
        GradientStatistics::from_estimates::<1>(&[]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(GradientStatistics::from_stacked(Tensor::<2>::zeros([1, 4], &device)).is_err());
    assert!(GradientStatistics::from_stacked(Tensor::<2>::zeros([3, 0], &device)).is_err());
    let mut acc = GradientAccumulator::new();
    assert!(acc.push(Tensor::<1>::zeros([0], &device)).is_err());
    acc.push(Tensor::<2>::zeros([2, 2], &device)).unwrap();
    assert!(matches!(
        acc.push(Tensor::<1>::zeros([3], &device)),
        Err(Error::ShapeMismatch { .. })
    ));
    // a 2×2 and a flat 4 are the same four parameters
    acc.push(Tensor::<1>::ones([4], &device)).unwrap();
    let stats = acc.finish().unwrap();
    assert_eq!(common::values(stats.variance().clone()), vec![0.5; 4]);
}
