//! The Gumbel-softmax (Concrete) estimator and its straight-through variant.

use burn::prelude::*;

use super::straight_through::straight_through;
use super::{Estimate, Estimator, through_draws};
use crate::distributions::internal;
use crate::distributions::one_hot;
use crate::distributions::{Relaxable, RelaxedOneHotCategorical, Reparameterized};
use crate::error::Result;
use crate::rng::NoiseSource;

/// The Gumbel-softmax estimator (Jang et al. 2017; the Concrete estimator of Maddison et al.
/// 2017): replace the discrete sample by its Concrete relaxation at temperature τ and
/// differentiate through it, `y = softmax((ℓ + g)/τ)` (or `σ((ℓ + L)/τ)` for a Bernoulli).
/// With `hard`, the forward pass uses the hard sample the relaxed one rounds to, the backward
/// pass the relaxed one (straight-through Gumbel-softmax, Jang et al. 2017 §2.2).
///
/// Surrogate: `(1/n) Σ_i f(y_i)` (soft), or `(1/n) Σ_i f(straight_through(hard(y_i), y_i))`.
///
/// - Bias: biased for every τ > 0: it differentiates the relaxed objective `E[f(y)]`, not
///   `E[f(x)]`. The bias shrinks as τ → 0 for smooth `f` (tests/discrete_bias.rs measures
///   it).
/// - Variance: grows as τ → 0 (roughly as 1/τ): anneal τ with a
///   [`TemperatureSchedule`](crate::schedule::TemperatureSchedule).
/// - Requirements: a [`Relaxable`] family; `f` defined and differentiable on the relaxed
///   values (the simplex or (0, 1)), not only at the vertices.
///
/// # Shapes
///
/// As every estimator: `f` receives the relaxed (or straight-through) one-hot draws, `n·B`
/// rows of the family's float encoding (`[n·B, ..., K]` for the categorical families, the
/// value shape for a Bernoulli), and returns `[n·B]`; the surrogate is `[B]`.
///
/// # Examples
///
/// The estimator is biased, and the testing kit shows it: for `f(x) = w·x` on three classes,
/// the exact gradient comes from enumerating the classes, and 20 000 single-draw estimates at
/// τ = 1 fail the unbiasedness z-test; at τ = 0.1 the bias is far smaller.
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::OneHotCategorical;
/// use mcgrad::estimators::{Estimator, GumbelSoftmax, exact_expectation};
/// use mcgrad::testing::{GradientCheck, exact_gradient};
///
/// let device = Device::flex();
/// let theta = [1.0, 0.0, -1.0];
/// let w = Tensor::<2>::from_floats([[1.0], [2.0], [3.0]], &device.clone().autodiff());
/// let cost = |y: Tensor<2>| {
///     let [rows, _] = y.dims();
///     y.matmul(w.clone()).reshape([rows])
/// };
/// // ∇θ E[w·x] by enumeration: p_j (w_j − p·w)
/// let exact = exact_gradient(&device, &theta, |t| {
///     exact_expectation(&OneHotCategorical::from_logits_unchecked(t)?, cost)
/// })?;
/// let estimates = |tau: f64| {
///     GradientCheck::new(20_000).seed(1).run(&device, &theta, |t, noise| {
///         let q = OneHotCategorical::from_logits_unchecked(t)?;
///         Ok(GumbelSoftmax::new(tau)?.estimate(&q, 1, noise, cost)?.surrogate)
///     })
/// };
/// let warm = estimates(1.0)?.unbiasedness(&exact, 1e-6)?;
/// assert!(!warm.passed(), "the bias at τ = 1 is flagged:\n{warm}");
/// let cold = estimates(0.1)?.unbiasedness(&exact, 1e-6)?;
/// let bias = |r: &mcgrad::testing::UnbiasednessReport| {
///     r.parameters.iter().map(|p| (p.mean - p.exact).abs()).fold(0.0, f64::max)
/// };
/// assert!(bias(&cold) < bias(&warm) / 2.0, "{cold}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Jang, Gu & Poole, *Categorical Reparameterization with Gumbel-Softmax*, ICLR 2017;
/// Maddison, Mnih & Teh, *The Concrete Distribution*, ICLR 2017.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GumbelSoftmax {
    temperature: f64,
    hard: bool,
}

impl GumbelSoftmax {
    /// The soft estimator at temperature τ.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a temperature that is
    /// not finite and positive.
    pub fn new(temperature: f64) -> Result<Self> {
        internal::temperature("GumbelSoftmax", temperature)?;
        Ok(Self {
            temperature,
            hard: false,
        })
    }

    /// The straight-through variant: hard forward, relaxed backward.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn straight_through(temperature: f64) -> Result<Self> {
        Ok(Self {
            hard: true,
            ..Self::new(temperature)?
        })
    }

    /// The temperature τ.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Whether the forward pass is hard (straight-through).
    pub fn is_hard(&self) -> bool {
        self.hard
    }

    /// One draw per row of `dist`: the relaxed sample, or its straight-through hard version.
    fn draw<const D: usize, P: Relaxable<D>>(
        &self,
        dist: &P,
        noise: &mut NoiseSource,
    ) -> Result<Tensor<D>> {
        let soft = dist.relax(self.temperature)?.rsample(noise);
        Ok(if self.hard {
            straight_through(dist.harden(soft.clone()), soft)
        } else {
            soft
        })
    }
}

impl<const D: usize, P: Relaxable<D>> Estimator<D, P> for GumbelSoftmax {
    type Sample = Tensor<D>;

    fn estimate<F>(
        &mut self,
        dist: &P,
        n: usize,
        noise: &mut NoiseSource,
        f: F,
    ) -> Result<Estimate<Tensor<D>>>
    where
        F: FnOnce(Tensor<D>) -> Tensor<1>,
    {
        through_draws(dist, n, f, |draws| self.draw(draws, noise))
    }
}

/// The Gumbel-softmax sample for logits (classes on the last axis): `softmax((ℓ + g)/τ)`, or
/// with `hard` its one-hot rounding with the relaxed gradient. PyTorch's
/// `F.gumbel_softmax(logits, tau, hard)`, with the noise passed in.
///
/// Raw logits of any finite magnitude and any finite τ > 0 are fine: the sample is shift
/// invariant in the logits and computed so (see [`RelaxedOneHotCategorical`]), so it is never
/// NaN, nor is its gradient, where `(ℓ + g)/τ` would leave `f32`.
///
/// # Shapes
///
/// Logits `[..., K]` → a sample `[..., K]`.
///
/// # Errors
///
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a bad temperature,
/// [`Error::EmptyCategories`](crate::Error::EmptyCategories) for an empty class axis.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::estimators::gumbel_softmax;
///
/// let device = Device::flex();
/// let logits = Tensor::<3>::zeros([2, 4, 5], &device);
/// let y = gumbel_softmax(logits, 0.1, true, &mut NoiseSource::seed_from_u64(0))?;
/// // exactly one-hot along the last axis
/// let sums = y.sum_dim(2).try_into_vec_as::<f32>().unwrap();
/// assert!(sums.iter().all(|&s| s == 1.0));
/// // logits far beyond f32 once divided by τ: a one-hot sample, not NaN
/// let huge = Tensor::<2>::from_floats([[1e30, -1e30, 0.0]], &device);
/// let y = gumbel_softmax(huge, 1e-20, false, &mut NoiseSource::seed_from_u64(0))?;
/// assert_eq!(y.try_into_vec_as::<f32>().unwrap(), vec![1.0, 0.0, 0.0]);
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Jang, Gu & Poole, *Categorical Reparameterization with Gumbel-Softmax*, ICLR 2017, §2
/// (and §2.2 for the straight-through variant); PyTorch's `torch.nn.functional.gumbel_softmax`
/// for the interface.
pub fn gumbel_softmax<const D: usize>(
    logits: Tensor<D>,
    temperature: f64,
    hard: bool,
    noise: &mut NoiseSource,
) -> Result<Tensor<D>> {
    // the relaxation is invariant to a shift of the logits, and computes so where it matters
    let k = logits.dims()[D - 1];
    let soft = RelaxedOneHotCategorical::new_unchecked(logits, temperature)?.rsample(noise);
    Ok(if hard {
        straight_through(one_hot(soft.clone().argmax(D - 1), k), soft)
    } else {
        soft
    })
}
