//! Straight-through estimators: a hard sample forward, a surrogate gradient backward.
//!
//! | estimator | backward pass (for a one-hot draw `D` of `Categorical(π = softmax(θ))`) | bias | variance |
//! |---|---|---|---|
//! | [`StraightThrough`] (Bengio et al. 2013) | `J(π)` | first order | low |
//! | [`GumbelSoftmax::straight_through`](super::GumbelSoftmax::straight_through) | `J(y)/τ`, `y = softmax((ln π + g)/τ)` | first order | grows as τ → 0 |
//! | [`ReinMax`] (Liu et al. 2023) | `2·J((D + softmax(θ/τ))/2) − ½·J(π)` | second order: none for quadratic `f` at τ = 1 | about that of ST |
//! | [`GumbelRao`] (Paulus et al. 2021) | `E[J(y)/τ \| D]` by `K` draws of `g` given `D` | that of ST Gumbel-softmax | lower, falls with `K` |
//! | [`DecoupledStraightThrough`] (Shah et al. 2024) | `J(y_b)/τ_b`, `y_b = softmax(θ/τ_b + g)`, draw `argmax(θ/τ_f + g)` | first order (plus the law's tempering when τ_f ≠ 1) | falls as τ_b grows |
//!
//! `J(p) = diag(p) − p pᵀ` is the Jacobian of the softmax at `p`; the gradient of the cost
//! flows back as `J·∂f/∂D`. For a Bernoulli the same estimators apply to the two classes
//! `{1, 0}` with logits `(ℓ, 0)`: `J(p)` becomes `p(1 − p)`.
//!
//! [`ReinMax`], [`GumbelRao`] and [`DecoupledStraightThrough`] draw from a [`LogitFamily`]
//! (Categorical, OneHotCategorical, Bernoulli), whose logits they differentiate; each also
//! comes as a function of categorical logits ([`reinmax`], [`gumbel_rao`],
//! [`decoupled_straight_through`]), as [`gumbel_softmax`](super::gumbel_softmax) does for ST
//! Gumbel-softmax.
//!
//! tests/straight_through_variants.rs measures their bias and variance against the exact
//! gradient by enumeration; docs/RESULTS.md has the table.

use burn::prelude::*;

use super::{Estimate, Estimator, by_draw, check_costs, tangent, through_draws};
use crate::error::Result;

mod decoupled;
mod family;
mod gumbel_rao;
mod plain;
mod reinmax;

pub use decoupled::{DecoupledStraightThrough, decoupled_straight_through};
pub use family::{DiscreteLogits, LogitFamily};
pub use gumbel_rao::{GumbelRao, gumbel_rao};
pub use plain::{StraightThrough, straight_through};
pub use reinmax::{ReinMax, reinmax};

/// The smallest temperature the estimators compute with: a normalized log-probability plus
/// Gumbel noise (at most 104) divided by it stays below `f32::MAX`. Below it a relaxation is
/// the Gumbel-max one-hot vector to `f32` precision.
const TAU_MIN: f64 = 1e-36;

/// A temperature as the estimators compute with it in `f32`: clamped into
/// `[1e-36, f32::MAX]`, so that it is neither 0 nor `+∞` once rounded (τ = 1e-300 would be 0:
/// `z/0`, NaN; τ = 1e300 would be `+∞`). Every finite positive τ the constructors accept then
/// gives finite values and gradients.
pub(crate) fn computing_temperature(temperature: f64) -> f64 {
    temperature.clamp(TAU_MIN, f32::MAX as f64)
}

/// `p ⊙ (δ − ⟨p, δ⟩)` along the last axis, for a constant `p` and a tangent `δ`: zero forward,
/// and the softmax Jacobian at `p`, `J(p) = diag(p) − p pᵀ`, backward (symmetric, so the
/// upstream gradient `u` comes back as `p ⊙ (u − ⟨p, u⟩)`).
fn softmax_jacobian<const D: usize>(p: Tensor<D>, delta: Tensor<D>) -> Tensor<D> {
    let inner = (p.clone() * delta.clone()).sum_dim(D - 1);
    p * (delta - inner)
}

/// Raw logits shifted by their largest value per row (a constant: the gradient passes
/// unchanged), for the free functions: every categorical estimator here is invariant to such a
/// shift, and after it the largest logit is 0, so that `ℓ/τ` is never `±∞ − ∞` (logits near
/// `±3e38` gave NaN at τ < 1 before). A class that falls below `f32::MIN` after the shift
/// (`−∞`) has probability 0 in `f32` anyway.
fn shifted_by_max<const D: usize>(logits: Tensor<D>) -> Tensor<D> {
    let max = logits.clone().detach().max_dim(D - 1);
    logits - max
}

/// The rows of a tensor with the last axis kept: `[…, C]` → `[R, C]`.
fn as_rows<const D: usize>(t: Tensor<D>) -> Tensor<2> {
    let dims = t.dims();
    let c = dims[D - 1];
    let r = dims.iter().product::<usize>() / c.max(1);
    t.reshape([r, c])
}

/// The `Estimator` contract of the straight-through variants on a [`LogitFamily`]: each
/// variant's own `draw` (one draw per row, with its gradient) on the family's logits, replicated
/// `n` times, through [`through_logits`].
macro_rules! logit_estimators {
    ($($estimator:ty),*) => {$(
        impl<const D: usize, P: LogitFamily<D>> Estimator<D, P> for $estimator {
            type Sample = Tensor<D>;

            fn estimate<F>(
                &mut self,
                dist: &P,
                n: usize,
                noise: &mut crate::rng::NoiseSource,
                f: F,
            ) -> Result<Estimate<Tensor<D>>>
            where
                F: FnOnce(Tensor<D>) -> Tensor<1>,
            {
                through_logits(dist, n, f, |logits| self.draw(logits, noise))
            }
        }
    )*};
}

logit_estimators!(ReinMax, GumbelRao, DecoupledStraightThrough);

/// The estimate of a straight-through estimator over a [`LogitFamily`]: as
/// `through_draws`, with `draw` mapping the (replicated) family's logits to the draws, and
/// without copying the batch when `n = 1`.
fn through_logits<const D: usize, P, F>(
    dist: &P,
    n: usize,
    f: F,
    draw: impl FnOnce(DiscreteLogits<D>) -> Tensor<D>,
) -> Result<Estimate<Tensor<D>>>
where
    P: LogitFamily<D>,
    F: FnOnce(Tensor<D>) -> Tensor<1>,
{
    if n != 1 {
        return through_draws(dist, n, f, |draws| Ok(draw(draws.discrete_logits())));
    }
    let y = draw(dist.discrete_logits());
    let costs = f(y.clone());
    check_costs(&costs, dist.rows())?;
    Ok(Estimate {
        costs: by_draw(costs.clone().detach(), 1),
        surrogate: costs,
        samples: y,
    })
}
