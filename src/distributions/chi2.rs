//! The chi-square distribution, a Gamma with half-integer or real shape.

use burn::prelude::*;

use super::implicit::{CONCENTRATION_MAX, CONCENTRATION_MIN};
use super::{Distribution, Entropy, Gamma, Mean, Reparameterized, internal};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};

/// The chi-square distribution with `k > 0` degrees of freedom (real, not only integer), one
/// per element of the batch: `Chi2(k) = Gamma(k/2, rate ½)`.
///
/// Density (x > 0): `p(x) = x^{k/2 − 1} e^{−x/2} / (2^{k/2} Γ(k/2))`. Mean `k`, variance `2k`,
/// entropy `k/2 + ln 2 + ln Γ(k/2) + (1 − k/2) ψ(k/2)`.
///
/// # Sampler and implicit gradient
///
/// Those of the [`Gamma`] it wraps: Marsaglia–Tsang draws with
/// `∂x/∂k = ∂G/∂α` at `α = k/2` (`x = 2G`, `∂α/∂k = ½`), computed by the implicit-function
/// theorem; the quantile transform for [`rsample_with_noise`](Reparameterized::rsample_with_noise).
///
/// # Valid range
///
/// Checked by [`new`](Self::new): `df` in `[2e-18, 2e19]`, i.e. the Gamma concentration `k/2`
/// in its range `[1e-18, 1e19]` (the rate ½ is always in range); the guarantees are the
/// [Gamma's](Gamma#valid-range): finite samples, log-densities, gradients, mean, variance and
/// entropy for everything accepted.
///
/// # Shapes
///
/// The value shape is the shape of `df`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Chi2, Reparameterized};
///
/// let device = Device::flex().autodiff();
/// let k = Tensor::<2>::from_floats([[3.0]], &device).require_grad();
/// let chi2 = Chi2::new(k.clone().expand([20_000, 1]))?;
/// let x = chi2.rsample(&mut NoiseSource::seed_from_u64(9));
/// // E[x] = k, so ∂E[x]/∂k = 1
/// let g: f32 = k.grad(&x.mean().backward()).unwrap().into_scalar();
/// assert!((g - 1.0).abs() < 0.03, "{g}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Marsaglia & Tsang, *A simple method for generating gamma variables*, ACM TOMS 26(3), 2000
/// (the sampler of the underlying Gamma); Figurnov, Mohamed & Mnih, *Implicit
/// reparameterization gradients*, NeurIPS 2018 (the gradient).
#[derive(Debug, Clone)]
pub struct Chi2<const D: usize> {
    df: Tensor<D>,
    gamma: Gamma<D>,
}

impl<const D: usize> Chi2<D> {
    /// The chi-square distribution with `df` degrees of freedom.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every `df` is finite
    /// and in `[2e-18, 2e19]`, the [valid range](Self#valid-range) (a device sync).
    pub fn new(df: Tensor<D>) -> Result<Self> {
        internal::in_range(
            Self::NAME,
            "df",
            &df,
            (2.0 * CONCENTRATION_MIN, 2.0 * CONCENTRATION_MAX),
            "finite and in [2e-18, 2e19] (twice the Gamma concentration range)",
        )?;
        Self::new_unchecked(df)
    }

    /// Without the value check (no device sync); a sample at a bad `df` is NaN.
    ///
    /// # Errors
    ///
    /// None for Chi2; every `_unchecked` constructor returns a `Result` (the crate's one rule).
    pub fn new_unchecked(df: Tensor<D>) -> Result<Self> {
        let half = df.clone().mul_scalar(0.5);
        let rate = half.zeros_like().add_scalar(0.5);
        Ok(Self {
            gamma: Gamma::new_unchecked(half, rate)?,
            df,
        })
    }

    /// The degrees of freedom k.
    pub fn df(&self) -> &Tensor<D> {
        &self.df
    }

    /// The variance `2k`.
    pub fn variance(&self) -> Tensor<D> {
        self.df.clone().mul_scalar(2.0)
    }
}

impl<const D: usize> Distribution<D> for Chi2<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Chi2";

    fn value_shape(&self) -> [usize; D] {
        self.gamma.value_shape()
    }

    fn device(&self) -> Device {
        self.df.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.gamma.sample(noise)
    }

    /// The Gamma(k/2, ½) log-density.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        self.gamma.log_prob(value)
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            df: internal::replicate(&self.df, n, self.df.dims()[0]),
            gamma: self.gamma.replicate(n),
        }
    }
}

impl<const D: usize> Entropy<D> for Chi2<D> {
    fn entropy(&self) -> Tensor<D> {
        self.gamma.entropy()
    }
}

impl<const D: usize> Mean<D> for Chi2<D> {
    /// `k`.
    fn mean(&self) -> Tensor<D> {
        self.df.clone()
    }
}

impl<const D: usize> Reparameterized<D> for Chi2<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// The quantile transform of uniform noise, with the implicit gradient.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.gamma.transform_noise(eps)
    }

    /// A Marsaglia–Tsang draw with the implicit gradient.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.gamma.rsample(noise)
    }
}
