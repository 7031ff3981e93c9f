//! `log_prob` outside the support is `−∞` in the implicitly reparameterized families, never
//! NaN and never a panic, and inside the support it is finite (or the documented limit at a
//! boundary): negative, NaN and infinite values for Gamma and Chi2; values off `[0, 1]`, NaN and
//! infinite for Beta; rows off the simplex (a negative or NaN component, a component above 1,
//! a sum off 1) for Dirichlet; NaN and ±∞ for Student-t and von Mises, whose support is the
//! whole real line (every finite value, including `±f32::MAX` against a location at the other
//! end, where `x − μ` itself overflows). The gradients of the log-density at points inside the
//! support are finite too.
//!
//! The code before this file gave NaN for a NaN value in every one of these families, a
//! finite log-density to Dirichlet rows that do not sum to 1 (`[0.5, 0.5, 0.5]`), NaN for a
//! Dirichlet corner with one concentration below 1 and one above (`[0, 0, 1]` under
//! `[0.5, 2, 1]`: `+∞ − ∞`), `+∞` for Gamma(0.3, 2) at `x = f32::MAX` (the shared `log1p`
//! overflowed in `ln(u)·x` before dividing by `u − 1`), NaN for von Mises at `±∞` and at
//! `x = f32::MAX` with `μ = −f32::MAX`, and `−∞` for a Student-t at `x = f32::MAX`,
//! `μ = −f32::MAX` (a finite density).
//!
//! Deterministic: no false-failure rate. The negative control: the naive von Mises formula
//! `κ cos(x − μ)` is NaN at the overflowing difference this file checks.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{Beta, Chi2, Dirichlet, Distribution, Gamma, StudentT, VonMises};

const NEG_INF: f64 = f64::NEG_INFINITY;

fn row(v: &[f32]) -> Tensor<1> {
    Tensor::<1>::from_floats(v, &common::device())
}

/// Values on both sides of 0 and 1 and far out, the non-finite ones last.
const XS: [f32; 16] = [
    -f32::MAX,
    -1e30,
    -1.0,
    -1e-30,
    -0.0,
    0.0,
    1e-30,
    0.5,
    1.0 - 6e-8,
    1.0,
    1.0 + 1e-6,
    2.0,
    f32::MAX,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
];

#[test]
fn gamma_and_chi2_are_minus_infinity_off_the_half_line() {
    let x = row(&XS);
    let n = XS.len();
    for (alpha, rate) in [
        (0.3f32, 2.0f32),
        (1.0, 1.0),
        (4.5, 0.01),
        (1e-18, 1.0),
        (1e19, 1e19),
    ] {
        let g = Gamma::new(row(&[alpha]), row(&[rate])).unwrap();
        let lp = common::values(g.replicate(n).log_prob(&x).unwrap());
        let chi = Chi2::new(row(&[2.0 * alpha])).unwrap();
        let lc = common::values(chi.replicate(n).log_prob(&x).unwrap());
        for (i, &v) in XS.iter().enumerate() {
            for (name, l) in [("Gamma", lp[i]), ("Chi2", lc[i])] {
                let what = format!("{name}({alpha}, {rate}) at {v}");
                if v.is_nan() || v < 0.0 || v.is_infinite() {
                    assert_eq!(l, NEG_INF, "{what}");
                } else if v == 0.0 {
                    // the limit: +∞ for α < 1, −∞ for α > 1, ln β at α = 1 (Chi2 α = k/2 = 1)
                    assert!(!l.is_nan(), "{what}: {l}");
                } else {
                    // −∞ only where the density underflows f64 itself (x = f32::MAX, α·βx huge)
                    assert!(l.is_finite() || (l == NEG_INF && v > 1e29), "{what}: {l}");
                }
            }
        }
    }
}

#[test]
fn beta_is_minus_infinity_off_the_unit_interval() {
    let x = row(&XS);
    let n = XS.len();
    for (a, b) in [
        (0.5f32, 0.5f32),
        (2.0, 3.0),
        (1.0, 1.0),
        (1e-18, 1e19),
        (1e19, 1e-18),
    ] {
        let d = Beta::new(row(&[a]), row(&[b])).unwrap();
        let lp = common::values(d.replicate(n).log_prob(&x).unwrap());
        for (i, &v) in XS.iter().enumerate() {
            let what = format!("Beta({a}, {b}) at {v}");
            if !(0.0..=1.0).contains(&v) {
                assert_eq!(lp[i], NEG_INF, "{what}");
            } else if v == 0.0 || v == 1.0 {
                assert!(!lp[i].is_nan(), "{what}: {}", lp[i]);
            } else {
                // far inside the range the density can underflow only for a, b ≥ 1e19
                assert!(
                    lp[i].is_finite() || (lp[i] == NEG_INF && a.max(b) >= 1e19),
                    "{what}: {}",
                    lp[i]
                );
            }
        }
    }
}

#[test]
fn dirichlet_is_minus_infinity_off_the_simplex() {
    let device = common::device();
    let rows: [[f32; 3]; 13] = [
        [0.2, 0.3, 0.5],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.2, 0.3, 0.5 + 5e-5],
        [0.2, 0.3, 0.5 + 1e-3],
        [0.5, 0.5, 0.5],
        [0.0, 0.0, 0.0],
        [-0.1, 0.6, 0.5],
        [1.5, -0.25, -0.25],
        [0.5, f32::NAN, 0.5],
        [f32::INFINITY, 0.0, 0.0],
        [f32::NEG_INFINITY, 1.0, 1.0],
        [1e-30, 0.5, 0.5],
    ];
    let values = Tensor::<2>::from_floats(rows, &device);
    for alpha in [[0.5f32, 2.0, 1.0], [1.0, 1.0, 1.0], [1e-18, 3.0, 1e19]] {
        let d = Dirichlet::new(Tensor::<2>::from_floats([alpha], &device)).unwrap();
        let lp = common::values(d.replicate(rows.len()).log_prob(&values).unwrap());
        for (r, l) in rows.iter().zip(&lp) {
            let inside = r.iter().all(|y| (0.0..=1.0).contains(y))
                && (r.iter().sum::<f32>() - 1.0).abs() <= 1e-4;
            let what = format!("Dirichlet{alpha:?} at {r:?}");
            if inside {
                // finite, or a boundary limit (±∞ where a component is 0), never NaN
                assert!(!l.is_nan(), "{what}: {l}");
                if r.iter().all(|&y| y > 0.0) && alpha[2] < 1e19 {
                    assert!(l.is_finite(), "{what}: {l}");
                }
            } else {
                assert_eq!(*l, NEG_INF, "{what}");
            }
        }
    }
}

/// The whole real line is the support: every finite value, including differences `x − μ`
/// beyond `f32::MAX`, has a finite log-density and a finite gradient; NaN and ±∞ are `−∞`.
#[test]
fn student_t_and_von_mises_are_finite_on_the_real_line_and_minus_infinity_off_it() {
    let device = common::device().autodiff();
    let xs = [
        -f32::MAX,
        -1e30,
        -1.0,
        0.0,
        1e-30,
        2.5,
        1e30,
        f32::MAX,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let n = xs.len();
    let x = Tensor::<2>::from_data(burn::tensor::TensorData::new(xs.to_vec(), [n, 1]), &device);
    for (nu, loc, scale) in [
        (3.0f32, 0.0f32, 1.0f32),
        (0.5, -f32::MAX, 1e-18),
        (2e-18, f32::MAX, 1e19),
        (2e19, 1.0, 0.3),
        (1.0, 1e30, 2.0),
    ] {
        let p = |v: f32| Tensor::<2>::full([n, 1], v, &device).require_grad();
        let (tn, tl, ts) = (p(nu), p(loc), p(scale));
        let t = StudentT::new(tn.clone(), tl.clone(), ts.clone()).unwrap();
        let lp = t.log_prob(&x).unwrap();
        let v = common::values(lp.clone().inner());
        // the gradient of the finite entries (the −∞ ones masked out of the sum)
        let grads = lp
            .clone()
            .mask_fill(lp.clone().is_finite().bool_not(), 0.0)
            .sum()
            .backward();
        let g: Vec<Vec<f64>> = [&tn, &tl, &ts]
            .iter()
            .map(|q| common::values(q.grad(&grads).unwrap()))
            .collect();
        for (i, &xv) in xs.iter().enumerate() {
            let what = format!("StudentT({nu}, {loc}, {scale}) at {xv}");
            if xv.is_finite() {
                assert!(v[i].is_finite(), "{what}: {}", v[i]);
                for (k, gk) in g.iter().enumerate() {
                    assert!(gk[i].is_finite(), "{what}: gradient {k} = {}", gk[i]);
                }
            } else {
                assert_eq!(v[i], NEG_INF, "{what}");
            }
        }
    }
    for (loc, kappa) in [
        (0.0f32, 1.0f32),
        (-f32::MAX, 1e19),
        (f32::MAX, f32::MIN_POSITIVE),
        (1e30, 30.0),
    ] {
        let p = |v: f32| Tensor::<2>::full([n, 1], v, &device).require_grad();
        let (tl, tk) = (p(loc), p(kappa));
        let d = VonMises::new(tl.clone(), tk.clone()).unwrap();
        let lp = d.log_prob(&x).unwrap();
        let v = common::values(lp.clone().inner());
        let grads = lp
            .clone()
            .mask_fill(lp.is_finite().bool_not(), 0.0)
            .sum()
            .backward();
        let (gl, gk) = (
            common::values(tl.grad(&grads).unwrap()),
            common::values(tk.grad(&grads).unwrap()),
        );
        for (i, &xv) in xs.iter().enumerate() {
            let what = format!("VonMises({loc}, {kappa}) at {xv}");
            if xv.is_finite() {
                assert!(v[i].is_finite(), "{what}: {}", v[i]);
                assert!(gl[i].is_finite() && gk[i].is_finite(), "{what}: gradient");
            } else {
                assert_eq!(v[i], NEG_INF, "{what}");
            }
        }
    }
}

/// Negative control: the textbook von Mises log-density `κ cos(x − μ) − ln(2π I₀(κ))` is NaN
/// where the difference overflows, `x = f32::MAX`, `μ = −f32::MAX`, which the test above
/// requires to be finite.
#[test]
fn negative_control_the_naive_difference_overflows() {
    // IEEE arithmetic on the CPU device (a GPU's cos of +∞ need not be NaN)
    let device = Device::flex();
    let x = Tensor::<1>::from_floats([f32::MAX], &device);
    let mu = Tensor::<1>::from_floats([-f32::MAX], &device);
    let naive = common::values((x - mu).cos().mul_scalar(2.0));
    assert!(naive[0].is_nan(), "{naive:?}");
}
