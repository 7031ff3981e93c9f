//! Antithetic estimators for Bernoulli latents: two draws from one uniform `u` and its mirror
//! `1 − u`, whose cost difference replaces the score function's cost.
//!
//! Both estimators here draw, for every Bernoulli logit θ, a standard logistic `L = logit(u)`
//! and the antithetic pair
//!
//! `b¹ = 1[θ + L > 0] = 1[u > σ(−θ)]`, `b² = 1[θ − L > 0] = 1[u < σ(θ)]`,
//!
//! each marginally `Bernoulli(σ(θ))` (the sampler of [`Bernoulli`]
//! uses the same noise map). The cost `f` is evaluated once on both samples, stacked, and the
//! gradient of the logits comes from the difference `f(b¹) − f(b²)`, so a constant added to `f`
//! changes nothing (no baseline is needed).
//!
//! | estimator | weight of `f(b¹) − f(b²)` for logit `j` | variance on the single-Bernoulli toy, θ = 0 |
//! |---|---|---|
//! | [`Arm`] (Yin & Zhou 2019) | `u_j − ½` | 2.083e-4 |
//! | [`DisArm`] (Dong, Mnih & Tucker 2020) | `½ (b¹_j − b²_j) σ(|θ_j|)` | 0 |
//!
//! (The toy: `f(b) = (b − 0.45)²`; REINFORCE has 1.594e-2 there and two-sample leave-one-out
//! REINFORCE 6.25e-4; see tests/discrete_estimator_variance.rs.)
//!
//! # Shapes
//!
//! Logits of any shape `[B, ...]`, axis 0 the rows. With `n` pairs per batch element, `f`
//! receives `2n·B` rows in one call: rows `i·B + b` for `i < n` hold `b¹` of pair `i` of
//! element `b`, rows `(n + i)·B + b` its antithetic partner `b²`. Every one of the `2n` draws
//! is marginally a draw of the distribution, so the layout is the estimators' sample-major
//! layout with `2n` draws, and [`Estimate::costs`](super::Estimate::costs) is `[2n, B]`.
//!
//! [`Bernoulli`]: crate::distributions::Bernoulli

use burn::prelude::*;
use burn::tensor::TensorData;

use super::{Estimate, by_draw, check_costs, mean_over_draws, tangent};
use crate::distributions::{Bernoulli, Distribution, internal, sum_per_row};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise, ln_f32};

mod arm;
mod disarm;

pub use arm::Arm;
pub use disarm::DisArm;

/// `n` antithetic pairs per batch element, drawn from one logistic noise tensor.
pub(crate) struct AntitheticPairs<const D: usize> {
    /// The logits replicated to `n·B` rows, detached.
    pub(crate) logits: Tensor<D>,
    /// `2u − 1 = 2(u − ½)` for the uniform `u` behind each pair, `n·B` rows.
    pub(crate) centered: Tensor<D>,
    /// `1[θ + L > 0]`.
    pub(crate) first: Tensor<D>,
    /// `1[θ − L > 0]`.
    pub(crate) second: Tensor<D>,
}

impl<const D: usize> AntitheticPairs<D> {
    /// Draws `n ≥ 1` pairs per row of `dist`. The uniforms are drawn on the host, where their
    /// logistic transform `L = ln u − ln(1 − u)` and the ARM weight `2(u − ½)` cost next to nothing.
    pub(crate) fn draw(dist: &Bernoulli<D>, n: usize, noise: &mut NoiseSource) -> Result<Self> {
        internal::samples(n)?;
        let logits = dist.replicate(n).logits().clone().detach();
        let dims = logits.dims();
        let device = logits.device();
        let uniform = noise.vec(StandardNoise::Uniform, dims.iter().product());
        let logistic: Vec<f32> = uniform
            .iter()
            .map(|&u| ln_f32(u) - ln_f32(1.0 - u))
            .collect();
        let centered: Vec<f32> = uniform.into_iter().map(|u| (u - 0.5) * 2.0).collect();
        let l = Tensor::<D>::from_data(TensorData::new(logistic, dims), &device);
        let first = (logits.clone() + l.clone()).greater_elem(0.0).float();
        let second = (logits.clone() - l).greater_elem(0.0).float();
        Ok(Self {
            logits,
            centered: Tensor::from_data(TensorData::new(centered, dims), &device),
            first,
            second,
        })
    }

    /// `2u − 1`, the ARM weight of the *half* difference `½f(b¹) − ½f(b²)` (see
    /// [`antithetic_estimate`]).
    pub(crate) fn centered_uniform(&self) -> Tensor<D> {
        self.centered.clone()
    }

    /// `σ(|θ|)`, from one `exp`: `1/(1 + e^{−|θ|})`.
    pub(crate) fn sigmoid_of_magnitude(&self) -> Tensor<D> {
        (self.logits.clone().abs().neg().exp() + 1.0).recip()
    }
}

/// Evaluates `f` once on both halves of the pairs and builds the surrogate
///
/// `s_b = (1/2n) Σ_k f(draw_k) + Σ_j (θ_bj − sg θ_bj) · sg(ḡ_bj)`,
///
/// with `ḡ_b = (1/n) Σ_i (½f(b¹_i) − ½f(b²_i)) w_i`, the per-pair gradient estimates averaged
/// over the pairs, for the weights `w` (`[n·B, ...]`, detached) of the estimator, which
/// multiply the *half* difference: halving each cost before the subtraction is exact in
/// floating point and keeps the difference finite for costs up to `±f32::MAX` (the full
/// difference overflows to `∞` beyond `±1.7e38`, and the surrogate's zero forward term
/// `0·∞` to NaN). The forward value is
/// the mean cost of the `2n` draws (the gradient term is `x − x = 0`); the gradient is `ḡ` for
/// the logits plus, when `f` depends on parameters of its own, the average of their gradients
/// over all `2n` draws (unbiased: each draw is marginally a draw of the distribution).
pub(crate) fn antithetic_estimate<const D: usize, F>(
    dist: &Bernoulli<D>,
    n: usize,
    pairs: AntitheticPairs<D>,
    weights: Tensor<D>,
    f: F,
) -> Result<Estimate<Tensor<D>>>
where
    F: FnOnce(Tensor<D>) -> Tensor<1>,
{
    let rows = pairs.logits.dims()[0];
    let samples = Tensor::cat(vec![pairs.first, pairs.second], 0);
    let costs = f(samples.clone());
    check_costs(&costs, 2 * rows)?;
    let detached = costs.clone().detach();
    let half = detached.clone() * 0.5;
    let difference = half.clone().narrow(0, 0, rows) - half.narrow(0, rows, rows);
    let mut shape = [1usize; D];
    shape[0] = rows;
    let per_pair = weights * difference.reshape(shape);
    let theta = dist.logits().clone();
    let dims = theta.dims();
    let per_element: usize = dims.iter().product();
    let mean_gradient = if n == 1 {
        per_pair
    } else {
        // scaled before the sum, which then cannot overflow where every pair's estimate is
        // finite (estimates near f32::MAX, at costs near ±f32::MAX)
        per_pair
            .reshape([n, per_element])
            .mul_scalar(1.0 / n as f64)
            .sum_dim(0)
            .reshape(dims)
    };
    // (θ − sg θ)·ḡ: exactly 0 forward for every finite θ (θ·ḡ − sg(θ·ḡ) is ∞ − ∞ = NaN once
    // |θ·ḡ| exceeds f32::MAX, at logits near ±3e38)
    let surrogate = mean_over_draws(costs, 2 * n) + sum_per_row(tangent(theta) * mean_gradient);
    Ok(Estimate {
        surrogate,
        costs: by_draw(detached, 2 * n),
        samples,
    })
}
