use burn::prelude::*;

use super::Baseline;
use crate::error::{Error, Result};

/// An exponential moving average of the mean cost of earlier batches:
/// `b_t = β·b_{t−1} + (1 − β)·mean(costs_{t−1})`, with `b = 0` before the first batch.
///
/// The baseline used for a batch is computed before that batch's costs are seen, so it is
/// independent of its draws and the estimator stays unbiased. The average lives on the
/// device: no sync per step.
///
/// # Examples
///
/// ```
/// use mcgrad::estimators::{ScoreFunction, baselines::MovingAverage};
/// let estimator = ScoreFunction::new(MovingAverage::new(0.9)?);
/// assert!(MovingAverage::new(1.0).is_err());
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Williams, *Simple Statistical Gradient-Following Algorithms for Connectionist
/// Reinforcement Learning*, Machine Learning 1992, §4 (reinforcement baselines); Mnih &
/// Gregor, *Neural Variational Inference and Learning in Belief Networks*, ICML 2014, §3.2
/// (a running average of the learning signal).
#[derive(Debug, Clone)]
pub struct MovingAverage {
    decay: f64,
    value: Option<Tensor<1>>,
}

impl MovingAverage {
    /// With decay β in `[0, 1)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for β outside `[0, 1)` (NaN included).
    pub fn new(decay: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&decay) {
            return Err(Error::invalid("MovingAverage", "decay", "in [0, 1)"));
        }
        Ok(Self { decay, value: None })
    }

    /// The current average (`None` before the first batch), a one-element tensor.
    pub fn value(&self) -> Option<&Tensor<1>> {
        self.value.as_ref()
    }
}

impl Baseline for MovingAverage {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        let [n, b] = costs.dims();
        let current = match &self.value {
            Some(v) => v.clone().reshape([1, 1]).expand([n, b]),
            None => costs.zeros_like(),
        };
        let batch_mean = costs.clone().detach().mean();
        self.value = Some(match self.value.take() {
            Some(v) => v * self.decay + batch_mean * (1.0 - self.decay),
            None => batch_mean,
        });
        Ok(current)
    }
}
