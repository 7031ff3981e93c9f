use burn::prelude::*;

use super::Baseline;
use crate::error::Result;

/// No baseline: the plain REINFORCE estimator `f(z)∇ln p(z)`.
///
/// # Examples
///
/// ```
/// use mcgrad::estimators::{ScoreFunction, baselines::NoBaseline};
/// let reinforce = ScoreFunction::new(NoBaseline);
/// ```
///
/// # References
///
/// Williams, *Simple Statistical Gradient-Following Algorithms for Connectionist
/// Reinforcement Learning*, Machine Learning 1992.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBaseline;

impl Baseline for NoBaseline {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        Ok(costs.zeros_like())
    }
}
