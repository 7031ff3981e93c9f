use burn::prelude::*;

use super::Baseline;
use super::group::{check_group, group_mean};
use crate::error::Result;

/// The advantage of Dr. GRPO ("GRPO done right"; Liu et al. 2025) as a baseline for the
/// score-function estimator: draw `i` of a group of `n` draws of one element gets
/// `A_i = f_i − f̄`, `f̄ = (1/n) Σ_j f_j`, with neither GRPO's division by the group's standard
/// deviation nor its length normalization. The baseline is the group mean, own cost included.
///
/// Its mean is `((n−1)/n)·∇L`, not `∇L`: `f_i − f̄` is RLOO's advantage shrunk by `(n−1)/n`,
/// because the group mean contains `f_i`. The direction is unbiased, the scale shrinks by a
/// known constant (absorbed by the learning rate; `n/(n−1)` times this estimator is
/// [`LeaveOneOut`](super::LeaveOneOut) exactly). See [`Grpo`](super::Grpo) for the comparison
/// of RLOO, GRPO and Dr. GRPO; tests/group_baselines.rs tests exactly this mean.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::baselines::{Baseline, DrGrpo, LeaveOneOut};
///
/// let costs = Tensor::<2>::from_floats([[1.0], [2.0], [6.0]], &Device::flex());
/// let dr = costs.clone() - DrGrpo.values(&costs)?;
/// let rloo = costs.clone() - LeaveOneOut.values(&costs)?;
/// // Dr. GRPO's advantage is RLOO's times (n − 1)/n
/// let (dr, rloo) = (dr.try_into_vec_as::<f32>().unwrap(), rloo.try_into_vec_as::<f32>().unwrap());
/// for (d, r) in dr.iter().zip(&rloo) {
///     assert!((d - r * 2.0 / 3.0).abs() < 1e-6);
/// }
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Liu, Chen, Li, Qi, Pang, Du, Lee & Lin, *Understanding R1-Zero-Like Training: A Critical
/// Perspective*, 2025, §3.1.
#[derive(Debug, Clone, Copy, Default)]
pub struct DrGrpo;

impl DrGrpo {
    /// The advantages `f_i − f̄` of a group-major batch `[n, B]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for fewer than 2 draws per
    /// element.
    pub fn advantages(&self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        check_group("Dr. GRPO", costs)?;
        Ok(costs.clone() - group_mean(costs))
    }
}

impl Baseline for DrGrpo {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        check_group("Dr. GRPO", costs)?;
        Ok(group_mean(costs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::baselines::{Grpo, LeaveOneOut};

    #[test]
    fn is_leave_one_out_shrunk_by_n_minus_one_over_n() {
        let costs = Tensor::<2>::from_floats(
            [
                [0.5, -1.0, 3.0],
                [2.0, 4.0, 3.0],
                [-1.5, 0.0, 3.0],
                [7.0, 1.0, 3.0],
            ],
            &Device::flex(),
        );
        let dr = DrGrpo
            .advantages(&costs)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        let rloo = (costs.clone() - LeaveOneOut.values(&costs).unwrap())
            .try_into_vec_as::<f32>()
            .unwrap();
        let grpo = Grpo::mean_only()
            .advantages(&costs)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        for ((d, r), g) in dr.iter().zip(&rloo).zip(&grpo) {
            assert!((d - r * 0.75).abs() < 1e-5, "{dr:?} vs {rloo:?}");
            assert_eq!(d, g);
        }
    }

    #[test]
    fn rejects_a_single_draw() {
        let one = Tensor::<2>::zeros([1, 2], &Device::flex());
        assert!(DrGrpo.values(&one).is_err());
        assert!(DrGrpo.advantages(&one).is_err());
    }
}
