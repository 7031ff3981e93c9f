//! The Gumbel (type-I extreme value) distribution.

use burn::prelude::*;

use super::Reparameterized;
use super::internal::EULER_GAMMA;
use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::{Distribution, Entropy, Mean};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};

/// The Gumbel distribution with location μ and scale β, one per element of the batch.
///
/// Density, with `z = (x − μ)/β`: `p(x) = exp(−z − e^{−z}) / β`.
///
/// Reparameterization: `x = μ + β·ε` with `ε = −ln E`, `E ~ Exp(1)` (the standard Gumbel).
///
/// Entropy: `ln β + γ + 1`. Mean `μ + βγ` (γ the Euler-Mascheroni constant).
///
/// Valid range (checked by [`new`](Self::new)): any finite μ; β in `[f32::MIN_POSITIVE, 1e19]`.
/// Within it samples (the noise lies in `[−3.8, 104]`), log-densities at samples, the entropy
/// and the mean are finite.
///
/// # Shapes
///
/// `loc` and `scale` of rank `D`, broadcasting to the value shape; samples, `log_prob`,
/// `entropy` and `mean` of the value shape (element-wise).
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

    /// `−ln β − z − e^{−z}`, `z = (x − μ)/β`; `−∞` only where the exact value is below
    /// `−f32::MAX` (`e^{−z}` overflows for `z < −88.7`, where the density is that small).
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
