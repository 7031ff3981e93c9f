//! `log_prob` outside the support is `−∞` in every family, and no `log_prob` panics on a value
//! of the right shape: class indices at and beyond `K`, negative indices, the largest integers;
//! vectors that are not one-hot; Bernoulli values other than 0 and 1; negative exponential and
//! log-normal values; values outside a uniform's interval; relaxed values off `[0, 1]` or off
//! the simplex. Inside the support the values stay finite. Deterministic.
//!
//! The code before this file panicked inside Burn's `gather` for a Categorical index ≥ K or
//! < 0, and gave finite log-masses to a Bernoulli value of 0.5, a one-hot "vector" [1, 1, 0]
//! and relaxed values of −0.5 or 1.5.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Bernoulli, Categorical, Distribution, Exponential, LogNormal, OneHotCategorical,
    RelaxedBernoulli, RelaxedOneHotCategorical, Uniform,
};

const NEG_INF: f64 = f64::NEG_INFINITY;

#[test]
fn categorical_indices_outside_the_classes_have_log_mass_minus_infinity() {
    let device = common::device();
    let k = 4;
    let c = Categorical::from_logits(Tensor::<2>::from_floats([[0.1, 0.2, 0.3, 0.4]], &device))
        .unwrap();
    // the devices store integers in 32 bits
    let extreme = i32::MAX as i64;
    let indices = [0i64, 3, 4, 5, 1000, extreme, -1, -7, -extreme];
    let n = indices.len();
    let values = Tensor::<1, Int>::from_ints(indices.as_slice(), &device).reshape([n, 1]);
    let lp = common::values(c.replicate(n).log_prob(&values).unwrap());
    for (i, (&index, &v)) in indices.iter().zip(&lp).enumerate() {
        if (0..k).contains(&index) {
            assert!(v.is_finite() && v < 0.0, "index {index}: {v}");
        } else {
            assert_eq!(v, NEG_INF, "index {index} (row {i})");
        }
    }
}

#[test]
fn one_hot_categorical_values_that_are_not_one_hot_have_log_mass_minus_infinity() {
    let device = common::device();
    let o = OneHotCategorical::from_logits(Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device))
        .unwrap();
    let rows: [[f32; 3]; 8] = [
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0],
        [0.5, 0.5, 0.0],
        [2.0, 0.0, 0.0],
        [-1.0, 1.0, 1.0],
        [0.0, f32::NAN, 1.0],
    ];
    let values = Tensor::<2>::from_floats(rows, &device);
    let lp = common::values(o.replicate(rows.len()).log_prob(&values).unwrap());
    for (row, v) in rows.iter().zip(lp) {
        let one_hot = row.iter().all(|&x| x == 0.0 || x == 1.0) && row.iter().sum::<f32>() == 1.0;
        if one_hot {
            assert!(v.is_finite(), "{row:?}: {v}");
        } else {
            assert_eq!(v, NEG_INF, "{row:?}");
        }
    }
}

#[test]
fn bernoulli_values_other_than_zero_and_one_have_log_mass_minus_infinity() {
    let device = common::device();
    let values = [
        0.0f32,
        1.0,
        0.5,
        -1.0,
        2.0,
        1e-30,
        1.0 - 1e-7,
        f32::INFINITY,
    ];
    for logit in [0.0f32, 30.0, -1e30] {
        let b = Bernoulli::from_logits(Tensor::<1>::from_floats([logit], &device)).unwrap();
        let lp = common::values(
            b.log_prob(&Tensor::<1>::from_floats(values, &device))
                .unwrap(),
        );
        for (x, v) in values.iter().zip(lp) {
            if *x == 0.0 || *x == 1.0 {
                assert!(v.is_finite(), "logit {logit}, x {x}: {v}");
            } else {
                assert_eq!(v, NEG_INF, "logit {logit}, x {x}");
            }
        }
    }
}

#[test]
fn continuous_values_outside_the_support_have_log_density_minus_infinity() {
    let device = common::device();
    let one = |v: f32| Tensor::<1>::from_floats([v], &device);
    let xs = [-1e30f32, -1.0, -1e-30, 0.0, 1e-30, 0.5, 1.0, 2.0, 1e30];
    let x = Tensor::<1>::from_floats(xs, &device);
    let exp = common::values(Exponential::new(one(2.0)).unwrap().log_prob(&x).unwrap());
    let logn = common::values(
        LogNormal::new(one(0.0), one(1.0))
            .unwrap()
            .log_prob(&x)
            .unwrap(),
    );
    let unif = common::values(
        Uniform::new(one(0.0), one(1.0))
            .unwrap()
            .log_prob(&x)
            .unwrap(),
    );
    for (i, &x) in xs.iter().enumerate() {
        // exponential: [0, ∞)
        if x < 0.0 {
            assert_eq!(exp[i], NEG_INF, "Exponential at {x}");
        } else {
            assert!(
                exp[i].is_finite() || exp[i] == NEG_INF && x > 1e29,
                "Exponential at {x}"
            );
        }
        // log-normal: (0, ∞)
        if x <= 0.0 {
            assert_eq!(logn[i], NEG_INF, "LogNormal at {x}");
        } else {
            assert!(!logn[i].is_nan(), "LogNormal at {x}");
        }
        // uniform: [0, 1]
        if !(0.0..=1.0).contains(&x) {
            assert_eq!(unif[i], NEG_INF, "Uniform at {x}");
        } else {
            assert_eq!(unif[i], 0.0, "Uniform at {x}");
        }
    }
}

#[test]
fn relaxed_values_off_their_support_have_log_density_minus_infinity() {
    let device = common::device();
    let b = RelaxedBernoulli::new(Tensor::<1>::from_floats([0.3], &device), 0.5).unwrap();
    let ys = [0.0f32, 1e-30, 0.5, 1.0, -0.5, -1e-30, 1.5, 1.0 + 1e-6];
    let lp = common::values(b.log_prob(&Tensor::<1>::from_floats(ys, &device)).unwrap());
    for (y, v) in ys.iter().zip(lp) {
        if (0.0..=1.0).contains(y) {
            assert!(v.is_finite(), "RelaxedBernoulli at {y}: {v}");
        } else {
            assert_eq!(v, NEG_INF, "RelaxedBernoulli at {y}");
        }
    }
    let c =
        RelaxedOneHotCategorical::new(Tensor::<2>::from_floats([[0.3, -1.0, 2.0]], &device), 0.5)
            .unwrap();
    let rows: [[f32; 3]; 7] = [
        [0.2, 0.3, 0.5],
        [1.0, 0.0, 0.0],
        [0.2, 0.3, 0.5 + 1e-6],
        [0.5, 0.5, 0.5],
        [-0.1, 0.6, 0.5],
        [1.2, -0.1, -0.1],
        [0.0, 0.0, 0.0],
    ];
    let values = Tensor::<2>::from_floats(rows, &device);
    let lp = common::values(c.replicate(rows.len()).log_prob(&values).unwrap());
    let log_lp = common::values(
        c.replicate(rows.len())
            .log_prob_from_log(&values.clone().log())
            .unwrap(),
    );
    for (i, row) in rows.iter().enumerate() {
        let inside = row.iter().all(|y| (0.0..=1.0).contains(y))
            && (row.iter().sum::<f32>() - 1.0).abs() < 1e-4;
        if inside {
            assert!(lp[i].is_finite(), "{row:?}: {}", lp[i]);
        } else {
            assert_eq!(lp[i], NEG_INF, "{row:?}");
            assert_eq!(log_lp[i], NEG_INF, "from ln y: {row:?}");
        }
    }
}
