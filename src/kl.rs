//! Kullback-Leibler divergence between pairs of distributions.
//!
//! Each pair with a closed form implements [`KlDivergence`]; a pair without one is a compile
//! error, not a registry miss at run time (PyTorch's KL table is a global dictionary looked up
//! when called).
//!
//! | p | q | where |
//! |---|---|---|
//! | `Normal` | `Normal` | element-wise |
//! | `MultivariateNormal` | `MultivariateNormal` | per row, full covariance |
//! | `LogNormal` | `LogNormal` | element-wise (the KL of the underlying normals) |
//! | `Exponential` | `Exponential` | element-wise |
//! | `Laplace` | `Laplace` | element-wise |
//! | `Uniform` | `Uniform` | element-wise (+∞ where the support of p is not inside q's) |
//! | `Categorical` | `Categorical` | per categorical variable (+∞ where q rules out a class p allows) |
//! | `OneHotCategorical` | `OneHotCategorical` | the same |
//! | `Bernoulli` | `Bernoulli` | element-wise |
//!
//! A pair without an implementation does not compile:
//!
//! ```compile_fail
//! use burn::prelude::*;
//! use mcgrad::distributions::{Gumbel, Normal};
//! use mcgrad::kl::kl_divergence;
//! let device = Device::flex();
//! let t = Tensor::<1>::from_floats([1.0], &device);
//! let p = Normal::new(t.clone(), t.clone()).unwrap();
//! let q = Gumbel::new(t.clone(), t).unwrap();
//! let _ = kl_divergence(&p, &q); // no KL(Normal ‖ Gumbel) in closed form
//! ```

use burn::prelude::*;

use crate::error::Result;

/// `KL(self ‖ q) = E_self[ln self(x) − ln q(x)]` in closed form.
pub trait KlDivergence<const D: usize, Q> {
    /// The divergence for each distribution in the (broadcast) batch, shaped like
    /// `log_prob`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the two batches do not
    /// broadcast.
    fn kl_divergence(&self, q: &Q) -> Result<Tensor<D>>;
}

/// `KL(p ‖ q)`, for any pair with a closed form.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Exponential;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let p = Exponential::new(Tensor::<1>::from_floats([1.0], &device))?;
/// let q = Exponential::new(Tensor::<1>::from_floats([2.0], &device))?;
/// // ln(λp/λq) + λq/λp − 1 = ln ½ + 2 − 1
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - (0.5f32.ln() + 1.0)).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # Errors
///
/// As [`KlDivergence::kl_divergence`].
pub fn kl_divergence<const D: usize, P, Q>(p: &P, q: &Q) -> Result<Tensor<D>>
where
    P: KlDivergence<D, Q>,
{
    p.kl_divergence(q)
}
