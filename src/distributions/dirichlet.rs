//! The Dirichlet distribution, through Gammas, with implicit reparameterization gradients.

use burn::prelude::*;

use super::gamma::{GammaDraw, standard_gamma};
use super::implicit::{
    self, Source, draw_blocks, finite_f32, host_values, map_units, to_device, tracked,
    uniform_noise, xlogy,
};
use super::{Distribution, Entropy, Mean, Reparameterized, internal};
use crate::error::{Error, Result};
use crate::kl::KlDivergence;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::gamma::{
    growth_remainders, mixture_growth, remainder_bregman, remainder_bregman_with,
};
use crate::special::incomplete_gamma::gamma_ln_quantile_ratio;

/// The Dirichlet distribution on the probability simplex of the last axis, with
/// concentrations `α_k > 0`: one distribution per row of `K` components.
///
/// Density: `p(x) = Π_k x_k^{α_k − 1} / B(α)`, `B(α) = Π_k Γ(α_k)/Γ(α₀)`, `α₀ = Σ_k α_k`.
/// Mean `α/α₀`; entropy `ln B(α) + (α₀ − K)ψ(α₀) − Σ_k (α_k − 1)ψ(α_k)`.
///
/// # Sampler
///
/// `x = G/Σ_k G_k` for independent `G_k ~ Gamma(α_k, 1)` drawn by Marsaglia–Tsang (see
/// [`Gamma`](super::Gamma)), normalized in logarithms, `x = softmax(ln G)`, so that small
/// concentrations (gammas far below the `f32` range) still give a proper point of the simplex.
/// Components are clamped below at `1.2e-38` (the smallest normal `f32`), so `log_prob` of a
/// sample is finite; [`log_rsample`](Self::log_rsample) gives `ln x` exactly instead.
/// [`rsample_with_noise`](Reparameterized::rsample_with_noise) is the Gamma quantile transform
/// of uniform noise, component by component.
///
/// # Implicit gradient
///
/// With `L_k = ln G_k`, `∂L_k/∂α_k` is the implicit Gamma derivative (Figurnov et al. 2018) and
/// `x = softmax(L)`, so `∂x_i/∂α_k = x_i(1[i = k] − x_k) ∂L_k/∂α_k`. On the device the sample is
/// `x = x_c ⊙ (1 + δ − Σ_j x_c,j δ_j)` with `δ_k = (α_k − sg α_k)·∂L_k/∂α_k`, exactly `x_c`
/// forward with the softmax Jacobian backward: the whole `K × K` Jacobian per row reaches the
/// concentrations through autodiff.
///
/// # Valid range
///
/// Checked by [`new`](Self::new): every concentration in `[1e-18, 1e19]` (the Gamma
/// concentration range, see [`Gamma`](super::Gamma#valid-range)). For everything it accepts,
/// samples are points of the simplex with components in `[1.2e-38, 1]`, and the log-density
/// at them, its gradient, the implicit gradients, [`log_rsample`](Self::log_rsample), the mean
/// and the entropy are finite.
///
/// # Shapes
///
/// `concentration` is `[..., K]` with `K ≥ 1`; a sample has that shape; `log_prob` and
/// `entropy` reduce the last axis to size 1 (`[..., 1]`); `mean` is `[..., K]`.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Dirichlet, Distribution, Reparameterized};
/// use mcgrad::estimators::{Estimator, Pathwise};
///
/// let device = Device::flex().autodiff();
/// let alpha = Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device).require_grad();
/// let dir = Dirichlet::new(alpha.clone())?;
/// // ∂E[x₀]/∂α = ∂(α₀/Σα)/∂α = (Σα − α₀, −α₀, −α₀)/(Σα)² = (5, −1, −1)/36
/// let est = Pathwise.estimate(&dir, 20_000, &mut NoiseSource::seed_from_u64(4), |x| {
///     x.slice([0..20_000, 0..1]).reshape([20_000])
/// })?;
/// let g = alpha.grad(&est.loss().backward()).unwrap().try_into_vec_as::<f32>().unwrap();
/// for (got, want) in g.iter().zip([5.0 / 36.0, -1.0 / 36.0, -1.0 / 36.0]) {
///     assert!((got - want).abs() < 0.006, "{g:?}");
/// }
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS 2018, §3;
/// Jankowiak & Obermeyer, *Pathwise derivatives beyond the reparameterization trick*, ICML
/// 2018 (the Dirichlet as the motivating case).
#[derive(Debug, Clone)]
pub struct Dirichlet<const D: usize> {
    concentration: Tensor<D>,
}

impl<const D: usize> Dirichlet<D> {
    /// The Dirichlet distribution with concentrations `[..., K]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every concentration
    /// is finite and in `[1e-18, 1e19]`, the [valid range](Self#valid-range) (a device sync);
    /// [`Error::EmptyCategories`] for `K = 0`.
    pub fn new(concentration: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(concentration)?;
        implicit::concentration(Self::NAME, "concentration", &out.concentration)?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value check (no device sync); a sample at a bad
    /// concentration is NaN.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyCategories`] for an empty last axis.
    pub fn new_unchecked(concentration: Tensor<D>) -> Result<Self> {
        if D == 0 || concentration.dims()[D - 1] == 0 {
            return Err(Error::EmptyCategories { owner: Self::NAME });
        }
        Ok(Self { concentration })
    }

    /// The concentrations α, `[..., K]`.
    pub fn concentration(&self) -> &Tensor<D> {
        &self.concentration
    }

    /// `α₀ = Σ_k α_k`, `[..., 1]`.
    fn total(&self) -> Tensor<D> {
        self.concentration.clone().sum_dim(D - 1)
    }

    /// The logarithm of a differentiable sample, `ln x = L − logsumexp(L)`, exact for every
    /// concentration (where components of `x` underflow `f32`); its gradient is that of the
    /// log-softmax. The draws are those of [`rsample`](Reparameterized::rsample) for the same
    /// noise.
    ///
    /// # Examples
    ///
    /// ```
    /// use burn::prelude::*;
    /// use mcgrad::NoiseSource;
    /// use mcgrad::distributions::Dirichlet;
    ///
    /// let device = Device::flex();
    /// let d = Dirichlet::new(Tensor::<2>::full([1, 4], 0.01, &device))?;
    /// let ln_x = d.log_rsample(&mut NoiseSource::seed_from_u64(2));
    /// // a point of the simplex: logsumexp(ln x) = 0, even when some x_k are below 1e-38
    /// let v = ln_x.try_into_vec_as::<f32>().unwrap();
    /// let m = v.iter().cloned().fold(f32::MIN, f32::max);
    /// let lse = m + v.iter().map(|l| (l - m).exp()).sum::<f32>().ln();
    /// assert!(lse.abs() < 1e-5 && v.iter().all(|l| l.is_finite()));
    /// # Ok::<(), mcgrad::Error>(())
    /// ```
    pub fn log_rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), true, true)
    }

    fn draw(&self, source: Source<'_>, log_space: bool, with_gradient: bool) -> Tensor<D> {
        let shape = self.concentration.dims();
        let k = shape[D - 1];
        let n: usize = shape.iter().product();
        let rows = n / k;
        let device = self.concentration.device();
        let alpha = host_values(&self.concentration, shape);
        let grad = with_gradient && tracked(&self.concentration);
        // per row: [x_0 … x_{K−1} (or ln x), s_0 … s_{K−1}] with s_k = ∂L_k/∂α_k
        let row = |r: usize, draws: &mut dyn FnMut(usize, f64) -> GammaDraw, out: &mut [f64]| {
            let (values, slopes) = out.split_at_mut(k);
            let mut max = f64::NEG_INFINITY;
            for j in 0..k {
                let a = alpha[r * k + j] as f64;
                let g = draws(j, a);
                values[j] = g.ln_value();
                slopes[j] = if grad {
                    (1.0 + g.elasticity_excess()) / a
                } else {
                    0.0
                };
                max = max.max(values[j]);
            }
            let total: f64 = values.iter().map(|l| (l - max).exp()).sum();
            let lse = max + total.ln();
            for v in values.iter_mut() {
                *v = if log_space {
                    *v - lse
                } else {
                    (*v - lse).exp().max(f32::MIN_POSITIVE as f64)
                };
            }
        };
        let out = match source {
            Source::Noise(noise) => draw_blocks(noise, rows, 2 * k, |rng, r, out| {
                row(r, &mut |_, a| standard_gamma(rng, a), out)
            }),
            Source::Uniform(u) => map_units(rows, 2 * k, |r, out| {
                row(
                    r,
                    &mut |j, a| {
                        let uj = u[r * k + j];
                        GammaDraw::from_ln_ratio(a, gamma_ln_quantile_ratio(a, uj, 1.0 - uj))
                    },
                    out,
                )
            }),
        };
        // unit-major rows of 2K: split into values and slopes
        let mut values = Vec::with_capacity(n);
        let mut slopes = Vec::with_capacity(if grad { n } else { 0 });
        for chunk in out.chunks(2 * k) {
            values.extend(chunk[..k].iter().map(|&v| finite_f32(v)));
            if grad {
                slopes.extend(chunk[k..].iter().map(|&v| finite_f32(v)));
            }
        }
        let x = to_device(values, shape, &device);
        if !grad {
            return x;
        }
        let slopes = to_device(slopes, shape, &device);
        let alpha = self.concentration.clone();
        let delta = (alpha.clone() - alpha.detach()) * slopes;
        if log_space {
            // ln x = L − lse(L): d ln x_i = δ_i − Σ_j x_j δ_j
            let p = x.clone().exp();
            let mixed = (p * delta.clone()).sum_dim(D - 1);
            x + delta - mixed
        } else {
            let mixed = (x.clone() * delta.clone()).sum_dim(D - 1);
            x.clone() * (delta - mixed).add_scalar(1.0)
        }
    }

    /// `ln B(α) = Σ_k ln Γ(α_k) − ln Γ(α₀)` as `Σ_k α_k ln(α_k/α₀) + Σ_k R(α_k) − R(α₀)`,
    /// `R(x) = ln Γ(x) − x ln x + x` (no `f32` overflow for huge concentrations), `[..., 1]`.
    fn ln_normalizer(&self) -> Tensor<D> {
        let alpha = self.concentration.clone();
        let total = self.total();
        let (r, _) = growth_remainders(alpha.clone());
        let (r0, _) = growth_remainders(total.clone());
        (alpha.clone() * (alpha.log() - total.log()) + r).sum_dim(D - 1) - r0
    }
}

impl<const D: usize> Distribution<D> for Dirichlet<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "Dirichlet";

    fn value_shape(&self) -> [usize; D] {
        self.concentration.dims()
    }

    fn batch_shape(&self) -> Vec<usize> {
        self.concentration.dims()[..D - 1].to_vec()
    }

    fn event_shape(&self) -> Vec<usize> {
        vec![self.concentration.dims()[D - 1]]
    }

    fn device(&self) -> Device {
        self.concentration.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), false, false).detach()
    }

    /// `Σ_k (α_k − 1) ln x_k − ln B(α)`, `[..., 1]` (limits where a component is 0; −∞ where a
    /// zero component has α > 1, even if another zero component has α < 1); −∞ off
    /// the simplex: a component below 0, above 1 or NaN, or a sum off 1 by more than
    /// `max(1e-4, K·1e-6)` (the tolerance of
    /// [`RelaxedOneHotCategorical`](super::RelaxedOneHotCategorical), far above the rounding
    /// of an `f32` sample).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `value` does not broadcast
    /// against the batch or has a different number of components.
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let batch = self.concentration.dims();
        if value.dims()[D - 1] != batch[D - 1] {
            return Err(Error::ShapeMismatch {
                context: "Dirichlet::log_prob (components)",
                left: value.dims().to_vec(),
                right: batch.to_vec(),
            });
        }
        let shape = internal::value_shape("Dirichlet::log_prob", value.dims(), batch)?;
        let k = batch[D - 1];
        let tolerance = (k as f64 * 1e-6).max(1e-4);
        let nan = value.clone().is_nan();
        let outside = value
            .clone()
            .lower_elem(0.0)
            .bool_or(value.clone().greater_elem(1.0))
            .bool_or(nan.clone())
            .expand(shape)
            .any_dim(D - 1);
        let x = value.clone().mask_fill(nan, 0.0).clamp(0.0, 1.0);
        let off_sum = x
            .clone()
            .expand(shape)
            .sum_dim(D - 1)
            .sub_scalar(1.0)
            .abs()
            .greater_elem(tolerance);
        let outside = outside.bool_or(off_sum);
        let terms = xlogy(self.concentration.clone().sub_scalar(1.0), x, shape);
        // at a corner with one factor 0 (a zero component with α > 1) and another infinite
        // (a zero component with α < 1) the density is taken as 0: −∞, not −∞ + ∞ = NaN
        let vanishes = terms
            .clone()
            .detach()
            .equal_elem(f32::NEG_INFINITY)
            .any_dim(D - 1);
        let lp =
            (terms.sum_dim(D - 1) - self.ln_normalizer()).mask_fill(vanishes, f32::NEG_INFINITY);
        let mut out_shape = shape;
        out_shape[D - 1] = 1;
        Ok(lp.expand(out_shape).mask_fill(outside, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        // the value shape is the concentration's, so it is repeated even where it broadcasts
        let concentration = if n > 1 {
            self.concentration.clone().repeat_dim(0, n)
        } else {
            self.concentration.clone()
        };
        Self { concentration }
    }
}

impl<const D: usize> Entropy<D> for Dirichlet<D> {
    /// `Σ_k [ln(α_k/α₀) + R(α_k) − (α_k − 1)(R′(α_k) − R′(α₀))] − R(α₀)` with
    /// `R(x) = ln Γ(x) − x ln x + x`: the standard form with its `α ln α` terms cancelled
    /// analytically (finite for every `f32` concentration), `[..., 1]`.
    fn entropy(&self) -> Tensor<D> {
        let alpha = self.concentration.clone();
        let total = self.total();
        let (r, dr) = growth_remainders(alpha.clone());
        let (r0, dr0) = growth_remainders(total.clone());
        let terms = alpha.clone().log() - total.log() + r - alpha.sub_scalar(1.0) * (dr - dr0);
        terms.sum_dim(D - 1) - r0
    }
}

impl<const D: usize> Mean<D> for Dirichlet<D> {
    /// `α/α₀`.
    fn mean(&self) -> Tensor<D> {
        self.concentration.clone() / self.total()
    }
}

impl<const D: usize> Reparameterized<D> for Dirichlet<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// `softmax(ln G)` with `G_k = F⁻¹(u_k; α_k)`, with the implicit gradient.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.draw(Source::Uniform(uniform_noise(&eps)), false, true)
    }

    /// Marsaglia–Tsang draws, normalized in logarithms, with the implicit gradient.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.draw(Source::Noise(noise), false, true)
    }
}

/// `KL(Dir(α) ‖ Dir(β)) = ln Γ(α₀) − Σ ln Γ(α_k) − ln Γ(β₀) + Σ ln Γ(β_k)
/// + Σ (α_k − β_k)(ψ(α_k) − ψ(α₀))`, per row (`[..., 1]`).
///
/// That is `Σ_k B(α_k, β_k) − B(α₀, β₀)` with `B(p, q) = ln Γ(q) − ln Γ(p) − (q − p)ψ(p)`.
/// As for the [Beta](super::Beta), the growth terms `p φ((q − p)/p)` of the `B` are combined
/// before they are evaluated, into `Σ_k α_k(1 + d₀) φ(e_k)` (non-negative terms, no difference
/// of terms of size `α ln α`), and the remainder parts are expanded near equality: large
/// concentrations and nearly equal pairs keep their digits, and the result is finite over the
/// `f32` range whenever the divergence is.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::distributions::Dirichlet;
/// use mcgrad::kl::kl_divergence;
///
/// let device = Device::flex();
/// let p = Dirichlet::new(Tensor::<2>::from_floats([[1.0, 1.0]], &device))?;
/// let q = Dirichlet::new(Tensor::<2>::from_floats([[2.0, 1.0]], &device))?;
/// // with two components a Dirichlet is a Beta: KL(Beta(1, 1) ‖ Beta(2, 1)) = 1 − ln 2
/// let kl: f32 = kl_divergence(&p, &q)?.into_scalar();
/// assert!((kl - (1.0 - 2f32.ln())).abs() < 1e-5);
/// # Ok::<(), mcgrad::Error>(())
/// ```
impl<const D: usize> KlDivergence<D, Dirichlet<D>> for Dirichlet<D> {
    fn kl_divergence(&self, q: &Dirichlet<D>) -> Result<Tensor<D>> {
        let (pd, qd) = (self.concentration.dims(), q.concentration.dims());
        if pd[D - 1] != qd[D - 1] {
            return Err(Error::ShapeMismatch {
                context: "kl_divergence(Dirichlet, Dirichlet) (components)",
                left: pd.to_vec(),
                right: qd.to_vec(),
            });
        }
        let mut shape = internal::broadcast("kl_divergence(Dirichlet, Dirichlet)", &[pd, qd])?;
        let full = shape;
        let (pk, qk) = (
            self.concentration.clone().expand(full),
            q.concentration.clone().expand(full),
        );
        let (p0, q0) = (self.total(), q.total());
        // the change of the total term by term: q₀ − p₀ loses a small component's change
        let h0 = (qk.clone() - pk.clone()).sum_dim(D - 1);
        let totals = (
            p0.clone().expand(full),
            q0.clone().expand(full),
            h0.clone().expand(full),
        );
        let growth = mixture_growth(pk.clone(), qk.clone(), totals);
        let kl = (growth + remainder_bregman(pk, qk)).sum_dim(D - 1)
            - remainder_bregman_with(p0, q0, h0);
        shape[D - 1] = 1;
        Ok(kl.expand(shape))
    }
}
