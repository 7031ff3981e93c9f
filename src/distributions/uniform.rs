//! The continuous uniform distribution.

use burn::prelude::*;

use super::params;
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The uniform distribution on `[low, high)`, one per element of the batch.
///
/// Density: `p(x) = 1/(high − low)` on `[low, high)`, 0 elsewhere.
///
/// Reparameterization: `x = low + (high − low)·u` with `u ~ U(0, 1)`, so `∂x/∂low = 1 − u`
/// and `∂x/∂high = u`.
///
/// Entropy: `ln(high − low)`. Mean `(low + high)/2`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Reparameterized, Uniform};
///
/// let device = Device::flex();
/// let d = Uniform::new(Tensor::<1>::from_floats([1.0], &device), Tensor::<1>::from_floats([3.0], &device))?;
/// let x = d.rsample_with_noise(Tensor::<1>::from_floats([0.25], &device))?;
/// assert_eq!(x.into_scalar::<f32>(), 1.5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Uniform<const D: usize> {
    low: Tensor<D>,
    high: Tensor<D>,
    shape: [usize; D],
}

impl<const D: usize> Uniform<D> {
    /// The uniform distribution on `[low, high)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite bound or
    /// `low >= high` (a device sync per check); [`Error::ShapeMismatch`](crate::Error::ShapeMismatch)
    /// when the shapes do not broadcast.
    pub fn new(low: Tensor<D>, high: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(low, high)?;
        params::finite(Self::NAME, "low", &out.low)?;
        params::finite(Self::NAME, "high", &out.high)?;
        params::ordered(Self::NAME, &out.low, &out.high)?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); shapes are checked.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(low: Tensor<D>, high: Tensor<D>) -> Result<Self> {
        let shape = params::broadcast(Self::NAME, &[low.dims(), high.dims()])?;
        Ok(Self { low, high, shape })
    }

    /// The lower bound.
    pub fn low(&self) -> &Tensor<D> {
        &self.low
    }

    /// The upper bound.
    pub fn high(&self) -> &Tensor<D> {
        &self.high
    }

    fn width(&self) -> Tensor<D> {
        self.high.clone() - self.low.clone()
    }
}

impl<const D: usize> Distribution<D> for Uniform<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Uniform";

    fn value_shape(&self) -> [usize; D] {
        self.shape
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.shape.to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn device(&self) -> Device {
        self.low.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// `−ln(high − low)` on `[low, high)`, −∞ elsewhere.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = params::value_shape("Uniform::log_prob", value.dims(), self.shape)?;
        let outside = value
            .clone()
            .lower(self.low.clone())
            .bool_or(value.clone().greater_equal(self.high.clone()));
        let lp = self.width().log().neg().expand(shape);
        Ok(lp.mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            low: params::replicate(&self.low, n),
            high: params::replicate(&self.high, n),
            shape: params::replicated_shape(self.shape, n),
        }
    }
}

impl<const D: usize> Entropy<D> for Uniform<D> {
    /// `ln(high − low)`.
    fn entropy(&self) -> Tensor<D> {
        self.width().log().expand(self.shape)
    }
}

impl<const D: usize> Mean<D> for Uniform<D> {
    /// `(low + high)/2`.
    fn mean(&self) -> Tensor<D> {
        (self.low.clone() + self.high.clone())
            .mul_scalar(0.5)
            .expand(self.shape)
    }
}

impl<const D: usize> Reparameterized<D> for Uniform<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// `low + (high − low)·u`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.low.clone() + self.width() * eps
    }
}

/// `KL(U(a₁, b₁) ‖ U(a₂, b₂)) = ln((b₂ − a₂)/(b₁ − a₁))` when `[a₁, b₁) ⊆ [a₂, b₂)`, +∞
/// otherwise.
impl<const D: usize> KlDivergence<D, Uniform<D>> for Uniform<D> {
    fn kl_divergence(&self, q: &Uniform<D>) -> Result<Tensor<D>> {
        let shape = params::broadcast("kl_divergence(Uniform, Uniform)", &[self.shape, q.shape])?;
        let kl = (q.width().log() - self.width().log()).expand(shape);
        let outside = self
            .low
            .clone()
            .lower(q.low.clone())
            .bool_or(self.high.clone().greater(q.high.clone()))
            .expand(shape);
        Ok(kl.mask_fill(outside, f32::INFINITY))
    }
}
