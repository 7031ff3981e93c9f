//! Distributions: the [`Distribution`] trait, the [`Reparameterized`] trait for the families
//! with a pathwise sample, and one file per family.
//!
//! # Shapes
//!
//! A distribution is a *batch* of distributions whose parameters are tensors of rank `D`.
//! Parameters broadcast against each other like PyTorch's (for equal ranks: along each axis the
//! sizes agree or one of them is 1), and their broadcast is the shape of a sample, the
//! [`Distribution::value_shape`]. For element-wise families (Normal, Gumbel, ...) every element
//! is its own distribution; for families with an event axis (a Categorical's classes, a
//! multivariate normal's coordinates) the event axis is the last.
//!
//! Log-densities and entropies keep the rank: an event axis is reduced to size 1, as Burn's
//! reductions do. A Categorical over logits `[B, K]` has samples `[B, 1]` (class indices) and
//! `log_prob` of shape `[B, 1]`.
//!
//! The estimators treat axis 0 as the *row* axis: one row is one batch element, and
//! everything else in the row is the event the cost function sees. With `n` samples per batch
//! element, a batch of `B` rows becomes `n·B` rows, sample-major ([`Distribution::replicate`]):
//! reshaping to `[n, B, ...]` separates the samples. [`replicate_rows`] lays data out the same
//! way, and [`sum_per_row`] adds up a row's elements (element-wise log-densities into the
//! log-density of the row's event).
//!
//! # Randomness
//!
//! Every draw takes a [`NoiseSource`] the caller owns. Reparameterized families split the draw
//! from the transform: [`Reparameterized::draw_noise`] draws ε from a standard law and
//! [`Reparameterized::rsample_with_noise`] maps a given ε to a differentiable sample.
//!
//! # Valid ranges
//!
//! Every validated constructor (`new`, `from_logits`, ...) either guarantees finite samples
//! and finite log-densities at them for everything it accepts, or returns
//! [`Error::InvalidParameter`](crate::Error::InvalidParameter). The guarantee rests on the
//! bounds of the noise ([`StandardNoise::bounds`]: no draw exceeds 104 in magnitude). The
//! `_unchecked` constructors skip the value checks; outside the ranges below they give what
//! `f32` arithmetic gives.
//!
//! | family | valid parameters |
//! |---|---|
//! | Normal, Laplace, Logistic, Gumbel | `loc` finite; `scale` in `[f32::MIN_POSITIVE, 1e19]` (a log-scale in `[−87.3, 43.7]`) |
//! | LogNormal | `loc` finite, `scale ≥ 1e-20`, `|loc| + 13.708·scale ≤ 87`, `loc + scale²/2 ≤ 87` (samples `exp(loc + scale·ε)` and the mean stay normal `f32` numbers) |
//! | MultivariateNormal | `loc` finite; `scale_tril` lower triangular, entries at most 1e19 in magnitude, diagonal in `[f32::MIN_POSITIVE, 1e19]` |
//! | Exponential | `rate` in `[1e-19, f32::MAX]` (the scale `1/rate` at most 1e19) |
//! | Uniform | `low < high`, both finite, `high − low` finite and at least `f32::MIN_POSITIVE` |
//! | Bernoulli, RelaxedBernoulli | logits finite (any finite value); probabilities in `[0, 1]` |
//! | Categorical, OneHotCategorical, RelaxedOneHotCategorical | logits free of NaN and `+∞`, a finite logit in every row (`−∞` marks an impossible class) |
//! | the relaxed families | temperature finite and `> 0` |
//!
//! Outside its support a value has log-density `−∞` in every family (a class index outside
//! `0..K`, a vector that is not one-hot, a Bernoulli value other than 0 and 1, a negative
//! exponential value, ...); no `log_prob` panics on a value of the right shape.
//!
//! Closed forms (log-densities, entropies, KL divergences) are computed so that their
//! intermediates stay finite: they return `±∞` only where the exact value is beyond `f32`.

use burn::prelude::*;

use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};

mod bernoulli;
mod beta;
mod categorical;
mod chi2;
mod dirichlet;
mod exponential;
mod gamma;
mod gumbel;
mod implicit;
pub(crate) mod internal;
mod laplace;
mod loc_scale;
mod log_normal;
mod logistic;
mod multivariate_normal;
mod normal;
mod one_hot_categorical;
mod relaxable;
mod relaxed_bernoulli;
mod relaxed_one_hot_categorical;
mod rows;
mod student_t;
mod uniform;
mod von_mises;

pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use categorical::Categorical;
pub use chi2::Chi2;
pub use dirichlet::Dirichlet;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use gumbel::Gumbel;
pub use internal::{SUPPORT_LIMIT, one_hot};
pub use laplace::Laplace;
pub use log_normal::LogNormal;
pub use logistic::Logistic;
pub use multivariate_normal::MultivariateNormal;
pub use normal::Normal;
pub use one_hot_categorical::OneHotCategorical;
pub use relaxable::Relaxable;
pub use relaxed_bernoulli::RelaxedBernoulli;
pub use relaxed_one_hot_categorical::RelaxedOneHotCategorical;
pub use rows::{replicate_rows, sum_per_row};
pub use student_t::StudentT;
pub use uniform::Uniform;
pub use von_mises::VonMises;

/// A batch of probability distributions with tensor parameters of rank `D`.
///
/// `sample` draws without a gradient; [`Reparameterized`] families add `rsample`, a sample
/// that is a differentiable function of the parameters. Closed-form entropies and means are
/// the separate traits [`Entropy`] and [`Mean`].
///
/// # Shapes
///
/// See [the module documentation](self#shapes): samples have [`value_shape`](Self::value_shape)
/// `[R, ...]`, log-densities the same rank with any event axis reduced to 1.
///
/// # Examples
///
/// Code written against the trait works for every family:
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Bernoulli, Distribution, Normal};
///
/// /// The mean log-density of a family at its own samples: a Monte Carlo estimate of −entropy.
/// fn mean_log_density<P: Distribution<2>>(p: &P, n: usize) -> mcgrad::Result<f32> {
///     let draws = p.replicate(n);
///     let x = draws.sample(&mut NoiseSource::seed_from_u64(0));
///     Ok(draws.log_prob(&x)?.mean().into_scalar())
/// }
///
/// let device = Device::flex();
/// let normal = Normal::new(Tensor::<2>::zeros([1, 1], &device), Tensor::<2>::ones([1, 1], &device))?;
/// let coin = Bernoulli::from_logits(Tensor::<2>::zeros([1, 1], &device))?;
/// // −H(N(0, 1)) = −1.419, −H(fair coin) = −ln 2
/// assert!((mean_log_density(&normal, 100_000)? + 1.419).abs() < 0.02);
/// assert!((mean_log_density(&coin, 10)? + 2f32.ln()).abs() < 1e-6);
/// assert_eq!(normal.batch_shape(), vec![1, 1]);
/// assert!(normal.event_shape().is_empty());
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Distribution<const D: usize> {
    /// What a sample is: a float tensor for continuous and relaxed families, an integer
    /// tensor of class indices for a Categorical.
    type Value: Clone;

    /// The family's name, as errors quote it.
    const NAME: &'static str;

    /// The shape of one sample of the whole batch.
    fn value_shape(&self) -> [usize; D];

    /// The batch shape: the value shape without the event axes. By default (element-wise
    /// families) the whole value shape.
    fn batch_shape(&self) -> Vec<usize> {
        self.value_shape().to_vec()
    }

    /// The shape of one event: `[]` for element-wise families (the default), `[K]` for a
    /// vector-valued one.
    fn event_shape(&self) -> Vec<usize> {
        Vec::new()
    }

    /// The device the parameters live on.
    fn device(&self) -> Device;

    /// A sample of the whole batch, carrying no gradient.
    fn sample(&self, noise: &mut NoiseSource) -> Self::Value;

    /// The log-density (or log-mass) of `value`, with event axes reduced to size 1. A value
    /// outside the support has log-density −∞ (never a panic).
    ///
    /// Values broadcast against the batch as in PyTorch: a `[5, 1]` value under a `[1, 1]`
    /// distribution gives five log-densities. (Categorical families take values of exactly the
    /// value shape.)
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `value` and the batch do not
    /// broadcast.
    fn log_prob(&self, value: &Self::Value) -> Result<Tensor<D>>;

    /// The batch repeated `n` times along axis 0, sample-major: row `i·B + b` of the result is
    /// row `b` of `self`. The estimators use it to draw `n` samples per batch element.
    fn replicate(&self, n: usize) -> Self
    where
        Self: Sized;

    /// The number of rows (the size of axis 0 of a sample).
    fn rows(&self) -> usize {
        self.value_shape()[0]
    }
}

/// The entropy `H = −E[ln p(x)]` in closed form. Families without one (the relaxed
/// Concrete distributions) do not implement it, so asking is a compile error.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Categorical, Entropy};
///
/// let c = Categorical::from_logits(Tensor::<2>::zeros([1, 4], &Device::flex()))?;
/// // the uniform law on 4 classes: ln 4
/// let h: f32 = c.entropy().into_scalar();
/// assert!((h - 4f32.ln()).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Entropy<const D: usize>: Distribution<D> {
    /// The entropy of each distribution in the batch, shaped like `log_prob`.
    fn entropy(&self) -> Tensor<D>;
}

/// The mean `E[x]` in closed form.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Exponential, Mean};
///
/// let d = Exponential::new(Tensor::<1>::from_floats([4.0], &Device::flex()))?;
/// assert_eq!(d.mean().into_scalar::<f32>(), 0.25);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait Mean<const D: usize>: Distribution<D> {
    /// The mean, of the value shape (for a Categorical over class indices: the expected
    /// index).
    fn mean(&self) -> Tensor<D>;
}

/// A discrete distribution whose support can be listed: the ground truth of exact
/// expectations by enumeration ([`exact_expectation`](crate::estimators::exact_expectation)).
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Bernoulli, Distribution, EnumerableSupport, sum_per_row};
///
/// let b = Bernoulli::from_probs(Tensor::<2>::from_floats([[0.3, 0.6]], &Device::flex()))?;
/// let (support, count) = b.enumerate_support()?;
/// assert_eq!(count, 4);
/// // the masses of the four points add up to one
/// let p = sum_per_row(b.replicate(count).log_prob(&support)?).exp();
/// assert!((p.sum().into_scalar::<f32>() - 1.0).abs() < 1e-6);
/// # Ok::<(), mcgrad::Error>(())
/// ```
pub trait EnumerableSupport<const D: usize>: Distribution<D> {
    /// Every point of the joint support of one row, for all rows, sample-major: `count·B`
    /// rows with point `j` of row `b` at row `j·B + b`; and `count`.
    ///
    /// # Errors
    ///
    /// [`Error::SupportTooLarge`](crate::Error::SupportTooLarge) beyond [`SUPPORT_LIMIT`]
    /// points per row.
    fn enumerate_support(&self) -> Result<(Self::Value, usize)>;
}

/// A distribution whose samples are a differentiable transform of parameter-free noise,
/// `z = g_θ(ε)`, so that `∇θ E[f(z)] = E[∇θ f(g_θ(ε))]` (the pathwise, or
/// reparameterization, gradient).
///
/// A pathwise estimator requires this trait: it does not compile on a distribution without
/// it.
///
/// # Explicit and implicit reparameterization
///
/// For location-scale families `g_θ` is a closed form (`μ + σε`). For the families whose
/// samplers use rejection (Gamma, Beta, Dirichlet, Chi2, Student-t, von Mises), `g_θ` is the
/// quantile function at uniform noise, `z = F⁻¹(u; θ)`, and its derivative comes from the
/// implicit-function theorem, `∂z/∂θ = −(∂F(z; θ)/∂θ)/p(z; θ)` (implicit reparameterization,
/// Figurnov et al. 2018). Those families override [`rsample`](Self::rsample) with a faster
/// rejection sampler of the same law and attach the implicit derivative, which depends on the
/// sample and θ only (for the Student-t's degrees of freedom, on the gamma of its construction):
/// `rsample` and `rsample_with_noise(draw_noise(..))` draw the same law and give unbiased
/// pathwise gradients; they differ in which noise a seed produces. The noise of a family that
/// combines several gammas (Beta, Student-t) is wider than a sample
/// ([`noise_shape`](Self::noise_shape)).
///
/// Unrelated to Burn's `burn::module::Reparameterization`, which transforms the stored weights
/// of a module (a LoRA adapter, say): this trait is about the *samples* of a distribution, the
/// "reparameterization trick" of Kingma & Welling (2014).
///
/// # Examples
///
/// A sample as a differentiable function of the parameters, with fixed noise:
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::{Laplace, Reparameterized};
///
/// let device = Device::flex().autodiff();
/// let loc = Tensor::<1>::from_floats([1.0], &device).require_grad();
/// let scale = Tensor::<1>::from_floats([2.0], &device).require_grad();
/// let d = Laplace::new(loc.clone(), scale.clone())?;
/// let x = d.rsample_with_noise(Tensor::<1>::from_floats([-0.5], &device))?;
/// assert_eq!(x.clone().into_scalar::<f32>(), 0.0); // 1 + 2·(−0.5)
/// let grads = x.backward();
/// // ∂x/∂scale = ε
/// assert_eq!(scale.grad(&grads).unwrap().into_scalar::<f32>(), -0.5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// ```compile_fail
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::Categorical;
/// use mcgrad::estimators::{Estimator, Pathwise};
///
/// let device = Device::flex();
/// let c = Categorical::from_logits(Tensor::<2>::zeros([1, 3], &device)).unwrap();
/// // error: `Categorical<2>` does not implement `Reparameterized<2>`
/// let _ = Pathwise.estimate(&c, 1, &mut NoiseSource::seed_from_u64(0), |z| z.float().reshape([1]));
/// ```
pub trait Reparameterized<const D: usize>: Distribution<D, Value = Tensor<D>> {
    /// The standard law of ε.
    const NOISE: StandardNoise;

    /// The differentiable map `g_θ(ε)`. `eps` must have the [noise shape](Self::noise_shape);
    /// this is not checked (use [`rsample_with_noise`](Self::rsample_with_noise) for a checked
    /// call).
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D>;

    /// The shape of ε for one sample of the batch: the value shape, unless the family
    /// combines several draws per value (a Beta's two gammas: the last axis doubled).
    fn noise_shape(&self) -> [usize; D] {
        self.value_shape()
    }

    /// Draws ε for one sample of the batch: the [noise shape](Self::noise_shape), from
    /// [`Self::NOISE`].
    fn draw_noise(&self, noise: &mut NoiseSource) -> Tensor<D> {
        noise.tensor(Self::NOISE, self.noise_shape(), &self.device())
    }

    /// The differentiable sample `g_θ(ε)` for a given ε (fixed noise for tests, or noise the
    /// caller drew).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `eps` does not have the
    /// [noise shape](Self::noise_shape).
    fn rsample_with_noise(&self, eps: Tensor<D>) -> Result<Tensor<D>> {
        internal::expect_shape("rsample_with_noise", &eps.dims(), &self.noise_shape())?;
        Ok(self.transform_noise(eps))
    }

    /// A differentiable sample of the whole batch.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.transform_noise(self.draw_noise(noise))
    }
}
