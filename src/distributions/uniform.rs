//! The continuous uniform distribution.

use burn::prelude::*;

use super::internal;
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::log_ratio;

/// The uniform distribution on `[low, high]`, one per element of the batch.
///
/// Density: `p(x) = 1/(high − low)` on `[low, high]`, 0 elsewhere (the closed interval, so
/// that every `f32` sample, which rounding can put on `high`, is inside).
///
/// Reparameterization: `x = low + (high − low)·u` with `u ~ U(0, 1)`, so `∂x/∂low = 1 − u`
/// and `∂x/∂high = u`.
///
/// Entropy: `ln(high − low)`. Mean `(low + high)/2`.
///
/// Valid range (checked by [`new`](Self::new)): finite bounds with `low < high` and a width
/// `high − low` that is finite and at least `f32::MIN_POSITIVE`. Within it samples lie in
/// `[low, high]` and the log-density `−ln(high − low)` is finite.
///
/// # Shapes
///
/// `low` and `high` of rank `D`, broadcasting to the value shape; samples, `log_prob`,
/// `entropy` and `mean` of the value shape (element-wise).
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
    /// The uniform distribution on `[low, high]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite bound,
    /// `low >= high`, or a width `high − low` that overflows or is below `f32::MIN_POSITIVE`
    /// (a device sync per check); [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when
    /// the shapes do not broadcast.
    pub fn new(low: Tensor<D>, high: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(low, high)?;
        internal::finite(Self::NAME, "low", &out.low)?;
        internal::finite(Self::NAME, "high", &out.high)?;
        internal::reject_if(
            Self::NAME,
            "low",
            out.low.clone().greater_equal(out.high.clone()),
            "strictly below `high`",
        )?;
        internal::in_range(
            Self::NAME,
            "high",
            &out.width(),
            (f32::MIN_POSITIVE, f32::MAX),
            "such that high − low is finite and at least f32::MIN_POSITIVE",
        )?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); shapes are checked.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(low: Tensor<D>, high: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(Self::NAME, &[low.dims(), high.dims()])?;
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

    fn device(&self) -> Device {
        self.low.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// `−ln(high − low)` on `[low, high]`, −∞ elsewhere.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("Uniform::log_prob", value.dims(), self.shape)?;
        let outside = value
            .clone()
            .lower(self.low.clone())
            .bool_or(value.clone().greater(self.high.clone()));
        let lp = self.width().log().neg().expand(shape);
        Ok(lp.mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            low: internal::replicate(&self.low, n, self.shape[0]),
            high: internal::replicate(&self.high, n, self.shape[0]),
            shape: internal::replicated_shape(self.shape, n),
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
    /// `low/2 + high/2` (the same bits as `(low + high)/2`, without overflow).
    fn mean(&self) -> Tensor<D> {
        (self.low.clone().mul_scalar(0.5) + self.high.clone().mul_scalar(0.5)).expand(self.shape)
    }
}

impl<const D: usize> Reparameterized<D> for Uniform<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// `low + (high − low)·u`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        // rounding can carry low + w·u up past `high` by an ulp where w is a few ulp of high
        (self.low.clone() + self.width() * eps).min_pair(self.high.clone().expand(self.shape))
    }
}

/// `KL(U(a₁, b₁) ‖ U(a₂, b₂)) = ln((b₂ − a₂)/(b₁ − a₁))` when `[a₁, b₁] ⊆ [a₂, b₂]`, +∞
/// otherwise. The log-ratio of the widths is taken directly (finite for every pair of valid
/// widths, accurate for nearly equal ones).
impl<const D: usize> KlDivergence<D, Uniform<D>> for Uniform<D> {
    fn kl_divergence(&self, q: &Uniform<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast("kl_divergence(Uniform, Uniform)", &[self.shape, q.shape])?;
        let kl = log_ratio(q.width(), self.width()).expand(shape);
        let outside = self
            .low
            .clone()
            .lower(q.low.clone())
            .bool_or(self.high.clone().greater(q.high.clone()))
            .expand(shape);
        Ok(kl.mask_fill(outside, f32::INFINITY))
    }
}
