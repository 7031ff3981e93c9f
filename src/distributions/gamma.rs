//! The Gamma distribution, with implicit reparameterization gradients; and the
//! Marsaglia–Tsang sampler the Beta, Dirichlet, Chi2 and Student-t families share.

use burn::prelude::*;
use rand_distr::{Distribution as _, StandardNormal};

use super::implicit::{
    self, BlockRng, Source, attach, column, draw_blocks, host_values, ln_positive, map_units,
    open_uniform, to_device, tracked, uniform_noise, xlogy,
};
use super::{Distribution, Entropy, Mean, Reparameterized, internal};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::gamma::{
    growth_remainders, ln_gamma_tensor, relative_entropy_series, remainder_bregman, x_minus_log1p,
};
use crate::special::incomplete_gamma::{gamma_elasticity_excess_at, gamma_ln_quantile_ratio};

/// The smallest rate of a validated Gamma (and the smallest `β/√α`): the scale `1/β` and the
/// standard deviation `√α/β` are at most 1e18, so that the pathwise derivative `∂x/∂β = −x/β`
/// of every sample is finite too.
const RATE_MIN: f32 = 1e-18;

/// Where the Gamma log-density uses `s = βx/α − 1`: `ln(βx/α)` in `(−0.7, 7)`; logarithms
/// outside.
const RATIO_LN_BOUNDS: (f32, f32) = (-0.7, 7.0);

/// The requirement string of a Gamma rate.
const RATE_RANGE: &str = "finite, in [1e-18, f32::MAX] and at least sqrt(concentration)·1e-18 (scale 1/rate and standard deviation sqrt(concentration)/rate at most 1e18)";

/// The Gamma distribution with concentration (shape) α > 0 and rate β > 0, one per element of
/// the batch.
///
/// Density (x > 0): `p(x) = β^α x^{α−1} e^{−βx} / Γ(α)`.
///
/// Mean `α/β`, variance `α/β²`, entropy `α − ln β + ln Γ(α) + (1 − α) ψ(α)`.
///
/// # Sampler
///
/// [`rsample`](Reparameterized::rsample) draws on the host, in `f64`, with Marsaglia & Tsang's
/// squeeze-and-reject method (α ≥ 1: `x = d(1 + cε)³`, `d = α − ⅓`, `c = 1/√(9d)`, `ε ~ N(0, 1)`,
/// accepted with probability ≥ 0.95) and the boost `G(α) = G(α + 1)·U^{1/α}` for α < 1, kept in
/// logarithms so that the tiny values of small concentrations do not underflow. Noise comes from
/// the caller's [`NoiseSource`]: the same seed gives the same samples on every thread count.
/// [`rsample_with_noise`](Reparameterized::rsample_with_noise) is the quantile transform of
/// uniform noise instead (Newton's method on the regularized incomplete gamma function), the
/// same law and the same gradient.
///
/// # Implicit gradient
///
/// `x = G/β` with `G ~ Gamma(α, 1)`: `∂x/∂β = −x/β`, and
/// `∂G/∂α = −(∂P(α, G)/∂α)/p(G; α)` by the implicit-function theorem (Figurnov et al. 2018,
/// eq. 3), computed in `f64` by a series, a continued fraction or Temme's uniform asymptotic
/// expansion (see `special/incomplete_gamma.rs`): within `1e-5` relative of a high-precision
/// reference for α from `1e-3` to `1e4` over the bulk of `x` (measured: at most
/// 1.9e-7 over α ∈ [1e-3, 1e4] and quantile levels 1e-6 to 1 − 1e-6; docs/RESULTS.md,
/// "Implicit gradients: accuracy", and tests/implicit_gradients.rs). The sample is attached to the
/// parameters as `x_c + (α − sg α)·∂x/∂α + (β − sg β)·∂x/∂β` (exactly `x_c` forward), so Burn's
/// autodiff carries the gradient on every device.
///
/// # Small concentrations
///
/// Samples are `f32`: for α = 0.01 about 42% of Gamma(α, 1) draws are below the smallest
/// normal `f32`, `1.2e-38`, and are returned as that value (their gradient as computed, i.e.
/// about 0). [`log_rsample`](Self::log_rsample) returns `ln x` instead, exact for every
/// concentration: use it for costs of `ln x` (a Dirichlet's log-probabilities, a sparse prior).
///
/// # Valid range
///
/// Checked by [`new`](Self::new): concentration α in `[1e-18, 1e19]`, rate β in
/// `[1e-18, f32::MAX]` with `√α/β ≤ 1e18` (the scale `1/β` and the standard deviation `√α/β`
/// at most 1e18). For everything it accepts, every sample is a finite positive `f32` (about
/// `α/β + 20√α/β + 40/β` at most, below 1e28; a draw below `1.2e-38` is returned as
/// `1.2e-38`), and so are the log-density at it, the derivatives `∂x/∂α` and
/// `∂x/∂β = −x/β` (below `6.1e37`), `ln x` from [`log_rsample`](Self::log_rsample) and its
/// implicit derivative (`|∂ln x/∂α| ≲ 37/α² ≤ 3.7e37`), the mean (`≤ 3.2e27`), the variance
/// (`≤ 1e36`) and the entropy. Below α = 1e-18 a draw is below the `f32` range with
/// probability `1 − 1e-16` and the implicit derivative of `ln x` overflows; above 1e19 the
/// `f32` grid of samples is coarser than the standard deviation by a factor of 200 or more.
/// [`new_unchecked`](Self::new_unchecked) accepts any positive parameters without these
/// guarantees.
///
/// # Shapes
///
/// `concentration` and `rate` broadcast against each other; their broadcast is the value
/// shape, and `log_prob`, `entropy` and `mean` have it too.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Gamma, Reparameterized};
///
/// let device = Device::flex().autodiff();
/// let alpha = Tensor::<2>::from_floats([[2.5]], &device).require_grad();
/// let gamma = Gamma::new(alpha.clone().expand([20_000, 1]), Tensor::<2>::ones([1, 1], &device))?;
/// let z = gamma.rsample(&mut NoiseSource::seed_from_u64(3));
/// // ∂E[z]/∂α = 1 at rate 1: the mean implicit gradient is 1
/// let g: f32 = alpha.grad(&z.mean().backward()).unwrap().into_scalar();
/// assert!((g - 1.0).abs() < 0.02, "{g}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Marsaglia & Tsang, *A simple method for generating gamma variables*, ACM TOMS 26(3), 2000;
/// Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS 2018;
/// Jankowiak & Obermeyer, *Pathwise derivatives beyond the reparameterization trick*, ICML
/// 2018; Temme, *The asymptotic expansion of the incomplete gamma functions*, SIAM J. Math.
/// Anal. 10, 1979 (DLMF §8.12).
#[derive(Debug, Clone)]
pub struct Gamma<const D: usize> {
    concentration: Tensor<D>,
    rate: Tensor<D>,
    shape: [usize; D],
}

impl<const D: usize> Gamma<D> {
    /// The Gamma distribution with concentration α and rate β.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) outside the
    /// [valid range](Self#valid-range): a concentration outside `[1e-18, 1e19]`, a rate outside
    /// `[1e-18, f32::MAX]` or below `√α·1e-18`, NaN or infinity (a device sync each);
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new(concentration: Tensor<D>, rate: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(concentration, rate)?;
        implicit::concentration(Self::NAME, "concentration", &out.concentration)?;
        internal::in_range(
            Self::NAME,
            "rate",
            &out.rate,
            (RATE_MIN, f32::MAX),
            RATE_RANGE,
        )?;
        // the standard deviation √α/β at most 1e18 (√α ≤ 1e18·β; β·1e18 → +∞ is simply large)
        let too_spread = out
            .concentration
            .clone()
            .sqrt()
            .greater(out.rate.clone().mul_scalar(1.0 / RATE_MIN));
        internal::reject_if(Self::NAME, "rate", too_spread, RATE_RANGE)?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync). A sample at a
    /// parameter that is not finite and positive is NaN.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(concentration: Tensor<D>, rate: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(Self::NAME, &[concentration.dims(), rate.dims()])?;
        Ok(Self {
            concentration,
            rate,
            shape,
        })
    }

    /// The concentration α.
    pub fn concentration(&self) -> &Tensor<D> {
        &self.concentration
    }

    /// The rate β.
    pub fn rate(&self) -> &Tensor<D> {
        &self.rate
    }

    /// The variance `α/β²`, of the value shape.
    pub fn variance(&self) -> Tensor<D> {
        (self.concentration.clone() / self.rate.clone().square()).expand(self.shape)
    }

    /// The logarithm of a differentiable sample, `ln x`, exact for every concentration (where
    /// `x` itself would underflow `f32`). Its gradient is `∂ln x/∂α = (∂x/∂α)/x` and
    /// `∂ln x/∂β = −1/β`; the draws are those of [`rsample`](Reparameterized::rsample) for the
    /// same noise.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::NoiseSource;
    /// use mcgrad::distributions::{Distribution, Gamma};
    ///
    /// let device = Device::flex();
    /// let g = Gamma::new(Tensor::<2>::full([1, 1], 1e-3, &device), Tensor::<2>::ones([1, 1], &device))?;
    /// // E[ln x] = ψ(α) − ln β ≈ −1000.4 for α = 1e-3: far below the f32 range of x
    /// let ln_x = g.replicate(4000).log_rsample(&mut NoiseSource::seed_from_u64(1));
    /// let mean: f32 = ln_x.mean().into_scalar();
    /// assert!((mean + 1000.4).abs() < 50.0, "{mean}");
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn log_rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), true, true)
    }

    /// [`log_rsample`](Self::log_rsample) for given uniform noise of the value shape: `ln x`
    /// at the quantile `x = F⁻¹(u; α)/β`, with its gradient (the log-space form of
    /// [`rsample_with_noise`](Reparameterized::rsample_with_noise)).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `eps` does not have the value
    /// shape.
    pub fn log_rsample_with_noise(&self, eps: Tensor<D>) -> Result<Tensor<D>> {
        internal::expect_shape("Gamma::log_rsample_with_noise", &eps.dims(), &self.shape)?;
        Ok(self.draw(Source::Uniform(uniform_noise(&eps)), true, true))
    }

    /// The host draw: `x` (or `ln x`), with the implicit gradient attached when asked.
    fn draw(&self, source: Source<'_>, log_space: bool, with_gradient: bool) -> Tensor<D> {
        let shape = self.shape;
        let n: usize = shape.iter().product();
        let device = self.concentration.device();
        let alpha = host_values(&self.concentration, shape);
        let rate = host_values(&self.rate, shape);
        let grad_alpha = with_gradient && tracked(&self.concentration);
        let grad_rate = with_gradient && tracked(&self.rate);
        let element = |i: usize, g: GammaDraw, out: &mut [f64]| {
            let (a, b) = (alpha[i] as f64, rate[i] as f64);
            if !(b > 0.0 && b.is_finite()) || g.m.is_nan() {
                out.fill(f64::NAN);
                return;
            }
            // ∂ln x/∂α = (1 + e)/α
            let dln_a = if grad_alpha {
                (1.0 + g.elasticity_excess()) / a
            } else {
                0.0
            };
            if log_space {
                out[0] = g.ln_value() - b.ln();
                out[1] = dln_a;
                out[2] = -1.0 / b;
            } else {
                let x = g.value() / b;
                out[0] = x.clamp(f32::MIN_POSITIVE as f64, f32::MAX as f64);
                out[1] = x * dln_a;
                out[2] = -x / b;
            }
        };
        let out = match source {
            Source::Noise(noise) => draw_blocks(noise, n, 3, |rng, i, out| {
                element(i, standard_gamma(rng, alpha[i] as f64), out)
            }),
            Source::Uniform(u) => map_units(n, 3, |i, out| {
                let a = alpha[i] as f64;
                let r = gamma_ln_quantile_ratio(a, u[i], 1.0 - u[i]);
                element(i, GammaDraw::from_ln_ratio(a, r), out)
            }),
        };
        let mut x = to_device(column(&out, 3, 0), shape, &device);
        if grad_alpha {
            x = attach(
                x,
                &self.concentration,
                to_device(column(&out, 3, 1), shape, &device),
            );
        }
        if grad_rate {
            x = attach(x, &self.rate, to_device(column(&out, 3, 2), shape, &device));
        }
        x
    }
}

impl<const D: usize> Distribution<D> for Gamma<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Gamma";

    fn value_shape(&self) -> [usize; D] {
        self.shape
    }

    fn device(&self) -> Device {
        self.concentration.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), false, false).detach()
    }

    /// `α ln β + (α − 1) ln x − βx − ln Γ(α)` for `x > 0`, computed as
    /// `−α (r − 1 − ln r) − ln x − R(α)` with `r = βx/α` and `R(α) = ln Γ(α) − α ln α + α`, so
    /// that no term of size `α ln α` appears: for `r ∈ (e^{−0.7}, e⁷)` with `s = r − 1` and the
    /// series of `s − ln(1 + s)` near 0, elsewhere as `α(1 + ln r) − βx` with
    /// `ln r = ln β + ln x − ln α` (no overflow of `βx/α` for a tiny α, no loss of a tiny `r`),
    /// and `ln x` exact for subnormal `x`. Finite over the whole `f32` range where the density
    /// is representable, its gradients too. At `x = 0` the limit (−∞, `ln β` at α = 1, or +∞);
    /// −∞ for `x < 0` and for `x` NaN or infinite (outside the support).
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("Gamma::log_prob", value.dims(), self.shape)?;
        let finite = value.clone().is_finite();
        let below = value
            .clone()
            .lower_elem(0.0)
            .bool_or(finite.clone().bool_not())
            .expand(shape);
        let at_zero = value.clone().equal_elem(0.0).expand(shape);
        let x = value
            .clone()
            .mask_fill(finite.bool_not(), 1.0)
            .clamp_min(0.0);
        let alpha = self.concentration.clone();
        let rate = self.rate.clone();
        let (r, _) = growth_remainders(alpha.clone());
        let ln_x = ln_positive(x.clone());
        // ln(βx/α) from logarithms (βx/α itself overflows for a tiny α and rounds to 0 for a
        // tiny x), decided on constants
        let ln_ratio = rate.clone().log() + ln_x.clone() - alpha.clone().log();
        let ln_r = ln_ratio.clone().detach();
        let moderate = ln_r
            .clone()
            .greater_elem(RATIO_LN_BOUNDS.0)
            .bool_and(ln_r.lower_elem(RATIO_LN_BOUNDS.1))
            .expand(shape);
        // βx/α ∈ (e^{−0.7}, e^{7}): −α φ(r) with s = r − 1 and φ = s − ln(1 + s) by its series
        // near 0 (below r = ½, s = r − 1 would lose the digits of r: φ′ = 1 − 1/r), on x
        // replaced by the mode α/β (s = 0) where it is not used, so that neither branch can
        // send 0·∞ into the gradient
        let mode = (alpha.clone() / rate.clone()).detach().expand(shape);
        let xm = x
            .clone()
            .expand(shape)
            .mask_where(moderate.clone().bool_not(), mode);
        let s = (rate.clone() * xm / alpha.clone()).sub_scalar(1.0);
        let near = alpha.clone().neg() * x_minus_log1p(s);
        // elsewhere −α φ(r) = α(1 + ln r) − βx: no cancellation beyond a factor 3 (at r = ½;
        // −ln r or r dominates further out), no overflow unless the log-density itself leaves
        // f32
        let far = (alpha.clone() * ln_ratio.add_scalar(1.0) - rate * x).expand(shape);
        let lp = (near.expand(shape).mask_where(moderate.bool_not(), far) - ln_x - r).expand(shape);
        // at x = 0: α ln β + (α − 1)·ln 0 − ln Γ(α), a constant
        let (a0, b0) = (
            self.concentration.clone().detach(),
            self.rate.clone().detach(),
        );
        let zeros = a0.zeros_like().expand(shape);
        let boundary = (a0.clone() * b0.log() - ln_gamma_tensor(a0.clone())).expand(shape)
            + xlogy(a0.sub_scalar(1.0), zeros, shape);
        Ok(lp
            .mask_where(at_zero, boundary)
            .mask_fill(below, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            concentration: internal::replicate(&self.concentration, n, self.shape[0]),
            rate: internal::replicate(&self.rate, n, self.shape[0]),
            shape: internal::replicated_shape(self.shape, n),
        }
    }
}

impl<const D: usize> Entropy<D> for Gamma<D> {
    /// `α − ln β + ln Γ(α) + (1 − α) ψ(α)`, computed as `ln(α/β) + R(α) + (1 − α) R′(α)` with
    /// `R(α) = ln Γ(α) − α ln α + α` (the `α ln α` terms cancel analytically; finite for every
    /// `f32` concentration).
    fn entropy(&self) -> Tensor<D> {
        let alpha = self.concentration.clone();
        let (r, dr) = growth_remainders(alpha.clone());
        let h =
            alpha.clone().log() - self.rate.clone().log() + r + alpha.neg().add_scalar(1.0) * dr;
        h.expand(self.shape)
    }
}

impl<const D: usize> Mean<D> for Gamma<D> {
    /// `α/β`.
    fn mean(&self) -> Tensor<D> {
        (self.concentration.clone() / self.rate.clone()).expand(self.shape)
    }
}

impl<const D: usize> Reparameterized<D> for Gamma<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// The quantile transform `x = F⁻¹(u; α)/β` of uniform noise, with the implicit gradient.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.draw(Source::Uniform(uniform_noise(&eps)), false, true)
    }

    /// A Marsaglia–Tsang draw with the implicit gradient.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), false, true)
    }
}

/// `KL(Gamma(α₁, β₁) ‖ Gamma(α₂, β₂)) = (α₁ − α₂)ψ(α₁) − ln Γ(α₁) + ln Γ(α₂)
/// + α₂ ln(β₁/β₂) + α₁(β₂ − β₁)/β₁`, element-wise.
///
/// With `ln Γ(x) = x ln x − x + R(x)`, `t = β₂/β₁` and `m = (α₂/α₁)/t` (the ratio of the means
/// `μ₁/μ₂`), the terms that grow with α collect into one non-negative product:
///
/// `KL = α₁ t φ(m) + R(α₂) − R(α₁) − (α₂ − α₁)R′(α₁)`, `φ(m) = m ln m − m + 1`
///
/// (expand `α₂ ln α₂ − α₁ ln α₁ − (α₂ − α₁)(ln α₁ + 1) + α₂ ln(1/t) + α₁(t − 1)`
/// `= α₁[(1 + d) ln((1 + d)/t) − (1 + d − t)]` with `α₂ = α₁(1 + d)`). `m − 1` is formed as
/// `(d − s)/(1 + s)`, `s = t − 1`, from the two relative differences (each exact to one
/// rounding), and `α₁ t φ(m)` by the series of `φ` near `m = 1`, elsewhere as
/// `α₂(ln m − 1) + α₁ t` (`α₁ t m = α₂`; one term dominates, and `α₁ t = e^{ln α₁ + ln t}`
/// overflows only where the divergence does): two Gammas with large shapes and nearly
/// equal means (`Gamma(1e10, 3)` against `Gamma(1.3e10, 3.9)`) keep their digits, where the
/// separate terms `α₁(t − 1 − ln t)` and `(α₁ − α₂) ln t` cancel to nothing in `f32`. `R` and
/// `R′` stay small (`special/gamma.rs`). Where the exact value exceeds `f32::MAX` the result is
/// `+∞`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Gamma;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// // equal shapes, rates 1 and 2: α(t − 1 − ln t) = 3(1 − ln 2)
/// let kl: f32 = kl_divergence(&Gamma::new(t(3.0), t(1.0))?, &Gamma::new(t(3.0), t(2.0))?)?.into_scalar();
/// assert!((kl - 3.0 * (1.0 - 2f32.ln())).abs() < 1e-5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Gamma<D>> for Gamma<D> {
    fn kl_divergence(&self, q: &Gamma<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast("kl_divergence(Gamma, Gamma)", &[self.shape, q.shape])?;
        let (a1, a2) = (
            self.concentration.clone().expand(shape),
            q.concentration.clone().expand(shape),
        );
        let (b1, b2) = (
            self.rate.clone().expand(shape),
            q.rate.clone().expand(shape),
        );
        // m − 1 = (d − s)/(1 + s), d = (α₂ − α₁)/α₁, s = t − 1
        let relative = |a1: Tensor<D>, a2: Tensor<D>, b1: Tensor<D>, b2: Tensor<D>| {
            let d = (a2 - a1.clone()) / a1;
            let s = (b2 - b1.clone()) / b1;
            (d - s.clone()) / s.add_scalar(1.0)
        };
        // decided on constants (0/0 where both ratios leave f32: then m is far from 1 anyway)
        let near = relative(
            a1.clone().detach(),
            a2.clone().detach(),
            b1.clone().detach(),
            b2.clone().detach(),
        )
        .abs()
        .lower_elem(0.1);
        let ln_t = b2.clone().log() - b1.clone().log();
        let ln_m = a2.clone().log() - a1.clone().log() - ln_t.clone();
        let ln_scale = a1.clone().log() + ln_t;
        // near m = 1: α₁ t φ(m) by the series of φ (α₁ t ≈ α₂ there), on parameters replaced
        // by equal ones where it is not taken, so that neither its value nor its gradient can
        // overflow there (`−α₂/α₁²` of a tiny α₁, say: 0·∞ = NaN through the mask)
        let far = near.clone().bool_not();
        let same = |t: &Tensor<D>| t.clone().mask_fill(far.clone(), 1.0);
        let (a1n, b1n) = (same(&a1), same(&b1));
        let scale_n = a1n.clone() * (b2.clone().mask_fill(far.clone(), 1.0) / b1n.clone());
        let series = scale_n * relative_entropy_series(relative(a1n, same(&a2), b1n, same(&b2)));
        // elsewhere α₁ t φ(m) = α₂(ln m − 1) + α₁ t (α₁ t m = α₂): no cancellation (one term
        // dominates on each side of m = 1), no overflow unless the divergence itself does
        let direct = a2.clone() * ln_m.sub_scalar(1.0) + ln_scale.exp();
        let growth = direct.mask_where(near, series);
        let kl = growth + remainder_bregman(a1, a2);
        Ok(kl.expand(shape))
    }
}

/// A standard Gamma(a, 1) draw `G`, kept in the form that loses no precision: `ratio = G/a`
/// (0 where a tiny concentration underflows it), `m = G/a − 1` (exact also for shapes far
/// beyond `1/ε`, where `ratio` rounds to 1), and `ln(G/a)` when it was produced directly (the
/// boost for `a < 1`, the quantile transform).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GammaDraw {
    a: f64,
    ratio: f64,
    m: f64,
    ln_ratio: Option<f64>,
}

impl GammaDraw {
    /// From `ln(G/a)`.
    pub(crate) fn from_ln_ratio(a: f64, ln_ratio: f64) -> Self {
        Self {
            a,
            ratio: ln_ratio.exp(),
            m: ln_ratio.exp_m1(),
            ln_ratio: Some(ln_ratio),
        }
    }

    /// A NaN draw (for a parameter that is not finite and positive).
    fn nan(a: f64) -> Self {
        Self::from_ln_ratio(a, f64::NAN)
    }

    /// `G/a`.
    #[cfg(test)]
    pub(crate) fn ratio(&self) -> f64 {
        self.ratio
    }

    /// `G` (0 where it underflows `f64`).
    pub(crate) fn value(&self) -> f64 {
        self.a * self.ratio
    }

    /// `ln(G/a)`, exact in every case.
    pub(crate) fn ln_ratio(&self) -> f64 {
        self.ln_ratio.unwrap_or_else(|| self.m.ln_1p())
    }

    /// `ln G`.
    pub(crate) fn ln_value(&self) -> f64 {
        self.a.ln() + self.ln_ratio()
    }

    /// The elasticity excess `e = (a/G)∂G/∂a − 1` of the implicit derivative: `∂G/∂a = G(1 + e)/a`.
    pub(crate) fn elasticity_excess(&self) -> f64 {
        let x = self.value();
        let ln_x = || match self.ln_ratio {
            Some(r) => self.a.ln() + r,
            None => x.ln(),
        };
        gamma_elasticity_excess_at(self.a, x, ln_x, self.m)
    }
}

/// `G ~ Gamma(a, 1)`: Marsaglia–Tsang for `a ≥ 1`, and the boost `G(a) = G(a + 1) U^{1/a}`
/// below, in logarithms (tiny concentrations underflow `G` itself). NaN for `a` not finite and
/// positive.
pub(crate) fn standard_gamma(rng: &mut BlockRng, a: f64) -> GammaDraw {
    if !(a > 0.0 && a.is_finite()) {
        return GammaDraw::nan(a);
    }
    if a < 1.0 {
        let b = a + 1.0;
        let boosted = marsaglia_tsang(rng, b);
        let ln_g = b.ln() + boosted.ln_ratio();
        return GammaDraw::from_ln_ratio(a, ln_g + open_uniform(rng).ln() / a - a.ln());
    }
    marsaglia_tsang(rng, a)
}

/// `w − ln(1 + w)` for `w > −1`, by its series where `|w| < 0.05`.
fn w_minus_log1p(w: f64) -> f64 {
    if w.abs() < 0.05 {
        let mut term = w * w;
        let mut sum = 0.0;
        let mut sign = 1.0;
        for n in 2..20 {
            sum += sign * term / n as f64;
            term *= w;
            sign = -sign;
        }
        sum
    } else {
        w - w.ln_1p()
    }
}

/// Marsaglia & Tsang (2000) for `a ≥ 1`: `G = d(1 + cx)³`, `d = a − ⅓`, `c = 1/√(9d)`,
/// `x ~ N(0, 1)`; with `w = (1 + cx)³ − 1` kept apart, so that the acceptance test and
/// `G/a − 1 = w − (1 + w)/(3a)` stay exact for shapes far beyond `1/ε` (where `1 + cx` rounds to
/// 1). No logarithm is taken unless the squeeze fails.
fn marsaglia_tsang(rng: &mut BlockRng, a: f64) -> GammaDraw {
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x: f64 = StandardNormal.sample(rng);
        let s = c * x;
        if s <= -1.0 {
            continue;
        }
        let w = s * (3.0 + s * (3.0 + s));
        let u = open_uniform(rng);
        let x2 = x * x;
        // squeeze, then the exact test ln u < x²/2 + d(1 − v + ln v), v = 1 + w
        if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 - d * w_minus_log1p(w) {
            return GammaDraw {
                a,
                ratio: (d / a) * (1.0 + w),
                m: w - (1.0 + w) / (3.0 * a),
                ln_ratio: None,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The sample mean and variance of `G/a` against `1` and `1/a`, for the sampler alone
    /// (5 standard errors; the law is tested in tests/implicit_samplers.rs).
    #[test]
    fn sampler_moments() {
        let mut rng = BlockRng::seed_from_u64(5);
        for a in [1e-2, 0.3, 1.0, 4.5, 1e3, 1e12, 1e30] {
            let n = 200_000;
            let draws: Vec<f64> = (0..n)
                .map(|_| standard_gamma(&mut rng, a).ratio())
                .collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            // Var(G/a) = 1/a, Var of the sample variance ≈ (μ₄ − σ⁴)/n, μ₄ = (3a + 6)/a³
            let se_mean = (1.0 / (a * n as f64)).sqrt();
            let se_var = ((3.0 * a + 6.0) / a.powi(3) - 1.0 / (a * a))
                .max(0.0)
                .sqrt()
                / (n as f64).sqrt();
            assert!(
                (mean - 1.0).abs() < 5.0 * se_mean + 1e-15,
                "a = {a}: mean {mean}"
            );
            assert!(
                (var - 1.0 / a).abs() < 5.0 * se_var + 1e-15,
                "a = {a}: var {var}"
            );
        }
        assert!(standard_gamma(&mut rng, f64::NAN).ratio().is_nan());
        assert!(standard_gamma(&mut rng, 0.0).ratio().is_nan());
        assert!(standard_gamma(&mut rng, f64::INFINITY).ratio().is_nan());
    }
}
