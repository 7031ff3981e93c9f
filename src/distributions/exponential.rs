//! The exponential distribution.

use burn::prelude::*;

use super::params;
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The exponential distribution with rate λ, one per element of the batch.
///
/// Density (x ≥ 0): `p(x) = λ exp(−λx)`.
///
/// Reparameterization: `x = ε/λ` with `ε ~ Exp(1)`, so `∂x/∂λ = −x/λ`.
///
/// Entropy: `1 − ln λ`. Mean `1/λ`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Exponential};
///
/// let device = Device::flex();
/// let d = Exponential::new(Tensor::<1>::from_floats([2.0], &device))?;
/// let lp: f32 = d.log_prob(&Tensor::<1>::from_floats([1.0], &device))?.into_scalar();
/// assert!((lp - (2f32.ln() - 2.0)).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Exponential<const D: usize> {
    rate: Tensor<D>,
}

impl<const D: usize> Exponential<D> {
    /// The exponential distribution with rate `rate`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every rate is
    /// finite and positive (a device sync).
    pub fn new(rate: Tensor<D>) -> Result<Self> {
        params::positive(Self::NAME, "rate", &rate)?;
        Ok(Self { rate })
    }

    /// Without the value check (no device sync).
    ///
    /// # Errors
    ///
    /// None for Exponential; every `_unchecked` constructor returns a `Result` (the crate's
    /// one rule), keeping the checks that cost nothing.
    pub fn new_unchecked(rate: Tensor<D>) -> Result<Self> {
        Ok(Self { rate })
    }

    /// The rate λ.
    pub fn rate(&self) -> &Tensor<D> {
        &self.rate
    }
}

impl<const D: usize> Distribution<D> for Exponential<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Exponential";

    fn value_shape(&self) -> [usize; D] {
        self.rate.dims()
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.rate.dims().to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn device(&self) -> Device {
        self.rate.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// `ln λ − λx` for `x ≥ 0`, −∞ otherwise.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = params::value_shape("Exponential::log_prob", value.dims(), self.rate.dims())?;
        let outside = value.clone().lower_elem(0.0);
        let x = value.clone().mask_fill(outside.clone(), 0.0);
        let lp = (self.rate.clone().log() - self.rate.clone() * x).expand(shape);
        Ok(lp.mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        let mut rate = self.rate.clone();
        if n > 1 {
            rate = rate.repeat_dim(0, n);
        }
        Self { rate }
    }
}

impl<const D: usize> Entropy<D> for Exponential<D> {
    /// `1 − ln λ`.
    fn entropy(&self) -> Tensor<D> {
        self.rate.clone().log().neg().add_scalar(1.0)
    }
}

impl<const D: usize> Mean<D> for Exponential<D> {
    /// `1/λ`.
    fn mean(&self) -> Tensor<D> {
        self.rate.clone().recip()
    }
}

impl<const D: usize> Reparameterized<D> for Exponential<D> {
    const NOISE: StandardNoise = StandardNoise::Exponential;

    /// `ε/λ`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        eps / self.rate.clone()
    }
}

/// `KL(Exp(λ₁) ‖ Exp(λ₂)) = ln(λ₁/λ₂) + λ₂/λ₁ − 1`.
impl<const D: usize> KlDivergence<D, Exponential<D>> for Exponential<D> {
    fn kl_divergence(&self, q: &Exponential<D>) -> Result<Tensor<D>> {
        let shape = params::broadcast(
            "kl_divergence(Exponential, Exponential)",
            &[self.rate.dims(), q.rate.dims()],
        )?;
        let ratio = q.rate.clone() / self.rate.clone();
        Ok((ratio.clone() - ratio.log()).sub_scalar(1.0).expand(shape))
    }
}
