//! The discrete families the low-bias straight-through estimators draw from.

use burn::prelude::*;

use crate::distributions::{Bernoulli, Categorical, Distribution, OneHotCategorical};

/// The parameters of a discrete family in the form the straight-through estimators
/// differentiate, with the encoding of its draws.
#[derive(Debug, Clone)]
pub enum DiscreteLogits<const D: usize> {
    /// A categorical over the last axis, by its normalized log-probabilities `ln π` (`−∞` for
    /// an impossible class); its draws are one-hot vectors over that axis.
    Categorical(Tensor<D>),
    /// Independent Bernoulli variables by their logits `ℓ`, `P(x = 1) = σ(ℓ)`; draws are 0 or 1.
    Bernoulli(Tensor<D>),
}

/// A discrete family given by logits, whose draws have a float encoding (one-hot vectors, or
/// 0/1): what [`ReinMax`](super::ReinMax), [`GumbelRao`](super::GumbelRao) and
/// [`DecoupledStraightThrough`](super::DecoupledStraightThrough) estimate gradients for.
///
/// Implemented by [`Categorical`] and [`OneHotCategorical`] (one-hot draws over the last axis)
/// and [`Bernoulli`] (0/1 draws).
pub trait LogitFamily<const D: usize>: Distribution<D> {
    /// The logits, as tensors that carry the parameters' gradient.
    fn discrete_logits(&self) -> DiscreteLogits<D>;
}

impl<const D: usize> LogitFamily<D> for Categorical<D> {
    fn discrete_logits(&self) -> DiscreteLogits<D> {
        DiscreteLogits::Categorical(self.log_probs().clone())
    }
}

impl<const D: usize> LogitFamily<D> for OneHotCategorical<D> {
    fn discrete_logits(&self) -> DiscreteLogits<D> {
        self.categorical().discrete_logits()
    }
}

impl<const D: usize> LogitFamily<D> for Bernoulli<D> {
    fn discrete_logits(&self) -> DiscreteLogits<D> {
        DiscreteLogits::Bernoulli(self.logits().clone())
    }
}
