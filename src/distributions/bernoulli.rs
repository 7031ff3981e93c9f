//! The Bernoulli distribution.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_sigmoid, sigmoid};

use super::internal;
use super::{Distribution, Entropy, EnumerableSupport, Mean};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::{exp_times, log1p, softplus, weighted_exp_excess};

/// The Bernoulli distribution on {0, 1}, one per element of the batch, parameterized by the
/// logit `ℓ = ln(p/(1 − p))`.
///
/// Mass: `P(x = 1) = σ(ℓ)`; `ln P(x) = xℓ − softplus(ℓ)`, stable for every finite ℓ (the
/// binary cross-entropy with logits, negated).
///
/// Sampling: `x = 1[ℓ + L > 0]` with `L` standard logistic noise (the binary Gumbel-max).
///
/// Entropy: `softplus(ℓ) − ℓσ(ℓ)`. Mean `σ(ℓ)`.
///
/// Valid range (checked by [`from_logits`](Self::from_logits)): any finite logit; samples,
/// log-masses, the entropy and the mean are finite for all of them. A value other than 0 and 1
/// has log-mass `−∞`; for targets in between (grey-scale pixels), the binary cross-entropy
/// with logits is [`cross_entropy`](Self::cross_entropy).
///
/// # Shapes
///
/// `logits` of rank `D`, the value shape; samples (exactly 0 or 1), `log_prob`, `entropy`
/// and `mean` of the same shape (element-wise).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Bernoulli, Distribution};
///
/// let device = Device::flex();
/// let b = Bernoulli::from_logits(Tensor::<1>::from_floats([0.0, 1e4, -1e4], &device))?;
/// let lp = b.log_prob(&Tensor::<1>::from_floats([1.0, 1.0, 1.0], &device))?;
/// let v = lp.try_into_vec_as::<f32>().unwrap();
/// assert!((v[0] - 0.5f32.ln()).abs() < 1e-6 && v[1] == 0.0 && v[2] == -1e4);
/// // outside the support {0, 1}
/// let half: f32 = b.log_prob(&Tensor::<1>::from_floats([0.5, 0.0, 1.0], &device))?.slice([0..1]).into_scalar();
/// assert_eq!(half, f32::NEG_INFINITY);
/// # Ok::<(), mcgrad::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bernoulli<const D: usize> {
    logits: Tensor<D>,
}

impl<const D: usize> Bernoulli<D> {
    /// From logits.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a NaN or infinite logit (one device sync).
    pub fn from_logits(logits: Tensor<D>) -> Result<Self> {
        internal::finite(Self::NAME, "logits", &logits)?;
        Ok(Self { logits })
    }

    /// From logits without the value check (no device sync). Like every `_unchecked`
    /// constructor of the crate it returns a `Result` and keeps the checks that cost nothing
    /// (Bernoulli has none: it never fails).
    ///
    /// # Errors
    ///
    /// None for Bernoulli; the signature is the crate's one rule for `_unchecked`.
    pub fn from_logits_unchecked(logits: Tensor<D>) -> Result<Self> {
        Ok(Self { logits })
    }

    /// From probabilities in [0, 1]. As in PyTorch, they are clamped to `[ε, 1 − ε]` with ε
    /// the `f32` machine epsilon before taking logits, so 0 and 1 become logits of about ∓15.9.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a probability outside [0, 1] or NaN (one device sync).
    pub fn from_probs(probs: Tensor<D>) -> Result<Self> {
        let n = probs.shape().num_elements();
        let flat = probs.clone().reshape([n]);
        let bad = flat
            .clone()
            .lower_elem(0.0)
            .bool_or(flat.clone().greater_elem(1.0))
            .bool_or(flat.is_nan());
        if bad.any().into_scalar::<bool>() {
            return Err(Error::invalid(Self::NAME, "probs", "in [0, 1]"));
        }
        let p = probs.clamp(f32::EPSILON, 1.0 - f32::EPSILON);
        Ok(Self {
            logits: p.clone().log() - p.neg().log1p(),
        })
    }

    /// The logits ℓ.
    pub fn logits(&self) -> &Tensor<D> {
        &self.logits
    }

    /// The binary cross-entropy with logits of targets `x` in `[0, 1]`,
    /// `softplus(ℓ) − xℓ = −(xℓ + ln σ(−ℓ))`: the continuous extension of `−log_prob` (equal to
    /// it on {0, 1}), for targets that are probabilities, such as grey-scale pixels. Unlike
    /// [`log_prob`](Distribution::log_prob), which is `−∞` off the support {0, 1}, it is finite
    /// for every finite target and logit.
    ///
    /// # Shapes
    ///
    /// `x` broadcasts against the logits; the result has the broadcast shape.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `x` and the logits do not
    /// broadcast.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::distributions::{Bernoulli, Distribution};
    ///
    /// let device = Device::flex();
    /// let b = Bernoulli::from_logits(Tensor::<1>::from_floats([0.0, 2.0], &device))?;
    /// let x = Tensor::<1>::from_floats([0.5, 1.0], &device);
    /// let bce = b.cross_entropy(&x)?.try_into_vec_as::<f32>().unwrap();
    /// assert!((bce[0] - 2f32.ln()).abs() < 1e-6);
    /// // on {0, 1} it is −log_prob
    /// let lp: f32 = b.log_prob(&x)?.slice([1..2]).into_scalar();
    /// assert!((bce[1] + lp).abs() < 1e-6);
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn cross_entropy(&self, x: &Tensor<D>) -> Result<Tensor<D>> {
        let shape =
            internal::value_shape("Bernoulli::cross_entropy", x.dims(), self.logits.dims())?;
        let lp = x.clone() * self.logits.clone() + log_sigmoid(self.logits.clone().neg());
        Ok(lp.neg().expand(shape))
    }

    /// `σ(ℓ)`.
    pub fn probs(&self) -> Tensor<D> {
        sigmoid(self.logits.clone())
    }

    /// Every point of the joint support of a row, sample-major: for rows of `M` Bernoulli
    /// variables, the `2^M` configurations as `2^M·B` rows (configuration `j` of row `b` at
    /// row `j·B + b`), and the count `2^M`.
    ///
    /// # Errors
    ///
    /// [`Error::SupportTooLarge`] beyond [`SUPPORT_LIMIT`](super::SUPPORT_LIMIT) points.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::distributions::Bernoulli;
    ///
    /// let device = Device::flex();
    /// let b = Bernoulli::from_logits(Tensor::<2>::zeros([1, 2], &device))?;
    /// let (support, count) = b.enumerate_support()?;
    /// assert_eq!(count, 4);
    /// assert_eq!(support.try_into_vec_as::<f32>().unwrap(), vec![0., 0., 0., 1., 1., 0., 1., 1.]);
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn enumerate_support(&self) -> Result<(Tensor<D>, usize)> {
        let dims = self.logits.dims();
        let m: usize = dims[1..].iter().product();
        let (bits, count) = internal::support_digits(Self::NAME, 2, dims[0], m)?;
        let data: Vec<f32> = bits.into_iter().map(|b| b as f32).collect();
        let mut shape = dims;
        shape[0] *= count;
        Ok((
            Tensor::from_data(TensorData::new(data, shape), &self.device()),
            count,
        ))
    }
}

impl<const D: usize> Distribution<D> for Bernoulli<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Bernoulli";

    fn value_shape(&self) -> [usize; D] {
        self.logits.dims()
    }

    fn device(&self) -> Device {
        self.logits.device()
    }

    /// `1[ℓ + L > 0]`, exactly 0 or 1.
    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        let l = noise.tensor(StandardNoise::Logistic, self.logits.dims(), &self.device());
        (self.logits.clone().detach() + l).greater_elem(0.0).float()
    }

    /// `xℓ − softplus(ℓ)` for `x ∈ {0, 1}`, `−∞` for any other value.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("Bernoulli::log_prob", value.dims(), self.logits.dims())?;
        let outside = value
            .clone()
            .not_equal_elem(0.0)
            .bool_and(value.clone().not_equal_elem(1.0));
        // x·ℓ − softplus(ℓ) = x·ℓ + ln σ(−ℓ): one fused op for the transcendental part
        let lp = value.clone() * self.logits.clone() + log_sigmoid(self.logits.clone().neg());
        Ok(lp
            .expand(shape)
            .mask_fill(outside.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            logits: internal::replicate(&self.logits, n, self.logits.dims()[0]),
        }
    }
}

impl<const D: usize> EnumerableSupport<D> for Bernoulli<D> {
    fn enumerate_support(&self) -> Result<(Tensor<D>, usize)> {
        Bernoulli::enumerate_support(self)
    }
}

impl<const D: usize> Entropy<D> for Bernoulli<D> {
    /// `softplus(ℓ) − ℓσ(ℓ)`.
    fn entropy(&self) -> Tensor<D> {
        softplus(self.logits.clone()) - self.logits.clone() * self.probs()
    }
}

impl<const D: usize> Mean<D> for Bernoulli<D> {
    /// `σ(ℓ)`.
    fn mean(&self) -> Tensor<D> {
        self.probs()
    }
}

/// `KL = σ(a)(ln σ(a) − ln σ(b)) + σ(−a)(ln σ(−a) − ln σ(−b))` for logits `a` (p) and `b` (q),
/// with `ln σ(x) = −softplus(−x)`: finite for all finite logits.
///
/// For logits within 1 of each other it is computed without cancellation as
/// `ln(1 + σ(a)φ(σ(−a)δ) + σ(−a)φ(−σ(a)δ))`, `δ = b − a`, `φ(u) = e^u − 1 − u ≥ 0` (the
/// two-class case of the Categorical's rewriting), so nearly equal logits keep their digits;
/// further apart the direct sum has no cancellation to lose digits to.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Bernoulli;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let p = Bernoulli::from_logits(Tensor::<1>::from_floats([0.0], &device))?;
/// let q = Bernoulli::from_logits(Tensor::<1>::from_floats([1e-3], &device))?;
/// // ≈ δ²/8 = 1.25e-7
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - 1.25e-7).abs() < 1e-10);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Bernoulli<D>> for Bernoulli<D> {
    fn kl_divergence(&self, q: &Bernoulli<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast(
            "kl_divergence(Bernoulli, Bernoulli)",
            &[self.logits.dims(), q.logits.dims()],
        )?;
        let (a, b) = (
            self.logits.clone().expand(shape),
            q.logits.clone().expand(shape),
        );
        let (log_p1, log_p0) = (softplus(a.clone().neg()).neg(), softplus(a.clone()).neg());
        let (p1, p0) = (sigmoid(a.clone()), sigmoid(a.clone().neg()));
        // ln σ(a) − ln σ(b) = softplus(−b) − softplus(−a); likewise for the complements
        let one = softplus(b.clone().neg()) + log_p1.clone();
        let zero = softplus(b.clone()) + log_p0.clone();
        let direct = exp_times(log_p1.clone(), one) + exp_times(log_p0.clone(), zero);
        // logits within 1 of each other: the rewriting, whose terms then stay small
        let delta = b - a;
        let small = delta.clone().abs().lower_equal_elem(1.0);
        let delta = delta.mask_fill(small.clone().bool_not(), 0.0);
        let excess = weighted_exp_excess(log_p1, p0.clone() * delta.clone())
            + weighted_exp_excess(log_p0, (p1 * delta).neg());
        Ok(direct.mask_where(small, log1p(excess)))
    }
}
