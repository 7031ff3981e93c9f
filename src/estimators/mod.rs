//! Gradient estimators: the [`Estimator`] contract and its implementations.
//!
//! Every estimator turns an expectation `L(θ) = E_{z~p_θ}[f(z)]` into a *surrogate loss*:
//! a tensor whose forward value is the Monte Carlo estimate of `L(θ)` and whose gradient
//! (by `backward`) is the estimator's estimate of `∇θ L`. The cost `f` may depend on θ itself
//! (a decoder's weights, say); its own gradient then flows through the surrogate as well.
//!
//! # Shapes
//!
//! Axis 0 of a sample is the row axis: one row per batch element. With `n` samples per
//! element, the estimator draws from [`Distribution::replicate`]`(n)`, so `f` receives `n·B`
//! rows, sample-major (row `i·B + b` is draw `i` of element `b`), and returns one cost per row,
//! shape `[n·B]`. The surrogate averages the `n` draws of each element: shape `[B]`. Sum or
//! average it over the batch and call `backward`.
//!
//! [`Distribution::replicate`]: crate::distributions::Distribution::replicate

use burn::prelude::*;

use crate::distributions::Distribution;
use crate::error::{Error, Result};
use crate::rng::NoiseSource;

pub mod antithetic;
pub mod baselines;
pub mod control_variates;
mod enumeration;
mod gumbel_softmax;
pub mod multisample;
mod pathwise;
mod score_function;
mod straight_through;

pub use antithetic::{Arm, DisArm};
pub use control_variates::{Rebar, RebarScale, Relax};
pub use enumeration::exact_expectation;
pub use gumbel_softmax::{GumbelSoftmax, gumbel_softmax};
pub use multisample::{
    ImportanceWeighted, InferenceGradient, MultiSampleEstimate, MultiSampleEstimator, Vimco,
    importance_weighted_bound,
};
pub use pathwise::Pathwise;
pub use score_function::ScoreFunction;
pub use straight_through::{
    DecoupledStraightThrough, DiscreteLogits, GumbelRao, LogitFamily, ReinMax, StraightThrough,
    decoupled_straight_through, gumbel_rao, reinmax, straight_through,
};

/// The output of an estimator.
///
/// # Shapes
///
/// For `n` draws per element of a batch of `B`: `surrogate` `[B]`, `costs` `[n, B]`,
/// `samples` of `n·B` rows, sample-major.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Bernoulli, sum_per_row};
/// use mcgrad::estimators::{Estimator, ScoreFunction, baselines::NoBaseline};
///
/// let device = Device::flex().autodiff();
/// let b = Bernoulli::from_logits(Tensor::<2>::zeros([2, 3], &device))?; // B = 2 rows of 3
/// let est = ScoreFunction::new(NoBaseline).estimate(&b, 4, &mut NoiseSource::seed_from_u64(0), |x| {
///     sum_per_row(x) // the number of ones per row
/// })?;
/// assert_eq!(est.surrogate.dims(), [2]);
/// assert_eq!(est.costs.dims(), [4, 2]);
/// assert_eq!(est.samples.dims(), [8, 3]);
/// // the surrogate's value is the mean cost of the 4 draws of each row
/// let mean = est.costs.clone().mean_dim(0).reshape([2]);
/// assert_eq!(est.surrogate.clone().into_data(), mean.into_data());
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Estimate<S> {
    /// The surrogate loss per batch element, `[B]`: its value is the mean cost of the `n`
    /// draws, its gradient the estimate of `∇θ E[f]`.
    pub surrogate: Tensor<1>,
    /// The cost of every draw, `[n, B]`, detached.
    pub costs: Tensor<2>,
    /// The draws `f` was evaluated at, `n·B` rows.
    pub samples: S,
}

impl<S> Estimate<S> {
    /// The surrogate averaged over the batch: the scalar to call `backward` on.
    pub fn loss(&self) -> Tensor<1> {
        self.surrogate.clone().mean()
    }
}

/// A Monte Carlo gradient estimator for expectations under distributions of type `P`.
///
/// # Shapes
///
/// See [the module documentation](self#shapes): `f` receives `n·B` rows and returns `[n·B]`;
/// the [`Estimate`] holds the surrogate `[B]`.
///
/// # Examples
///
/// Code generic over the estimator: the same function runs the pathwise and the
/// score-function estimators, and both estimate `∂/∂μ E[z²] = 2μ`.
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Normal;
/// use mcgrad::estimators::{Estimator, Pathwise, ScoreFunction, baselines::LeaveOneOut};
///
/// fn gradient<E>(mut estimator: E) -> mcgrad::Result<f32>
/// where
///     E: Estimator<2, Normal<2>, Sample = Tensor<2>>,
/// {
///     let device = Device::flex().autodiff();
///     let mu = Tensor::<2>::from_floats([[1.5]], &device).require_grad();
///     let q = Normal::new(mu.clone(), Tensor::<2>::ones([1, 1], &device))?;
///     let n = 50_000;
///     let est = estimator.estimate(&q, n, &mut NoiseSource::seed_from_u64(3), |z| {
///         z.square().reshape([n])
///     })?;
///     Ok(mu.grad(&est.loss().backward()).unwrap().into_scalar())
/// }
/// assert!((gradient(Pathwise)? - 3.0).abs() < 0.05);
/// assert!((gradient(ScoreFunction::new(LeaveOneOut))? - 3.0).abs() < 0.15);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Estimator<const D: usize, P: Distribution<D>> {
    /// What the cost function receives: a pathwise sample, a discrete sample, a relaxed
    /// sample, depending on the estimator.
    type Sample: Clone;

    /// Draws `n` samples per batch element from `dist`, evaluates the cost `f` on them (one
    /// call, `n·B` rows in, `n·B` costs out) and builds the surrogate loss.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for `n = 0` (or an `n` the estimator cannot use);
    /// [`Error::ShapeMismatch`] if `f` does not return one cost per row.
    fn estimate<F>(
        &mut self,
        dist: &P,
        n: usize,
        noise: &mut NoiseSource,
        f: F,
    ) -> Result<Estimate<Self::Sample>>
    where
        F: FnOnce(Self::Sample) -> Tensor<1>;
}

/// The estimate of every estimator whose gradient flows through a differentiable draw
/// (pathwise, relaxed, straight-through): `n` draws per element from `draw` on the replicated
/// batch, the cost `f` on them, and the surrogate `(1/n) Σ_i f(y_i)`.
pub(crate) fn through_draws<const D: usize, P, F>(
    dist: &P,
    n: usize,
    f: F,
    draw: impl FnOnce(&P) -> Result<Tensor<D>>,
) -> Result<Estimate<Tensor<D>>>
where
    P: Distribution<D>,
    F: FnOnce(Tensor<D>) -> Tensor<1>,
{
    crate::distributions::internal::samples(n)?;
    let draws = dist.replicate(n);
    let y = draw(&draws)?;
    let costs = f(y.clone());
    check_costs(&costs, draws.rows())?;
    Ok(Estimate {
        costs: by_draw(costs.clone().detach(), n),
        surrogate: mean_over_draws(costs, n),
        samples: y,
    })
}

/// `x − sg(x)`: exactly zero forward for a finite `x`, the identity backward. Multiplied by a
/// constant and added to a hard sample, it attaches a chosen Jacobian to the sample without
/// changing its value.
pub(crate) fn tangent<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone() - x.detach()
}

/// Checks that `costs` has one entry per row (`rows` of them).
pub(crate) fn check_costs(costs: &Tensor<1>, rows: usize) -> Result<()> {
    let [len] = costs.dims();
    if len == rows {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            context: "cost function output (one cost per sample row)",
            left: vec![len],
            right: vec![rows],
        })
    }
}

/// `[n·B]` → `[n, B]`.
pub(crate) fn by_draw(t: Tensor<1>, n: usize) -> Tensor<2> {
    let [rows] = t.dims();
    t.reshape([n, rows / n])
}

/// The mean over the `n` draws of each batch element: `[n·B]` → `[B]`.
///
/// Where the sum of the draws overflows (costs near `±f32::MAX`) the mean is taken as
/// `Σ_i (t_i/n)` instead, whose partial sums stay below the largest `|t_i|`; elsewhere (every
/// ordinary cost) the value and its gradient are those of the plain mean, bit for bit.
pub(crate) fn mean_over_draws(t: Tensor<1>, n: usize) -> Tensor<1> {
    let [rows] = t.dims();
    if n == 1 {
        return t;
    }
    let draws = by_draw(t, n);
    let mean = draws.clone().mean_dim(0);
    let overflowed = mean.clone().is_finite().bool_not();
    let scaled = draws.mul_scalar(1.0 / n as f64).sum_dim(0);
    mean.mask_where(overflowed, scaled).reshape([rows / n])
}
