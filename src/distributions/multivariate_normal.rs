//! The multivariate normal distribution with a lower-triangular scale.

use burn::prelude::*;

use super::internal::{self, LN_SQRT_2PI, SCALE_MAX};
use super::{Distribution, Entropy, Mean, Reparameterized};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::linalg::{diagonal, solve_lower};
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{log_ratio, weighted_exp_excess};

/// The multivariate normal `N(μ, L Lᵀ)` over vectors of size `K`, one per row of a batch,
/// parameterized by a lower-triangular scale `L` with a positive diagonal (the Cholesky factor
/// of the covariance).
///
/// Density: `p(x) = exp(−½‖L⁻¹(x − μ)‖²) / ((2π)^{K/2} Π_i L_ii)`.
///
/// Reparameterization: `x = μ + L ε` with `ε ~ N(0, I_K)`.
///
/// Entropy: `K/2 (1 + ln 2π) + Σ_i ln L_ii`. Mean `μ`.
///
/// Valid range (checked by [`new`](Self::new)): μ finite; `L` lower triangular with entries
/// at most 1e19 in magnitude, a diagonal in `[f32::MIN_POSITIVE, 1e19]`, and in each row
/// `Σ_{j<i} |L_ij| ≤ 10⁶·L_ii` (otherwise the covariance is singular to `f32` precision: a
/// coordinate's conditional scale is below the rounding of its dependence on the others).
/// Within it every sample `μ + Lε` is finite (the noise is at most 13.71 in magnitude), and so
/// are the entropy and the log-density at a sample: each step of the forward substitution
/// behind `log_prob` then adds at most 6% of the largest coordinate to its rounding error.
///
/// # Shapes
///
/// - `loc`: `[B, K]` (or `[1, K]`, broadcast over the batch)
/// - `scale_tril`: `[B, K, K]` (or `[1, K, K]`)
/// - samples and mean: `[B, K]`; `log_prob` and `entropy`: `[B, 1]`
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Distribution, MultivariateNormal, Reparameterized};
///
/// let device = Device::flex();
/// let loc = Tensor::<2>::from_floats([[1.0, -1.0]], &device);
/// let l = Tensor::<3>::from_floats([[[2.0, 0.0], [1.0, 1.0]]], &device);
/// let mvn = MultivariateNormal::new(loc, l)?;
/// let x = mvn.rsample_with_noise(Tensor::<2>::from_floats([[1.0, 1.0]], &device))?;
/// // μ + L·(1, 1) = (1 + 2, −1 + 2)
/// assert_eq!(x.try_into_vec_as::<f32>().unwrap(), vec![3.0, 1.0]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultivariateNormal {
    loc: Tensor<2>,
    scale_tril: Tensor<3>,
    rows: usize,
    size: usize,
}

impl MultivariateNormal {
    /// From the mean `loc` and the lower-triangular scale `scale_tril`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a non-finite value, an entry above 1e19 in magnitude, a
    /// diagonal entry outside `[f32::MIN_POSITIVE, 1e19]`, a nonzero entry above the diagonal,
    /// or a row whose off-diagonal entries add up to more than 10⁶ times its diagonal entry
    /// (device syncs); [`Error::ShapeMismatch`] for shapes that do not fit.
    pub fn new(loc: Tensor<2>, scale_tril: Tensor<3>) -> Result<Self> {
        let out = Self::new_unchecked(loc, scale_tril)?;
        internal::finite(Self::NAME, "loc", &out.loc)?;
        internal::in_range(
            Self::NAME,
            "scale_tril",
            &out.scale_tril,
            (-SCALE_MAX, SCALE_MAX),
            "finite, with entries at most 1e19 in magnitude",
        )?;
        let diag = diagonal(out.scale_tril.clone());
        internal::scale(Self::NAME, "scale_tril", &diag)?;
        let [b, k, _] = out.scale_tril.dims();
        let off_row_sums = out
            .scale_tril
            .clone()
            .tril(-1)
            .abs()
            .sum_dim(2)
            .reshape([b, k]);
        internal::reject_if(
            Self::NAME,
            "scale_tril",
            off_row_sums.greater(diag.mul_scalar(1e6)),
            "not singular to f32 precision: in each row, the off-diagonal entries add up to at \
             most 1e6 times the diagonal entry",
        )?;
        let upper = out.scale_tril.clone().triu(1).abs();
        let n = upper.shape().num_elements();
        if upper
            .reshape([n])
            .greater_elem(0.0)
            .any()
            .into_scalar::<bool>()
        {
            return Err(Error::invalid(
                Self::NAME,
                "scale_tril",
                "lower triangular (zero above the diagonal)",
            ));
        }
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); shapes are checked.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for shapes that do not fit.
    pub fn new_unchecked(loc: Tensor<2>, scale_tril: Tensor<3>) -> Result<Self> {
        let [lb, k] = loc.dims();
        let [sb, k1, k2] = scale_tril.dims();
        if k1 != k || k2 != k {
            return Err(Error::ShapeMismatch {
                context: "MultivariateNormal: loc [B, K] against scale_tril [B, K, K]",
                left: vec![lb, k],
                right: vec![sb, k1, k2],
            });
        }
        let [rows] = internal::broadcast(Self::NAME, &[[lb], [sb]])?;
        Ok(Self {
            loc,
            scale_tril,
            rows,
            size: k,
        })
    }

    /// The mean μ.
    pub fn loc(&self) -> &Tensor<2> {
        &self.loc
    }

    /// The lower-triangular scale `L`.
    pub fn scale_tril(&self) -> &Tensor<3> {
        &self.scale_tril
    }

    /// The covariance `L Lᵀ`, `[B, K, K]`.
    pub fn covariance(&self) -> Tensor<3> {
        let l = self.full_tril();
        l.clone().matmul(l.swap_dims(1, 2))
    }

    fn full_tril(&self) -> Tensor<3> {
        self.scale_tril
            .clone()
            .expand([self.rows, self.size, self.size])
    }

    /// `Σ_i ln L_ii`, `[B, 1]`.
    fn half_log_det(&self) -> Tensor<2> {
        diagonal(self.full_tril()).log().sum_dim(1)
    }
}

impl Distribution<2> for MultivariateNormal {
    type Value = Tensor<2>;
    const NAME: &'static str = "MultivariateNormal";

    fn value_shape(&self) -> [usize; 2] {
        [self.rows, self.size]
    }

    fn batch_shape(&self) -> Vec<usize> {
        vec![self.rows]
    }

    fn event_shape(&self) -> Vec<usize> {
        vec![self.size]
    }

    fn device(&self) -> Device {
        self.loc.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<2> {
        self.rsample(noise).detach()
    }

    /// `−½‖L⁻¹(x − μ)‖² − Σ ln L_ii − (K/2) ln 2π`, `[B, 1]`, computed as `−2‖L⁻¹(x/2 − μ/2)‖²`
    /// so that no difference overflows.
    fn log_prob(&self, value: &Tensor<2>) -> Result<Tensor<2>> {
        let [rows, k] = internal::value_shape(
            "MultivariateNormal::log_prob",
            value.dims(),
            self.value_shape(),
        )?;
        let half_diff =
            (value.clone().mul_scalar(0.5) - self.loc.clone().mul_scalar(0.5)).expand([rows, k]);
        let l = self.scale_tril.clone().expand([rows, k, k]);
        let y = solve_lower(l, half_diff.reshape([rows, k, 1]));
        let maha = y.square().sum_dim(1).reshape([rows, 1]);
        Ok(
            (maha.mul_scalar(-2.0) - self.half_log_det().expand([rows, 1]))
                .sub_scalar(k as f64 * LN_SQRT_2PI),
        )
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            loc: internal::replicate(&self.loc, n, self.rows),
            scale_tril: internal::replicate(&self.scale_tril, n, self.rows),
            rows: self.rows * n,
            size: self.size,
        }
    }
}

impl Entropy<2> for MultivariateNormal {
    /// `K/2 (1 + ln 2π) + Σ ln L_ii`, `[B, 1]`.
    fn entropy(&self) -> Tensor<2> {
        self.half_log_det()
            .add_scalar(self.size as f64 * (0.5 + LN_SQRT_2PI))
    }
}

impl Mean<2> for MultivariateNormal {
    fn mean(&self) -> Tensor<2> {
        self.loc.clone().expand([self.rows, self.size])
    }
}

impl Reparameterized<2> for MultivariateNormal {
    const NOISE: StandardNoise = StandardNoise::Normal;

    /// `μ + L ε`.
    fn transform_noise(&self, eps: Tensor<2>) -> Tensor<2> {
        let [b, k] = eps.dims();
        let l_eps = self.full_tril().matmul(eps.reshape([b, k, 1]));
        self.loc.clone() + l_eps.reshape([b, k])
    }
}

/// `KL(N(μ₁, Σ₁) ‖ N(μ₂, Σ₂)) = ½[‖L₂⁻¹L₁‖²_F + ‖L₂⁻¹(μ₂ − μ₁)‖² − K] + Σ ln L₂,ii − Σ ln L₁,ii`,
/// `[B, 1]`.
///
/// With `M = L₂⁻¹L₁` (lower triangular, `M_ii = L₁,ii/L₂,ii`) it is a sum of non-negative
/// terms, `½Σ_i φ(2 ln M_ii) + ½Σ_{i>j} M_ij² + ½‖L₂⁻¹(μ₂ − μ₁)‖²` with `φ(u) = e^u − 1 − u`,
/// computed so: the diagonal log-ratios directly, `φ` by its series near 0, the squares
/// from halved operands. So nearly equal distributions keep their digits, and the value is
/// `+∞` only where it exceeds `f32::MAX` (for reasonably conditioned `L₂`).
impl KlDivergence<2, MultivariateNormal> for MultivariateNormal {
    fn kl_divergence(&self, q: &MultivariateNormal) -> Result<Tensor<2>> {
        let [rows, k] = internal::broadcast(
            "kl_divergence(MultivariateNormal, MultivariateNormal)",
            &[self.value_shape(), q.value_shape()],
        )?;
        let l1 = self.scale_tril.clone().expand([rows, k, k]);
        let l2 = q.scale_tril.clone().expand([rows, k, k]);
        // ½Σ_i φ(2 ln M_ii)
        let d = log_ratio(diagonal(l1.clone()), diagonal(l2.clone()));
        let half = d.zeros_like().sub_scalar(core::f64::consts::LN_2);
        let diagonal_terms = weighted_exp_excess(half, d.mul_scalar(2.0)).sum_dim(1);
        // ½Σ_{i>j} M_ij² = 2Σ_{i>j} (M_ij/2)²
        let index = Tensor::<1, Int>::arange(0..k as i64, &l1.device());
        let strictly_lower = index
            .clone()
            .reshape([k, 1])
            .expand([k, k])
            .greater(index.reshape([1, k]).expand([k, k]))
            .reshape([1, k, k])
            .expand([rows, k, k]);
        let half_m = solve_lower(l2.clone(), l1.mul_scalar(0.5));
        let off = half_m
            .mask_fill(strictly_lower.bool_not(), 0.0)
            .square()
            .sum_dim(2)
            .sum_dim(1)
            .reshape([rows, 1])
            .mul_scalar(2.0);
        // ½‖L₂⁻¹(μ₂ − μ₁)‖² = 2‖L₂⁻¹(μ₂/2 − μ₁/2)‖²
        let half_gap =
            (q.loc.clone().mul_scalar(0.5) - self.loc.clone().mul_scalar(0.5)).expand([rows, k]);
        let maha = solve_lower(l2, half_gap.reshape([rows, k, 1]))
            .square()
            .sum_dim(1)
            .reshape([rows, 1])
            .mul_scalar(2.0);
        // every term is non-negative; a NaN can only come from an overflow inside the solves
        // (∞·0), where the divergence is beyond f32 anyway
        let kl = diagonal_terms + off + maha;
        Ok(kl.clone().mask_fill(kl.is_nan(), f32::INFINITY))
    }
}
