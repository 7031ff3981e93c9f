//! Adversarial checks of the discrete estimators of issues 11 and 12 (ARM, DisARM and its
//! multi-sample bound, REBAR, RELAX, ReinMax, Gumbel-Rao, decoupled straight-through, GRPO,
//! Dr. GRPO, the variance diagnostics) on inputs the other test files do not use: rank-3
//! latents, two classes, a cost coupling every latent with a large negative offset, a bound
//! whose cost has parameters of its own, costs near `±f32::MAX`, a caller's control variate
//! of the wrong shape, groups of equal rewards, and the claims of the doc comments (ReinMax on a
//! Bernoulli is ReinMax on two classes; Gumbel-Rao with `K = 1` and decoupled ST at τ_f = τ_b
//! = 1 are ST Gumbel-softmax; the same seed gives the same bits, on one or two threads; flex
//! and ndarray agree).
//!
//! Regressions (each failed before the fix in the same commit as this file):
//! - `Rebar` accepted a fixed η beyond `f32::MAX` and returned NaN;
//! - `Rebar`'s running η became NaN for good after one batch of costs near 1e20 (or one NaN
//!   cost), and its leave-one-out η was `∞` where `f·c` overflowed while `c²` did not;
//! - `Relax` panicked (or cut silently) on a control variate returning the wrong shapes;
//! - ARM and DisARM returned `∞`/NaN for costs of `±3e38`, whose gradient is finite;
//! - `GradientStatistics::from_stacked` gave equal estimates a variance of ~1e-17 (and a
//!   signal-to-noise ratio of ~1e7 instead of `+∞`);
//! - GRPO gave a group of equal rewards advantages of ±0.8 (the rounded group mean, divided by
//!   the group's standard deviation of one ulp);
//! - `reinmax`, `gumbel_rao` and `decoupled_straight_through` returned NaN for raw logits near
//!   `±3e38` at τ ≤ 0.5;
//! - `Grpo::epsilon` accepted an ε that is 0 in f32 (NaN for a group of equal costs);
//! - `Relax` panicked with a `ControlNetwork` of zero hidden units.
//!
//! Exact values: `∇θ Σ_x p_θ(x) f(x)` by enumeration ([`exact_expectation`] differentiated by
//! autodiff), or the closed forms derived at each test.
//!
//! False-failure rate: each statistical check is the kit's z-test at 1e-6 for its whole
//! parameter vector (Bonferroni inside); 13 of them in this file, so a correct estimator fails
//! the file with probability below 2e-5. Seeds are fixed. The negative controls (a control
//! variate with an inconsistent gradient, ReinMax at the wrong temperature, the unguarded
//! formulas of each regression) are asserted to fail the same checks.

mod common;

use burn::prelude::*;
use mcgrad::diagnostics::{GradientAccumulator, GradientStatistics};
use mcgrad::distributions::{Bernoulli, OneHotCategorical};
use mcgrad::estimators::baselines::{Baseline, DrGrpo, Grpo, LeaveOneOut};
use mcgrad::estimators::control_variates::{ControlNetwork, ControlVariate};
use mcgrad::estimators::{
    Arm, DecoupledStraightThrough, DisArm, Estimate, Estimator, GumbelRao, GumbelSoftmax, Rebar,
    RebarScale, ReinMax, Relax, ScoreFunction, decoupled_straight_through, exact_expectation,
    gumbel_rao, reinmax,
};
use mcgrad::testing::{GradientCheck, UnbiasednessReport, exact_gradient};
use mcgrad::{Error, NoiseSource, Result};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

fn f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Unbiasedness on rank-3 Bernoulli latents and two-class categoricals
// ---------------------------------------------------------------------------------------------

/// A cost of `[R, 2, 2]` bit blocks that couples all four bits, is not monotone in any, and
/// sits far below zero: `sin(2.2·w·b) + 0.5·b₀b₃ − 40`, `w = (1, −0.7, 0.4, 1.3)`.
fn block_cost(y: Tensor<3>) -> Tensor<1> {
    let r = y.dims()[0];
    let s = y.reshape([r, 4]);
    let w = common::matrix(4, 1, vec![1.0, -0.7, 0.4, 1.3], &s.device());
    let pair = s.clone().slice([0..r, 0..1]) * s.clone().slice([0..r, 3..4]);
    ((s.matmul(w) * 2.2).sin() + pair * 0.5 - 40.0).reshape([r])
}

const BLOCK_THETA: [f64; 4] = [0.4, -1.1, 2.0, 0.0];

fn blocks(t: Tensor<2>) -> Bernoulli<3> {
    let m = t.dims()[0];
    Bernoulli::from_logits_unchecked(t.reshape([m, 2, 2])).unwrap()
}

/// A control variate without parameters, `c(z) = Σ_j a_j tanh(z_j) + c₀`, `a_j = 0.8 − 0.45 j`,
/// with its exact input gradient `a_j (1 − tanh² z_j)` (the constant `c₀` takes up a cost's
/// offset); or, with `wrong`, that gradient doubled (a control variate whose gradient does not match its value:
/// the estimator is then biased).
#[derive(Debug, Clone, Copy)]
struct TanhControl {
    offset: f32,
    wrong: bool,
}

impl ControlVariate for TanhControl {
    fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [r, m] = z.dims();
        let a: Vec<f32> = (0..m).map(|j| 0.8 - 0.45 * j as f32).collect();
        let a = common::matrix(1, m, a, &z.device());
        let t = z.tanh();
        let value = (t.clone() * a.clone()).sum_dim(1) + self.offset;
        let gradient = (t.square().neg() + 1.0) * a;
        let gradient = if self.wrong { gradient * 2.0 } else { gradient };
        (value.reshape([r]), gradient)
    }
}

fn block_check(
    seed: u64,
    estimate: impl Fn(&Bernoulli<3>, &mut NoiseSource) -> Result<Tensor<1>>,
) -> UnbiasednessReport {
    let device = common::device();
    let exact = exact_gradient(&device, &BLOCK_THETA, |t| {
        exact_expectation(&blocks(t), block_cost)
    })
    .unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(seed)
        .run(&device, &BLOCK_THETA, |t, noise| {
            estimate(&blocks(t), noise)
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

/// ARM, DisARM (two pairs), REBAR (leave-one-out η at τ = 0.3, η = 1 at τ = 2 with two
/// draws) and RELAX (a caller's control variate) on `[B, 2, 2]` logits and the coupled cost
/// with offset −40 (which no estimator here may feel: ARM and DisARM cancel it in the
/// difference, REBAR and RELAX in the control variate or the unbiased score term).
#[test]
fn unbiased_on_rank_three_bernoulli_blocks_with_a_coupled_offset_cost() {
    let reports = [
        (
            "ARM",
            block_check(101, |q, noise| {
                Ok(Arm.estimate(q, 1, noise, block_cost)?.surrogate)
            }),
        ),
        (
            "DisARM, 2 pairs",
            block_check(102, |q, noise| {
                Ok(DisArm.estimate(q, 2, noise, block_cost)?.surrogate)
            }),
        ),
        (
            "REBAR, leave-one-out η",
            block_check(103, |q, noise| {
                let mut rebar = Rebar::with_scale(0.3, RebarScale::LeaveOneOut)?;
                Ok(rebar.estimate(q, 1, noise, block_cost)?.surrogate)
            }),
        ),
        (
            "REBAR, η = 1, τ = 2, n = 2",
            block_check(104, |q, noise| {
                let mut rebar = Rebar::with_scale(2.0, RebarScale::Fixed(1.0))?;
                Ok(rebar.estimate(q, 2, noise, block_cost)?.surrogate)
            }),
        ),
        (
            "RELAX, tanh control",
            block_check(105, |q, noise| {
                let mut relax = Relax::new(TanhControl {
                    offset: -40.0,
                    wrong: false,
                });
                Ok(relax.estimate(q, 1, noise, block_cost)?.surrogate)
            }),
        ),
    ];
    for (name, report) in reports {
        assert!(report.passed(), "{name}\n{report}");
    }
}

/// Negative control: RELAX with a control variate whose gradient is twice the derivative of
/// its value is flagged by the same check.
#[test]
fn negative_control_relax_with_an_inconsistent_control_gradient_is_flagged() {
    let report = block_check(106, |q, noise| {
        let mut relax = Relax::new(TanhControl {
            offset: -40.0,
            wrong: true,
        });
        Ok(relax.estimate(q, 1, noise, block_cost)?.surrogate)
    });
    assert!(!report.passed(), "{report}");
}

/// The cost of a two-class one-hot row `[R, 2]`: `cos(3·y₁) + 2y₀` (a table of two values).
fn two_class_cost(y: Tensor<2>) -> Tensor<1> {
    let r = y.dims()[0];
    let (y0, y1) = (y.clone().slice([0..r, 0..1]), y.slice([0..r, 1..2]));
    ((y1 * 3.0).cos() + y0 * 2.0).reshape([r])
}

fn two_class_check(
    seed: u64,
    estimate: impl Fn(&OneHotCategorical<2>, &mut NoiseSource) -> Result<Tensor<1>>,
) -> UnbiasednessReport {
    let device = common::device();
    let theta = [0.9, -0.6];
    let build = |t: Tensor<2>| OneHotCategorical::from_logits_unchecked(t).unwrap();
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(&build(t), two_class_cost)
    })
    .unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(seed)
        .run(&device, &theta, |t, noise| estimate(&build(t), noise))
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

/// K = 2, the smallest categorical: REBAR with a running η (warmed on three batches, then
/// frozen by cloning) and RELAX with the parameter-free tanh control variate, two draws.
#[test]
fn rebar_and_relax_are_unbiased_for_two_classes() {
    let device = common::device().autodiff();
    let mut warm = Rebar::with_scale(0.5, RebarScale::Running { decay: 0.5 }).unwrap();
    let logits = common::matrix(64, 2, [0.9f32, -0.6].repeat(64), &device);
    let q = OneHotCategorical::from_logits(logits).unwrap();
    for seed in 0..3 {
        warm.estimate(&q, 1, &mut NoiseSource::seed_from_u64(seed), two_class_cost)
            .unwrap();
    }
    let report = two_class_check(111, |q, noise| {
        Ok(warm
            .clone()
            .estimate(q, 1, noise, two_class_cost)?
            .surrogate)
    });
    assert!(report.passed(), "REBAR, running η\n{report}");
    let report = two_class_check(112, |q, noise| {
        let mut relax = Relax::new(TanhControl {
            offset: 1.0,
            wrong: false,
        });
        Ok(relax.estimate(q, 2, noise, two_class_cost)?.surrogate)
    });
    assert!(report.passed(), "RELAX, tanh control\n{report}");
}

// ---------------------------------------------------------------------------------------------
// DisARM's multi-sample bound with a cost that has parameters of its own
// ---------------------------------------------------------------------------------------------

/// `f(b; w) = (w·(b₀ + 2b₁) − 0.5)²` per row of 2 bits, `w` per row `[R, 1]`.
fn weighted(b: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    let r = b.dims()[0];
    let x = b.clone().slice([0..r, 0..1]) + b.slice([0..r, 1..2]) * 2.0;
    (x * w - 0.5).square()
}

/// θ = (ℓ₀, ℓ₁, w): the gradient of `E[C]`, `C = −ln((1/n) Σ_i exp(−f(b_i; w)))` over `n = 2`
/// i.i.d. draws, in the logits *and* in the cost's own parameter `w`. Exact: the two draws as
/// one row of 4 bits with tied logits (16 configurations), `C` differentiated by autodiff in
/// `w` and in the probabilities. The estimate: [`DisArm::multi_sample_bound`], whose `w`
/// gradient is `∇_w C(b¹)` (its first halves are i.i.d. draws).
#[test]
fn the_multi_sample_bound_passes_the_gradient_of_the_costs_own_parameters() {
    let device = common::device();
    let theta = [0.3, -0.8, 1.4];
    let n = 2;
    let exact = exact_gradient(&device, &theta, |t| {
        let logits = t.clone().slice([0..1, 0..2]).repeat_dim(1, n);
        let w = t.slice([0..1, 2..3]);
        exact_expectation(&Bernoulli::from_logits_unchecked(logits)?, |y| {
            let r = y.dims()[0];
            let w = w.expand([r, 1]);
            let f: Vec<Tensor<2>> = (0..n)
                .map(|i| weighted(y.clone().slice([0..r, 2 * i..2 * i + 2]), w.clone()))
                .collect();
            let x = Tensor::cat(f, 1).neg();
            let m = x.clone().max_dim(1);
            let lse = (x - m.clone()).exp().sum_dim(1).log() + m;
            (lse - (n as f64).ln()).neg().reshape([r])
        })
    })
    .unwrap();
    let report = GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(121)
        .run(&device, &theta, |t, noise| {
            let m = t.dims()[0];
            let q = Bernoulli::from_logits_unchecked(t.clone().slice([0..m, 0..2]))?;
            let w = t.slice([0..m, 2..3]).repeat_dim(0, 2 * n);
            let est = DisArm.multi_sample_bound(&q, n, noise, |b| {
                let r = b.dims()[0];
                weighted(b, w).reshape([r])
            })?;
            Ok(est.surrogate)
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap();
    assert!(report.passed(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// ReinMax: a Bernoulli is two classes
// ---------------------------------------------------------------------------------------------

/// ReinMax's gradient given the draw is a function of the draw only, so its mean is a finite
/// sum. For one Bernoulli of logit ℓ at temperature τ, `p = σ(ℓ)`, the cost `f(x) = (x − 0.45)²`
/// (`f'(x) = 2(x − 0.45)`) and `q_b = (b + σ(ℓ/τ))/2`:
///
/// `E[ĝ] = Σ_{b∈{0,1}} P(b) (2 q_b (1 − q_b) − ½ p (1 − p)) f'(b)`,
///
/// and the two-class categorical with logits `(0, ℓ)` and the cost `f(y₁)` has the same mean
/// for the gradient of ℓ (its softmax Jacobians reduce to these scalars). At ℓ = 0.8, τ = 0.5
/// this is ≈ −0.070; at τ = 1 it would be ≈ +0.021 (the negative control).
fn reinmax_mean(l: f64, tau: f64) -> f64 {
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let p = s(l);
    [(0.0, 1.0 - p), (1.0, p)]
        .iter()
        .map(|&(b, pb)| {
            let q = (b + s(l / tau)) / 2.0;
            pb * (2.0 * q * (1.0 - q) - 0.5 * p * (1.0 - p)) * 2.0 * (b - 0.45)
        })
        .sum()
}

fn reinmax_report(tau: f64, categorical: bool, seed: u64) -> UnbiasednessReport {
    let device = common::device();
    let theta = [0.8];
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(seed)
        .run(&device, &theta, |t, noise| {
            let mut reinmax = ReinMax::new(tau)?;
            let m = t.dims()[0];
            Ok(if categorical {
                let logits = Tensor::cat(vec![t.zeros_like(), t], 1);
                let q = OneHotCategorical::from_logits_unchecked(logits)?;
                reinmax
                    .estimate(&q, 1, noise, |y| {
                        (y.slice([0..m, 1..2]) - 0.45).square().reshape([m])
                    })?
                    .surrogate
            } else {
                let q = Bernoulli::from_logits_unchecked(t)?;
                reinmax
                    .estimate(&q, 1, noise, |x| (x - 0.45).square().reshape([m]))?
                    .surrogate
            })
        })
        .unwrap()
        .unbiasedness(&[reinmax_mean(0.8, 0.5)], RATE)
        .unwrap()
}

#[test]
fn reinmax_on_a_bernoulli_has_the_mean_of_reinmax_on_two_classes() {
    for categorical in [false, true] {
        let report = reinmax_report(0.5, categorical, 131 + categorical as u64);
        assert!(report.passed(), "categorical: {categorical}\n{report}");
    }
    // negative control: τ = 1 checked against the τ = 0.5 mean
    let report = reinmax_report(1.0, false, 133);
    assert!(!report.passed(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Documented equalities, reproducibility, devices
// ---------------------------------------------------------------------------------------------

/// The draws `f` saw and the gradient of the logits, flattened.
type Run = (Vec<f32>, Vec<f32>);

/// `(samples, gradient)` of an estimator on 3 Bernoulli rows of 4 logits.
fn bernoulli_run<E>(estimator: &mut E, device: &Device, seed: u64) -> Run
where
    E: Estimator<2, Bernoulli<2>, Sample = Tensor<2>>,
{
    let logits: Vec<f32> = (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.6).collect();
    let t = common::matrix(3, 4, logits, &device.clone().autodiff()).require_grad();
    let q = Bernoulli::from_logits(t.clone()).unwrap();
    let w = common::matrix(4, 1, vec![0.5, -1.0, 1.5, 0.25], &t.device());
    let est = estimator
        .estimate(&q, 2, &mut NoiseSource::seed_from_u64(seed), |y| {
            let r = y.dims()[0];
            (y.matmul(w) * 1.7).sin().reshape([r])
        })
        .unwrap();
    let g = t.grad(&est.loss().backward()).unwrap();
    (f32s(est.samples.inner()), f32s(g))
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + x.abs().max(y.abs())))
}

/// Gumbel-Rao with `K = 1` *is* ST Gumbel-softmax (its doc: "`K = 1` is exactly
/// straight-through Gumbel-softmax", for a Bernoulli too), and decoupled ST at τ_f = τ_b = 1 is
/// ST Gumbel-softmax at τ = 1: the same draws from the same seed, the same gradient to rounding.
/// At τ_f = τ_b = 0.5 the decoupled estimator tempers the draw's law (documented), so its draws
/// differ: asserted too, as the negative control of the comparison.
#[test]
fn gumbel_rao_with_one_draw_and_unit_decoupled_st_are_st_gumbel_softmax_on_bernoullis() {
    let device = common::device();
    let st = bernoulli_run(
        &mut GumbelSoftmax::straight_through(0.7).unwrap(),
        &device,
        9,
    );
    let gr = bernoulli_run(&mut GumbelRao::new(0.7, 1).unwrap(), &device, 9);
    assert_eq!(gr.0, st.0);
    assert!(close(&gr.1, &st.1, 1e-5), "{:?} vs {:?}", gr.1, st.1);
    let st1 = bernoulli_run(
        &mut GumbelSoftmax::straight_through(1.0).unwrap(),
        &device,
        9,
    );
    let dst = bernoulli_run(
        &mut DecoupledStraightThrough::new(1.0, 1.0).unwrap(),
        &device,
        9,
    );
    assert_eq!(dst.0, st1.0);
    assert!(close(&dst.1, &st1.1, 1e-5), "{:?} vs {:?}", dst.1, st1.1);
    let st_half = bernoulli_run(
        &mut GumbelSoftmax::straight_through(0.5).unwrap(),
        &device,
        9,
    );
    let dst_half = bernoulli_run(
        &mut DecoupledStraightThrough::new(0.5, 0.5).unwrap(),
        &device,
        9,
    );
    assert_ne!(dst_half.0, st_half.0);
}

/// Every estimator of the two issues on one problem, as `(samples, gradient)`.
fn every_estimator(device: &Device, seed: u64) -> Vec<(&'static str, Run)> {
    let ad = device.clone().autodiff();
    let net = ControlNetwork::new(4, 8, &mut NoiseSource::seed_from_u64(1), &ad);
    vec![
        ("ARM", bernoulli_run(&mut Arm, device, seed)),
        ("DisARM", bernoulli_run(&mut DisArm, device, seed)),
        (
            "REBAR",
            bernoulli_run(&mut Rebar::new(0.5).unwrap(), device, seed),
        ),
        (
            "REBAR leave-one-out",
            bernoulli_run(
                &mut Rebar::with_scale(0.5, RebarScale::LeaveOneOut).unwrap(),
                device,
                seed,
            ),
        ),
        ("RELAX", bernoulli_run(&mut Relax::new(net), device, seed)),
        (
            "ReinMax",
            bernoulli_run(&mut ReinMax::new(0.5).unwrap(), device, seed),
        ),
        (
            "Gumbel-Rao",
            bernoulli_run(&mut GumbelRao::new(0.5, 10).unwrap(), device, seed),
        ),
        (
            "decoupled ST",
            bernoulli_run(
                &mut DecoupledStraightThrough::new(0.5, 2.0).unwrap(),
                device,
                seed,
            ),
        ),
    ]
}

/// Same seed, same bits: twice on the test device, and inside a one-thread and a two-thread
/// rayon pool (the noise of a large draw is generated in parallel blocks, and the backends may
/// use the pool), on a draw large enough to be split (80 000 values).
#[test]
fn the_same_seed_gives_the_same_bits_on_one_and_two_threads() {
    let device = common::device();
    let a = every_estimator(&device, 17);
    let b = every_estimator(&device, 17);
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.0), bits(&y.0), "{name}: samples");
        assert_eq!(bits(&x.1), bits(&y.1), "{name}: gradient");
    }
    let other = every_estimator(&device, 18);
    assert!(
        a.iter().zip(&other).any(|((_, x), (_, y))| x.1 != y.1),
        "the seed is used"
    );

    let large = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let ad = device.clone().autodiff();
            let t = Tensor::<2>::zeros([4, 20_000], &ad).require_grad();
            let q = Bernoulli::from_logits(t.clone()).unwrap();
            let est = DisArm
                .estimate(&q, 1, &mut NoiseSource::seed_from_u64(3), |y| {
                    (y.sum_dim(1) - 9_000.0).square().reshape([8])
                })
                .unwrap();
            let g = f32s(t.grad(&est.loss().backward()).unwrap());
            g.into_iter().map(f32::to_bits).collect::<Vec<_>>()
        })
    };
    assert_eq!(large(1), large(2));
}

/// The ndarray backend gives what flex gives, to rounding (the noise is drawn on the host, so
/// the inputs are identical): the same draws, gradients within 1e-4 relative.
#[cfg(feature = "ndarray")]
#[test]
#[allow(deprecated)]
fn ndarray_agrees_with_flex() {
    let flex = every_estimator(&Device::flex(), 23);
    let nd = every_estimator(&Device::ndarray(), 23);
    for ((name, x), (_, y)) in flex.iter().zip(&nd) {
        // hard draws equal, relaxed ones (REBAR's) to rounding
        assert!(close(&x.0, &y.0, 1e-5), "{name}: samples");
        assert!(close(&x.1, &y.1, 1e-4), "{name}: {:?} vs {:?}", x.1, y.1);
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions
// ---------------------------------------------------------------------------------------------

/// `Rebar` computes in f32: a fixed η beyond `f32::MAX` is an error, not NaN; the largest f32
/// is still accepted and its forward value is the mean cost.
#[test]
fn rebar_rejects_a_fixed_eta_beyond_f32() {
    for eta in [1e39, -1e39, f64::MAX] {
        let r = Rebar::with_scale(0.5, RebarScale::Fixed(eta));
        assert!(
            matches!(r, Err(Error::InvalidParameter { name: "eta", .. })),
            "η = {eta}: {r:?}"
        );
    }
    let device = common::device().autodiff();
    let t = common::matrix(1, 2, vec![0.3, -0.7], &device).require_grad();
    let q = Bernoulli::from_logits(t.clone()).unwrap();
    let est = Rebar::with_scale(0.5, RebarScale::Fixed(f64::from(f32::MAX)))
        .unwrap()
        .estimate(&q, 1, &mut NoiseSource::seed_from_u64(0), |y| {
            (y.sum_dim(1) - 1.3).square().reshape([3])
        })
        .unwrap();
    let s = f32s(est.surrogate.clone());
    let cost = f32s(est.costs.clone());
    assert_eq!(s, cost, "the forward value is the cost of the draw");
}

fn rebar_gradient(rebar: &mut Rebar, offset: f32, seed: u64) -> Vec<f32> {
    let device = common::device().autodiff();
    let t = common::matrix(2, 3, vec![0.3, -0.7, 1.0, 0.0, 2.0, -1.5], &device).require_grad();
    let q = Bernoulli::from_logits(t.clone()).unwrap();
    let est = rebar
        .estimate(&q, 2, &mut NoiseSource::seed_from_u64(seed), |y| {
            let r = y.dims()[0];
            ((y.sum_dim(1) - 1.3).square() + offset).reshape([r])
        })
        .unwrap();
    f32s(t.grad(&est.loss().backward()).unwrap())
}

/// REBAR's data-driven η at costs whose products overflow f32. Costs `(Σb − 1.3)² + 1e20`:
/// `f·c ≈ 1e40`, so the running averages of `Σ f c s²` and `Σ c² s²` are `∞` and their ratio
/// NaN; before the fix every call after the first returned NaN. Now such a batch is left out
/// (η stays 1) and every gradient is finite; a NaN cost is left out the same way and does not
/// change the running η.
///
/// Negative control: the unguarded ratio of the running sums, computed the way the estimator
/// did, is not finite at these costs (the same `all_finite` check flags it).
#[test]
fn rebar_data_driven_eta_stays_finite_when_cost_products_overflow() {
    let mut running = Rebar::with_scale(0.5, RebarScale::Running { decay: 0.5 }).unwrap();
    for seed in 0..3 {
        let g = rebar_gradient(&mut running, 1e20, seed);
        assert!(all_finite(&g), "call {seed}: {g:?}");
        assert!(all_finite(&f32s(running.running_scale().unwrap())));
    }
    // a batch on a normal scale, then one NaN cost: η is the same before and after it
    rebar_gradient(&mut running, 0.0, 5);
    let before = f32s(running.running_scale().unwrap());
    let g = rebar_gradient(&mut running, f32::NAN, 6);
    assert!(
        !all_finite(&g),
        "a NaN cost gives a NaN gradient for its own batch"
    );
    assert_eq!(f32s(running.running_scale().unwrap()), before);
    assert!(all_finite(&rebar_gradient(&mut running, 0.0, 7)));

    // negative control: Σ f c s² / Σ c² s² in f32 at f ≈ c ≈ 1e20
    let d = common::device();
    let f = Tensor::<1>::from_floats([1e20f32 + 1.0, 1e20, 1e20 + 2.0], &d);
    let ratio = (f.clone() * f.clone() * 0.25).sum() / (f.clone() * f * 0.25).sum();
    assert!(!all_finite(&f32s(ratio)));
}

/// REBAR's leave-one-out η at costs `(Σb − 1.3)² + 1.5e19`: each row's `f·c ≈ c² ≈ 2.3e38` is
/// finite, their sums over the batch are not, and `∞/∞` made η, and every gradient, NaN
/// before the fix; η now falls back to 1 (as where the denominator vanishes). Negative
/// control: the sum of four such products in f32 is `∞`.
#[test]
fn rebar_leave_one_out_eta_stays_finite_when_batch_sums_overflow() {
    let mut loo = Rebar::with_scale(0.5, RebarScale::LeaveOneOut).unwrap();
    for seed in 0..3 {
        let g = rebar_gradient(&mut loo, 1.5e19, seed);
        assert!(all_finite(&g), "call {seed}: {g:?}");
    }
    let c = Tensor::<1>::from_floats([1.5e19f32; 4], &common::device());
    assert!(!all_finite(&f32s((c.clone() * c).sum())));
}

/// A caller's control variate that returns the wrong shapes is a typed error, not a panic
/// (fewer gradient columns) nor a silent cut (more columns, a longer value).
#[test]
fn relax_rejects_a_control_variate_output_of_the_wrong_shape() {
    /// Returns a value with `extra_rows` more entries and a gradient with `extra_cols` more
    /// (or, negative, fewer) columns.
    struct Misshapen(usize, isize);
    impl ControlVariate for Misshapen {
        fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
            let [r, m] = z.dims();
            let cols = (m as isize + self.1) as usize;
            (
                Tensor::zeros([r + self.0], &z.device()),
                Tensor::zeros([r, cols], &z.device()),
            )
        }
    }
    let device = common::device().autodiff();
    let run = |c: Misshapen| {
        let t = common::matrix(2, 3, vec![0.1, 0.2, 0.3, -1.0, 0.0, 1.0], &device).require_grad();
        let q = Bernoulli::from_logits(t).unwrap();
        Relax::new(c)
            .estimate(&q, 2, &mut NoiseSource::seed_from_u64(0), |b| {
                b.sum_dim(1).reshape([4])
            })
            .map(|e: Estimate<Tensor<2>>| e.surrogate.dims())
    };
    for (rows, cols) in [(0, 1), (0, -1), (1, 0)] {
        let r = run(Misshapen(rows, cols));
        assert!(
            matches!(r, Err(Error::ShapeMismatch { .. })),
            "({rows}, {cols}): {r:?}"
        );
    }
    assert_eq!(run(Misshapen(0, 0)).unwrap(), [2]);
}

/// ARM and DisARM at costs near `±f32::MAX`. One Bernoulli at θ = 0 with
/// `f(b) = 3e38·(2b − 1)`: the exact gradient is `σ'(0)(f(1) − f(0)) = ¼·6e38 = 1.5e38`, a finite
/// f32. DisARM's pair at θ = 0 is always `(b, 1 − b)` and gives exactly that with one pair or
/// three; its multi-sample bound with `n = 1` (the bound is `f(b¹)`) too; ARM gives a finite
/// estimate. Before the fix the difference `f(b¹) − f(b²) = ±6e38` overflowed: gradient `∞`,
/// surrogate NaN.
///
/// Negative control: that unhalved difference in f32 is flagged by the same finiteness check.
#[test]
fn antithetic_estimators_stay_finite_at_costs_near_f32_max() {
    let device = common::device().autodiff();
    let f = |y: Tensor<2>| {
        let r = y.dims()[0];
        ((y * 2.0 - 1.0) * 3e38).reshape([r])
    };
    let grad = |which: usize, n: usize| {
        let t = Tensor::<2>::zeros([1, 1], &device).require_grad();
        let q = Bernoulli::from_logits(t.clone()).unwrap();
        let mut noise = NoiseSource::seed_from_u64(4);
        let est = match which {
            0 => Arm.estimate(&q, n, &mut noise, f),
            1 => DisArm.estimate(&q, n, &mut noise, f),
            _ => DisArm.multi_sample_bound(&q, n, &mut noise, f),
        }
        .unwrap();
        let g = f32s(t.grad(&est.loss().backward()).unwrap());
        (f32s(est.surrogate), g[0])
    };
    let (s, g) = grad(0, 1);
    assert!(all_finite(&s) && g.is_finite(), "ARM: {s:?} {g}");
    for (which, n) in [(1, 1), (1, 3), (2, 1)] {
        let (s, g) = grad(which, n);
        assert!(
            ((g - 1.5e38) / 1.5e38).abs() < 1e-6,
            "{which}, n = {n}: {g}"
        );
        // the mean of the 2n costs too (it overflowed for n > 1 before `mean_over_draws`
        // fell back to scaled costs where the sum leaves f32)
        assert!(all_finite(&s), "{which}, n = {n}: {s:?}");
    }
    let d = common::device();
    let diff = Tensor::<1>::from_floats([3e38f32], &d) - Tensor::<1>::from_floats([-3e38f32], &d);
    assert!(!all_finite(&f32s(diff)));
}

/// The leave-one-out baseline where the sum of a group's costs leaves f32 (costs of 1e38 to
/// 3e38): with `n = 2` the baseline of a draw is the other draw's cost, with `n = 3` the mean
/// of the other two, both within 1e-6 (the rounding of `Σ f/n − f_i/n`); and RLOO with a constant cost of 3e38 over 4 draws has the surrogate 3e38 and a
/// zero gradient. Negative control: the plain form `(Σ f − f_i)/(n − 1)` is `∞` on these costs.
#[test]
fn leave_one_out_and_the_mean_over_draws_survive_sums_beyond_f32() {
    let device = common::device();
    let costs = Tensor::<2>::from_floats([[2e38f32, 3e38], [2.5e38, 1e38]], &device);
    let b = f32s(LeaveOneOut.values(&costs).unwrap());
    for (got, want) in b.iter().zip([2.5e38f64, 1e38, 2e38, 3e38]) {
        assert!(((*got as f64 - want) / want).abs() < 1e-6, "{b:?}");
    }
    let costs3 = Tensor::<2>::from_floats([[2e38f32], [3e38], [1e38]], &device);
    let b3 = f32s(LeaveOneOut.values(&costs3).unwrap());
    for (got, want) in b3.iter().zip([2e38f64, 1.5e38, 2.5e38]) {
        assert!(((*got as f64 - want) / want).abs() < 1e-6, "{b3:?}");
    }
    // negative control: the unguarded formula
    let plain = (costs3.clone().sum_dim(0).expand([3, 1]) - costs3) / 2.0;
    assert!(!all_finite(&f32s(plain)));

    let ad = device.clone().autodiff();
    let t = Tensor::<2>::from_floats([[0.3f32, -1.0]], &ad).require_grad();
    let q = Bernoulli::from_logits(t.clone()).unwrap();
    let est = ScoreFunction::new(LeaveOneOut)
        .estimate(&q, 4, &mut NoiseSource::seed_from_u64(9), |y| {
            let r = y.dims()[0];
            Tensor::<1>::full([r], 3e38, &y.device())
        })
        .unwrap();
    assert_eq!(f32s(est.surrogate.clone()), vec![3e38]);
    let g = f32s(t.grad(&est.loss().backward()).unwrap());
    assert_eq!(g, vec![0.0, 0.0]);
}

/// Equal estimates have variance exactly 0 and signal-to-noise ratio `+∞` (the doc's DisARM at
/// θ = 0), from the stacked form as from the accumulator, for K = 2 to 33; the mean is the value
/// itself. Negative control: the textbook two-pass formula (mean, then squared deviations)
/// leaves ~1e-17 at K = 7, c = 0.1 (the rounded mean is not 0.1).
#[test]
fn equal_estimates_have_exactly_zero_variance_in_both_diagnostics() {
    let device = common::device();
    for k in [2usize, 3, 7, 10, 33] {
        for c in [0.025f32, 0.1, 1.0 / 3.0, 123.456] {
            let rows: Vec<f32> = (0..k).flat_map(|i| [c, i as f32]).collect();
            let stacked =
                GradientStatistics::from_stacked(common::matrix(k, 2, rows, &device)).unwrap();
            let mut acc = GradientAccumulator::new();
            for i in 0..k {
                acc.push(Tensor::<1>::from_floats([c, i as f32], &device))
                    .unwrap();
            }
            let accumulated = acc.finish().unwrap();
            for s in [&stacked, &accumulated] {
                let (m, v) = (f32s(s.mean().clone()), f32s(s.variance().clone()));
                assert_eq!((m[0], v[0]), (c, 0.0), "K = {k}, c = {c}");
                let want = (k * (k + 1)) as f32 / 12.0; // Var of 0..k−1
                assert!((v[1] - want).abs() < 1e-4 * want, "K = {k}: {}", v[1]);
                assert_eq!(f32s(s.signal_to_noise())[0], f32::INFINITY);
            }
        }
    }
    // the two-pass formula, summed in order as a reduction may: 7 × 0.1 / 7 ≠ 0.1 in f32
    let mean = (0..7).fold(0.0f32, |s, _| s + 0.1) / 7.0;
    let naive = 7.0 * (0.1 - mean) * (0.1 - mean) / 6.0;
    assert!(naive > 0.0, "{mean}");
}

// ---------------------------------------------------------------------------------------------
// Group baselines with equal rewards
// ---------------------------------------------------------------------------------------------

/// A group whose rewards are all equal carries no signal: GRPO (with or without the standard
/// deviation) and Dr. GRPO give it advantage exactly 0, and the score-function gradient of a
/// constant cost is exactly 0, for groups of 2, 3, 5 and 8 and costs up to −3e38. Before the
/// fix the group mean was the rounded `Σ f/n` (123456.7813 for three costs of 123456.79), and
/// GRPO's division by the group's standard deviation (an ulp) made the advantages ±0.81.
/// Negative control: a group with one different reward gets non-zero advantages.
#[test]
fn groups_of_equal_rewards_give_exactly_zero_advantages_and_gradients() {
    let device = common::device();
    for n in [2usize, 3, 5, 8] {
        for value in [0.0f32, 0.1, 7.5, 123_456.79, -3e38] {
            let costs = common::matrix(n, 3, vec![value; 3 * n], &device);
            for adv in [
                Grpo::new().advantages(&costs).unwrap(),
                Grpo::mean_only().advantages(&costs).unwrap(),
                DrGrpo.advantages(&costs).unwrap(),
            ] {
                assert!(f32s(adv).iter().all(|&a| a == 0.0), "n = {n}, {value}");
            }
            let ad = device.clone().autodiff();
            let t = common::matrix(3, 2, vec![0.3, -1.0, 2.0, 0.0, -0.5, 0.7], &ad).require_grad();
            let q = Bernoulli::from_logits(t.clone()).unwrap();
            let est = ScoreFunction::new(Grpo::new())
                .estimate(&q, n, &mut NoiseSource::seed_from_u64(1), |y| {
                    (y.sum_dim(1) * 0.0 + value).reshape([3 * n])
                })
                .unwrap();
            let g = f32s(t.grad(&est.loss().backward()).unwrap());
            assert!(g.iter().all(|&x| x == 0.0), "n = {n}, {value}: {g:?}");
        }
    }
    let mut v = vec![1.0f32; 6];
    v[0] = 2.0;
    let adv = f32s(
        Grpo::new()
            .advantages(&common::matrix(6, 1, v, &device))
            .unwrap(),
    );
    assert!(adv.iter().all(|&a| a != 0.0));
}

// ---------------------------------------------------------------------------------------------
// The free functions on raw logits of any finite magnitude
// ---------------------------------------------------------------------------------------------

/// `(sample, gradient of (w·y)²)` of a free straight-through function on one row of 4 logits.
fn free_run(which: usize, logits: [f32; 4], tau: f64) -> Run {
    let device = common::device().autodiff();
    let t = Tensor::<2>::from_floats([logits], &device).require_grad();
    let mut noise = NoiseSource::seed_from_u64(2);
    let y = match which {
        0 => reinmax(t.clone(), tau, &mut noise),
        1 => gumbel_rao(t.clone(), tau, 10, &mut noise),
        _ => decoupled_straight_through(t.clone(), 1.0, tau, &mut noise),
    }
    .unwrap();
    let w = Tensor::<2>::from_floats([[0.3, -1.2, 0.7, 2.0]], &device);
    let loss = (y.clone() * w).sum().square();
    let g = f32s(t.grad(&loss.backward()).unwrap());
    (f32s(y.inner()), g)
}

/// `reinmax`, `gumbel_rao` and `decoupled_straight_through` take raw logits ("normalized or
/// not"), like `gumbel_softmax`, which is finite for every finite logit. At logits near
/// `±3e38` and τ ≤ 0.5 they returned NaN samples and gradients (`ℓ/τ = ±∞`, then `∞ − ∞`
/// inside the softmax); they now shift each row by its maximum first. Checked: finite values
/// and gradients at τ = 1e-3, 0.5, 1e3; the draw at `(3e38, −3e38, 0, 1e38)` is class 0 (the
/// others have probability 0 in f32, `e^{−2e38}`); and a shift of moderate logits by 1000
/// changes neither the draw nor the gradient (to rounding). Negative control: the unshifted
/// `ℓ/τ` at τ = 0.5 is not finite.
#[test]
fn free_straight_through_functions_take_logits_of_any_finite_magnitude() {
    for which in 0..3 {
        for tau in [1e-3, 0.5, 1e3] {
            for logits in [[3e38, -3e38, 0.0, 1e38], [3e38; 4], [-3e38, 1e4, -1e4, 0.0]] {
                let (y, g) = free_run(which, logits, tau);
                assert!(
                    all_finite(&y) && all_finite(&g),
                    "{which} τ = {tau} {logits:?}: {y:?} {g:?}"
                );
                assert_eq!(y.iter().sum::<f32>(), 1.0);
            }
            let (y, _) = free_run(which, [3e38, -3e38, 0.0, 1e38], tau);
            assert_eq!(y, [1.0, 0.0, 0.0, 0.0]);
            let base = [0.4, -0.8, 1.1, 0.0];
            let (y0, g0) = free_run(which, base, tau);
            let (y1, g1) = free_run(which, base.map(|x| x + 1000.0), tau);
            assert_eq!(y0, y1, "{which} τ = {tau}");
            assert!(close(&g0, &g1, 1e-3), "{which} τ = {tau}: {g0:?} vs {g1:?}");
        }
    }
    let raw = Tensor::<1>::from_floats([3e38f32, 1e38], &common::device()).div_scalar(0.5);
    assert!(!all_finite(&f32s(raw)));
}

// ---------------------------------------------------------------------------------------------
// Parameters at the edge of f32
// ---------------------------------------------------------------------------------------------

/// GRPO computes in f32: an ε below `f32::MIN_POSITIVE` is 0 there (it was accepted, and a
/// group of equal costs came out `0/0` = NaN) and one above `f32::MAX` is `∞` (every advantage
/// 0). Both are typed errors now; the smallest normal ε still gives a group of equal costs
/// advantage 0 and a spread group its standardized values. Negative control: ε = 1e-300 in
/// f32 is 0.
#[test]
fn grpo_rejects_an_epsilon_outside_f32_and_works_at_the_smallest_normal_one() {
    for eps in [1e-300, 1e-46, 1e-40, 1e39] {
        let r = Grpo::new().epsilon(eps);
        assert!(
            matches!(
                r,
                Err(Error::InvalidParameter {
                    name: "epsilon",
                    ..
                })
            ),
            "ε = {eps}: {r:?}"
        );
    }
    let device = common::device();
    let costs = common::matrix(3, 2, vec![1.0, 2.0, 1.0, 3.0, 1.0, 4.0], &device);
    let grpo = Grpo::new().epsilon(f64::from(f32::MIN_POSITIVE)).unwrap();
    let a = f32s(grpo.advantages(&costs).unwrap());
    assert_eq!([a[0], a[2], a[4]], [0.0; 3]);
    assert!(close(&[a[1], a[3], a[5]], &[-1.0, 0.0, 1.0], 1e-6), "{a:?}");
    assert_eq!(1e-300f64 as f32, 0.0);
}

/// `ControlNetwork::new(M, 0)`, a network without hidden units, is the constant control
/// variate `b₂` (a learned baseline). It panicked inside `Relax` (empty layers); it now gives a
/// finite estimate and trains `b₂`. Negative control: a control network of the wrong width is
/// still a typed error.
#[test]
fn a_control_network_without_hidden_units_is_a_learned_constant() {
    let device = common::device().autodiff();
    let t = common::matrix(
        2,
        4,
        vec![0.1, -0.3, 0.8, 0.0, 1.0, 2.0, -1.0, 0.5],
        &device,
    )
    .require_grad();
    let q = Bernoulli::from_logits(t.clone()).unwrap();
    let net = ControlNetwork::new(4, 0, &mut NoiseSource::seed_from_u64(0), &device);
    let mut relax = Relax::new(net);
    let est = relax
        .estimate(&q, 2, &mut NoiseSource::seed_from_u64(1), |b| {
            (b.sum_dim(1) - 1.5).square().reshape([4])
        })
        .unwrap();
    let mut grads = est.loss().backward();
    assert!(all_finite(&f32s(t.grad(&grads).unwrap())));
    let params = burn::optim::GradientsParams::from_module(&mut grads, relax.control());
    assert_eq!(params.len(), 1, "b₂ gets the gradient of the variance");
    let wrong = ControlNetwork::new(3, 0, &mut NoiseSource::seed_from_u64(0), &device);
    let r = Relax::new(wrong).estimate(&q, 2, &mut NoiseSource::seed_from_u64(1), |b| {
        b.sum_dim(1).reshape([4])
    });
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}
