//! The Beta distribution, through two Gammas, with implicit reparameterization gradients.

use burn::prelude::*;

use super::gamma::{GammaDraw, standard_gamma};
use super::implicit::{
    self, Source, attach, column, draw_blocks, host_values, map_units, to_device, tracked,
    uniform_noise, widened, xlogy,
};
use super::{Distribution, Entropy, Mean, Reparameterized, internal};
use crate::error::Result;
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::gamma::{
    growth_remainders, ln_beta_tensor, mixture_growth, remainder_bregman, remainder_bregman_with,
};
use crate::special::incomplete_gamma::gamma_ln_quantile_ratio;

/// The largest `f32` below 1: Beta samples are clamped to `[1.2e-38, 1 − 2⁻²⁴]`.
const BELOW_ONE: f64 = 1.0 - 1.0 / (1u64 << 24) as f64;

/// The Beta distribution on [0, 1] with concentrations `a > 0` and `b > 0`, one per element
/// of the batch.
///
/// Density: `p(x) = x^{a−1} (1 − x)^{b−1} / B(a, b)`. Mean `a/(a + b)`, variance
/// `ab/((a + b)²(a + b + 1))`, entropy
/// `ln B(a, b) − (a − 1)ψ(a) − (b − 1)ψ(b) + (a + b − 2)ψ(a + b)`.
///
/// # Sampler
///
/// `x = G_a/(G_a + G_b)` for independent `G_a ~ Gamma(a, 1)`, `G_b ~ Gamma(b, 1)` drawn by
/// Marsaglia–Tsang (see [`Gamma`](super::Gamma)), combined in logarithms as
/// `x = σ(ln G_a − ln G_b)` so that tiny concentrations (both gammas far below the `f32`
/// range) still give a proper sample. [`rsample_with_noise`](Reparameterized::rsample_with_noise)
/// takes uniform noise with the last axis doubled (`[..., 2K]`: the first `K` columns for
/// `G_a`, the rest for `G_b`) through the Gamma quantile.
///
/// # Implicit gradient
///
/// `∂x/∂a = x(1 − x) ∂ln G_a/∂a` and `∂x/∂b = −x(1 − x) ∂ln G_b/∂b`, with the implicit Gamma
/// derivatives (Figurnov et al. 2018): unbiased for `∇ E[f(x)]`. Samples are `f32`, clamped to
/// `[1.2e-38, 1 − 2⁻²⁴]`.
///
/// # Valid range
///
/// Checked by [`new`](Self::new): `a` and `b` in `[1e-18, 1e19]` (the Gamma concentration
/// range, see [`Gamma`](super::Gamma#valid-range)). For everything it accepts, samples are in
/// `[1.2e-38, 1 − 2⁻²⁴]`, and the log-density at them, its gradients, the implicit gradients
/// of the samples, the mean, the variance and the entropy are finite.
///
/// # Shapes
///
/// `a` and `b` broadcast against each other; their broadcast is the value shape.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Beta, Reparameterized};
///
/// let device = Device::flex().autodiff();
/// let a = Tensor::<2>::from_floats([[2.0]], &device).require_grad();
/// let b = Tensor::<2>::from_floats([[3.0]], &device);
/// let beta = Beta::new(a.clone().expand([20_000, 1]), b)?;
/// let x = beta.rsample(&mut NoiseSource::seed_from_u64(2));
/// // ∂E[x]/∂a = b/(a + b)² = 0.12
/// let g: f32 = a.grad(&x.mean().backward()).unwrap().into_scalar();
/// assert!((g - 0.12).abs() < 0.005, "{g}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS 2018, §3.
#[derive(Debug, Clone)]
pub struct Beta<const D: usize> {
    a: Tensor<D>,
    b: Tensor<D>,
    shape: [usize; D],
}

impl<const D: usize> Beta<D> {
    /// The Beta distribution with concentrations `a` (of 1) and `b` (of 0).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every `a` and `b` is
    /// finite and in `[1e-18, 1e19]`, the [valid range](Self#valid-range) (a device sync each);
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new(a: Tensor<D>, b: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(a, b)?;
        implicit::concentration(Self::NAME, "a", &out.a)?;
        implicit::concentration(Self::NAME, "b", &out.b)?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); a sample at a bad
    /// parameter is NaN.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(a: Tensor<D>, b: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(Self::NAME, &[a.dims(), b.dims()])?;
        Ok(Self { a, b, shape })
    }

    /// The concentration `a` (the exponent of `x`).
    pub fn a(&self) -> &Tensor<D> {
        &self.a
    }

    /// The concentration `b` (the exponent of `1 − x`).
    pub fn b(&self) -> &Tensor<D> {
        &self.b
    }

    /// The variance `ab/((a + b)²(a + b + 1))`.
    pub fn variance(&self) -> Tensor<D> {
        let s = self.a.clone() + self.b.clone();
        (self.a.clone() * self.b.clone() / (s.clone().square() * s.add_scalar(1.0)))
            .expand(self.shape)
    }

    fn draw(&self, source: Source<'_>, with_gradient: bool) -> Tensor<D> {
        let shape = self.shape;
        let n: usize = shape.iter().product();
        let k = shape[D - 1];
        let device = self.a.device();
        let a_host = host_values(&self.a, shape);
        let b_host = host_values(&self.b, shape);
        let grad_a = with_gradient && tracked(&self.a);
        let grad_b = with_gradient && tracked(&self.b);
        let element = |i: usize, ga: GammaDraw, gb: GammaDraw, out: &mut [f64]| {
            let (a, b) = (a_host[i] as f64, b_host[i] as f64);
            // x = σ(ln G_a − ln G_b)
            let d = ga.ln_value() - gb.ln_value();
            let x = 1.0 / (1.0 + (-d).exp());
            let one_minus = 1.0 / (1.0 + d.exp());
            let spread = x * one_minus;
            out[0] = x.clamp(f32::MIN_POSITIVE as f64, BELOW_ONE);
            out[1] = if grad_a {
                spread * (1.0 + ga.elasticity_excess()) / a
            } else {
                0.0
            };
            out[2] = if grad_b {
                -spread * (1.0 + gb.elasticity_excess()) / b
            } else {
                0.0
            };
        };
        let out = match source {
            Source::Noise(noise) => draw_blocks(noise, n, 3, |rng, i, out| {
                let ga = standard_gamma(rng, a_host[i] as f64);
                let gb = standard_gamma(rng, b_host[i] as f64);
                element(i, ga, gb, out)
            }),
            Source::Uniform(u) => map_units(n, 3, |i, out| {
                // noise [..., 2K]: G_a from column c, G_b from column K + c of the same row
                let (row, c) = (i / k, i % k);
                let (ua, ub) = (u[row * 2 * k + c], u[row * 2 * k + k + c]);
                let (a, b) = (a_host[i] as f64, b_host[i] as f64);
                let ga = GammaDraw::from_ln_ratio(a, gamma_ln_quantile_ratio(a, ua, 1.0 - ua));
                let gb = GammaDraw::from_ln_ratio(b, gamma_ln_quantile_ratio(b, ub, 1.0 - ub));
                element(i, ga, gb, out)
            }),
        };
        let mut x = to_device(column(&out, 3, 0), shape, &device);
        if grad_a {
            x = attach(x, &self.a, to_device(column(&out, 3, 1), shape, &device));
        }
        if grad_b {
            x = attach(x, &self.b, to_device(column(&out, 3, 2), shape, &device));
        }
        x
    }
}

impl<const D: usize> Distribution<D> for Beta<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Beta";

    fn value_shape(&self) -> [usize; D] {
        self.shape
    }

    fn device(&self) -> Device {
        self.a.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), false).detach()
    }

    /// `(a − 1) ln x + (b − 1) ln(1 − x) − ln B(a, b)` on [0, 1] (limits at the ends), −∞
    /// outside and for NaN; `ln B` without the cancellation of three `ln Γ`.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("Beta::log_prob", value.dims(), self.shape)?;
        let nan = value.clone().is_nan();
        let outside = value
            .clone()
            .lower_elem(0.0)
            .bool_or(value.clone().greater_elem(1.0))
            .bool_or(nan.clone())
            .expand(shape);
        let x = value.clone().mask_fill(nan, 0.5).clamp(0.0, 1.0);
        let lp = xlogy(self.a.clone().sub_scalar(1.0), x.clone(), shape)
            + xlogy(
                self.b.clone().sub_scalar(1.0),
                x.neg().add_scalar(1.0),
                shape,
            )
            - ln_beta_tensor(self.a.clone(), self.b.clone()).expand(shape);
        Ok(lp.mask_fill(outside, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            a: internal::replicate(&self.a, n, self.shape[0]),
            b: internal::replicate(&self.b, n, self.shape[0]),
            shape: internal::replicated_shape(self.shape, n),
        }
    }
}

/// The entropy of a Dirichlet (or, with two components, a Beta) from its concentrations, as
/// `Σ_k [ln(α_k/α₀) + R(α_k) − (α_k − 1)(R′(α_k) − R′(α₀))] − R(α₀)` with
/// `R(x) = ln Γ(x) − x ln x + x`: the standard form
/// `ln B(α) + (α₀ − K)ψ(α₀) − Σ(α_k − 1)ψ(α_k)` with its `α ln α` terms cancelled analytically.
pub(crate) fn simplex_entropy<const D: usize>(parts: &[Tensor<D>], total: Tensor<D>) -> Tensor<D> {
    let (r0, dr0) = growth_remainders(total.clone());
    let ln_total = total.log();
    let mut h = r0.neg();
    for alpha in parts {
        let (r, dr) = growth_remainders(alpha.clone());
        h = h + alpha.clone().log() - ln_total.clone() + r
            - alpha.clone().sub_scalar(1.0) * (dr - dr0.clone());
    }
    h
}

impl<const D: usize> Entropy<D> for Beta<D> {
    fn entropy(&self) -> Tensor<D> {
        let total = self.a.clone() + self.b.clone();
        simplex_entropy(&[self.a.clone(), self.b.clone()], total).expand(self.shape)
    }
}

impl<const D: usize> Mean<D> for Beta<D> {
    /// `a/(a + b)`.
    fn mean(&self) -> Tensor<D> {
        (self.a.clone() / (self.a.clone() + self.b.clone())).expand(self.shape)
    }
}

impl<const D: usize> Reparameterized<D> for Beta<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// Uniform noise for the two Gamma quantiles: the last axis doubled.
    fn noise_shape(&self) -> [usize; D] {
        widened(self.shape, 2)
    }

    /// `σ(ln G_a − ln G_b)` with both gammas by the quantile transform of `eps`
    /// (`[..., 2K]`), with the implicit gradient.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.draw(Source::Uniform(uniform_noise(&eps)), true)
    }

    /// Two Marsaglia–Tsang draws per element, with the implicit gradient.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), true)
    }
}

/// `KL(Beta(a₁, b₁) ‖ Beta(a₂, b₂)) = ln B(a₂, b₂) − ln B(a₁, b₁) + (a₁ − a₂)ψ(a₁)
/// + (b₁ − b₂)ψ(b₁) + (a₂ − a₁ + b₂ − b₁)ψ(a₁ + b₁)`, element-wise.
///
/// That is `B(a₁, a₂) + B(b₁, b₂) − B(a₁ + b₁, a₂ + b₂)` with
/// `B(p, q) = ln Γ(q) − ln Γ(p) − (q − p)ψ(p)`; with `ln Γ(x) = x ln x − x + R(x)` each `B`
/// is a growth term `p φ((q − p)/p)`, `φ(x) = (1 + x) ln(1 + x) − x`, plus a small remainder
/// part. The growth terms are combined before they are evaluated, into
/// `Σ_{k ∈ {a, b}} p_k(1 + d₀) φ(e_k)` (`d₀` the relative change of `a + b`,
/// `1 + e_k = (1 + d_k)/(1 + d₀)`; see `special/gamma.rs`): non-negative terms instead of a
/// difference of terms of size `a ln a`, so large concentrations and nearly equal pairs keep
/// their digits, and the remainder parts are expanded near equality. Finite over the `f32`
/// range whenever the divergence is.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Beta;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// // KL(Beta(1, 1) ‖ Beta(2, 1)) = ∫₀¹ −ln(2x) dx = 1 − ln 2
/// let kl: f32 = kl_divergence(&Beta::new(t(1.0), t(1.0))?, &Beta::new(t(2.0), t(1.0))?)?.into_scalar();
/// assert!((kl - (1.0 - 2f32.ln())).abs() < 1e-5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Beta<D>> for Beta<D> {
    fn kl_divergence(&self, q: &Beta<D>) -> Result<Tensor<D>> {
        let shape = internal::broadcast("kl_divergence(Beta, Beta)", &[self.shape, q.shape])?;
        let (p0, q0) = (self.a.clone() + self.b.clone(), q.a.clone() + q.b.clone());
        // the change of the total term by term: q₀ − p₀ loses a small component's change
        let h0 = (q.a.clone() - self.a.clone()) + (q.b.clone() - self.b.clone());
        let totals = (p0.clone(), q0.clone(), h0.clone());
        let growth = mixture_growth(self.a.clone(), q.a.clone(), totals.clone())
            + mixture_growth(self.b.clone(), q.b.clone(), totals);
        let kl = growth
            + remainder_bregman(self.a.clone(), q.a.clone())
            + remainder_bregman(self.b.clone(), q.b.clone())
            - remainder_bregman_with(p0, q0, h0);
        Ok(kl.expand(shape))
    }
}
