//! The categorical distribution over one-hot vectors.

use burn::prelude::*;

use super::Categorical;
use super::internal::{self, not_one_hot, one_hot};
use super::{Distribution, Entropy, EnumerableSupport, Mean};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::NoiseSource;

/// A categorical distribution whose samples are one-hot vectors `[..., K]` (floats, exactly
/// 0 and 1) instead of indices: the form a decoder network consumes, and the discrete
/// counterpart of [`RelaxedOneHotCategorical`](super::RelaxedOneHotCategorical).
///
/// Mass: `P(x = e_k) = softmax(ℓ)_k`; a vector that is not one-hot has log-mass `−∞`. Mean:
/// the probability vector. Valid range: as [`Categorical`].
///
/// # Shapes
///
/// Logits `[..., K]` (rank `D`); samples are one-hot `[..., K]`; `log_prob` and `entropy` are
/// `[..., 1]`; the mean is `[..., K]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Distribution, OneHotCategorical};
///
/// let device = Device::flex();
/// let c = OneHotCategorical::from_logits(Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device))?;
/// let x = c.sample(&mut NoiseSource::seed_from_u64(0));
/// assert_eq!(x.clone().sum().into_scalar::<f32>(), 1.0);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OneHotCategorical<const D: usize> {
    inner: Categorical<D>,
}

impl<const D: usize> OneHotCategorical<D> {
    /// From logits, classes on the last axis; see [`Categorical::from_logits`].
    ///
    /// # Errors
    ///
    /// As [`Categorical::from_logits`].
    pub fn from_logits(logits: Tensor<D>) -> Result<Self> {
        Ok(Self {
            inner: Categorical::from_logits(logits)?,
        })
    }

    /// From logits without the value check (no device sync); see
    /// [`Categorical::from_logits_unchecked`].
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCategories`](crate::Error::EmptyCategories) for an empty class axis.
    pub fn from_logits_unchecked(logits: Tensor<D>) -> Result<Self> {
        Ok(Self {
            inner: Categorical::from_logits_unchecked(logits)?,
        })
    }

    /// From probabilities; see [`Categorical::from_probs`].
    ///
    /// # Errors
    ///
    /// As [`Categorical::from_probs`].
    pub fn from_probs(probs: Tensor<D>) -> Result<Self> {
        Ok(Self {
            inner: Categorical::from_probs(probs)?,
        })
    }

    /// The same law over class indices.
    pub fn categorical(&self) -> &Categorical<D> {
        &self.inner
    }

    /// The probabilities, `[..., K]`.
    pub fn probs(&self) -> Tensor<D> {
        self.inner.probs()
    }

    /// Every point of the joint support of a row as one-hot vectors, sample-major; see
    /// [`Categorical::enumerate_support`].
    ///
    /// # Errors
    ///
    /// [`Error::SupportTooLarge`](crate::Error::SupportTooLarge) beyond the limit.
    pub fn enumerate_support(&self) -> Result<(Tensor<D>, usize)> {
        let (index, count) = self.inner.enumerate_support()?;
        Ok((one_hot(index, self.inner.categories()), count))
    }
}

impl<const D: usize> Distribution<D> for OneHotCategorical<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "OneHotCategorical";

    fn value_shape(&self) -> [usize; D] {
        self.inner.log_probs().dims()
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.inner.batch_shape()
    }

    fn event_shape(&self) -> Vec<usize> {
        vec![self.inner.categories()]
    }

    fn device(&self) -> Device {
        self.inner.device()
    }

    /// Gumbel-max, one-hot encoded.
    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.inner.one_hot(&self.inner.sample(noise))
    }

    /// `Σ_k x_k ℓ_k` for one-hot `x`, `[..., 1]` (the class is read off by argmax, so a
    /// `−∞` logit of an unselected class does no harm); `−∞` for a vector that is not one-hot
    /// (an entry other than 0 and 1, or not exactly one 1).
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        internal::expect_shape(
            "OneHotCategorical::log_prob",
            &value.dims(),
            &self.value_shape(),
        )?;
        let lp = self.inner.log_prob(&value.clone().argmax(D - 1))?;
        Ok(lp.mask_fill(not_one_hot(value), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            inner: self.inner.replicate(n),
        }
    }
}

impl<const D: usize> EnumerableSupport<D> for OneHotCategorical<D> {
    fn enumerate_support(&self) -> Result<(Tensor<D>, usize)> {
        OneHotCategorical::enumerate_support(self)
    }
}

impl<const D: usize> Entropy<D> for OneHotCategorical<D> {
    fn entropy(&self) -> Tensor<D> {
        self.inner.entropy()
    }
}

impl<const D: usize> Mean<D> for OneHotCategorical<D> {
    /// The probability vector.
    fn mean(&self) -> Tensor<D> {
        self.inner.probs()
    }
}

/// As for [`Categorical`].
impl<const D: usize> KlDivergence<D, OneHotCategorical<D>> for OneHotCategorical<D> {
    fn kl_divergence(&self, q: &OneHotCategorical<D>) -> Result<Tensor<D>> {
        self.inner.kl_divergence(&q.inner)
    }
}
