//! Numerics of the implicitly reparameterized families: over concentrations from 1e-3 to 1e4
//! (Gamma, Chi2, Beta, Dirichlet, Student-t degrees of freedom) and κ from 1e-3 to 1e3 (von
//! Mises), samples, log-densities, entropies and gradients stay finite, for both samplers (the
//! rejection samplers and the quantile transforms at the extreme `f32` noise values); log-
//! densities, entropies and KL divergences stay finite out to the ends of the `f32` range; bad
//! parameters (≤ 0, NaN, ±∞) are typed errors, and an unchecked constructor with one gives NaN
//! samples without hanging.
//!
//! Deterministic checks on fixed seeds (no statistical claim, so no false-failure rate); the
//! negative control shows the finiteness check catches a non-finite value.

mod common;

use burn::prelude::*;
use burn::tensor::TensorData;
use mcgrad::distributions::{
    Beta, Chi2, Dirichlet, Distribution, Entropy, Gamma, Reparameterized, StudentT, VonMises,
};
use mcgrad::kl::kl_divergence;
use mcgrad::{Error, NoiseSource};

/// Concentrations from 1e-3 to 1e4, log-spaced (15 values).
fn concentrations() -> Vec<f64> {
    (0..15)
        .map(|k| 10f64.powf(-3.0 + k as f64 * 7.0 / 14.0))
        .collect()
}

/// κ from 1e-3 to 1e3 (13 values).
fn kappas() -> Vec<f64> {
    (0..13).map(|k| 10f64.powf(-3.0 + k as f64 * 0.5)).collect()
}

/// `[n, 1]` with the given values, tracked on the autodiff device.
fn tracked(values: &[f64]) -> Tensor<2> {
    let device = common::device().autodiff();
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::<2>::from_data(TensorData::new(v, [values.len(), 1]), &device).require_grad()
}

/// `values` repeated `reps` times each, `[values·reps, 1]`.
fn repeated(values: &[f64], reps: usize) -> Vec<f64> {
    values
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, reps))
        .collect()
}

fn all_finite(name: &str, t: Tensor<2>) {
    let v = common::values(t);
    if let Some(k) = v.iter().position(|x| !x.is_finite()) {
        panic!("{name}: non-finite value {} at {k}", v[k]);
    }
}

/// Noise at the extremes of the `f32` uniform grid and in between, `[n, 1]`.
fn extreme_uniforms(n: usize) -> Tensor<2> {
    let lo = 0.5f32 / (1u32 << 23) as f32;
    let v: Vec<f32> = (0..n)
        .map(|i| match i % 4 {
            0 => lo,
            1 => 1.0 - lo,
            2 => 0.5,
            _ => 0.123,
        })
        .collect();
    Tensor::from_data(TensorData::new(v, [n, 1]), &common::device().autodiff())
}

#[test]
fn gamma_and_chi2_stay_finite_over_the_range() {
    let reps = 64;
    let values = repeated(&concentrations(), reps);
    let n = values.len();
    let alpha = tracked(&values);
    let rate = tracked(&vec![1.7; n]);
    let g = Gamma::new(alpha.clone(), rate.clone()).unwrap();
    let mut noise = NoiseSource::seed_from_u64(1);
    for (name, z) in [
        ("rsample", g.rsample(&mut noise)),
        (
            "quantile",
            g.rsample_with_noise(extreme_uniforms(n)).unwrap(),
        ),
    ] {
        let v = common::values(z.clone().inner());
        assert!(
            v.iter().all(|&x| x > 0.0 && x.is_finite()),
            "Gamma {name}: {v:?}"
        );
        all_finite("Gamma log_prob", g.log_prob(&z).unwrap().inner());
        let grads = z.sum().backward();
        all_finite("Gamma ∂z/∂α", alpha.grad(&grads).unwrap());
        all_finite("Gamma ∂z/∂β", rate.grad(&grads).unwrap());
    }
    let ln_z = g.log_rsample(&mut noise);
    all_finite("Gamma ln z", ln_z.clone().inner());
    let grads = ln_z.sum().backward();
    all_finite("Gamma ∂ln z/∂α", alpha.grad(&grads).unwrap());
    all_finite("Gamma entropy", g.entropy().inner());
    // Chi2 over the same range of degrees of freedom
    let df = tracked(&values);
    let c = Chi2::new(df.clone()).unwrap();
    let z = c.rsample(&mut noise);
    all_finite("Chi2 log_prob", c.log_prob(&z).unwrap().inner());
    all_finite("Chi2 ∂z/∂k", df.grad(&z.sum().backward()).unwrap());
}

#[test]
fn beta_and_dirichlet_stay_finite_over_the_range() {
    let cs = concentrations();
    // every pair (a, b) of the grid, 8 draws each
    let pairs: Vec<(f64, f64)> = cs
        .iter()
        .flat_map(|&a| cs.iter().map(move |&b| (a, b)))
        .collect();
    let reps = 8;
    let a = tracked(&repeated(
        &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
        reps,
    ));
    let b = tracked(&repeated(
        &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        reps,
    ));
    let d = Beta::new(a.clone(), b.clone()).unwrap();
    let mut noise = NoiseSource::seed_from_u64(2);
    let z = d.rsample(&mut noise);
    let v = common::values(z.clone().inner());
    assert!(
        v.iter().all(|&x| x > 0.0 && x < 1.0),
        "Beta samples leave (0, 1)"
    );
    all_finite("Beta log_prob", d.log_prob(&z).unwrap().inner());
    all_finite("Beta entropy", d.entropy().inner());
    let grads = z.sum().backward();
    all_finite("Beta ∂z/∂a", a.grad(&grads).unwrap());
    all_finite("Beta ∂z/∂b", b.grad(&grads).unwrap());
    let eps = d.draw_noise(&mut noise);
    all_finite("Beta quantile", d.rsample_with_noise(eps).unwrap().inner());
    // Dirichlet rows mixing the whole range: [α_i, α_j, 1]
    let device = common::device().autodiff();
    let rows: Vec<f32> = pairs
        .iter()
        .flat_map(|&(x, y)| [x as f32, y as f32, 1.0])
        .collect();
    let alpha =
        Tensor::<2>::from_data(TensorData::new(rows, [pairs.len(), 3]), &device).require_grad();
    let dir = Dirichlet::new(alpha.clone()).unwrap();
    for (name, x) in [
        ("rsample", dir.rsample(&mut noise)),
        (
            "quantile",
            dir.rsample_with_noise(dir.draw_noise(&mut noise)).unwrap(),
        ),
    ] {
        all_finite("Dirichlet log_prob", dir.log_prob(&x).unwrap().inner());
        let grads = (x * Tensor::<2>::from_floats([[1.0, -2.0, 0.5]], &device))
            .sum()
            .backward();
        all_finite(
            &format!("Dirichlet ∂x/∂α ({name})"),
            alpha.grad(&grads).unwrap(),
        );
    }
    let ln_x = dir.log_rsample(&mut noise);
    all_finite("Dirichlet ln x", ln_x.clone().inner());
    all_finite(
        "Dirichlet ∂ln x/∂α",
        alpha.grad(&ln_x.sum().backward()).unwrap(),
    );
    all_finite("Dirichlet entropy", dir.entropy().inner());
}

#[test]
fn student_t_and_von_mises_stay_finite_over_the_range() {
    let reps = 32;
    let values = repeated(&concentrations(), reps);
    let n = values.len();
    let nu = tracked(&values);
    let scale = tracked(&vec![0.3; n]);
    let t = StudentT::new(nu.clone(), tracked(&vec![1.0; n]), scale.clone()).unwrap();
    let mut noise = NoiseSource::seed_from_u64(3);
    let x = t.rsample(&mut noise);
    all_finite("StudentT log_prob", t.log_prob(&x).unwrap().inner());
    all_finite("StudentT entropy", t.entropy().inner());
    let grads = x.sum().backward();
    all_finite("StudentT ∂x/∂ν", nu.grad(&grads).unwrap());
    all_finite("StudentT ∂x/∂σ", scale.grad(&grads).unwrap());
    let eps = t.draw_noise(&mut noise);
    all_finite(
        "StudentT quantile",
        t.rsample_with_noise(eps).unwrap().inner(),
    );

    let values = repeated(&kappas(), reps);
    let n = values.len();
    let kappa = tracked(&values);
    let vm = VonMises::new(tracked(&vec![0.5; n]), kappa.clone()).unwrap();
    for (name, x) in [
        ("rsample", vm.rsample(&mut noise)),
        (
            "quantile",
            vm.rsample_with_noise(extreme_uniforms(n)).unwrap(),
        ),
    ] {
        all_finite("VonMises log_prob", vm.log_prob(&x).unwrap().inner());
        all_finite(
            &format!("VonMises ∂x/∂κ ({name})"),
            kappa.grad(&x.sum().backward()).unwrap(),
        );
    }
    all_finite("VonMises entropy", vm.entropy().inner());
}

/// Log-densities, entropies and KL divergences at the ends of the `f32` range. The
/// parameters go beyond the validated ranges (concentrations 1e-30 and 1e30; see
/// tests/valid_ranges_implicit.rs), so they are built unchecked: the formulas themselves stay
/// finite there.
#[test]
fn densities_entropies_and_kl_are_finite_at_the_ends_of_the_f32_range() {
    let device = common::device();
    let ends = [1e-30f32, 1e-6, 1.0, 1e6, 1e30];
    let row = |v: &[f32]| Tensor::<1>::from_floats(v, &device);
    let a = row(&ends);
    for &b in &ends {
        let bs = row(&[b; 5]);
        let g = Gamma::new_unchecked(a.clone(), bs.clone()).unwrap();
        // the log-density at the mean α/β, where the mean is a normal f32
        let lp = common::values(g.log_prob(&(a.clone() / bs.clone())).unwrap());
        for (k, &alpha) in ends.iter().enumerate() {
            let mean = alpha as f64 / b as f64;
            if (1e-37..1e37).contains(&mean) {
                assert!(
                    lp[k].is_finite(),
                    "Gamma({alpha}, {b}) log_prob at the mean: {}",
                    lp[k]
                );
            }
        }
        assert!(
            common::values(g.entropy()).iter().all(|x| x.is_finite()),
            "Gamma entropy, β = {b}"
        );
        // KL to the Gamma with the other parameters swapped: finite wherever it is representable
        let kl = common::values(
            kl_divergence(&g, &Gamma::new_unchecked(a.clone(), a.clone()).unwrap()).unwrap(),
        );
        assert!(
            kl.iter().all(|x| !x.is_nan() && *x >= -1e-3),
            "Gamma KL, β = {b}: {kl:?}"
        );
        let beta = Beta::new_unchecked(a.clone(), bs.clone()).unwrap();
        assert!(
            common::values(beta.entropy()).iter().all(|x| x.is_finite()),
            "Beta entropy, b = {b}"
        );
        let lp = common::values(beta.log_prob(&row(&[0.5; 5])).unwrap());
        assert!(
            lp.iter().all(|x| !x.is_nan()),
            "Beta log_prob, b = {b}: {lp:?}"
        );
        let kl = common::values(
            kl_divergence(&beta, &Beta::new_unchecked(bs.clone(), a.clone()).unwrap()).unwrap(),
        );
        assert!(
            kl.iter().all(|x| !x.is_nan() && *x >= -1e-3),
            "Beta KL, b = {b}: {kl:?}"
        );
    }
    // equal parameters: KL exactly 0 (up to rounding), even at 1e30
    let g = Gamma::new_unchecked(a.clone(), a.clone()).unwrap();
    let kl = common::values(kl_divergence(&g, &g).unwrap());
    assert!(kl.iter().all(|x| x.abs() < 1e-3), "KL(p ‖ p) = {kl:?}");
    let dir = Dirichlet::new_unchecked(Tensor::<2>::from_floats(
        [[1e-30, 1.0, 1e30], [1e-6, 1e6, 3.0]],
        &device,
    ))
    .unwrap();
    assert!(common::values(dir.entropy()).iter().all(|x| x.is_finite()));
    let kl = common::values(kl_divergence(&dir, &dir).unwrap());
    assert!(
        kl.iter().all(|x| x.abs() < 1e-2),
        "Dirichlet KL(p ‖ p) = {kl:?}"
    );
    let t = StudentT::new_unchecked(row(&ends), row(&[0.0; 5]), row(&[1.0; 5])).unwrap();
    assert!(common::values(t.entropy()).iter().all(|x| x.is_finite()));
    assert!(
        common::values(t.log_prob(&row(&[1.0; 5])).unwrap())
            .iter()
            .all(|x| x.is_finite())
    );
    let vm = VonMises::new_unchecked(row(&[0.0; 5]), row(&ends)).unwrap();
    assert!(common::values(vm.entropy()).iter().all(|x| x.is_finite()));
    assert!(
        common::values(vm.log_prob(&row(&[0.0; 5])).unwrap())
            .iter()
            .all(|x| x.is_finite())
    );
}

fn invalid(result: mcgrad::Result<impl Sized>, owner: &str, name: &str) {
    match result {
        Err(Error::InvalidParameter {
            owner: o, name: n, ..
        }) => {
            assert_eq!((o, n), (owner, name), "wrong parameter named")
        }
        Err(other) => panic!("{owner}.{name}: wrong error {other:?}"),
        Ok(_) => panic!("{owner}.{name}: accepted"),
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    let device = common::device();
    let good = || Tensor::<1>::from_floats([1.0, 2.0], &device);
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let b = || Tensor::<1>::from_floats([1.0, bad], &device);
        invalid(Gamma::new(b(), good()), "Gamma", "concentration");
        invalid(Gamma::new(good(), b()), "Gamma", "rate");
        invalid(Chi2::new(b()), "Chi2", "df");
        invalid(Beta::new(b(), good()), "Beta", "a");
        invalid(Beta::new(good(), b()), "Beta", "b");
        invalid(
            Dirichlet::new(Tensor::<2>::from_floats([[1.0, bad]], &device)),
            "Dirichlet",
            "concentration",
        );
        invalid(StudentT::new(b(), good(), good()), "StudentT", "df");
        invalid(StudentT::new(good(), good(), b()), "StudentT", "scale");
        invalid(VonMises::new(good(), b()), "VonMises", "concentration");
        if !bad.is_finite() {
            invalid(StudentT::new(good(), b(), good()), "StudentT", "loc");
            invalid(VonMises::new(b(), good()), "VonMises", "loc");
        }
    }
    // shapes
    let two = Tensor::<1>::ones([2], &device);
    let three = Tensor::<1>::ones([3], &device);
    assert!(matches!(
        Gamma::new(two.clone(), three.clone()),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Dirichlet::new(Tensor::<2>::ones([2, 0], &device)),
        Err(Error::EmptyCategories { .. })
    ));
    let g = Gamma::new(two.clone(), two.clone()).unwrap();
    assert!(matches!(
        g.rsample_with_noise(three.clone()),
        Err(Error::ShapeMismatch { .. })
    ));
    let b = Beta::new(two.clone(), two).unwrap();
    // Beta noise has the last axis doubled
    assert!(
        b.rsample_with_noise(Tensor::<1>::full([4], 0.5, &device))
            .is_ok()
    );
    assert!(matches!(
        b.rsample_with_noise(three),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// Unchecked constructors skip the value checks: a bad parameter gives a NaN sample (the
/// samplers return at once rather than loop), never a panic.
#[test]
fn unchecked_bad_parameters_give_nan_without_hanging() {
    let device = common::device();
    let bad = Tensor::<1>::from_floats([1.0, 0.0, -2.0, f32::NAN, f32::INFINITY], &device);
    let one = Tensor::<1>::ones([5], &device);
    let mut noise = NoiseSource::seed_from_u64(4);
    let z = common::values(
        Gamma::new_unchecked(bad.clone(), one.clone())
            .unwrap()
            .sample(&mut noise),
    );
    assert!(
        z[0].is_finite() && z[1..].iter().all(|x| x.is_nan()),
        "{z:?}"
    );
    let z = common::values(
        VonMises::new_unchecked(one.clone(), bad.clone())
            .unwrap()
            .sample(&mut noise),
    );
    assert!(
        z[0].is_finite() && z[1..].iter().all(|x| x.is_nan()),
        "{z:?}"
    );
    let z = common::values(
        Beta::new_unchecked(bad.clone(), one.clone())
            .unwrap()
            .sample(&mut noise),
    );
    assert!(
        z[0].is_finite() && z[1..].iter().all(|x| x.is_nan()),
        "{z:?}"
    );
    let z = common::values(
        StudentT::new_unchecked(bad, one.clone(), one)
            .unwrap()
            .sample(&mut noise),
    );
    assert!(
        z[0].is_finite() && z[1..].iter().all(|x| x.is_nan()),
        "{z:?}"
    );
}

/// Negative control: the finiteness check itself flags a non-finite value.
#[test]
#[should_panic(expected = "non-finite")]
fn negative_control_the_finiteness_check_catches_infinity() {
    let device = common::device();
    all_finite(
        "control",
        Tensor::<2>::from_floats([[1.0, f32::INFINITY]], &device),
    );
}
