//! The log-normal distribution.

use burn::prelude::*;

use super::internal::{self, LN_SQRT_2PI};
use super::loc_scale::{LocScale, loc_scale_methods};
use super::normal::normal_kl;
use super::{Distribution, Entropy, Mean, Normal, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The bound `|μ| + 13.708·σ ≤ 87` and `μ + σ²/2 ≤ 87` that keeps samples and the mean normal
/// `f32` numbers (`e^{±87}` is inside `[f32::MIN_POSITIVE, f32::MAX]`).
const EXPONENT_LIMIT: f32 = 87.0;

/// The requirement quoted when the joint range fails.
const JOINT_RANGE: &str = "at least 1e-20, and such that |loc| + 13.708·scale ≤ 87 and \
     loc + scale²/2 ≤ 87 (otherwise exp(loc + scale·ε) or the mean leaves the normal f32 range)";

/// The smallest scale: `ln x` of an `f32` sample `x` is off by up to 4e-6 from `μ + σε` (the
/// rounding of `x`, and of `ln` near 87), so `(ln x − μ)/σ` stays below 4e14 and its square
/// finite.
const SCALE_MIN: f32 = 1e-20;

/// The log-normal distribution: `ln x ~ N(μ, σ²)`, one per element of the batch.
///
/// Density (x > 0): `p(x) = exp(−(ln x − μ)²/(2σ²)) / (x σ √(2π))`; `−∞` at `x ≤ 0`.
///
/// Reparameterization: `x = exp(μ + σ·ε)` with `ε ~ N(0, 1)`.
///
/// Entropy: `μ + ½ ln(2πe σ²)`. Mean `exp(μ + σ²/2)`.
///
/// Valid range (checked by [`new`](Self::new)): μ finite, σ at least 1e-20, and jointly
/// `|μ| + 13.708·σ ≤ 87` and `μ + σ²/2 ≤ 87`. The normal noise never exceeds 13.708 in
/// magnitude ([`StandardNoise::bounds`](crate::StandardNoise::bounds)), so every sample
/// `exp(μ + σε)` is then a positive normal `f32` (never 0 or `+∞`), the mean is finite, and so
/// is the log-density at a sample (with σ ≥ 1e-20 the rounding of `x` and of `ln x`, at most
/// 4e-6, keeps `(ln x − μ)/σ` below 4e14). A σ beyond about 6.3 is rejected: such a law puts
/// mass beyond what `f32` represents.
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
/// use mcgrad::distributions::{LogNormal, Mean};
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// let d = LogNormal::new(t(0.0), t(1.0))?;
/// let mean: f32 = d.mean().into_scalar();
/// assert!((mean - 0.5f32.exp()).abs() < 1e-6);
/// // a σ whose samples would overflow f32 is a typed error
/// assert!(LogNormal::new(t(0.0), t(100.0)).is_err());
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LogNormal<const D: usize> {
    core: LocScale<D>,
}

impl<const D: usize> LogNormal<D> {
    /// From the mean `loc` and standard deviation `scale` of `ln x`, which broadcast against
    /// each other.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite `loc`, a
    /// `scale` below 1e-20 or not finite, or a pair outside the joint range of the type's
    /// documentation (device syncs); [`Error::ShapeMismatch`](crate::Error::ShapeMismatch)
    /// when the shapes do not broadcast.
    pub fn new(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let core = LocScale::new(Self::NAME, loc, scale)?;
        let (loc, scale) = (core.loc.clone(), core.scale.clone());
        let reach = loc.clone().abs() + scale.clone().mul_scalar(13.708);
        let mean_exponent = loc + scale.square().mul_scalar(0.5);
        let bad = reach
            .greater_elem(EXPONENT_LIMIT)
            .bool_or(mean_exponent.greater_elem(EXPONENT_LIMIT))
            .bool_or(core.scale.clone().lower_elem(SCALE_MIN));
        internal::reject_if(Self::NAME, "scale", bad, JOINT_RANGE)?;
        Ok(Self { core })
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); shapes are checked.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        Ok(Self {
            core: LocScale::unchecked(Self::NAME, loc, scale)?,
        })
    }

    /// The mean μ of `ln x`.
    pub fn loc(&self) -> &Tensor<D> {
        &self.core.loc
    }

    /// The standard deviation σ of `ln x`.
    pub fn scale(&self) -> &Tensor<D> {
        &self.core.scale
    }

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
        let h = self.core.half_standardize(log_x.clone());
        let lp =
            (h.square().mul_scalar(-2.0) - self.core.log_scale() - log_x).sub_scalar(LN_SQRT_2PI);
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

/// The KL divergence of the underlying normals (KL is invariant under the bijection `exp`),
/// with the same accuracy and range.
impl<const D: usize> KlDivergence<D, LogNormal<D>> for LogNormal<D> {
    fn kl_divergence(&self, q: &LogNormal<D>) -> Result<Tensor<D>> {
        let shape = self
            .core
            .pair_shape("kl_divergence(LogNormal, LogNormal)", &q.core)?;
        Ok(normal_kl(&self.core, &q.core).expand(shape))
    }
}
