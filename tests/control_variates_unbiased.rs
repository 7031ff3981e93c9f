//! REBAR and RELAX are unbiased against the exact gradient by enumeration, for every setting
//! they expose: REBAR at several temperatures τ and scales η (fixed, leave-one-out, running),
//! RELAX at several control variates φ (the zero network, a hand-made smooth one, and a
//! network trained on the estimator's variance); Bernoulli vectors of 4 and Categoricals of 5
//! classes (one and two positions), with costs that are not monotone, and a cost that depends on
//! θ itself.
//!
//! Exact values: `∇θ Σ_b p_θ(b) f(b)` by enumerating the support ([`exact_expectation`]) and
//! differentiating by autodiff.
//!
//! False-failure rate: each check is the kit's z-test at 1e-6 for its parameter vector
//! (Bonferroni inside); 46 checks in the file, so an unbiased estimator fails it with
//! probability below 5e-5. Seeds are fixed (the control networks are drawn from seeded noise).
//! Negative controls at the bottom, flagged by the same check: REBAR's baseline without its
//! pathwise correction, the baseline evaluated at `z` instead of `z̃`, and RELAX with a control
//! variate whose gradient does not match its value.

mod common;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use mcgrad::distributions::{Bernoulli, EnumerableSupport, OneHotCategorical, sum_per_row};
use mcgrad::estimators::control_variates::{ConditionalRelaxation, ControlNetwork, ControlVariate};
use mcgrad::estimators::{Estimator, Rebar, RebarScale, Relax, exact_expectation};
use mcgrad::testing::{GradientCheck, UnbiasednessReport, exact_gradient};
use mcgrad::{NoiseSource, Result};

const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;

/// Costs of float rows `[R, M]` (bits or their relaxations), defined on the whole cube.
#[derive(Debug, Clone, Copy)]
enum BitsCost {
    /// (Σy − 1.3)²
    CountSquared,
    /// a tanh network of w·y
    Net,
    /// cos(π·w·y)
    Wave,
}

impl BitsCost {
    fn eval(self, y: Tensor<2>) -> Tensor<1> {
        let [rows, m] = y.dims();
        let device = y.device();
        let w: Vec<f32> = (0..m).map(|i| 0.7 - 0.45 * i as f32).collect();
        let w = common::matrix(m, 1, w, &device);
        match self {
            BitsCost::CountSquared => (y.sum_dim(1) - 1.3).square().reshape([rows]),
            BitsCost::Net => {
                let h = (y.matmul(w) * 2.0 - 0.5).tanh();
                (h.clone() * 1.5 + h.square()).reshape([rows])
            }
            BitsCost::Wave => (y.matmul(w) * std::f64::consts::PI).cos().reshape([rows]),
        }
    }
}

/// Costs of one-hot (or simplex) rows `[R, L, K]`, through the class values v_k.
#[derive(Debug, Clone, Copy)]
enum ClassCost {
    /// Σ_l (y_l·v − 0.7)²
    Quadratic,
    /// sin(3 Σ_l y_l·v)
    Wave,
    /// Σ_l y_l·t_l: an arbitrary table per position (a lookup for one-hot rows)
    Table,
}

impl ClassCost {
    fn eval(self, y: Tensor<3>) -> Tensor<1> {
        let [rows, l, k] = y.dims();
        let device = y.device();
        let values: Vec<f32> = (0..k).map(|i| ((i as f32) * 1.3).sin() * 2.0).collect();
        let v = common::matrix(1, k, values, &device).reshape([1, 1, k]);
        let inner = (y.clone() * v).sum_dim(2).reshape([rows, l]);
        match self {
            ClassCost::Quadratic => (inner - 0.7).square().sum_dim(1).reshape([rows]),
            ClassCost::Wave => (inner.sum_dim(1) * 3.0).sin().reshape([rows]),
            ClassCost::Table => {
                let t: Vec<f32> = (0..l * k).map(|i| ((i * i) as f32 * 0.77).cos()).collect();
                let t = common::matrix(1, l * k, t, &device).reshape([1, l, k]);
                (y * t).sum_dim(2).sum_dim(1).reshape([rows])
            }
        }
    }
}

/// The unbiasedness check of `estimate` against enumeration, for a family built from θ rows.
fn check<const D: usize, P, F, E>(
    theta: &[f64],
    build: impl Fn(Tensor<2>) -> P + Copy,
    cost: F,
    seed: u64,
    mut estimate: E,
) -> UnbiasednessReport
where
    P: EnumerableSupport<D, Value = Tensor<D>>,
    F: Fn(Tensor<D>) -> Tensor<1> + Copy,
    E: FnMut(&P, &mut NoiseSource) -> Result<Tensor<1>>,
{
    let device = common::device();
    let exact = exact_gradient(&device, theta, |t| exact_expectation(&build(t), cost)).unwrap();
    GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(seed)
        .run(&device, theta, |t, noise| estimate(&build(t), noise))
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap()
}

fn bernoulli(t: Tensor<2>) -> Bernoulli<2> {
    Bernoulli::from_logits_unchecked(t).unwrap()
}

/// θ of L·K logits as a OneHotCategorical over `[R, L, K]`.
fn categorical<const L: usize>(t: Tensor<2>) -> OneHotCategorical<3> {
    let [rows, lk] = t.dims();
    OneHotCategorical::from_logits_unchecked(t.reshape([rows, L, lk / L])).unwrap()
}

const BERNOULLI_THETA: [f64; 4] = [0.4, -1.1, 2.0, 0.0];
const CATEGORICAL_THETA: [f64; 5] = [0.5, -0.3, 1.0, 0.0, -1.2];
const TWO_POSITIONS_THETA: [f64; 10] = [0.5, -0.3, 1.0, 0.0, -1.2, -0.4, 0.9, 0.2, -2.0, 0.6];

/// REBAR at its settings: (τ, η rule, draws per element).
const REBAR_SETTINGS: [(f64, RebarScale, usize); 4] = [
    (0.5, RebarScale::Fixed(1.0), 1),
    (0.1, RebarScale::Fixed(0.3), 1),
    (2.0, RebarScale::Fixed(2.5), 2),
    (0.5, RebarScale::LeaveOneOut, 3),
];

/// A REBAR with a running scale, warmed up on `warmup` calls so that η differs from 1.
fn warmed_rebar<const D: usize, P: ConditionalRelaxation<D>>(
    dist: &P,
    cost: impl Fn(Tensor<D>) -> Tensor<1> + Copy,
) -> Rebar {
    let mut rebar = Rebar::with_scale(0.5, RebarScale::Running { decay: 0.5 }).unwrap();
    let mut noise = NoiseSource::seed_from_u64(77);
    for _ in 0..3 {
        let rows = 3 * dist.rows() * 4;
        rebar
            .estimate(dist, 4, &mut noise, |y| {
                let c = cost(y);
                assert_eq!(c.dims(), [rows]);
                c
            })
            .unwrap();
    }
    rebar
}

#[test]
fn rebar_is_unbiased_for_bernoulli_vectors_at_every_setting() {
    for (i, cost) in [BitsCost::CountSquared, BitsCost::Net, BitsCost::Wave]
        .into_iter()
        .enumerate()
    {
        let f = move |y: Tensor<2>| cost.eval(y);
        for (tau, scale, n) in REBAR_SETTINGS {
            let report = check(&BERNOULLI_THETA, bernoulli, f, 30 + i as u64, |q, noise| {
                Ok(Rebar::with_scale(tau, scale)?
                    .estimate(q, n, noise, f)?
                    .surrogate)
            });
            assert!(report.passed(), "{cost:?}, τ = {tau}, {scale:?}\n{report}");
        }
    }
}

#[test]
fn rebar_with_a_running_scale_is_unbiased_and_learns_a_scale_per_logit() {
    let device = common::device();
    let f = |y: Tensor<2>| BitsCost::Net.eval(y);
    let theta = Tensor::<2>::from_floats([[0.4f32, -1.1, 2.0, 0.0]], &device);
    let rebar = warmed_rebar(&bernoulli(theta), f);
    let eta = common::values(rebar.running_scale().unwrap());
    assert_eq!(eta.len(), 4);
    assert!(
        eta.iter().any(|e| (e - 1.0).abs() > 1e-3),
        "η stayed at 1: {eta:?}"
    );
    let report = check(&BERNOULLI_THETA, bernoulli, f, 41, |q, noise| {
        Ok(rebar.clone().estimate(q, 1, noise, f)?.surrogate)
    });
    assert!(report.passed(), "running η = {eta:?}\n{report}");

    let g = |y: Tensor<3>| ClassCost::Quadratic.eval(y);
    let theta = Tensor::<2>::from_floats([[0.5f32, -0.3, 1.0, 0.0, -1.2]], &device);
    let rebar = warmed_rebar(&categorical::<1>(theta), g);
    let report = check(&CATEGORICAL_THETA, categorical::<1>, g, 42, |q, noise| {
        Ok(rebar.clone().estimate(q, 1, noise, g)?.surrogate)
    });
    assert!(report.passed(), "categorical, running η\n{report}");
}

#[test]
fn rebar_is_unbiased_for_categoricals_of_five_classes_at_every_setting() {
    for (i, cost) in [ClassCost::Quadratic, ClassCost::Wave, ClassCost::Table]
        .into_iter()
        .enumerate()
    {
        let f = move |y: Tensor<3>| cost.eval(y);
        for (tau, scale, n) in REBAR_SETTINGS {
            let report = check(
                &CATEGORICAL_THETA,
                categorical::<1>,
                f,
                50 + i as u64,
                |q, noise| {
                    Ok(Rebar::with_scale(tau, scale)?
                        .estimate(q, n, noise, f)?
                        .surrogate)
                },
            );
            assert!(report.passed(), "{cost:?}, τ = {tau}, {scale:?}\n{report}");
        }
    }
    // two positions of five classes: 25 configurations, 10 logits
    let f = |y: Tensor<3>| ClassCost::Wave.eval(y);
    for (tau, scale, n) in [REBAR_SETTINGS[0], REBAR_SETTINGS[3]] {
        let report = check(&TWO_POSITIONS_THETA, categorical::<2>, f, 59, |q, noise| {
            Ok(Rebar::with_scale(tau, scale)?
                .estimate(q, n, noise, f)?
                .surrogate)
        });
        assert!(
            report.passed(),
            "two positions, τ = {tau}, {scale:?}\n{report}"
        );
    }
}

/// A smooth hand-made control variate: c(z) = Σ_j a_j tanh(z_j) + 0.1 (Σ_j z_j)².
#[derive(Debug, Clone)]
struct Smooth;

impl ControlVariate for Smooth {
    fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let [rows, m] = z.dims();
        let a: Vec<f32> = (0..m).map(|j| 0.8 - 0.3 * j as f32).collect();
        let a = common::matrix(1, m, a, &z.device());
        let t = z.clone().tanh();
        let s = z.sum_dim(1);
        let value = (t.clone() * a.clone()).sum_dim(1) + s.clone().square() * 0.1;
        let gradient = (t.square().neg() + 1.0) * a + (s * 0.2).expand([rows, m]);
        (value.reshape([rows]), gradient)
    }
}

/// A control network trained for `steps` Adam steps on the estimator's variance for `dist`.
fn trained_network<const D: usize, P: ConditionalRelaxation<D>>(
    make: impl Fn() -> P,
    inputs: usize,
    cost: impl Fn(Tensor<D>) -> Tensor<1> + Copy,
    steps: usize,
) -> ControlNetwork {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(91);
    let mut relax = Relax::new(ControlNetwork::new(inputs, 8, &mut noise, &device));
    let mut optim = AdamConfig::new().init();
    for _ in 0..steps {
        let dist = make();
        let est = relax.estimate(&dist, 8, &mut noise, cost).unwrap();
        let grads = GradientsParams::from_grads(est.loss().backward(), relax.control());
        let net = optim.step(3e-2, relax.control().clone(), grads);
        relax = Relax::new(net);
    }
    relax.into_control()
}

#[test]
fn relax_is_unbiased_for_bernoulli_vectors_at_several_control_variates() {
    let device = common::device().autodiff();
    let mut noise = NoiseSource::seed_from_u64(5);
    let zero = ControlNetwork::new(4, 8, &mut noise, &device);
    for (i, cost) in [BitsCost::CountSquared, BitsCost::Net, BitsCost::Wave]
        .into_iter()
        .enumerate()
    {
        let f = move |y: Tensor<2>| cost.eval(y);
        let make = || {
            bernoulli(Tensor::<2>::from_floats(
                [[0.4f32, -1.1, 2.0, 0.0]],
                &device,
            ))
        };
        let trained = trained_network(make, 4, f, 30);
        let seed = 60 + i as u64;
        let r1 = check(&BERNOULLI_THETA, bernoulli, f, seed, |q, noise| {
            Ok(Relax::new(zero.clone()).estimate(q, 1, noise, f)?.surrogate)
        });
        let r2 = check(&BERNOULLI_THETA, bernoulli, f, seed, |q, noise| {
            Ok(Relax::new(Smooth).estimate(q, 2, noise, f)?.surrogate)
        });
        let r3 = check(&BERNOULLI_THETA, bernoulli, f, seed, |q, noise| {
            Ok(Relax::new(trained.clone())
                .estimate(q, 1, noise, f)?
                .surrogate)
        });
        for (name, r) in [
            ("zero network", r1),
            ("smooth", r2),
            ("trained network", r3),
        ] {
            assert!(r.passed(), "{cost:?}, {name}\n{r}");
        }
    }
}

#[test]
fn relax_is_unbiased_for_categoricals_at_several_control_variates() {
    let device = common::device().autodiff();
    for (i, cost) in [ClassCost::Quadratic, ClassCost::Wave, ClassCost::Table]
        .into_iter()
        .enumerate()
    {
        let f = move |y: Tensor<3>| cost.eval(y);
        let make = || {
            categorical::<1>(Tensor::<2>::from_floats(
                [[0.5f32, -0.3, 1.0, 0.0, -1.2]],
                &device,
            ))
        };
        let trained = trained_network(make, 5, f, 30);
        let seed = 70 + i as u64;
        let r1 = check(&CATEGORICAL_THETA, categorical::<1>, f, seed, |q, noise| {
            Ok(Relax::new(Smooth).estimate(q, 1, noise, f)?.surrogate)
        });
        let r2 = check(&CATEGORICAL_THETA, categorical::<1>, f, seed, |q, noise| {
            Ok(Relax::new(trained.clone())
                .estimate(q, 2, noise, f)?
                .surrogate)
        });
        for (name, r) in [("smooth", r1), ("trained network", r2)] {
            assert!(r.passed(), "{cost:?}, {name}\n{r}");
        }
    }
    let f = |y: Tensor<3>| ClassCost::Quadratic.eval(y);
    let r = check(&TWO_POSITIONS_THETA, categorical::<2>, f, 79, |q, noise| {
        Ok(Relax::new(Smooth).estimate(q, 1, noise, f)?.surrogate)
    });
    assert!(r.passed(), "two positions\n{r}");
}

#[test]
fn rebar_and_relax_pass_the_gradient_of_a_cost_that_depends_on_theta() {
    // θ = (5 logits, s): f(y; s) = s·Quadratic(y) + s², so ∂/∂s E f = E Quadratic + 2s
    let theta = [0.5, -0.3, 1.0, 0.0, -1.2, 0.8];
    let device = common::device();
    let dist = |t: &Tensor<2>| categorical::<1>(t.clone().slice([0..t.dims()[0], 0..5]));
    let cost = |t: &Tensor<2>, y: Tensor<3>| {
        let rows = y.dims()[0];
        let s = t.clone().slice([0..t.dims()[0], 5..6]);
        let s = s.repeat_dim(0, rows / t.dims()[0]).reshape([rows]);
        ClassCost::Quadratic.eval(y) * s.clone() + s.square()
    };
    let exact = exact_gradient(&device, &theta, |t| {
        exact_expectation(&dist(&t), |y| cost(&t, y))
    })
    .unwrap();
    assert!(
        exact[5].abs() > 0.5,
        "the θ-dependent part must matter: {exact:?}"
    );
    let rebar = GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(81)
        .run(&device, &theta, |t, noise| {
            Ok(Rebar::new(0.5)?
                .estimate(&dist(&t), 2, noise, |y| cost(&t, y))?
                .surrogate)
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap();
    assert!(rebar.passed(), "REBAR\n{rebar}");
    let relax = GradientCheck::new(SAMPLES)
        .chunk(SAMPLES)
        .seed(82)
        .run(&device, &theta, |t, noise| {
            Ok(Relax::new(Smooth)
                .estimate(&dist(&t), 2, noise, |y| cost(&t, y))?
                .surrogate)
        })
        .unwrap()
        .unbiasedness(&exact, RATE)
        .unwrap();
    assert!(relax.passed(), "RELAX\n{relax}");
}

/// REBAR's control variate without its pathwise correction (`at_z = false`), or with the
/// baseline evaluated at the unconditional `z` (`at_z = true`): written with the public pieces.
fn wrong_rebar(q: &Bernoulli<2>, noise: &mut NoiseSource, at_z: bool) -> Tensor<1> {
    let cost = BitsCost::Net;
    let u = q.relaxation_logits();
    let rows = u.dims()[0];
    let draw = Bernoulli::<2>::draw_conditional(u.clone(), noise);
    let b = draw.hard.clone();
    let base_at = if at_z {
        draw.perturbed.clone()
    } else {
        draw.conditional.clone()
    };
    let y = Bernoulli::<2>::relax_perturbed(base_at, 0.5);
    let costs = cost.eval(Tensor::cat(vec![b.clone(), y], 0)).detach();
    let signal = costs.clone().narrow(0, 0, rows) - costs.narrow(0, rows, rows);
    // ∇ ln p(b) = b − σ(u), attached along δ = u − sg(u)
    let score = sum_per_row((b - draw.probabilities) * (u.clone() - u.detach()));
    signal * score
}

fn rebar_negative_control(at_z: bool) -> UnbiasednessReport {
    check(
        &BERNOULLI_THETA,
        bernoulli,
        |y| BitsCost::Net.eval(y),
        90,
        |q, noise| Ok(wrong_rebar(q, noise, at_z)),
    )
}

#[test]
fn negative_control_rebar_without_its_pathwise_correction_is_flagged() {
    let report = rebar_negative_control(false);
    assert!(!report.passed(), "{report}");
}

#[test]
fn negative_control_a_baseline_at_the_unconditional_z_is_flagged() {
    let report = rebar_negative_control(true);
    assert!(!report.passed(), "{report}");
}

/// A control variate whose gradient is not the gradient of its value.
#[derive(Debug, Clone)]
struct Lying;

impl ControlVariate for Lying {
    fn value_and_gradient(&self, z: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let (value, _) = Smooth.value_and_gradient(z.clone());
        (value, z.zeros_like())
    }
}

#[test]
fn negative_control_relax_with_a_control_gradient_that_does_not_match_is_flagged() {
    let f = |y: Tensor<2>| BitsCost::Net.eval(y);
    let report = check(&BERNOULLI_THETA, bernoulli, f, 92, |q, noise| {
        Ok(Relax::new(Lying).estimate(q, 1, noise, f)?.surrogate)
    });
    assert!(!report.passed(), "{report}");
}
