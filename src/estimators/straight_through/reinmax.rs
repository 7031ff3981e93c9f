//! ReinMax: straight-through corrected to second order.

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};

use super::{DiscreteLogits, tangent};
use crate::distributions::internal::{check_categories, finite_log};
use crate::distributions::{internal, one_hot};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};

/// The ReinMax estimator (Liu, Dong, Liu, Yu & Gao, NeurIPS 2023): the forward pass uses an
/// exact one-hot draw `D ~ Categorical(π)`, `π = softmax(θ)`; the backward pass replaces the
/// straight-through Jacobian `J(π)` by a second-order one,
///
/// `∇̂θ = [2·J(π_½) − ½·J(π)]·∂f/∂D(D)`, with `π_½ = (D + softmax(θ/τ))/2`,
///
/// where `J(p) = diag(p) − p pᵀ` is the softmax Jacobian at `p` (Liu et al. 2023, Algorithm 2).
///
/// Why: `∇θ E[f(D)] = Σ_i f(I_i)∇π_i` needs the differences `f(I_i) − f(I_j)` between
/// vertices. Straight-through replaces each by the derivative at one end (the forward Euler
/// step, first-order accurate); ReinMax averages the derivatives at both ends (Heun's method,
/// the trapezoid rule), exact when `f` is quadratic, at the cost of one more softmax.
///
/// Surrogate, with `δ = ln π − sg(ln π)` (exactly 0 forward):
///
/// `y = sg(D) + 2·π_½ ⊙ (δ − ⟨π_½, δ⟩) − ½·π ⊙ (δ − ⟨π, δ⟩)`, then `(1/n) Σ_i f(y_i)`.
///
/// Its forward value is exactly `D`. For a Bernoulli (`{1, 0}` with logits `(ℓ, 0)`) the
/// Jacobians are scalars: with `p = σ(ℓ)`, a draw `b`, `q = (b + σ(ℓ/τ))/2`,
/// `y = sg(b) + (2q(1 − q) − ½p(1 − p))·(ℓ − sg(ℓ))`.
///
/// - Bias: at τ = 1, none when `f` is quadratic in the draws (a polynomial of degree 2 in the
///   one-hot entries of all variables, products across variables included); otherwise of the
///   order of `f`'s third derivatives, against first order for straight-through. τ ≠ 1 adds
///   a first-order term. tests/straight_through_variants.rs measures both; in docs/RESULTS.md,
///   on a decoder-like cost ReinMax at τ = 1 has 1/17 of the bias of ST Gumbel-softmax at
///   τ = 1 and 1/4 of plain straight-through's, and on a cubic cost more than either.
/// - Variance: that of a straight-through estimator: the draw `D` is the only randomness (no
///   relaxation noise in the backward pass).
/// - Requirements: a [`LogitFamily`](super::LogitFamily) (Categorical, OneHotCategorical, Bernoulli); `f`
///   differentiable in its float input. The paper recommends τ ≥ 1 (its reference code
///   refuses τ < 1); every τ > 0 is accepted here.
///
/// # Shapes
///
/// As the other estimators: the cost receives `n·B` rows of one-hot (or 0/1) draws of the
/// logits' shape.
///
/// # Examples
///
/// At τ = 1 ReinMax is unbiased for a quadratic cost:
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::OneHotCategorical;
/// use mcgrad::estimators::{Estimator, ReinMax, exact_expectation};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[0.5, -0.3, 0.2]], &device).require_grad();
/// let w = Tensor::<2>::from_floats([[2.0], [-1.0], [0.5]], &device);
/// let f = |y: Tensor<2>| {
///     let rows = y.dims()[0];
///     (y.matmul(w.clone()) - 1.0).square().reshape([rows])
/// };
/// let exact = exact_expectation(&OneHotCategorical::from_logits(logits.clone())?, f)?;
/// let exact = logits.grad(&exact.sum().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
///
/// let q = OneHotCategorical::from_logits(logits.clone())?;
/// let est = ReinMax::new(1.0)?.estimate(&q, 40_000, &mut NoiseSource::seed_from_u64(0), f)?;
/// let g = logits.grad(&est.loss().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// for (g, e) in g.iter().zip(&exact) {
///     assert!((g - e).abs() < 0.05, "{g} vs {e}");
/// }
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Liu, Dong, Liu, Yu & Gao, *Bridging Discrete and Backpropagation: Straight-Through and
/// Beyond*, NeurIPS 2023, §4 and Algorithm 2; reference implementation
/// `microsoft/ReinMax`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReinMax {
    temperature: f64,
}

impl ReinMax {
    /// ReinMax at temperature τ (the temperature of `softmax(θ/τ)` in `π_½`; τ = 1 is the
    /// second-order method of the paper).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is
    /// not finite and positive.
    pub fn new(temperature: f64) -> Result<Self> {
        internal::temperature("ReinMax", temperature)?;
        Ok(Self { temperature })
    }

    /// The temperature τ.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// One draw per row of the family with logits `logits`, with the ReinMax gradient.
    pub(super) fn draw<const D: usize>(
        &self,
        logits: DiscreteLogits<D>,
        noise: &mut NoiseSource,
    ) -> Tensor<D> {
        let tau = super::computing_temperature(self.temperature);
        match logits {
            DiscreteLogits::Categorical(logits) => self.categorical(logits, noise),
            DiscreteLogits::Bernoulli(logits) => {
                let c = logits.clone().inner();
                let u = noise.tensor(StandardNoise::Logistic, c.dims(), &c.device());
                let b = (c.clone() + u).greater_elem(0.0).float();
                // p(1 − p) as σ(ℓ)σ(−ℓ), exact in both tails
                let p_var = sigmoid(c.clone()) * sigmoid(c.clone().neg());
                let t = c.div_scalar(tau);
                let q = (b.clone() + sigmoid(t.clone())) * 0.5;
                let q_c = (b.clone().neg().add_scalar(1.0) + sigmoid(t.neg())) * 0.5;
                let coef = q * q_c * 2.0 - p_var * 0.5;
                tangent(logits) * coef + b
            }
        }
    }
}

impl ReinMax {
    /// The categorical draw for logits with classes on the last axis, normalized or not
    /// (everything here is invariant to a shift of a row).
    fn categorical<const D: usize>(&self, logits: Tensor<D>, noise: &mut NoiseSource) -> Tensor<D> {
        let a = finite_log(logits);
        let c = a.clone().inner();
        let k = c.dims()[D - 1];
        let g = noise.tensor(StandardNoise::Gumbel, c.dims(), &c.device());
        let hard = one_hot((c.clone() + g).argmax(D - 1), k);
        let pi = softmax(c.clone(), D - 1);
        // twice the midpoint π_½: 2·J(π_½)δ − ½·J(π)δ
        // = (2π_½ − ½π) ⊙ δ − ½·(2π_½)⟨2π_½, δ⟩ + ½·π⟨π, δ⟩
        let mid2 = hard.clone()
            + softmax(
                c.div_scalar(super::computing_temperature(self.temperature)),
                D - 1,
            );
        let half_pi = pi.clone() * 0.5;
        let coef = mid2.clone() - half_pi.clone();
        let delta = tangent(a);
        let s_mid = (mid2.clone() * delta.clone()).sum_dim(D - 1);
        let s_pi = (pi * delta.clone()).sum_dim(D - 1);
        delta * coef - s_mid * (mid2 * 0.5) + s_pi * half_pi + hard
    }
}

/// ReinMax on logits (classes on the last axis, normalized or not): the one-hot draw of
/// `Categorical(softmax(ℓ))` forward, the ReinMax gradient backward; what [`ReinMax`] does for
/// a categorical family, as a function of the logits, in the manner of
/// [`gumbel_softmax`](super::super::gumbel_softmax).
///
/// Raw logits of any finite magnitude are fine: each row is shifted by its maximum first (a
/// constant, which changes neither the draw nor the gradient), so that `ℓ/τ` stays finite.
///
/// # Errors
///
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is not
/// finite and positive; [`Error::EmptyCategories`](crate::Error::EmptyCategories) for an empty
/// class axis.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::estimators::reinmax;
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<3>::zeros([2, 4, 5], &device).require_grad();
/// let y = reinmax(logits.clone(), 1.0, &mut NoiseSource::seed_from_u64(0))?;
/// // exactly one-hot along the last axis
/// let sums = y.clone().sum_dim(2).inner().try_into_vec_as::<f32>().unwrap();
/// assert!(sums.iter().all(|&s| s == 1.0));
/// let w = Tensor::<3>::ones([2, 4, 5], &device);
/// // a cost that does not depend on the class has a zero gradient
/// let g = logits.grad(&(y * w).sum().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// assert!(g.iter().all(|x| x.abs() < 1e-6));
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn reinmax<const D: usize>(
    logits: Tensor<D>,
    temperature: f64,
    noise: &mut NoiseSource,
) -> Result<Tensor<D>> {
    let estimator = ReinMax::new(temperature)?;
    check_categories("reinmax", &logits)?;
    Ok(estimator.categorical(super::shifted_by_max(logits), noise))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::{Bernoulli, OneHotCategorical};
    use crate::estimators::Estimator;

    /// With fixed noise the estimate is deterministic given the draw: check it against the
    /// formula, computed in f64 from the same draw.
    #[test]
    fn should_diff_categorical_by_the_reinmax_jacobian() {
        let device = Device::flex().autodiff();
        let theta = [0.4f64, -0.8, 1.1, 0.0];
        let logits = Tensor::<2>::from_floats([[0.4, -0.8, 1.1, 0.0]], &device).require_grad();
        let w = [0.3f64, -1.2, 0.7, 2.0];
        let wt = Tensor::<2>::from_floats([[0.3, -1.2, 0.7, 2.0]], &device);
        let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
        let tau = 1.7;
        let est = ReinMax::new(tau)
            .unwrap()
            .estimate(&q, 1, &mut NoiseSource::seed_from_u64(5), |y| {
                // f(y) = (Σ w y)², ∂f/∂y = 2(w·y) w
                (y * wt).sum_dim(1).square().reshape([1])
            })
            .unwrap();
        let d: Vec<f64> = est
            .samples
            .clone()
            .inner()
            .try_into_vec_as::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        assert_eq!(d.iter().filter(|&&x| x == 1.0).count(), 1);
        assert_eq!(d.iter().filter(|&&x| x == 0.0).count(), 3);
        let g = logits.grad(&est.loss().backward()).unwrap();
        let g = g.try_into_vec_as::<f32>().unwrap();
        let sm = |x: &[f64]| {
            let m = x.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|v| v / s).collect::<Vec<_>>()
        };
        let pi = sm(&theta);
        let pt = sm(&theta.iter().map(|t| t / tau).collect::<Vec<_>>());
        let mid: Vec<f64> = (0..4).map(|k| (d[k] + pt[k]) / 2.0).collect();
        let wy: f64 = (0..4).map(|k| w[k] * d[k]).sum();
        let u: Vec<f64> = w.iter().map(|w| 2.0 * wy * w).collect();
        let jac = |p: &[f64]| {
            let pu: f64 = (0..4).map(|k| p[k] * u[k]).sum();
            (0..4).map(|k| p[k] * (u[k] - pu)).collect::<Vec<_>>()
        };
        let (a, b) = (jac(&mid), jac(&pi));
        for k in 0..4 {
            let want = 2.0 * a[k] - 0.5 * b[k];
            assert!((g[k] as f64 - want).abs() < 1e-5, "{g:?} at {k}: {want}");
        }
    }

    #[test]
    fn should_diff_bernoulli_by_the_scalar_reinmax_jacobian() {
        let device = Device::flex().autodiff();
        let l = [0.3f64, -1.4, 2.2];
        let logits = Tensor::<2>::from_floats([[0.3, -1.4, 2.2]], &device).require_grad();
        let bern = Bernoulli::from_logits(logits.clone()).unwrap();
        let tau = 0.6;
        let est = ReinMax::new(tau)
            .unwrap()
            .estimate(&bern, 1, &mut NoiseSource::seed_from_u64(9), |x| {
                x.sum_dim(1).square().reshape([1])
            })
            .unwrap();
        let b: Vec<f64> = est
            .samples
            .clone()
            .inner()
            .try_into_vec_as::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        assert!(b.iter().all(|&x| x == 0.0 || x == 1.0));
        let g = logits.grad(&est.loss().backward()).unwrap();
        let g = g.try_into_vec_as::<f32>().unwrap();
        let s: f64 = b.iter().sum();
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        for k in 0..3 {
            let p = sig(l[k]);
            let q = (b[k] + sig(l[k] / tau)) / 2.0;
            let want = 2.0 * s * (2.0 * q * (1.0 - q) - 0.5 * p * (1.0 - p));
            assert!((g[k] as f64 - want).abs() < 1e-5, "{g:?} at {k}: {want}");
        }
    }

    #[test]
    fn rejects_bad_temperatures() {
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(ReinMax::new(t).is_err());
        }
    }
}
