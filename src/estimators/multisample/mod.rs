//! Multi-sample objectives: the importance-weighted bound (IWAE), its gradient estimators for
//! reparameterized and discrete proposals, and the evaluation helpers that go with it.
//!
//! # The objective
//!
//! For a latent-variable model `p_θ(x, z)` and a proposal (inference network) `q_φ(z | x)`, the
//! `k`-sample importance-weighted bound (Burda et al. 2016) is
//!
//! `L_k(θ, φ) = E_{z_1..z_k ~ q}[ ln (1/k) Σ_i w_i ]`, with `w_i = p_θ(x, z_i) / q_φ(z_i | x)`.
//!
//! `L_1` is the ELBO; `L_k ≤ L_{k+1} ≤ ln p_θ(x)`, and `L_k → ln p_θ(x)` as `k → ∞`. The
//! normalized weights `w̃_i = w_i / Σ_j w_j` appear in every gradient below.
//!
//! # What is here
//!
//! | item | what it estimates | requires |
//! |---|---|---|
//! | [`importance_weighted_bound`] | `ln (1/k) Σ_i exp(ℓ_i)` from log-weights `[k, B]`, stably; gradient `Σ_i w̃_i ∇ℓ_i` (the standard IWAE estimator) | log-weights |
//! | [`ImportanceWeighted`] with [`InferenceGradient::Standard`] | `∇θ L_k` and `∇φ L_k`, unbiased | a [`Reparameterized`](crate::distributions::Reparameterized) `q` |
//! | … with [`InferenceGradient::StickingTheLanding`] (Roeder et al. 2017) | `∇φ` ELBO unbiased (`k = 1`), zero variance at the exact posterior; **biased** for `∇φ L_k`, `k > 1` | `q` with [`DetachParameters`] |
//! | … with [`InferenceGradient::Dreg`] (Tucker et al. 2019) | `∇φ L_k`, unbiased, lower variance | the same |
//! | … with [`InferenceGradient::RwsDreg`] / [`InferenceGradient::Rws`] | the reweighted wake-sleep update of `φ` | the same |
//! | [`Vimco`] (Mnih & Rezende 2016) | `∇θ L_k`, `∇φ L_k`, unbiased, for any `q` (discrete ones included) | a [`Distribution`] with `log_prob`, `k ≥ 2` |
//! | [`importance_sampled_nll`], [`StreamingLogMeanExp`], [`importance_log_weights`] | `−ln p(x)` by importance sampling with thousands of samples, in chunks of bounded memory | a closure giving log-weights for a chunk |
//!
//! In every estimator the model's parameters θ (those `log_joint` depends on) get the standard
//! gradient `Σ_i w̃_i ∇θ ln p_θ(x, z_i)`; the variants differ only in the gradient of the
//! proposal's parameters φ.
//!
//! # Shapes
//!
//! A proposal of `B` rows is replicated `k` times, sample-major (row `i·B + b` is draw `i` of
//! element `b`, as in every estimator of the crate). `log_joint` receives the `k·B` draws and
//! returns `ln p(x_b, z)` per row, `[k·B]`; lay the data out with
//! [`replicate_rows`](crate::distributions::replicate_rows) (or broadcast it from `[1, B, ...]`
//! after reshaping to `[k, B, ...]`). Log-weights are `[k, B]`; the surrogate is `[B]`.
//!
//! # References
//!
//! Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016; Mnih &
//! Rezende, *Variational Inference for Monte Carlo Objectives*, ICML 2016; Roeder, Wu &
//! Duvenaud, *Sticking the Landing: Simple, Lower-Variance Gradient Estimators for Variational
//! Inference*, NeurIPS 2017; Tucker, Lawson, Gu & Maddison, *Doubly Reparameterized Gradient
//! Estimators for Monte Carlo Objectives*, ICLR 2019.

use burn::prelude::*;

use crate::distributions::Distribution;
use crate::error::Result;
use crate::rng::NoiseSource;

mod bound;
mod detach;
mod inference_gradient;
mod iwae;
mod vimco;

pub(crate) use bound::log_mean_exp;
pub use bound::{
    StreamingLogMeanExp, importance_log_weights, importance_sampled_nll, importance_weighted_bound,
};
pub use detach::DetachParameters;
pub use inference_gradient::InferenceGradient;
pub use iwae::ImportanceWeighted;
pub use vimco::Vimco;

/// The output of a multi-sample estimator.
#[derive(Debug, Clone)]
pub struct MultiSampleEstimate<S> {
    /// The surrogate objective per batch element, `[B]`: its value is the `k`-sample bound
    /// `ln (1/k) Σ_i w_i` of the draws, its gradient the estimator's estimate of the gradient
    /// of `L_k` (an *ascent* direction: maximize it, or minimize [`loss`](Self::loss)).
    pub surrogate: Tensor<1>,
    /// The log-weights `ln w_i = ln p(x, z_i) − ln q(z_i | x)` of the draws, `[k, B]`,
    /// detached.
    pub log_weights: Tensor<2>,
    /// The draws `log_joint` was evaluated at, `k·B` rows (sample-major).
    pub samples: S,
}

impl<S> MultiSampleEstimate<S> {
    /// The loss to minimize: the negated surrogate averaged over the batch, `[1]`.
    pub fn loss(&self) -> Tensor<1> {
        self.surrogate.clone().mean().neg()
    }

    /// The `k`-sample bound per element, `[B]`, detached.
    pub fn bound(&self) -> Tensor<1> {
        self.surrogate.clone().detach()
    }

    /// The effective sample size of the importance weights per element,
    /// `(Σ_i w_i)² / Σ_i w_i² ∈ [1, k]`, `[B]` (Kong 1992): `k` for equal weights, 1 when one
    /// draw carries all the weight.
    pub fn effective_sample_size(&self) -> Tensor<1> {
        let [_, b] = self.log_weights.dims();
        let w = bound::normalized_weights(self.log_weights.clone());
        w.square().sum_dim(0).reshape([b]).recip()
    }
}

/// A gradient estimator for the `k`-sample importance-weighted bound with proposal `Q`.
///
/// `log_joint` receives the `k·B` draws (sample-major) and returns `ln p_θ(x, z)` for each,
/// `[k·B]`; the estimator computes `ln q(z | x)` itself. It must be deterministic: the
/// doubly reparameterized variants evaluate it twice on the same draws.
pub trait MultiSampleEstimator<const D: usize, Q: Distribution<D>> {
    /// Draws `k` samples per batch element from `q` and builds the surrogate.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `log_joint` does not return
    /// one value per draw; errors of `q`'s `log_prob`.
    fn estimate<F>(
        &self,
        q: &Q,
        noise: &mut NoiseSource,
        log_joint: F,
    ) -> Result<MultiSampleEstimate<Q::Value>>
    where
        F: FnMut(Q::Value) -> Tensor<1>;
}
