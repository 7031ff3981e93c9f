//! The von Mises distribution on the circle, with an implicit reparameterization gradient in
//! the concentration.

use core::f64::consts::PI;

use burn::prelude::*;
use rand::Rng;

use super::implicit::{
    BlockRng, Source, attach, column, draw_blocks, host_values, map_units, open_uniform, to_device,
    tracked, uniform_noise,
};
use super::{Distribution, Entropy, Mean, Reparameterized, internal};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::bessel::{ln_bessel_i0e, ln_bessel_i0e_and_scaled_ratio_gap};
use crate::special::gamma::polynomial;
use crate::special::von_mises_cdf::{von_mises_implicit_derivative, von_mises_quantile};

/// `ln 2π`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Below this concentration the entropy is taken from its series in κ².
const ENTROPY_SERIES_BELOW: f32 = 0.1;

/// The smallest concentration a validated von Mises accepts: the smallest normal `f32` (below
/// it a backend may flush κ to 0).
const KAPPA_MIN: f32 = f32::MIN_POSITIVE;

/// The largest concentration a validated von Mises accepts: the log-density
/// `−2κ sin²((x − μ)/2)` stays finite for every `x` (at most `2e19` in magnitude), and the
/// angle's spread `1/√κ ≥ 3e-10` is still resolved in `f64`.
const KAPPA_MAX: f32 = 1e19;

/// The von Mises distribution with location μ and concentration κ > 0, one per element of the
/// batch: the circular analogue of the normal.
///
/// Density on any interval of length 2π: `p(x) = e^{κ cos(x − μ)} / (2π I₀(κ))`, computed as
/// `−2κ sin²((x − μ)/2) − ln 2π − ln(e^{−κ} I₀(κ))` (exact for large κ). Mean μ (the circular
/// mean; for the samples below also their ordinary mean), entropy
/// `ln(2π I₀(κ)) − κ I₁(κ)/I₀(κ)`.
///
/// Samples are `x = μ + ξ` with `ξ ∈ [−π, π]`, *not* wrapped back into a fixed interval:
/// `x` is then a smooth function of μ, so pathwise gradients of any cost (periodic or not) are
/// unbiased; wrap inside the cost if it needs a canonical angle.
///
/// # Sampler
///
/// Best & Fisher's (1979) wrapped-Cauchy envelope with rejection, on the host in `f64`,
/// rewritten so that no step cancels for large κ (`1 − f` and `r − 1` are carried instead of
/// `f` and `r`) or for small κ; noise from the caller's [`NoiseSource`].
/// [`rsample_with_noise`](Reparameterized::rsample_with_noise) is the quantile transform of
/// uniform noise (Newton's method on the distribution function), the same law and gradient.
///
/// # Implicit gradient
///
/// `∂x/∂μ = 1` and `∂ξ/∂κ = −(∂F(ξ; κ)/∂κ)/p(ξ)` (Figurnov et al. 2018), computed in `f64` by the
/// Fourier series of `F` for κ < 50 and an asymptotic expansion derived for this crate above
/// (`special/von_mises_cdf.rs`): within `1e-6` relative of quadrature over κ from `1e-3` to
/// `1e3` in the bulk. PyTorch's `VonMises` has no `rsample`; TFP's uses a series and a normal
/// approximation for large κ.
///
/// # Valid range
///
/// Checked by [`new`](Self::new): `loc` finite, κ in `[1.2e-38, 1e19]`. For everything it
/// accepts, samples (within π of μ), the log-density at every real `x` and its gradients, the
/// implicit gradient of the samples, the mean and the entropy are finite.
///
/// # Shapes
///
/// `loc` and `concentration` broadcast against each other; their broadcast is the value shape.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Reparameterized, VonMises};
///
/// let device = Device::flex().autodiff();
/// let kappa = Tensor::<2>::from_floats([[2.0]], &device).require_grad();
/// let vm = VonMises::new(Tensor::<2>::zeros([1, 1], &device), kappa.clone().expand([20_000, 1]))?;
/// let x = vm.rsample(&mut NoiseSource::seed_from_u64(6));
/// // E[cos x] = A(κ) = I₁(κ)/I₀(κ), whose derivative at κ = 2 is 1 − A/κ − A² ≈ 0.16422
/// let g: f32 = kappa.grad(&x.cos().mean().backward()).unwrap().into_scalar();
/// assert!((g - 0.16422).abs() < 0.01, "{g}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Best & Fisher, *Efficient simulation of the von Mises distribution*, Applied Statistics
/// 28(2), 1979; Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS
/// 2018, §3 and appendix; Hill, *Algorithm 518: incomplete Bessel function I₀. The von Mises
/// distribution*, ACM TOMS 3(3), 1977 (the series).
#[derive(Debug, Clone)]
pub struct VonMises<const D: usize> {
    loc: Tensor<D>,
    concentration: Tensor<D>,
    shape: [usize; D],
}

impl<const D: usize> VonMises<D> {
    /// The von Mises distribution with location `loc` and concentration `concentration`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for a non-finite `loc` or a
    /// concentration outside `[1.2e-38, 1e19]`, the [valid range](Self#valid-range) (a device
    /// sync each);
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new(loc: Tensor<D>, concentration: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(loc, concentration)?;
        internal::finite(Self::NAME, "loc", &out.loc)?;
        internal::in_range(
            Self::NAME,
            "concentration",
            &out.concentration,
            (KAPPA_MIN, KAPPA_MAX),
            "finite and in [1.2e-38, 1e19] (f32::MIN_POSITIVE to 1e19)",
        )?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); a sample at a bad
    /// concentration is NaN.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(loc: Tensor<D>, concentration: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(Self::NAME, &[loc.dims(), concentration.dims()])?;
        Ok(Self {
            loc,
            concentration,
            shape,
        })
    }

    /// The location μ.
    pub fn loc(&self) -> &Tensor<D> {
        &self.loc
    }

    /// The concentration κ.
    pub fn concentration(&self) -> &Tensor<D> {
        &self.concentration
    }

    /// The standardized angle ξ with `∂ξ/∂κ` attached.
    fn draw_angle(&self, source: Source<'_>, with_gradient: bool) -> Tensor<D> {
        let shape = self.shape;
        let n: usize = shape.iter().product();
        let device = self.concentration.device();
        let kappa = host_values(&self.concentration, shape);
        let grad = with_gradient && tracked(&self.concentration);
        let element = |i: usize, xi: f64, out: &mut [f64]| {
            out[0] = xi;
            out[1] = if grad {
                von_mises_implicit_derivative(kappa[i] as f64, xi)
            } else {
                0.0
            };
        };
        let out = match source {
            Source::Noise(noise) => draw_blocks(noise, n, 2, |rng, i, out| {
                element(i, best_fisher(rng, kappa[i] as f64), out)
            }),
            Source::Uniform(u) => map_units(n, 2, |i, out| {
                element(
                    i,
                    von_mises_quantile(kappa[i] as f64, u[i], 1.0 - u[i]),
                    out,
                )
            }),
        };
        let xi = to_device(column(&out, 2, 0), shape, &device);
        if grad {
            attach(
                xi,
                &self.concentration,
                to_device(column(&out, 2, 1), shape, &device),
            )
        } else {
            xi
        }
    }
}

impl<const D: usize> Distribution<D> for VonMises<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "VonMises";

    fn value_shape(&self) -> [usize; D] {
        self.shape
    }

    fn device(&self) -> Device {
        self.loc.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        (self.loc.clone() + self.draw_angle(Source::Noise(noise), false)).detach()
    }

    /// `κ cos(x − μ) − ln(2π I₀(κ))` as `−2κ sin²((x − μ)/2) − ln 2π − ln(e^{−κ} I₀(κ))`, for
    /// every real `x` (the density is 2π-periodic; `x/2 − μ/2` does not overflow); −∞ for `x`
    /// NaN or infinite (off the real line).
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("VonMises::log_prob", value.dims(), self.shape)?;
        let off = value.clone().is_finite().bool_not();
        let x = value.clone().mask_fill(off.clone(), 0.0);
        let s = (x.mul_scalar(0.5) - self.loc.clone().mul_scalar(0.5)).sin();
        let kappa = self.concentration.clone();
        let lp = (kappa.clone() * s.square()).mul_scalar(-2.0) - ln_bessel_i0e(kappa);
        Ok(lp
            .sub_scalar(LN_2PI)
            .expand(shape)
            .mask_fill(off.expand(shape), f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            loc: internal::replicate(&self.loc, n, self.shape[0]),
            concentration: internal::replicate(&self.concentration, n, self.shape[0]),
            shape: internal::replicated_shape(self.shape, n),
        }
    }
}

impl<const D: usize> Entropy<D> for VonMises<D> {
    /// `ln 2π + (ln I₀(κ) − κ) + κ(1 − I₁(κ)/I₀(κ))`: both pieces bounded, no cancellation for
    /// large κ. Below κ = 0.1 by the series `ln 2π − κ²/4 + 3κ⁴/64 − 5κ⁶/576 + 77κ⁸/49152`
    /// (`ln I₀ = κ²/4 − κ⁴/64 + κ⁶/576 − 11κ⁸/49152 + …` and `κA = κ d ln I₀/dκ`; truncation
    /// below 1e-11 relative): there the two pieces are `∓κ + O(κ²)` and their sum, and its
    /// gradient `−κA′ ≈ −κ/2`, would cancel in `f32`.
    fn entropy(&self) -> Tensor<D> {
        let kappa = self.concentration.clone();
        let (ln_i0e, gap) = ln_bessel_i0e_and_scaled_ratio_gap(kappa.clone());
        let small = kappa.clone().lower_elem(ENTROPY_SERIES_BELOW);
        // on a clamped κ: the branch not taken stays finite, and so does its gradient
        let k2 = kappa.clamp_max(ENTROPY_SERIES_BELOW).square();
        let series = polynomial(
            k2.clone(),
            &[-0.25, 3.0 / 64.0, -5.0 / 576.0, 77.0 / 49152.0],
        ) * k2;
        (ln_i0e + gap)
            .mask_where(small, series)
            .add_scalar(LN_2PI)
            .expand(self.shape)
    }
}

impl<const D: usize> Mean<D> for VonMises<D> {
    /// μ.
    fn mean(&self) -> Tensor<D> {
        self.loc.clone().expand(self.shape)
    }
}

impl<const D: usize> Reparameterized<D> for VonMises<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// `μ + F⁻¹(u; κ)`, with the implicit gradient.
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        self.loc.clone() + self.draw_angle(Source::Uniform(uniform_noise(&eps)), true)
    }

    /// `μ + ξ` with a Best–Fisher draw ξ and the implicit gradient.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        self.loc.clone() + self.draw_angle(Source::Noise(noise), true)
    }
}

/// A von Mises(0, κ) angle in `[−π, π]` by Best & Fisher's (1979) algorithm. With
/// `τ = 1 + √(1 + 4κ²)`, `ρ = (τ − √(2τ))/(2κ)`, `r = (1 + ρ²)/(2ρ)`: draw `z = cos(πU₁)`,
/// `f = (1 + rz)/(r + z)`, `c = κ(r − f)`, accept if `c(2 − c) > U₂` or
/// `ln(c/U₂) + 1 − c ≥ 0`, return `±acos f`. Here `r − 1 = (1 − ρ)²/(2ρ)`,
/// `1 − f = (r − 1)(1 − z)/(r + z)` and `acos f = 2 asin(√((1 − f)/2))` replace the forms that
/// cancel; `1 − ρ` and `ρ` each come from a cancellation-free expression. NaN for a κ that is
/// not finite and positive.
pub(crate) fn best_fisher(rng: &mut BlockRng, kappa: f64) -> f64 {
    if !(kappa > 0.0 && kappa.is_finite()) {
        return f64::NAN;
    }
    let s = (1.0 + 4.0 * kappa * kappa).sqrt();
    let tau = 1.0 + s;
    let root = (2.0 * tau).sqrt();
    let (rho, one_minus_rho) = if kappa < 1.0 {
        // τ − √(2τ) = τ(τ − 2)/(τ + √(2τ)), τ − 2 = 4κ²/(s + 1)
        let rho = 2.0 * kappa * tau / ((s + 1.0) * (tau + root));
        (rho, 1.0 - rho)
    } else {
        // 2κ − τ = −1 − 1/(s + 2κ)
        let omr = (root - 1.0 - 1.0 / (s + 2.0 * kappa)) / (2.0 * kappa);
        (1.0 - omr, omr)
    };
    let r_minus_one = one_minus_rho * one_minus_rho / (2.0 * rho);
    let r = 1.0 + r_minus_one;
    loop {
        let half_angle = 0.5 * PI * open_uniform(rng);
        let z = (2.0 * half_angle).cos();
        let one_minus_z = 2.0 * half_angle.sin().powi(2);
        let one_minus_f = r_minus_one * one_minus_z / (r + z);
        let c = kappa * (r_minus_one + one_minus_f);
        let u = open_uniform(rng);
        if c * (2.0 - c) > u || (c / u).ln() + 1.0 - c >= 0.0 {
            let xi = 2.0 * (0.5 * one_minus_f).sqrt().min(1.0).asin();
            return if rng.next_u64() >> 63 == 1 { xi } else { -xi };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The circular moments `E[cos ξ] = I₁/I₀` and `E[sin ξ] = 0` of the sampler alone, to five
    /// standard errors (`Var cos ξ ≤ 1`); the law itself is tested in
    /// tests/implicit_samplers.rs.
    #[test]
    fn sampler_circular_moments() {
        let mut rng = BlockRng::seed_from_u64(3);
        for kappa in [1e-3, 0.5, 2.0, 30.0, 1e4, 1e30] {
            let n = 200_000;
            let (mut c, mut s) = (0.0, 0.0);
            for _ in 0..n {
                let xi = best_fisher(&mut rng, kappa);
                assert!(xi.abs() <= PI);
                c += xi.cos();
                s += xi.sin();
            }
            let (c, s) = (c / n as f64, s / n as f64);
            // A(κ) by its series / Hankel expansion
            let a = if kappa < 1e3 {
                let (i0, i1) = bessel_pair(kappa);
                i1 / i0
            } else {
                1.0 - 0.5 / kappa - 0.125 / (kappa * kappa)
            };
            let se = (1.0 / n as f64).sqrt();
            assert!((c - a).abs() < 5.0 * se, "κ = {kappa}: E cos = {c} vs {a}");
            assert!(s.abs() < 5.0 * se, "κ = {kappa}: E sin = {s}");
        }
        assert!(best_fisher(&mut rng, 0.0).is_nan() && best_fisher(&mut rng, f64::NAN).is_nan());
    }

    /// `(e^{−κ}I₀, e^{−κ}I₁)` by the trapezoidal rule (exponentially accurate here).
    fn bessel_pair(kappa: f64) -> (f64, f64) {
        let m = 4000;
        let h = PI / m as f64;
        let (mut a, mut b) = (0.0, 0.0);
        for i in 0..=m {
            let t = i as f64 * h;
            let w = if i == 0 || i == m { 0.5 } else { 1.0 };
            let e = (kappa * (t.cos() - 1.0)).exp();
            a += w * e;
            b += w * e * t.cos();
        }
        (a * h / PI, b * h / PI)
    }
}
