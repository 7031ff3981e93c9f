//! Explicit, seedable noise.
//!
//! Every random draw in `mcgrad` comes from a [`NoiseSource`] that the caller owns and passes
//! in. Library code never touches a global generator: Burn's `Device::seed` seeds one
//! process-wide stream that parallel tests race on, so it is not used anywhere.
//!
//! Noise is drawn on the host by a Xoshiro256++ generator (the algorithm is named and pinned,
//! so a seed means the same numbers in every release of this crate) and copied to the
//! device as one tensor. The differentiable transforms (`μ + σ·ε`, `softmax((l + g)/τ)`, ...)
//! then run on the device, so the noise draw and the transform stay apart: tests and users can
//! pass their own fixed noise to every `rsample_with_noise`.
//!
//! # Reproducibility
//!
//! - Same seed and same sequence of draws give bit-identical noise on every machine, thread
//!   count and device: the noise is produced sequentially on the host in `f64` and rounded to
//!   `f32`.
//! - Samples (noise pushed through a transform) are bit-identical across runs and thread
//!   counts on the same device. Across devices they agree to floating-point rounding: a GPU
//!   may evaluate `exp`, `log` or a matrix product with different rounding than the CPU.
//!
//! # Speed
//!
//! Drawing is on the hot path of every estimator; `benches/noise.rs` measures it and
//! docs/BENCHMARKS.md records the figures (a few ns per element, against PyTorch's
//! 25-30 ns per exponential draw on the same machine).

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution as _, Exp1, StandardNormal};
use rayon::prelude::*;

/// The standard laws that noise is drawn from; each pathwise family is a differentiable
/// transform of one of them.
///
/// Every draw is finite and lies in the closed interval [`bounds`](Self::bounds) of its law:
/// the generator's uniforms have 52 or 53 random bits, so no tail reaches further (the
/// exponential's one unbounded case, a uniform of exactly 0 in its tail, with probability
/// about 2⁻⁶¹ per draw, is clamped to the bound). The distributions' constructors rely on
/// these bounds for their valid ranges.
///
/// # Examples
///
/// ```
/// use mcgrad::{NoiseSource, StandardNoise};
///
/// let mut noise = NoiseSource::seed_from_u64(0);
/// for law in StandardNoise::ALL {
///     let (low, high) = law.bounds();
///     assert!(noise.vec(law, 10_000).iter().all(|&x| low <= x && x <= high));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StandardNoise {
    /// Uniform on the open interval (0, 1): values lie in [2⁻²⁴, 1 − 2⁻²⁴], never 0 or 1.
    Uniform,
    /// Standard normal N(0, 1) (ziggurat): values lie in [−13.708, 13.708].
    Normal,
    /// Standard exponential Exp(1) (ziggurat): values lie in [0, 44.434].
    Exponential,
    /// Standard Gumbel, `−ln E` with `E ~ Exp(1)`: values lie in [−3.795, 103.973].
    Gumbel,
    /// Standard logistic, `ln U − ln(1 − U)` with `U` uniform on (0, 1): values lie in
    /// [−36.737, 36.737].
    Logistic,
    /// Standard Laplace, `±E` with `E ~ Exp(1)` and a fair sign: values lie in
    /// [−44.434, 44.434].
    Laplace,
}

/// The largest standard exponential draw: the ziggurat's tail start `r = 7.697…` plus
/// `−ln 2⁻⁵³`, the smallest nonzero uniform of its tail.
const EXP1_MAX: f64 = 44.433_918_039_808_15;

impl StandardNoise {
    /// Every law, in declaration order.
    pub const ALL: [StandardNoise; 6] = [
        StandardNoise::Uniform,
        StandardNoise::Normal,
        StandardNoise::Exponential,
        StandardNoise::Gumbel,
        StandardNoise::Logistic,
        StandardNoise::Laplace,
    ];

    /// The closed interval `[low, high]` that every draw of this law lies in, rounded outward.
    ///
    /// Derivation: the normal and exponential ziggurats (rand_distr) return at most their
    /// tail start `r` plus `−ln u` (exponential) or `r + (−ln u)/r` (normal), with `u ≥ 2⁻⁵³`;
    /// the Gumbel map `−ln e` of an exponential `e ∈ [0, 44.434]` is at most `150 ln 2`, what
    /// [`ln_f32`] gives at 0; the logistic map of a uniform `u ∈ [2⁻⁵³, 1 − 2⁻⁵³]` is at most
    /// `−ln 2⁻⁵³` in magnitude.
    pub const fn bounds(self) -> (f32, f32) {
        match self {
            StandardNoise::Uniform => (1.0 / 16_777_216.0, 1.0 - 1.0 / 16_777_216.0),
            StandardNoise::Normal => (-13.708, 13.708),
            StandardNoise::Exponential => (0.0, 44.434),
            StandardNoise::Gumbel => (-3.795, 103.973),
            StandardNoise::Logistic => (-36.737, 36.737),
            StandardNoise::Laplace => (-44.434, 44.434),
        }
    }
}

/// A seedable source of noise, owned by the caller and passed to every sampling call.
///
/// # Examples
///
/// ```
/// use burn::prelude::*;
/// use mcgrad::{NoiseSource, StandardNoise};
///
/// let device = Device::flex();
/// let mut a = NoiseSource::seed_from_u64(7);
/// let mut b = NoiseSource::seed_from_u64(7);
/// let x = a.tensor::<2>(StandardNoise::Normal, [4, 3], &device);
/// let y = b.tensor::<2>(StandardNoise::Normal, [4, 3], &device);
/// assert_eq!(x.into_data(), y.into_data());
/// ```
#[derive(Debug, Clone)]
pub struct NoiseSource {
    rng: Xoshiro256PlusPlus,
}

impl NoiseSource {
    /// A source seeded from a `u64` (SplitMix64 expansion of the seed, as in `rand`).
    pub fn seed_from_u64(seed: u64) -> Self {
        Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// An independent child source, seeded from this one's stream. Use it to give each
    /// worker or each part of a model its own stream while keeping the whole run reproducible.
    pub fn fork(&mut self) -> Self {
        Self::seed_from_u64(self.rng.next_u64())
    }

    /// The underlying generator, for draws this type does not offer.
    pub fn rng(&mut self) -> &mut impl Rng {
        &mut self.rng
    }

    /// Fills `out` with independent draws from `law`.
    ///
    /// Up to [`BLOCK`] values come from this source's stream in order. A larger draw is cut
    /// into blocks of [`BLOCK`] values, each generated from its own Xoshiro256++ stream seeded
    /// by the next output of this one, on the rayon thread pool: the values do not depend on
    /// the number of threads.
    pub fn fill(&mut self, law: StandardNoise, out: &mut [f32]) {
        if out.len() <= BLOCK {
            fill_block(&mut self.rng, law, out);
            return;
        }
        let seeds: Vec<u64> = (0..out.len().div_ceil(BLOCK))
            .map(|_| self.rng.next_u64())
            .collect();
        out.par_chunks_mut(BLOCK)
            .zip(seeds)
            .for_each(|(block, seed)| {
                fill_block(&mut Xoshiro256PlusPlus::seed_from_u64(seed), law, block)
            });
    }

    /// A vector of `n` independent draws from `law`.
    pub fn vec(&mut self, law: StandardNoise, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n];
        self.fill(law, &mut out);
        out
    }

    /// A tensor of the given shape, filled with independent draws from `law`, on `device`.
    ///
    /// The tensor is a constant (it never requires a gradient), whatever the device.
    pub fn tensor<const D: usize>(
        &mut self,
        law: StandardNoise,
        shape: [usize; D],
        device: &Device,
    ) -> Tensor<D> {
        let n = shape.iter().product();
        Tensor::from_data(TensorData::new(self.vec(law, n), shape), device)
    }
}

/// The size of the blocks a large draw is generated in (see [`NoiseSource::fill`]).
pub const BLOCK: usize = 1 << 16;

/// One block of draws from one stream. The transcendental part runs as a separate pass of
/// [`ln_f32`] over the buffer, which the compiler vectorizes.
fn fill_block(rng: &mut Xoshiro256PlusPlus, law: StandardNoise, out: &mut [f32]) {
    match law {
        StandardNoise::Uniform => out.iter_mut().for_each(|x| *x = uniform_open_f32(rng)),
        StandardNoise::Normal => out.iter_mut().for_each(|x| {
            let v: f64 = StandardNormal.sample(rng);
            *x = v as f32;
        }),
        StandardNoise::Exponential => out.iter_mut().for_each(|x| *x = exp1(rng) as f32),
        StandardNoise::Gumbel => {
            out.iter_mut().for_each(|x| *x = exp1(rng) as f32);
            out.iter_mut()
                .for_each(|x| *x = gumbel_from_exponential(*x));
        }
        StandardNoise::Logistic => {
            // ln u − ln(1 − u) with u on the 52-bit grid, both terms rounded to f32 first
            let mut complement = vec![0f32; out.len()];
            out.iter_mut()
                .zip(complement.iter_mut())
                .for_each(|(x, c)| {
                    let u = uniform_open_f64(rng);
                    *x = u as f32;
                    *c = (1.0 - u) as f32;
                });
            out.iter_mut()
                .zip(&complement)
                .for_each(|(x, &c)| *x = logistic_from_parts(*x, c));
        }
        StandardNoise::Laplace => out.iter_mut().for_each(|x| {
            let bits = rng.next_u64();
            // a fair sign from one word, the magnitude from the ziggurat
            let e = exp1(rng);
            *x = if bits >> 63 == 1 { e as f32 } else { -e as f32 };
        }),
    }
}

/// A standard exponential draw, bounded by [`EXP1_MAX`] (it changes nothing but the draw of
/// probability 2⁻⁵³ per tail visit whose uniform is exactly 0, which would be `+∞`).
#[inline(always)]
fn exp1(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let v: f64 = Exp1.sample(rng);
    v.min(EXP1_MAX)
}

/// The natural logarithm of a positive finite `f32` (normal or subnormal), branch-free so
/// that loops over it vectorize: `x = 2^e·m` with `m ∈ [√½, √2)`, and
/// `ln m = 2 atanh(s) = 2s(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9 + s¹⁰/11)`, `s = (m − 1)/(m + 1)`,
/// `|s| ≤ 0.1716`, truncation error below `s¹²/13 ≈ 5e-11`; with the `f32` rounding of `s` the
/// result is within 3 ulp of the correctly rounded logarithm (tested against `f64::ln`), plenty
/// for noise.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    // subnormals: scale into the normal range first (2^23) and correct the exponent
    let tiny = x < f32::MIN_POSITIVE;
    let x = if tiny { x * 8_388_608.0 } else { x };
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127 - if tiny { 23 } else { 0 };
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > core::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
    // e·ln 2 split in two parts for accuracy at large |e|
    let ef = e as f32;
    (2.0 * s * p + ef * 1.428_606_8e-6) + ef * 0.693_145_75
}

/// Uniform on (0, 1) in `f32`: `(k + ½)·2⁻²³` for a 23-bit `k`, so exactly representable and
/// never 0 or 1.
fn uniform_open_f32(rng: &mut impl Rng) -> f32 {
    ((rng.next_u64() >> 41) as f32 + 0.5) * (1.0 / (1u64 << 23) as f32)
}

/// Uniform on (0, 1) in `f64`: `(k + ½)·2⁻⁵²` for a 52-bit `k`, never 0 or 1.
fn uniform_open_f64(rng: &mut impl Rng) -> f64 {
    ((rng.next_u64() >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

/// Standard Gumbel noise from a standard exponential draw: `g = −ln e`, the map the sampler
/// applies to its exponential draws.
///
/// Finite for every non-negative finite `e` (even 0, which [`ln_f32`] takes to `−150 ln 2`).
/// Public so that tests can pin the map at the edges of the noise range.
#[inline(always)]
pub fn gumbel_from_exponential(e: f32) -> f32 {
    -ln_f32(e)
}

/// Standard logistic noise from a uniform draw on (0, 1): `ln u − ln(1 − u)`, with `u` and
/// `1 − u` rounded to `f32` first: the map the sampler applies to its uniform draws.
pub fn logistic_from_uniform(u: f64) -> f32 {
    logistic_from_parts(u as f32, (1.0 - u) as f32)
}

/// `ln u − ln c` for `c = 1 − u`, both already rounded to `f32`.
#[inline(always)]
fn logistic_from_parts(u: f32, c: f32) -> f32 {
    ln_f32(u) - ln_f32(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_f32_stays_inside_the_open_interval() {
        // the extreme values of the 23-bit grid
        let lo = (0.0f32 + 0.5) * (1.0 / (1u64 << 23) as f32);
        let hi = (((1u64 << 23) - 1) as f32 + 0.5) * (1.0 / (1u64 << 23) as f32);
        assert!(lo > 0.0 && hi < 1.0);
        let mut s = NoiseSource::seed_from_u64(1);
        let v = s.vec(StandardNoise::Uniform, 100_000);
        assert!(v.iter().all(|&u| u > 0.0 && u < 1.0));
    }

    #[test]
    fn noise_maps_are_finite_at_the_edges() {
        for u in [2f64.powi(-53), 1e-300, 0.5, 1.0 - f64::EPSILON / 2.0] {
            assert!(logistic_from_uniform(u).is_finite(), "u = {u}");
        }
        for e in [0.0, f32::from_bits(1), f32::MIN_POSITIVE, 1e-30, 1.0, 745.0] {
            assert!(gumbel_from_exponential(e).is_finite(), "e = {e}");
        }
    }

    /// The public maps are the ones the sampler applies: the same stream pushed through them
    /// gives the sampler's draws bit for bit.
    #[test]
    fn the_sampler_applies_the_public_maps() {
        let n = 4096;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let want: Vec<u32> = (0..n)
            .map(|_| logistic_from_uniform(uniform_open_f64(&mut rng)).to_bits())
            .collect();
        let got = NoiseSource::seed_from_u64(5).vec(StandardNoise::Logistic, n);
        assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
        let want: Vec<u32> = (0..n)
            .map(|_| gumbel_from_exponential(exp1(&mut rng) as f32).to_bits())
            .collect();
        let got = NoiseSource::seed_from_u64(6).vec(StandardNoise::Gumbel, n);
        assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
    }

    /// The documented bounds hold at the extreme inputs of each map (the draws that reach
    /// them are too rare to sample), and many ordinary draws stay inside them.
    #[test]
    fn every_law_stays_within_its_bounds() {
        let smallest = 2f64.powi(-53);
        // the normal tail: r + (−ln u)/r at the smallest uniform
        let r = 3.654_152_885_361_009;
        let normal_max = (r - smallest.ln() / r) as f32;
        assert!(
            normal_max <= StandardNoise::Normal.bounds().1,
            "{normal_max}"
        );
        // the exponential tail: r + (−ln u)
        let exp_max = (7.697_117_470_131_05 - smallest.ln()) as f32;
        assert!(exp_max <= StandardNoise::Exponential.bounds().1 && exp_max == EXP1_MAX as f32);
        let (lo, hi) = StandardNoise::Gumbel.bounds();
        assert!(gumbel_from_exponential(0.0) <= hi && gumbel_from_exponential(0.0) > hi - 1e-3);
        assert!(gumbel_from_exponential(EXP1_MAX as f32) >= lo);
        let (lo, hi) = StandardNoise::Logistic.bounds();
        assert!(logistic_from_uniform(smallest) >= lo);
        assert!(logistic_from_uniform(1.0 - smallest) <= hi);
        let mut s = NoiseSource::seed_from_u64(11);
        for law in StandardNoise::ALL {
            let (lo, hi) = law.bounds();
            assert!(
                s.vec(law, 200_000).iter().all(|&x| lo <= x && x <= hi),
                "{law:?}"
            );
        }
    }

    #[test]
    fn ln_f32_is_within_three_ulp_everywhere() {
        let mut worst = 0.0f64;
        let mut check = |x: f32| {
            let got = ln_f32(x) as f64;
            let want = (x as f64).ln();
            let ulp = (want as f32).abs().max(f32::MIN_POSITIVE);
            let ulp = (f32::from_bits(ulp.to_bits() + 1) - ulp) as f64;
            worst = worst.max((got - want).abs() / ulp);
        };
        // every power of two's neighbourhood, and a dense sweep of the mantissa
        for bits in (1u32..0x7f80_0000).step_by(997) {
            check(f32::from_bits(bits));
        }
        for k in 0..100_000 {
            check(0.5 + k as f32 / 100_000.0);
        }
        assert!(worst <= 3.0, "worst error {worst} ulp");
    }

    #[test]
    fn large_draws_do_not_depend_on_the_block_schedule() {
        // the same seed gives the same values whatever the pool does
        let a = NoiseSource::seed_from_u64(9).vec(StandardNoise::Gumbel, 3 * BLOCK + 17);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool
            .install(|| NoiseSource::seed_from_u64(9).vec(StandardNoise::Gumbel, 3 * BLOCK + 17));
        assert_eq!(a, b);
    }

    #[test]
    fn fork_gives_a_different_but_reproducible_stream() {
        let mut a = NoiseSource::seed_from_u64(3);
        let mut b = NoiseSource::seed_from_u64(3);
        let mut ca = a.fork();
        let mut cb = b.fork();
        let x = ca.vec(StandardNoise::Uniform, 8);
        assert_eq!(x, cb.vec(StandardNoise::Uniform, 8));
        assert_ne!(x, a.vec(StandardNoise::Uniform, 8));
    }
}
