//! The samplers of the implicitly reparameterized families follow their laws: Pearson's
//! chi-square test of 50 000 draws on 40 bins of equal probability, against distribution
//! functions tabulated here by quadrature of closed-form densities (`implicit_common`),
//! independent of the library. Each law is tested in a variable where its density is smooth:
//! `ln G` for Gamma and Chi2 (exact for every concentration through `Gamma::log_rsample`),
//! `logit X` for Beta and the Dirichlet marginals, `asinh T` for Student's t, `ξ` for von
//! Mises. Both samplers are tested: the rejection samplers (`rsample`, `sample`) and the
//! quantile transforms (`rsample_with_noise`).
//!
//! False-failure rate: each test rejects at p < 1e-6; about 30 laws, so below 3e-5 for the file.
//! The tables integrate to 1 within 1e-6, which is asserted (a check of the reference
//! densities). Negative controls: draws at a parameter 5% off (20% for Student's ν, whose law
//! changes slowly) must be rejected by the same test.
//! Seeds are fixed.

mod common;
mod implicit_common;

use burn::prelude::*;
use implicit_common::{Law, asinh_student_law, log_gamma_law, logit_beta_law, von_mises_law};
use mcgrad::NoiseSource;
use mcgrad::distributions::{
    Beta, Chi2, Dirichlet, Distribution, Gamma, Reparameterized, StudentT, VonMises,
};

const DRAWS: usize = 50_000;
const BINS: usize = 40;
const REJECT: f64 = 1e-6;

fn full(v: f64) -> Tensor<2> {
    Tensor::full([DRAWS, 1], v, &common::device())
}

fn passes(law: &Law, draws: &[f64], what: &str) -> bool {
    assert!(
        (law.total() - 1.0).abs() < 1e-6,
        "{what}: table mass {}",
        law.total()
    );
    assert!(
        draws.iter().all(|d| d.is_finite()),
        "{what}: a non-finite draw"
    );
    law.chi_square_p(draws, BINS) >= REJECT
}

/// `ln(β z)` of Gamma(α, β) draws, by `log_rsample` (all α) or `sample` (where `z` is
/// representable), or by the quantile transform.
fn gamma_draws(alpha: f64, rate: f64, how: &str, seed: u64) -> Vec<f64> {
    let g = Gamma::new(full(alpha), full(rate)).unwrap();
    let mut noise = NoiseSource::seed_from_u64(seed);
    let ln = match how {
        "log" => g.log_rsample(&mut noise),
        "sample" => g.sample(&mut noise).log(),
        "quantile" => g.log_rsample_with_noise(g.draw_noise(&mut noise)).unwrap(),
        other => unreachable!("{other}"),
    };
    common::values(ln)
        .into_iter()
        .map(|l| l + rate.ln())
        .collect()
}

#[test]
fn gamma_follows_its_law() {
    for (k, &(alpha, how)) in [
        (1e-3, "log"),
        (1e-2, "log"),
        (0.3, "sample"),
        (1.0, "log"),
        (4.5, "sample"),
        (1e3, "sample"),
        (1e4, "log"),
        (0.02, "quantile"),
        (7.0, "quantile"),
    ]
    .iter()
    .enumerate()
    {
        let draws = gamma_draws(alpha, 1.7, how, 100 + k as u64);
        assert!(
            passes(
                &log_gamma_law(alpha),
                &draws,
                &format!("Gamma({alpha}) {how}")
            ),
            "Gamma({alpha}), {how}"
        );
    }
}

#[test]
fn chi2_follows_its_law() {
    // x/2 ~ Gamma(k/2, 1)
    for (k, &df) in [0.5, 3.0, 80.0].iter().enumerate() {
        let c = Chi2::new(full(df)).unwrap();
        let draws: Vec<f64> =
            common::values(c.sample(&mut NoiseSource::seed_from_u64(200 + k as u64)))
                .into_iter()
                .map(|x| (x / 2.0).ln())
                .collect();
        assert!(
            passes(&log_gamma_law(df / 2.0), &draws, "Chi2"),
            "Chi2({df})"
        );
    }
}

fn logits(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x.ln() - (-x).ln_1p()).collect()
}

#[test]
fn beta_follows_its_law() {
    for (k, &(a, b)) in [(0.2, 0.5), (2.0, 3.0), (40.0, 10.0), (0.05, 4.0)]
        .iter()
        .enumerate()
    {
        let d = Beta::new(full(a), full(b)).unwrap();
        let draws = logits(common::values(
            d.rsample(&mut NoiseSource::seed_from_u64(300 + k as u64)),
        ));
        assert!(
            passes(&logit_beta_law(a, b), &draws, "Beta"),
            "Beta({a}, {b})"
        );
    }
    // the quantile transform
    let (a, b) = (0.7, 1.3);
    let d = Beta::new(full(a), full(b)).unwrap();
    let eps = d.draw_noise(&mut NoiseSource::seed_from_u64(310));
    let draws = logits(common::values(d.rsample_with_noise(eps).unwrap()));
    assert!(
        passes(&logit_beta_law(a, b), &draws, "Beta quantile"),
        "Beta({a}, {b}) quantile"
    );
}

/// The Dirichlet's marginals: `x₁ ~ Beta(α₁, α₀ − α₁)` and `x₁ + x₂ ~ Beta(α₁ + α₂, α₃)`.
#[test]
fn dirichlet_marginals_follow_their_laws() {
    for (k, alpha) in [[0.3, 1.0, 2.5], [0.05, 0.02, 0.5], [30.0, 8.0, 12.0]]
        .iter()
        .enumerate()
    {
        let device = common::device();
        let conc = Tensor::<2>::from_floats([alpha.map(|a| a as f32)], &device).expand([DRAWS, 3]);
        let d = Dirichlet::new(conc).unwrap();
        let mut noise = NoiseSource::seed_from_u64(400 + k as u64);
        // log-space draws keep the tiny components of small concentrations
        let ln_x = common::values(d.log_rsample(&mut noise));
        let total: f64 = alpha.iter().sum();
        let first: Vec<f64> = ln_x
            .chunks(3)
            .map(|r| r[0] - (-r[0].exp()).ln_1p())
            .collect();
        assert!(
            passes(
                &logit_beta_law(alpha[0], total - alpha[0]),
                &first,
                "Dirichlet x₁"
            ),
            "Dirichlet{alpha:?} x₁"
        );
        let pair: Vec<f64> = ln_x
            .chunks(3)
            .map(|r| {
                // logit(x₁ + x₂) = ln(x₁ + x₂) − ln x₃
                let m = r[0].max(r[1]);
                m + ((r[0] - m).exp() + (r[1] - m).exp()).ln() - r[2]
            })
            .collect();
        assert!(
            passes(
                &logit_beta_law(alpha[0] + alpha[1], alpha[2]),
                &pair,
                "Dirichlet x₁ + x₂"
            ),
            "Dirichlet{alpha:?} x₁ + x₂"
        );
    }
    // rsample and the quantile transform, on the first marginal
    let alpha = [1.5, 0.4, 2.0];
    let device = common::device();
    let conc = Tensor::<2>::from_floats([alpha.map(|a| a as f32)], &device).expand([DRAWS, 3]);
    let d = Dirichlet::new(conc).unwrap();
    let law = logit_beta_law(1.5, 2.4);
    let x = common::values(d.rsample(&mut NoiseSource::seed_from_u64(410)));
    assert!(passes(
        &law,
        &logits(x.chunks(3).map(|r| r[0]).collect()),
        "Dirichlet rsample"
    ));
    let eps = d.draw_noise(&mut NoiseSource::seed_from_u64(411));
    let x = common::values(d.rsample_with_noise(eps).unwrap());
    assert!(passes(
        &law,
        &logits(x.chunks(3).map(|r| r[0]).collect()),
        "Dirichlet quantile"
    ));
}

fn student_draws(nu: f64, quantile: bool, seed: u64) -> Vec<f64> {
    let (mu, sigma) = (0.7, 2.0);
    let d = StudentT::new(full(nu), full(mu), full(sigma)).unwrap();
    let mut noise = NoiseSource::seed_from_u64(seed);
    let x = if quantile {
        let eps = d.draw_noise(&mut noise);
        d.rsample_with_noise(eps).unwrap()
    } else {
        d.rsample(&mut noise)
    };
    common::values(x)
        .into_iter()
        .map(|x| ((x - mu) / sigma).asinh())
        .collect()
}

#[test]
fn student_t_follows_its_law() {
    for (k, &nu) in [0.3, 1.0, 4.0, 60.0].iter().enumerate() {
        let draws = student_draws(nu, false, 500 + k as u64);
        assert!(
            passes(&asinh_student_law(nu), &draws, "StudentT"),
            "t({nu})"
        );
    }
    for (k, &nu) in [0.8, 9.0].iter().enumerate() {
        let draws = student_draws(nu, true, 510 + k as u64);
        assert!(
            passes(&asinh_student_law(nu), &draws, "StudentT quantile"),
            "t({nu}) quantile"
        );
    }
}

fn von_mises_draws(kappa: f64, quantile: bool, seed: u64) -> Vec<f64> {
    let mu = -1.1;
    let d = VonMises::new(full(mu), full(kappa)).unwrap();
    let mut noise = NoiseSource::seed_from_u64(seed);
    let x = if quantile {
        let eps = d.draw_noise(&mut noise);
        d.rsample_with_noise(eps).unwrap()
    } else {
        d.rsample(&mut noise)
    };
    let draws: Vec<f64> = common::values(x).into_iter().map(|x| x - mu).collect();
    // samples are μ + ξ with ξ in [−π, π] (up to f32 rounding)
    assert!(
        draws
            .iter()
            .all(|d| d.abs() <= core::f64::consts::PI + 1e-5)
    );
    draws
}

#[test]
fn von_mises_follows_its_law() {
    for (k, &kappa) in [1e-3, 1e-2, 0.7, 4.0, 60.0, 1e3].iter().enumerate() {
        let draws = von_mises_draws(kappa, false, 600 + k as u64);
        assert!(
            passes(&von_mises_law(kappa), &draws, "VonMises"),
            "VonMises({kappa})"
        );
    }
    for (k, &kappa) in [0.05, 20.0, 300.0].iter().enumerate() {
        let draws = von_mises_draws(kappa, true, 610 + k as u64);
        assert!(
            passes(&von_mises_law(kappa), &draws, "VonMises quantile"),
            "VonMises({kappa}) quantile"
        );
    }
}

/// Negative controls: draws at a parameter 5% off (ν: 20%) are rejected, for every family.
#[test]
fn negative_control_wrong_parameters_are_rejected() {
    let draws = gamma_draws(2.1, 1.0, "log", 700);
    assert!(
        !passes(&log_gamma_law(2.0), &draws, "Gamma"),
        "Gamma(2.1) passed as Gamma(2)"
    );
    let d = Beta::new(full(2.1), full(3.0)).unwrap();
    let draws = logits(common::values(
        d.rsample(&mut NoiseSource::seed_from_u64(701)),
    ));
    assert!(
        !passes(&logit_beta_law(2.0, 3.0), &draws, "Beta"),
        "Beta(2.1, 3) passed as Beta(2, 3)"
    );
    // the law of t changes slowly with ν: 20% off
    let draws = student_draws(3.6, false, 702);
    assert!(
        !passes(&asinh_student_law(3.0), &draws, "StudentT"),
        "t(3.6) passed as t(3)"
    );
    let draws = von_mises_draws(4.2, false, 704);
    assert!(
        !passes(&von_mises_law(4.0), &draws, "VonMises"),
        "VonMises(4.2) passed as VonMises(4)"
    );
}
