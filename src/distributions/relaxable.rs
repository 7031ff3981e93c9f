//! Discrete families with a continuous relaxation: what the Gumbel-softmax and
//! straight-through estimators need of a distribution.

use burn::prelude::*;

use super::internal::one_hot;
use super::{
    Bernoulli, Categorical, Distribution, OneHotCategorical, RelaxedBernoulli,
    RelaxedOneHotCategorical, Reparameterized,
};
use crate::error::Result;
use crate::rng::NoiseSource;

/// A discrete distribution with a Concrete relaxation at temperature τ, and a float encoding
/// of its samples (one-hot vectors, or 0/1) that the relaxation approximates.
///
/// # Shapes
///
/// The relaxed family, the hard samples and the probabilities all have the family's float
/// encoding: `[..., K]` for the categorical families (one-hot), the value shape for a
/// Bernoulli.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Categorical, Relaxable, Reparameterized};
///
/// let c = Categorical::from_logits(Tensor::<2>::from_floats([[0.0, 3.0, -1.0]], &Device::flex()))?;
/// let soft = c.relax(0.1)?.rsample(&mut NoiseSource::seed_from_u64(0));
/// let hard = c.harden(soft.clone());
/// // the relaxed draw at a low temperature is close to the one-hot vector it rounds to
/// let gap: f32 = (soft - hard.clone()).abs().max().into_scalar();
/// assert!(gap < 0.2);
/// assert_eq!(hard.sum().into_scalar::<f32>(), 1.0);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Relaxable<const D: usize>: Distribution<D> {
    /// The relaxed family.
    type Relaxed: Reparameterized<D>;

    /// The relaxation at temperature τ.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is
    /// not finite and positive.
    fn relax(&self, temperature: f64) -> Result<Self::Relaxed>;

    /// The hard sample a relaxed draw rounds to: the one-hot vector of its largest entry, or
    /// `1[y > ½]`. Exactly 0 and 1.
    fn harden(&self, relaxed: Tensor<D>) -> Tensor<D>;

    /// A hard sample, float encoded (one-hot or 0/1), without gradient.
    fn hard_sample(&self, noise: &mut NoiseSource) -> Tensor<D>;

    /// The mean of the float encoding (the probabilities), differentiable: the backward path
    /// of the plain straight-through estimator.
    fn probabilities(&self) -> Tensor<D>;
}

impl<const D: usize> Relaxable<D> for Categorical<D> {
    type Relaxed = RelaxedOneHotCategorical<D>;

    fn relax(&self, temperature: f64) -> Result<Self::Relaxed> {
        RelaxedOneHotCategorical::from_log_probs(self.log_probs().clone(), temperature)
    }

    fn harden(&self, relaxed: Tensor<D>) -> Tensor<D> {
        one_hot(relaxed.argmax(D - 1), self.categories())
    }

    fn hard_sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.one_hot(&self.sample(noise))
    }

    fn probabilities(&self) -> Tensor<D> {
        self.probs()
    }
}

impl<const D: usize> Relaxable<D> for OneHotCategorical<D> {
    type Relaxed = RelaxedOneHotCategorical<D>;

    fn relax(&self, temperature: f64) -> Result<Self::Relaxed> {
        self.categorical().relax(temperature)
    }

    fn harden(&self, relaxed: Tensor<D>) -> Tensor<D> {
        self.categorical().harden(relaxed)
    }

    fn hard_sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.sample(noise)
    }

    fn probabilities(&self) -> Tensor<D> {
        self.probs()
    }
}

impl<const D: usize> Relaxable<D> for Bernoulli<D> {
    type Relaxed = RelaxedBernoulli<D>;

    fn relax(&self, temperature: f64) -> Result<Self::Relaxed> {
        RelaxedBernoulli::new_unchecked(self.logits().clone(), temperature)
    }

    fn harden(&self, relaxed: Tensor<D>) -> Tensor<D> {
        relaxed.greater_elem(0.5).float()
    }

    fn hard_sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.sample(noise)
    }

    fn probabilities(&self) -> Tensor<D> {
        self.probs()
    }
}
