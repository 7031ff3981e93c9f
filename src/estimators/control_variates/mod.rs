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
//!   beyond 0, by inversion), computed as
//!   `z̃ = max(θ, 0) + ln(1 + e^{−|θ|}) + ln(σ(−θ) + vσ(θ)) − ln(1 − v)`, finite for every
//!   finite θ; given `b = 0`, `z̃` is the mirror image, `−z̃(−θ)`.
//! - Categorical, normalized log-probabilities `u`, `z = u + g` with `g` standard Gumbel,
//!   `b = argmax z`. Given `b`, with `g'` fresh Gumbel noise: `z̃_b = g'_b` and
//!   `z̃_i = −logaddexp(−g'_i − u_i, −g'_b)` for `i ≠ b` (the maximum of the perturbed logits
//!   is Gumbel with location `logsumexp u = 0`, independent of the argmax, and the others are
//!   Gumbels truncated below it; Tucker et al. 2017, appendix C).
//!
//! The draws are made without a graph and their derivatives in `u` attached in closed form
//! ([`ConditionalRelaxation`]), in *free* coordinates (`u` as unnormalized logits,
//! `logsumexp u` differentiated): then every coordinate's control variate has mean zero on its
//! own, which a per-parameter η needs, and the backward pass has no transcendental function.
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
use burn::tensor::activation::sigmoid;

use crate::distributions::one_hot;
use crate::distributions::{Bernoulli, Categorical, Distribution, OneHotCategorical};
use crate::rng::{NoiseSource, StandardNoise, ln_f32};
use crate::special::softmax;

mod rebar;
mod relax;

pub use rebar::{Rebar, RebarScale};
pub use relax::Relax;

/// The floor under a categorical log-probability in the relaxation: `−∞` (an impossible
/// class) becomes a large finite number, so that `0·ln 0` and `−∞ − (−∞)` never appear. Its
/// relaxed weight is still exactly 0 and no gradient reaches it.
const LOG_PROB_FLOOR: f32 = -1e20;

/// One draw of REBAR's triple per variable, detached, with what the estimators need to
/// differentiate it: the discrete sample `b = H(z)`, the perturbed logits `z = u + ε`, the
/// conditional draw `z̃ ~ p(z | b)`, the diagonal slope `∂z̃_k/∂u_k` and the probabilities.
///
/// All tensors have the shape of the logits `u`.
#[derive(Debug, Clone)]
pub struct ConditionalDraw<const D: usize> {
    /// `b`, float encoded: 0/1, or one-hot along the class axis.
    pub hard: Tensor<D>,
    /// `z = u + ε`.
    pub perturbed: Tensor<D>,
    /// `z̃ ~ p(z | b)`.
    pub conditional: Tensor<D>,
    /// `∂z̃_k/∂u_k` with the categorical normalizer held fixed (for a Bernoulli, the whole
    /// derivative).
    pub slope: Tensor<D>,
    /// `σ(u)`, or `softmax(u)` per categorical position; `b − p` is `∇u ln p(b)` in free
    /// coordinates.
    pub probabilities: Tensor<D>,
}

/// A discrete family written as `b = H(z)` of perturbed logits `z = u + ε`, whose perturbed
/// logits can also be drawn conditionally on `b` (REBAR's `z̃ ~ p(z | b)`).
///
/// The draw is made without a graph ([`draw_conditional`](Self::draw_conditional)), and the
/// estimators attach the gradient in closed form: `z` moves one-for-one with `u`, `z̃` by
/// [`conditional_with_gradient`](Self::conditional_with_gradient), `ln p(b)` by `b − p`.
/// Besides saving the backward pass through a chain of transcendental functions, this gives
/// every derivative in *free* coordinates (a categorical's `u` as unnormalized logits), in
/// which each coordinate's control variate has mean zero on its own, as a per-parameter η
/// needs.
pub trait ConditionalRelaxation<const D: usize>: Distribution<D> {
    /// The logits `u`, carrying the gradient of the distribution's parameters (a categorical's
    /// normalized log-probabilities, floored at −1e20).
    fn relaxation_logits(&self) -> Tensor<D>;

    /// Draws `(b, z, z̃)` for logits `u` (used detached), from `noise`.
    fn draw_conditional(u: Tensor<D>, noise: &mut NoiseSource) -> ConditionalDraw<D>;

    /// `z̃` as a differentiable function of `u` in free coordinates: the draw's value, plus the
    /// Jacobian applied to `delta = u − sg(u)` (exactly 0 forward, the gradient's path).
    fn conditional_with_gradient(draw: &ConditionalDraw<D>, delta: Tensor<D>) -> Tensor<D>;

    /// The Concrete relaxation at temperature τ, `σ(z/τ)` or `softmax(z/τ)`, differentiable,
    /// with a backward pass from the forward value (no transcendental function).
    fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D>;

    /// Maps a gradient in the coordinates of [`ConditionalDraw::slope`] to the gradient of free
    /// logits: the identity for a Bernoulli, `g − p·Σ_k g_k` per categorical position (what
    /// autodiff through `log_softmax` does to it).
    fn project(gradient: Tensor<D>, probabilities: Tensor<D>) -> Tensor<D>;
}

/// `value + slope ⊙ delta`: a detached value with a closed-form derivative attached along
/// `delta = x − sg(x)`.
fn attach<const D: usize>(value: Tensor<D>, slope: Tensor<D>, delta: Tensor<D>) -> Tensor<D> {
    value.detach() + slope.detach() * delta
}

/// `(σ(x), σ(−x), ln(1 + e^{−|x|}))` from one `exp` and one `ln`: `σ(x) = 1/(1 + e)` for
/// `x ≥ 0` and `e/(1 + e)` below, with `e = e^{−|x|}`, exact in both tails. No graph.
fn logistic_parts<const D: usize>(x: Tensor<D>) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let x = x.detach();
    let e = x.clone().abs().neg().exp();
    let one_plus = e.clone() + 1.0;
    let log_one_plus = one_plus.clone().log();
    let big = one_plus.clone().recip();
    let small = e / one_plus;
    let positive = x.greater_equal_elem(0.0);
    let p = small.clone().mask_where(positive.clone(), big.clone());
    let q = big.mask_where(positive, small);
    (p, q, log_one_plus)
}

/// `σ(x)`, with the backward pass `σ(1 − σ)` from the forward value.
fn logistic<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !x.is_autodiff() {
        return sigmoid(x);
    }
    let y = sigmoid(x.clone().inner()).autodiff();
    let slope = y.clone() * (y.clone().neg() + 1.0);
    y + slope * (x.clone() - x.detach())
}

impl<const D: usize> ConditionalRelaxation<D> for Bernoulli<D> {
    fn relaxation_logits(&self) -> Tensor<D> {
        self.logits().clone()
    }

    /// `z = u + L` with `L` standard logistic, `b = 1[z > 0]`. Given `b = 1`, `z̃` solves
    /// `σ(u − z̃) = (1 − v)σ(u)`, `v ~ U(0, 1)` (the upper tail beyond 0, by inversion):
    /// `z̃ = max(u, 0) + ln(1 + e^{−|u|}) + ln(σ(−u) + v σ(u)) − ln(1 − v)`, with slope
    /// `v σ(u) / (σ(−u) + v σ(u))`; given `b = 0`, the mirror image `−z̃(−u)`. Finite for every
    /// finite `u`; three `exp`/`ln` per variable on the device.
    fn draw_conditional(u: Tensor<D>, noise: &mut NoiseSource) -> ConditionalDraw<D> {
        let u = u.detach();
        let dims = u.dims();
        let device = u.device();
        let z = u.clone() + noise.tensor(StandardNoise::Logistic, dims, &device);
        let b = z.clone().greater_elem(0.0);
        let count = dims.iter().product();
        let v = noise.vec(StandardNoise::Uniform, count);
        let log_complement: Vec<f32> = v.iter().map(|&x| ln_f32(1.0 - x)).collect();
        let v = Tensor::<D>::from_data(TensorData::new(v, dims), &device);
        let log_complement = Tensor::<D>::from_data(TensorData::new(log_complement, dims), &device);
        let (p, q, log_one_plus) = logistic_parts(u.clone());
        // the side of b: θ_s = s·u, p_s = σ(θ_s), q_s = σ(−θ_s)
        let sign = b.clone().float() * 2.0 - 1.0;
        let theta = u * sign.clone();
        let p_side = q.clone().mask_where(b.clone(), p.clone());
        let q_side = p.clone().mask_where(b.clone(), q);
        let tail = q_side + v.clone() * p_side.clone();
        let upper = theta.clamp_min(0.0) + log_one_plus + tail.clone().log() - log_complement;
        ConditionalDraw {
            hard: b.float(),
            perturbed: z,
            conditional: upper * sign,
            slope: v * p_side / tail,
            probabilities: p,
        }
    }

    fn conditional_with_gradient(draw: &ConditionalDraw<D>, delta: Tensor<D>) -> Tensor<D> {
        attach(draw.conditional.clone(), draw.slope.clone(), delta)
    }

    fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D> {
        // z/τ clamped to the finite range: raw logits near ±3e38 over a small τ are ±∞, and
        // the backward pass of `logistic` forms x − sg(x)
        logistic(z.div_scalar(temperature).clamp(f32::MIN, f32::MAX))
    }

    fn project(gradient: Tensor<D>, _probabilities: Tensor<D>) -> Tensor<D> {
        gradient
    }
}

/// The categorical pieces, shared by [`Categorical`] and [`OneHotCategorical`].
mod categorical_relaxation {
    use super::*;

    pub(super) fn logits<const D: usize>(c: &Categorical<D>) -> Tensor<D> {
        c.log_probs().clone().clamp_min(LOG_PROB_FLOOR)
    }

    /// `z = u + g`, `b = argmax z`; given `b`, with fresh Gumbel noise `g'`: `z̃_b = g'_b` and
    /// `z̃_i = −logaddexp(−g'_i − u_i, −g'_b)` for `i ≠ b`, slope `σ(g'_b − g'_i − u_i)` (0 at
    /// `b`). One `exp` and one `ln` per class on the device.
    pub(super) fn draw<const D: usize>(
        u: Tensor<D>,
        noise: &mut NoiseSource,
    ) -> ConditionalDraw<D> {
        let u = u.detach();
        let dims = u.dims();
        let device = u.device();
        let k = dims[D - 1];
        let z = u.clone() + noise.tensor(StandardNoise::Gumbel, dims, &device);
        let b = one_hot(z.clone().argmax(D - 1), k);
        let chosen = b.clone().greater_elem(0.5);
        let g = noise.tensor(StandardNoise::Gumbel, dims, &device);
        let top = (b.clone() * g.clone()).sum_dim(D - 1).expand(dims);
        // logaddexp(a, c) = max(a, c) + ln(1 + e^{−|a − c|}), a = −g' − u, c = −g'_b
        let a = g.neg() - u.clone();
        let c = top.clone().neg();
        let gap = a.clone() - c.clone();
        let e = gap.clone().abs().neg().exp();
        let one_plus = e.clone() + 1.0;
        let others = (a.max_pair(c) + one_plus.clone().log()).neg();
        let big = one_plus.clone().recip();
        let small = e / one_plus;
        let slope = small.mask_where(gap.greater_equal_elem(0.0), big);
        ConditionalDraw {
            hard: b,
            perturbed: z,
            conditional: others.mask_where(chosen.clone(), top),
            slope: slope.mask_fill(chosen, 0.0),
            // u is normalized: its exponential is the softmax
            probabilities: u.exp(),
        }
    }

    /// `z̃ + r ⊙ δ + (1 − r)·(p·δ)`: the free-coordinate Jacobian of `z̃ = lse(u) + z̃⁰(u − lse(u))`.
    pub(super) fn conditional<const D: usize>(
        draw: &ConditionalDraw<D>,
        delta: Tensor<D>,
    ) -> Tensor<D> {
        let dims = delta.dims();
        let shift = (draw.probabilities.clone() * delta.clone())
            .sum_dim(D - 1)
            .expand(dims);
        let r = draw.slope.clone();
        draw.conditional.clone() + r.clone() * delta + (r.neg() + 1.0) * shift
    }

    pub(super) fn relax<const D: usize>(z: Tensor<D>, temperature: f64) -> Tensor<D> {
        softmax(z.div_scalar(temperature).clamp(f32::MIN, f32::MAX), D - 1)
    }

    pub(super) fn project<const D: usize>(gradient: Tensor<D>, p: Tensor<D>) -> Tensor<D> {
        let dims = gradient.dims();
        gradient.clone() - p * gradient.sum_dim(D - 1).expand(dims)
    }
}

macro_rules! categorical_relaxation_impl {
    ($family:ident, $this:ident => $inner:expr) => {
        impl<const D: usize> ConditionalRelaxation<D> for $family<D> {
            fn relaxation_logits(&self) -> Tensor<D> {
                let $this = self;
                categorical_relaxation::logits($inner)
            }

            fn draw_conditional(u: Tensor<D>, noise: &mut NoiseSource) -> ConditionalDraw<D> {
                categorical_relaxation::draw(u, noise)
            }

            fn conditional_with_gradient(draw: &ConditionalDraw<D>, delta: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::conditional(draw, delta)
            }

            fn relax_perturbed(z: Tensor<D>, temperature: f64) -> Tensor<D> {
                categorical_relaxation::relax(z, temperature)
            }

            fn project(gradient: Tensor<D>, probabilities: Tensor<D>) -> Tensor<D> {
                categorical_relaxation::project(gradient, probabilities)
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
    /// `hidden` tanh units (`hidden = 0` is the constant control variate `b₂`, a learned
    /// baseline). The hidden layer is drawn from `noise` (weights and biases uniform
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
        let [rows, m] = z.dims();
        let w2 = self.output.weight.val();
        let hidden = w2.dims()[0];
        if hidden == 0 {
            // no hidden unit: the constant c = b₂ (the layers' empty products would not run)
            let b2 = self.output.bias.as_ref().map(|b| b.val());
            let value = b2.map_or_else(|| z.zeros_like().sum_dim(1), |b| b.expand([rows, 1]));
            return (value.reshape([rows]), Tensor::zeros([rows, m], &z.device()));
        }
        let h = self.hidden.forward(z).tanh();
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

    /// Bernoulli draws at logits `u` with the perturbation and conditional noise fixed: the
    /// draw is re-run from a cloned noise source.
    fn bernoulli_draw(u: &[f32], seed: u64) -> ConditionalDraw<1> {
        let device = Device::flex();
        let u = Tensor::<1>::from_floats(u, &device);
        Bernoulli::<1>::draw_conditional(u, &mut NoiseSource::seed_from_u64(seed))
    }

    #[test]
    fn bernoulli_conditional_draw_lands_on_the_side_of_b_and_is_finite() {
        let u = [0.0, 2.0, -3.0, 1e4, -1e4, 20.0, -20.0];
        for seed in 0..50 {
            let d = bernoulli_draw(&u, seed);
            let (b, z, zt) = (values(d.hard), values(d.perturbed), values(d.conditional));
            for k in 0..u.len() {
                assert_eq!(b[k] == 1.0, z[k] > 0.0);
                assert!(zt[k].is_finite(), "{zt:?}");
                assert!(
                    if b[k] == 1.0 {
                        zt[k] >= 0.0
                    } else {
                        zt[k] <= 0.0
                    },
                    "b {} z̃ {}",
                    b[k],
                    zt[k]
                );
            }
            assert!(values(d.slope).iter().all(|r| (0.0..=1.0).contains(r)));
        }
    }

    #[test]
    fn bernoulli_slope_matches_finite_differences() {
        // the same noise at u ± h: b is the same (u away from the boundary), z̃ moves by r·h
        let u = [0.3f32, -1.2, 2.5, 0.0, -4.0, 6.0];
        let h = 1e-2;
        for seed in 0..5 {
            let d = bernoulli_draw(&u, seed);
            let plus: Vec<f32> = u.iter().map(|x| x + h).collect();
            let minus: Vec<f32> = u.iter().map(|x| x - h).collect();
            let (dp, dm) = (bernoulli_draw(&plus, seed), bernoulli_draw(&minus, seed));
            if values(dp.hard.clone()) != values(d.hard.clone())
                || values(dm.hard.clone()) != values(d.hard.clone())
            {
                continue;
            }
            let (zp, zm, r) = (
                values(dp.conditional),
                values(dm.conditional),
                values(d.slope),
            );
            for k in 0..u.len() {
                let fd = (zp[k] - zm[k]) / (2.0 * h);
                assert!((fd - r[k]).abs() < 2e-3, "k = {k}: {fd} vs {}", r[k]);
            }
        }
    }

    #[test]
    fn bernoulli_conditional_draw_inverts_the_logistic_tail() {
        // θ = 0, b = 1: u' = ½ + v/2 is uniform on the upper half, z̃ = logit(u'); at v = ½
        // (the noise is not controllable here, so check the law: P(z̃ ≤ t | b = 1) = 2σ(t) − 1)
        let mut below = 0usize;
        let mut ones = 0usize;
        let t = 1.0f32;
        for seed in 0..200 {
            let d = bernoulli_draw(&[0.0; 64], seed);
            let (b, zt) = (values(d.hard), values(d.conditional));
            for k in 0..64 {
                if b[k] == 1.0 {
                    ones += 1;
                    below += usize::from(zt[k] <= t);
                }
            }
        }
        let want = 2.0 / (1.0 + (-1.0f64).exp()) - 1.0;
        let got = below as f64 / ones as f64;
        // binomial standard error about 0.003 for 6400 draws: 6 standard errors
        assert!((got - want).abs() < 0.02, "{got} vs {want}");
    }

    #[test]
    fn categorical_free_jacobian_matches_finite_differences() {
        let device = Device::flex();
        let logits = [0.5f32, -1.0, 2.0, 0.1, -0.3];
        let normalize = |x: &[f32]| {
            let m = x.iter().cloned().fold(f32::MIN, f32::max);
            let lse = m + x.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            (x.iter().map(|v| v - lse).collect::<Vec<f32>>(), lse)
        };
        let (u, _) = normalize(&logits);
        let draw = |u: &[f32]| {
            Categorical::<2>::draw_conditional(
                Tensor::<2>::from_floats([[u[0], u[1], u[2], u[3], u[4]]], &device),
                &mut NoiseSource::seed_from_u64(11),
            )
        };
        let d = draw(&u);
        let h = 1e-2f32;
        for j in 0..5 {
            // z̃ in free coordinates at u ± h e_j: normalize, draw, add back the normalizer
            let at = |sign: f32| {
                let mut x = u.clone();
                x[j] += sign * h;
                let (n, lse) = normalize(&x);
                let dd = draw(&n);
                assert_eq!(values(dd.hard.clone()), values(d.hard.clone()));
                values(dd.conditional)
                    .into_iter()
                    .map(|v| v + lse)
                    .collect::<Vec<f32>>()
            };
            let (plus, minus) = (at(1.0), at(-1.0));
            let mut e = [0f32; 5];
            e[j] = 1.0;
            let direction = Tensor::<2>::from_floats([e], &device);
            let linear = values(
                Categorical::<2>::conditional_with_gradient(&d, direction) - d.conditional.clone(),
            );
            for i in 0..5 {
                let fd = (plus[i] - minus[i]) / (2.0 * h);
                assert!(
                    (fd - linear[i]).abs() < 2e-3,
                    "∂z̃_{i}/∂u_{j}: {fd} vs {}",
                    linear[i]
                );
            }
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
