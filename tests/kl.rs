//! Closed-form KL divergences against Monte Carlo: KL(p ‖ q) = E_p[ln p(x) − ln q(x)],
//! estimated from 200 000 draws of p, z-test at a false-failure rate of 1e-6 per pair (seeds
//! fixed). The negative control shifts the closed form by a small amount and must be rejected.

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::distributions::{
    Distribution, Exponential, Laplace, LogNormal, MultivariateNormal, Normal, Uniform,
};
use mcgrad::kl::{KlDivergence, kl_divergence};
use mcgrad::testing::normal_quantile;

const DRAWS: usize = 200_000;

/// (closed form, MC mean, MC standard error) for the first batch element.
fn compare<const D: usize, P, Q>(p: &P, q: &Q, seed: u64) -> (f64, f64, f64)
where
    P: Distribution<D, Value = Tensor<D>> + KlDivergence<D, Q>,
    Q: Distribution<D, Value = Tensor<D>>,
{
    let closed = common::values(kl_divergence(p, q).unwrap())[0];
    let draws = p.replicate(DRAWS);
    let x = draws.sample(&mut NoiseSource::seed_from_u64(seed));
    let ratio = draws.log_prob(&x).unwrap() - q.replicate(DRAWS).log_prob(&x).unwrap();
    let rows = common::values(ratio.sum_dim(D - 1));
    let n = rows.len() as f64;
    let mean = rows.iter().sum::<f64>() / n;
    let var = rows.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (closed, mean, (var / n).sqrt())
}

fn agrees(closed: f64, mean: f64, se: f64) -> bool {
    (closed - mean).abs() <= normal_quantile(1.0 - 1e-6 / 2.0) * se.max(1e-9)
}

fn t2(v: f32, device: &Device) -> Tensor<2> {
    Tensor::from_floats([[v]], device)
}

#[test]
fn closed_form_kl_matches_monte_carlo() {
    let d = common::device();
    let mut cases: Vec<(&str, (f64, f64, f64))> = vec![
        (
            "normal",
            compare(
                &Normal::new(t2(0.3, &d), t2(0.8, &d)).unwrap(),
                &Normal::new(t2(-0.5, &d), t2(1.4, &d)).unwrap(),
                1,
            ),
        ),
        (
            "log_normal",
            compare(
                &LogNormal::new(t2(0.1, &d), t2(0.5, &d)).unwrap(),
                &LogNormal::new(t2(0.4, &d), t2(0.7, &d)).unwrap(),
                2,
            ),
        ),
        (
            "exponential",
            compare(
                &Exponential::new(t2(1.5, &d)).unwrap(),
                &Exponential::new(t2(0.6, &d)).unwrap(),
                3,
            ),
        ),
        (
            "laplace",
            compare(
                &Laplace::new(t2(0.2, &d), t2(0.7, &d)).unwrap(),
                &Laplace::new(t2(-0.4, &d), t2(1.1, &d)).unwrap(),
                4,
            ),
        ),
        (
            "uniform",
            compare(
                &Uniform::new(t2(0.0, &d), t2(1.0, &d)).unwrap(),
                &Uniform::new(t2(-0.5, &d), t2(2.0, &d)).unwrap(),
                5,
            ),
        ),
    ];
    let loc = |a: f32, b: f32| Tensor::<2>::from_floats([[a, b]], &d);
    let tril = |a: f32, b: f32, c: f32| Tensor::<3>::from_floats([[[a, 0.0], [b, c]]], &d);
    let p = MultivariateNormal::new(loc(0.5, -0.2), tril(1.2, 0.3, 0.7)).unwrap();
    let q = MultivariateNormal::new(loc(-0.1, 0.4), tril(0.9, -0.5, 1.3)).unwrap();
    cases.push(("multivariate_normal", compare(&p, &q, 6)));
    for (name, (closed, mean, se)) in cases {
        assert!(
            agrees(closed, mean, se),
            "{name}: closed form {closed}, Monte Carlo {mean} ± {se}"
        );
    }
}

#[test]
fn negative_control_a_wrong_closed_form_is_rejected() {
    let d = common::device();
    let p = Normal::new(t2(0.3, &d), t2(0.8, &d)).unwrap();
    let q = Normal::new(t2(-0.5, &d), t2(1.4, &d)).unwrap();
    let (closed, mean, se) = compare(&p, &q, 1);
    assert!(agrees(closed, mean, se));
    // the same check on a formula off by 0.02 nats (for instance a dropped constant) fails
    assert!(
        !agrees(closed + 0.02, mean, se),
        "MC {mean} ± {se} cannot tell a 0.02 error"
    );
}

#[test]
fn kl_of_a_distribution_with_itself_is_zero_and_uniform_outside_is_infinite() {
    let d = common::device();
    let p = Normal::new(
        Tensor::<2>::from_floats([[0.3, 1.0]], &d),
        Tensor::<2>::from_floats([[0.8, 2.0]], &d),
    )
    .unwrap();
    for v in common::values(kl_divergence(&p, &p).unwrap()) {
        assert!(v.abs() < 1e-6);
    }
    let wide = Uniform::new(t2(0.0, &d), t2(2.0, &d)).unwrap();
    let narrow = Uniform::new(t2(0.5, &d), t2(1.0, &d)).unwrap();
    assert_eq!(
        common::values(kl_divergence(&wide, &narrow).unwrap())[0],
        f64::INFINITY
    );
}

#[test]
fn kl_of_batches_that_do_not_broadcast_is_a_shape_error() {
    let d = common::device();
    let p = Normal::new(
        Tensor::<2>::zeros([2, 3], &d),
        Tensor::<2>::ones([2, 3], &d),
    )
    .unwrap();
    let q = Normal::new(
        Tensor::<2>::zeros([4, 3], &d),
        Tensor::<2>::ones([4, 3], &d),
    )
    .unwrap();
    assert!(matches!(
        kl_divergence(&p, &q),
        Err(mcgrad::Error::ShapeMismatch { .. })
    ));
}

#[test]
fn discrete_kl_matches_a_direct_sum() {
    use mcgrad::distributions::{Bernoulli, Categorical, OneHotCategorical};
    let d = common::device();
    // KL(p ‖ q) = Σ_k p_k ln(p_k / q_k), computed here on the host in f64
    let (a, b) = ([0.2f32, -1.0, 1.5, 0.0], [1.0f32, 0.3, -0.5, 0.2]);
    let softmax = |l: &[f32]| {
        let z: f64 = l.iter().map(|&x| (x as f64).exp()).sum();
        l.iter().map(|&x| (x as f64).exp() / z).collect::<Vec<_>>()
    };
    let (p, q) = (softmax(&a), softmax(&b));
    let want: f64 = p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum();
    let cp = Categorical::from_logits(Tensor::<2>::from_floats([a], &d)).unwrap();
    let cq = Categorical::from_logits(Tensor::<2>::from_floats([b], &d)).unwrap();
    let got = common::values(kl_divergence(&cp, &cq).unwrap())[0];
    assert!((got - want).abs() < 1e-5, "categorical: {got} vs {want}");
    let op = OneHotCategorical::from_logits(Tensor::<2>::from_floats([a], &d)).unwrap();
    let oq = OneHotCategorical::from_logits(Tensor::<2>::from_floats([b], &d)).unwrap();
    assert!((common::values(kl_divergence(&op, &oq).unwrap())[0] - want).abs() < 1e-5);

    // Bernoulli: p ln(p/q) + (1 − p) ln((1 − p)/(1 − q)), at ordinary and extreme logits
    for (la, lb) in [(0.3f32, -1.2f32), (4.0, 4.5), (-20.0, 3.0)] {
        let (p, q) = (
            1.0 / (1.0 + (-la as f64).exp()),
            1.0 / (1.0 + (-lb as f64).exp()),
        );
        let want = p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln();
        let bp = Bernoulli::from_logits(Tensor::<2>::from_floats([[la]], &d)).unwrap();
        let bq = Bernoulli::from_logits(Tensor::<2>::from_floats([[lb]], &d)).unwrap();
        let got = common::values(kl_divergence(&bp, &bq).unwrap())[0];
        assert!(
            (got - want).abs() < 1e-5 * want.abs().max(1.0),
            "bernoulli ({la}, {lb}): {got} vs {want}"
        );
    }
}

#[test]
fn categorical_kl_is_infinite_where_q_rules_out_a_class_p_allows() {
    use mcgrad::distributions::Categorical;
    let d = common::device();
    let p = Categorical::from_logits(Tensor::<2>::from_floats([[0.0, 0.0]], &d)).unwrap();
    let q =
        Categorical::from_logits(Tensor::<2>::from_floats([[0.0, f32::NEG_INFINITY]], &d)).unwrap();
    assert_eq!(
        common::values(kl_divergence(&p, &q).unwrap())[0],
        f64::INFINITY
    );
    // and p ruling out a class costs nothing there
    let v = common::values(kl_divergence(&q, &p).unwrap())[0];
    assert!((v - 2f64.ln()).abs() < 1e-6, "{v}");
}
