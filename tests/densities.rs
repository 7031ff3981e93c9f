//! Log-densities, entropies and means of every pathwise family against closed forms written
//! out independently here in f64; and the law of the samples against the closed-form CDF by a
//! Kolmogorov-Smirnov test.
//!
//! KS false-failure rate: the Dvoretzky-Kiefer-Wolfowitz inequality bounds
//! P(D_n > ε) ≤ 2·exp(−2nε²); ε is set for 1e-6 per family (7e-6 for the file). The negative
//! control draws from a scale 10% off and must be rejected. Seeds are fixed.

mod common;

use burn::prelude::*;
use mcgrad::NoiseSource;
use mcgrad::distributions::{
    Distribution, Entropy, Exponential, Gumbel, Laplace, LogNormal, Logistic, Mean,
    MultivariateNormal, Normal, Uniform,
};
use mcgrad::testing::{density_quadrature, normal_upper_tail, simpson_rule};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;
const EULER: f64 = 0.577_215_664_901_532_9;

/// Reference formulas of one family at fixed parameters, in f64.
struct Reference {
    log_pdf: Box<dyn Fn(f64) -> f64>,
    cdf: Box<dyn Fn(f64) -> f64>,
    entropy: f64,
    mean: f64,
    points: Vec<f64>,
}

fn scalar(v: f64, device: &Device) -> Tensor<2> {
    Tensor::from_floats([[v as f32]], device)
}

fn normal_cdf(z: f64) -> f64 {
    1.0 - normal_upper_tail(z)
}

fn reference(name: &str, a: f64, b: f64) -> Reference {
    match name {
        "normal" => Reference {
            log_pdf: Box::new(move |x| -0.5 * ((x - a) / b).powi(2) - b.ln() - LN_SQRT_2PI),
            cdf: Box::new(move |x| normal_cdf((x - a) / b)),
            entropy: 0.5 + LN_SQRT_2PI + b.ln(),
            mean: a,
            points: vec![a - 3.0 * b, a - 0.3, a, a + 1.7 * b, a + 9.0 * b],
        },
        "log_normal" => Reference {
            log_pdf: Box::new(move |x| {
                -0.5 * ((x.ln() - a) / b).powi(2) - b.ln() - LN_SQRT_2PI - x.ln()
            }),
            cdf: Box::new(move |x| normal_cdf((x.ln() - a) / b)),
            entropy: a + 0.5 + LN_SQRT_2PI + b.ln(),
            mean: (a + b * b / 2.0).exp(),
            points: vec![0.05, 0.5, 1.0, 2.5, 20.0],
        },
        "uniform" => Reference {
            log_pdf: Box::new(move |_| -(b - a).ln()),
            cdf: Box::new(move |x| ((x - a) / (b - a)).clamp(0.0, 1.0)),
            entropy: (b - a).ln(),
            mean: (a + b) / 2.0,
            points: vec![a, a + 0.1 * (b - a), (a + b) / 2.0, b - 1e-3],
        },
        "exponential" => Reference {
            log_pdf: Box::new(move |x| a.ln() - a * x),
            cdf: Box::new(move |x| 1.0 - (-a * x).exp()),
            entropy: 1.0 - a.ln(),
            mean: 1.0 / a,
            points: vec![0.0, 0.1, 1.0, 7.5],
        },
        "laplace" => Reference {
            log_pdf: Box::new(move |x| -(2.0 * b).ln() - (x - a).abs() / b),
            cdf: Box::new(move |x| {
                if x < a {
                    0.5 * ((x - a) / b).exp()
                } else {
                    1.0 - 0.5 * (-(x - a) / b).exp()
                }
            }),
            entropy: 1.0 + (2.0 * b).ln(),
            mean: a,
            points: vec![a - 4.0 * b, a - 0.2, a, a + 2.0 * b],
        },
        "logistic" => Reference {
            log_pdf: Box::new(move |x| {
                let z = (x - a) / b;
                -z - b.ln() - 2.0 * (-z).exp().ln_1p()
            }),
            cdf: Box::new(move |x| 1.0 / (1.0 + (-(x - a) / b).exp())),
            entropy: b.ln() + 2.0,
            mean: a,
            points: vec![a - 10.0 * b, a - 1.0, a, a + 3.0 * b, a + 30.0 * b],
        },
        "gumbel" => Reference {
            log_pdf: Box::new(move |x| {
                let z = (x - a) / b;
                -b.ln() - z - (-z).exp()
            }),
            cdf: Box::new(move |x| (-(-(x - a) / b).exp()).exp()),
            entropy: b.ln() + EULER + 1.0,
            mean: a + b * EULER,
            points: vec![a - 2.0 * b, a, a + 0.5, a + 8.0 * b],
        },
        other => unreachable!("{other}"),
    }
}

/// The family `name` with parameters `(a, b)` on a `[1, 1]` batch (rate `a` for the
/// exponential, bounds `[a, b)` for the uniform).
fn with_family<R>(name: &str, a: f64, b: f64, device: &Device, run: impl Fn(&dyn Probe) -> R) -> R {
    let (ta, tb) = (scalar(a, device), scalar(b, device));
    match name {
        "normal" => run(&Normal::new(ta, tb).unwrap()),
        "log_normal" => run(&LogNormal::new(ta, tb).unwrap()),
        "uniform" => run(&Uniform::new(ta, tb).unwrap()),
        "exponential" => run(&Exponential::new(ta).unwrap()),
        "laplace" => run(&Laplace::new(ta, tb).unwrap()),
        "logistic" => run(&Logistic::new(ta, tb).unwrap()),
        "gumbel" => run(&Gumbel::new(ta, tb).unwrap()),
        other => unreachable!("{other}"),
    }
}

/// What these tests need of a family, object-safe.
trait Probe {
    fn log_prob_at(&self, x: &[f64]) -> Vec<f64>;
    fn entropy_value(&self) -> f64;
    fn mean_value(&self) -> f64;
    fn draws(&self, n: usize, noise: &mut NoiseSource) -> Vec<f64>;
    fn quadrature(&self, nodes: &[f64], weights: &[f64]) -> (f64, f64);
}

impl<P: Distribution<2, Value = Tensor<2>> + Entropy<2> + Mean<2>> Probe for P {
    fn log_prob_at(&self, x: &[f64]) -> Vec<f64> {
        let device = self.device();
        let v = common::matrix(x.len(), 1, x.iter().map(|&v| v as f32).collect(), &device);
        common::values(self.log_prob(&v).unwrap())
    }
    fn entropy_value(&self) -> f64 {
        common::values(self.entropy())[0]
    }
    fn mean_value(&self) -> f64 {
        common::values(self.mean())[0]
    }
    fn draws(&self, n: usize, noise: &mut NoiseSource) -> Vec<f64> {
        common::values(self.replicate(n).sample(noise))
    }
    /// (∫ p, −∫ p ln p) by quadrature
    fn quadrature(&self, nodes: &[f64], weights: &[f64]) -> (f64, f64) {
        let m = nodes.len();
        let mass =
            density_quadrature(self, nodes, weights, |z| z.ones_like().reshape([m])).unwrap();
        let this = self.replicate(1);
        let ent = density_quadrature(self, nodes, weights, |z| {
            this.replicate(m).log_prob(&z).unwrap().neg().reshape([m])
        })
        .unwrap();
        (common::values(mass)[0], common::values(ent)[0])
    }
}

const FAMILIES: [(&str, f64, f64); 7] = [
    ("normal", 0.7, 1.8),
    ("log_normal", -0.2, 0.6),
    ("uniform", -1.5, 2.5),
    ("exponential", 1.7, 0.0),
    ("laplace", 0.4, 0.9),
    ("logistic", -1.0, 0.7),
    ("gumbel", 0.3, 1.3),
];

#[test]
fn log_prob_entropy_and_mean_match_closed_forms() {
    let device = common::device();
    for (name, a, b) in FAMILIES {
        let r = reference(name, a, b);
        with_family(name, a, b, &device, |d| {
            let got = d.log_prob_at(&r.points);
            for (x, g) in r.points.iter().zip(&got) {
                let want = (r.log_pdf)(*x);
                assert!(
                    (g - want).abs() < 2e-5 * want.abs().max(1.0),
                    "{name} log_prob({x}) = {g}, want {want}"
                );
            }
            let h = d.entropy_value();
            assert!(
                (h - r.entropy).abs() < 1e-5,
                "{name} entropy {h}, want {}",
                r.entropy
            );
            let m = d.mean_value();
            assert!(
                (m - r.mean).abs() < 1e-5 * r.mean.abs().max(1.0),
                "{name} mean {m}, want {}",
                r.mean
            );
        });
    }
}

#[test]
fn log_prob_is_minus_infinity_outside_the_support() {
    let device = common::device();
    for (name, a, b, outside) in [
        ("log_normal", 0.0, 1.0, vec![0.0, -1.0]),
        // the closed interval [low, high]: a sample rounded onto `high` is inside
        ("uniform", 0.0, 1.0, vec![-0.1, 1.0 + 1e-6, 3.0]),
        ("exponential", 1.0, 0.0, vec![-1e-3, -5.0]),
    ] {
        with_family(name, a, b, &device, |d| {
            for lp in d.log_prob_at(&outside) {
                assert_eq!(lp, f64::NEG_INFINITY, "{name}");
            }
        });
    }
}

#[test]
fn density_integrates_to_one_and_entropy_matches_quadrature() {
    let device = common::device();
    for (name, a, b, lo, hi) in [
        ("normal", 0.7, 1.8, 0.7 - 25.0, 0.7 + 25.0),
        ("laplace", 0.4, 0.9, 0.4 - 40.0, 0.4 + 40.0),
        ("logistic", -1.0, 0.7, -1.0 - 40.0, -1.0 + 40.0),
        ("gumbel", 0.3, 1.3, 0.3 - 8.0, 0.3 + 60.0),
        ("exponential", 1.7, 0.0, 0.0, 30.0),
    ] {
        let (x, w) = simpson_rule(lo, hi, 40_000);
        with_family(name, a, b, &device, |d| {
            let (mass, entropy) = d.quadrature(&x, &w);
            assert!((mass - 1.0).abs() < 1e-4, "{name}: ∫p = {mass}");
            let h = d.entropy_value();
            assert!(
                (entropy - h).abs() < 1e-3,
                "{name}: −∫p ln p = {entropy}, entropy() = {h}"
            );
        });
    }
}

/// The KS statistic of `draws` against `cdf`.
fn ks(mut draws: Vec<f64>, cdf: &dyn Fn(f64) -> f64) -> f64 {
    draws.sort_by(f64::total_cmp);
    let n = draws.len() as f64;
    draws.iter().enumerate().fold(0.0f64, |d, (i, &x)| {
        let f = cdf(x);
        d.max((f - i as f64 / n).abs())
            .max(((i + 1) as f64 / n - f).abs())
    })
}

fn ks_threshold(n: usize, rate: f64) -> f64 {
    ((2.0 / rate).ln() / (2.0 * n as f64)).sqrt()
}

const DRAWS: usize = 100_000;

#[test]
fn samples_follow_the_law_kolmogorov_smirnov() {
    let device = common::device();
    let eps = ks_threshold(DRAWS, 1e-6);
    for (i, (name, a, b)) in FAMILIES.into_iter().enumerate() {
        let r = reference(name, a, b);
        let draws = with_family(name, a, b, &device, |d| {
            d.draws(DRAWS, &mut NoiseSource::seed_from_u64(100 + i as u64))
        });
        let d = ks(draws, &*r.cdf);
        assert!(d < eps, "{name}: KS D = {d}, threshold {eps}");
    }
}

#[test]
fn negative_control_ks_rejects_a_scale_ten_percent_off() {
    let device = common::device();
    let eps = ks_threshold(DRAWS, 1e-6);
    for (i, (name, a, b)) in FAMILIES.into_iter().enumerate() {
        // sample with the scale (or rate, or width) 10% off, test against the true law
        let (sa, sb) = match name {
            "exponential" => (a * 1.1, b),
            "uniform" => (a, a + (b - a) * 1.1),
            _ => (a, b * 1.1),
        };
        let r = reference(name, a, b);
        let draws = with_family(name, sa, sb, &device, |d| {
            d.draws(DRAWS, &mut NoiseSource::seed_from_u64(100 + i as u64))
        });
        let d = ks(draws, &*r.cdf);
        assert!(
            d > eps,
            "{name}: a 10% scale error passed KS (D = {d}, threshold {eps})"
        );
    }
}

#[test]
fn multivariate_normal_matches_an_explicit_two_by_two_computation() {
    let device = common::device();
    let (m0, m1) = (0.5, -1.0);
    let (l00, l10, l11) = (1.5, -0.8, 0.6);
    let mvn = MultivariateNormal::new(
        Tensor::<2>::from_floats([[m0 as f32, m1 as f32]], &device),
        Tensor::<3>::from_floats([[[l00 as f32, 0.0], [l10 as f32, l11 as f32]]], &device),
    )
    .unwrap();
    // Σ = L Lᵀ, explicit inverse and determinant
    let (s00, s01, s11) = (l00 * l00, l00 * l10, l10 * l10 + l11 * l11);
    let det = s00 * s11 - s01 * s01;
    let reference = |x0: f64, x1: f64| {
        let (d0, d1) = (x0 - m0, x1 - m1);
        let q = (s11 * d0 * d0 - 2.0 * s01 * d0 * d1 + s00 * d1 * d1) / det;
        -0.5 * q - 0.5 * det.ln() - 2.0 * LN_SQRT_2PI
    };
    let points = [(0.0, 0.0), (2.0, -3.0), (-1.0, 1.5)];
    let x = Tensor::<2>::from_floats(points.map(|(a, b)| [a as f32, b as f32]), &device);
    let got = common::values(mvn.replicate(3).log_prob(&x).unwrap());
    for ((x0, x1), g) in points.iter().zip(got) {
        let want = reference(*x0, *x1);
        assert!(
            (g - want).abs() < 1e-5 * want.abs().max(1.0),
            "log_prob({x0}, {x1}) = {g}, want {want}"
        );
    }
    let h = common::values(mvn.entropy())[0];
    assert!((h - (2.0 * (0.5 + LN_SQRT_2PI) + 0.5 * det.ln())).abs() < 1e-5);

    // sample covariance against Σ: each entry within 5 standard errors (false failure < 2e-6)
    let n = 200_000;
    let s = common::values(mvn.replicate(n).sample(&mut NoiseSource::seed_from_u64(9)));
    let (mut c00, mut c01, mut c11) = (0.0, 0.0, 0.0);
    for row in s.chunks(2) {
        let (d0, d1) = (row[0] - m0, row[1] - m1);
        c00 += d0 * d0;
        c01 += d0 * d1;
        c11 += d1 * d1;
    }
    let nf = n as f64;
    let se = |a: f64, b: f64, c: f64| ((a * b + c * c) / nf).sqrt(); // Var of a Gaussian product
    assert!((c00 / nf - s00).abs() < 5.0 * se(s00, s00, s00));
    assert!((c01 / nf - s01).abs() < 5.0 * se(s00, s11, s01));
    assert!((c11 / nf - s11).abs() < 5.0 * se(s11, s11, s11));
}

#[test]
fn parameters_broadcast_like_pytorch() {
    let device = common::device();
    // a scalar location with a batch of scales
    let d = Normal::new(
        Tensor::<2>::from_floats([[1.0]], &device),
        Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device),
    )
    .unwrap();
    assert_eq!(d.value_shape(), [1, 3]);
    assert_eq!(d.sample(&mut NoiseSource::seed_from_u64(0)).dims(), [1, 3]);
    assert_eq!(d.entropy().dims(), [1, 3]);
    assert_eq!(d.mean().dims(), [1, 3]);
    assert_eq!(d.replicate(4).value_shape(), [4, 3]);
    // a column against a row
    let d = Normal::new(
        Tensor::<2>::zeros([5, 1], &device),
        Tensor::<2>::ones([1, 2], &device),
    )
    .unwrap();
    assert_eq!(d.value_shape(), [5, 2]);
    assert_eq!(
        d.log_prob(&Tensor::<2>::zeros([1, 2], &device))
            .unwrap()
            .dims(),
        [5, 2]
    );
}
