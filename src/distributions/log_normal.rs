//! The log-normal distribution.

use burn::prelude::*;

use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::normal::LN_SQRT_2PI;
use super::{Distribution, Entropy, Mean, Normal, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The log-normal distribution: `ln x ~ N(μ, σ²)`, one per element of the batch.
///
/// Density (x > 0): `p(x) = exp(−(ln x − μ)²/(2σ²)) / (x σ √(2π))`.
///
/// Reparameterization: `x = exp(μ + σ·ε)` with `ε ~ N(0, 1)`.
///
/// Entropy: `μ + ½ ln(2πe σ²)`. Mean `exp(μ + σ²/2)`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{LogNormal, Mean};
///
/// let device = Device::flex();
/// let d = LogNormal::new(Tensor::<1>::from_floats([0.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// let mean: f32 = d.mean().into_scalar();
/// assert!((mean - 0.5f32.exp()).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LogNormal<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> LogNormal<D> {
    loc_scale_constructors!("the mean `loc` and standard deviation `scale` of `ln x`");

    /// The distribution of `ln x`.
    pub fn base(&self) -> Normal<D> {
        Normal::from_core(self.core.clone())
    }
}

impl<const D: usize> Distribution<D> for LogNormal<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "LogNormal";

    loc_scale_methods!();

    /// `−ln x − ln σ − ½ ln 2π − (ln x − μ)²/(2σ²)` for `x > 0`, −∞ otherwise.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("LogNormal::log_prob", value)?;
        let outside = value.clone().lower_equal_elem(0.0);
        let log_x = value.clone().mask_fill(outside.clone(), 1.0).log();
        let z = self.core.standardize(log_x.clone());
        let lp =
            (z.square().mul_scalar(-0.5) - self.core.log_scale() - log_x).sub_scalar(LN_SQRT_2PI);
        Ok(lp
            .expand(shape)
            .mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }
}

impl<const D: usize> Entropy<D> for LogNormal<D> {
    /// `μ + ½ + ½ ln 2π + ln σ`.
    fn entropy(&self) -> Tensor<D> {
        let h = (self.core.loc.clone() + self.core.log_scale()).add_scalar(0.5 + LN_SQRT_2PI);
        self.core.full(h)
    }
}

impl<const D: usize> Mean<D> for LogNormal<D> {
    /// `exp(μ + σ²/2)`.
    fn mean(&self) -> Tensor<D> {
        let m = (self.core.loc.clone() + self.core.scale.clone().square().mul_scalar(0.5)).exp();
        self.core.full(m)
    }
}

impl<const D: usize> Reparameterized<D> for LogNormal<D> {
    const NOISE: StandardNoise = StandardNoise::Normal;

    /// `exp(μ + σ·ε)`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.core.transform(eps).exp()
    }
}

/// The KL divergence of the underlying normals (KL is invariant under the bijection `exp`).
impl<const D: usize> KlDivergence<D, LogNormal<D>> for LogNormal<D> {
    fn kl_divergence(&self, q: &LogNormal<D>) -> Result<Tensor<D>> {
        self.base().kl_divergence(&q.base())
    }
}
