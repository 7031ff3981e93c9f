//! The group baselines of the score-function estimator (RLOO, Dr. GRPO, GRPO), against exact
//! means derived by enumeration.
//!
//! # Derivations
//!
//! With `n` draws `z_1..z_n` of one element, costs `f_i = f(z_i)`, the estimator is
//! `ĝ = (1/n) Σ_i A_i ∇ln p(z_i)`, and for a Categorical with logits θ,
//! `∇θ ln p(z) = e_z − π`.
//!
//! - RLOO, `A_i = f_i − (1/(n−1)) Σ_{j≠i} f_j`: the baseline is independent of `z_i`, so
//!   `E[ĝ] = ∇L` with `∇L = Σ_k π_k f(k)(e_k − π)`.
//! - Dr. GRPO (and GRPO without the division), `A_i = f_i − f̄ = ((n−1)/n)·(RLOO's A_i)`:
//!   `E[ĝ] = ((n−1)/n)·∇L` exactly. Not `∇L`: the test asserts the derived `(n−1)/n` factor,
//!   and that the kit rejects `∇L` itself (the negative control).
//! - GRPO, `A_i = (f_i − f̄)/(s + ε)`, `s² = Σ_j (f_j − f̄)²/(n−1)`, ε = 1e-4: no closed form;
//!   its exact mean `E[ĝ] = Σ_{z ∈ [K]^n} Π_j π_{z_j} · (1/n) Σ_i A_i(z)(e_{z_i} − π)` is
//!   computed here in f64 by listing all `Kⁿ` groups. The kit accepts that mean (the
//!   implementation computes what GRPO defines) and rejects `∇L`, `((n−1)/n)·∇L` and the best
//!   multiple of `∇L` (the projection of the mean on it): the bias is not a rescaling.
//! - With 0/1 rewards the GRPO mean of one element *is* a multiple of its gradient,
//!   `m(p)·∇p` (classes of equal reward are exchangeable), but the multiple depends on the
//!   success probability `p`: two elements (prompts) at different `p` are weighted against each
//!   other wrongly. With `n = 8`, `m` is 1.74 at `p = ½` and 2.13 at `p = σ(2)`; the kit
//!   rejects the first element's multiple applied to both.
//!
//! # Rates
//!
//! Every check is the kit's z-test at a false-failure rate of 1e-6 (Bonferroni over the
//! parameters), fixed seeds, `N` = 50 000 single estimates. The checks that must
//! fail (negative controls) are rejected at `|z|` of 50 or more.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{Bernoulli, Categorical, one_hot};
use mcgrad::estimators::baselines::{Baseline, DrGrpo, Grpo, LeaveOneOut};
use mcgrad::estimators::{Estimator, ScoreFunction};
use mcgrad::testing::{GradientCheck, GradientSamples};

const RATE: f64 = 1e-6;
const THETA: [f64; 3] = [1.0, -1.0, 0.0];
const COST: [f64; 3] = [0.0, 3.0, 1.0];

fn probs(theta: &[f64]) -> Vec<f64> {
    let m = theta.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = theta.iter().map(|t| (t - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// `∇L = Σ_k π_k f(k)(e_k − π)`.
fn gradient() -> Vec<f64> {
    let p = probs(&THETA);
    (0..3)
        .map(|j| {
            (0..3)
                .map(|k| p[k] * COST[k] * (f64::from(u8::from(j == k)) - p[j]))
                .sum()
        })
        .collect()
}

/// The GRPO advantages of one group, in f64.
fn grpo_advantages(f: &[f64]) -> Vec<f64> {
    let n = f.len() as f64;
    let mean = f.iter().sum::<f64>() / n;
    let s = (f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    f.iter().map(|x| (x - mean) / (s + 1e-4)).collect()
}

/// The exact mean of the GRPO estimator by listing all `3ⁿ` groups.
fn grpo_mean(n: usize) -> Vec<f64> {
    let p = probs(&THETA);
    let mut mean = vec![0.0; 3];
    for j in 0..3usize.pow(n as u32) {
        let z: Vec<usize> = (0..n).map(|i| j / 3usize.pow(i as u32) % 3).collect();
        let weight: f64 = z.iter().map(|&k| p[k]).product();
        let a = grpo_advantages(&z.iter().map(|&k| COST[k]).collect::<Vec<_>>());
        for (i, &k) in z.iter().enumerate() {
            for c in 0..3 {
                let score = f64::from(u8::from(c == k)) - p[c];
                mean[c] += weight * a[i] * score / n as f64;
            }
        }
    }
    mean
}

fn categorical_run<B: Baseline + Clone>(baseline: B, n: usize, seed: u64) -> GradientSamples {
    GradientCheck::new(50_000)
        .seed(seed)
        .chunk(50_000)
        .run(&common::device(), &THETA, |t, noise| {
            let q = Categorical::from_logits_unchecked(t)?;
            let cost = |k: Tensor<2, Int>| {
                let rows = k.dims()[0];
                let c = Tensor::<2>::from_floats([[0.0], [3.0], [1.0]], &k.device());
                one_hot(k, 3).matmul(c).reshape([rows])
            };
            Ok(ScoreFunction::new(baseline.clone())
                .estimate(&q, n, noise, cost)?
                .surrogate)
        })
        .unwrap()
}

fn scaled(v: &[f64], c: f64) -> Vec<f64> {
    v.iter().map(|x| x * c).collect()
}

#[test]
fn leave_one_out_is_unbiased() {
    let exact = gradient();
    let s = categorical_run(LeaveOneOut, 4, 1);
    let report = s.unbiasedness(&exact, RATE).unwrap();
    assert!(report.passed(), "{report}");
    // negative control: it is not the shrunk mean of Dr. GRPO
    let control = s.unbiasedness(&scaled(&exact, 0.75), RATE).unwrap();
    assert!(!control.passed(), "{control}");
}

#[test]
fn dr_grpo_mean_is_the_gradient_shrunk_by_n_minus_one_over_n() {
    let exact = gradient();
    for (n, seed) in [(2, 10), (4, 11)] {
        let s = categorical_run(DrGrpo, n, seed);
        let factor = (n as f64 - 1.0) / n as f64;
        let report = s.unbiasedness(&scaled(&exact, factor), RATE).unwrap();
        eprintln!("Dr. GRPO, n = {n}, against ((n−1)/n)·∇L: {report}");
        assert!(report.passed(), "{report}");
        // negative control: it is not an unbiased estimate of ∇L
        let control = s.unbiasedness(&exact, RATE).unwrap();
        eprintln!("against ∇L: max |z| = {:.1}", control.max_abs_z());
        assert!(!control.passed(), "{control}");
        // GRPO without the division is the same estimator, draw for draw
        assert_eq!(categorical_run(Grpo::mean_only(), n, seed), s);
    }
}

#[test]
fn grpo_std_division_biases_the_gradient() {
    let n = 4;
    let exact = gradient();
    let mean = grpo_mean(n);
    let s = categorical_run(Grpo::new(), n, 20);
    let report = s.unbiasedness(&mean, RATE).unwrap();
    eprintln!("GRPO, n = {n}, against its exact mean {mean:?}: {report}");
    assert!(report.passed(), "{report}");
    let dot: f64 = mean.iter().zip(&exact).map(|(a, b)| a * b).sum();
    let norm2: f64 = exact.iter().map(|x| x * x).sum();
    let cosine = dot / (norm2 * mean.iter().map(|x| x * x).sum::<f64>()).sqrt();
    let best = dot / norm2;
    eprintln!("cosine between GRPO's mean and ∇L: {cosine:.4}; best multiple {best:.4}");
    for (name, target) in [
        ("∇L", exact.clone()),
        ("(3/4)·∇L", scaled(&exact, 0.75)),
        ("the best multiple of ∇L", scaled(&exact, best)),
    ] {
        let control = s.unbiasedness(&target, RATE).unwrap();
        eprintln!("GRPO against {name}: max |z| = {:.1}", control.max_abs_z());
        assert!(
            !control.passed(),
            "GRPO passed as an estimate of {name}\n{control}"
        );
    }
}

/// The exact mean of GRPO for one Bernoulli element with logit φ and cost `x` (a 0/1 reward),
/// by listing the `2ⁿ` groups.
fn grpo_bernoulli_mean(phi: f64, n: usize) -> f64 {
    let p = 1.0 / (1.0 + (-phi).exp());
    let mut mean = 0.0;
    for j in 0..1usize << n {
        let x: Vec<f64> = (0..n).map(|i| ((j >> i) & 1) as f64).collect();
        let weight: f64 = x
            .iter()
            .map(|&b| if b == 1.0 { p } else { 1.0 - p })
            .product();
        let a = grpo_advantages(&x);
        mean += weight * x.iter().zip(&a).map(|(b, a)| a * (b - p)).sum::<f64>() / n as f64;
    }
    mean
}

#[test]
fn grpo_weighs_elements_by_their_success_rate() {
    let (n, phi) = (8, [0.0, 2.0]);
    let samples = |baseline: Grpo, seed| {
        GradientCheck::new(50_000)
            .seed(seed)
            .chunk(50_000)
            .run(&common::device(), &phi, |t, noise| {
                // the two parameters of a row are two elements (prompts), one group each
                let [m, _] = t.dims();
                let b = Bernoulli::from_logits_unchecked(t.reshape([2 * m, 1]))?;
                let est = ScoreFunction::new(baseline).estimate(&b, n, noise, |x| {
                    let rows = x.dims()[0];
                    x.reshape([rows])
                })?;
                Ok(est.surrogate.reshape([m, 2]).sum_dim(1).reshape([m]))
            })
            .unwrap()
    };
    let s = samples(Grpo::new(), 30);
    let mean = phi.map(|f| grpo_bernoulli_mean(f, n));
    let grad = phi.map(|f| {
        let p = 1.0 / (1.0 + (-f).exp());
        p * (1.0 - p)
    });
    let m = [mean[0] / grad[0], mean[1] / grad[1]];
    eprintln!("GRPO multiples of the gradient, n = {n}: {m:?} at φ = {phi:?}");
    let report = s.unbiasedness(&mean, RATE).unwrap();
    assert!(report.passed(), "{report}");
    // negative control: one multiple for both elements is rejected
    let control = s
        .unbiasedness(&[m[0] * grad[0], m[0] * grad[1]], RATE)
        .unwrap();
    eprintln!(
        "one multiple for both: max |z| = {:.1}",
        control.max_abs_z()
    );
    assert!(!control.passed(), "{control}");
    // Dr. GRPO's multiple is (n − 1)/n for both
    let dr = GradientCheck::new(50_000)
        .seed(31)
        .chunk(50_000)
        .run(&common::device(), &phi, |t, noise| {
            let [m, _] = t.dims();
            let b = Bernoulli::from_logits_unchecked(t.reshape([2 * m, 1]))?;
            let est = ScoreFunction::new(DrGrpo).estimate(&b, n, noise, |x| {
                let rows = x.dims()[0];
                x.reshape([rows])
            })?;
            Ok(est.surrogate.reshape([m, 2]).sum_dim(1).reshape([m]))
        })
        .unwrap();
    let f = (n as f64 - 1.0) / n as f64;
    let report = dr.unbiasedness(&[f * grad[0], f * grad[1]], RATE).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn group_baselines_need_two_draws() {
    let device = common::device().autodiff();
    let q = Categorical::from_logits(Tensor::<2>::zeros([2, 3], &device)).unwrap();
    let mut noise = mcgrad::NoiseSource::seed_from_u64(0);
    let cost = |k: Tensor<2, Int>| k.float().reshape([2]);
    assert!(
        ScoreFunction::new(Grpo::new())
            .estimate(&q, 1, &mut noise, cost)
            .is_err()
    );
    assert!(
        ScoreFunction::new(DrGrpo)
            .estimate(&q, 1, &mut noise, cost)
            .is_err()
    );
}
