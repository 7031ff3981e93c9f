//! The normal (Gaussian) distribution, element-wise (a diagonal Gaussian).

use burn::prelude::*;

use super::loc_scale::{LocScale, loc_scale_methods};
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// `ln √(2π)`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;

/// The normal distribution `N(μ, σ²)`, one per element of the batch.
///
/// Density: `p(x) = exp(−(x − μ)² / (2σ²)) / (σ √(2π))`.
///
/// Reparameterization: `x = μ + σ·ε` with `ε ~ N(0, 1)`, so `∂x/∂μ = 1` and `∂x/∂σ = ε`.
///
/// Entropy: `½ ln(2πe σ²)`. Mean `μ`, variance `σ²`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, Normal, Reparameterized};
/// use mcgrad::NoiseSource;
///
/// let device = Device::flex().autodiff();
/// let loc = Tensor::<2>::from_floats([[0.0, 1.0]], &device).require_grad();
/// let scale = Tensor::<2>::from_floats([[1.0, 2.0]], &device).require_grad();
/// let normal = Normal::new(loc.clone(), scale.clone())?;
/// let z = normal.rsample(&mut NoiseSource::seed_from_u64(0));
/// let grads = z.sum().backward();
/// // ∂(μ + σε)/∂μ = 1
/// assert_eq!(loc.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap(), vec![1.0, 1.0]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Normal<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> Normal<D> {
    /// A normal distribution from its mean `loc` and standard deviation `scale`, which
    /// broadcast against each other.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a NaN or infinite
    /// `loc`, or a `scale` that is not finite and positive;
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    /// The value checks read the tensors back (a device sync); see
    /// [`new_unchecked`](Self::new_unchecked) for hot loops.
    pub fn new(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        Ok(Self {
            core: LocScale::new(Self::NAME, loc, scale)?,
        })
    }

    /// A normal distribution from its mean and the logarithm of its standard deviation, the
    /// usual output of an encoder network: `σ = exp(log_scale)` is positive by construction.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a NaN or infinite
    /// value; [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for shapes that do not
    /// broadcast.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::distributions::{Distribution, Entropy, Normal};
    ///
    /// let device = Device::flex();
    /// let n = Normal::from_log_scale(
    ///     Tensor::<1>::from_floats([0.0], &device),
    ///     Tensor::<1>::from_floats([0.0], &device),
    /// )?;
    /// // entropy of N(0, 1): ½ ln(2πe) ≈ 1.4189
    /// let h: f32 = n.entropy().into_scalar();
    /// assert!((h - 1.418_938_5).abs() < 1e-6);
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn from_log_scale(loc: Tensor<D>, log_scale: Tensor<D>) -> Result<Self> {
        Ok(Self {
            core: LocScale::from_log_scale(Self::NAME, loc, log_scale)?,
        })
    }

    /// Like [`from_log_scale`](Self::from_log_scale) without the value checks (no device
    /// sync); shapes are checked.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for shapes that do not
    /// broadcast.
    pub fn from_log_scale_unchecked(loc: Tensor<D>, log_scale: Tensor<D>) -> Result<Self> {
        Ok(Self {
            core: LocScale::from_log_scale_unchecked(Self::NAME, loc, log_scale)?,
        })
    }

    /// Like [`new`](Self::new) but skips the value checks, which read the parameters back
    /// from the device. For hot loops where the parameters are known to be valid (a softplus
    /// output, say). Shapes are still checked: that costs nothing.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for shapes that do not
    /// broadcast.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::distributions::{Distribution, Normal};
    ///
    /// let device = Device::flex();
    /// let n = Normal::new_unchecked(Tensor::<2>::zeros([1, 3], &device), Tensor::<2>::ones([4, 1], &device))?;
    /// assert_eq!(n.value_shape(), [4, 3]);
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn new_unchecked(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        Ok(Self {
            core: LocScale::unchecked(Self::NAME, loc, scale)?,
        })
    }

    pub(crate) fn from_core(core: LocScale<D>) -> Self {
        Self { core }
    }

    /// The mean μ.
    pub fn loc(&self) -> &Tensor<D> {
        &self.core.loc
    }

    /// The standard deviation σ.
    pub fn scale(&self) -> &Tensor<D> {
        &self.core.scale
    }

    /// The variance σ², of the value shape.
    pub fn variance(&self) -> Tensor<D> {
        self.core.full(self.core.scale.clone().square())
    }
}

impl<const D: usize> Distribution<D> for Normal<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Normal";

    loc_scale_methods!();

    /// `−(x − μ)²/(2σ²) − ln σ − ½ ln 2π`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("Normal::log_prob", value)?;
        let z = self.core.standardize(value.clone());
        let lp = (z.square().mul_scalar(-0.5) - self.core.log_scale()).sub_scalar(LN_SQRT_2PI);
        Ok(lp.expand(shape))
    }
}

impl<const D: usize> Entropy<D> for Normal<D> {
    /// `½ + ½ ln 2π + ln σ`.
    fn entropy(&self) -> Tensor<D> {
        self.core
            .full(self.core.log_scale().add_scalar(0.5 + LN_SQRT_2PI))
    }
}

impl<const D: usize> Mean<D> for Normal<D> {
    fn mean(&self) -> Tensor<D> {
        self.core.full(self.core.loc.clone())
    }
}

impl<const D: usize> Reparameterized<D> for Normal<D> {
    const NOISE: StandardNoise = StandardNoise::Normal;

    /// `μ + σ·ε`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.core.transform(eps)
    }
}

/// `KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = ln(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½`, element-wise.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Normal;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let p = Normal::new(Tensor::<1>::from_floats([1.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// let q = Normal::new(Tensor::<1>::from_floats([0.0], &device), Tensor::<1>::from_floats([1.0], &device))?;
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - 0.5).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Normal<D>> for Normal<D> {
    fn kl_divergence(&self, q: &Normal<D>) -> Result<Tensor<D>> {
        let shape = crate::distributions::params::broadcast(
            "kl_divergence(Normal, Normal)",
            &[self.core.shape, q.core.shape],
        )?;
        let var_ratio = (self.core.scale.clone() / q.core.scale.clone()).square();
        let mean_term =
            ((self.core.loc.clone() - q.core.loc.clone()) / q.core.scale.clone()).square();
        let kl = (var_ratio.clone() + mean_term - var_ratio.log())
            .mul_scalar(0.5)
            .sub_scalar(0.5);
        Ok(kl.expand(shape))
    }
}
