//! Student's t distribution with location and scale, with an implicit gradient in the degrees
//! of freedom.

use burn::prelude::*;
use rand_distr::{Distribution as _, StandardNormal};

use super::gamma::standard_gamma;
use super::implicit::{
    CONCENTRATION_MAX, CONCENTRATION_MIN, SAMPLER_BLOCK, Source, attach, column, draw_blocks_of,
    host_values, map_units, to_device, tracked, uniform_noise, widened,
};
use super::{Distribution, Entropy, Mean, Reparameterized, internal};
use crate::error::Result;
use crate::rng::{NoiseSource, StandardNoise};
use crate::special::gamma::{digamma_half_difference, ln_gamma_half_ratio, log1p};
use crate::special::incomplete_gamma::{gamma_elasticity_excess, gamma_ln_quantile_ratio};

/// The smallest scale a validated Student-t accepts: `σ²` is then a normal `f32`, so that the
/// gradient of the log-density in σ (Burn differentiates `a/σ` as `−a/σ²`) is finite; at the
/// crate's general scale minimum, `1.2e-38`, it is `0/0`.
const SCALE_MIN: f32 = 1e-18;

/// The host outputs per element: `T`, `∂T/∂ν`, and `ln|T|` where `|T|` is beyond `f32` (0
/// elsewhere).
const WIDTH: usize = 3;

/// `ln f32::MAX`, rounded down.
const LN_F32_MAX: f32 = 88.722_83;

/// `½ ln π`.
const HALF_LN_PI: f64 = 0.572_364_942_924_700_1;

/// Student's t distribution with `ν > 0` degrees of freedom, location μ and scale σ > 0, one
/// per element of the batch.
///
/// Density: `p(x) = Γ((ν + 1)/2) / (Γ(ν/2) √(νπ) σ) · (1 + y²/ν)^{−(ν+1)/2}`, `y = (x − μ)/σ`.
/// Mean μ (for ν > 1; NaN otherwise, where it does not exist), variance `σ²ν/(ν − 2)` (ν > 2;
/// +∞ for 1 < ν ≤ 2, NaN below), entropy
/// `((ν + 1)/2)(ψ((ν + 1)/2) − ψ(ν/2)) + ln(√ν B(ν/2, ½)) + ln σ`. The differences of `ln Γ`
/// and `ψ` are evaluated without cancellation, so large ν (the normal limit) stay exact.
///
/// # Sampler
///
/// `x = μ + σ T`, `T = ε √(α/G)` with `ε ~ N(0, 1)` and `G ~ Gamma(α, 1)`, `α = ν/2`,
/// drawn by Marsaglia–Tsang (see [`Gamma`](super::Gamma)).
/// [`rsample_with_noise`](Reparameterized::rsample_with_noise) takes uniform noise with the last
/// axis doubled and uses `T = √ν sinh((ln G₁ − ln G₂)/2)` with two Gamma(ν/2) quantiles (the
/// symmetric Beta construction of the t; same law).
///
/// # Gradients
///
/// The location-scale part is explicit: `∂x/∂μ = 1`, `∂x/∂σ = T`. The degrees of freedom move
/// the gamma implicitly: with `e = (α/G)∂G/∂α − 1` from the implicit Gamma derivative
/// (Figurnov et al. 2018), `∂T/∂ν = −T e/(2ν)` for `rsample`, computed without the
/// cancellation of `1/(2ν) − ∂ln G/∂ν/2` for large ν.
///
/// # Valid range
///
/// Checked by [`new`](Self::new): `df` in `[2e-18, 2e19]` (the Gamma concentration `ν/2` in
/// its range, see [`Gamma`](super::Gamma#valid-range)), `loc` finite, `scale` in `[1e-18, 1e19]`
/// (the location-scale bound above; below, `σ²` leaves the normal `f32` range and the gradient
/// of the log-density in σ is `0/0`). For everything it accepts, samples, the log-density at
/// them and its gradients, and the entropy are finite. Heavy tails put draws beyond `f32`: for
/// ν below about 0.2 the extreme noise values give `|T| > f32::MAX`; such a draw is located
/// in logarithms (`μ ± e^{ln σ + ln|T|}`, exact when a scale below 1 brings it back into
/// range; its derivatives, `T` in σ among them, beyond `f32` and returned as `±f32::MAX`),
/// and a sample `μ + σT` beyond the finite `f32` range is returned as `±f32::MAX` (a constant
/// there, its gradient 0).
/// For ν below 1 the derivative `∂x/∂ν = σ ∂T/∂ν` of a far-tail draw (`∂T/∂ν ≈ T ln|T|/ν`)
/// can exceed `f32` itself: it is then infinite, deliberately, as its exact value is. The mean
/// is NaN for ν ≤ 1 and the variance +∞ (1 < ν ≤ 2) or NaN (ν ≤ 1), where they do not exist.
///
/// # Shapes
///
/// `df`, `loc` and `scale` broadcast against each other; their broadcast is the value shape.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::NoiseSource;
/// use mcgrad::distributions::{Reparameterized, StudentT};
///
/// let device = Device::flex().autodiff();
/// let loc = Tensor::<2>::from_floats([[0.5]], &device).require_grad();
/// let scale = Tensor::<2>::from_floats([[2.0]], &device).require_grad();
/// let t = StudentT::new(Tensor::<2>::full([20_000, 1], 5.0, &device), loc.clone(), scale.clone())?;
/// let x = t.rsample(&mut NoiseSource::seed_from_u64(8));
/// // E[x²] = μ² + σ²ν/(ν − 2): ∂/∂μ = 2μ = 1, ∂/∂σ = 2σν/(ν − 2) = 20/3
/// let grads = x.square().mean().backward();
/// let (gm, gs): (f32, f32) = (loc.grad(&grads).unwrap().into_scalar(), scale.grad(&grads).unwrap().into_scalar());
/// assert!((gm - 1.0).abs() < 0.1 && (gs - 20.0 / 3.0).abs() < 0.5, "{gm} {gs}");
/// # Ok::<(), mcgrad::Error>(())
/// ```
///
/// # References
///
/// Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS 2018.
#[derive(Debug, Clone)]
pub struct StudentT<const D: usize> {
    df: Tensor<D>,
    loc: Tensor<D>,
    scale: Tensor<D>,
    shape: [usize; D],
}

impl<const D: usize> StudentT<D> {
    /// Student's t with `df` degrees of freedom, location `loc` and scale `scale`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) outside the
    /// [valid range](Self#valid-range): `df` not in `[2e-18, 2e19]`, `loc` not finite, `scale`
    /// not in `[1e-18, 1e19]` (a device sync each);
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new(df: Tensor<D>, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let out = Self::new_unchecked(df, loc, scale)?;
        internal::in_range(
            Self::NAME,
            "df",
            &out.df,
            (2.0 * CONCENTRATION_MIN, 2.0 * CONCENTRATION_MAX),
            "finite and in [2e-18, 2e19] (twice the Gamma concentration range)",
        )?;
        internal::finite(Self::NAME, "loc", &out.loc)?;
        internal::in_range(
            Self::NAME,
            "scale",
            &out.scale,
            (SCALE_MIN, internal::SCALE_MAX),
            "finite and in [1e-18, 1e19]",
        )?;
        Ok(out)
    }

    /// Like [`new`](Self::new) without the value checks (no device sync); a sample at a bad
    /// `df` is NaN.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the shapes do not broadcast.
    pub fn new_unchecked(df: Tensor<D>, loc: Tensor<D>, scale: Tensor<D>) -> Result<Self> {
        let shape = internal::broadcast(Self::NAME, &[df.dims(), loc.dims(), scale.dims()])?;
        Ok(Self {
            df,
            loc,
            scale,
            shape,
        })
    }

    /// The degrees of freedom ν.
    pub fn df(&self) -> &Tensor<D> {
        &self.df
    }

    /// The location μ.
    pub fn loc(&self) -> &Tensor<D> {
        &self.loc
    }

    /// The scale σ.
    pub fn scale(&self) -> &Tensor<D> {
        &self.scale
    }

    /// The variance `σ²ν/(ν − 2)` for ν > 2, +∞ for 1 < ν ≤ 2, NaN for ν ≤ 1.
    pub fn variance(&self) -> Tensor<D> {
        let nu = self.df.clone();
        let v = self.scale.clone().square() * nu.clone() / nu.clone().sub_scalar(2.0);
        let v = v
            .mask_fill(nu.clone().lower_equal_elem(2.0), f32::INFINITY)
            .mask_fill(nu.lower_equal_elem(1.0), f32::NAN);
        v.expand(self.shape)
    }

    /// `μ + σT` from the standardized draw `(T, ln|T|)` of [`draw_standard`](Self::draw_standard):
    /// where `|T|` is beyond `f32` (heavy tails, ν below about 0.2; `T` is then clamped to
    /// `±f32::MAX`) the value is `μ ± exp(ln σ + ln|T|)`, so that a scale below 1 brings such a
    /// draw back into range with its exact value, and the gradients are those of `μ + σT` with
    /// the clamped `T` and `∂T/∂ν` (derivatives beyond `f32` are `±f32::MAX`, as everywhere in
    /// the host draws). A value beyond the finite `f32` range is returned as `±f32::MAX` (a
    /// constant there: no gradient). NaN stays NaN.
    fn located(&self, (t, ln_t): (Tensor<D>, Tensor<D>)) -> Tensor<D> {
        let direct = self.loc.clone() + self.scale.clone() * t.clone();
        // ln|T| is 0 where |T| is within f32 (T itself is then exact), at least ln f32::MAX
        // where it is not
        let big = ln_t.clone().greater_elem(LN_F32_MAX - 1.0);
        let exponent = self.scale.clone().detach().log() + ln_t;
        let overflow = exponent.clone().greater_elem(LN_F32_MAX);
        let value = self.loc.clone().detach()
            + t.clone().detach().sign() * exponent.clamp_max(LN_F32_MAX).exp();
        // the value in logarithms, the gradient of μ + σT (a constant correction)
        let far = direct.clone() + (value - direct.clone().detach());
        let x = direct.mask_where(big.clone(), far);
        let beyond = x
            .clone()
            .abs()
            .greater_elem(f32::MAX)
            .bool_or(big.clone().bool_and(overflow));
        // beyond f32 on the side of σT where |T| is (|σT| > f32::MAX ≥ |μ|; x itself can be
        // NaN there, ∞ − ∞ of the branch for a scale above 1)
        let side = x.clone().detach().sign().mask_where(big, t.detach().sign());
        x.mask_where(beyond, side.mul_scalar(f32::MAX))
    }

    /// The standardized sample `T` (clamped to the finite `f32` range) with `∂T/∂ν` attached,
    /// and `ln|T|` where `|T| ≥ f32::MAX` (0 elsewhere; a constant).
    fn draw_standard(&self, source: Source<'_>, with_gradient: bool) -> (Tensor<D>, Tensor<D>) {
        let shape = self.shape;
        let n: usize = shape.iter().product();
        let k = shape[D - 1];
        let device = self.df.device();
        let df = host_values(&self.df, shape);
        let grad = with_gradient && tracked(&self.df);
        let out = match source {
            // the streams of two outputs per element (the samples of earlier versions)
            Source::Noise(noise) => {
                draw_blocks_of(noise, n, WIDTH, SAMPLER_BLOCK / 2, |rng, i, out| {
                    let nu = df[i] as f64;
                    let alpha = 0.5 * nu;
                    let eps: f64 = StandardNormal.sample(rng);
                    let g = standard_gamma(rng, alpha);
                    // |t| = |ε| e^{−r/2}, r = ln(G/α), in logarithms: tiny ν puts most of t beyond f64
                    let ln_t = eps.abs().ln() - 0.5 * g.ln_ratio();
                    out[0] = eps.signum() * ln_t.exp();
                    out[1] = if grad {
                        let e = g.elasticity_excess();
                        -eps.signum() * e.signum() * (ln_t + e.abs().ln() - (2.0 * nu).ln()).exp()
                    } else {
                        0.0
                    };
                    if ln_t >= LN_F32_MAX as f64 {
                        out[2] = ln_t;
                    }
                })
            }
            Source::Uniform(u) => map_units(n, WIDTH, |i, out| {
                let nu = df[i] as f64;
                let alpha = 0.5 * nu;
                let (row, c) = (i / k, i % k);
                let (u1, u2) = (u[row * 2 * k + c], u[row * 2 * k + k + c]);
                let r1 = gamma_ln_quantile_ratio(alpha, u1, 1.0 - u1);
                let r2 = gamma_ln_quantile_ratio(alpha, u2, 1.0 - u2);
                let half = 0.5 * (r1 - r2);
                let root = nu.sqrt();
                // t = √ν sinh(h), ∂t/∂ν = (sinh h + cosh h (e₁ − e₂))/(2√ν); for |h| ≥ 20
                // sinh h = sign(h) cosh h = sign(h) e^{|h|}/2 to 1e-17, taken in logarithms
                let large = half.abs() >= 20.0;
                out[0] = if large {
                    half.signum() * (half.abs() - core::f64::consts::LN_2 + root.ln()).exp()
                } else {
                    root * half.sinh()
                };
                // beyond f32 (then |h| ≥ 20): ln|T| = |h| − ln 2 + ½ ln ν
                let ln_t = half.abs() - core::f64::consts::LN_2 + 0.5 * nu.ln();
                if large && ln_t >= LN_F32_MAX as f64 {
                    out[2] = ln_t;
                }
                out[1] = if grad {
                    let (e1, e2) = (
                        gamma_elasticity_excess(alpha, r1),
                        gamma_elasticity_excess(alpha, r2),
                    );
                    if large {
                        let s = half.signum() + (e1 - e2);
                        s.signum()
                            * (half.abs() - core::f64::consts::LN_2 + s.abs().ln()
                                - (2.0 * root).ln())
                            .exp()
                    } else {
                        (half.sinh() + half.cosh() * (e1 - e2)) / (2.0 * root)
                    }
                } else {
                    0.0
                };
            }),
        };
        let t = to_device(column(&out, WIDTH, 0), shape, &device);
        let ln_t = to_device(column(&out, WIDTH, 2), shape, &device);
        if grad {
            let slope = to_device(column(&out, WIDTH, 1), shape, &device);
            (attach(t, &self.df, slope), ln_t)
        } else {
            (t, ln_t)
        }
    }
}

impl<const D: usize> Distribution<D> for StudentT<D> {
    type Value = Tensor<D>;
    const NAME: &'static str = "StudentT";

    fn value_shape(&self) -> [usize; D] {
        self.shape
    }

    fn device(&self) -> Device {
        self.df.device()
    }

    fn sample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        let t = self.draw_standard(Source::Noise(noise), false);
        self.located(t).detach()
    }

    /// `ln Γ((ν + 1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − ((ν + 1)/2) ln(1 + t²)`,
    /// `t = (x − μ)/(σ√ν)`; for `t > e^{10}` the logarithm is taken as
    /// `2 ln t + ln(1 + t⁻²)` with `ln t = ln|x − μ| − ln σ − ½ ln ν`, so far tails (a t with
    /// ν = 1e-3 puts most of its mass beyond `f32::MAX`) keep a finite log-density. `x − μ` is
    /// formed as `2(x/2 − μ/2)`, finite for every finite `x` and `μ` (their difference can
    /// exceed `f32::MAX`), and `t` only where it is at most `e^{10}`. `−∞` for `x` NaN or
    /// infinite (outside the real line).
    fn log_prob(&self, value: &Tensor<D>) -> Result<Tensor<D>> {
        let shape = internal::value_shape("StudentT::log_prob", value.dims(), self.shape)?;
        let outside = value.clone().is_finite().bool_not().expand(shape);
        let nu = self.df.clone();
        let x = value
            .clone()
            .mask_fill(value.clone().is_finite().bool_not(), 0.0);
        let half = (x.mul_scalar(0.5) - self.loc.clone().mul_scalar(0.5)).expand(shape);
        let magnitude = half.clone().abs();
        let ln_t = (magnitude.clone().clamp_min(f32::MIN_POSITIVE).log()
            - self.scale.clone().log()
            - nu.clone().log().mul_scalar(0.5))
        .add_scalar(core::f32::consts::LN_2)
        .expand(shape);
        // a difference below the normal range is 0 (some backends flush it), never "far"
        let far = ln_t
            .clone()
            .greater_elem(10.0)
            .bool_and(magnitude.greater_equal_elem(f32::MIN_POSITIVE));
        let ln_tc = ln_t.clamp_min(10.0);
        let tail = ln_tc.clone().mul_scalar(2.0) + log1p(ln_tc.mul_scalar(-2.0).exp());
        // |t| ≤ e^{10} where it is used: no overflow, no 0/0
        let near_half = half.mask_fill(far.clone(), 0.0);
        let t = near_half.mul_scalar(2.0) / self.scale.clone() / nu.clone().sqrt();
        let near = log1p(t.clamp(-3e4, 3e4).square());
        let log_term = near.mask_where(far, tail);
        let lp = ln_gamma_half_ratio(nu.clone().mul_scalar(0.5))
            - nu.clone().log().mul_scalar(0.5)
            - self.scale.clone().log()
            - nu.add_scalar(1.0).mul_scalar(0.5) * log_term;
        Ok(lp
            .sub_scalar(HALF_LN_PI)
            .expand(shape)
            .mask_fill(outside, f32::NEG_INFINITY))
    }

    fn replicate(&self, n: usize) -> Self {
        Self {
            df: internal::replicate(&self.df, n, self.shape[0]),
            loc: internal::replicate(&self.loc, n, self.shape[0]),
            scale: internal::replicate(&self.scale, n, self.shape[0]),
            shape: internal::replicated_shape(self.shape, n),
        }
    }
}

impl<const D: usize> Entropy<D> for StudentT<D> {
    /// `((ν + 1)/2)(ψ((ν + 1)/2) − ψ(ν/2)) + ½ ln ν + ½ ln π − (ln Γ((ν + 1)/2) − ln Γ(ν/2)) + ln σ`.
    fn entropy(&self) -> Tensor<D> {
        let nu = self.df.clone();
        let half = nu.clone().mul_scalar(0.5);
        let h = half.clone().add_scalar(0.5) * digamma_half_difference(half.clone())
            + nu.log().mul_scalar(0.5)
            - ln_gamma_half_ratio(half)
            + self.scale.clone().log();
        h.add_scalar(HALF_LN_PI).expand(self.shape)
    }
}

impl<const D: usize> Mean<D> for StudentT<D> {
    /// μ for ν > 1, NaN for ν ≤ 1 (no mean).
    fn mean(&self) -> Tensor<D> {
        let undefined = self.df.clone().lower_equal_elem(1.0).expand(self.shape);
        self.loc
            .clone()
            .expand(self.shape)
            .mask_fill(undefined, f32::NAN)
    }
}

impl<const D: usize> Reparameterized<D> for StudentT<D> {
    const NOISE: StandardNoise = StandardNoise::Uniform;

    /// Uniform noise for the two Gamma quantiles: the last axis doubled.
    fn noise_shape(&self) -> [usize; D] {
        widened(self.shape, 2)
    }

    /// `μ + σ √ν sinh((ln G₁ − ln G₂)/2)` with two Gamma(ν/2) quantiles of `eps` (`[..., 2K]`).
    fn transform_noise(&self, eps: Tensor<D>) -> Tensor<D> {
        let t = self.draw_standard(Source::Uniform(uniform_noise(&eps)), true);
        self.located(t)
    }

    /// `μ + σ ε √(α/G)` with a Marsaglia–Tsang Gamma(ν/2) draw.
    fn rsample(&self, noise: &mut NoiseSource) -> Tensor<D> {
        let t = self.draw_standard(Source::Noise(noise), true);
        self.located(t)
    }
}
