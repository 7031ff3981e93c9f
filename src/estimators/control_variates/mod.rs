//! Control variates through a continuous relaxation: REBAR and RELAX.
//!
//! Both estimators write a discrete sample as the argmax of perturbed logits, `b = H(z)`,
//! `z = u + ε` (logistic noise for a Bernoulli, Gumbel noise for a categorical), and subtract a
//! control variate `c(z̃)` from the score-function term, where `z̃ ~ p(z | b)` is a second
//! draw of the perturbed logits *conditioned on the discrete outcome* `b`. The correction
//! `∇c(z) − ∇c(z̃)` (pathwise gradients through `z` and through the conditional
//! reparameterization of `z̃`) keeps the estimator unbiased for every choice of `c`:
//!
//! `ĝ = (f(b) − c(z̃)) ∇θ ln p(b) + ∇θ c(z) − ∇θ c(z̃)`
//!
//! (Tucker et al. 2017, eq. 3; Grathwohl et al. 2018, eq. 6). The estimators differ in `c`:
//!
//! | estimator | control variate `c` | `f` evaluated at | tuned here by |
//! |---|---|---|---|
//! | [`Rebar`] | `η·f(σ_τ(z))`, `f` at the Concrete relaxation of temperature τ | hard and relaxed points (3 rows per draw, one call) | fixed η, or a leave-one-out / previous-step estimate of the variance-optimal η |
//! | [`Relax`] | a small network `c_φ(z)` ([`ControlNetwork`] or any [`ControlVariate`]) | hard points only | the exact gradient of the estimator's variance in φ |
//!
//! The papers tune η, τ and φ by gradient descent on the estimator's variance, which needs the
//! gradient of a gradient. Burn differentiates once, so each estimator documents the
//! first-order substitute it uses, and every setting is proved unbiased with the testing kit
//! (tests/control_variates_unbiased.rs).
//!
//! # The conditional relaxation `z̃ | b`
//!
//! [`ConditionalRelaxation`] is what a family needs: Bernoulli, Categorical and
//! OneHotCategorical implement it.
//!
//! - Bernoulli, logit θ, `z = θ + L` with `L` standard logistic, `b = 1[z > 0]`. Given `b = 1`,
//!   `z̃` solves `σ(θ − z̃) = (1 − v)σ(θ)` for `v ~ U(0, 1)` (the upper tail of the logistic
//!   beyond 0, by inversion), computed in log space as
//!   `z̃ = softplus(θ) + softplus(L') + logaddexp(−softplus(θ), −softplus(−L') − softplus(−θ))`
//!   with `L' = logit(v)`; given `b = 0`, `z̃` is the mirror image, `−z̃(−θ)`. Finite for every
//!   finite θ.
//! - Categorical, normalized log-probabilities `u`, `z = u + g` with `g` standard Gumbel,
//!   `b = argmax z`. Given `b`, with `g'` fresh Gumbel noise: `z̃_b = g'_b` and
//!   `z̃_i = −logaddexp(−g'_i − u_i, −g'_b)` for `i ≠ b` (the maximum of the perturbed logits
//!   is Gumbel with location `logsumexp u = 0`, independent of the argmax, and the others are
//!   Gumbels truncated below it; Tucker et al. 2017, appendix C).
//!
//! Derivatives are taken in *free* coordinates (`u` as unnormalized logits, `logsumexp u`
//! differentiated): then every coordinate's control variate has mean zero on its own, which a
//! per-parameter η needs.
//!
//! # Shapes
//!
//! As the other estimators: axis 0 holds the rows, `n` draws per batch element are laid out
//! sample-major. `f` receives float encodings: 0/1 (Bernoulli) or one-hot vectors `[..., K]`
//! (categorical), and [`Rebar`] also their relaxations in (0, 1) or on the simplex.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_sigmoid, sigmoid, softmax as plain_softmax};

use crate::distributions::categorical::one_hot;
use crate::distributions::{Bernoulli, Categorical, Distribution, OneHotCategorical};
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{softmax, softplus};

mod rebar;
mod relax;

pub use rebar::{Rebar, RebarScale};
pub use relax::Relax;

/// The floor under a categorical log-probability in the relaxation: `−∞` (an impossible
/// class) becomes a large finite number, so that `0·ln 0` and `−∞ − (−∞)` never appear. Its
/// relaxed weight is still exactly 0 and no gradient reaches it.
const LOG_PROB_FLOOR: f32 = -1e20;

/// A discrete family written as `b = H(z)` of perturbed logits `z = u + ε`, whose perturbed
/// logits can also be drawn conditionally on `b` (REBAR's `z̃ ~ p(z | b)`), with the
/// closed-form derivatives [`Relax`] uses.
///
/// Tensors are in the layout of the logits `u` (`[R, ...]` for a Bernoulli, `[R, ..., K]` for
/// a categorical); `b` is the float encoding the cost receives.
pub trait ConditionalRelaxation<const D: usize>: Distribution<D> {
    /// The law of the perturbation ε (and of the conditional draw's noise).
    const PERTURBATION: StandardNoise;

    /// The logits `u`, carrying the gradient of the distribution's parameters (a categorical's
    /// normalized log-probabilities, floored at −1e20).
    fn relaxation_logits(&self) -> Tensor<D>;

    /// `b = H(z)`: `1[z > 0]`, or the one-hot vector of `argmax z`. Exactly 0 and 1.
    fn harden_perturbed(z: Tensor<D>) -> Tensor<D>;

    /// The conditional draw `z̃ ~ p(z | b)` from noise `v` of law [`Self::PERTURBATION`],
    /// differentiable in `u` (free coordinates).
    fn conditional_perturbed(u: Tensor<D>, b: Tensor<D>, v: Tensor<D>) -> Tensor<D>;

    /// `ln p(b)` of each variable (each Bernoulli element, or each categorical position with
    /// its class axis reduced to 1), differentiable in `u` (free coordinates).
    fn log_mass(u: Tensor<D>, b: Tensor<D>) -> Tensor<D>;

    /// The Concrete relaxation of the perturbed logits at temperature τ: `σ(z/τ)` or
    /// `softmax(z/τ)`.
    fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D>;

    /// `∂ ln p(b)/∂u` in closed form (free coordinates), without a graph: `b − σ(u)` or
    /// `b − softmax(u)`.
    fn score(u: Tensor<D>, b: Tensor<D>) -> Tensor<D>;

    /// `∂z̃_k/∂u_k`, the diagonal derivative of the conditional draw with the normalizer held
    /// fixed, in closed form (what [`Relax`] uses together with [`project`](Self::project)).
    fn conditional_slope(u: Tensor<D>, b: Tensor<D>, v: Tensor<D>, z_tilde: Tensor<D>)
    -> Tensor<D>;

    /// Maps a gradient in the coordinates of [`conditional_slope`](Self::conditional_slope)
    /// to the gradient of free logits: the identity for a Bernoulli, `g − softmax(u)·Σ_k g_k`
    /// per categorical position (what autodiff through `log_softmax` does to it).
    fn project(gradient: Tensor<D>, u: Tensor<D>) -> Tensor<D>;
}

/// `ln(eᵃ + eᵇ)`, exact in both tails: `max(a, b) + softplus(−|a − b|)`.
fn log_add_exp<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let gap = (a.clone() - b.clone()).abs();
    a.max_pair(b) - log_sigmoid(gap)
}

impl<const D: usize> ConditionalRelaxation<D> for Bernoulli<D> {
    const PERTURBATION: StandardNoise = StandardNoise::Logistic;

    fn relaxation_logits(&self) -> Tensor<D> {
        self.logits().clone()
    }

    fn harden_perturbed(z: Tensor<D>) -> Tensor<D> {
        z.greater_elem(0.0).float()
    }

    fn conditional_perturbed(u: Tensor<D>, b: Tensor<D>, v: Tensor<D>) -> Tensor<D> {
        // z̃ = s·z₁(s·θ) with s = 2b − 1: the b = 0 case is the mirror image of b = 1
        let sign = b * 2.0 - 1.0;
        let theta = u * sign.clone();
        let upper = softplus(theta.clone())
            + softplus(v.clone())
            + log_add_exp(
                softplus(theta.clone()).neg(),
                softplus(v.neg()).neg() - softplus(theta.neg()),
            );
        upper * sign
    }

    fn log_mass(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        b * u.clone() + log_sigmoid(u.neg())
    }

    fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D> {
        sigmoid(z.div_scalar(temperature))
    }

    fn score(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        b - sigmoid(u.detach())
    }

    fn conditional_slope(
        u: Tensor<D>,
        b: Tensor<D>,
        _v: Tensor<D>,
        z_tilde: Tensor<D>,
    ) -> Tensor<D> {
        // b = 1: dz̃/dθ = 1 − σ(−θ)/σ(z̃ − θ); b = 0 by symmetry, with θ, z̃ ↦ −θ, −z̃
        let sign = b * 2.0 - 1.0;
        let theta = u.detach() * sign.clone();
        let upper = z_tilde.detach() * sign;
        let ratio = (softplus(theta.clone() - upper) - softplus(theta)).exp();
        ratio.neg().add_scalar(1.0)
    }

    fn project(gradient: Tensor<D>, _u: Tensor<D>) -> Tensor<D> {
        gradient
    }
}

/// The categorical pieces, shared by [`Categorical`] and [`OneHotCategorical`].
mod categorical_relaxation {
    use super::*;

    pub(super) fn logits<const D: usize>(c: &Categorical<D>) -> Tensor<D> {
        c.log_probs().clone().clamp_min(LOG_PROB_FLOOR)
    }

    /// `logsumexp(u)` with value 0 (u is normalized) and the gradient `softmax(u)`: the
    /// normalizer of free coordinates, without touching the forward values.
    pub(super) fn normalizer<const D: usize>(u: Tensor<D>) -> Tensor<D> {
        let p = plain_softmax(u.clone().detach(), D - 1);
        (p * (u.clone() - u.detach())).sum_dim(D - 1)
    }

    pub(super) fn harden<const D: usize>(z: Tensor<D>) -> Tensor<D> {
        let k = z.dims()[D - 1];
        one_hot(z.argmax(D - 1), k)
    }

    pub(super) fn conditional<const D: usize>(
        u: Tensor<D>,
        b: Tensor<D>,
        v: Tensor<D>,
    ) -> Tensor<D> {
        let dims = u.dims();
        let lse = normalizer(u.clone());
        let normalized = u - lse.clone();
        let top = (b.clone() * v.clone()).sum_dim(D - 1).expand(dims);
        let others = log_add_exp(v.neg() - normalized, top.clone().neg()).neg();
        others.mask_where(b.greater_elem(0.5), top) + lse.expand(dims)
    }

    pub(super) fn log_mass<const D: usize>(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        (b * u.clone()).sum_dim(D - 1) - normalizer(u)
    }

    pub(super) fn relax<const D: usize>(z: Tensor<D>, temperature: f64) -> Tensor<D> {
        softmax(z.div_scalar(temperature), D - 1)
    }

    pub(super) fn score<const D: usize>(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        b - plain_softmax(u.detach(), D - 1)
    }

    pub(super) fn slope<const D: usize>(u: Tensor<D>, b: Tensor<D>, v: Tensor<D>) -> Tensor<D> {
        // ∂z̃_i/∂u_i = σ(g'_b − g'_i − u_i) for i ≠ b, 0 for b
        let dims = u.dims();
        let top = (b.clone() * v.clone()).sum_dim(D - 1).expand(dims);
        sigmoid(top - v - u.detach()).mask_fill(b.greater_elem(0.5), 0.0)
    }

    pub(super) fn project<const D: usize>(gradient: Tensor<D>, u: Tensor<D>) -> Tensor<D> {
        let dims = gradient.dims();
        let p = plain_softmax(u.detach(), D - 1);
        gradient.clone() - p * gradient.sum_dim(D - 1).expand(dims)
    }
}

macro_rules! categorical_relaxation_impl {
    ($family:ident, $this:ident => $inner:expr) => {
        impl<const D: usize> ConditionalRelaxation<D> for $family<D> {
            const PERTURBATION: StandardNoise = StandardNoise::Gumbel;

            fn relaxation_logits(&self) -> Tensor<D> {
                let $this = self;
                categorical_relaxation::logits($inner)
            }

            fn harden_perturbed(z: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::harden(z)
            }

            fn conditional_perturbed(u: Tensor<D>, b: Tensor<D>, v: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::conditional(u, b, v)
            }

            fn log_mass(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::log_mass(u, b)
            }

            fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D> {
                categorical_relaxation::relax(z, temperature)
            }

            fn score(u: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::score(u, b)
            }

            fn conditional_slope(
                u: Tensor<D>,
                b: Tensor<D>,
                v: Tensor<D>,
                _z_tilde: Tensor<D>,
            ) -> Tensor<D> {
                categorical_relaxation::slope(u, b, v)
            }

            fn project(gradient: Tensor<D>, u: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::project(gradient, u)
            }
        }
    };
}

categorical_relaxation_impl!(Categorical, c => c);
categorical_relaxation_impl!(OneHotCategorical, c => c.categorical());

/// A learned control variate `c_φ(z)` for [`Relax`]: its value per row and its gradient with
/// respect to its input, both as forward expressions of the parameters φ.
///
/// [`Relax`] never differentiates `c_φ` with autodiff in the input: it needs `∂c_φ/∂z` as a
/// tensor that is itself differentiable in φ, to train φ on the exact gradient of the
/// estimator's variance with one backward pass. A network implements this by writing its
/// input gradient out (for an MLP, the backward pass by hand; see [`ControlNetwork`]).
///
/// # Shapes
///
/// `z`: `[R, M]`, the perturbed logits of each row flattened; returns the value `[R]` and the
/// gradient `[R, M]`.
pub trait ControlVariate {
    /// `(c_φ(z), ∂c_φ/∂z)` per row.
    fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>);

    /// The number of inputs `M` it expects, if it knows (checked against the logits per row
    /// before it is called).
    fn inputs(&self) -> Option<usize> {
        None
    }
}

/// The default control network of [`Relax`]: one hidden layer of tanh units,
///
/// `c_φ(z) = w₂ · tanh(W₁ z + b₁) + b₂`, `∂c_φ/∂z = W₁ᵀ (w₂ ⊙ (1 − tanh²(W₁ z + b₁)))`,
///
/// with the output layer initialized to zero, so that [`Relax`] starts as plain REINFORCE and
/// learns its control variate from there. Give it its own optimizer (RELAX uses Adam); its
/// parameters receive only the gradient of the estimator's variance.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::estimators::control_variates::{ControlNetwork, ControlVariate};
///
/// use mcgrad::NoiseSource;
///
/// let device = Device::flex();
/// let net = ControlNetwork::new(4, 16, &mut NoiseSource::seed_from_u64(0), &device);
/// let (value, gradient) = net.value_and_gradient(Tensor::<2>::ones([3, 4], &device));
/// assert_eq!((value.dims(), gradient.dims()), ([3], [3, 4]));
/// ```
#[derive(Module, Debug)]
pub struct ControlNetwork {
    hidden: Linear,
    output: Linear,
}

impl ControlNetwork {
    /// A network for rows of `inputs` perturbed logits (the number of logits per row: `M` for
    /// Bernoulli rows of `M` variables, `L·K` for `L` categorical positions of `K` classes) with
    /// `hidden` tanh units. The hidden layer is drawn from `noise` (weights and biases uniform
    /// on `±1/√inputs`, PyTorch's default), the output layer is zero.
    pub fn new(inputs: usize, hidden: usize, noise: &mut NoiseSource, device: &Device) -> Self {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let mut uniform = |shape: Vec<usize>| {
            let n = shape.iter().product();
            let v: Vec<f32> = noise
                .vec(StandardNoise::Uniform, n)
                .into_iter()
                .map(|u| ((2.0 * f64::from(u) - 1.0) * bound) as f32)
                .collect();
            TensorData::new(v, shape)
        };
        let weight = Tensor::<2>::from_data(uniform(vec![inputs, hidden]), device);
        let bias = Tensor::<1>::from_data(uniform(vec![hidden]), device);
        Self {
            hidden: Linear {
                weight: Param::from_tensor(weight),
                bias: Some(Param::from_tensor(bias)),
            },
            output: Linear {
                weight: Param::from_tensor(Tensor::zeros([hidden, 1], device)),
                bias: Some(Param::from_tensor(Tensor::zeros([1], device))),
            },
        }
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.hidden.weight.dims()[0]
    }
}

impl ControlVariate for ControlNetwork {
    fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [rows, _] = z.dims();
        let h = self.hidden.forward(z).tanh();
        let w2 = self.output.weight.val();
        let hidden = w2.dims()[0];
        let value = self.output.forward(h.clone()).reshape([rows]);
        let slope = (h.square().neg() + 1.0) * w2.reshape([1, hidden]);
        let gradient = slope.matmul(self.hidden.weight.val().transpose());
        (value, gradient)
    }

    fn inputs(&self) -> Option<usize> {
        Some(ControlNetwork::inputs(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn log_add_exp_is_exact_in_both_tails() {
        let device = Device::flex();
        let a = Tensor::<1>::from_floats([0.0, -1e4, 30.0, 1e20], &device);
        let b = Tensor::<1>::from_floats([0.0, 0.0, -30.0, 0.0], &device);
        let got = values(log_add_exp(a, b));
        assert!((got[0] - 2f32.ln()).abs() < 1e-6);
        assert_eq!(got[1], 0.0);
        assert!((got[2] - 30.0).abs() < 1e-5);
        assert_eq!(got[3], 1e20);
    }

    #[test]
    fn bernoulli_conditional_draw_lands_on_the_side_of_b_and_matches_inversion() {
        let device = Device::flex();
        // θ = 0, v = ½: b = 1 gives logit(¾) = ln 3, b = 0 gives −ln 3
        let u = Tensor::<1>::from_floats([0.0, 0.0, 2.0, -1e4, 1e4], &device);
        let b = Tensor::<1>::from_floats([1.0, 0.0, 0.0, 1.0, 0.0], &device);
        let v = Tensor::<1>::from_floats([0.0, 0.0, 1.3, -0.7, 2.0], &device);
        let z = values(Bernoulli::<1>::conditional_perturbed(
            u.clone(),
            b.clone(),
            v.clone(),
        ));
        assert!(
            (z[0] - 3f32.ln()).abs() < 1e-6 && (z[1] + 3f32.ln()).abs() < 1e-6,
            "{z:?}"
        );
        // θ = 2, b = 0, v = σ(1.3): the lower region u ~ U(0, 1 − σ(θ)) by inversion,
        // z̃ = θ + logit((1 − v)(1 − σ(θ))), from the definition in f64
        let (theta, vv) = (2f64, 1.0 / (1.0 + (-1.3f64).exp()));
        let s = 1.0 / (1.0 + (-theta).exp());
        let w = (1.0 - vv) * (1.0 - s);
        let want = theta + (w / (1.0 - w)).ln();
        assert!((z[2] as f64 - want).abs() < 1e-5, "{} vs {want}", z[2]);
        assert!(z.iter().all(|x| x.is_finite()));
        assert!(z[3] >= 0.0 && z[4] <= 0.0 && z[2] <= 0.0);
    }

    #[test]
    fn closed_form_slopes_match_autodiff() {
        let device = Device::flex().autodiff();
        let u0 = [0.3f32, -1.2, 2.5, 0.0, -4.0, 6.0];
        let b = Tensor::<1>::from_floats([1.0, 0.0, 1.0, 0.0, 1.0, 0.0], &device);
        let v = Tensor::<1>::from_floats([0.2, -1.0, 2.0, 0.5, -3.0, 1.0], &device);
        let u = Tensor::<1>::from_floats(u0, &device).require_grad();
        let z = Bernoulli::<1>::conditional_perturbed(u.clone(), b.clone(), v.clone());
        let auto = values(u.grad(&z.clone().sum().backward()).unwrap());
        let closed = values(Bernoulli::<1>::conditional_slope(
            u.clone().detach(),
            b,
            v,
            z.detach(),
        ));
        for (a, c) in auto.iter().zip(&closed) {
            assert!((a - c).abs() < 1e-5, "{auto:?} vs {closed:?}");
        }
        // categorical: the projected diagonal slope is the free-coordinate derivative projected
        let logits = Tensor::<2>::from_floats([[0.5, -1.0, 2.0, 0.1, -0.3]], &device);
        let u = burn::tensor::activation::log_softmax(logits, 1)
            .detach()
            .require_grad();
        let b = Tensor::<2>::from_floats([[0.0, 0.0, 1.0, 0.0, 0.0]], &device);
        let v = Tensor::<2>::from_floats([[0.3, 1.1, -0.2, 0.7, 2.0]], &device);
        let w = Tensor::<2>::from_floats([[1.0, -2.0, 0.5, 3.0, -1.0]], &device);
        let z = Categorical::<2>::conditional_perturbed(u.clone(), b.clone(), v.clone());
        let auto = u.grad(&(z * w.clone()).sum().backward()).unwrap();
        let auto = values(Categorical::<2>::project(auto, u.clone().detach()));
        let slope =
            Categorical::<2>::conditional_slope(u.clone().detach(), b, v, u.clone().detach());
        let closed = values(Categorical::<2>::project(slope * w, u.detach()));
        for (a, c) in auto.iter().zip(&closed) {
            assert!((a - c).abs() < 1e-5, "{auto:?} vs {closed:?}");
        }
    }

    #[test]
    fn control_network_gradient_matches_autodiff() {
        let device = Device::flex().autodiff();
        let mut noise = NoiseSource::seed_from_u64(4);
        let mut net = ControlNetwork::new(3, 5, &mut noise, &device);
        // a non-zero output layer
        net.output.weight =
            Param::from_tensor(noise.tensor(StandardNoise::Normal, [5, 1], &device));
        let z =
            Tensor::<2>::from_floats([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]], &device).require_grad();
        let (value, gradient) = net.value_and_gradient(z.clone());
        let auto = values(z.grad(&value.sum().backward()).unwrap());
        let closed = values(gradient);
        for (a, c) in auto.iter().zip(&closed) {
            assert!((a - c).abs() < 1e-5, "{auto:?} vs {closed:?}");
        }
    }
}
