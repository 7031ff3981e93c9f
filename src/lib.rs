//! # mcgrad: differentiable sampling on Burn
//!
//! Many objectives are expectations over a random variable whose law depends on parameters,
//! `L(θ) = E_{z~p_θ}[f(z)]`: variational autoencoders, discrete latent-variable models,
//! reinforcement learning. `mcgrad` turns such an expectation into a *surrogate loss* whose
//! value is the Monte Carlo estimate of `L(θ)` and whose gradient estimates `∇θ L`, on any Burn
//! device (CPU: flex, ndarray; GPU: wgpu), and ships a testing kit that proves, statistically,
//! that an estimator is unbiased.
//!
//! | estimator | bias | variance | requires |
//! |---|---|---|---|
//! | [`Pathwise`](estimators::Pathwise) (reparameterization) | none | low | a [`Reparameterized`](distributions::Reparameterized) family, differentiable `f` |
//! | [`ScoreFunction`](estimators::ScoreFunction) (REINFORCE) with a [baseline](estimators::baselines) | none | high; lowered by the baseline | any [`Distribution`](distributions::Distribution) with a differentiable `log_prob` |
//! | [`ScoreFunction`](estimators::ScoreFunction) with the group baselines [`DrGrpo`](estimators::baselines::DrGrpo) / [`Grpo`](estimators::baselines::Grpo) | mean `(n−1)/n·∇L` / biased (std division) | as RLOO | `n ≥ 2` draws per element |
//! | [`GumbelSoftmax`](estimators::GumbelSoftmax) (Concrete) | biased, shrinking as τ → 0 | grows as τ → 0 | a [`Relaxable`](distributions::Relaxable) discrete family, `f` defined on relaxed values |
//! | [`GumbelSoftmax::straight_through`](estimators::GumbelSoftmax::straight_through) | biased | low | the same |
//! | [`StraightThrough`](estimators::StraightThrough) (Bengio et al. 2013) | biased | low | a [`Relaxable`](distributions::Relaxable) family |
//! | [`ReinMax`](estimators::ReinMax) (Liu et al. 2023) | biased, second order: none for quadratic `f` at τ = 1 | low, like ST | a [`LogitFamily`](estimators::LogitFamily) (Categorical, OneHotCategorical, Bernoulli) |
//! | [`GumbelRao`](estimators::GumbelRao) (Paulus et al. 2021) | that of ST Gumbel-softmax | below ST Gumbel-softmax's, falling with `K` | the same |
//! | [`DecoupledStraightThrough`](estimators::DecoupledStraightThrough) (Shah et al. 2024) | biased; tempered draws at τ_f ≠ 1 | falls as τ_b grows | the same |
//! | [`Arm`](estimators::Arm) (Yin & Zhou 2019) | none | low: an antithetic pair, no baseline needed | a [`Bernoulli`](distributions::Bernoulli); any `f` |
//! | [`DisArm`](estimators::DisArm) (Dong, Mnih & Tucker 2020) | none | at most ARM's | a [`Bernoulli`](distributions::Bernoulli); any `f` |
//! | [`Rebar`](estimators::Rebar) (Tucker et al. 2017) | none | low; η fixed or estimated, τ fixed or scheduled | a [`ConditionalRelaxation`](estimators::control_variates::ConditionalRelaxation) family (Bernoulli, Categorical), `f` defined on relaxed values |
//! | [`Relax`](estimators::Relax) (Grathwohl et al. 2018) | none | low; a learned control variate trained on the estimator's variance | the same families; any `f` |
//! | [`exact_expectation`](estimators::exact_expectation) (enumeration) | none | none | a small [`EnumerableSupport`](distributions::EnumerableSupport) |
//! | [`ImportanceWeighted`](estimators::ImportanceWeighted) (IWAE bound, `k` draws), [`InferenceGradient::Standard`](estimators::InferenceGradient::Standard) | none for `∇L_k` | low; the proposal's signal-to-noise falls as `1/√k` | a [`Reparameterized`](distributions::Reparameterized) proposal |
//! | … [`InferenceGradient::Dreg`](estimators::InferenceGradient::Dreg) (doubly reparameterized), `RwsDreg` | none for `∇φ L_k` (RWS-DReG: for the wake-φ update) | lower than standard for the proposal, more so as `k` grows | the same, with [`DetachParameters`](estimators::multisample::DetachParameters) |
//! | … [`InferenceGradient::StickingTheLanding`](estimators::InferenceGradient::StickingTheLanding) | none for the ELBO (`k = 1`); **biased** for `∇φ L_k`, `k > 1` | zero at the exact posterior | the same |
//! | [`Vimco`](estimators::Vimco) (multi-sample score function) | none for `∇L_k` | per-draw leave-one-out baseline | any [`Distribution`](distributions::Distribution) (discrete latents), `k ≥ 2` |
//!
//! The families: Normal, MultivariateNormal, LogNormal, Uniform, Exponential, Laplace,
//! Logistic and Gumbel (pathwise); Gamma, Chi2, Beta, Dirichlet, StudentT and VonMises
//! (pathwise through implicit reparameterization: rejection samplers on the host, gradients
//! `∂z/∂θ = −(∂F/∂θ)/p` attached for autodiff); Categorical, OneHotCategorical and Bernoulli
//! (discrete); RelaxedOneHotCategorical and RelaxedBernoulli (the Concrete relaxations,
//! pathwise).
//!
//! # Quick start
//!
//! ```
//! use burn::prelude::*;
//! use mcgrad::NoiseSource;
//! use mcgrad::distributions::Normal;
//! use mcgrad::estimators::{Estimator, Pathwise};
//!
//! let device = Device::flex().autodiff();
//! let mu = Tensor::<2>::from_floats([[1.0], [2.0]], &device).require_grad();
//! let sigma = Tensor::<2>::from_floats([[0.5], [0.5]], &device);
//! let q = Normal::new(mu.clone(), sigma)?;
//! let mut noise = NoiseSource::seed_from_u64(42);
//! // ∇μ E[z²] = 2μ, estimated with 1000 samples per batch element
//! let est = Pathwise.estimate(&q, 1000, &mut noise, |z| z.square().reshape([2000]))?;
//! let grad = mu.grad(&est.surrogate.sum().backward()).unwrap();
//! let g = grad.try_into_vec_as::<f32>().unwrap();
//! assert!((g[0] - 2.0).abs() < 0.1 && (g[1] - 4.0).abs() < 0.1);
//! # Ok::<(), mcgrad::Error>(())
//! ```
//!
//! # Layout
//!
//! - [`distributions`]: the [`Distribution`](distributions::Distribution) and
//!   [`Reparameterized`](distributions::Reparameterized) traits, one file per family.
//! - [`estimators`]: the [`Estimator`](estimators::Estimator) contract and the estimators.
//! - [`diagnostics`]: per-parameter variance, signal-to-noise ratio and total variance of a
//!   gradient estimator, cheap enough for training loops.
//! - [`kl`]: closed-form KL divergences between pairs of families.
//! - [`rng`]: the explicit, seedable [`NoiseSource`].
//! - [`schedule`]: temperature schedules for the relaxed estimators.
//! - [`testing`]: exact gradients, unbiasedness z-tests, variance measurement, chi-square and
//!   quadrature helpers.
//!
//! A complete training loop with Burn's optimizer over an mcgrad surrogate (a Gaussian
//! encoder with the pathwise estimator, a categorical policy with the score function) is in
//! `docs/TRAINING.md`; in short, each step builds the distribution from the model's output,
//! turns the objective into a surrogate, and hands Burn the gradients:
//! `model = optim.step(lr, model, GradientsParams::from_grads(loss.backward(), &model))`.
//!
//! Devices: library code takes its device from the tensors it is given and never calls
//! `Device::default()`; enable autodiff (`device.autodiff()`) where gradients are needed.
#![warn(missing_docs)]

pub mod diagnostics;
pub mod distributions;
mod error;
pub mod estimators;
pub mod kl;
mod linalg;
pub mod rng;
pub mod schedule;
mod special;
pub mod testing;

pub use error::{Error, Result};

/// The code blocks of the README and of every page in docs/, compiled and run as doctests
/// (blocks marked `text` or `sh` are not Rust and are skipped).
#[cfg(doctest)]
mod doc_pages {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/TRAINING.md")]
    struct Training;
    #[doc = include_str!("../docs/EXAMPLES.md")]
    struct Examples;
    #[doc = include_str!("../docs/RESULTS.md")]
    struct Results;
    #[doc = include_str!("../docs/BENCHMARKS.md")]
    struct Benchmarks;
}

/// The traits and types most programs use: `use mcgrad::prelude::*;`.
pub mod prelude {
    pub use crate::distributions::{Distribution, Entropy, Mean, Reparameterized};
    pub use crate::estimators::{Estimate, Estimator};
    pub use crate::kl::{KlDivergence, kl_divergence};
    pub use crate::rng::{NoiseSource, StandardNoise};
}
pub use rng::{NoiseSource, StandardNoise};
