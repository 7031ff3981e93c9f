use burn::prelude::*;

use super::Baseline;
use super::group::{check_group, group_mean};
use crate::error::{Error, Result};

/// The group-relative advantage of GRPO (Shao et al. 2024, DeepSeekMath §4.1.2) as a baseline
/// for the score-function estimator: the `n` draws of one batch element form its group, and
/// draw `i` gets the advantage
///
/// `A_i = (f_i − f̄) / (s + ε)`, with `f̄ = (1/n) Σ_j f_j`, `s² = Σ_j (f_j − f̄)²/(n − 1)`
///
/// (the sample standard deviation, with Bessel's correction, as TRL and verl compute it;
/// ε = 1e-4 by default, TRL's), or, with [`mean_only`](Self::mean_only), `A_i = f_i − f̄`.
/// The estimator is `(1/n) Σ_i A_i ∇ln p(z_i)`.
///
/// **The standard-deviation division biases the gradient.** `s` depends on every draw of the
/// group, `z_i` included, so `E[A_i ∇ln p(z_i)]` is no longer a multiple of the true gradient:
/// groups with a small spread get large weights, and within a group the weight depends on
/// the draw being scored. tests/group_baselines.rs computes the estimator's exact mean by
/// enumerating every group of draws and shows the kit rejecting it as an estimate of `∇L`
/// (and of the best multiple of it: with three cost levels the mean points elsewhere). With
/// 0/1 rewards the mean of one element is a multiple `m(p)·∇p` of its gradient, but `m`
/// depends on the success probability `p` (for `n = 8`: 1.74 at `p = ½`, 2.13 at `p = 0.88`):
/// elements (prompts) are weighted by how easy or hard they are, the bias Liu et al. (2025)
/// point out. The division makes the update invariant to the scale of the rewards, which is
/// why GRPO uses it; the mean-only form keeps the direction unbiased (below).
///
/// # RLOO, GRPO and Dr. GRPO
///
/// For `n` draws `z_1, …, z_n` of one element with costs `f_i = f(z_i)`:
///
/// | baseline | advantage `A_i` | mean of `(1/n) Σ_i A_i ∇ln p(z_i)` |
/// |---|---|---|
/// | [`LeaveOneOut`](super::LeaveOneOut) (RLOO) | `f_i − (1/(n−1)) Σ_{j≠i} f_j` | `∇L`: unbiased |
/// | [`DrGrpo`](super::DrGrpo), `Grpo::mean_only()` | `f_i − f̄` | `((n−1)/n)·∇L` |
/// | `Grpo::new()` | `(f_i − f̄)/(s + ε)` | not a multiple of `∇L` in general: biased |
///
/// The middle row follows from `f_i − f̄ = ((n−1)/n)·(f_i − (1/(n−1)) Σ_{j≠i} f_j)`: the
/// group mean contains the draw's own cost, so its advantage is RLOO's shrunk by `(n−1)/n`
/// (a baseline that depends on the draw it multiplies, which the [`Baseline`] contract rules
/// out, here harmlessly: the bias is that constant factor). Multiplying by `n/(n−1)` gives
/// RLOO exactly; for `n = 2` the mean-only estimate is half of RLOO's. Dr. GRPO (Liu et al.
/// 2025) also removes GRPO's length normalization: GRPO averages each sequence's token terms,
/// `(1/|o_i|) Σ_t`, which weights sequences by their length; in mcgrad the score of a row is
/// the sum of its log-probabilities, so no length normalization ever applies (Dr. GRPO's
/// choice).
///
/// The advantage is returned to the estimator as the baseline `b_i = f_i − A_i`; the estimator
/// forms `f_i − b_i`, which equals `A_i` up to half an `f32` ulp of `f_i` (costs near 1e6 with
/// a unit spread lose about 3% of the advantage; shift such costs first, or use
/// [`advantages`](Self::advantages) directly).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::{ScoreFunction, baselines::Grpo};
///
/// let grpo = Grpo::new();
/// // the advantages of one group of four rewards (one element, draws on axis 0)
/// let r = Tensor::<2>::from_floats([[1.0], [0.0], [1.0], [0.0]], &Device::flex());
/// let a = grpo.advantages(&r)?.try_into_vec_as::<f32>().unwrap();
/// // mean ½, sample std 1/√3
/// let want = 0.5 / (1.0 / 3f32.sqrt() + 1e-4);
/// assert!((a[0] - want).abs() < 1e-5 && (a[1] + want).abs() < 1e-5);
/// let estimator = ScoreFunction::new(grpo);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Shao et al., *DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language
/// Models*, 2024, §4.1.2; Liu et al., *Understanding R1-Zero-Like Training: A Critical
/// Perspective*, 2025, §3.1; Kool, van Hoof & Welling, *Buy 4 REINFORCE Samples, Get a
/// Baseline for Free!*, 2019.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grpo {
    scale_by_std: bool,
    epsilon: f64,
}

impl Default for Grpo {
    fn default() -> Self {
        Self::new()
    }
}

impl Grpo {
    /// GRPO's advantage, divided by the group's standard deviation plus ε = 1e-4.
    pub fn new() -> Self {
        Self {
            scale_by_std: true,
            epsilon: 1e-4,
        }
    }

    /// GRPO's advantage without the standard-deviation division: `f_i − f̄` (the same
    /// advantage as [`DrGrpo`](super::DrGrpo)).
    pub fn mean_only() -> Self {
        Self {
            scale_by_std: false,
            epsilon: 1e-4,
        }
    }

    /// The ε added to the standard deviation before the division.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an ε outside `[f32::MIN_POSITIVE, f32::MAX]`
    /// (≈ `[1.2e-38, 3.4e38]`): the advantages are computed in `f32`, where a smaller ε is 0 (a
    /// group of equal costs would be `0/0`) and a larger one `∞` (every advantage 0).
    pub fn epsilon(self, epsilon: f64) -> Result<Self> {
        let range = f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX);
        if !range.contains(&epsilon) {
            return Err(Error::invalid(
                "Grpo",
                "epsilon",
                "in [1.2e-38, 3.4e38] (positive and normal in f32)",
            ));
        }
        Ok(Self { epsilon, ..self })
    }

    /// Whether the advantage is divided by the group's standard deviation.
    pub fn scales_by_std(&self) -> bool {
        self.scale_by_std
    }

    /// The advantages `A` of a group-major batch of costs (or rewards) `[n, B]`: column `e`
    /// is the group of element `e`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for fewer than 2 draws per element.
    ///
    /// Computed over the whole `f32` range: the standardized advantage is formed from the
    /// half-costs `h = f/2` centered, `c = h − h̄` (finite even where `f_i − f̄` exceeds
    /// `f32::MAX`), scaled by their largest magnitude `M` per group:
    /// `A_i = (c_i/M) / (s' + ε/(2M))` with `s'` the sample standard deviation of `c/M` (no
    /// square of a large cost; a group of equal costs gives 0).
    pub fn advantages(&self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        let [n, b] = check_group("GRPO", costs)?;
        if !self.scale_by_std {
            return Ok(costs.clone() - group_mean(costs));
        }
        let half = costs.clone().mul_scalar(0.5);
        let centered = half.clone() - group_mean(&half);
        let largest = centered
            .clone()
            .abs()
            .max_dim(0)
            .clamp_min(f32::MIN_POSITIVE);
        let unit = centered / largest.clone().expand([n, b]);
        let spread = (unit.clone().square().sum_dim(0) / (n as f64 - 1.0)).sqrt();
        let denominator = spread + largest.recip().mul_scalar(0.5 * self.epsilon);
        Ok(unit / denominator.expand([n, b]))
    }
}

impl Baseline for Grpo {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        if self.scale_by_std {
            Ok(costs.clone() - self.advantages(costs)?)
        } else {
            check_group("GRPO", costs)?;
            Ok(group_mean(costs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs() -> Tensor<2> {
        Tensor::<2>::from_floats(
            [[1.0, 3.0], [2.0, 3.0], [4.0, 3.0], [5.0, 3.0]],
            &Device::flex(),
        )
    }

    #[test]
    fn advantage_is_the_standardized_cost() {
        let a = Grpo::new().advantages(&costs()).unwrap();
        let a = a.try_into_vec_as::<f32>().unwrap();
        // column 0: mean 3, sample std √(10/3); column 1: all equal, advantage 0
        let s = (10.0f64 / 3.0).sqrt() + 1e-4;
        let want = [-2.0 / s, 0.0, -1.0 / s, 0.0, 1.0 / s, 0.0, 2.0 / s, 0.0];
        for (a, w) in a.iter().zip(want) {
            assert!((*a as f64 - w).abs() < 1e-6, "{a} vs {w}");
        }
    }

    #[test]
    fn baseline_leaves_the_advantage() {
        let c = costs();
        for mut g in [Grpo::new(), Grpo::mean_only()] {
            let adv = (c.clone() - g.values(&c).unwrap())
                .try_into_vec_as::<f32>()
                .unwrap();
            let want = g.advantages(&c).unwrap().try_into_vec_as::<f32>().unwrap();
            for (a, w) in adv.iter().zip(&want) {
                assert!((a - w).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn rejects_single_draws_and_bad_epsilon() {
        let one = Tensor::<2>::zeros([1, 3], &Device::flex());
        assert!(matches!(
            Grpo::new().values(&one),
            Err(Error::InvalidArgument { name: "n", .. })
        ));
        assert!(Grpo::mean_only().values(&one).is_err());
        for e in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Grpo::new().epsilon(e).is_err());
        }
        assert!(Grpo::new().epsilon(1e-8).is_ok());
    }
}
