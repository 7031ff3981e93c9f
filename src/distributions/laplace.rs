//! The Laplace (double exponential) distribution.

use burn::prelude::*;

use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::{Distribution, Entropy, Mean, Reparameterized, params};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The Laplace distribution with location μ and scale b, one per element of the batch.
///
/// Density: `p(x) = exp(−|x − μ|/b) / (2b)`.
///
/// Reparameterization: `x = μ + b·ε` with `ε` standard Laplace (`±E`, `E ~ Exp(1)`).
///
/// Entropy: `1 + ln(2b)`. Mean `μ`, variance `2b²`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Laplace};
///
/// let device = Device::flex();
/// let d = Laplace::new(Tensor::<1>::from_floats([0.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// let lp: f32 = d.log_prob(&Tensor::<1>::from_floats([1.0], &device))?.into_scalar();
/// assert!((lp - (-(2f32.ln()) - 1.0)).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Laplace<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> Laplace<D> {
    loc_scale_constructors!("the location μ and the scale b");
}

impl<const D: usize> Distribution<D> for Laplace<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Laplace";

    loc_scale_methods!();

    /// `−ln(2b) − |x − μ|/b`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("Laplace::log_prob", value)?;
        let z = self.core.standardize(value.clone()).abs();
        let lp = (z + self.core.log_scale())
            .neg()
            .sub_scalar(core::f64::consts::LN_2);
        Ok(lp.expand(shape))
    }
}

impl<const D: usize> Entropy<D> for Laplace<D> {
    /// `1 + ln(2b)`.
    fn entropy(&self) -> Tensor<D> {
        self.core.full(
            self.core
                .log_scale()
                .add_scalar(1.0 + core::f64::consts::LN_2),
        )
    }
}

impl<const D: usize> Mean<D> for Laplace<D> {
    fn mean(&self) -> Tensor<D> {
        self.core.full(self.core.loc.clone())
    }
}

impl<const D: usize> Reparameterized<D> for Laplace<D> {
    const NOISE: StandardNoise = StandardNoise::Laplace;

    /// `μ + b·ε`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.core.transform(eps)
    }
}

/// `KL(L(μ₁, b₁) ‖ L(μ₂, b₂)) = ln(b₂/b₁) + |μ₁ − μ₂|/b₂ + (b₁/b₂)·exp(−|μ₁ − μ₂|/b₁) − 1`.
impl<const D: usize> KlDivergence<D, Laplace<D>> for Laplace<D> {
    fn kl_divergence(&self, q: &Laplace<D>) -> Result<Tensor<D>> {
        let shape = params::broadcast(
            "kl_divergence(Laplace, Laplace)",
            &[self.core.shape, q.core.shape],
        )?;
        let (b1, b2) = (self.core.scale.clone(), q.core.scale.clone());
        let dist = (self.core.loc.clone() - q.core.loc.clone()).abs();
        let kl = q.core.log_scale() - self.core.log_scale()
            + dist.clone() / b2.clone()
            + (b1.clone() / b2) * (dist / b1).neg().exp();
        Ok(kl.sub_scalar(1.0).expand(shape))
    }
}
