//! The Gumbel (type-I extreme value) distribution.

use burn::prelude::*;

use super::Reparameterized;
use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::{Distribution, Entropy, Mean};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};

/// The Euler-Mascheroni constant γ.
pub(crate) const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The Gumbel distribution with location μ and scale β, one per element of the batch.
///
/// Density, with `z = (x − μ)/β`: `p(x) = exp(−z − e^{−z}) / β`.
///
/// Reparameterization: `x = μ + β·ε` with `ε = −ln E`, `E ~ Exp(1)` (the standard Gumbel).
///
/// Entropy: `ln β + γ + 1`. Mean `μ + βγ` (γ the Euler-Mascheroni constant).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Gumbel};
///
/// let device = Device::flex();
/// let d = Gumbel::new(Tensor::<1>::from_floats([0.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// // p(0) = e^{-1}
/// let lp: f32 = d.log_prob(&Tensor::<1>::from_floats([0.0], &device))?.into_scalar();
/// assert!((lp + 1.0).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gumbel<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> Gumbel<D> {
    loc_scale_constructors!("the location μ and the scale β");
}

impl<const D: usize> Distribution<D> for Gumbel<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Gumbel";

    loc_scale_methods!();

    /// `−ln β − z − e^{−z}`, `z = (x − μ)/β`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("Gumbel::log_prob", value)?;
        let z = self.core.standardize(value.clone());
        let lp = (z.clone() + z.neg().exp() + self.core.log_scale()).neg();
        Ok(lp.expand(shape))
    }
}

impl<const D: usize> Entropy<D> for Gumbel<D> {
    /// `ln β + γ + 1`.
    fn entropy(&self) -> Tensor<D> {
        self.core
            .full(self.core.log_scale().add_scalar(EULER_GAMMA + 1.0))
    }
}

impl<const D: usize> Mean<D> for Gumbel<D> {
    /// `μ + βγ`.
    fn mean(&self) -> Tensor<D> {
        self.core
            .full(self.core.loc.clone() + self.core.scale.clone().mul_scalar(EULER_GAMMA))
    }
}

impl<const D: usize> Reparameterized<D> for Gumbel<D> {
    const NOISE: StandardNoise = StandardNoise::Gumbel;

    /// `μ + β·ε`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.core.transform(eps)
    }
}
