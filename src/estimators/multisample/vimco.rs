//! VIMCO: the multi-sample score-function estimator of the importance-weighted bound.

use burn::prelude::*;

use super::bound::log_mean_exp;
use super::{MultiSampleEstimate, MultiSampleEstimator};
use crate::distributions::{Distribution, sum_per_row};
use crate::error::{Error, Result};
use crate::estimators::check_costs;
use crate::rng::NoiseSource;

/// VIMCO (Mnih & Rezende 2016): an unbiased gradient estimator of the `k`-sample
/// importance-weighted bound `L_k` for proposals that cannot be reparameterized (Bernoulli,
/// Categorical, OneHotCategorical latents; any [`Distribution`] with a `log_prob`), with a
/// per-sample leave-one-out baseline.
///
/// For draws `h_1..h_k ~ q_φ(h | x)` (no gradient through them), `f_i = p_θ(x, h_i)/q_φ(h_i | x)`
/// and `L̂ = ln (1/k) Σ_i f_i`:
///
/// `∇L̂ = Σ_j (L̂ − L̂_{−j}) ∇φ ln q_φ(h_j | x) + Σ_j w̃_j ∇ ln f_j`,
///
/// where `w̃_j = f_j / Σ_i f_i` and the baseline of draw `j` replaces `f_j` by the geometric
/// mean of the others, `f̂_{−j} = exp((1/(k − 1)) Σ_{i≠j} ln f_i`):
///
/// `L̂_{−j} = ln (1/k) (Σ_{i≠j} f_i + f̂_{−j})`.
///
/// The second sum (`∇ ln f_j = ∇θ ln p_θ − ∇φ ln q_φ`) is the bound's own gradient with the
/// draws held fixed. Surrogate, with stop-gradients `sg`:
///
/// `L̂ + Σ_j sg(L̂ − L̂_{−j})·(ln q_φ(h_j) − sg(ln q_φ(h_j)))`,
///
/// whose value is `L̂` and whose gradient is the estimator.
///
/// - Bias: none. `L̂_{−j}` depends on the other draws only, so `E[L̂_{−j} ∇ ln q(h_j)] = 0`;
///   the estimator is unbiased for `∇θ L_k` and `∇φ L_k` (tests/vimco.rs checks this
///   against exact enumeration for Bernoulli, Categorical and OneHotCategorical latents).
/// - Variance: the learning signal `L̂ − L̂_{−j}` is the credit of draw `j` alone, which keeps
///   the variance far below REINFORCE on `L̂` with one shared baseline, and it does not grow
///   with `k` as the shared signal `L̂` would.
/// - Requirements: `k ≥ 2`; `log_prob` differentiable in φ; `log_joint` may be any function of
///   the draws (black box in `h`), differentiable in θ where θ should learn.
///
/// # Numerics
///
/// The leave-one-out bounds are computed in `O(k·B)` without cancellation: for a draw that is
/// not the largest, `Σ_{i≠j} f_i` is the full sum less a term no larger than the largest one,
/// which stays in it; for the largest draw the sum over the others is taken directly, shifted
/// by the second largest. Finite for every finite log-weight over the `f32` range.
///
/// # Shapes
///
/// A proposal of `B` rows; `log_joint` receives `k·B` draws (sample-major, of the proposal's
/// value type: floats for Bernoulli and OneHotCategorical, class indices for Categorical) and
/// returns `ln p(x, h)` per draw, `[k·B]`. Surrogate `[B]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::multisample::{MultiSampleEstimator, Vimco};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::zeros([4, 3], &device).require_grad();
/// let q = Bernoulli::from_logits(logits.clone())?;
/// // a model that prefers the bits (1, 0, 1): ln p(x, h) = −2·|h − (1, 0, 1)|₁
/// let target = Tensor::<2>::from_floats([[1.0, 0.0, 1.0]], &device);
/// let est = Vimco::new(5)?.estimate(&q, &mut NoiseSource::seed_from_u64(0), |h| {
///     let rows = h.dims()[0];
///     ((h - target.clone()).abs().sum_dim(1) * -2.0).reshape([rows])
/// })?;
/// let g = logits.grad(&est.loss().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// assert_eq!(g.len(), 12);
/// assert!(g.iter().all(|v| v.is_finite()));
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Mnih & Rezende, *Variational Inference for Monte Carlo Objectives*, ICML 2016 (§3,
/// the geometric-mean baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vimco {
    k: usize,
}

impl Vimco {
    /// VIMCO with `k` draws per element.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for `k < 2` (the leave-one-out baseline needs another
    /// draw).
    pub fn new(k: usize) -> Result<Self> {
        if k < 2 {
            return Err(Error::invalid("Vimco", "k", "at least 2"));
        }
        Ok(Self { k })
    }

    /// The number of draws per element.
    pub fn k(&self) -> usize {
        self.k
    }
}

impl<const D: usize, Q: Distribution<D>> MultiSampleEstimator<D, Q> for Vimco {
    fn estimate<F>(
        &self,
        q: &Q,
        noise: &mut NoiseSource,
        mut log_joint: F,
    ) -> Result<MultiSampleEstimate<Q::Value>>
    where
        F: FnMut(Q::Value) -> Tensor<1>,
    {
        let (k, b) = (self.k, q.rows());
        let draws = q.replicate(k);
        let h = draws.sample(noise);
        let log_q = sum_per_row(draws.log_prob(&h)?);
        let log_p = log_joint(h.clone());
        check_costs(&log_p, draws.rows())?;
        let log_f = (log_p - log_q.clone()).reshape([k, b]);
        let bound = log_mean_exp(log_f.clone());
        let signal = learning_signals(log_f.clone().detach());
        let log_q = log_q.reshape([k, b]);
        let score = (signal * (log_q.clone() - log_q.detach()))
            .sum_dim(0)
            .reshape([b]);
        Ok(MultiSampleEstimate {
            surrogate: bound + score,
            log_weights: log_f.detach(),
            samples: h,
        })
    }
}

/// The learning signals `L̂ − L̂_{−j}` of every draw, `[k, B]`, from detached log-weights
/// `ℓ = ln f`, `[k, B]`, `k ≥ 2`. The `ln k` and the maximum `m` cancel in the difference:
/// with `d_i = ℓ_i − m ≤ 0`, `T = Σ_i e^{d_i}` (≥ 1) and the mean of the others' `d`,
/// `g_j = (Σ_i d_i − d_j)/(k − 1)`,
///
/// - for `j` not the largest: `ln T − ln(T − e^{d_j} + e^{g_j})`, where `T − e^{d_j} ≥ 1`;
/// - for the largest (`d_j = 0`), with `d₂` the largest of the others:
///   `ln T − d₂ − ln(Σ_{i≠j} e^{d_i − d₂} + e^{g_j − d₂})`, the sum at least 1.
pub(crate) fn learning_signals(log_f: Tensor<2>) -> Tensor<2> {
    let [k, b] = log_f.dims();
    let device = log_f.device();
    let max = log_f.clone().max_dim(0);
    let d = (log_f.clone() - max).clamp(f32::MIN, 0.0);
    let total = d.clone().exp().sum_dim(0); // [1, B]
    let inv = 1.0 / (k as f64 - 1.0);
    let mean_others = (d.clone() * inv).sum_dim(0).expand([k, b]) - d.clone() * inv;
    // the draw holding the maximum (one per column, ties broken by argmax)
    let arg = log_f.argmax(0); // [1, B]
    let index = Tensor::<1, Int>::arange(0..k as i64, &device).reshape([k, 1]);
    let is_max = index.expand([k, b]).equal(arg.expand([k, b]));
    // others than a non-maximal draw j
    let rest = (total.clone().expand([k, b]) - d.clone().exp()).clamp_min(1.0);
    let others = (rest + mean_others.clone().exp()).log();
    // others than the maximal draw, shifted by the second largest
    let second = d
        .clone()
        .mask_fill(is_max.clone(), f32::NEG_INFINITY)
        .max_dim(0); // [1, B]
    let below = (d - second.clone())
        .mask_fill(is_max.clone(), f32::NEG_INFINITY)
        .exp()
        .sum_dim(0); // [1, B], ≥ 1
    let own = (mean_others.clone() - second.clone().expand([k, b])).exp();
    let others_of_max = (below.expand([k, b]) + own).log() + second.expand([k, b]);
    let log_total = total.log().expand([k, b]);
    log_total - others.mask_where(is_max, others_of_max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// The signals against a direct f64 evaluation of `L̂ − L̂_{−j}`.
    fn direct(l: &[f64], k: usize, b: usize) -> Vec<f64> {
        let mut out = vec![0.0; k * b];
        for col in 0..b {
            let x: Vec<f64> = (0..k).map(|i| l[i * b + col]).collect();
            let lme = |v: &[f64]| {
                let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                m + (v.iter().map(|a| (a - m).exp()).sum::<f64>() / v.len() as f64).ln()
            };
            let full = lme(&x);
            for j in 0..k {
                let gm = (x.iter().sum::<f64>() - x[j]) / (k as f64 - 1.0);
                let mut y = x.clone();
                y[j] = gm;
                out[j * b + col] = full - lme(&y);
            }
        }
        out
    }

    #[test]
    fn signals_match_the_definition() {
        let (k, b) = (5, 3);
        let l: Vec<f64> = (0..k * b)
            .map(|i| ((i as f64) * 1.37).sin() * 4.0)
            .collect();
        let t = Tensor::<2>::from_data(
            TensorData::new(l.iter().map(|&v| v as f32).collect::<Vec<_>>(), [k, b]),
            &Device::flex(),
        );
        let got = learning_signals(t).try_into_vec_as::<f32>().unwrap();
        let want = direct(&l, k, b);
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn signals_stay_finite_for_extreme_spreads() {
        let device = Device::flex();
        for v in [
            [[1e30f32, -1e30], [-1e30, 1e30], [0.0, 0.0]],
            [[f32::MAX, f32::MIN], [f32::MIN, f32::MAX], [0.0, f32::MIN]],
            [[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]],
        ] {
            let s = learning_signals(Tensor::<2>::from_floats(v, &device))
                .try_into_vec_as::<f32>()
                .unwrap();
            assert!(s.iter().all(|x| x.is_finite()), "{v:?}: {s:?}");
        }
        // equal weights: every draw's credit is zero
        let s = learning_signals(Tensor::<2>::from_floats([[3.0], [3.0], [3.0]], &device))
            .try_into_vec_as::<f32>()
            .unwrap();
        assert!(s.iter().all(|x| x.abs() < 1e-6), "{s:?}");
    }

    /// A rank-3 proposal (30 positions of 10 classes per image, as in the discrete VAE): the
    /// log-probability of a draw sums over its positions, the surrogate is one per image.
    #[test]
    fn rank_three_one_hot_proposals_work() {
        use crate::distributions::OneHotCategorical;
        let device = Device::flex().autodiff();
        let logits = Tensor::<3>::zeros([2, 3, 4], &device).require_grad();
        let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
        let est = Vimco::new(3)
            .unwrap()
            .estimate(&q, &mut NoiseSource::seed_from_u64(1), |h: Tensor<3>| {
                assert_eq!(h.dims(), [6, 3, 4]);
                // ln p(x, h) = h₀ + 2h₁ summed over positions, minus the uniform prior
                let w = Tensor::<3>::from_floats([[[1.0, 2.0, 0.0, 0.0]]], &h.device());
                (h * w).sum_dim(2).sum_dim(1).reshape([6]) - 3.0 * 4f32.ln()
            })
            .unwrap();
        assert_eq!(est.surrogate.dims(), [2]);
        assert_eq!(est.log_weights.dims(), [3, 2]);
        let g = logits
            .grad(&est.loss().backward())
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        assert_eq!(g.len(), 24);
        assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0));
    }

    #[test]
    fn k_below_two_is_an_error() {
        assert!(matches!(
            Vimco::new(1),
            Err(Error::InvalidParameter { name: "k", .. })
        ));
        assert_eq!(Vimco::new(2).unwrap().k(), 2);
    }
}
