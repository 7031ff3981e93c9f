//! The categorical distribution over class indices.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;

use super::{Distribution, Entropy, EnumerableSupport, Mean, params};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};

/// The largest support [`Categorical::enumerate_support`] and its kin will build, in points
/// per row.
pub const SUPPORT_LIMIT: u128 = 1 << 20;

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
        Ok(Self {
            log_probs: (probs / sums).log(),
        })
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
    /// [`Error::SupportTooLarge`] beyond [`SUPPORT_LIMIT`] points.
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
        let k = dims[D - 1];
        let rows = dims[0];
        let positions: usize = dims[1..D - 1].iter().product();
        let count = support_size(Self::NAME, k, positions)?;
        let mut data = Vec::with_capacity(count * rows * positions);
        for j in 0..count {
            let digits = base_digits(j, k, positions);
            for _ in 0..rows {
                data.extend(digits.iter().map(|&d| d as i64));
            }
        }
        let mut shape = dims;
        shape[0] = count * rows;
        shape[D - 1] = 1;
        Ok((
            Tensor::from_data(TensorData::new(data, shape), &self.device()),
            count,
        ))
    }
}

/// `K^L`, or an error above the limit.
pub(crate) fn support_size(name: &'static str, k: usize, positions: usize) -> Result<usize> {
    let size = (0..positions).try_fold(1u128, |acc, _| acc.checked_mul(k as u128));
    match size {
        Some(s) if s <= SUPPORT_LIMIT => Ok(s as usize),
        other => Err(Error::SupportTooLarge {
            owner: name,
            size: other.unwrap_or(u128::MAX),
            limit: SUPPORT_LIMIT,
        }),
    }
}

/// The `positions` base-`k` digits of `j`, most significant first.
pub(crate) fn base_digits(mut j: usize, k: usize, positions: usize) -> Vec<usize> {
    let mut digits = vec![0; positions];
    for d in digits.iter_mut().rev() {
        *d = j % k;
        j /= k;
    }
    digits
}

/// Fails when the class axis is empty.
pub(crate) fn check_categories<const D: usize>(name: &'static str, t: &Tensor<D>) -> Result<()> {
    if t.dims()[D - 1] == 0 {
        Err(Error::EmptyCategories { owner: name })
    } else {
        Ok(())
    }
}

/// The one-hot encoding of class indices `[..., 1]` into `[..., K]`, exactly 0 and 1, on the
/// device without a host round trip (it compares each index with `0..K`; an index outside
/// `0..K` gives a row of zeros).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::one_hot;
///
/// let device = Device::flex();
/// let index = Tensor::<2, Int>::from_ints([[2], [0]], &device);
/// let y = one_hot(index, 3).try_into_vec_as::<f32>().unwrap();
/// assert_eq!(y, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// ```
pub fn one_hot<const D: usize>(index: Tensor<D, Int>, k: usize) -> Tensor<D> {
    let device = index.device();
    let mut shape = [1usize; D];
    shape[D - 1] = k;
    let classes = Tensor::<1, Int>::arange(0..k as i64, &device).reshape(shape);
    let mut full = index.dims();
    full[D - 1] = k;
    index.expand(full).equal(classes.expand(full)).float()
}

/// `ln p` with `0 · ln 0 = 0`: `−∞` log-probabilities are replaced by a finite number before
/// multiplying by the (zero) probability.
pub(crate) fn finite_log<const D: usize>(log_p: Tensor<D>) -> Tensor<D> {
    log_p.clamp_min(f32::MIN)
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

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn device(&self) -> Device {
        self.log_probs.device()
    }

    /// Gumbel-max: `argmax(ℓ + g)` along the class axis.
    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D, Int> {
        self.perturbed(noise).detach().argmax(D - 1)
    }

    /// `ℓ_x − logsumexp(ℓ)`, gathered at the class index.
    fn log_prob(&self, value: &Tensor<D, Int>) -> Result<Tensor<D>> {
        params::expect_shape("Categorical::log_prob", &value.dims(), &self.value_shape())?;
        Ok(self.log_probs.clone().gather(D - 1, value.clone()))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            log_probs: self.log_probs.clone().repeat_dim(0, n),
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
impl<const D: usize> KlDivergence<D, Categorical<D>> for Categorical<D> {
    fn kl_divergence(&self, q: &Categorical<D>) -> Result<Tensor<D>> {
        let shape = params::broadcast(
            "kl_divergence(Categorical, Categorical)",
            &[self.log_probs.dims(), q.log_probs.dims()],
        )?;
        let p = self.probs().expand(shape);
        let diff = finite_log(self.log_probs.clone()) - q.log_probs.clone();
        // p = 0 contributes nothing, whatever q
        let terms = (p.clone() * diff).mask_fill(p.equal_elem(0.0), 0.0);
        Ok(terms.sum_dim(D - 1))
    }
}
