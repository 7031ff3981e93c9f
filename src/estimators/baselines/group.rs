//! What the group baselines share: a group of `n ≥ 2` draws per element, and its mean.

use burn::prelude::*;

use crate::error::{Error, Result};

/// The shape `[n, B]` of a group-major batch of costs, or an error for fewer than 2 draws per
/// element.
pub(super) fn check_group(owner: &str, costs: &Tensor<2>) -> Result<[usize; 2]> {
    let [n, b] = costs.dims();
    if n < 2 {
        return Err(Error::argument(
            "n",
            format!("the {owner} baseline needs at least 2 samples per batch element"),
        ));
    }
    Ok([n, b])
}

/// The mean cost of each element's group, broadcast back to `[n, B]`, as `Σ_j (f_j/n)`: no
/// partial sum exceeds the largest cost (a sum first overflows for costs near `f32::MAX`).
///
/// A group whose costs are all equal gets that cost exactly. The rounded sum need not return
/// it (`Σ 123456.79/3` is 123456.7813, `Σ 0.1/3` is 0.10000001), and GRPO's division by the
/// group's standard deviation would blow that rounding up into advantages of ±0.8 for a group
/// that carries no signal.
pub(super) fn group_mean(costs: &Tensor<2>) -> Tensor<2> {
    let [n, b] = costs.dims();
    let mean = costs.clone().mul_scalar(1.0 / n as f64).sum_dim(0);
    let equal = costs.clone().max_dim(0).equal(costs.clone().min_dim(0));
    mean.mask_where(equal, costs.clone().narrow(0, 0, 1))
        .expand([n, b])
}
