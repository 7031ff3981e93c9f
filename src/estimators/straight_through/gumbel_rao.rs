//! Gumbel-Rao: straight-through Gumbel-softmax, Rao-Blackwellized over the noise.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, sigmoid, softmax};

use super::{DiscreteLogits, as_rows, tangent};
use crate::distributions::internal::{check_categories, finite_log};
use crate::distributions::{internal, one_hot};
use crate::error::{Error, Result};
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softplus;

/// The Gumbel-Rao estimator (Paulus, Maddison & Krause, ICLR 2021): straight-through
/// Gumbel-softmax with its backward pass averaged over the Gumbel noise *given the draw*.
///
/// Straight-through Gumbel-softmax draws `D = onehot(argmax(ln π + g))` and backpropagates
/// through `y = softmax((ln π + g)/τ)`, with Jacobian `J(y)/τ`, `J(p) = diag(p) − p pᵀ`. The
/// noise `g` carries more randomness than the draw `D` it decides; Gumbel-Rao replaces the
/// Jacobian by its conditional expectation given `D`, estimated with `K` draws `g⁽ᵏ⁾ | D`:
///
/// `∇̂θ = (1/K) Σ_k J(y⁽ᵏ⁾)/τ · ∂f/∂D(D)`, `y⁽ᵏ⁾ = softmax((ln π + g⁽ᵏ⁾)/τ)`.
///
/// The conditional draws (Paulus et al. 2021, §3.2), by the exponential race behind the
/// Gumbel-max trick: `ln π_j + g_j = −ln T_j` with `T_j = E_j/π_j`, `E_j` standard
/// exponential, and the draw is the class that finishes first. Given that class `i` won at
/// time `T` (standard exponential for normalized `π`), the others finish at
/// `T_j = T + E'_j/π_j` with fresh `E'_j` (memorylessness), so
///
/// `ln π_j + g_j = ln π_j − ln(E'_j + T·π_j)` for `j ≠ i`, and `−ln T` for `i`,
///
/// one logarithm per value, with no overflow for any `π_j` in `[0, 1]` (the same truncated
/// Gumbels as `−ln(e^{−M} + e^{−(ln π_j + g'_j)})`, `M = −ln T`). The perturbation that drew
/// `D` is itself one such draw, so `K = 1` is exactly straight-through Gumbel-softmax, and
/// `K − 1` fresh noise vectors per variable make the rest.
///
/// Surrogate, with `δ = ln π − sg(ln π)` (zero forward) and constants `y⁽ᵏ⁾`:
///
/// `y = sg(D) + (1/(Kτ)) Σ_k y⁽ᵏ⁾ ⊙ (δ − ⟨y⁽ᵏ⁾, δ⟩)`.
///
/// For a Bernoulli the same holds with logistic noise: given `b`, the perturbed logit
/// `ℓ + L` is `s·softplus(L' + softplus(s·ℓ))`, `s = 2b − 1`, `L'` fresh standard logistic, and
/// the Jacobian is `σ(z/τ)σ(−z/τ)/τ`.
///
/// - Bias: exactly that of [`GumbelSoftmax::straight_through`](super::super::GumbelSoftmax::straight_through) at
///   the same τ: conditioning does not change a mean (tests/straight_through_variants.rs
///   checks the two biases agree).
/// - Variance: never above ST Gumbel-softmax's, and falling with `K` towards the variance of
///   the conditional mean; the gain is largest at low τ, where the relaxation noise dominates
///   (at τ = 0.1 on the problems of docs/RESULTS.md, `K = 10` cuts it by a factor of 5 to 7).
/// - Cost: `K` softmaxes per variable forward, and a backward pass over the `K` of them.
/// - Requirements: a [`LogitFamily`](super::LogitFamily); `f` differentiable in its float input.
///
/// # Shapes
///
/// As the other estimators; the `K` conditional draws live only inside the backward pass
/// (memory `K` times the logits).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::OneHotCategorical;
/// use mcgrad::estimators::{Estimator, GumbelRao};
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<2>::from_floats([[1.0, 0.0, -1.0]], &device).require_grad();
/// let q = OneHotCategorical::from_logits(logits.clone())?;
/// let w = Tensor::<2>::from_floats([[1.0], [2.0], [3.0]], &device);
/// let est = GumbelRao::new(0.5, 10)?.estimate(&q, 8, &mut NoiseSource::seed_from_u64(0), |y| {
///     y.matmul(w).reshape([8])
/// })?;
/// // the forward pass is exactly one-hot
/// let v = est.samples.clone().try_into_vec_as::<f32>().unwrap();
/// assert!(v.iter().all(|&x| x == 0.0 || x == 1.0));
/// let g = logits.grad(&est.loss().backward()).unwrap();
/// assert_eq!(g.dims(), [1, 3]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Paulus, Maddison & Krause, *Rao-Blackwellizing the Straight-Through Gumbel-Softmax
/// Gradient Estimator*, ICLR 2021, §3; Maddison, Tarlow & Minka, *A\* Sampling*, NeurIPS 2014
/// (truncated Gumbels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GumbelRao {
    temperature: f64,
    draws: usize,
}

impl GumbelRao {
    /// Gumbel-Rao at temperature τ with `K` conditional noise draws per variable (`K = 1` is
    /// ST Gumbel-softmax; the paper uses `K` from 10 to 1000).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a temperature that is not finite and positive, or
    /// `K = 0`.
    pub fn new(temperature: f64, draws: usize) -> Result<Self> {
        internal::temperature("GumbelRao", temperature)?;
        if draws == 0 {
            return Err(Error::invalid("GumbelRao", "draws", "at least 1"));
        }
        Ok(Self { temperature, draws })
    }

    /// The temperature τ.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// The number `K` of conditional noise draws.
    pub fn draws(&self) -> usize {
        self.draws
    }

    pub(super) fn draw<const D: usize>(
        &self,
        logits: DiscreteLogits<D>,
        noise: &mut NoiseSource,
    ) -> Tensor<D> {
        match logits {
            DiscreteLogits::Categorical(log_probs) => self.categorical(log_probs, noise),
            DiscreteLogits::Bernoulli(logits) => self.bernoulli(logits, noise),
        }
    }

    /// The categorical draw for logits with classes on the last axis, normalized or not (the
    /// conditional draws normalize a constant copy).
    fn categorical<const D: usize>(&self, logits: Tensor<D>, noise: &mut NoiseSource) -> Tensor<D> {
        let tau = super::computing_temperature(self.temperature);
        let a = finite_log(logits);
        let c = a.clone().inner();
        let dims = c.dims();
        let k = dims[D - 1];
        let device = c.device();
        let g = noise.tensor(StandardNoise::Gumbel, dims, &device);
        let first = c.clone() + g;
        let index = first.clone().argmax(D - 1);
        let hard = one_hot(index, k);
        let first = as_rows(first);
        let [r, _] = first.dims();
        let mut perturbed = first.reshape([1, r, k]);
        if self.draws > 1 {
            let shape = [self.draws - 1, r, k];
            let e = noise.tensor::<3>(StandardNoise::Exponential, shape, &device);
            let chosen = as_rows(hard.clone()).equal_elem(1.0);
            let log_probs = log_softmax(as_rows(c), 1);
            let conditional = conditional_perturbations(log_probs, chosen, e);
            perturbed = Tensor::cat(vec![perturbed, conditional], 0);
        }
        let y = softmax(perturbed.div_scalar(tau), 2);
        let mean = y.clone().mean_dim(0);
        let delta = as_rows(tangent(a)).reshape([1, r, k]);
        let inner = (y.clone() * delta.clone()).sum_dim(2);
        let correction = (y * inner).mean_dim(0);
        ((delta * mean - correction).div_scalar(tau)).reshape(dims) + hard
    }

    fn bernoulli<const D: usize>(&self, logits: Tensor<D>, noise: &mut NoiseSource) -> Tensor<D> {
        let tau = super::computing_temperature(self.temperature);
        let c = logits.clone().inner();
        let dims = c.dims();
        let len = dims.iter().product::<usize>();
        let device = c.device();
        let u = noise.tensor(StandardNoise::Logistic, dims, &device);
        let first = c.clone() + u;
        let b = first.clone().greater_elem(0.0).float();
        let mut perturbed = first.reshape([1, len]);
        if self.draws > 1 {
            let m = self.draws - 1;
            let sign = (b.clone() * 2.0).sub_scalar(1.0).reshape([1, len]);
            let u = noise.tensor::<2>(StandardNoise::Logistic, [m, len], &device);
            let shift = softplus(c.reshape([1, len]) * sign.clone());
            let conditional = softplus(u + shift) * sign;
            perturbed = Tensor::cat(vec![perturbed, conditional], 0);
        }
        let z = perturbed.div_scalar(tau);
        let slope = (sigmoid(z.clone()) * sigmoid(z.neg()))
            .mean_dim(0)
            .div_scalar(tau)
            .reshape(dims);
        tangent(logits) * slope + b
    }
}

/// Perturbed log-probabilities `ln π + g` conditioned on their argmax, one draw per slice of
/// `e`: for normalized `log_probs` `[R, C]`, the chosen classes `chosen` `[R, C]` and fresh
/// standard exponential noise `e` `[m, R, C]`, the chosen class `i` gets `−ln T` with
/// `T = e_i` (the winner's time, standard exponential) and every other class
/// `ln π_j − ln(e_j + T·π_j)` (see [`GumbelRao`]). The argument of the logarithm is kept at
/// or above the smallest normal `f32`, so that an underflow (a chosen class of probability
/// below 1e-38, say) gives a finite value.
fn conditional_perturbations(
    log_probs: Tensor<2>,
    chosen: Tensor<2, Bool>,
    e: Tensor<3>,
) -> Tensor<3> {
    let [r, c] = log_probs.dims();
    let [m, _, _] = e.dims();
    let log_probs = log_probs.reshape([1, r, c]);
    let chosen = chosen.reshape([1, r, c]);
    let index = chosen.clone().int().argmax(2).expand([m, r, 1]);
    let winner = e.clone().gather(2, index);
    let probs = log_probs.clone().exp();
    let times = (e.mask_fill(chosen, 0.0) + winner * probs).clamp_min(f32::MIN_POSITIVE);
    log_probs - times.log()
}

/// Gumbel-Rao on logits (classes on the last axis, normalized or not): the one-hot draw of
/// `Categorical(softmax(ℓ))` forward, the Jacobian of `softmax((ℓ + g)/τ)` averaged over `K`
/// draws of `g` given the draw backward; what [`GumbelRao`] does for a categorical family, as
/// a function of the logits.
///
/// Raw logits of any finite magnitude are fine: each row is shifted by its maximum first (a
/// constant, which changes neither the draw nor the gradient), so that `ℓ/τ` stays finite.
///
/// # Errors
///
/// [`Error::InvalidParameter`] for a temperature that is not finite and positive or `K = 0`;
/// [`Error::EmptyCategories`] for an empty class axis.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::estimators::gumbel_rao;
///
/// let device = Device::flex().autodiff();
/// let logits = Tensor::<3>::zeros([2, 4, 5], &device).require_grad();
/// let y = gumbel_rao(logits.clone(), 0.5, 10, &mut NoiseSource::seed_from_u64(0))?;
/// let sums = y.clone().sum_dim(2).inner().try_into_vec_as::<f32>().unwrap();
/// assert!(sums.iter().all(|&s| s == 1.0));
/// let g = logits.grad(&y.sum().backward()).unwrap();
/// assert_eq!(g.dims(), [2, 4, 5]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub fn gumbel_rao<const D: usize>(
    logits: Tensor<D>,
    temperature: f64,
    draws: usize,
    noise: &mut NoiseSource,
) -> Result<Tensor<D>> {
    let estimator = GumbelRao::new(temperature, draws)?;
    check_categories("gumbel_rao", &logits)?;
    Ok(estimator.categorical(super::shifted_by_max(logits), noise))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::OneHotCategorical;
    use crate::estimators::Estimator;
    use crate::estimators::GumbelSoftmax;

    /// K = 1 is ST Gumbel-softmax: the same draw and, up to rounding, the same gradient from
    /// the same noise.
    #[test]
    fn one_draw_is_straight_through_gumbel_softmax() {
        let device = Device::flex().autodiff();
        let run = |gr: bool| {
            let logits =
                Tensor::<2>::from_floats([[0.4, -0.8, 1.1, 0.0], [2.0, -1.0, 0.5, 0.3]], &device)
                    .require_grad();
            let q = OneHotCategorical::from_logits(logits.clone()).unwrap();
            let w = Tensor::<2>::from_floats([[0.3, -1.2, 0.7, 2.0]], &device);
            let f = |y: Tensor<2>| (y * w).sum_dim(1).square().reshape([6]);
            let mut noise = NoiseSource::seed_from_u64(3);
            let est = if gr {
                GumbelRao::new(0.7, 1)
                    .unwrap()
                    .estimate(&q, 3, &mut noise, f)
            } else {
                GumbelSoftmax::straight_through(0.7)
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

    /// Every conditional draw keeps the sampled class on top, and the values are the
    /// truncated Gumbels of the f64 formula `−ln(e^{−M} + e^{−(ln π_j + g_j)})` with
    /// `M = −ln T`, `g_j = −ln e_j`, also where `1/π_j` overflows `f32`.
    #[test]
    fn conditional_draws_are_truncated_gumbels_below_the_maximum() {
        let device = Device::flex();
        let rows = 500;
        let logits =
            Tensor::<2>::from_floats([[3.0, -2.0, 0.5, -100.0, -1e4]], &device).repeat_dim(0, rows);
        let a = burn::tensor::activation::log_softmax(logits, 1);
        let mut noise = NoiseSource::seed_from_u64(11);
        let g = noise.tensor(StandardNoise::Gumbel, [rows, 5], &device);
        let index = (a.clone() + g).argmax(1);
        let chosen = one_hot(index.clone(), 5).equal_elem(1.0);
        let e = noise.tensor::<3>(StandardNoise::Exponential, [4, rows, 5], &device);
        let v = conditional_perturbations(a.clone(), chosen, e.clone());
        let arg = v.clone().argmax(2).reshape([4, rows]);
        let want = index.clone().reshape([1, rows]).expand([4, rows]);
        assert!(arg.equal(want).all().into_scalar::<bool>());
        let (a, e, v) = (
            a.try_into_vec_as::<f32>().unwrap(),
            e.try_into_vec_as::<f32>().unwrap(),
            v.try_into_vec_as::<f32>().unwrap(),
        );
        let index = index.try_into_vec_as::<i64>().unwrap();
        for d in 0..4 {
            for r in 0..rows {
                let i = index[r] as usize;
                let top = -(e[(d * rows + r) * 5 + i] as f64).ln();
                for j in 0..5 {
                    let got = v[(d * rows + r) * 5 + j] as f64;
                    let want = if j == i {
                        top
                    } else {
                        let x = a[r * 5 + j] as f64 - (e[(d * rows + r) * 5 + j] as f64).ln();
                        // −ln(e^{−M} + e^{−x}), as −logaddexp in f64
                        let (hi, lo) = if -top > -x { (-top, -x) } else { (-x, -top) };
                        -(hi + (lo - hi).exp().ln_1p())
                    };
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "draw {d}, row {r}, class {j}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(GumbelRao::new(0.0, 10).is_err());
        assert!(GumbelRao::new(f64::NAN, 10).is_err());
        assert!(GumbelRao::new(1.0, 0).is_err());
        assert!(GumbelRao::new(1.0, 1).is_ok());
    }
}
