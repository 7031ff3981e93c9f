//! Every invalid parameter returns the typed error: no panic, no NaN later.

mod common;

use burn::prelude::*;
use mcgrad::Error;
use mcgrad::distributions::{
    Exponential, Gumbel, Laplace, LogNormal, Logistic, MultivariateNormal, Normal, Reparameterized,
    Uniform,
};

fn t(v: &[f32]) -> Tensor<2> {
    Tensor::<1>::from_floats(v, &common::device()).reshape([1, v.len()])
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, Error>, param: &str) {
    match r {
        Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, param),
        other => panic!("expected InvalidParameter({param}), got {other:?}"),
    }
}

fn is_shape<T: std::fmt::Debug>(r: Result<T, Error>) {
    assert!(
        matches!(r, Err(Error::ShapeMismatch { .. })),
        "expected ShapeMismatch, got {r:?}"
    );
}

const BAD_SCALES: [f32; 5] = [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
const BAD_LOCS: [f32; 3] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];

#[test]
fn location_scale_families_reject_bad_scales_and_locations() {
    for s in BAD_SCALES {
        let scale = t(&[1.0, s]);
        is_invalid(Normal::new(t(&[0.0, 0.0]), scale.clone()), "scale");
        is_invalid(LogNormal::new(t(&[0.0, 0.0]), scale.clone()), "scale");
        is_invalid(Laplace::new(t(&[0.0, 0.0]), scale.clone()), "scale");
        is_invalid(Logistic::new(t(&[0.0, 0.0]), scale.clone()), "scale");
        is_invalid(Gumbel::new(t(&[0.0, 0.0]), scale), "scale");
    }
    for l in BAD_LOCS {
        let loc = t(&[l, 0.0]);
        is_invalid(Normal::new(loc.clone(), t(&[1.0, 1.0])), "loc");
        is_invalid(LogNormal::new(loc.clone(), t(&[1.0, 1.0])), "loc");
        is_invalid(Laplace::new(loc.clone(), t(&[1.0, 1.0])), "loc");
        is_invalid(Logistic::new(loc.clone(), t(&[1.0, 1.0])), "loc");
        is_invalid(Gumbel::new(loc, t(&[1.0, 1.0])), "loc");
    }
    is_invalid(
        Normal::from_log_scale(t(&[0.0]), t(&[f32::NAN])),
        "log_scale",
    );
    is_invalid(
        Normal::from_log_scale(t(&[0.0]), t(&[f32::INFINITY])),
        "log_scale",
    );
}

#[test]
fn exponential_rejects_bad_rates() {
    for r in BAD_SCALES {
        is_invalid(Exponential::new(t(&[r])), "rate");
    }
}

#[test]
fn uniform_rejects_unordered_or_infinite_bounds() {
    is_invalid(Uniform::new(t(&[1.0]), t(&[1.0])), "low");
    is_invalid(Uniform::new(t(&[2.0]), t(&[1.0])), "low");
    is_invalid(Uniform::new(t(&[f32::NAN]), t(&[1.0])), "low");
    is_invalid(Uniform::new(t(&[0.0]), t(&[f32::INFINITY])), "high");
    is_invalid(Uniform::new(t(&[0.0]), t(&[f32::NAN])), "high");
}

#[test]
fn multivariate_normal_rejects_bad_scale_tril() {
    let d = common::device();
    let loc = Tensor::<2>::zeros([1, 2], &d);
    let tril = |v: [[f32; 2]; 2]| Tensor::<3>::from_floats([v], &d);
    is_invalid(
        MultivariateNormal::new(loc.clone(), tril([[1.0, 0.0], [0.5, 0.0]])),
        "scale_tril",
    );
    is_invalid(
        MultivariateNormal::new(loc.clone(), tril([[-1.0, 0.0], [0.5, 1.0]])),
        "scale_tril",
    );
    is_invalid(
        MultivariateNormal::new(loc.clone(), tril([[1.0, 0.3], [0.5, 1.0]])),
        "scale_tril",
    );
    is_invalid(
        MultivariateNormal::new(loc.clone(), tril([[1.0, 0.0], [f32::NAN, 1.0]])),
        "scale_tril",
    );
    is_invalid(
        MultivariateNormal::new(
            Tensor::<2>::from_floats([[f32::NAN, 0.0]], &d),
            tril([[1.0, 0.0], [0.0, 1.0]]),
        ),
        "loc",
    );
    is_shape(MultivariateNormal::new(
        Tensor::<2>::zeros([1, 3], &d),
        tril([[1.0, 0.0], [0.0, 1.0]]),
    ));
    is_shape(MultivariateNormal::new(
        Tensor::<2>::zeros([3, 2], &d),
        Tensor::<3>::ones([2, 2, 2], &d),
    ));
}

#[test]
fn shapes_that_do_not_broadcast_are_typed_errors() {
    let d = common::device();
    let a = Tensor::<2>::zeros([2, 3], &d);
    let b = Tensor::<2>::ones([4, 3], &d);
    is_shape(Normal::new(a.clone(), b.clone()));
    is_shape(Normal::new_unchecked(a.clone(), b.clone()));
    is_shape(Laplace::new(a.clone(), b.clone()));
    is_shape(Uniform::new(a.clone(), b.clone().add_scalar(1.0)));
    // a value that does not fit the batch
    let n = Normal::new(a.clone(), Tensor::<2>::ones([2, 3], &d)).unwrap();
    is_shape(mcgrad::distributions::Distribution::log_prob(
        &n,
        &Tensor::<2>::zeros([2, 4], &d),
    ));
    is_shape(n.rsample_with_noise(Tensor::<2>::zeros([3, 3], &d)));
}

#[test]
fn zero_samples_is_an_argument_error() {
    use mcgrad::estimators::{Estimator, Pathwise};
    let d = common::device();
    let n = Normal::new(
        Tensor::<2>::zeros([2, 1], &d),
        Tensor::<2>::ones([2, 1], &d),
    )
    .unwrap();
    let r = Pathwise.estimate(&n, 0, &mut mcgrad::NoiseSource::seed_from_u64(0), |z| {
        z.reshape([0])
    });
    assert!(matches!(r, Err(Error::InvalidArgument { name: "n", .. })));
    // a cost function that returns the wrong number of costs
    let r = Pathwise.estimate(&n, 3, &mut mcgrad::NoiseSource::seed_from_u64(0), |z| {
        z.sum()
    });
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}
