//! The Concrete (Gumbel-softmax) relaxation of the one-hot categorical.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::Categorical;
use super::internal::{self, LOG_FLOOR, check_categories};
use super::{Distribution, Reparameterized};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softmax;

/// The floor under `ln y` and the shifted logits in the density: far below any logarithm of a
/// representable `y` (`ln f32::MIN_POSITIVE` ≈ −87.3), far above overflow in the density's
/// arithmetic.
const TEMPERED_FLOOR: f32 = -1e30;

/// The smallest temperature the relaxation computes with: `(ℓ + g)/τ` stays below
/// `f32::MAX` for normalized logits (at most 0) plus Gumbel noise (at most 104). Below it the
/// relaxed sample is the Gumbel-max one-hot vector to `f32` precision.
const TAU_MIN: f64 = 1e-36;

/// τ as the relaxation computes with it: clamped into `[1e-36, f32::MAX]`.
fn tempering(temperature: f64) -> f64 {
    temperature.clamp(TAU_MIN, f32::MAX as f64)
}

/// The Concrete distribution (Maddison et al. 2017), also the Gumbel-softmax (Jang et al.
/// 2017): a continuous relaxation of the one-hot categorical on the open simplex, with class
/// logits ℓ (classes on the last axis) and a temperature τ > 0.
///
/// Reparameterization: `y = softmax((ℓ + g)/τ)` with `g_k` standard Gumbel. As `τ → 0`, `y`
/// tends to the one-hot Gumbel-max sample of `Categorical(ℓ)`; at large τ it tends to the
/// uniform vector.
///
/// Density (Maddison et al. 2017, eq. 10; Lebesgue measure on the first `K − 1` coordinates):
///
/// `ln p(y) = ln Γ(K) + (K − 1) ln τ + Σ_k (ℓ_k − (τ + 1) ln y_k) − K·logsumexp_k(ℓ_k − τ ln y_k)`,
///
/// computed as `ln Γ(K) + (K − 1) ln τ + Σ_k [log_softmax_k(ℓ − τ ln y) − ln y_k]`, a form in
/// which no term overflows. It is computed from `ln y` throughout;
/// [`rsample_log`](Self::rsample_log) draws `ln y` directly as a `log_softmax`, which stays
/// finite where `y` itself underflows to 0 (large logits, low temperature).
/// [`log_prob`](Distribution::log_prob) on `y` clamps `y` at 1e-30 before the logarithm
/// (PyTorch's `clamp_probs` clamps at the smallest positive float); a `y` off the simplex
/// (an entry outside `[0, 1]`, or a sum off 1 by more than `max(1e-4, K·1e-6)`) has
/// log-density `−∞`.
///
/// Valid range: logits as [`Categorical::from_logits`] accepts them, raw (unnormalized) or
/// not, any finite spread; any finite `τ > 0`. The relaxation is shift invariant, and the code
/// makes that true numerically: below τ = 1 raw logits are shifted by their row's maximum
/// before the noise and the temperature, and what underflows towards `−∞` is clamped to
/// `f32::MIN` (`exp` of it is 0 either way), so samples, log-densities and gradients are never
/// NaN, at any temperature. Temperatures are used in `f32`, clamped into `[1e-36, f32::MAX]` (below
/// 1e-36 the sample is the Gumbel-max one-hot vector to `f32` precision).
///
/// No closed-form entropy or mean: neither [`Entropy`](super::Entropy) nor
/// [`Mean`](super::Mean) is implemented.
///
/// # Shapes
///
/// Logits `[..., K]` (rank `D`); samples and `ln y` `[..., K]`; `log_prob` `[..., 1]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Reparameterized, RelaxedOneHotCategorical};
///
/// let device = Device::flex();
/// let d = RelaxedOneHotCategorical::new(Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device), 0.5)?;
/// let y = d.rsample(&mut NoiseSource::seed_from_u64(0));
/// let total: f32 = y.sum().into_scalar();
/// assert!((total - 1.0).abs() < 1e-6);
/// // raw logits far beyond f32 after tempering: still a point of the simplex
/// let far = RelaxedOneHotCategorical::new(Tensor::<2>::from_floats([[3e38, -3e38, 0.0]], &device), 1e-3)?;
/// let y = far.rsample(&mut NoiseSource::seed_from_u64(0)).try_into_vec_as::<f32>().unwrap();
/// assert_eq!(y, vec![1.0, 0.0, 0.0]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RelaxedOneHotCategorical<const D: usize> {
    logits: Tensor<D>,
    temperature: f64,
    /// Whether `logits` are normalized log-probabilities (from a Categorical): their maximum
    /// is at least `−ln K` and at most 0, so no shift is needed.
    normalized: bool,
}

impl<const D: usize> RelaxedOneHotCategorical<D> {
    /// From logits (classes on the last axis) and a temperature.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is
    /// not finite and positive, or logits as [`Categorical::from_logits`] rejects them (one
    /// device sync); [`Error::EmptyCategories`](crate::Error::EmptyCategories) for an empty
    /// class axis.
    pub fn new(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        internal::temperature(Self::NAME, temperature)?;
        Categorical::from_logits(logits.clone())?;
        Ok(Self {
            logits,
            temperature,
            normalized: false,
        })
    }

    /// Without the logit check (no device sync); the temperature and the class axis are
    /// still checked (free).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a bad temperature;
    /// [`Error::EmptyCategories`](crate::Error::EmptyCategories).
    pub fn new_unchecked(logits: Tensor<D>, temperature: f64) -> Result<Self> {
        internal::temperature(Self::NAME, temperature)?;
        check_categories(Self::NAME, &logits)?;
        Ok(Self {
            logits,
            temperature,
            normalized: false,
        })
    }

    /// From the normalized log-probabilities of a Categorical (the estimators' path: no
    /// shift needed, see `tempered`).
    pub(crate) fn from_log_probs(log_probs: Tensor<D>, temperature: f64) -> Result<Self> {
        Ok(Self {
            normalized: true,
            ..Self::new_unchecked(log_probs, temperature)?
        })
    }

    /// The logits ℓ.
    pub fn logits(&self) -> &Tensor<D> {
        &self.logits
    }

    /// The temperature τ.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// The tempered, perturbed logits `(ℓ + g)/τ`, finite in every case, for a softmax or a
    /// log-softmax along the last axis (which are invariant to a shift of each row).
    ///
    /// For τ ≥ 1 the plain formula cannot overflow: `|ℓ + g|` rounds to at most `f32::MAX`
    /// (the noise is at most 104, far below half an ulp of `f32::MAX`). For τ < 1, raw logits
    /// are first shifted by their row's maximum (taken off the graph), so that `ℓ + g ≤ 104`,
    /// and τ is at least 1e-36, so `(ℓ + g)/τ` stays below `f32::MAX` and the row's largest
    /// entry is at least `(−ln K − 3.8)/τ`, finite. Log-probabilities from a Categorical (the
    /// estimators' path) are normalized already and never shifted. What underflows towards
    /// `−∞` (a class far below the best, an impossible class) is clamped to `f32::MIN`, whose
    /// `exp` after the softmax's own shift is 0, the exact value to `f32` precision. So for
    /// ordinary inputs the result is `(ℓ + g)/τ` bit for bit, at the cost of one clamp (and,
    /// for raw logits at τ < 1, of the shift).
    fn tempered(&self, g: Tensor<D>) -> Tensor<D> {
        let tau = tempering(self.temperature);
        let logits = if self.normalized || tau >= 1.0 {
            self.logits.clone()
        } else {
            let top = self.logits.clone().detach().max_dim(D - 1);
            self.logits.clone() - top
        };
        (logits + g).div_scalar(tau).clamp_min(f32::MIN)
    }

    /// `ln y` for given Gumbel noise: `log_softmax((ℓ + g)/τ)`, finite for all finite inputs
    /// (floored at `f32::MIN` where `y` is 0 beyond any `f32`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `g` does not have the logits'
    /// shape.
    pub fn rsample_log_with_noise(&self, g: Tensor<D>) -> Result<Tensor<D>> {
        internal::expect_shape("rsample_log_with_noise", &g.dims(), &self.logits.dims())?;
        Ok(log_softmax(self.tempered(g), D - 1).clamp_min(f32::MIN))
    }

    /// A differentiable sample of `ln y` (the ExpConcrete variable).
    pub fn rsample_log(&self, noise: &mut NoiseSource) -> Tensor<D> {
        log_softmax(self.tempered(self.draw_noise(noise)), D - 1).clamp_min(f32::MIN)
    }

    /// The Concrete log-density at `y`, given `ln y` (see the type's documentation); `−∞` for
    /// an `ln y` off the simplex (an entry above the tolerance of 0 or NaN, or a log-sum-exp
    /// off 0 by more than the tolerance).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `log_y` does not have the
    /// logits' shape.
    pub fn log_prob_from_log(&self, log_y: &Tensor<D>) -> Result<Tensor<D>> {
        internal::value_shape(
            "RelaxedOneHotCategorical::log_prob",
            log_y.dims(),
            self.logits.dims(),
        )?;
        let k = self.logits.dims()[D - 1];
        let tolerance = (k as f64 * 1e-6).max(1e-4);
        let off_entry = log_y
            .clone()
            .detach()
            .greater_elem(tolerance)
            .bool_or(log_y.clone().detach().is_nan());
        let log_y = log_y.clone().clamp_min(TEMPERED_FLOOR);
        let off = off_entry.any_dim(D - 1).bool_or(
            logsumexp(log_y.clone().detach())
                .abs()
                .greater_elem(tolerance),
        );
        Ok(self.density(log_y).mask_fill(off, f32::NEG_INFINITY))
    }

    /// `ln Γ(K) + (K − 1) ln τ + Σ_k [log_softmax_k(ℓ − τ ln y) − ln y_k]`, for `ln y` floored.
    fn density(&self, log_y: Tensor<D>) -> Tensor<D> {
        let k = self.logits.dims()[D - 1];
        let tau = tempering(self.temperature);
        let ln_gamma_k: f64 = (1..k).map(|i| (i as f64).ln()).sum();
        // shift invariance: the logits relative to their maximum (from halves, so that no
        // difference overflows), clamped into the finite range
        let half = self.logits.clone().mul_scalar(0.5);
        let top = half.clone().detach().max_dim(D - 1);
        let logits = (half - top).mul_scalar(2.0).clamp_min(TEMPERED_FLOOR);
        let scaled = (logits - log_y.clone().mul_scalar(tau)).clamp(f32::MIN, f32::MAX);
        let terms = (log_softmax(scaled, D - 1) - log_y).sum_dim(D - 1);
        terms.add_scalar(ln_gamma_k + (k as f64 - 1.0) * tau.ln())
    }
}

/// `ln Σ_k e^{x_k}` along the last axis, shifted by the maximum.
fn logsumexp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let top = x.clone().max_dim(D - 1);
    (x - top.clone()).exp().sum_dim(D - 1).log() + top
}

impl<const D: usize> Distribution<D> for RelaxedOneHotCategorical<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "RelaxedOneHotCategorical";

    fn value_shape(&self) -> [usize; D] {
        self.logits.dims()
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.logits.dims()[..D - 1].to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        vec![self.logits.dims()[D - 1]]
    }

    fn device(&self) -> Device {
        self.logits.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.rsample(noise).detach()
    }

    /// The Concrete log-density at `y`, `[..., 1]`; `y` is clamped at 1e-30 before its
    /// logarithm; `−∞` for a `y` off the simplex.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        internal::value_shape(
            "RelaxedOneHotCategorical::log_prob",
            value.dims(),
            self.logits.dims(),
        )?;
        let k = self.logits.dims()[D - 1];
        let tolerance = (k as f64 * 1e-6).max(1e-4);
        let y = value.clone().detach();
        let off = y
            .clone()
            .lower_elem(0.0)
            .bool_or(y.clone().greater_elem(1.0))
            .any_dim(D - 1)
            .bool_or(
                y.sum_dim(D - 1)
                    .sub_scalar(1.0)
                    .abs()
                    .greater_elem(tolerance),
            );
        let log_y = value.clone().clamp_min(LOG_FLOOR).log();
        Ok(self.density(log_y).mask_fill(off, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            logits: internal::replicate(&self.logits, n, self.logits.dims()[0]),
            temperature: self.temperature,
            normalized: self.normalized,
        }
    }
}

impl<const D: usize> Reparameterized<D> for RelaxedOneHotCategorical<D> {
    const NOISE: StandardNoise = StandardNoise::Gumbel;

    /// `softmax((ℓ + g)/τ)`.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        softmax(self.tempered(eps), D - 1)
    }
}
