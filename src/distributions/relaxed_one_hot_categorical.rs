//! The Concrete (Gumbel-softmax) relaxation of the one-hot categorical.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::categorical::{Categorical, check_categories};
use super::{Distribution, Reparameterized, params};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softmax;

/// The floor under `y` (and `1 − y`) before a logarithm in the relaxed log-densities. Above
/// `f32::MIN_POSITIVE` on purpose: the gradient of `ln y` is `1/y`, and at 1e-30 it stays far
/// from overflow for any temperature in use.
pub(crate) const LOG_FLOOR: f32 = 1e-30;

/// The Concrete distribution (Maddison et al. 2017), also the Gumbel-softmax (Jang et al.
/// 2017): a continuous relaxation of the one-hot categorical on the open simplex, with class
/// logits ℓ (classes on the last axis) and a temperature τ > 0.
///
/// Reparameterization: `y = softmax((ℓ + g)/τ)` with `g_k` standard Gumbel. As `τ → 0`, `y`
/// tends to the one-hot Gumbel-max sample of `Categorical(ℓ)`; at large τ it tends to the
/// uniform vector.
///
/// Density (Maddison et al. 2017, eq. 10; Lebesgue measure on the first `K − 1` coordinates):
///
/// `ln p(y) = ln Γ(K) + (K − 1) ln τ + Σ_k (ℓ_k − (τ + 1) ln y_k) − K·logsumexp_k(ℓ_k − τ ln y_k)`.
///
/// It is computed from `ln y` throughout; [`rsample_log`](Self::rsample_log) draws `ln y`
/// directly as a `log_softmax`, which stays finite where `y` itself underflows to 0 (large
/// logits, low temperature). [`log_prob`](Distribution::log_prob) on `y` clamps `y` at 1e-30
/// before the logarithm (PyTorch's `clamp_probs` clamps at the smallest positive float).
///
/// No closed-form entropy or mean: neither [`Entropy`](super::Entropy) nor
/// [`Mean`](super::Mean) is implemented.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Reparameterized, RelaxedOneHotCategorical};
///
/// let device = Device::flex();
/// let d = RelaxedOneHotCategorical::new(Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device), 0.5)?;
/// let y = d.rsample(&mut NoiseSource::seed_from_u64(0));
/// let total: f32 = y.sum().into_scalar();
/// assert!((total - 1.0).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RelaxedOneHotCategorical<const D: usize> {
    logits: Tensor<D>,
    temperature: f64,
}

impl<const D: usize> RelaxedOneHotCategorical<D> {
    /// From logits (classes on the last axis) and a temperature.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is not finite and positive, or
    /// logits as [`Categorical::from_logits`] rejects them (one device sync);
    /// [`Error::EmptyCategories`](crate::Error::EmptyCategories) for an empty class axis.
    pub fn new(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        params::temperature(Self::NAME, temperature)?;
        Categorical::from_logits(logits.clone())?;
        Ok(Self {
            logits,
            temperature,
        })
    }

    /// Without the logit check (no device sync); the temperature and the class axis are
    /// still checked (free).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a bad temperature; [`Error::EmptyCategories`](crate::Error::EmptyCategories).
    pub fn new_unchecked(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        params::temperature(Self::NAME, temperature)?;
        check_categories(Self::NAME, &logits)?;
        Ok(Self {
            logits,
            temperature,
        })
    }

    /// The logits ℓ.
    pub fn logits(&self) -> &Tensor<D> {
        &self.logits
    }

    /// The temperature τ.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// The tempered, perturbed logits `(ℓ + g)/τ`.
    fn tempered(&self, g: Tensor<D>) -> Tensor<D> {
        (self.logits.clone() + g).div_scalar(self.temperature)
    }

    /// `ln y` for given Gumbel noise: `log_softmax((ℓ + g)/τ)`, finite for all finite inputs.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `g` does not have the logits' shape.
    pub fn rsample_log_with_noise(&self, g: Tensor<D>) -> Result<Tensor<D>> {
        params::expect_shape("rsample_log_with_noise", &g.dims(), &self.logits.dims())?;
        Ok(log_softmax(self.tempered(g), D - 1))
    }

    /// A differentiable sample of `ln y` (the ExpConcrete variable).
    pub fn rsample_log(&self, noise: &mut NoiseSource) -> Tensor<D> {
        log_softmax(self.tempered(self.draw_noise(noise)), D - 1)
    }

    /// The Concrete log-density at `y`, given `ln y` (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `log_y` does not have the logits' shape.
    pub fn log_prob_from_log(&self, log_y: &Tensor<D>) -> Result<Tensor<D>> {
        params::value_shape(
            "RelaxedOneHotCategorical::log_prob",
            log_y.dims(),
            self.logits.dims(),
        )?;
        let k = self.logits.dims()[D - 1];
        let tau = self.temperature;
        let ln_gamma_k: f64 = (1..k).map(|i| (i as f64).ln()).sum();
        let scaled = self.logits.clone() - log_y.clone() * tau;
        let lse = scaled.clone().max_dim(D - 1);
        let lse = (scaled - lse.clone()).exp().sum_dim(D - 1).log() + lse;
        let terms = (self.logits.clone() - log_y.clone() * (tau + 1.0)).sum_dim(D - 1);
        Ok((terms - lse * k as f64).add_scalar(ln_gamma_k + (k as f64 - 1.0) * tau.ln()))
    }
}

impl<const D: usize> Distribution<D> for RelaxedOneHotCategorical<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "RelaxedOneHotCategorical";

    fn value_shape(&self) -> [usize; D] {
        self.logits.dims()
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.logits.dims()[..D - 1].to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        vec![self.logits.dims()[D - 1]]
    }

    fn device(&self) -> Device {
        self.logits.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// The Concrete log-density at `y`, `[..., 1]`; `y` is clamped at 1e-30 before its
    /// logarithm.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        self.log_prob_from_log(&value.clone().clamp_min(LOG_FLOOR).log())
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            logits: self.logits.clone().repeat_dim(0, n),
            temperature: self.temperature,
        }
    }
}

impl<const D: usize> Reparameterized<D> for RelaxedOneHotCategorical<D> {
    const NOISE: StandardNoise = StandardNoise::Gumbel;

    /// `softmax((ℓ + g)/τ)`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        softmax(self.tempered(eps), D - 1)
    }
}
