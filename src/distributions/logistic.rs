//! The logistic distribution.

use burn::prelude::*;

use super::Reparameterized;
use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::{Distribution, Entropy, Mean};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softplus;

/// The logistic distribution with location μ and scale s, one per element of the batch.
///
/// Density, with `z = (x − μ)/s`: `p(x) = e^{−z} / (s (1 + e^{−z})²)`.
///
/// Reparameterization: `x = μ + s·ε` with `ε = ln u − ln(1 − u)`, `u ~ U(0, 1)`.
///
/// Entropy: `ln s + 2`. Mean `μ`, variance `s²π²/3`.
///
/// Valid range (checked by [`new`](Self::new)): any finite μ; s in `[f32::MIN_POSITIVE, 1e19]`.
/// Within it samples (the noise is at most 36.74 in magnitude), log-densities at samples and
/// the entropy are finite.
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
/// use mcgrad::distributions::{Distribution, Logistic};
///
/// let device = Device::flex();
/// let d = Logistic::new(Tensor::<1>::from_floats([0.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// // p(0) = 1/4
/// let lp: f32 = d.log_prob(&Tensor::<1>::from_floats([0.0], &device))?.into_scalar();
/// assert!((lp - 0.25f32.ln()).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Logistic<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> Logistic<D> {
    loc_scale_constructors!("the location μ and the scale s");
}

impl<const D: usize> Distribution<D> for Logistic<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Logistic";

    loc_scale_methods!();

    /// `−|z| − ln s − 2·softplus(−|z|)`, `z = (x − μ)/s` (the density is symmetric in `z`);
    /// no term overflows, so the value is `−∞` only beyond `−f32::MAX`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("Logistic::log_prob", value)?;
        let z = self.core.standardize(value.clone()).abs();
        let lp = z.clone().neg() - self.core.log_scale() - softplus(z.neg()).mul_scalar(2.0);
        Ok(lp.expand(shape))
    }
}

impl<const D: usize> Entropy<D> for Logistic<D> {
    /// `ln s + 2`.
    fn entropy(&self) -> Tensor<D> {
        self.core.full(self.core.log_scale().add_scalar(2.0))
    }
}

impl<const D: usize> Mean<D> for Logistic<D> {
    fn mean(&self) -> Tensor<D> {
        self.core.full(self.core.loc.clone())
    }
}

impl<const D: usize> Reparameterized<D> for Logistic<D> {
    const NOISE: StandardNoise = StandardNoise::Logistic;

    /// `μ + s·ε`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.core.transform(eps)
    }
}
