//! The normal (Gaussian) distribution, element-wise (a diagonal Gaussian).

use burn::prelude::*;

use super::internal::LN_SQRT_2PI;
use super::loc_scale::{LocScale, loc_scale_methods};
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{div_stable, weighted_exp_excess};

/// The normal distribution `N(μ, σ²)`, one per element of the batch.
///
/// Density: `p(x) = exp(−(x − μ)² / (2σ²)) / (σ √(2π))`.
///
/// Reparameterization: `x = μ + σ·ε` with `ε ~ N(0, 1)`, so `∂x/∂μ = 1` and `∂x/∂σ = ε`.
///
/// Entropy: `½ ln(2πe σ²)`. Mean `μ`, variance `σ²`.
///
/// Valid range (checked by [`new`](Self::new) and [`from_log_scale`](Self::from_log_scale)):
/// any finite μ; σ in `[f32::MIN_POSITIVE, 1e19]`, a log-scale in `[−87.3, 43.7]`. Within it
/// samples, log-densities at samples, the entropy and the variance are finite; a log-density
/// is `−∞` only where the exact value is below `−f32::MAX`.
///
/// # Shapes
///
/// `loc` and `scale` of rank `D`, broadcasting to the value shape; samples, `log_prob`,
/// `entropy`, `mean` and `variance` of the value shape (element-wise).
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
    /// `loc`, or a `scale` outside `[f32::MIN_POSITIVE, 1e19]` (NaN and infinity included);
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
    /// `loc`, or a log-scale outside `[−87.3, 43.7]` (`exp` of it outside the valid scale
    /// range: a log-scale of 100 would make σ infinite, −120 a subnormal σ);
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for shapes that do not broadcast.
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
    /// // a log-scale whose exp leaves f32 is an error, not an infinite σ
    /// assert!(Normal::from_log_scale(
    ///     Tensor::<1>::from_floats([0.0], &device),
    ///     Tensor::<1>::from_floats([100.0], &device),
    /// ).is_err());
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

    /// `−(x − μ)²/(2σ²) − ln σ − ½ ln 2π`, computed as `−2h² − ln σ − ½ ln 2π` with
    /// `h = (x/2 − μ/2)/σ`: no intermediate overflows, and the value is `−∞` only where the exact
    /// one is below `−f32::MAX` (halving is exact, so ordinary inputs give the same bits as
    /// the textbook formula).
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = self.core.check_value("Normal::log_prob", value)?;
        let h = self.core.half_standardize(value.clone());
        let lp = (h.square().mul_scalar(-2.0) - self.core.log_scale()).sub_scalar(LN_SQRT_2PI);
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
/// Computed as `2h² + ½φ(2d)` with `d = ln(σ₁/σ₂)`, `h = (μ₁/2 − μ₂/2)/σ₂` and
/// `φ(u) = e^u − 1 − u ≥ 0`: the log-ratio of the scales is taken directly (the difference of
/// the log-scales where both were given), never through the squared ratio, and `φ` by its
/// series near 0. So the value is accurate to a few ulp for nearly equal distributions (no
/// cancellation), finite for every pair of valid scales (`KL(N(0, 10⁻³⁰) ‖ N(0, 1)) = 68.58`),
/// and `+∞` exactly where the divergence exceeds `f32::MAX` (`σ₁/σ₂` above about `2.6·10¹⁹`, or
/// `|μ₁ − μ₂|/σ₂` above about `2.6·10¹⁹`).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Normal;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// let p = Normal::new(t(1.0), t(1.0))?;
/// let q = Normal::new(t(0.0), t(1.0))?;
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - 0.5).abs() < 1e-6);
/// // a tiny scale against a unit one: ln(1e30) − ½, no overflow in between
/// let tiny = Normal::new(t(0.0), t(1e-30))?;
/// let kl: f32 = kl_divergence(&tiny, &q)?.into_scalar();
/// assert!((kl - 68.577_55).abs() < 1e-4);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Normal<D>> for Normal<D> {
    fn kl_divergence(&self, q: &Normal<D>) -> Result<Tensor<D>> {
        let shape = self
            .core
            .pair_shape("kl_divergence(Normal, Normal)", &q.core)?;
        Ok(normal_kl(&self.core, &q.core).expand(shape))
    }
}

/// `KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²))` of two location-scale cores, element-wise (see the
/// `KlDivergence` impl).
pub(crate) fn normal_kl<const D: usize>(p: &LocScale<D>, q: &LocScale<D>) -> Tensor<D> {
    let d = p.log_scale_ratio(q);
    let gap = p.loc.clone().mul_scalar(0.5) - q.loc.clone().mul_scalar(0.5);
    let (dg, ds) = (gap.dims(), q.scale.dims());
    let shape: [usize; D] = core::array::from_fn(|i| dg[i].max(ds[i]));
    let h = div_stable(gap.expand(shape), q.scale.clone().expand(shape));
    let half = d.zeros_like().sub_scalar(core::f64::consts::LN_2);
    h.square().mul_scalar(2.0) + weighted_exp_excess(half, d.mul_scalar(2.0))
}
