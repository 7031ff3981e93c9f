//! Exact expectations by enumerating a small discrete support.

use burn::prelude::*;

use super::{by_draw, check_costs};
use crate::distributions::EnumerableSupport;
use crate::distributions::sum_per_row;
use crate::error::Result;

/// The exact expectation `E[f(z)] = Σ_z p_θ(z) f(z)` per batch element, `[B]`, by listing
/// the joint support of each row: differentiable in θ (through `log_prob`, and through `f`
/// where it depends on θ), with no variance. The ground truth of the discrete estimators'
/// tests, and an estimator in its own right for small supports (`K^L` points per row for `L`
/// categorical positions of `K` classes).
///
/// `f` receives all `count·B` support rows at once (sample-major, as the estimators' samples)
/// and returns one cost per row.
///
/// # Errors
///
/// [`Error::SupportTooLarge`](crate::Error::SupportTooLarge) for a support beyond the limit;
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `f` does not return one cost per
/// row.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::exact_expectation;
///
/// let device = Device::flex();
/// let b = Bernoulli::from_probs(Tensor::<2>::from_floats([[0.25]], &device))?;
/// // E[(x − 0.45)²] = 0.75·0.2025 + 0.25·0.3025
/// let e: f32 = exact_expectation(&b, |x| (x - 0.45).square().reshape([2]))?.into_scalar();
/// assert!((e - 0.2275).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn exact_expectation<const D: usize, P, F>(dist: &P, f: F) -> Result<Tensor<1>>
where
    P: EnumerableSupport<D>,
    F: FnOnce(P::Value) -> Tensor<1>,
{
    let (support, count) = dist.enumerate_support()?;
    let all = dist.replicate(count);
    let p = sum_per_row(all.log_prob(&support)?).exp();
    let costs = f(support);
    check_costs(&costs, all.rows())?;
    let [rows] = costs.dims();
    Ok(by_draw(p * costs, count).sum_dim(0).reshape([rows / count]))
}
