//! VIMCO is unbiased for the gradient of the k-sample importance-weighted bound with discrete
//! latents, against the exact gradient by enumeration.
//!
//! **The exact bound.** For one batch element with a proposal `q_φ(h)` over a support of `S`
//! points and a model `ln p_θ(x, h)`, the k-sample bound is a finite sum over the `S^k` ordered
//! k-tuples of support points,
//!
//! `L_k(θ, φ) = Σ_{(h_1..h_k)} Π_i q_φ(h_i) · ln (1/k) Σ_i p_θ(x, h_i)/q_φ(h_i)`,
//!
//! differentiable in φ (through the tuple probabilities and inside the weights) and in θ; its
//! autodiff gradient is the exact `∇L_k`. Small supports keep `S^k` small: three Bernoulli
//! bits (`S = 8`) with `k = 2, 4`; Categoricals of 2, 3 and 4 classes with `k = 2, 5, 3`.
//!
//! **The model.** `ln p_θ(x, h) = a·u(h) + v(h)` with a model parameter `a` (so θ = (logits,
//! a) exercises both the score term for φ and the weighted pathwise term for the model) and
//! fixed functions `u`, `v` of the latent.
//!
//! False-failure rate: each check is a z-test at 1e-6 for its parameter vector (Bonferroni
//! inside); 7 checks in the file, so correct estimators fail it with probability below 1e-5.
//! Seeds are fixed. The negative controls: a baseline that sees its own draw (`L̂ − ln f_j` as
//! the learning signal) is flagged.

mod common;

use burn::prelude::*;
use burn::tensor::TensorData;
use mcgrad::distributions::{
    Bernoulli, Categorical, Distribution, EnumerableSupport, OneHotCategorical, sum_per_row,
};
use mcgrad::estimators::multisample::{MultiSampleEstimator, Vimco, importance_weighted_bound};
use mcgrad::testing::{GradientCheck, GradientSamples, exact_gradient};
use mcgrad::{NoiseSource, Result};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// `u` and `v` of a class index, as tables.
const U: [f32; 4] = [0.5, -1.0, 1.5, 0.2];
const V: [f32; 4] = [-0.3, 0.8, -1.2, 0.4];

/// The model parameter `a` of each row of `rows` draws from θ rows `[N, P]` (column `P − 1`),
/// sample-major.
fn model_parameter(theta: &Tensor<2>, rows: usize) -> Tensor<1> {
    let [n, p] = theta.dims();
    theta
        .clone()
        .slice([0..n, p - 1..p])
        .repeat_dim(0, rows / n)
        .reshape([rows])
}

fn logits(theta: &Tensor<2>) -> Tensor<2> {
    let [n, p] = theta.dims();
    theta.clone().slice([0..n, 0..p - 1])
}

/// `ln p(x, h)` for three Bernoulli bits `h: [R, 3]`: `a·(w·h) − ½(Σh − 1.3)²`.
fn bits_log_joint(theta: &Tensor<2>, h: Tensor<2>) -> Tensor<1> {
    let rows = h.dims()[0];
    let w = common::matrix(3, 1, vec![0.7, -0.4, 1.1], &h.device());
    let u = h.clone().matmul(w).reshape([rows]);
    let v = (h.sum_dim(1) - 1.3).square().reshape([rows]) * -0.5;
    u * model_parameter(theta, rows) + v
}

/// `ln p(x, h)` for a class index `h: [R, 1]`: `a·U[h] + V[h]`.
fn class_log_joint(theta: &Tensor<2>, h: Tensor<2, Int>) -> Tensor<1> {
    let rows = h.dims()[0];
    let device = h.device();
    let k = logits(theta).dims()[1];
    let index = h.reshape([rows]);
    let u = Tensor::<1>::from_data(TensorData::new(U[..k].to_vec(), [k]), &device)
        .select(0, index.clone());
    let v = Tensor::<1>::from_data(TensorData::new(V[..k].to_vec(), [k]), &device).select(0, index);
    u * model_parameter(theta, rows) + v
}

/// `ln p(x, h)` for a one-hot class `h: [R, K]`.
fn one_hot_log_joint(theta: &Tensor<2>, h: Tensor<2>) -> Tensor<1> {
    let [rows, k] = h.dims();
    let device = h.device();
    let u = h
        .clone()
        .matmul(common::matrix(k, 1, U[..k].to_vec(), &device))
        .reshape([rows]);
    let v = h
        .matmul(common::matrix(k, 1, V[..k].to_vec(), &device))
        .reshape([rows]);
    u * model_parameter(theta, rows) + v
}

/// The exact k-sample bound of the one row of θ `[1, P]` by enumerating all `S^k` tuples.
fn exact_bound<P, F>(q: &P, k: usize, log_joint: F) -> Result<Tensor<1>>
where
    P: EnumerableSupport<2>,
    F: FnOnce(P::Value) -> Tensor<1>,
{
    let (support, s) = q.enumerate_support()?;
    let log_q = sum_per_row(q.replicate(s).log_prob(&support)?);
    let log_f = log_joint(support) - log_q.clone();
    let tuples = s.pow(k as u32);
    let mut index = Vec::with_capacity(tuples * k);
    for t in 0..tuples {
        let mut rest = t;
        for _ in 0..k {
            index.push((rest % s) as i64);
            rest /= s;
        }
    }
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [tuples * k]), &q.device());
    let log_prob = log_q
        .select(0, index.clone())
        .reshape([tuples, k])
        .sum_dim(1)
        .reshape([tuples]);
    // ln (1/k) Σ_i f_i per tuple, the maximum held constant
    let lf = log_f.select(0, index).reshape([tuples, k]);
    let top = lf.clone().detach().max_dim(1);
    let lme = ((lf - top.clone()).exp().sum_dim(1).log() + top - (k as f64).ln()).reshape([tuples]);
    Ok((log_prob.exp() * lme).sum())
}

/// VIMCO's per-sample gradients at θ, or with `own_draw` the biased variant whose learning
/// signal for draw `j` is `L̂ − ln f_j`.
fn vimco_samples<P, B, F>(
    theta: &[f64],
    k: usize,
    build: B,
    log_joint: F,
    own_draw: bool,
) -> GradientSamples
where
    P: Distribution<2>,
    B: Fn(Tensor<2>) -> P,
    F: Fn(&Tensor<2>, P::Value) -> Tensor<1>,
{
    let vimco = Vimco::new(k).unwrap();
    GradientCheck::new(SAMPLES)
        .seed(7 + k as u64)
        .run(&common::device(), theta, |t, noise: &mut NoiseSource| {
            let q = build(logits(&t));
            if !own_draw {
                return Ok(vimco.estimate(&q, noise, |h| log_joint(&t, h))?.surrogate);
            }
            let n = t.dims()[0];
            let draws = q.replicate(k);
            let h = draws.sample(noise);
            let log_q = sum_per_row(draws.log_prob(&h)?).reshape([k, n]);
            let log_f = log_joint(&t, h).reshape([k, n]) - log_q.clone();
            let bound = importance_weighted_bound(log_f.clone())?;
            let signal = bound.clone().detach().reshape([1, n]) - log_f.detach();
            let score = (signal * (log_q.clone() - log_q.detach()))
                .sum_dim(0)
                .reshape([n]);
            Ok(bound + score)
        })
        .unwrap()
}

#[test]
fn vimco_is_unbiased_with_bernoulli_latents() {
    let theta = [0.4, -1.1, 0.8, 0.6];
    let device = common::device();
    let build = |l: Tensor<2>| Bernoulli::from_logits_unchecked(l).unwrap();
    for k in [2, 4] {
        let exact = exact_gradient(&device, &theta, |t| {
            exact_bound(&build(logits(&t)), k, |h| bits_log_joint(&t, h))
        })
        .unwrap();
        let report = vimco_samples(&theta, k, build, bits_log_joint, false)
            .unbiasedness(&exact, RATE)
            .unwrap();
        assert!(report.passed(), "k = {k}\n{report}");
        if k == 4 {
            let control = vimco_samples(&theta, k, build, bits_log_joint, true)
                .unbiasedness(&exact, RATE)
                .unwrap();
            assert!(
                !control.passed(),
                "a baseline that sees its own draw passed:\n{control}"
            );
        }
    }
}

#[test]
fn vimco_is_unbiased_with_categorical_latents() {
    let device = common::device();
    let build = |l: Tensor<2>| Categorical::from_logits_unchecked(l).unwrap();
    for (theta, k) in [
        (vec![0.3, -0.9, 1.2, 0.0, 0.7], 3),
        (vec![1.0, -0.5, 0.2, 1.3], 5),
        (vec![0.8, -0.6, 0.4], 2),
    ] {
        let exact = exact_gradient(&device, &theta, |t| {
            exact_bound(&build(logits(&t)), k, |h| class_log_joint(&t, h))
        })
        .unwrap();
        let report = vimco_samples(&theta, k, build, class_log_joint, false)
            .unbiasedness(&exact, RATE)
            .unwrap();
        assert!(
            report.passed(),
            "K = {}, k = {k}\n{report}",
            theta.len() - 1
        );
        let control = vimco_samples(&theta, k, build, class_log_joint, true)
            .unbiasedness(&exact, RATE)
            .unwrap();
        assert!(
            !control.passed(),
            "a baseline that sees its own draw passed:\n{control}"
        );
    }
}

#[test]
fn vimco_is_unbiased_with_one_hot_latents() {
    let theta = [0.3, -0.9, 1.2, 0.0, 0.7];
    let device = common::device();
    let build = |l: Tensor<2>| OneHotCategorical::from_logits_unchecked(l).unwrap();
    let exact = exact_gradient(&device, &theta, |t| {
        exact_bound(&build(logits(&t)), 3, |h| one_hot_log_joint(&t, h))
    })
    .unwrap();
    let report = vimco_samples(&theta, 3, build, one_hot_log_joint, false)
        .unbiasedness(&exact, RATE)
        .unwrap();
    assert!(report.passed(), "{report}");
}

/// The leave-one-out signal lowers the variance against the plain multi-sample score
/// function (signal `L̂` for every draw), which is unbiased too: both pass, VIMCO's variance
/// is the lower one for every logit.
#[test]
fn vimco_lowers_the_variance_of_the_multi_sample_score_function() {
    let theta = [0.4, -1.1, 0.8, 0.6];
    let k = 4;
    let device = common::device();
    let build = |l: Tensor<2>| Bernoulli::from_logits_unchecked(l).unwrap();
    let exact = exact_gradient(&device, &theta, |t| {
        exact_bound(&build(logits(&t)), k, |h| bits_log_joint(&t, h))
    })
    .unwrap();
    let plain = GradientCheck::new(SAMPLES)
        .seed(99)
        .run(&device, &theta, |t, noise| {
            let n = t.dims()[0];
            let draws = build(logits(&t)).replicate(k);
            let h = draws.sample(noise);
            let log_q = sum_per_row(draws.log_prob(&h)?).reshape([k, n]);
            let log_f = bits_log_joint(&t, h).reshape([k, n]) - log_q.clone();
            let bound = importance_weighted_bound(log_f)?;
            let signal = bound.clone().detach().reshape([1, n]);
            let score = (signal * (log_q.clone() - log_q.detach()))
                .sum_dim(0)
                .reshape([n]);
            Ok(bound + score)
        })
        .unwrap();
    let report = plain.unbiasedness(&exact, RATE).unwrap();
    assert!(
        report.passed(),
        "plain multi-sample score function\n{report}"
    );
    let vimco = vimco_samples(&theta, k, build, bits_log_joint, false);
    let (vp, vv) = (plain.variance(), vimco.variance());
    for j in 0..3 {
        assert!(
            vv.parameters[j].variance < vp.parameters[j].variance,
            "{vv}{vp}"
        );
    }
}
