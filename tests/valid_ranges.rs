//! Every validated constructor either returns `Error::InvalidParameter` or guarantees finite
//! samples, finite log-densities at them, and a finite entropy and mean, for everything it
//! accepts. Deterministic: fixed seeds and fixed noise.
//!
//! Each family is built from every combination of parameters on a grid that spans the whole of
//! `f32` (zero, subnormals, the smallest normal float, ordinary values, 1e19 and just above,
//! 1e30, `f32::MAX`, both signs, NaN and ±∞, and for log-scales −120 to 100). Where the
//! constructor accepts, the sample is taken at the extreme noise the generator can produce
//! (both ends of [`StandardNoise::bounds`], by `rsample_with_noise`) and from 256 ordinary
//! draws, and its log-density, the entropy and the mean are checked finite. Where it rejects,
//! the error must be the typed `InvalidParameter` (never a panic, never a NaN later).
//!
//! The code before this file accepted, among others, `Normal::from_log_scale` with log-scales
//! of 100 and −120 (σ infinite or 0: infinite samples, NaN log-densities), `LogNormal` with
//! σ = 100 (samples 0 and +∞), `Normal` with σ = 1e30 (an infinite variance and, at `loc` near
//! `f32::MAX`, infinite samples), `Exponential` with a subnormal rate (infinite samples), and
//! `Uniform(−3e38, 3e38)` (an infinite width: infinite samples, a NaN log-density).

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Bernoulli, Categorical, Distribution, Entropy, Exponential, Gumbel, Laplace, LogNormal,
    Logistic, Mean, MultivariateNormal, Normal, OneHotCategorical, RelaxedBernoulli,
    RelaxedOneHotCategorical, Reparameterized, Uniform,
};
use mcgrad::{Error, NoiseSource};

/// Magnitudes across all of f32, each with both signs, then the non-finite values.
fn values() -> Vec<f32> {
    let magnitudes = [
        0.0,
        1e-45,
        1e-40,
        f32::MIN_POSITIVE,
        1e-30,
        1e-8,
        0.5,
        1.0,
        6.0,
        1e10,
        1e19,
        2e19,
        1e30,
        f32::MAX,
    ];
    let mut v: Vec<f32> = magnitudes.iter().flat_map(|&m| [m, -m]).collect();
    v.dedup();
    v.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    v
}

fn t(v: f32, device: &Device) -> Tensor<2> {
    Tensor::<2>::from_floats([[v]], device)
}

fn finite<const D: usize>(what: &str, x: Tensor<D>) {
    let v = common::values(x);
    assert!(v.iter().all(|x| x.is_finite()), "{what}: {v:?}");
}

/// A constructor's result: the typed error, or a distribution that keeps the guarantee.
fn accepted<P: std::fmt::Debug>(what: &str, r: Result<P, Error>) -> Option<P> {
    match r {
        Ok(p) => Some(p),
        Err(Error::InvalidParameter { .. }) => None,
        Err(other) => panic!("{what}: expected InvalidParameter, got {other:?}"),
    }
}

/// The guarantee for a reparameterized family: samples at both ends of the noise range and
/// from ordinary draws are finite, and so are their log-densities, the entropy and the mean.
fn guarantee<P>(what: &str, d: &P)
where
    P: Reparameterized<2> + Entropy<2> + Mean<2> + std::fmt::Debug,
{
    let (low, high) = P::NOISE.bounds();
    let device = d.device();
    for eps in [low, high, (low + high) / 2.0] {
        let e = Tensor::<2>::full(d.value_shape(), eps, &device);
        let x = d.rsample_with_noise(e).unwrap();
        finite(&format!("{what}: sample at ε = {eps}"), x.clone());
        finite(
            &format!("{what}: log-density at ε = {eps}"),
            d.log_prob(&x).unwrap(),
        );
    }
    let draws = d.replicate(256);
    let x = draws.sample(&mut NoiseSource::seed_from_u64(7));
    finite(&format!("{what}: samples"), x.clone());
    finite(
        &format!("{what}: log-densities of samples"),
        draws.log_prob(&x).unwrap(),
    );
    finite(&format!("{what}: entropy"), d.entropy());
    finite(&format!("{what}: mean"), d.mean());
}

/// Runs the location-scale grid for one family; returns how many pairs it accepted.
fn loc_scale<P, F>(name: &str, build: F) -> usize
where
    P: Reparameterized<2> + Entropy<2> + Mean<2> + std::fmt::Debug,
    F: Fn(Tensor<2>, Tensor<2>) -> Result<P, Error>,
{
    let device = common::device();
    let mut count = 0;
    for loc in values() {
        for scale in values() {
            let what = format!("{name}(loc {loc:e}, scale {scale:e})");
            if let Some(d) = accepted(&what, build(t(loc, &device), t(scale, &device))) {
                guarantee(&what, &d);
                count += 1;
            }
        }
    }
    count
}

#[test]
fn location_scale_families_keep_the_guarantee_or_reject() {
    // finite loc (27 of them) × scale in [MIN_POSITIVE, 1e19] (1e-30, 1e-8, 0.5, 1, 6, 1e10,
    // 1e19 and MIN_POSITIVE: 8)
    let expected = 27 * 8;
    assert_eq!(loc_scale("Normal", Normal::new), expected);
    assert_eq!(loc_scale("Laplace", Laplace::new), expected);
    assert_eq!(loc_scale("Logistic", Logistic::new), expected);
    assert_eq!(loc_scale("Gumbel", Gumbel::new), expected);
    // the log-normal accepts fewer: |loc| + 13.708·scale ≤ 87 and loc + scale²/2 ≤ 87
    let n = loc_scale("LogNormal", LogNormal::new);
    assert!(n > 0 && n < expected, "{n}");
}

#[test]
fn log_scales_whose_exp_leaves_the_range_are_rejected() {
    let device = common::device();
    let log_scales = [
        f32::NEG_INFINITY,
        -1e30,
        -120.0,
        -100.0,
        -87.4,
        -87.3,
        -50.0,
        0.0,
        43.7,
        43.8,
        50.0,
        88.0,
        100.0,
        1e30,
        f32::INFINITY,
        f32::NAN,
    ];
    let mut accepted_count = 0;
    for loc in values() {
        for ls in log_scales {
            let what = format!("Normal::from_log_scale(loc {loc:e}, log-scale {ls:e})");
            let r = Normal::from_log_scale(t(loc, &device), t(ls, &device));
            if let Some(d) = accepted(&what, r) {
                guarantee(&what, &d);
                finite(&format!("{what}: variance"), d.variance());
                accepted_count += 1;
            }
        }
    }
    // finite locs × {−87.3, −50, 0, 43.7}
    assert_eq!(accepted_count, 27 * 4);
    // the examples of the issue
    for ls in [100.0, -120.0] {
        assert!(matches!(
            Normal::from_log_scale(t(0.0, &device), t(ls, &device)),
            Err(Error::InvalidParameter {
                name: "log_scale",
                ..
            })
        ));
    }
}

#[test]
fn log_normal_with_a_huge_scale_is_rejected_and_the_edge_of_its_range_is_finite() {
    let device = common::device();
    for scale in [7.0f32, 100.0, 1e10] {
        assert!(matches!(
            LogNormal::new(t(0.0, &device), t(scale, &device)),
            Err(Error::InvalidParameter { name: "scale", .. })
        ));
    }
    // at the edge: |loc| + 13.708·scale = 87
    for (loc, scale) in [(0.0f32, 6.34f32), (80.0, 0.5), (-80.0, 0.5), (86.0, 1e-3)] {
        let d = LogNormal::new(t(loc, &device), t(scale, &device)).unwrap();
        guarantee(&format!("LogNormal({loc}, {scale})"), &d);
    }
}

#[test]
fn exponential_keeps_the_guarantee_or_rejects() {
    let device = common::device();
    let mut n = 0;
    for rate in values() {
        let what = format!("Exponential({rate:e})");
        if let Some(d) = accepted(&what, Exponential::new(t(rate, &device))) {
            guarantee(&what, &d);
            n += 1;
        }
    }
    // [1e-19, f32::MAX]: 1e-8, 0.5, 1, 6, 1e10, 1e19, 2e19, 1e30, MAX
    assert_eq!(n, 9);
}

#[test]
fn uniform_keeps_the_guarantee_or_rejects() {
    let device = common::device();
    let mut n = 0;
    for low in values() {
        for high in values() {
            let what = format!("Uniform({low:e}, {high:e})");
            if let Some(d) = accepted(&what, Uniform::new(t(low, &device), t(high, &device))) {
                guarantee(&what, &d);
                n += 1;
            }
        }
    }
    assert!(n > 100, "{n}");
    assert!(Uniform::new(t(-3e38, &device), t(3e38, &device)).is_err());
    // a width of a few ulp: every sample, even at the top of the noise, is inside
    let d = Uniform::new(t(1e10, &device), t(1e10 + 2048.0, &device)).unwrap();
    guarantee("Uniform(1e10, 1e10 + 2048)", &d);
}

#[test]
fn multivariate_normal_keeps_the_guarantee_or_rejects() {
    let device = common::device();
    let mut n = 0;
    let entries = [0.0f32, 1e-30, 1.0, 1e6, 1e19, 2e19, f32::NAN];
    let diagonals = [f32::MIN_POSITIVE, 1e-30, 1.0, 1e19, 2e19, -1.0, 0.0];
    for loc in [0.0f32, -1e30, f32::MAX, f32::INFINITY] {
        for a in diagonals {
            for c in diagonals {
                for b in entries {
                    let what = format!("MVN(loc {loc:e}, L = [[{a:e}, 0], [{b:e}, {c:e}]])");
                    let l = Tensor::<3>::from_floats([[[a, 0.0], [b, c]]], &device);
                    let m = Tensor::<2>::from_floats([[loc, -loc]], &device);
                    if let Some(d) = accepted(&what, MultivariateNormal::new(m, l)) {
                        guarantee(&what, &d);
                        n += 1;
                    }
                }
            }
        }
    }
    assert!(n > 50, "{n}");
    // numerically singular: an off-diagonal entry 1e19 against a diagonal of 1e-30
    let l = Tensor::<3>::from_floats([[[1.0, 0.0], [1e19, 1e-30]]], &device);
    assert!(MultivariateNormal::new(Tensor::<2>::zeros([1, 2], &device), l).is_err());
}

#[test]
fn discrete_and_relaxed_families_keep_the_guarantee_or_reject() {
    let device = common::device();
    let mut noise = NoiseSource::seed_from_u64(3);
    for a in values() {
        for b in [0.0f32, -1e30, f32::MAX, f32::NEG_INFINITY] {
            let logits = Tensor::<2>::from_floats([[a, b, 0.5]], &device);
            let what = format!("logits [{a:e}, {b:e}, 0.5]");
            if let Some(c) = accepted(&what, Categorical::from_logits(logits.clone())) {
                let draws = c.replicate(64);
                let x = draws.sample(&mut noise);
                finite(&format!("Categorical {what}"), draws.log_prob(&x).unwrap());
                finite(&format!("Categorical {what}: entropy"), c.entropy());
                finite(&format!("Categorical {what}: mean"), c.mean());
                let o = OneHotCategorical::from_logits(logits.clone()).unwrap();
                let draws = o.replicate(64);
                let x = draws.sample(&mut noise);
                finite(&format!("OneHot {what}"), draws.log_prob(&x).unwrap());
                for tau in [1e-30, 1e-3, 1.0, 1e3, 1e30] {
                    let r = RelaxedOneHotCategorical::new(logits.clone(), tau).unwrap();
                    let draws = r.replicate(64);
                    let y = draws.sample(&mut noise);
                    finite(&format!("Relaxed {what}, τ {tau:e}"), y.clone());
                    finite(
                        &format!("Relaxed {what}, τ {tau:e}: log-density"),
                        draws.log_prob(&y).unwrap(),
                    );
                }
            }
        }
        let what = format!("Bernoulli logit {a:e}");
        let logit = Tensor::<2>::from_floats([[a]], &device);
        if let Some(d) = accepted(&what, Bernoulli::from_logits(logit.clone())) {
            let draws = d.replicate(64);
            let x = draws.sample(&mut noise);
            finite(&what, draws.log_prob(&x).unwrap());
            finite(&format!("{what}: entropy"), d.entropy());
            finite(&format!("{what}: mean"), d.mean());
            for tau in [1e-30, 1e-3, 1.0, 1e3, 1e30] {
                let r = RelaxedBernoulli::new(logit.clone(), tau).unwrap();
                let draws = r.replicate(64);
                let y = draws.sample(&mut noise);
                finite(&format!("RelaxedBernoulli {what}, τ {tau:e}"), y.clone());
                finite(
                    &format!("RelaxedBernoulli {what}, τ {tau:e}: log-density"),
                    draws.log_prob(&y).unwrap(),
                );
            }
        } else {
            assert!(!a.is_finite(), "{what} rejected");
        }
    }
}
