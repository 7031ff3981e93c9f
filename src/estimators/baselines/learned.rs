use burn::prelude::*;

use super::Baseline;
use crate::error::{Error, Result};

/// A learned, input-dependent baseline (NVIL; Mnih & Gregor 2014): a prediction `b(x)` per
/// batch element from a model the user owns, fitted to the costs by squared error.
///
/// Build it each step from the model's output, `[B]`. The estimator uses `sg(b(x))` as the
/// baseline (unbiased: `b(x)` does not depend on the draws) and adds the fitting loss
/// `mean_i (b(x) − sg(f(z_i)))²` to the surrogate with a zero forward value, so one backward
/// pass trains the model and the baseline together.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::{ScoreFunction, baselines::LearnedBaseline};
///
/// let device = Device::flex().autodiff();
/// // the output of a baseline network for a batch of 4 inputs
/// let prediction = Tensor::<1>::zeros([4], &device).require_grad();
/// let estimator = ScoreFunction::new(LearnedBaseline::new(prediction));
/// ```
///
/// # References
///
/// Mnih & Gregor, *Neural Variational Inference and Learning in Belief Networks*, ICML 2014,
/// §3.
#[derive(Debug, Clone)]
pub struct LearnedBaseline {
    prediction: Tensor<1>,
}

impl LearnedBaseline {
    /// From the model's prediction per batch element, `[B]` (or `[1]`, shared).
    pub fn new(prediction: Tensor<1>) -> Self {
        Self { prediction }
    }

    fn broadcast(&self, n: usize, b: usize) -> Result<Tensor<2>> {
        let [len] = self.prediction.dims();
        if len != b && len != 1 {
            return Err(Error::ShapeMismatch {
                context: "LearnedBaseline prediction per batch element",
                left: vec![len],
                right: vec![b],
            });
        }
        Ok(self.prediction.clone().reshape([1, len]).expand([n, b]))
    }
}

impl Baseline for LearnedBaseline {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        let [n, b] = costs.dims();
        Ok(self.broadcast(n, b)?.detach())
    }

    fn training_loss(&self, costs: &Tensor<2>) -> Option<Tensor<1>> {
        let [n, b] = costs.dims();
        let prediction = self.broadcast(n, b).ok()?;
        Some(
            (prediction - costs.clone().detach())
                .square()
                .mean_dim(0)
                .reshape([b]),
        )
    }
}
