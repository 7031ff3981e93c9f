//! The binary Concrete relaxation of the Bernoulli.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::internal::{self, LOG_FLOOR};
use super::{Distribution, Reparameterized};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softplus;

/// The binary Concrete distribution (Maddison et al. 2017, §3.3; the relaxed Bernoulli of
/// Jang et al. 2017) on (0, 1), with logit ℓ and temperature τ > 0, one per element.
///
/// Reparameterization: `y = σ((ℓ + L)/τ)` with `L` standard logistic noise; as `τ → 0`, `y`
/// tends to the Bernoulli sample `1[ℓ + L > 0]`.
///
/// Density: `p(y) = τ α y^{−τ−1} (1 − y)^{−τ−1} / (α y^{−τ} + (1 − y)^{−τ})²`, `α = e^ℓ`, in
/// log space
///
/// `ln p(y) = ln τ + ℓ − (τ + 1) ln y + (τ − 1) ln(1 − y) − 2·softplus(ℓ − τ·logit(y))`,
///
/// computed as `ln τ − |z| − 2·softplus(−|z|) − ln y − ln(1 − y)` with `z = τ·logit(y) − ℓ`
/// (the logistic log-density of the logit, symmetric in `z`, plus the Jacobian): no term
/// overflows for any finite logit and temperature. `y` and `1 − y` are clamped at 1e-30
/// before their logarithms; a `y` outside `[0, 1]` has log-density `−∞`.
///
/// The logit `x = (ℓ + L)/τ` of a sample is logistic with location `ℓ/τ` and scale `1/τ`;
/// [`rsample_logit`](Self::rsample_logit) and [`log_prob_logit`](Self::log_prob_logit) work
/// with `x`, finite where `y` rounds to 0 or 1.
///
/// Valid range: any finite logit (raw, of any magnitude) and any finite `τ > 0`: samples are
/// in `[0, 1]`, and samples, log-densities and gradients are never NaN (`σ` saturates to 0 or
/// 1 where `(ℓ + L)/τ` leaves `f32`; the logit sample is clamped to `±f32::MAX`).
/// Temperatures are used in `f32`, clamped into `[1/f32::MAX, f32::MAX]`.
///
/// # Shapes
///
/// `logits` of rank `D`, the value shape; samples, logits of samples and `log_prob` of the
/// same shape (element-wise).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, RelaxedBernoulli};
///
/// let device = Device::flex();
/// // τ = 1, ℓ = 0: the uniform density on (0, 1)
/// let d = RelaxedBernoulli::new(Tensor::<1>::from_floats([0.0], &device), 1.0)?;
/// let lp: f32 = d.log_prob(&Tensor::<1>::from_floats([0.3], &device))?.into_scalar();
/// assert!(lp.abs() < 1e-5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RelaxedBernoulli<const D: usize> {
    logits: Tensor<D>,
    temperature: f64,
}

impl<const D: usize> RelaxedBernoulli<D> {
    /// From logits and a temperature.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is
    /// not finite and positive, or a NaN or infinite logit (one device sync).
    pub fn new(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        internal::temperature(Self::NAME, temperature)?;
        internal::finite(Self::NAME, "logits", &logits)?;
        Ok(Self {
            logits,
            temperature,
        })
    }

    /// Without the logit check (no device sync); the temperature is still checked (free).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a bad temperature.
    pub fn new_unchecked(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        internal::temperature(Self::NAME, temperature)?;
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

    /// The temperature as the computation uses it (clamped into the `f32` range).
    fn tau(&self) -> f64 {
        internal::f32_temperature(self.temperature)
    }

    /// A differentiable sample of the logit `x = (ℓ + L)/τ` of `y`, clamped to `±f32::MAX`.
    pub fn rsample_logit(&self, noise: &mut NoiseSource) -> Tensor<D> {
        (self.logits.clone() + self.draw_noise(noise))
            .div_scalar(self.tau())
            .clamp(f32::MIN, f32::MAX)
    }

    /// The log-density of the logit `x` of `y`: logistic with location `ℓ/τ`, scale `1/τ`,
    /// `ln τ − |z| − 2·softplus(−|z|)` with `z = τx − ℓ`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `x` does not broadcast to the
    /// batch.
    pub fn log_prob_logit(&self, x: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape(
            "RelaxedBernoulli::log_prob_logit",
            x.dims(),
            self.logits.dims(),
        )?;
        let z = (x.clone() * self.tau() - self.logits.clone()).abs();
        Ok(logistic_core(z).add_scalar(self.tau().ln()).expand(shape))
    }
}

/// `−z − 2·softplus(−z)` for `z = |·| ≥ 0`: the standard logistic log-density without its
/// scale, finite for every finite `z`.
fn logistic_core<const D: usize>(z: Tensor<D>) -> Tensor<D> {
    z.clone().neg() - softplus(z.neg()) * 2.0
}

impl<const D: usize> Distribution<D> for RelaxedBernoulli<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "RelaxedBernoulli";

    fn value_shape(&self) -> [usize; D] {
        self.logits.dims()
    }

    fn device(&self) -> Device {
        self.logits.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// The binary Concrete log-density; `y` and `1 − y` are clamped at 1e-30 before their
    /// logarithms; `−∞` outside `[0, 1]`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape(
            "RelaxedBernoulli::log_prob",
            value.dims(),
            self.logits.dims(),
        )?;
        let tau = self.tau();
        let outside = value
            .clone()
            .lower_elem(0.0)
            .bool_or(value.clone().greater_elem(1.0));
        let log_y = value.clone().clamp_min(LOG_FLOOR).log();
        let log_1my = value
            .clone()
            .neg()
            .add_scalar(1.0)
            .clamp_min(LOG_FLOOR)
            .log();
        let x = log_y.clone() - log_1my.clone();
        let z = (x * tau - self.logits.clone()).abs();
        let lp = (logistic_core(z) - log_y - log_1my).add_scalar(tau.ln());
        Ok(lp
            .expand(shape)
            .mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            logits: internal::replicate(&self.logits, n, self.logits.dims()[0]),
            temperature: self.temperature,
        }
    }
}

impl<const D: usize> Reparameterized<D> for RelaxedBernoulli<D> {
    const NOISE: StandardNoise = StandardNoise::Logistic;

    /// `σ((ℓ + L)/τ)`, saturating to 0 or 1 where the argument leaves `f32`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        sigmoid((self.logits.clone() + eps).div_scalar(self.tau()))
    }
}
