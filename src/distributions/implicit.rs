//! What the implicitly reparameterized families (Gamma, Beta, Dirichlet, Chi2, Student-t,
//! von Mises) share: reading parameters to the host, drawing on the host in parallel blocks from
//! the caller's [`NoiseSource`], and attaching the implicit gradient to the parameters.
//!
//! # How the gradient reaches the parameters
//!
//! The sample `z` and its derivatives `∂z/∂θ` are computed on the host in `f64` (by a rejection
//! sampler or by the quantile function, and the implicit-function theorem). On the device the
//! sample is rebuilt as
//!
//! `z = z_c + Σ_θ (θ − sg(θ)) · (∂z/∂θ)_c`
//!
//! with `z_c` and `(∂z/∂θ)_c` constants. For finite parameters `θ − sg(θ)` is exactly 0, so the
//! forward value is `z_c` bit for bit, and the gradient of anything computed from `z` reaches
//! each θ multiplied by `∂z/∂θ`: autodiff carries the implicit gradient on every device, with
//! no custom backward op.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::internal;
use crate::error::Result;
use crate::rng::NoiseSource;

/// The smallest concentration (Gamma shape, Beta and Dirichlet concentrations; half the degrees
/// of freedom of Chi2 and Student-t) a validated constructor accepts.
///
/// Below it nothing is left to sample in `f32`: a Gamma(α) draw is below the smallest normal
/// `f32` with probability `1 − 87α` or so (every draw is returned as `1.2e-38`), and the
/// implicit derivative of `ln x`, `∂ln x/∂α ≈ −ln U/α²` with `|ln U| ≤ 37`, leaves the `f32`
/// range below `3.3e-19` (it would be clamped, i.e. wrong). At `1e-18` it is at most `3.7e37`,
/// and `ψ(α) ≈ −1/α`, the gradient of the log-density, is `−1e18`.
pub(crate) const CONCENTRATION_MIN: f32 = 1e-18;

/// The largest concentration a validated constructor accepts: the Gamma quantile transform and
/// the Marsaglia–Tsang sampler are exact in `f64` there, and every derived quantity (a Gamma
/// mean `α/β` at the smallest rate allowed for it, a log-density `−α(r − 1 − ln r)`, the sum
/// `α₀` of a Dirichlet row) stays far inside `f32`.
pub(crate) const CONCENTRATION_MAX: f32 = 1e19;

/// The requirement string of a concentration.
pub(crate) const CONCENTRATION_RANGE: &str = "finite and in [1e-18, 1e19]";

/// Fails with [`Error::InvalidParameter`](crate::Error::InvalidParameter) unless every element
/// is a valid concentration, finite and in `[CONCENTRATION_MIN, CONCENTRATION_MAX]`.
pub(crate) fn concentration<const D: usize>(
    owner: &'static str,
    name: &'static str,
    t: &Tensor<D>,
) -> Result<()> {
    internal::in_range(
        owner,
        name,
        t,
        (CONCENTRATION_MIN, CONCENTRATION_MAX),
        CONCENTRATION_RANGE,
    )
}

/// The generator each block of a draw uses.
pub(crate) type BlockRng = Xoshiro256PlusPlus;

/// The number of elements drawn from one generator stream; a draw of more is cut into blocks,
/// each seeded by the next output of the caller's source and run on the rayon pool, so the
/// values do not depend on the number of threads.
pub(crate) const SAMPLER_BLOCK: usize = 2048;

/// A parameter broadcast to `shape`, read to the host (one device sync).
pub(crate) fn host_values<const D: usize>(t: &Tensor<D>, shape: [usize; D]) -> Vec<f32> {
    let t = if t.dims() == shape {
        t.clone()
    } else {
        t.clone().expand(shape)
    };
    t.try_into_vec_as::<f32>()
        .expect("a float tensor can be read back")
}

/// A host vector as a tensor of `shape` on `device` (a constant).
pub(crate) fn to_device<const D: usize>(
    v: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Whether gradients can flow to `t` (so its implicit derivative is worth computing).
pub(crate) fn tracked<const D: usize>(t: &Tensor<D>) -> bool {
    t.is_autodiff() && t.is_tracked()
}

/// `value + (θ − sg θ) · slope`: exactly `value` forward, `∂/∂θ = slope`.
pub(crate) fn attach<const D: usize>(
    value: Tensor<D>,
    theta: &Tensor<D>,
    slope: Tensor<D>,
) -> Tensor<D> {
    value + (theta.clone() - theta.clone().detach()) * slope
}

/// Runs `draw(rng, unit, out)` for `units` independent units of `width` outputs each (an
/// element's sample and derivatives, or a Dirichlet row's), in blocks of about
/// [`SAMPLER_BLOCK`] outputs, each block from its own stream seeded by `noise`. Returns the
/// outputs unit-major, `units · width` values.
pub(crate) fn draw_blocks<F>(
    noise: &mut NoiseSource,
    units: usize,
    width: usize,
    draw: F,
) -> Vec<f64>
where
    F: Fn(&mut BlockRng, usize, &mut [f64]) + Sync,
{
    draw_blocks_of(
        noise,
        units,
        width,
        (SAMPLER_BLOCK / width.max(1)).max(1),
        draw,
    )
}

/// [`draw_blocks`] with `per_block` units per generator stream given (a family that adds
/// outputs per unit keeps its streams, and so its samples, by keeping the block size).
pub(crate) fn draw_blocks_of<F>(
    noise: &mut NoiseSource,
    units: usize,
    width: usize,
    per_block: usize,
    draw: F,
) -> Vec<f64>
where
    F: Fn(&mut BlockRng, usize, &mut [f64]) + Sync,
{
    let per_block = per_block.max(1);
    let blocks = units.div_ceil(per_block);
    let seeds: Vec<u64> = (0..blocks).map(|_| noise.rng().next_u64()).collect();
    let mut out = vec![0.0f64; units * width];
    out.par_chunks_mut(per_block * width)
        .zip(seeds)
        .enumerate()
        .for_each(|(b, (chunk, seed))| {
            let mut rng = BlockRng::seed_from_u64(seed);
            for (j, unit) in chunk.chunks_mut(width).enumerate() {
                draw(&mut rng, b * per_block + j, unit);
            }
        });
    out
}

/// A uniform draw on the open interval (0, 1), `(k + ½)·2⁻⁵³` for a 53-bit `k`.
#[inline]
pub(crate) fn open_uniform(rng: &mut BlockRng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// Column `j` of unit-major outputs of width `width`, rounded to `f32` and clamped to the
/// finite range (a derivative beyond `f32` becomes ±`f32::MAX`; NaN stays NaN).
pub(crate) fn column(out: &[f64], width: usize, j: usize) -> Vec<f32> {
    out.iter()
        .skip(j)
        .step_by(width)
        .map(|&v| finite_f32(v))
        .collect()
}

/// `v` rounded to `f32`, ±∞ clamped to ±`f32::MAX`.
#[inline]
pub(crate) fn finite_f32(v: f64) -> f32 {
    if v.is_nan() {
        f32::NAN
    } else {
        v.clamp(-(f32::MAX as f64), f32::MAX as f64) as f32
    }
}

/// The uniform noise of a quantile transform, read to the host as `(u, 1 − u)` in `f64` (the
/// complement is exact for `f32` noise, so upper tails keep their precision).
pub(crate) fn uniform_noise<const D: usize>(eps: &Tensor<D>) -> Vec<f64> {
    eps.clone()
        .try_into_vec_as::<f32>()
        .expect("a float tensor can be read back")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// A shape with its last axis multiplied by `k` (the noise of two-gamma families).
pub(crate) fn widened<const D: usize>(shape: [usize; D], k: usize) -> [usize; D] {
    let mut out = shape;
    out[D - 1] *= k;
    out
}

/// Like [`draw_blocks`] for a deterministic map (a quantile transform): `map(unit, out)` for
/// every unit, in parallel.
pub(crate) fn map_units<F>(units: usize, width: usize, map: F) -> Vec<f64>
where
    F: Fn(usize, &mut [f64]) + Sync,
{
    let mut out = vec![0.0f64; units * width];
    let per_block = (SAMPLER_BLOCK / width.max(1)).max(1);
    out.par_chunks_mut(per_block * width)
        .enumerate()
        .for_each(|(b, chunk)| {
            for (j, unit) in chunk.chunks_mut(width).enumerate() {
                map(b * per_block + j, unit);
            }
        });
    out
}

/// Where the noise of a host draw comes from: the caller's source (a rejection sampler) or
/// given uniforms (the quantile transform).
pub(crate) enum Source<'a> {
    /// Draw with a rejection sampler from this source.
    Noise(&'a mut NoiseSource),
    /// Invert the distribution function at these uniforms (`f64`, from `f32` noise).
    Uniform(Vec<f64>),
}

/// `y · ln x` element-wise for `x ≥ 0`, with the limits at `x = 0` (`−∞` for `y > 0`, `0` for
/// `y = 0`, `+∞` for `y < 0`; constants, so no gradient); the result has the broadcast shape
/// `shape`. Away from 0 the logarithm is [`ln_positive`] (exact for subnormal `x` too), so
/// neither branch of the mask can send a NaN into the gradient.
pub(crate) fn xlogy<const D: usize>(y: Tensor<D>, x: Tensor<D>, shape: [usize; D]) -> Tensor<D> {
    let x = x.expand(shape);
    let at_zero = x.clone().lower_equal_elem(0.0);
    let main = (y.clone() * ln_positive(x)).expand(shape);
    let y0 = y.detach().expand(shape);
    let limit = y0
        .zeros_like()
        .mask_fill(y0.clone().greater_elem(0.0), f32::NEG_INFINITY)
        .mask_fill(y0.lower_elem(0.0), f32::INFINITY);
    main.mask_where(at_zero, limit)
}

/// `2³²`, the scale that makes every positive subnormal `f32` a normal one.
const SUBNORMAL_SCALE: f32 = 4_294_967_296.0;

/// `ln 2³²`.
const LN_SUBNORMAL_SCALE: f32 = 22.180_71;

/// `ln x` element-wise for `x > 0`, exact for subnormal `x` too (as `ln(2³²x) − 32 ln 2`;
/// a backend may take the logarithm of a subnormal as that of 0 or of the smallest normal
/// float); `ln 1.2e-38` for `x ≤ 0` (callers mask those). Finite for every finite `x`.
pub(crate) fn ln_positive<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let tiny = x.clone().lower_elem(f32::MIN_POSITIVE);
    let scaled = x
        .clone()
        .mask_fill(tiny.clone().bool_not(), 1.0)
        .mul_scalar(SUBNORMAL_SCALE)
        .clamp_min(f32::MIN_POSITIVE)
        .log()
        .sub_scalar(LN_SUBNORMAL_SCALE);
    x.clamp_min(f32::MIN_POSITIVE)
        .log()
        .mask_where(tiny, scaled)
}
