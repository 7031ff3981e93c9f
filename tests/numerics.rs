//! The numerics grid: no NaN or infinity in samples, log-densities or gradients of the
//! relaxed and discrete families for logits up to ±1e4, temperatures down to 1e-3, and noise
//! at the edges of its range (the Gumbel values of the smallest and largest exponential draws
//! the sampler makes, the logistic values of the smallest and largest uniforms in (0, 1), in
//! f32 and in f64), as well as ordinary draws. (tests/relaxed_extremes.rs goes further: raw
//! logits up to `f32::MAX` and any temperature.)
//!
//! Deterministic (fixed noise and seeds): it either holds or it does not. It would catch,
//! for instance, a softmax without max-subtraction, `ln` of an underflowed probability, or a
//! straight-through written `h − s + s` (not exactly one-hot).

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::StandardNoise;
use mcgrad::distributions::{
    Bernoulli, Categorical, Distribution, RelaxedBernoulli, RelaxedOneHotCategorical,
    Reparameterized,
};
use mcgrad::estimators::gumbel_softmax;
use mcgrad::rng::{gumbel_from_exponential, logistic_from_uniform};

const LOGITS: [f32; 7] = [-1e4, -100.0, -10.0, 0.0, 10.0, 100.0, 1e4];
const TEMPERATURES: [f64; 6] = [1e-3, 1e-2, 0.1, 0.5, 1.0, 10.0];

/// The uniforms at the edges of (0, 1): f64's and f32's extremes, and the 23-bit grid's.
fn edge_uniforms() -> Vec<f64> {
    vec![
        f64::MIN_POSITIVE,
        f32::MIN_POSITIVE as f64,
        2f64.powi(-24),
        0.5,
        1.0 - 2f64.powi(-24),
        1.0 - f64::EPSILON / 2.0,
    ]
}

fn all_finite<const D: usize>(what: &str, t: Tensor<D>) {
    let v = common::values(t);
    assert!(
        v.iter().all(|x| x.is_finite()),
        "{what}: non-finite value among {:?}",
        &v[..v.len().min(12)]
    );
}

/// Every triple of grid logits: `[343, 3]`.
fn logit_triples(device: &Device) -> Tensor<2> {
    let mut v = Vec::new();
    for a in LOGITS {
        for b in LOGITS {
            for c in LOGITS {
                v.extend([a, b, c]);
            }
        }
    }
    common::matrix(v.len() / 3, 3, v, device)
}

/// The exponential draws at the edges of the sampler's range: 0, the smallest subnormal and
/// normal floats, 2⁻²⁴, ordinary values and the largest draw.
fn edge_exponentials() -> Vec<f32> {
    vec![
        0.0,
        f32::from_bits(1),
        f32::MIN_POSITIVE,
        2f32.powi(-24),
        0.5,
        1.0,
        StandardNoise::Exponential.bounds().1,
    ]
}

/// Gumbel noise `[rows, 3]` cycling through every pair of edge values per row.
fn edge_gumbel(rows: usize, device: &Device) -> Tensor<2> {
    let g: Vec<f32> = edge_exponentials()
        .into_iter()
        .map(gumbel_from_exponential)
        .collect();
    let v: Vec<f32> = (0..rows * 3)
        .map(|i| g[(i * 7 + i / 3) % g.len()])
        .collect();
    common::matrix(rows, 3, v, device)
}

#[test]
fn edge_noise_values_are_finite_and_within_the_bounds() {
    let (lo, hi) = StandardNoise::Gumbel.bounds();
    for e in edge_exponentials() {
        let g = gumbel_from_exponential(e);
        assert!(g.is_finite() && lo <= g && g <= hi, "e = {e}: {g}");
    }
    let (lo, hi) = StandardNoise::Logistic.bounds();
    for u in edge_uniforms() {
        let l = logistic_from_uniform(u);
        assert!(l.is_finite(), "u = {u}: {l}");
        // the sampler's uniforms are at least 2⁻⁵³ from 0 and 1: within the bounds there
        if u >= 2f64.powi(-53) && u <= 1.0 - 2f64.powi(-53) {
            assert!(lo <= l && l <= hi, "u = {u}: {l}");
        }
    }
}

#[test]
fn relaxed_one_hot_categorical_stays_finite_on_the_grid() {
    let device = common::device().autodiff();
    let w = Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device);
    let mut noise = NoiseSource::seed_from_u64(0);
    for tau in TEMPERATURES {
        let logits = logit_triples(&device).require_grad();
        let rows = logits.dims()[0];
        let d = RelaxedOneHotCategorical::new(logits.clone(), tau).unwrap();
        for (name, g) in [
            ("edge noise", edge_gumbel(rows, &device)),
            ("drawn noise", d.draw_noise(&mut noise)),
        ] {
            let y = d.rsample_with_noise(g.clone()).unwrap();
            let log_y = d.rsample_log_with_noise(g).unwrap();
            let lp = d.log_prob(&y).unwrap();
            let lp_log = d.log_prob_from_log(&log_y).unwrap();
            all_finite(&format!("τ = {tau}, {name}: y"), y.clone());
            all_finite(&format!("τ = {tau}, {name}: ln y"), log_y.clone());
            all_finite(&format!("τ = {tau}, {name}: log_prob(y)"), lp.clone());
            all_finite(
                &format!("τ = {tau}, {name}: log_prob_from_log"),
                lp_log.clone(),
            );
            let loss = (y * w.clone()).sum() + lp.sum() + lp_log.sum() + log_y.sum();
            let grad = logits.grad(&loss.backward()).unwrap();
            all_finite(&format!("τ = {tau}, {name}: gradient"), grad);
        }
    }
}

#[test]
fn hard_gumbel_softmax_is_exactly_one_hot_with_finite_gradients() {
    let device = common::device().autodiff();
    let w = Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device);
    let mut noise = NoiseSource::seed_from_u64(1);
    for tau in TEMPERATURES {
        let logits = logit_triples(&device).require_grad();
        let y = gumbel_softmax(logits.clone(), tau, true, &mut noise).unwrap();
        let v = common::values(y.clone());
        for row in v.chunks(3) {
            assert_eq!(
                row.iter().filter(|&&x| x == 1.0).count(),
                1,
                "τ = {tau}: {row:?}"
            );
            assert_eq!(
                row.iter().filter(|&&x| x == 0.0).count(),
                2,
                "τ = {tau}: {row:?}"
            );
        }
        let grad = logits.grad(&(y * w.clone()).sum().backward()).unwrap();
        all_finite(&format!("hard, τ = {tau}: gradient"), grad);
    }
}

#[test]
fn relaxed_bernoulli_stays_finite_on_the_grid() {
    let device = common::device().autodiff();
    let edges: Vec<f32> = edge_uniforms()
        .into_iter()
        .map(|u| logistic_from_uniform(u) as f32)
        .collect();
    let mut noise = NoiseSource::seed_from_u64(2);
    for tau in TEMPERATURES {
        // every logit against every edge noise value
        let l: Vec<f32> = LOGITS
            .iter()
            .flat_map(|&l| edges.iter().map(move |_| l))
            .collect();
        let e: Vec<f32> = LOGITS.iter().flat_map(|_| edges.iter().copied()).collect();
        let n = l.len();
        let logits = Tensor::<1>::from_floats(l.as_slice(), &device)
            .reshape([n, 1])
            .require_grad();
        let d = RelaxedBernoulli::new(logits.clone(), tau).unwrap();
        let fixed = Tensor::<1>::from_floats(e.as_slice(), &device).reshape([n, 1]);
        for (name, eps) in [
            ("edge noise", fixed),
            ("drawn noise", d.draw_noise(&mut noise)),
        ] {
            let y = d.rsample_with_noise(eps).unwrap();
            let lp = d.log_prob(&y).unwrap();
            let x = d.rsample_logit(&mut noise);
            let lp_logit = d.log_prob_logit(&x).unwrap();
            all_finite(&format!("τ = {tau}, {name}: y"), y.clone());
            all_finite(&format!("τ = {tau}, {name}: log_prob"), lp.clone());
            all_finite(
                &format!("τ = {tau}, {name}: log_prob_logit"),
                lp_logit.clone(),
            );
            let grad = logits
                .grad(&(y.sum() + lp.sum() + lp_logit.sum()).backward())
                .unwrap();
            all_finite(&format!("τ = {tau}, {name}: gradient"), grad);
        }
    }
}

#[test]
fn discrete_log_probs_and_entropies_stay_finite_at_extreme_logits() {
    use mcgrad::distributions::Entropy;
    let device = common::device().autodiff();
    let logits = logit_triples(&device).require_grad();
    let c = Categorical::from_logits(logits.clone()).unwrap();
    let x = c.sample(&mut NoiseSource::seed_from_u64(3));
    let lp = c.log_prob(&x).unwrap();
    all_finite("categorical log_prob", lp.clone());
    all_finite("categorical entropy", c.entropy());
    let grad = logits
        .grad(&(lp.sum() + c.entropy().sum()).backward())
        .unwrap();
    all_finite("categorical gradient", grad);

    let l = Tensor::<1>::from_floats(LOGITS, &device)
        .reshape([LOGITS.len(), 1])
        .require_grad();
    let b = Bernoulli::from_logits(l.clone()).unwrap();
    for value in [0.0, 1.0] {
        let lp = b.log_prob(&l.zeros_like().add_scalar(value)).unwrap();
        all_finite("bernoulli log_prob", lp.clone());
        let grad = l.grad(&(lp.sum() + b.entropy().sum()).backward()).unwrap();
        all_finite("bernoulli gradient", grad);
    }
}
