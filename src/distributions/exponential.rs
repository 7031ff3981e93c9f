//! The exponential distribution.

use burn::prelude::*;

use super::internal;
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{log_ratio, weighted_exp_excess};

/// The smallest rate a validated constructor accepts: the scale `1/λ` is at most 1e19, as for
/// the location-scale families.
const RATE_MIN: f32 = 1e-19;

/// The exponential distribution with rate λ, one per element of the batch.
///
/// Density (x ≥ 0): `p(x) = λ exp(−λx)`; `−∞` at `x < 0`.
///
/// Reparameterization: `x = ε/λ` with `ε ~ Exp(1)`, so `∂x/∂λ = −x/λ`.
///
/// Entropy: `1 − ln λ`. Mean `1/λ`.
///
/// Valid range (checked by [`new`](Self::new)): λ in `[1e-19, f32::MAX]`. The exponential
/// noise is at most 44.43, so every sample `ε/λ` is finite (at most 4.5e20), and so are its
/// log-density, the entropy and the mean.
///
/// # Shapes
///
/// `rate` of rank `D`, the value shape; samples, `log_prob`, `entropy` and `mean` of the same
/// shape (element-wise).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Exponential};
///
/// let device = Device::flex();
/// let d = Exponential::new(Tensor::<1>::from_floats([2.0], &device))?;
/// let lp = d.log_prob(&Tensor::<1>::from_floats([1.0, -1.0], &device))?;
/// let v = lp.try_into_vec_as::<f32>().unwrap();
/// assert!((v[0] - (2f32.ln() - 2.0)).abs() < 1e-6);
/// assert_eq!(v[1], f32::NEG_INFINITY); // outside the support
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
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every rate is in
    /// `[1e-19, f32::MAX]` (NaN and infinity excluded; a device sync).
    pub fn new(rate: Tensor<D>) -> Result<Self> {
        internal::in_range(
            Self::NAME,
            "rate",
            &rate,
            (RATE_MIN, f32::MAX),
            "finite and in [1e-19, f32::MAX] (the scale 1/rate at most 1e19)",
        )?;
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

    fn device(&self) -> Device {
        self.rate.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// `ln λ − λx` for `x ≥ 0`, −∞ otherwise.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("Exponential::log_prob", value.dims(), self.rate.dims())?;
        let outside = value.clone().lower_elem(0.0);
        let x = value.clone().mask_fill(outside.clone(), 0.0);
        let lp = (self.rate.clone().log() - self.rate.clone() * x).expand(shape);
        Ok(lp.mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            rate: internal::replicate(&self.rate, n, self.rate.dims()[0]),
        }
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

/// `KL(Exp(λ₁) ‖ Exp(λ₂)) = ln(λ₁/λ₂) + λ₂/λ₁ − 1 = φ(y)`, with `y = ln(λ₂/λ₁)` and
/// `φ(y) = e^y − 1 − y`.
///
/// The log-ratio is taken directly and `φ` by its series near 0, so no intermediate
/// overflows or underflows (a ratio of 1e49 gives `ln(1e49) − 1`, not `+∞`), nearly equal
/// rates keep their digits, and the value is `+∞` only where it exceeds `f32::MAX`
/// (`λ₂/λ₁` above about `3.4·10³⁸`).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Exponential;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// let kl: f32 = kl_divergence(&Exponential::new(t(1e30))?, &Exponential::new(t(1e-19))?)?.into_scalar();
/// assert!((kl - (1e49f64.ln() - 1.0) as f32).abs() < 1e-4);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Exponential<D>> for Exponential<D> {
    fn kl_divergence(&self, q: &Exponential<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast(
            "kl_divergence(Exponential, Exponential)",
            &[self.rate.dims(), q.rate.dims()],
        )?;
        let y = log_ratio(q.rate.clone(), self.rate.clone());
        Ok(weighted_exp_excess(y.zeros_like(), y).expand(shape))
    }
}
