use burn::prelude::*;

use super::Baseline;
use crate::error::{Error, Result};

/// The leave-one-out baseline (REINFORCE leave-one-out, RLOO; Kool et al. 2019): with `n ≥ 2`
/// draws per batch element, draw `i` uses the mean cost of the other `n − 1`,
/// `b_i = (Σ_j f(z_j) − f(z_i)) / (n − 1)`.
///
/// The estimator becomes `(1/n) Σ_i (f(z_i) − b_i)∇ln p(z_i)`, unbiased since `b_i` is
/// independent of `z_i`. For `b ~ Bernoulli(σ(φ))`, `f(b) = (b − 0.45)²` at `φ = 0` it takes
/// the variance of the gradient from 1.594e-2 (plain REINFORCE) to 6.25e-4 with two draws.
///
/// # Examples
///
/// ```
/// use mcgrad::estimators::{ScoreFunction, baselines::LeaveOneOut};
/// let rloo = ScoreFunction::new(LeaveOneOut);
/// ```
///
/// # References
///
/// Kool, van Hoof & Welling, *Buy 4 REINFORCE Samples, Get a Baseline for Free!*, ICLR
/// workshop 2019; Salimans & Knowles, *On Using Control Variates with Stochastic
/// Approximation for Variational Bayes*, 2014.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeaveOneOut;

impl Baseline for LeaveOneOut {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        let [n, b] = costs.dims();
        if n < 2 {
            return Err(Error::argument(
                "n",
                "the leave-one-out baseline needs at least 2 samples per batch element",
            ));
        }
        let sum = costs.clone().sum_dim(0);
        let plain = (sum.clone().expand([n, b]) - costs.clone()) / (n as f64 - 1.0);
        // where the sum overflows (costs near ±f32::MAX): the same mean of the others from
        // costs scaled by 1/n, whose sums stay below the largest |cost|; every ordinary cost
        // keeps the plain form's bits
        let overflowed = sum.is_finite().bool_not().expand([n, b]);
        let scaled = costs.clone().mul_scalar(1.0 / n as f64);
        let others = scaled.clone().sum_dim(0).expand([n, b]) - scaled;
        let safe = others.mul_scalar(n as f64 / (n as f64 - 1.0));
        Ok(plain.mask_where(overflowed, safe))
    }
}
