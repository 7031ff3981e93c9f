//! The Laplace (double exponential) distribution.

use burn::prelude::*;

use super::loc_scale::{LocScale, loc_scale_constructors, loc_scale_methods};
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{LN_F32_MAX, div_stable, weighted_exp_excess};

/// The Laplace distribution with location μ and scale b, one per element of the batch.
///
/// Density: `p(x) = exp(−|x − μ|/b) / (2b)`.
///
/// Reparameterization: `x = μ + b·ε` with `ε` standard Laplace (`±E`, `E ~ Exp(1)`).
///
/// Entropy: `1 + ln(2b)`. Mean `μ`, variance `2b²`.
///
/// Valid range (checked by [`new`](Self::new)): any finite μ; b in `[f32::MIN_POSITIVE, 1e19]`.
/// Within it samples (the noise is at most 44.43 in magnitude), log-densities at samples and
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
///
/// With `d = ln(b₁/b₂)` and `t = |μ₁ − μ₂|/b₁` it is `φ(d) + e^d·φ(−t)`, `φ(u) = e^u − 1 − u ≥ 0`:
/// a sum of two non-negative terms, each computed without cancellation (the series of `φ`
/// near 0), so nearly equal distributions keep their digits. For `t > 1` the divergence is
/// `|μ₁ − μ₂|/b₂ − 1 − d + e^{d − t}` (the `e^d` of the two terms cancelled analytically, so
/// that a large scale ratio keeps the gradient `−1/b₁`; positive terms but for a factor of at
/// most 5 at `t = 1`). No intermediate overflows for valid scales, and the gradient is finite
/// wherever the divergence is (its exact value permitting); the value is `+∞` only where the
/// divergence exceeds `f32::MAX`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Laplace;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// let p = Laplace::new(t(0.0), t(1e-30))?;
/// let q = Laplace::new(t(0.0), t(1.0))?;
/// // ln(1e30) − 1 + 1e-30
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - (1e30f64.ln() - 1.0) as f32).abs() < 1e-4);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Laplace<D>> for Laplace<D> {
    fn kl_divergence(&self, q: &Laplace<D>) -> Result<Tensor<D>> {
        let shape = self
            .core
            .pair_shape("kl_divergence(Laplace, Laplace)", &q.core)?;
        let (p, q) = (&self.core, &q.core);
        let d = p.log_scale_ratio(q).expand(shape);
        let half_gap = (p.loc.clone().mul_scalar(0.5) - q.loc.clone().mul_scalar(0.5))
            .abs()
            .expand(shape);
        let scale = p.scale.clone().expand(shape);
        // the branches are chosen on constants, and each is fed inputs it handles where it is
        // not taken (a derivative beyond f32 there would meet the zero gradient of the mask:
        // 0·∞ = NaN); where t > 1e4 (e^{−t} = 0 in f32) t is computed from a zero gap
        let t_value = div_stable(half_gap.clone().detach(), scale.clone().detach()).mul_scalar(2.0);
        let huge = t_value.clone().greater_elem(1e4);
        let small = t_value.lower_equal_elem(1.0);
        let t = div_stable(half_gap.clone().mask_fill(huge.clone(), 0.0), scale).mul_scalar(2.0);
        // t ≤ 1: φ(d) + e^d·φ(−t), φ by its series (e^d capped where φ(d) is already infinite:
        // the sum is +∞ there either way; d = 0 where the branch is not taken)
        let d_near = d.clone().mask_fill(small.clone().bool_not(), 0.0);
        let d_cap = d_near.clone().clamp_max(LN_F32_MAX);
        let t_small = t.clone().clamp_max(1.0);
        let near = weighted_exp_excess(d_near.zeros_like(), d_near)
            + weighted_exp_excess(d_cap, t_small.neg());
        // t > 1: φ(d) + e^d(e^{−t} − 1 + t) = |μ₁ − μ₂|/b₂ − 1 − d + e^{d − t}, with the e^d of
        // the two terms cancelled analytically (in f32 they would cancel to nothing for a large
        // b₁/b₂, and with them the gradient −1/b₁ in b₁); the last term 0 where t > 1e4
        let far = div_stable(half_gap, q.scale.clone().expand(shape)).mul_scalar(2.0)
            - d.clone().add_scalar(1.0)
            + (d.clamp_max(LN_F32_MAX) - t).exp().mask_fill(huge, 0.0);
        Ok(far.mask_where(small, near))
    }
}
