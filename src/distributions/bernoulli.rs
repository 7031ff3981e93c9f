//! The Bernoulli distribution.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_sigmoid, sigmoid};

use super::categorical::{base_digits, support_size};
use super::{Distribution, Entropy, EnumerableSupport, Mean, params};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::softplus;

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
        params::finite(Self::NAME, "logits", &logits)?;
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
    /// [`Error::SupportTooLarge`] beyond [`SUPPORT_LIMIT`](super::categorical::SUPPORT_LIMIT)
    /// points.
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
        let rows = dims[0];
        let m: usize = dims[1..].iter().product();
        let count = support_size(Self::NAME, 2, m)?;
        let mut data = Vec::with_capacity(count * rows * m);
        for j in 0..count {
            let bits = base_digits(j, 2, m);
            for _ in 0..rows {
                data.extend(bits.iter().map(|&b| b as f32));
            }
        }
        let mut shape = dims;
        shape[0] = count * rows;
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

    fn batch_shape(&self) -> Vec<usize> {
        self.logits.dims().to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    fn device(&self) -> Device {
        self.logits.device()
    }

    /// `1[ℓ + L > 0]`, exactly 0 or 1.
    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        let l = noise.tensor(StandardNoise::Logistic, self.logits.dims(), &self.device());
        (self.logits.clone().detach() + l).greater_elem(0.0).float()
    }

    /// `xℓ − softplus(ℓ)`. Defined for any real `x` (the continuous extension, as in the
    /// binary cross-entropy); on {0, 1} it is the log-mass.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = params::value_shape("Bernoulli::log_prob", value.dims(), self.logits.dims())?;
        // x·ℓ − softplus(ℓ) = x·ℓ + ln σ(−ℓ): one fused op for the transcendental part
        let lp = value.clone() * self.logits.clone() + log_sigmoid(self.logits.clone().neg());
        Ok(lp.expand(shape))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            logits: self.logits.clone().repeat_dim(0, n),
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
/// with `ln σ(x) = −softplus(−x)`.
impl<const D: usize> KlDivergence<D, Bernoulli<D>> for Bernoulli<D> {
    fn kl_divergence(&self, q: &Bernoulli<D>) -> Result<Tensor<D>> {
        let shape = params::broadcast(
            "kl_divergence(Bernoulli, Bernoulli)",
            &[self.logits.dims(), q.logits.dims()],
        )?;
        let (a, b) = (self.logits.clone(), q.logits.clone());
        let p = sigmoid(a.clone());
        // ln σ(a) − ln σ(b) = softplus(−b) − softplus(−a); likewise for the complements
        let one = softplus(b.clone().neg()) - softplus(a.clone().neg());
        let zero = softplus(b) - softplus(a);
        Ok((p.clone() * one + p.neg().add_scalar(1.0) * zero).expand(shape))
    }
}
