//! The score-function estimator, with every baseline, is unbiased against the exact gradient
//! by enumeration: Categoricals of 2 to 10 classes, vectors of Bernoullis, several cost
//! functions, and a cost that depends on θ itself (the pathwise part).
//!
//! False-failure rate: each check is a z-test at 1e-6 for its parameter vector (Bonferroni
//! inside); about 60 checks in the file, so an unbiased estimator fails it with probability
//! below 1e-4. Seeds are fixed. Negative controls at the bottom: a baseline that depends on
//! the draw it multiplies, and a score term with the wrong sign, are flagged.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{Bernoulli, Categorical, Distribution};
use mcgrad::estimators::baselines::{
    Baseline, LearnedBaseline, LeaveOneOut, MovingAverage, NoBaseline,
};
use mcgrad::estimators::{Estimator, ScoreFunction, exact_expectation};
use mcgrad::testing::{GradientCheck, UnbiasednessReport, exact_gradient};
use mcgrad::{NoiseSource, Result};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// Costs of a class index `k` (`[R, 1]`, Int) as one cost per row.
#[derive(Debug, Clone, Copy)]
enum ClassCost {
    /// a fixed table v[k]
    Table,
    /// (k − 2.5)²
    Quadratic,
    /// sin(k) + 0.1 k²
    Wavy,
}

impl ClassCost {
    fn eval(self, k: Tensor<2, Int>) -> Tensor<1> {
        let [rows, _] = k.dims();
        let x = k.float();
        let out = match self {
            ClassCost::Table => {
                let table = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.5, -2.2, 0.1, 0.9, -0.8];
                let device = x.device();
                let t = Tensor::<1>::from_floats(table, &device);
                t.select(0, x.clone().int().reshape([rows]))
                    .reshape([rows, 1])
            }
            ClassCost::Quadratic => (x - 2.5).square(),
            ClassCost::Wavy => x.clone().sin() + x.square() * 0.1,
        };
        out.reshape([rows])
    }
}

/// Costs of a row of Bernoulli draws `[R, M]`.
#[derive(Debug, Clone, Copy)]
enum BitsCost {
    /// w·b
    Linear,
    /// (Σb − 1.3)²
    CountSquared,
    /// tanh network of the bits
    Net,
}

impl BitsCost {
    fn eval(self, b: Tensor<2>) -> Tensor<1> {
        let [rows, m] = b.dims();
        let device = b.device();
        let w: Vec<f32> = (0..m).map(|i| 0.7 - 0.45 * i as f32).collect();
        let w = common::matrix(m, 1, w, &device);
        match self {
            BitsCost::Linear => b.matmul(w).reshape([rows]),
            BitsCost::CountSquared => (b.sum_dim(1) - 1.3).square().reshape([rows]),
            BitsCost::Net => {
                let h = (b.matmul(w) * 2.0 - 0.5).tanh();
                (h.clone() * 1.5 + h.square()).reshape([rows])
            }
        }
    }
}

fn logits_for(k: usize) -> Vec<f64> {
    (0..k).map(|i| ((i as f64) * 1.7).sin() * 1.2).collect()
}

/// The unbiasedness check of the score function with baseline `make()`, `n` draws per element,
/// for a distribution built from θ rows by `build`, against the exact gradient by enumeration.
fn check<P, B, M, C>(
    theta: &[f64],
    n: usize,
    make: M,
    build: impl Fn(Tensor<2>) -> P + Copy,
    cost: C,
) -> UnbiasednessReport
where
    P: mcgrad::distributions::EnumerableSupport<2>,
    B: Baseline,
    M: Fn(&Tensor<2>) -> B,
    C: Fn(P::Value) -> Tensor<1> + Copy,
{
    let device = common::device();
    let exact = exact_gradient(&device, theta, |t| exact_expectation(&build(t), cost)).unwrap();
    let samples = GradientCheck::new(SAMPLES)
        .seed(11)
        .run(
            &device,
            theta,
            |t, noise: &mut NoiseSource| -> Result<Tensor<1>> {
                let mut estimator = ScoreFunction::new(make(&t));
                let dist = build(t);
                Ok(estimator.estimate(&dist, n, noise, cost)?.surrogate)
            },
        )
        .unwrap();
    samples.unbiasedness(&exact, RATE).unwrap()
}

/// A baseline per element from θ itself, as a learned model would give (its value matters
/// only for the variance; its gradient trains nothing here since θ is not the model).
fn learned(t: &Tensor<2>) -> LearnedBaseline {
    let [rows, _] = t.dims();
    LearnedBaseline::new(t.clone().detach().sum_dim(1).reshape([rows]) * 0.1 + 0.5)
}

#[test]
fn score_function_is_unbiased_for_categoricals_with_every_baseline() {
    for k in [2, 3, 5, 10] {
        let theta = logits_for(k);
        for cost in [ClassCost::Table, ClassCost::Quadratic, ClassCost::Wavy] {
            let build = |t: Tensor<2>| Categorical::from_logits_unchecked(t).unwrap();
            let f = move |x: Tensor<2, Int>| cost.eval(x);
            let reports = [
                ("none", check(&theta, 1, |_| NoBaseline, build, f)),
                (
                    "moving average",
                    check(&theta, 1, |_| MovingAverage::new(0.9).unwrap(), build, f),
                ),
                ("leave-one-out", check(&theta, 4, |_| LeaveOneOut, build, f)),
                ("learned", check(&theta, 1, learned, build, f)),
            ];
            for (name, report) in reports {
                assert!(
                    report.passed(),
                    "K = {k}, {cost:?}, baseline {name}\n{report}"
                );
            }
        }
    }
}

#[test]
fn score_function_is_unbiased_for_vectors_of_bernoullis() {
    let theta = [0.4, -1.1, 2.0, 0.0];
    for cost in [BitsCost::Linear, BitsCost::CountSquared, BitsCost::Net] {
        let build = |t: Tensor<2>| Bernoulli::from_logits_unchecked(t).unwrap();
        let f = move |x: Tensor<2>| cost.eval(x);
        for (name, report) in [
            ("none", check(&theta, 1, |_| NoBaseline, build, f)),
            (
                "moving average",
                check(&theta, 1, |_| MovingAverage::new(0.5).unwrap(), build, f),
            ),
            ("leave-one-out", check(&theta, 3, |_| LeaveOneOut, build, f)),
            ("learned", check(&theta, 2, learned, build, f)),
        ] {
            assert!(report.passed(), "{cost:?}, baseline {name}\n{report}");
        }
    }
}

#[test]
fn score_function_includes_the_pathwise_part_of_a_cost_that_depends_on_theta() {
    // θ = (logits of 4 classes, s): f(k; s) = s·v[k] + s², so ∂/∂s E f = E v[k] + 2s
    let theta = [0.2, -0.5, 1.0, 0.3, 0.8];
    let device = common::device();
    let cost = |t: &Tensor<2>, k: Tensor<2, Int>| {
        let [rows, _] = k.dims();
        let s = t.clone().slice([0..t.dims()[0], 4..5]);
        let reps = rows / t.dims()[0];
        let s = s.repeat_dim(0, reps).reshape([rows]);
        ClassCost::Table.eval(k) * s.clone() + s.square()
    };
    let logits = |t: &Tensor<2>| {
        Categorical::from_logits_unchecked(t.clone().slice([0..t.dims()[0], 0..4])).unwrap()
    };
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(&logits(&t), |k| cost(&t, k))
    })
    .unwrap();
    let samples = GradientCheck::new(SAMPLES)
        .seed(3)
        .run(&device, &theta, |t, noise| {
            let est =
                ScoreFunction::new(LeaveOneOut).estimate(&logits(&t), 2, noise, |k| cost(&t, k))?;
            Ok(est.surrogate)
        })
        .unwrap();
    let report = samples.unbiasedness(&exact, RATE).unwrap();
    assert!(report.passed(), "{report}");
    assert!(
        exact[4].abs() > 0.5,
        "the θ-dependent part must matter: {exact:?}"
    );
}

/// A "baseline" equal to the draw's own cost: it zeroes the gradient, a classic bug.
struct OwnCost;
impl Baseline for OwnCost {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        Ok(costs.clone())
    }
}

#[test]
fn negative_control_a_baseline_that_sees_its_own_draw_is_flagged() {
    let theta = logits_for(5);
    let report = check(
        &theta,
        1,
        |_| OwnCost,
        |t| Categorical::from_logits_unchecked(t).unwrap(),
        |x| ClassCost::Table.eval(x),
    );
    assert!(!report.passed(), "{report}");
}

/// REINFORCE with the score's sign flipped (gradient ascent on the wrong side).
struct Flipped;
impl Baseline for Flipped {
    fn values(&mut self, costs: &Tensor<2>) -> Result<Tensor<2>> {
        Ok(costs.clone() * 2.0)
    }
}

#[test]
fn negative_control_a_flipped_score_term_is_flagged() {
    let theta = [0.4, -1.1, 2.0, 0.0];
    let report = check(
        &theta,
        1,
        |_| Flipped,
        |t| Bernoulli::from_logits_unchecked(t).unwrap(),
        |x| BitsCost::Linear.eval(x),
    );
    assert!(!report.passed(), "{report}");
}

#[test]
fn exact_expectation_by_enumeration_matches_direct_sums() {
    let device = common::device();
    // a Categorical with 3 positions of 3 classes per row: 27 configurations
    let logits = Tensor::<3>::from_floats(
        [[[0.1, 0.5, -0.3], [1.0, 0.0, 0.0], [-2.0, 0.3, 0.9]]],
        &device,
    );
    let c = Categorical::from_logits(logits.clone()).unwrap();
    let e = exact_expectation(&c, |k: Tensor<3, Int>| {
        let [rows, _, _] = k.dims();
        k.float().sum_dim(1).reshape([rows])
    })
    .unwrap();
    // E[Σ_l k_l] = Σ_l Σ_k k p_lk
    let p = common::values(c.probs());
    let want: f64 = (0..3)
        .map(|l| (0..3).map(|k| k as f64 * p[l * 3 + k]).sum::<f64>())
        .sum();
    let got = common::values(e)[0];
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    assert_eq!(c.value_shape(), [1, 3, 1]);
}
