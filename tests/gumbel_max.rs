//! Gumbel-max samples follow the Categorical law: Pearson chi-square tests at a
//! false-failure rate of 1e-6 per distribution, fixed seeds. The negative control tests the
//! same samples against probabilities 5% off and must reject.

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, Categorical, Distribution, OneHotCategorical};
use mcgrad::testing::chi_square;

const DRAWS: usize = 200_000;

fn counts(indices: &[i64], k: usize) -> Vec<u64> {
    let mut c = vec![0u64; k];
    for &i in indices {
        c[i as usize] += 1;
    }
    c
}

fn index_draws(logits: &[f32], seed: u64) -> (Vec<i64>, Vec<f64>) {
    let device = common::device();
    let c = Categorical::from_logits(
        Tensor::<1>::from_floats(logits, &device).reshape([1, logits.len()]),
    )
    .unwrap();
    let x = c
        .replicate(DRAWS)
        .sample(&mut NoiseSource::seed_from_u64(seed));
    let idx = x.try_into_vec_as::<i64>().unwrap();
    (idx, common::values(c.probs()))
}

#[test]
fn gumbel_max_samples_follow_the_categorical_law() {
    for (seed, logits) in [
        vec![0.0f32, 0.0],
        vec![1.0, 2.0, 3.0],
        vec![0.3, -1.2, 2.0, 0.7, -0.4, 1.5, -2.2, 0.1, 0.9, -0.8],
        vec![-3.0, 0.0, 3.0, 1.0, 0.5],
    ]
    .into_iter()
    .enumerate()
    {
        let (idx, p) = index_draws(&logits, seed as u64);
        let report = chi_square(&counts(&idx, p.len()), &p).unwrap();
        assert!(report.passes(1e-6), "logits {logits:?}: {report}");
    }
}

#[test]
fn negative_control_probabilities_five_percent_off_are_rejected() {
    let logits = vec![0.3f32, -1.2, 2.0, 0.7, -0.4, 1.5, -2.2, 0.1, 0.9, -0.8];
    let (idx, p) = index_draws(&logits, 2);
    // move 5% of the mass of the most likely class to the least likely
    let mut q = p.clone();
    let (hi, lo) = (2, 6);
    q[hi] -= 0.05 * p[hi];
    q[lo] += 0.05 * p[hi];
    let report = chi_square(&counts(&idx, q.len()), &q).unwrap();
    assert!(!report.passes(1e-6), "{report}");
}

#[test]
fn one_hot_and_bernoulli_samples_follow_their_laws() {
    let device = common::device();
    let logits = [0.5f32, -0.5, 1.5];
    let c = OneHotCategorical::from_logits(Tensor::<2>::from_floats([logits], &device)).unwrap();
    let x = common::values(
        c.replicate(DRAWS)
            .sample(&mut NoiseSource::seed_from_u64(7)),
    );
    let mut counts = vec![0u64; 3];
    for row in x.chunks(3) {
        assert_eq!(row.iter().sum::<f64>(), 1.0, "not one-hot: {row:?}");
        counts[row.iter().position(|&v| v == 1.0).unwrap()] += 1;
    }
    let p = common::values(c.probs());
    let report = chi_square(&counts, &p).unwrap();
    assert!(report.passes(1e-6), "{report}");

    let b = Bernoulli::from_logits(Tensor::<2>::from_floats([[-0.7]], &device)).unwrap();
    let x = common::values(
        b.replicate(DRAWS)
            .sample(&mut NoiseSource::seed_from_u64(8)),
    );
    assert!(x.iter().all(|&v| v == 0.0 || v == 1.0));
    let ones = x.iter().filter(|&&v| v == 1.0).count() as u64;
    let p1 = 1.0 / (1.0 + 0.7f64.exp());
    let report = chi_square(&[DRAWS as u64 - ones, ones], &[1.0 - p1, p1]).unwrap();
    assert!(report.passes(1e-6), "{report}");
}
