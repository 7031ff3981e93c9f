//! The score-function (REINFORCE, likelihood-ratio) estimator.

use super::baselines::{Baseline, NoBaseline};
use super::{Estimate, Estimator, by_draw, check_costs, mean_over_draws};
use crate::distributions::Distribution;
use crate::distributions::internal;
use crate::distributions::sum_per_row;
use crate::error::Result;
use crate::rng::NoiseSource;
use burn::prelude::*;

/// The score-function estimator (REINFORCE; Williams 1992), with a pluggable
/// [`Baseline`](super::baselines::Baseline):
///
/// `∇θ E[f(z)] = E[(f(z) − b)·∇θ ln p_θ(z)] + E[∇θ f(z)]`,
///
/// the second term present when `f` itself depends on θ (a decoder, say).
///
/// Surrogate per draw, with stop-gradients `sg` (the DiCE form, Foerster et al. 2018):
///
/// `s_i = f(z_i) + (sg(f(z_i)) − b_i)·(ln p(z_i) − sg(ln p(z_i)))`,
///
/// averaged over the `n` draws of each element. Its forward value is exactly the cost
/// estimate (the second term is `x·0`); its gradient is the estimator. `ln p` of a row sums
/// the log-probabilities of every element of the row (the event). The samples carry no
/// gradient: `f` sees `sample`, not `rsample`.
///
/// - Bias: none, for any `f` (discontinuous, non-differentiable, black-box) and any baseline
///   independent of the draw it multiplies.
/// - Variance: high without a baseline; lowered by [`MovingAverage`](super::baselines::MovingAverage),
///   [`LeaveOneOut`](super::baselines::LeaveOneOut) (needs `n ≥ 2`) or
///   [`LearnedBaseline`](super::baselines::LearnedBaseline).
/// - Requirements: `log_prob` differentiable in θ; works with every [`Distribution`], discrete
///   or continuous.
///
/// # Shapes
///
/// `f` receives the family's samples for `n` draws per element, `n·B` rows sample-major (class
/// indices `[n·B, ..., 1]` for a Categorical, `[n·B, ...]` otherwise) and returns `[n·B]`; the
/// surrogate is `[B]`, the costs `[n, B]`. The baseline sees the costs `[n, B]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Categorical;
/// use mcgrad::estimators::{Estimator, ScoreFunction, baselines::LeaveOneOut};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0, 0.0]], &device).require_grad();
/// let c = Categorical::from_logits(logits.clone())?;
/// // f(k) = k: a black-box cost of the class index
/// let est = ScoreFunction::new(LeaveOneOut).estimate(&c, 1000, &mut NoiseSource::seed_from_u64(0), |k| {
///     k.float().reshape([1000])
/// })?;
/// let g = logits.grad(&est.loss().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// // exact gradient: p_k (k − E[k]) = (−1/3, 0, 1/3)
/// assert!((g[0] + 1.0 / 3.0).abs() < 0.1 && (g[2] - 1.0 / 3.0).abs() < 0.1);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Williams, *Simple Statistical Gradient-Following Algorithms for Connectionist
/// Reinforcement Learning*, Machine Learning 1992; Mohamed et al., *Monte Carlo Gradient
/// Estimation in Machine Learning*, JMLR 2020, §4; Foerster et al., *DiCE: The Infinitely
/// Differentiable Monte Carlo Estimator*, ICML 2018.
#[derive(Debug, Clone, Default)]
pub struct ScoreFunction<B = NoBaseline> {
    baseline: B,
}

impl<B: Baseline> ScoreFunction<B> {
    /// The estimator with a baseline.
    pub fn new(baseline: B) -> Self {
        Self { baseline }
    }

    /// The baseline (its state, for a moving average).
    pub fn baseline(&self) -> &B {
        &self.baseline
    }
}

impl<const D: usize, P: Distribution<D>, B: Baseline> Estimator<D, P> for ScoreFunction<B> {
    type Sample = P::Value;

    fn estimate<F>(
        &mut self,
        dist: &P,
        n: usize,
        noise: &mut NoiseSource,
        f: F,
    ) -> Result<Estimate<P::Value>>
    where
        F: FnOnce(P::Value) -> Tensor<1>,
    {
        internal::samples(n)?;
        let draws = dist.replicate(n);
        let z = draws.sample(noise);
        let log_p = sum_per_row(draws.log_prob(&z)?);
        let costs = f(z.clone());
        check_costs(&costs, draws.rows())?;
        let by = by_draw(costs.clone().detach(), n);
        let baseline = self.baseline.values(&by)?;
        let rows = draws.rows();
        let advantage = (by.clone() - baseline).reshape([rows]);
        let score = log_p.clone() - log_p.detach();
        let mut surrogate = mean_over_draws(costs + advantage * score, n);
        if let Some(loss) = self.baseline.training_loss(&by) {
            surrogate = surrogate + (loss.clone() - loss.detach());
        }
        Ok(Estimate {
            surrogate,
            costs: by,
            samples: z,
        })
    }
}
