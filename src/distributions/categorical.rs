//! The categorical distribution over class indices.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;

use super::internal::{self, check_categories, finite_log, one_hot};
use super::{Distribution, Entropy, EnumerableSupport, Mean};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{exp_excess_series, exp_times, log1p};

/// The categorical distribution over `K` classes, one per position of the batch, with the
/// classes on the last axis.
///
/// Mass: `P(x = k) = softmax(ℓ)_k = exp(ℓ_k) / Σ_j exp(ℓ_j)` for logits ℓ.
///
/// Sampling: the Gumbel-max trick, `x = argmax_k (ℓ_k + g_k)` with `g_k` standard Gumbel
/// (Gumbel 1954; Maddison et al. 2014): exact, vectorized, no cumulative sums, no device sync.
///
/// Not reparameterizable: gradients go through the score function or a relaxation.
///
/// Valid range (checked by [`from_logits`](Self::from_logits)): logits free of NaN and `+∞`
/// with a finite logit in every row; `−∞` marks an impossible class, and any finite spread of
/// logits is fine (the log-probabilities are normalized by a stable log-softmax). A class
/// index outside `0..K` has log-mass `−∞` (no panic).
///
/// # Shapes
///
/// Logits `[..., K]` (rank `D`); samples are class indices `[..., 1]` (`Int`, rank `D`);
/// `log_prob` and `entropy` are `[..., 1]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Categorical, Distribution};
///
/// let device = Device::flex();
/// let c = Categorical::from_logits(Tensor::<2>::from_floats([[0.0, 10.0, 0.0]], &device))?;
/// let x = c.sample(&mut NoiseSource::seed_from_u64(3));
/// assert_eq!(x.dims(), [1, 1]);
/// let lp: f32 = c.log_prob(&x)?.into_scalar();
/// assert!(lp <= 0.0);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Categorical<const D: usize> {
    /// Normalized logits (log-probabilities).
    log_probs: Tensor<D>,
}

impl<const D: usize> Categorical<D> {
    /// From unnormalized logits, classes on the last axis. `−∞` marks an impossible class.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCategories`] for an empty class axis; [`Error::InvalidParameter`] for a
    /// NaN or `+∞` logit, or a row whose logits are all `−∞` (one device sync).
    pub fn from_logits(logits: Tensor<D>) -> Result<Self> {
        check_categories(Self::NAME, &logits)?;
        let lse_bad = logits.clone().max_dim(D - 1).is_finite().bool_not();
        let bad = logits
            .clone()
            .is_nan()
            .bool_or(logits.clone().equal_elem(f32::INFINITY));
        let n = bad.shape().num_elements();
        let m = lse_bad.shape().num_elements();
        let any_bad = Tensor::cat(vec![bad.reshape([n]).int(), lse_bad.reshape([m]).int()], 0);
        if any_bad.greater_elem(0).any().into_scalar::<bool>() {
            return Err(Error::invalid(
                Self::NAME,
                "logits",
                "free of NaN and +∞, with a finite logit in every row",
            ));
        }
        Self::from_logits_unchecked(logits)
    }

    /// From logits without the value check (no device sync); the class axis is still
    /// checked (a shape property, free).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCategories`] for an empty class axis.
    pub fn from_logits_unchecked(logits: Tensor<D>) -> Result<Self> {
        check_categories(Self::NAME, &logits)?;
        Ok(Self::from_normalized(log_softmax(logits, D - 1)))
    }

    /// From log-probabilities already normalized along the last axis.
    pub(crate) fn from_normalized(log_probs: Tensor<D>) -> Self {
        Self { log_probs }
    }

    /// From probabilities (non-negative, normalized along the last axis here).
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCategories`] for an empty class axis; [`Error::InvalidParameter`] for a
    /// negative or non-finite probability or a row summing to zero (one device sync).
    pub fn from_probs(probs: Tensor<D>) -> Result<Self> {
        check_categories(Self::NAME, &probs)?;
        let sums = probs.clone().sum_dim(D - 1);
        let bad = probs
            .clone()
            .lower_elem(0.0)
            .bool_or(probs.clone().is_finite().bool_not());
        let n = bad.shape().num_elements();
        let m = sums.shape().num_elements();
        let bad_sum = sums.clone().lower_equal_elem(0.0).reshape([m]);
        if Tensor::cat(vec![bad.reshape([n]).int(), bad_sum.int()], 0)
            .greater_elem(0)
            .any()
            .into_scalar::<bool>()
        {
            return Err(Error::invalid(
                Self::NAME,
                "probs",
                "finite, non-negative, and not all zero in a row",
            ));
        }
        // ln p with the derivative 1/max(p, f32::MIN_POSITIVE): the same value (−∞ for a zero
        // probability), but a class of probability 0 (or subnormal) passes a finite gradient,
        // where ln's own backward, 1/0 = ∞ times the zero gradient of a class never drawn,
        // would be NaN for every parameter of the row
        let p = probs / sums;
        let fixed = p.clone().detach();
        let slope = fixed.clone().clamp_min(f32::MIN_POSITIVE).recip();
        let log_probs = fixed.log() + (p.clone() - p.detach()) * slope;
        Ok(Self { log_probs })
    }

    /// The normalized logits `ln P(x = k)`, `[..., K]`.
    pub fn log_probs(&self) -> &Tensor<D> {
        &self.log_probs
    }

    /// The probabilities, `[..., K]` (`exp` of the normalized logits).
    pub fn probs(&self) -> Tensor<D> {
        self.log_probs.clone().exp()
    }

    /// The number of classes K.
    pub fn categories(&self) -> usize {
        self.log_probs.dims()[D - 1]
    }

    /// The log-probabilities perturbed by fresh standard Gumbel noise, `ℓ + g`: their argmax
    /// is a sample, their tempered softmax a Concrete sample.
    pub(crate) fn perturbed(&self, noise: &mut NoiseSource) -> Tensor<D> {
        let g = noise.tensor(StandardNoise::Gumbel, self.log_probs.dims(), &self.device());
        self.log_probs.clone() + g
    }

    /// The one-hot encoding of class indices `[..., 1]` into `[..., K]`, exactly 0 and 1.
    pub fn one_hot(&self, index: &Tensor<D, Int>) -> Tensor<D> {
        one_hot(index.clone(), self.categories())
    }

    /// Every point of the joint support of a row, sample-major: for a batch of `B` rows whose
    /// events hold `L` categorical positions (`L = 1` for logits `[B, K]`), returns the
    /// `K^L` configurations as `K^L·B` rows of indices, configuration `j` of row `b` at row
    /// `j·B + b`, and the count `K^L`. Pair it with [`replicate`](Distribution::replicate)`(K^L)`
    /// to evaluate exact expectations.
    ///
    /// # Errors
    ///
    /// [`Error::SupportTooLarge`] beyond [`SUPPORT_LIMIT`](super::SUPPORT_LIMIT) points.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::distributions::Categorical;
    ///
    /// let device = Device::flex();
    /// let c = Categorical::from_logits(Tensor::<2>::zeros([2, 3], &device))?;
    /// let (support, count) = c.enumerate_support()?;
    /// assert_eq!(count, 3);
    /// assert_eq!(support.try_into_vec_as::<i64>().unwrap(), vec![0, 0, 1, 1, 2, 2]);
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn enumerate_support(&self) -> Result<(Tensor<D, Int>, usize)> {
        let dims = self.log_probs.dims();
        let positions: usize = dims[1..D - 1].iter().product();
        let (digits, count) =
            internal::support_digits(Self::NAME, dims[D - 1], dims[0], positions)?;
        let data: Vec<i64> = digits.into_iter().map(|d| d as i64).collect();
        let mut shape = dims;
        shape[0] *= count;
        shape[D - 1] = 1;
        Ok((
            Tensor::from_data(TensorData::new(data, shape), &self.device()),
            count,
        ))
    }
}

impl<const D: usize> Distribution<D> for Categorical<D> {
    type Value = Tensor<D, Int>;
    const NAME: &'static str = "Categorical";

    fn value_shape(&self) -> [usize; D] {
        let mut s = self.log_probs.dims();
        s[D - 1] = 1;
        s
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.log_probs.dims()[..D - 1].to_vec()
    }

    fn device(&self) -> Device {
        self.log_probs.device()
    }

    /// Gumbel-max: `argmax(ℓ + g)` along the class axis.
    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D, Int> {
        self.perturbed(noise).detach().argmax(D - 1)
    }

    /// `ℓ_x − logsumexp(ℓ)`, gathered at the class index; `−∞` for an index outside `0..K`.
    fn log_prob(&self, value: &Tensor<D, Int>) -> Result<Tensor<D>> {
        internal::expect_shape("Categorical::log_prob", &value.dims(), &self.value_shape())?;
        let k = self.categories() as i64;
        let outside = value
            .clone()
            .lower_elem(0)
            .bool_or(value.clone().greater_equal_elem(k));
        let index = value.clone().clamp(0, k - 1);
        Ok(self
            .log_probs
            .clone()
            .gather(D - 1, index)
            .mask_fill(outside, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            log_probs: internal::replicate(&self.log_probs, n, self.log_probs.dims()[0]),
        }
    }
}

impl<const D: usize> EnumerableSupport<D> for Categorical<D> {
    fn enumerate_support(&self) -> Result<(Tensor<D, Int>, usize)> {
        Categorical::enumerate_support(self)
    }
}

impl<const D: usize> Entropy<D> for Categorical<D> {
    /// `−Σ_k p_k ln p_k`, `[..., 1]`.
    fn entropy(&self) -> Tensor<D> {
        (self.probs() * finite_log(self.log_probs.clone()))
            .sum_dim(D - 1)
            .neg()
    }
}

impl<const D: usize> Mean<D> for Categorical<D> {
    /// The expected class index `Σ_k k·p_k`, `[..., 1]`.
    fn mean(&self) -> Tensor<D> {
        let k = self.categories();
        let mut shape = [1usize; D];
        shape[D - 1] = k;
        let classes = Tensor::<1, Int>::arange(0..k as i64, &self.device())
            .float()
            .reshape(shape);
        (self.probs() * classes).sum_dim(D - 1)
    }
}

/// `KL(p ‖ q) = Σ_k p_k (ln p_k − ln q_k)`, `[..., 1]`; +∞ where q gives zero mass to a class
/// p does not.
///
/// Below 1 nat the sum is rewritten without cancellation: with `Δ_k = ln q_k − ln p_k` and
/// `c = Σ_k p_k Δ_k` (so `KL = −c`), `Σ_k q_k e^{−c} = e^{KL}` gives
/// `KL = ln(1 + Σ_k t_k)` with `t_k = p_k φ(Δ_k − c)` where `p_k > 0` and `t_k = q_k e^{−c}`
/// where `p_k = 0`, `φ(u) = e^u − 1 − u ≥ 0`: a sum of non-negative terms (the direct sum of
/// terms of either sign keeps only its first few digits when p and q are close, and loses the
/// mass q puts where p has none). Above 1 nat the direct sum has no such loss and is used as
/// is.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Categorical;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let p = Categorical::from_logits(Tensor::<2>::from_floats([[0.0, 0.0]], &device))?;
/// let q = Categorical::from_logits(Tensor::<2>::from_floats([[0.0, 2e-3]], &device))?;
/// // KL = ½ ln(½/q₀) + ½ ln(½/q₁) ≈ δ²/8 = 5.0e-7 for logits δ = 2e-3 apart
/// let q1 = 1.0 / (1.0 + (-2e-3f64).exp());
/// let exact = 0.5 * (0.5 / (1.0 - q1)).ln() + 0.5 * (0.5 / q1).ln();
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!(((kl as f64 - exact) / exact).abs() < 1e-3);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Categorical<D>> for Categorical<D> {
    fn kl_divergence(&self, q: &Categorical<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast(
            "kl_divergence(Categorical, Categorical)",
            &[self.log_probs.dims(), q.log_probs.dims()],
        )?;
        Ok(categorical_kl(
            self.log_probs.clone().expand(shape),
            q.log_probs.clone().expand(shape),
        ))
    }
}

/// `KL(p ‖ q)` from normalized log-probabilities of one shape, classes on the last axis.
pub(crate) fn categorical_kl<const D: usize>(lp: Tensor<D>, lq: Tensor<D>) -> Tensor<D> {
    let lp = finite_log(lp);
    // p_k = 0 exactly below the smallest subnormal (whatever a device does with subnormals:
    // the products with p go through exp_times and do not need p itself)
    let absent = lp.clone().lower_elem(-104.0);
    // the direct sum; p = 0 contributes nothing, whatever q
    let direct = exp_times(
        lp.clone(),
        (lp.clone() - lq.clone()).mask_fill(absent.clone(), 0.0),
    )
    .sum_dim(D - 1);
    // below 1 nat: ln(1 + Σ_k t_k), t_k = p_k φ(Δ_k − c) for a class of p, and its limit
    // e^{ln q_k − c} where p_k is 0; each branch fed only values it handles
    let small = direct.clone().lower_elem(1.0);
    let rows = small.clone().expand(lp.dims());
    let present = absent.bool_not().bool_and(lq.clone().is_finite());
    let usable = rows.clone().bool_and(present.clone());
    let delta = (lq.clone() - lp.clone()).mask_fill(usable.bool_not(), 0.0);
    // products with p through exp_times: a subnormal p keeps its digits
    let c = exp_times(lp.clone(), delta.clone())
        .sum_dim(D - 1)
        .mask_fill(small.clone().bool_not(), 0.0);
    let u = delta - c.clone();
    let near = u.clone().abs().lower_equal_elem(1.0).bool_and(present);
    let series = exp_times(lp.clone(), exp_excess_series(u.clone().clamp(-1.0, 1.0)));
    let lq_rows = lq.mask_fill(rows.bool_not(), 0.0);
    let far = (lq_rows - c).exp() - exp_times(lp, u.add_scalar(1.0));
    let excess = far.mask_where(near, series).sum_dim(D - 1);
    direct.mask_where(small, log1p(excess))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `from_probs` with a zero and a subnormal probability: `ln P(x = 1)` has the gradient
    /// `e_1/p_1 − 1/S` in the unnormalized probabilities (`S = Σ p = 1` here), finite, with
    /// `−1` for the two tiny classes. Negative control: `ln(p/S)` by Burn's `log` gives NaN
    /// there (its backward is `1/p` at `p = 0`, times the zero upstream gradient).
    #[test]
    fn zero_probabilities_pass_finite_gradients() {
        let device = Device::flex().autodiff();
        let raw = [0.0f32, 0.25, 0.75, 1e-45];
        let probs = Tensor::<2>::from_floats([raw], &device).require_grad();
        let q = Categorical::from_probs(probs.clone()).unwrap();
        let lp = q.log_probs().clone();
        let values = lp.clone().inner().try_into_vec_as::<f32>().unwrap();
        assert_eq!(values[0], f32::NEG_INFINITY);
        assert!((values[1] - 0.25f32.ln()).abs() < 1e-6);
        let g = probs.grad(&lp.narrow(1, 1, 1).sum().backward()).unwrap();
        let g = g.try_into_vec_as::<f32>().unwrap();
        for (got, want) in g.iter().zip([-1.0f32, 3.0, -1.0, -1.0]) {
            assert!((got - want).abs() < 1e-5, "{g:?}");
        }
        // negative control: the plain logarithm
        let probs = Tensor::<2>::from_floats([raw], &device).require_grad();
        let plain = (probs.clone() / probs.clone().sum_dim(1)).log();
        let g = probs.grad(&plain.narrow(1, 1, 1).sum().backward()).unwrap();
        assert!(
            g.try_into_vec_as::<f32>()
                .unwrap()
                .iter()
                .any(|x| x.is_nan())
        );
    }
}
