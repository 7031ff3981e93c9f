//! The straight-through op and the plain straight-through estimator.

use burn::prelude::*;

use super::{Estimate, Estimator, through_draws};
use crate::distributions::Relaxable;
use crate::error::Result;
use crate::rng::NoiseSource;

/// The straight-through op: forward value `hard`, gradient that of `soft`.
///
/// `straight_through(h, s) = sg(h) + (s − sg(s))`: the forward value is exactly `h` (for
/// finite `s`, `s − s` is exactly 0), and the backward pass treats the output as `s`. It is
/// the one op behind the straight-through Gumbel-softmax (one-hot forward, relaxed backward),
/// straight-through Bernoulli, the plain straight-through estimator (Bengio et al. 2013), and
/// the codebook of a VQ-VAE (quantized forward, encoder output backward).
///
/// # Shapes
///
/// `hard` and `soft` of one shape (or broadcasting to one).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::straight_through;
///
/// let device = Device::flex().autodiff();
/// let soft = Tensor::<1>::from_floats([0.2, 0.7, 0.1], &device).require_grad();
/// let hard = Tensor::<1>::from_floats([0.0, 1.0, 0.0], &device);
/// let y = straight_through(hard, soft.clone());
/// assert_eq!(y.try_to_vec_as::<f32>().unwrap(), vec![0.0, 1.0, 0.0]);
/// let w = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
/// let g = soft.grad(&(y * w).sum().backward()).unwrap();
/// assert_eq!(g.try_into_vec_as::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
/// ```
///
/// # References
///
/// Bengio, Léonard & Courville, *Estimating or Propagating Gradients Through Stochastic
/// Neurons for Conditional Computation*, 2013; van den Oord et al., *Neural Discrete
/// Representation Learning*, NeurIPS 2017, §3.2.
pub fn straight_through<const D: usize>(hard: Tensor<D>, soft: Tensor<D>) -> Tensor<D> {
    hard.detach() + (soft.clone() - soft.detach())
}

/// The plain straight-through estimator (Bengio et al. 2013): the forward pass uses a hard
/// sample `x` (one-hot, or 0/1), the backward pass the gradient of the probabilities `p_θ`:
///
/// `y = straight_through(x, p_θ)`, `∇θ ≈ (∂f/∂y)(x) · ∂p_θ/∂θ`.
///
/// - Bias: biased (the derivative of `f` at the hard point stands in for the change of the
///   law); exact for `f` linear in `x`.
/// - Variance: low.
/// - Requirements: a [`Relaxable`] discrete family; `f` differentiable in its (float) input.
///
/// # Shapes
///
/// `f` receives the hard draws in the family's float encoding, `n·B` rows sample-major
/// (`[n·B, ..., K]` one-hot for the categorical families, 0/1 of the value shape for a
/// Bernoulli), and returns `[n·B]`; the surrogate is `[B]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::{Estimator, StraightThrough};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[0.3, -1.0]], &device).require_grad();
/// let b = Bernoulli::from_logits(logits.clone())?;
/// let est = StraightThrough.estimate(&b, 4, &mut NoiseSource::seed_from_u64(0), |x| x.sum_dim(1).reshape([4]))?;
/// // every sample is exactly 0 or 1
/// let v = est.samples.try_to_vec_as::<f32>().unwrap();
/// assert!(v.iter().all(|&x| x == 0.0 || x == 1.0));
/// assert!(logits.grad(&est.loss().backward()).is_some());
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Bengio, Léonard & Courville, *Estimating or Propagating Gradients Through Stochastic
/// Neurons for Conditional Computation*, 2013, §3 (the straight-through estimator); Yin et al.,
/// *Understanding Straight-Through Estimator in Training Activation Quantized Neural Nets*,
/// ICLR 2019 (its bias).
#[derive(Debug, Clone, Copy, Default)]
pub struct StraightThrough;

impl<const D: usize, P: Relaxable<D>> Estimator<D, P> for StraightThrough {
    type Sample = Tensor<D>;

    fn estimate<F>(
        &mut self,
        dist: &P,
        n: usize,
        noise: &mut NoiseSource,
        f: F,
    ) -> Result<Estimate<Tensor<D>>>
    where
        F: FnOnce(Tensor<D>) -> Tensor<1>,
    {
        through_draws(dist, n, f, |draws| {
            Ok(straight_through(
                draws.hard_sample(noise),
                draws.probabilities(),
            ))
        })
    }
}
