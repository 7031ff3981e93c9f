//! The row layout every estimator uses, as two public helpers: sums within each row, and a
//! batch tensor repeated to match `n` draws per row.

use burn::prelude::*;

/// The sum *within* each row: everything but axis 0 is added up, `[R, ...]` → `[R]`.
///
/// Turns element-wise log-densities into the log-density of each row's event (a row of `M`
/// independent Bernoulli pixels has `ln p(row) = Σ_m ln p(x_m)`), and per-element costs into
/// the one cost per row that an estimator's cost function returns.
///
/// # Shapes
///
/// `[R, d₁, …]` → `[R]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::sum_per_row;
///
/// let t = Tensor::<3>::ones([2, 3, 4], &Device::flex());
/// assert_eq!(sum_per_row(t).try_into_vec_as::<f32>().unwrap(), vec![12.0, 12.0]);
/// ```
pub fn sum_per_row<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let dims = t.dims();
    let rows = dims[0];
    let rest: usize = dims[1..].iter().product();
    if rest == 1 {
        t.reshape([rows])
    } else {
        t.reshape([rows, rest]).sum_dim(1).reshape([rows])
    }
}

/// A batch tensor of `B` rows repeated `n` times along axis 0 in the *sample-major* layout of
/// the estimators: row `i·B + b` of the result is row `b` of `t`.
///
/// An estimator asked for `n` draws per batch element hands its cost function `n·B` rows in
/// this layout ([`Distribution::replicate`](super::Distribution::replicate)); data the cost
/// compares the draws with (the images a decoder reconstructs, say) must be laid out the
/// same way. Reshaping a result of `n·B` rows to `[n, B, ...]` separates the draws again.
///
/// # Shapes
///
/// `[B, d₁, …]` → `[n·B, d₁, …]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::replicate_rows;
///
/// let x = Tensor::<2>::from_floats([[1.0], [2.0]], &Device::flex());
/// let rows = replicate_rows(x, 3).try_into_vec_as::<f32>().unwrap();
/// assert_eq!(rows, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
/// ```
pub fn replicate_rows<const D: usize, K: burn::tensor::kind::Basic>(
    t: Tensor<D, K>,
    n: usize,
) -> Tensor<D, K> {
    if n == 1 { t } else { t.repeat_dim(0, n) }
}
