//! The RELAX estimator.

use burn::prelude::*;

use super::{ConditionalRelaxation, ControlVariate};
use crate::distributions::{internal, sum_per_row};
use crate::error::{Error, Result};
use crate::estimators::{Estimate, Estimator, by_draw, check_costs, mean_over_draws};
use crate::rng::NoiseSource;

/// The RELAX estimator (Grathwohl, Choi, Wu, Roeder & Duvenaud, ICLR 2018) for Bernoulli and
/// categorical variables: REBAR's construction with a learned control variate `c_φ(z)` of the
/// perturbed logits.
///
/// With `z = u + ε`, `b = H(z)`, `z̃ ~ p(z | b)` (see the [module documentation](super)):
///
/// `ĝ = (f(b) − c_φ(z̃)) ∇θ ln p(b) + ∇θ c_φ(z) − ∇θ c_φ(z̃)`,
///
/// unbiased for every φ (the last three terms have mean zero, as for REBAR). `f` is only
/// evaluated at the hard samples, so it may be a black box.
///
/// **Training φ.** The paper minimizes the estimator's variance by gradient descent on
/// `E[ĝ²]` in φ (its mean does not depend on φ), which needs the gradient of the gradient
/// `∇θ c_φ`. Here that gradient is not taken by autodiff: the control variate returns its
/// input gradient `∂c_φ/∂z` as a forward expression ([`ControlVariate`]), the Jacobians of `z`
/// and `z̃` in the logits are closed forms ([`ConditionalRelaxation`]), and ĝ is assembled
/// explicitly. The surrogate then carries, with a zero forward value, the single-draw variance
/// objective `Σ_j ĝ_j²` (summed over the logits `j` of a row, averaged over draws), whose
/// gradient in φ is exactly the paper's `∂E[ĝ²]/∂φ`. No gradient of it reaches θ (every
/// θ-dependent factor is detached), and ĝ reaches the logits detached, so the caller's one
/// backward pass both estimates `∇θ` and trains φ. Give φ its own optimizer. The variance
/// minimized is that of the gradient of the logits (the paper's is that of the model's
/// parameters; the two differ by the model's Jacobian).
///
/// The paper's discrete experiments add REBAR's term to the network,
/// `c_φ(z) = η f(σ_τ(z)) + r_φ(z)`; that form is not offered here, since training it on the
/// variance needs `∂f/∂z` as a differentiable expression. Use [`Rebar`](super::Rebar) for the
/// relaxed-cost control variate.
///
/// Surrogate per batch element, with `sg` a stop-gradient and `ḡ` the mean of ĝ over the `n`
/// draws:
///
/// `s = (1/n) Σ_i f(b_i) + Σ_j θ_j·sg(ḡ_j) − sg(·) + V − sg(V)`, `V = (1/n) Σ_i Σ_j ĝ_ij²`.
///
/// - Bias: none, for every φ (tests/control_variates_unbiased.rs proves it at random,
///   zero and trained φ).
/// - Variance: that of REINFORCE at the start (the default network's output layer is zero),
///   then decreasing as φ trains.
/// - Cost: `n` evaluations of `f` (one call) and one pass of the network on `2n` rows.
/// - Requirements: a [`ConditionalRelaxation`] family; a [`ControlVariate`] with as many inputs
///   as logits per row, returning a value `[2n·B]` and a gradient `[2n·B, M]` (any other shape
///   is an [`Error::ShapeMismatch`](crate::Error::ShapeMismatch), as is a cost of the wrong
///   length).
///
/// # Shapes
///
/// Logits `[B, ...]`; `f` receives the `n·B` hard rows (0/1, or one-hot `[..., K]`) and returns
/// `[n·B]`; the control variate receives `[2n·B, M]` (the flattened `z` rows, then the `z̃`
/// rows; `M` logits per row). Surrogate `[B]`, costs `[n, B]`, samples the `n·B` hard rows.
///
/// # Examples
///
/// ```
/// use burn::optim::{AdamConfig, GradientsParams, Optimizer};
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::control_variates::ControlNetwork;
/// use mcgrad::estimators::{Estimator, Relax};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[0.3, -0.5, 1.0, 0.0]], &device).require_grad();
/// let mut noise = NoiseSource::seed_from_u64(0);
/// let mut relax = Relax::new(ControlNetwork::new(4, 16, &mut noise, &device));
/// let mut optim = AdamConfig::new().init();
/// for _ in 0..3 {
///     let q = Bernoulli::from_logits(logits.clone())?;
///     // a black-box cost of the bits
///     let est = relax.estimate(&q, 16, &mut noise, |b| (b.sum_dim(1) - 1.5).abs().reshape([16]))?;
///     let grads = est.loss().backward();
///     assert!(logits.grad(&grads).is_some());
///     // the control network trains on the estimator's variance
///     let grads = GradientsParams::from_grads(grads, relax.control());
///     let net = optim.step(1e-2, relax.control().clone(), grads);
///     relax = Relax::new(net);
/// }
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Grathwohl, Choi, Wu, Roeder & Duvenaud, *Backpropagation through the Void: Optimizing
/// Control Variates for Black-Box Gradient Estimation*, ICLR 2018, §3.2 (eq. 6, discrete
/// RELAX), §3.3 (training the control variate on the variance); Tucker et al., *REBAR*,
/// NeurIPS 2017, appendix C.
#[derive(Debug, Clone)]
pub struct Relax<C> {
    control: C,
}

impl<C: ControlVariate> Relax<C> {
    /// RELAX with the control variate `control` (a [`ControlNetwork`](super::ControlNetwork),
    /// or any [`ControlVariate`]).
    pub fn new(control: C) -> Self {
        Self { control }
    }

    /// The control variate.
    pub fn control(&self) -> &C {
        &self.control
    }

    /// The control variate, mutable (to replace it after an optimizer step).
    pub fn control_mut(&mut self) -> &mut C {
        &mut self.control
    }

    /// The control variate, by value.
    pub fn into_control(self) -> C {
        self.control
    }
}

impl<const D: usize, P: ConditionalRelaxation<D>, C: ControlVariate> Estimator<D, P> for Relax<C> {
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
        internal::samples(n)?;
        let theta = dist.relaxation_logits();
        let u = dist.replicate(n).relaxation_logits().detach();
        let dims = u.dims();
        let rows = dims[0];
        let per_row: usize = dims[1..].iter().product();
        if let Some(inputs) = self.control.inputs()
            && inputs != per_row
        {
            return Err(Error::ShapeMismatch {
                context: "Relax control variate inputs (logits per row)",
                left: vec![inputs],
                right: vec![per_row],
            });
        }
        let draw = P::draw_conditional(u, noise);
        let b = draw.hard.clone();
        let z = draw.perturbed.clone();
        let z_tilde = draw.conditional.clone();
        let samples = b.clone();
        let costs = f(b.clone());
        check_costs(&costs, rows)?;
        let hard = costs.clone().detach();

        let inputs = Tensor::cat(
            vec![
                z.reshape([rows, per_row]),
                z_tilde.clone().reshape([rows, per_row]),
            ],
            0,
        );
        let (value, gradient) = self.control.value_and_gradient(inputs);
        // a caller's control variate: the wrong shapes would panic in the slicing below, or
        // (more columns, longer values) be cut silently
        if value.dims() != [2 * rows] || gradient.dims() != [2 * rows, per_row] {
            return Err(Error::ShapeMismatch {
                context: "Relax control variate output (value [2n·B], gradient [2n·B, M])",
                left: [value.dims().to_vec(), gradient.dims().to_vec()].concat(),
                right: vec![2 * rows, 2 * rows, per_row],
            });
        }
        let control_tilde = value.narrow(0, rows, rows);
        let gradient_z = gradient.clone().slice([0..rows, 0..per_row]).reshape(dims);
        let gradient_tilde = gradient.slice([rows..2 * rows, 0..per_row]).reshape(dims);
        let score = b - draw.probabilities.clone();
        let slope = draw.slope;
        let mut shape = [1usize; D];
        shape[0] = rows;
        let signal = (hard - control_tilde).reshape(shape);
        let estimate = score * signal + gradient_z - slope * gradient_tilde;
        let variance = sum_per_row(P::project(estimate.clone(), draw.probabilities).square());
        let variance = mean_over_draws(variance, n);

        let theta_dims = theta.dims();
        let mean_estimate = if n == 1 {
            estimate.detach()
        } else {
            let m: usize = theta_dims.iter().product();
            estimate
                .detach()
                .reshape([n, m])
                .mean_dim(0)
                .reshape(theta_dims)
        };
        // (θ − sg θ)·ĝ, exactly 0 forward even where θ·ĝ overflows (logits near ±3e38)
        let term = sum_per_row((theta.clone() - theta.detach()) * mean_estimate);
        let surrogate =
            mean_over_draws(costs.clone(), n) + term + (variance.clone() - variance.detach());
        Ok(Estimate {
            surrogate,
            costs: by_draw(costs.detach(), n),
            samples,
        })
    }
}
