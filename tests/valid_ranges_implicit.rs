//! The implicitly reparameterized families (Gamma, Chi2, Beta, Dirichlet, Student-t, von
//! Mises) keep the guarantee of tests/valid_ranges.rs: a validated constructor either returns
//! `Error::InvalidParameter` or guarantees, for everything it accepts, finite samples (at both
//! ends of the uniform noise range, by the quantile transform, and from ordinary rejection-
//! sampler draws), finite log-densities at them, finite gradients of the samples and of the
//! log-densities with respect to every parameter (per element), a finite `ln x` and implicit
//! gradient from `log_rsample`, and a finite entropy and mean (the Student-t mean excepted for
//! ν ≤ 1, where it does not exist and is NaN by contract).
//!
//! The parameters run over a grid that spans the whole of `f32` (0, subnormals, the smallest
//! normal float, the documented edges and their neighbours outside, 1e30, `f32::MAX`, both
//! signs, NaN and ±∞); the number of accepted values pins each documented range, and the edges
//! are checked in and out one by one.
//!
//! Before this file the constructors accepted every finite positive parameter, and among them:
//! `Gamma(1e30, 1e-30)` (mean +∞, samples clamped to `f32::MAX`), `Gamma(1e-45, 1)` (a NaN
//! entropy, infinite log-densities), `Gamma(1e30, ·)` (NaN quantile samples),
//! `Gamma(1, 1e-45)` (infinite gradients), `Beta(1e30, ·)` (NaN samples), `Dirichlet` rows
//! with 1e-40, `Chi2(1e-45)`, `StudentT` with ν = 1e-40 or a scale of 1.2e-38 (NaN gradients
//! of the log-density in σ) and samples `±∞` (ν = 1e-3, `loc` near `f32::MAX`).
//!
//! Deterministic (fixed seeds and fixed noise): no false-failure rate. The negative control
//! shows the guarantee check flagging parameters outside the ranges, built unchecked.

mod common;

use burn::prelude::*;
use mcgrad::distributions::{
    Beta, Chi2, Dirichlet, Entropy, Gamma, Mean, Reparameterized, StudentT, VonMises,
};
use mcgrad::{Error, NoiseSource};

/// Positive magnitudes across all of `f32`, with the documented edges and their neighbours.
const MAGNITUDES: [f32; 21] = [
    1e-45,
    1e-40,
    f32::MIN_POSITIVE,
    1e-30,
    9e-19,
    1e-18,
    2e-18,
    1e-8,
    1e-3,
    0.5,
    1.0,
    6.0,
    1e4,
    1e10,
    1e19,
    1.1e19,
    2e19,
    2.1e19,
    1e30,
    1e38,
    f32::MAX,
];

/// The magnitudes, then 0, their negatives, and the non-finite values.
fn values() -> Vec<f32> {
    let mut v = MAGNITUDES.to_vec();
    v.push(0.0);
    v.extend(MAGNITUDES.iter().map(|m| -m));
    v.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    v
}

/// `[n, 1]` filled with `v`, tracked on the autodiff device.
fn param(v: f32, n: usize) -> Tensor<2> {
    Tensor::<2>::full([n, 1], v, &common::device().autodiff()).require_grad()
}

fn finite(what: &str, x: Tensor<2>) -> Result<(), String> {
    let v = common::values(x);
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(format!("{what}: non-finite value {} at {i}", v[i])),
    }
}

/// The typed error or an accepted distribution; anything else fails the test.
fn accepted<P>(what: &str, r: Result<P, Error>) -> Option<P> {
    match r {
        Ok(p) => Some(p),
        Err(Error::InvalidParameter { .. }) => None,
        Err(other) => panic!("{what}: expected InvalidParameter, got {other:?}"),
    }
}

/// Whether the family's mean must be finite for these parameters.
type MeanRule = fn(&[f32]) -> bool;

/// The guarantee for a family built by `build(n)` (a batch of `n` copies, `[n, 1]` parameters
/// or rows, with the tracked parameter tensors): the checks of the module documentation.
fn guarantee<P, B>(what: &str, build: B, mean_exists: bool) -> Result<(), String>
where
    P: Reparameterized<2> + Entropy<2> + Mean<2>,
    B: Fn(usize) -> (P, Vec<Tensor<2>>),
{
    checked(what, build, mean_exists, None)
}

/// [`guarantee`], with the sample gradient of parameter `skip` left out (where its exact value
/// exceeds `f32`, as documented).
fn checked<P, B>(what: &str, build: B, mean_exists: bool, skip: Option<usize>) -> Result<(), String>
where
    P: Reparameterized<2> + Entropy<2> + Mean<2>,
    B: Fn(usize) -> (P, Vec<Tensor<2>>),
{
    let gradients = |label: &str, params: &[Tensor<2>], loss: Tensor<1>| -> Result<(), String> {
        let grads = loss.backward();
        let of_sample = !label.starts_with("log");
        for (i, p) in params.iter().enumerate() {
            if of_sample && skip == Some(i) {
                continue;
            }
            if let Some(g) = p.grad(&grads) {
                finite(&format!("{what}: {label}, gradient of parameter {i}"), g)?;
            }
        }
        Ok(())
    };
    let (low, high) = P::NOISE.bounds();
    for eps in [low, high, 0.5] {
        let (d, params) = build(1);
        let e = Tensor::<2>::full(d.noise_shape(), eps, &d.device());
        let x = d.rsample_with_noise(e).unwrap();
        finite(&format!("{what}: sample at u = {eps}"), x.clone().inner())?;
        let lp = d.log_prob(&x.clone().detach()).unwrap();
        finite(&format!("{what}: log-density at u = {eps}"), lp.inner())?;
        gradients(&format!("sample at u = {eps}"), &params, x.sum())?;
    }
    let n = 64;
    let (d, params) = build(n);
    let x = d.rsample(&mut NoiseSource::seed_from_u64(7));
    finite(&format!("{what}: samples"), x.clone().inner())?;
    gradients("samples", &params, x.clone().sum())?;
    let (d, params) = build(n);
    let lp = d.log_prob(&x.detach()).unwrap();
    finite(
        &format!("{what}: log-densities of samples"),
        lp.clone().inner(),
    )?;
    gradients("log-densities", &params, lp.sum())?;
    let (d, _) = build(1);
    finite(&format!("{what}: entropy"), d.entropy().inner())?;
    if mean_exists {
        finite(&format!("{what}: mean"), d.mean().inner())?;
    }
    Ok(())
}

/// Runs `family` on every combination of `grid` (one value per parameter); returns the number
/// accepted. `build(values, n)` builds a batch of `n`; `check(values)` is the constructor.
fn sweep<P, C, B>(
    name: &str,
    arity: usize,
    grid: &[f32],
    check: C,
    build: B,
    mean: MeanRule,
) -> usize
where
    P: Reparameterized<2> + Entropy<2> + Mean<2>,
    C: Fn(&[f32]) -> Result<P, Error>,
    B: Fn(&[f32], usize) -> (P, Vec<Tensor<2>>),
{
    let mut count = 0;
    let mut index = vec![0usize; arity];
    loop {
        let v: Vec<f32> = index.iter().map(|&i| grid[i]).collect();
        let what = format!("{name}{v:?}");
        if accepted(&what, check(&v)).is_some() {
            if let Err(e) = guarantee(&what, |n| build(&v, n), mean(&v)) {
                panic!("{e}");
            }
            count += 1;
        }
        // next combination
        let mut k = 0;
        loop {
            if k == arity {
                return count;
            }
            index[k] += 1;
            if index[k] < grid.len() {
                break;
            }
            index[k] = 0;
            k += 1;
        }
    }
}

fn one(v: f32) -> Tensor<2> {
    Tensor::<2>::from_floats([[v]], &common::device())
}

fn always(_: &[f32]) -> bool {
    true
}

/// The number of grid magnitudes in `[low, high]`.
fn count_in(low: f32, high: f32) -> usize {
    MAGNITUDES
        .iter()
        .filter(|&&m| (low..=high).contains(&m))
        .count()
}

#[test]
fn gamma_keeps_the_guarantee_or_rejects() {
    let grid = values();
    let n = sweep(
        "Gamma",
        2,
        &grid,
        |v| Gamma::new(one(v[0]), one(v[1])),
        |v, n| {
            let (a, b) = (param(v[0], n), param(v[1], n));
            (Gamma::new(a.clone(), b.clone()).unwrap(), vec![a, b])
        },
        always,
    );
    // α in [1e-18, 1e19], β in [1e-18, f32::MAX] with √α ≤ 1e18·β
    let mut want = 0;
    for &a in &MAGNITUDES {
        for &b in &MAGNITUDES {
            let (af, bf) = (a as f64, b as f64);
            if (1e-18..=1e19).contains(&a) && b >= 1e-18 && af.sqrt() <= 1e18 * bf {
                want += 1;
            }
        }
    }
    assert_eq!(n, want);
    // log_rsample and its implicit gradient at the edges of the concentration range
    for (a, b) in [
        (1e-18f32, 1.0f32),
        (1e-18, f32::MAX),
        (1e19, 10.0),
        (1e-3, 1e-18),
    ] {
        let (ta, tb) = (param(a, 256), param(b, 256));
        let g = Gamma::new(ta.clone(), tb.clone()).unwrap();
        let ln_x = g.log_rsample(&mut NoiseSource::seed_from_u64(3));
        finite(&format!("Gamma({a}, {b}) ln x"), ln_x.clone().inner()).unwrap();
        let grads = ln_x.sum().backward();
        finite("∂ln x/∂α", ta.grad(&grads).unwrap()).unwrap();
        finite("∂ln x/∂β", tb.grad(&grads).unwrap()).unwrap();
        finite("variance", g.variance().inner()).unwrap();
    }
}

#[test]
fn chi2_keeps_the_guarantee_or_rejects() {
    let n = sweep(
        "Chi2",
        1,
        &values(),
        |v| Chi2::new(one(v[0])),
        |v, n| {
            let k = param(v[0], n);
            (Chi2::new(k.clone()).unwrap(), vec![k])
        },
        always,
    );
    assert_eq!(n, count_in(2e-18, 2e19));
    for (k, ok) in [
        (1e-18f32, false),
        (2e-18, true),
        (2e19, true),
        (2.1e19, false),
    ] {
        assert_eq!(Chi2::new(one(k)).is_ok(), ok, "Chi2({k})");
    }
}

#[test]
fn beta_keeps_the_guarantee_or_rejects() {
    let n = sweep(
        "Beta",
        2,
        &values(),
        |v| Beta::new(one(v[0]), one(v[1])),
        |v, n| {
            let (a, b) = (param(v[0], n), param(v[1], n));
            (Beta::new(a.clone(), b.clone()).unwrap(), vec![a, b])
        },
        always,
    );
    assert_eq!(n, count_in(1e-18, 1e19).pow(2));
}

#[test]
fn dirichlet_keeps_the_guarantee_or_rejects() {
    let device = common::device();
    // rows [a, b, 1]
    let n = sweep(
        "Dirichlet",
        2,
        &values(),
        |v| Dirichlet::new(Tensor::<2>::from_floats([[v[0], v[1], 1.0]], &device)),
        |v, n| {
            let alpha = Tensor::<2>::from_floats([[v[0], v[1], 1.0]], &device.clone().autodiff())
                .repeat_dim(0, n)
                .require_grad();
            (Dirichlet::new(alpha.clone()).unwrap(), vec![alpha])
        },
        always,
    );
    assert_eq!(n, count_in(1e-18, 1e19).pow(2));
    // log_rsample at the edges
    for row in [
        [1e-18f32, 1e-18, 1e-18],
        [1e19, 1e-18, 1.0],
        [1e19, 1e19, 1e19],
    ] {
        let alpha = Tensor::<2>::from_floats([row], &device.clone().autodiff())
            .repeat_dim(0, 64)
            .require_grad();
        let d = Dirichlet::new(alpha.clone()).unwrap();
        let ln_x = d.log_rsample(&mut NoiseSource::seed_from_u64(4));
        finite(&format!("Dirichlet {row:?} ln x"), ln_x.clone().inner()).unwrap();
        finite("∂ln x/∂α", alpha.grad(&ln_x.sum().backward()).unwrap()).unwrap();
    }
}

#[test]
fn student_t_keeps_the_guarantee_or_rejects() {
    // ν over the whole grid; loc at 0 and at both ends of f32; scale over a sub-grid (the full
    // three-way grid would take a minute)
    let dfs = values();
    let locs = [0.0f32, -f32::MAX, f32::MAX, f32::NAN];
    let scales = [
        f32::MIN_POSITIVE,
        9e-19,
        1e-18,
        1.0,
        1e19,
        1.1e19,
        0.0,
        -1.0,
        f32::INFINITY,
    ];
    let mut count = 0;
    for &nu in &dfs {
        for &loc in &locs {
            for &scale in &scales {
                let what = format!("StudentT({nu:e}, {loc:e}, {scale:e})");
                let r = StudentT::new(one(nu), one(loc), one(scale));
                if accepted(&what, r).is_none() {
                    continue;
                }
                let build = |n| {
                    let (a, b, c) = (param(nu, n), param(loc, n), param(scale, n));
                    (
                        StudentT::new(a.clone(), b.clone(), c.clone()).unwrap(),
                        vec![a, b, c],
                    )
                };
                // ∂x/∂ν of a far-tail draw exceeds f32 for ν < 1 (documented): it is checked
                // from ν = 1 on, everything else everywhere
                let skip = if nu < 1.0 { Some(0) } else { None };
                checked(&what, build, nu > 1.0, skip).unwrap();
                count += 1;
            }
        }
    }
    // ν in [2e-18, 2e19] × the three finite locs × scales {1e-18, 1, 1e19}
    assert_eq!(count, count_in(2e-18, 2e19) * 3 * 3);
}

#[test]
fn von_mises_keeps_the_guarantee_or_rejects() {
    let n = sweep(
        "VonMises",
        2,
        &values(),
        |v| VonMises::new(one(v[0]), one(v[1])),
        |v, n| {
            let (loc, kappa) = (param(v[0], n), param(v[1], n));
            (
                VonMises::new(loc.clone(), kappa.clone()).unwrap(),
                vec![loc, kappa],
            )
        },
        always,
    );
    // finite locs (2·21 + 1) × κ in [1.2e-38, 1e19]
    assert_eq!(
        n,
        (2 * MAGNITUDES.len() + 1) * count_in(f32::MIN_POSITIVE, 1e19)
    );
}

/// The edges of each range, one by one, with the parameter the error names.
#[test]
fn the_documented_edges_are_in_and_their_neighbours_out() {
    let name = |r: Result<(), Error>| match r {
        Ok(()) => None,
        Err(Error::InvalidParameter { name, .. }) => Some(name),
        Err(e) => panic!("{e:?}"),
    };
    let gamma = |a: f32, b: f32| name(Gamma::new(one(a), one(b)).map(|_| ()));
    assert_eq!(gamma(1e-18, 1.0), None);
    assert_eq!(gamma(9e-19, 1.0), Some("concentration"));
    assert_eq!(gamma(1e19, 10.0), None);
    assert_eq!(gamma(1.1e19, 10.0), Some("concentration"));
    assert_eq!(gamma(1.0, 1e-18), None);
    assert_eq!(gamma(1.0, 9e-19), Some("rate"));
    assert_eq!(gamma(1.0, f32::MAX), None);
    // the standard deviation √α/β ≤ 1e18: α = 1e4 needs β ≥ 1e-16
    assert_eq!(gamma(1e4, 1e-16), None);
    assert_eq!(gamma(1e4, 9e-17), Some("rate"));
    let beta = |a: f32, b: f32| name(Beta::new(one(a), one(b)).map(|_| ()));
    assert_eq!(beta(1e-18, 1e19), None);
    assert_eq!(beta(9e-19, 1.0), Some("a"));
    assert_eq!(beta(1.0, 1.1e19), Some("b"));
    let dir = |row: [f32; 3]| {
        name(Dirichlet::new(Tensor::<2>::from_floats([row], &common::device())).map(|_| ()))
    };
    assert_eq!(dir([1e-18, 1e19, 1.0]), None);
    assert_eq!(dir([1.0, 9e-19, 1.0]), Some("concentration"));
    assert_eq!(dir([1.0, 1.0, 1.1e19]), Some("concentration"));
    let t = |nu: f32, loc: f32, s: f32| name(StudentT::new(one(nu), one(loc), one(s)).map(|_| ()));
    assert_eq!(t(2e-18, f32::MAX, 1e-18), None);
    assert_eq!(t(1e-18, 0.0, 1.0), Some("df"));
    assert_eq!(t(2.1e19, 0.0, 1.0), Some("df"));
    assert_eq!(t(1.0, 0.0, 9e-19), Some("scale"));
    assert_eq!(t(1.0, 0.0, 1.1e19), Some("scale"));
    assert_eq!(t(1.0, f32::INFINITY, 1.0), Some("loc"));
    let vm = |loc: f32, k: f32| name(VonMises::new(one(loc), one(k)).map(|_| ()));
    assert_eq!(vm(f32::MAX, f32::MIN_POSITIVE), None);
    assert_eq!(vm(0.0, 1e19), None);
    assert_eq!(vm(0.0, 1e-40), Some("concentration"));
    assert_eq!(vm(0.0, 1.1e19), Some("concentration"));
    assert_eq!(vm(f32::NAN, 1.0), Some("loc"));
}

/// Negative control: parameters just outside the ranges, built unchecked, fail the same
/// guarantee check (so the check can fail, and the ranges are not wider than they need be at
/// these points).
#[test]
fn negative_control_parameters_outside_the_ranges_break_the_guarantee() {
    let gamma = |a: f32, b: f32| {
        move |n| {
            let (ta, tb) = (param(a, n), param(b, n));
            (
                Gamma::new_unchecked(ta.clone(), tb.clone()).unwrap(),
                vec![ta, tb],
            )
        }
    };
    // the mean overflows
    assert!(guarantee("Gamma(1e30, 1e-30)", gamma(1e30, 1e-30), true).is_err());
    // a subnormal concentration: the entropy is not finite
    assert!(guarantee("Gamma(1e-40, 1)", gamma(1e-40, 1.0), true).is_err());
    // beyond the concentration range the quantile transform fails
    assert!(guarantee("Gamma(1e30, 1e10)", gamma(1e30, 1e10), true).is_err());
    // a Student-t scale whose square underflows: the gradient of the log-density is 0/0
    let t = |n| {
        let (a, b, c) = (param(3.0, n), param(0.0, n), param(1e-30, n));
        (
            StudentT::new_unchecked(a.clone(), b.clone(), c.clone()).unwrap(),
            vec![a, b, c],
        )
    };
    assert!(guarantee("StudentT(3, 0, 1e-30)", t, true).is_err());
}
