//! Decoupled straight-through: one temperature for the draw, another for the gradient.

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};

use super::{DiscreteLogits, softmax_jacobian, tangent};
use crate::distributions::internal::{check_categories, finite_log};
use crate::distributions::one_hot;
use crate::error::{Error, Result};
use crate::rng::{NoiseSource, StandardNoise};

/// Decoupled straight-through Gumbel-softmax (Shah, Yan, Mozer & Liu 2024): straight-through
/// Gumbel-softmax with separate temperatures for the forward pass (τ_f: how random the draw
/// is) and the backward pass (τ_b: how the gradient spreads over the classes).
///
/// With normalized logits `θ = ln π` and one standard Gumbel vector `g` shared by both passes
/// (the paper's parameterization `θ/τ + g`):
///
/// - forward: `D = onehot(argmax(θ/τ_f + g))`, a draw from `Categorical(softmax(θ/τ_f))`;
/// - backward: `y_b = softmax(θ/τ_b + g)`, whose Jacobian in θ is `J(y_b)/τ_b`,
///   `J(p) = diag(p) − p pᵀ`.
///
/// Surrogate, with `δ = θ − sg(θ)` (zero forward): `y = sg(D) + y_b ⊙ (δ − ⟨y_b, δ⟩)/τ_b`.
/// For a Bernoulli with logit ℓ and standard logistic `L`: `b = 1[ℓ/τ_f + L > 0]`, gradient
/// `σ(x)σ(−x)/τ_b` with `x = ℓ/τ_b + L`.
///
/// With τ_f = τ_b = 1 it is ST Gumbel-softmax at τ = 1. Note the parameterization: `θ/τ + g`
/// tempers the noise with the logits, so the *diagonal* τ_f = τ_b = τ is the paper's
/// single-temperature ST-GS, which at τ ≠ 1 differs from
/// [`GumbelSoftmax::straight_through`](super::super::GumbelSoftmax::straight_through) (`(θ + g)/τ`: exact draws at every τ).
///
/// - Law of the draws: exact only at τ_f = 1. At τ_f ≠ 1 the draws, the costs and the
///   surrogate's value belong to the tempered law `softmax(θ/τ_f)` (the paper's "exploration"
///   knob), and the estimate targets neither gradient exactly.
/// - Bias: biased at every temperature pair (first order, like every straight-through
///   estimator), plus the tempering of the law at τ_f ≠ 1. Shah et al. report that the best
///   pair lies off the diagonal and depends on the task. Measured (docs/RESULTS.md): on a
///   decoder-like cost, τ_f = 0.5, τ_b = 1 has two thirds of the bias of the diagonal point
///   (1, 1), yet ST Gumbel-softmax at τ ≤ 0.5 has less; on a cubic cost (2, 1) and (0.5, 1)
///   are slightly below every single temperature tried; on a quadratic cost (0.5, 1) has
///   more than twice the bias of (1, 1).
/// - Variance: falls as τ_b grows (the `1/τ_b` factor and a flatter `y_b`).
/// - Requirements: a [`LogitFamily`](super::LogitFamily); `f` differentiable in its float input.
///
/// # Shapes
///
/// As the other estimators.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::estimators::{DecoupledStraightThrough, Estimator};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device).require_grad();
/// let b = Bernoulli::from_logits(logits.clone())?;
/// // exact draws (τ_f = 1), a smoother gradient (τ_b = 2)
/// let mut est = DecoupledStraightThrough::new(1.0, 2.0)?;
/// let out = est.estimate(&b, 4, &mut NoiseSource::seed_from_u64(0), |x| x.sum_dim(1).reshape([4]))?;
/// let v = out.samples.clone().try_into_vec_as::<f32>().unwrap();
/// assert!(v.iter().all(|&x| x == 0.0 || x == 1.0));
/// let g = logits.grad(&out.loss().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// // f = Σ x is linear: every component of the gradient estimate is positive
/// assert!(g.iter().all(|&x| x > 0.0));
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Shah, Yan, Mozer & Liu, *Improving Discrete Optimisation Via Decoupled Straight-Through
/// Gumbel-Softmax*, arXiv:2410.13331, 2024 (v2: *… Decoupled Straight-Through Estimator*),
/// Algorithm 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecoupledStraightThrough {
    forward: f64,
    backward: f64,
}

impl DecoupledStraightThrough {
    /// With forward temperature τ_f and backward temperature τ_b.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a temperature that is not finite and positive.
    pub fn new(forward_temperature: f64, backward_temperature: f64) -> Result<Self> {
        for (name, t) in [
            ("forward_temperature", forward_temperature),
            ("backward_temperature", backward_temperature),
        ] {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::invalid(
                    "DecoupledStraightThrough",
                    name,
                    "finite and > 0",
                ));
            }
        }
        Ok(Self {
            forward: forward_temperature,
            backward: backward_temperature,
        })
    }

    /// The forward temperature τ_f.
    pub fn forward_temperature(&self) -> f64 {
        self.forward
    }

    /// The backward temperature τ_b.
    pub fn backward_temperature(&self) -> f64 {
        self.backward
    }

    pub(super) fn draw<const D: usize>(
        &self,
        logits: DiscreteLogits<D>,
        noise: &mut NoiseSource,
    ) -> Tensor<D> {
        let (tf, tb) = (
            super::computing_temperature(self.forward),
            super::computing_temperature(self.backward),
        );
        match logits {
            DiscreteLogits::Categorical(logits) => self.categorical(logits, noise),
            DiscreteLogits::Bernoulli(logits) => {
                let c = logits.clone().inner();
                let u = noise.tensor(StandardNoise::Logistic, c.dims(), &c.device());
                let b = (c.clone().div_scalar(tf) + u.clone())
                    .greater_elem(0.0)
                    .float();
                let x = c.div_scalar(tb) + u;
                let slope = (sigmoid(x.clone()) * sigmoid(x.neg())).div_scalar(tb);
                tangent(logits) * slope + b
            }
        }
    }
}

impl DecoupledStraightThrough {
    /// The categorical draw for logits with classes on the last axis, normalized or not.
    fn categorical<const D: usize>(&self, logits: Tensor<D>, noise: &mut NoiseSource) -> Tensor<D> {
        let (tf, tb) = (
            super::computing_temperature(self.forward),
            super::computing_temperature(self.backward),
        );
        let a = finite_log(logits);
        let c = a.clone().inner();
        let k = c.dims()[D - 1];
        let g = noise.tensor(StandardNoise::Gumbel, c.dims(), &c.device());
        let hard = one_hot((c.clone().div_scalar(tf) + g.clone()).argmax(D - 1), k);
        let soft = softmax(c.div_scalar(tb) + g, D - 1);
        softmax_jacobian(soft, tangent(a)).div_scalar(tb) + hard
    }
}

/// Decoupled straight-through on logits (classes on the last axis, normalized or not): the
/// one-hot `argmax(ℓ/τ_f + g)` forward, the Jacobian of `softmax(ℓ/τ_b + g)` backward; what
/// [`DecoupledStraightThrough`] does for a categorical family, as a function of the logits.
///
/// Raw logits of any finite magnitude are fine: each row is shifted by its maximum first (a
/// constant, which changes neither the draw nor the gradient), so that `ℓ/τ` stays finite.
///
/// # Errors
///
/// [`Error::InvalidParameter`] for a temperature that is not finite and positive;
/// [`Error::EmptyCategories`] for an empty class axis.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::estimators::decoupled_straight_through;
///
/// let device = Device::flex();
/// let logits = Tensor::<2>::from_floats([[2.0, 0.0, -1.0]], &device).repeat_dim(0, 1000);
/// let y = decoupled_straight_through(logits, 1.0, 2.0, &mut NoiseSource::seed_from_u64(0))?;
/// // τ_f = 1: exact draws, class 0 with probability e²/(e² + 1 + e⁻¹) ≈ 0.84
/// let share = y.sum_dim(0).try_into_vec_as::<f32>().unwrap()[0] / 1000.0;
/// assert!((share - 0.844).abs() < 0.05);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn decoupled_straight_through<const D: usize>(
    logits: Tensor<D>,
    forward_temperature: f64,
    backward_temperature: f64,
    noise: &mut NoiseSource,
) -> Result<Tensor<D>> {
    let estimator = DecoupledStraightThrough::new(forward_temperature, backward_temperature)?;
    check_categories("decoupled_straight_through", &logits)?;
    Ok(estimator.categorical(super::shifted_by_max(logits), noise))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::OneHotCategorical;
    use crate::estimators::Estimator;
    use crate::estimators::GumbelSoftmax;

    /// At τ_f = τ_b = 1 it is ST Gumbel-softmax at τ = 1, draw for draw.
    #[test]
    fn unit_temperatures_are_straight_through_gumbel_softmax() {
        let device = Device::flex().autodiff();
        let run = |decoupled: bool| {
            let logits =
                Tensor::<2>::from_floats([[0.4, -0.8, 1.1, 0.0], [2.0, -1.0, 0.5, 0.3]], &device)
                    .require_grad();
            let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
            let w = Tensor::<2>::from_floats([[0.3, -1.2, 0.7, 2.0]], &device);
            let f = |y: Tensor<2>| (y * w).sum_dim(1).square().reshape([6]);
            let mut noise = NoiseSource::seed_from_u64(3);
            let est = if decoupled {
                DecoupledStraightThrough::new(1.0, 1.0)
                    .unwrap()
                    .estimate(&q, 3, &mut noise, f)
            } else {
                GumbelSoftmax::straight_through(1.0)
                    .unwrap()
                    .estimate(&q, 3, &mut noise, f)
            }
            .unwrap();
            let y = est
                .samples
                .clone()
                .inner()
                .try_into_vec_as::<f32>()
                .unwrap();
            let g = logits.grad(&est.loss().backward()).unwrap();
            (y, g.try_into_vec_as::<f32>().unwrap())
        };
        let (y1, g1) = run(true);
        let (y2, g2) = run(false);
        assert_eq!(y1, y2);
        for (a, b) in g1.iter().zip(&g2) {
            assert!((a - b).abs() < 1e-5, "{g1:?} vs {g2:?}");
        }
    }

    #[test]
    fn rejects_bad_temperatures() {
        assert!(DecoupledStraightThrough::new(0.0, 1.0).is_err());
        assert!(DecoupledStraightThrough::new(1.0, f64::INFINITY).is_err());
        assert!(matches!(
            DecoupledStraightThrough::new(1.0, -2.0),
            Err(Error::InvalidParameter {
                name: "backward_temperature",
                ..
            })
        ));
    }
}
