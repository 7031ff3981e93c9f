//! Baselines for the score-function estimator: pluggable types that lower its variance
//! without adding bias.
//!
//! A baseline `b` turns the score-function term `f(z)∇ln p(z)` into `(f(z) − b)∇ln p(z)`.
//! Because `E[∇ln p(z)] = 0`, this keeps the estimator unbiased as long as `b` does not depend
//! on the draw `z` it multiplies (it may depend on the other draws, on earlier batches, or on
//! the context).
//!
//! | baseline | `b` for draw `i` of element `e` | needs |
//! |---|---|---|
//! | [`NoBaseline`] | 0 | |
//! | [`MovingAverage`] | running mean of earlier batches' costs | |
//! | [`LeaveOneOut`] | mean cost of the other `n − 1` draws of `e` (RLOO) | `n ≥ 2` |
//! | [`DrGrpo`] | mean cost of all `n` draws of `e`, own included (Dr. GRPO): the estimate's mean is `(n − 1)/n` of the gradient | `n ≥ 2` |
//! | [`Grpo`] | `f_i − A_i`, `A_i` the cost standardized within the `n` draws of `e` (GRPO): **biased** | `n ≥ 2` |
//! | [`LearnedBaseline`] | a model's prediction for `e`, fitted by squared error | a model |

use burn::prelude::*;

use crate::error::Result;

mod dr_grpo;
mod group;
mod grpo;
mod learned;
mod leave_one_out;
mod moving_average;
mod none;

pub use dr_grpo::DrGrpo;
pub use grpo::Grpo;
pub use learned::LearnedBaseline;
pub use leave_one_out::LeaveOneOut;
pub use moving_average::MovingAverage;
pub use none::NoBaseline;

/// A baseline for the score-function estimator.
///
/// # Shapes
///
/// `values` maps the detached costs `[n, B]` (draw-major) to baselines `[n, B]`;
/// `training_loss` returns `[B]`.
///
/// # Examples
///
/// A baseline of one's own: a constant guess of the cost. It keeps the estimator unbiased
/// (it does not depend on the draws) and is plugged in like the provided ones.
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::{Estimator, ScoreFunction, baselines::Baseline};
///
/// struct Constant(f32);
/// impl Baseline for Constant {
///     fn values(&mut self, costs: &Tensor<2>) -> mcgrad::Result<Tensor<2>> {
///         Ok(costs.zeros_like().add_scalar(self.0))
///     }
/// }
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::zeros([1, 1], &device).require_grad();
/// let b = Bernoulli::from_logits(logits.clone())?;
/// let n = 20_000;
/// let est = ScoreFunction::new(Constant(0.5)).estimate(&b, n, &mut NoiseSource::seed_from_u64(1), |x| {
///     x.reshape([n])
/// })?;
/// // ∂/∂ℓ E[x] = σ'(0) = 1/4; with the baseline at the mean cost the estimate is exact here
/// let g: f32 = logits.grad(&est.loss().backward()).unwrap().into_scalar();
/// assert!((g - 0.25).abs() < 1e-4, "{g}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Baseline {
    /// The baseline of every draw, `[n, B]`, from the detached costs `[n, B]` (draw-major).
    /// Entry `(i, e)` must not depend on `costs[i, e]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the baseline cannot
    /// work with this many draws.
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>>;

    /// A loss per batch element `[B]` that trains the baseline, added to the surrogate with a
    /// zero forward value (so the surrogate's value stays the cost estimate). `None` for a
    /// baseline with nothing to learn.
    fn training_loss(&self, costs: &Tensor<2>) -> Option<Tensor<1>> {
        let _ = costs;
        None
    }
}
