//! Log-densities, entropies, means and KL divergences of the implicitly reparameterized
//! families against the textbook closed forms written out here in `f64` (`implicit_common`
//! supplies `ln Γ`, `ψ`, Bessel functions); the closed forms of the entropy and the KL
//! divergences are themselves checked against quadrature of `−∫p ln p` and `∫p ln(p/q)`; and
//! the score `∂ ln p/∂θ` (what the score-function estimator differentiates) against its closed
//! form. Deterministic (no randomness, no false-failure rate); tolerances are stated per check
//! (the library computes in `f32`). The negative control compares against a formula with a
//! wrong term and must fail.

mod common;
mod implicit_common;

use core::f64::consts::PI;

use burn::prelude::*;
use implicit_common::{digamma, integrate, ln_beta, ln_gamma, scaled_bessel_pair};
use mcgrad::distributions::{
    Beta, Chi2, Dirichlet, Distribution, Entropy, Gamma, Mean, StudentT, VonMises,
};
use mcgrad::kl::kl_divergence;

fn t1(v: f64) -> Tensor<1> {
    Tensor::from_floats([v as f32], &common::device())
}

fn scalar(t: Tensor<1>) -> f64 {
    common::values(t.reshape([1, 1]))[0]
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

/// `ln(1 + eʸ)` without overflow.
fn softplus(y: f64) -> f64 {
    if y > 0.0 {
        y + (-y).exp().ln_1p()
    } else {
        y.exp().ln_1p()
    }
}

fn gamma_ln_pdf(a: f64, b: f64, x: f64) -> f64 {
    a * b.ln() + (a - 1.0) * x.ln() - b * x - ln_gamma(a)
}

fn gamma_entropy(a: f64, b: f64) -> f64 {
    a - b.ln() + ln_gamma(a) + (1.0 - a) * digamma(a)
}

fn beta_ln_pdf(a: f64, b: f64, x: f64) -> f64 {
    (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_beta(a, b)
}

fn beta_entropy(a: f64, b: f64) -> f64 {
    ln_beta(a, b) - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b) + (a + b - 2.0) * digamma(a + b)
}

fn student_ln_pdf(nu: f64, mu: f64, s: f64, x: f64) -> f64 {
    let y = (x - mu) / s;
    ln_gamma(0.5 * (nu + 1.0))
        - ln_gamma(0.5 * nu)
        - 0.5 * (nu * PI).ln()
        - s.ln()
        - 0.5 * (nu + 1.0) * (y * y / nu).ln_1p()
}

fn student_entropy(nu: f64, s: f64) -> f64 {
    0.5 * (nu + 1.0) * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu))
        + 0.5 * nu.ln()
        + ln_beta(0.5 * nu, 0.5)
        + s.ln()
}

fn von_mises_ln_pdf(mu: f64, k: f64, x: f64) -> f64 {
    let (i0e, _) = scaled_bessel_pair(k);
    k * (x - mu).cos() - (2.0 * PI * i0e).ln() - k
}

fn von_mises_entropy(k: f64) -> f64 {
    let (i0e, i1e) = scaled_bessel_pair(k);
    (2.0 * PI * i0e).ln() + k - k * i1e / i0e
}

const GAMMA_PARAMS: [(f64, f64); 4] = [(0.5, 2.0), (3.0, 0.7), (1.0, 1.0), (1e3, 5.0)];

#[test]
fn gamma_and_chi2_match_closed_forms() {
    for (a, b) in GAMMA_PARAMS {
        let g = Gamma::new(t1(a), t1(b)).unwrap();
        let m = a / b;
        for x in [0.05 * m, 0.5 * m, m, 2.0 * m, 6.0 * m] {
            let got = scalar(g.log_prob(&t1(x)).unwrap());
            close(
                &format!("Gamma({a}, {b}) log_prob({x})"),
                got,
                gamma_ln_pdf(a, b, x),
                3e-5,
            );
        }
        close(
            "Gamma entropy",
            scalar(g.entropy()),
            gamma_entropy(a, b),
            2e-5,
        );
        close("Gamma mean", scalar(g.mean()), m, 1e-6);
        close("Gamma variance", scalar(g.variance()), a / (b * b), 1e-6);
        // the entropy formula against −∫p ln p, in w = ln x
        let c = a * b.ln() - ln_gamma(a);
        let h = integrate(-40.0 / a - 40.0, (m * 60.0 + 60.0).ln(), 40_000, |w| {
            let x = w.exp();
            let lp = c + (a - 1.0) * w - b * x;
            -(lp + w).exp() * lp
        });
        close("Gamma entropy by quadrature", h, gamma_entropy(a, b), 1e-7);
    }
    // boundary: the density at 0 is +∞, e^{−βx}·β at α = 1, 0 above
    let at0 = |a: f64| {
        scalar(
            Gamma::new(t1(a), t1(2.0))
                .unwrap()
                .log_prob(&t1(0.0))
                .unwrap(),
        )
    };
    assert_eq!(at0(0.5), f64::INFINITY);
    close("Gamma(1) at 0", at0(1.0), 2f64.ln(), 1e-6);
    assert_eq!(at0(3.0), f64::NEG_INFINITY);
    assert_eq!(
        scalar(
            Gamma::new(t1(2.0), t1(1.0))
                .unwrap()
                .log_prob(&t1(-1.0))
                .unwrap()
        ),
        f64::NEG_INFINITY
    );
    let c = Chi2::new(t1(5.0)).unwrap();
    close(
        "Chi2 log_prob",
        scalar(c.log_prob(&t1(3.3)).unwrap()),
        gamma_ln_pdf(2.5, 0.5, 3.3),
        3e-5,
    );
    close(
        "Chi2 entropy",
        scalar(c.entropy()),
        gamma_entropy(2.5, 0.5),
        2e-5,
    );
    close("Chi2 mean", scalar(c.mean()), 5.0, 1e-6);
}

#[test]
fn beta_and_dirichlet_match_closed_forms() {
    for (a, b) in [(0.5, 0.5), (2.0, 3.0), (1.0, 1.0), (40.0, 7.0), (0.05, 2.0)] {
        let d = Beta::new(t1(a), t1(b)).unwrap();
        for x in [1e-4, 0.1, 0.5, 0.8, 0.999] {
            let got = scalar(d.log_prob(&t1(x)).unwrap());
            close(
                &format!("Beta({a}, {b}) log_prob({x})"),
                got,
                beta_ln_pdf(a, b, x),
                3e-5,
            );
        }
        close(
            "Beta entropy",
            scalar(d.entropy()),
            beta_entropy(a, b),
            3e-5,
        );
        close("Beta mean", scalar(d.mean()), a / (a + b), 1e-6);
        // −∫p ln p in y = logit x: ln x = −softplus(−y), ln(1 − x) = −softplus(y)
        let lb = ln_beta(a, b);
        let h = integrate(-60.0 / a - 5.0, 60.0 / b + 5.0, 20_000, |y| {
            let (ln_x, ln_1mx) = (-softplus(-y), -softplus(y));
            let lp = (a - 1.0) * ln_x + (b - 1.0) * ln_1mx - lb;
            -(lp + ln_x + ln_1mx).exp() * lp
        });
        close("Beta entropy by quadrature", h, beta_entropy(a, b), 1e-6);
    }
    assert_eq!(
        scalar(
            Beta::new(t1(2.0), t1(2.0))
                .unwrap()
                .log_prob(&t1(1.5))
                .unwrap()
        ),
        f64::NEG_INFINITY
    );
    let device = common::device();
    let alpha = [0.3, 2.0, 4.5];
    let d = Dirichlet::new(Tensor::<2>::from_floats([alpha.map(|a| a as f32)], &device)).unwrap();
    let x = [0.2, 0.3, 0.5];
    let total: f64 = alpha.iter().sum();
    let ln_b: f64 = alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>() - ln_gamma(total);
    let want: f64 = alpha
        .iter()
        .zip(x)
        .map(|(a, x)| (a - 1.0) * f64::ln(x))
        .sum::<f64>()
        - ln_b;
    let got = common::values(
        d.log_prob(&Tensor::<2>::from_floats([x.map(|v| v as f32)], &device))
            .unwrap(),
    );
    assert_eq!(got.len(), 1);
    close("Dirichlet log_prob", got[0], want, 3e-5);
    let h = ln_b + (total - 3.0) * digamma(total)
        - alpha.iter().map(|&a| (a - 1.0) * digamma(a)).sum::<f64>();
    close("Dirichlet entropy", common::values(d.entropy())[0], h, 3e-5);
    let mean = common::values(d.mean());
    for (m, a) in mean.iter().zip(alpha) {
        close("Dirichlet mean", *m, a / total, 1e-6);
    }
    // two components are a Beta
    let d2 = Dirichlet::new(Tensor::<2>::from_floats([[2.0, 3.0]], &device)).unwrap();
    close(
        "Dirichlet(2, 3) entropy",
        common::values(d2.entropy())[0],
        beta_entropy(2.0, 3.0),
        3e-5,
    );
}

#[test]
fn student_t_and_von_mises_match_closed_forms() {
    for (nu, mu, s) in [
        (0.5, 0.0, 1.0),
        (3.0, 1.0, 2.0),
        (30.0, -2.0, 0.5),
        (1e6, 0.0, 1.0),
    ] {
        let d = StudentT::new(t1(nu), t1(mu), t1(s)).unwrap();
        for x in [mu - 10.0 * s, mu - 0.3, mu, mu + 2.0 * s] {
            let got = scalar(d.log_prob(&t1(x)).unwrap());
            close(
                &format!("t({nu}) log_prob({x})"),
                got,
                student_ln_pdf(nu, mu, s, x),
                3e-5,
            );
        }
        close(
            &format!("t({nu}) entropy"),
            scalar(d.entropy()),
            student_entropy(nu, s),
            3e-5,
        );
    }
    // ν → ∞: the normal's entropy ½ ln(2πe σ²) (ν = 1e30 is beyond the validated range of
    // the sampler, 2e19; the entropy formula holds there)
    let d = StudentT::new_unchecked(t1(1e30), t1(0.0), t1(1.5)).unwrap();
    close(
        "t(∞) entropy",
        scalar(d.entropy()),
        0.5 * (2.0 * PI * 1f64.exp() * 2.25).ln(),
        1e-5,
    );
    let d = StudentT::new(t1(0.8), t1(0.0), t1(1.0)).unwrap();
    assert!(scalar(d.mean()).is_nan(), "no mean for ν ≤ 1");
    for (mu, k) in [(0.0, 1e-3), (1.0, 0.7), (-2.0, 12.0), (0.5, 800.0)] {
        let d = VonMises::new(t1(mu), t1(k)).unwrap();
        for x in [mu - 3.0, mu - 0.1, mu, mu + 1.0, mu + 7.0] {
            let got = scalar(d.log_prob(&t1(x)).unwrap());
            close(
                &format!("VonMises({k}) log_prob({x})"),
                got,
                von_mises_ln_pdf(mu, k, x),
                3e-5,
            );
        }
        close(
            "VonMises entropy",
            scalar(d.entropy()),
            von_mises_entropy(k),
            3e-5,
        );
        close("VonMises mean", scalar(d.mean()), mu, 1e-6);
        let (i0e, _) = scaled_bessel_pair(k);
        let c = (2.0 * PI * i0e).ln();
        let h = integrate(-PI, PI, 4000, |x| {
            let lp = k * (x.cos() - 1.0) - c;
            -lp.exp() * lp
        });
        close(
            "VonMises entropy by quadrature",
            h,
            von_mises_entropy(k),
            1e-8,
        );
    }
}

/// `∂ ln p/∂θ` by autodiff against the closed-form score.
#[test]
fn scores_match_closed_forms() {
    let device = common::device().autodiff();
    let v = |x: f64| Tensor::<1>::from_floats([x as f32], &device).require_grad();
    let grad = |t: &Tensor<1>, g: &burn::tensor::Gradients| {
        common::values(t.grad(g).unwrap().reshape([1, 1]))[0]
    };
    let (a, b, x) = (2.5, 1.5, 0.8);
    let (ta, tb) = (v(a), v(b));
    let lp = Gamma::new(ta.clone(), tb.clone())
        .unwrap()
        .log_prob(&t1(x).autodiff())
        .unwrap();
    let g = lp.sum().backward();
    close(
        "∂/∂α ln Gamma",
        grad(&ta, &g),
        b.ln() + x.ln() - digamma(a),
        1e-5,
    );
    close("∂/∂β ln Gamma", grad(&tb, &g), a / b - x, 1e-5);
    let (ta, tb) = (v(a), v(b));
    let lp = Beta::new(ta.clone(), tb.clone())
        .unwrap()
        .log_prob(&t1(0.3).autodiff())
        .unwrap();
    let g = lp.sum().backward();
    close(
        "∂/∂a ln Beta",
        grad(&ta, &g),
        0.3f64.ln() - digamma(a) + digamma(a + b),
        1e-5,
    );
    close(
        "∂/∂b ln Beta",
        grad(&tb, &g),
        0.7f64.ln() - digamma(b) + digamma(a + b),
        1e-5,
    );
    let (tk, k) = (v(3.0), 3.0);
    let lp = VonMises::new(t1(0.0).autodiff(), tk.clone())
        .unwrap()
        .log_prob(&t1(0.4).autodiff())
        .unwrap();
    let g = lp.sum().backward();
    let (i0e, i1e) = scaled_bessel_pair(k);
    close(
        "∂/∂κ ln VonMises",
        grad(&tk, &g),
        0.4f64.cos() - i1e / i0e,
        1e-5,
    );
}

fn gamma_kl(a1: f64, b1: f64, a2: f64, b2: f64) -> f64 {
    (a1 - a2) * digamma(a1) - ln_gamma(a1)
        + ln_gamma(a2)
        + a2 * (b1.ln() - b2.ln())
        + a1 * (b2 - b1) / b1
}

fn beta_kl(a1: f64, b1: f64, a2: f64, b2: f64) -> f64 {
    ln_beta(a2, b2) - ln_beta(a1, b1)
        + (a1 - a2) * digamma(a1)
        + (b1 - b2) * digamma(b1)
        + (a2 - a1 + b2 - b1) * digamma(a1 + b1)
}

#[test]
fn kl_divergences_match_closed_forms_and_quadrature() {
    for (a1, b1, a2, b2) in [
        (2.0, 1.0, 3.0, 0.5),
        (0.3, 2.0, 0.7, 2.5),
        (50.0, 3.0, 40.0, 2.0),
        (1.0, 1.0, 1.0, 1.0),
    ] {
        let p = Gamma::new(t1(a1), t1(b1)).unwrap();
        let q = Gamma::new(t1(a2), t1(b2)).unwrap();
        let got = scalar(kl_divergence(&p, &q).unwrap());
        let want = gamma_kl(a1, b1, a2, b2);
        close(
            &format!("KL Gamma({a1},{b1}) ‖ Gamma({a2},{b2})"),
            got,
            want,
            3e-5,
        );
        let m = a1 / b1;
        let (c1, c2) = (a1 * b1.ln() - ln_gamma(a1), a2 * b2.ln() - ln_gamma(a2));
        // below w = −40/α₁ − 40 the mass is under e^{−40}
        let quad = integrate(-40.0 / a1 - 40.0, (m * 60.0 + 60.0).ln(), 40_000, |w| {
            let x = w.exp();
            let (lp, lq) = (c1 + (a1 - 1.0) * w - b1 * x, c2 + (a2 - 1.0) * w - b2 * x);
            (lp + w).exp() * (lp - lq)
        });
        close("Gamma KL by quadrature", quad, want, 1e-7);
        let p = Beta::new(t1(a1), t1(b1)).unwrap();
        let q = Beta::new(t1(a2), t1(b2)).unwrap();
        let want = beta_kl(a1, b1, a2, b2);
        close(
            "KL Beta",
            scalar(kl_divergence(&p, &q).unwrap()),
            want,
            3e-5,
        );
        let (l1, l2) = (ln_beta(a1, b1), ln_beta(a2, b2));
        let quad = integrate(-60.0 / a1 - 5.0, 60.0 / b1 + 5.0, 20_000, |y| {
            let (ln_x, ln_1mx) = (-softplus(-y), -softplus(y));
            let lp = (a1 - 1.0) * ln_x + (b1 - 1.0) * ln_1mx - l1;
            let lq = (a2 - 1.0) * ln_x + (b2 - 1.0) * ln_1mx - l2;
            (lp + ln_x + ln_1mx).exp() * (lp - lq)
        });
        close("Beta KL by quadrature", quad, want, 1e-6);
    }
    // Dirichlet: the closed form, and with two components the Beta KL
    let device = common::device();
    let (al, be) = ([0.5, 2.0, 1.5], [1.0, 1.0, 3.0]);
    let p = Dirichlet::new(Tensor::<2>::from_floats([al.map(|a| a as f32)], &device)).unwrap();
    let q = Dirichlet::new(Tensor::<2>::from_floats([be.map(|a| a as f32)], &device)).unwrap();
    let (s1, s2): (f64, f64) = (al.iter().sum(), be.iter().sum());
    let want = ln_gamma(s1) - al.iter().map(|&a| ln_gamma(a)).sum::<f64>() - ln_gamma(s2)
        + be.iter().map(|&b| ln_gamma(b)).sum::<f64>()
        + al.iter()
            .zip(be)
            .map(|(a, b)| (a - b) * (digamma(*a) - digamma(s1)))
            .sum::<f64>();
    let got = common::values(kl_divergence(&p, &q).unwrap());
    assert_eq!(got.len(), 1);
    close("KL Dirichlet", got[0], want, 3e-5);
    let p = Dirichlet::new(Tensor::<2>::from_floats([[2.0, 1.0]], &device)).unwrap();
    let q = Dirichlet::new(Tensor::<2>::from_floats([[3.0, 0.5]], &device)).unwrap();
    close(
        "KL Dirichlet(2)",
        common::values(kl_divergence(&p, &q).unwrap())[0],
        beta_kl(2.0, 1.0, 3.0, 0.5),
        3e-5,
    );
}

/// Negative control: the Gamma KL without its `ψ` term is a different number, flagged by the
/// same tolerance.
#[test]
fn negative_control_wrong_formula_is_flagged() {
    let (a1, b1, a2, b2) = (2.0, 1.0, 3.0, 0.5);
    let p = Gamma::new(t1(a1), t1(b1)).unwrap();
    let q = Gamma::new(t1(a2), t1(b2)).unwrap();
    let got = scalar(kl_divergence(&p, &q).unwrap());
    let wrong = gamma_kl(a1, b1, a2, b2) - (a1 - a2) * digamma(a1);
    assert!((got - wrong).abs() > 3e-5 * wrong.abs().max(1.0));
}
