//! The importance-weighted objective and its gradient estimators on a conjugate Gaussian model
//! where everything is exact.
//!
//! The model: `z ~ N(0, 1)`, `x | z ~ N(z, σ²)` with `x = 1.5`, `σ² = 0.64`; the proposal
//! `q = N(m, s²)` with θ = (m, s). The exact posterior is `N(x/(1 + σ²), σ²/(1 + σ²))`.
//!
//! **ELBO** (closed form). With `E_q[(x − z)²] = (x − m)² + s²`, `E_q[z²] = m² + s²` and
//! `H(q) = ½ ln(2πe s²)`:
//!
//! `ELBO(m, s) = −½ ln(2πσ²) − ((x − m)² + s²)/(2σ²) − (m² + s²)/2 + ½ + ln s`,
//!
//! `∂/∂m = (x − m)/σ² − m`, `∂/∂s = −s/σ² − s + 1/s`.
//!
//! **IWAE, k = 2** (quadrature). With `z_i = m + s ε_i`, `ε_i ~ N(0, 1)` and the log-weight
//! in ε coordinates, `ℓ(ε) = ln p(x, m + sε) − ln q(m + sε) = ln p(x, m + sε) + ε²/2 + ln s +
//! ½ ln 2π`, the bound is a fixed-measure integral,
//!
//! `IWAE₂(m, s) = ∫∫ φ(ε₁) φ(ε₂) ln ½(e^{ℓ(ε₁)} + e^{ℓ(ε₂)}) dε₁ dε₂`,
//!
//! so its gradient can be taken under the integral:
//! `∇IWAE₂ = E[Σ_i w̃_i ∇ℓ(ε_i)]`, `w̃_i = e^{ℓ_i}/(e^{ℓ₁} + e^{ℓ₂})`, with
//! `∂ℓ/∂m = ∂_z ln p(x, z) = (x − z)/σ² − z` and `∂ℓ/∂s = ε ∂_z ln p(x, z) + 1/s`. The reweighted
//! wake-sleep update is `E[Σ_i w̃_i ∇ ln q(z_i)]` at fixed `z_i`, with `∂/∂m ln q = ε/s` and
//! `∂/∂s ln q = (ε² − 1)/s`. Both are integrated by the composite Simpson rule on
//! `[−10, 10]²` with 400 × 400 intervals in f64 (truncation below `e^{−50}`; doubling the grid
//! changes the values by less than 1e-9).
//!
//! False-failure rate: every unbiasedness or equality check is a z-test at 1e-6 for its
//! parameter vector (Bonferroni inside); the file runs 28 of them, so correct estimators fail
//! it with probability below 3e-5. The variance check at the posterior is a z-test at 1e-6.
//! Seeds are fixed. Each test asserts that a deliberately wrong variant fails the same check.

mod common;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use mcgrad::distributions::{
    Distribution, MultivariateNormal, Normal, Reparameterized, sum_per_row,
};
use mcgrad::estimators::baselines::LeaveOneOut;
use mcgrad::estimators::multisample::{
    DetachParameters, ImportanceWeighted, InferenceGradient, MultiSampleEstimator,
    StreamingLogMeanExp, Vimco, importance_sampled_nll, importance_weighted_bound,
};
use mcgrad::estimators::{Estimator, Pathwise, ScoreFunction};
use mcgrad::testing::{GradientCheck, GradientSamples, UnbiasednessReport, simpson_rule};
use mcgrad::{NoiseSource, Result};

const X: f64 = 1.5;
const SIGMA2: f64 = 0.64;
const SAMPLES: usize = 20_000;
const RATE: f64 = 1e-6;
/// θ away from the posterior, where STL's bias on IWAE₂ is 0.40 in m and 0.20 in s.
const THETA: [f64; 2] = [0.2, 1.0];
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// `ln p(x, z)` per row of `z: [R, 1]`.
fn log_joint(z: Tensor<2>) -> Tensor<1> {
    let rows = z.dims()[0];
    let c = -0.5 * (SIGMA2.ln() + 2.0 * LN_2PI);
    ((z.clone() - X).square() * (-0.5 / SIGMA2) - z.square() * 0.5 + c).reshape([rows])
}

/// `q = N(m, s²)` from θ rows `[N, 2]`.
fn proposal(theta: Tensor<2>) -> Result<Normal<2>> {
    let [rows, _] = theta.dims();
    Normal::new_unchecked(
        theta.clone().slice([0..rows, 0..1]),
        theta.slice([0..rows, 1..2]),
    )
}

fn elbo_gradient([m, s]: [f64; 2]) -> [f64; 2] {
    [(X - m) / SIGMA2 - m, -s / SIGMA2 - s + 1.0 / s]
}

/// `(∇IWAE₂, RWS update)` at θ by Simpson quadrature in ε (see the file's doc comment).
fn iwae2_by_quadrature([m, s]: [f64; 2]) -> ([f64; 2], [f64; 2]) {
    let (e, w) = simpson_rule(-10.0, 10.0, 400);
    let phi: Vec<f64> = e
        .iter()
        .zip(&w)
        .map(|(e, w)| w * (-0.5 * e * e).exp() / (2.0 * std::f64::consts::PI).sqrt())
        .collect();
    let point = |e: f64| {
        let z = m + s * e;
        let dz = (X - z) / SIGMA2 - z;
        let ell = -(X - z).powi(2) / (2.0 * SIGMA2) - z * z / 2.0 + e * e / 2.0 + s.ln()
            - 0.5 * (2.0 * std::f64::consts::PI * SIGMA2).ln();
        (ell, [dz, e * dz + 1.0 / s], [e / s, (e * e - 1.0) / s])
    };
    let pts: Vec<_> = e.iter().map(|&e| point(e)).collect();
    let (mut iwae, mut rws) = ([0.0; 2], [0.0; 2]);
    for (a, pa) in pts.iter().zip(&phi) {
        for (b, pb) in pts.iter().zip(&phi) {
            let top = a.0.max(b.0);
            let (wa, wb) = ((a.0 - top).exp(), (b.0 - top).exp());
            let (na, nb) = (wa / (wa + wb), wb / (wa + wb));
            for j in 0..2 {
                iwae[j] += pa * pb * (na * a.1[j] + nb * b.1[j]);
                rws[j] += pa * pb * (na * a.2[j] + nb * b.2[j]);
            }
        }
    }
    (iwae, rws)
}

/// Per-sample gradient estimates of `ImportanceWeighted::new(k)` with `gradient` at θ.
fn iw_samples(theta: &[f64], k: usize, gradient: InferenceGradient, seed: u64) -> GradientSamples {
    let iw = ImportanceWeighted::new(k)
        .unwrap()
        .with_gradient(gradient)
        .unwrap();
    GradientCheck::new(SAMPLES)
        .seed(seed)
        .run(&common::device(), theta, |t, noise| {
            Ok(iw.estimate(&proposal(t)?, noise, log_joint)?.surrogate)
        })
        .unwrap()
}

/// "DReG" built by hand with plain weights `w̃` or squared ones `w̃²` on the stopped-`q`
/// log-weights: `Σ_i sg(c_i)·ℓ_i(z_i, q_{sg(φ)})` (valid for the proposal's gradient only: the
/// model has no parameters here).
fn hand_dreg(theta: &[f64], k: usize, squared: bool, seed: u64) -> GradientSamples {
    GradientCheck::new(SAMPLES)
        .seed(seed)
        .run(&common::device(), theta, |t, noise| {
            let [n, _] = t.dims();
            let draws = proposal(t)?.replicate(k);
            let z = draws.rsample(noise);
            let ell = (log_joint(z.clone()) - sum_per_row(draws.detach_parameters().log_prob(&z)?))
                .reshape([k, n]);
            let w = softmax(ell.clone().detach(), 0);
            let c = if squared { w.clone() * w } else { w };
            Ok((c * ell).sum_dim(0).reshape([n]))
        })
        .unwrap()
}

/// The paired z-test that two estimators drawn from the same noise have equal means:
/// per-sample differences tested against 0.
fn equal_means(a: &GradientSamples, b: &GradientSamples) -> UnbiasednessReport {
    let p = a.params();
    let columns = |g: &GradientSamples| {
        (0..p)
            .map(|j| g.column(j).collect())
            .collect::<Vec<Vec<f64>>>()
    };
    let (ca, cb) = (columns(a), columns(b));
    let diff: Vec<f64> = (0..a.len())
        .flat_map(|i| (0..p).map(move |j| (i, j)))
        .map(|(i, j)| ca[j][i] - cb[j][i])
        .collect();
    GradientSamples::from_rows(diff, p)
        .unwrap()
        .unbiasedness(&vec![0.0; p], RATE)
        .unwrap()
}

fn negate(v: [f64; 2]) -> [f64; 2] {
    [-v[0], -v[1]]
}

/// Pathwise, sticking the landing and the score function (with a leave-one-out baseline) all
/// estimate ∇ELBO without bias, at two θ; forgetting the entropy term is flagged.
#[test]
fn elbo_estimators_are_unbiased_against_the_closed_form() {
    let device = common::device();
    for theta in [THETA, [-0.5, 0.6]] {
        let exact = elbo_gradient(theta);
        // cost −ln w(z) = ln q(z) − ln p(x, z): the estimators' surrogates minimize −ELBO
        let neg_log_w =
            |q: &Normal<2>, z: Tensor<2>| sum_per_row(q.log_prob(&z).unwrap()) - log_joint(z);
        let pathwise = GradientCheck::new(SAMPLES)
            .seed(1)
            .run(&device, &theta, |t, noise| {
                let q = proposal(t)?;
                Ok(Pathwise
                    .estimate(&q, 1, noise, |z| neg_log_w(&q, z))?
                    .surrogate)
            })
            .unwrap();
        let score = GradientCheck::new(SAMPLES)
            .seed(2)
            .run(&device, &theta, |t, noise| {
                let q = proposal(t)?;
                // the cost sees the 4 draws of each row: compare them with q replicated alike
                let replicated = q.replicate(4);
                let est = ScoreFunction::new(LeaveOneOut)
                    .estimate(&q, 4, noise, |z| neg_log_w(&replicated, z))?;
                Ok(est.surrogate)
            })
            .unwrap();
        for (name, samples, want) in [
            ("pathwise", pathwise, negate(exact)),
            ("score function", score, negate(exact)),
            (
                "IW k = 1 standard",
                iw_samples(&theta, 1, InferenceGradient::Standard, 3),
                exact,
            ),
            (
                "STL",
                iw_samples(&theta, 1, InferenceGradient::StickingTheLanding, 4),
                exact,
            ),
            (
                "DReG, k = 1",
                iw_samples(&theta, 1, InferenceGradient::Dreg, 5),
                exact,
            ),
        ] {
            let report = samples.unbiasedness(&want, RATE).unwrap();
            assert!(report.passed(), "{name} at θ = {theta:?}\n{report}");
        }
    }
    // negative control: the ELBO without the entropy term, E[ln p(x, z)] alone
    let samples = GradientCheck::new(SAMPLES)
        .seed(6)
        .run(&device, &THETA, |t, noise| {
            Ok(Pathwise
                .estimate(&proposal(t)?, 1, noise, |z| log_joint(z).neg())?
                .surrogate)
        })
        .unwrap();
    let report = samples
        .unbiasedness(&negate(elbo_gradient(THETA)), RATE)
        .unwrap();
    assert!(!report.passed(), "a biased estimator passed:\n{report}");
}

/// At the exact posterior every log-weight is `ln p(x)`: the STL gradient is zero for every
/// draw (up to f32 rounding), while the standard pathwise gradient keeps the score term
/// `−∇ ln q(z) = −(ε/s, (ε² − 1)/s)`, of variance `(1/s², 2/s²)` (asserted by the kit's
/// variance z-test at 1e-6).
#[test]
fn sticking_the_landing_has_zero_variance_at_the_posterior() {
    let m = X / (1.0 + SIGMA2);
    let s = (SIGMA2 / (1.0 + SIGMA2)).sqrt();
    let theta = [m, s];
    let stl = iw_samples(&theta, 1, InferenceGradient::StickingTheLanding, 7);
    let largest = (0..2)
        .flat_map(|j| stl.column(j).collect::<Vec<_>>())
        .fold(0.0f64, |a, g| a.max(g.abs()));
    assert!(
        largest < 1e-4,
        "STL at the posterior: largest |g| = {largest}"
    );
    let variance = stl.variance();
    assert!(
        variance.parameters.iter().all(|p| p.variance < 1e-9),
        "{variance}"
    );
    // the standard estimator at the same draws: variance (1/s², 2/s²), far from zero
    let standard = iw_samples(&theta, 1, InferenceGradient::Standard, 7);
    let report = standard.variance();
    let expected = [1.0 / (s * s), 2.0 / (s * s)];
    assert!(report.matches(&expected, RATE).unwrap(), "{report}");
    assert!(
        report.parameters.iter().all(|p| p.variance > 1.0),
        "{report}"
    );
    // its mean is still the (zero) gradient at the optimum
    assert!(standard.unbiasedness(&[0.0, 0.0], RATE).unwrap().passed());
}

/// DReG and the standard estimator of ∇IWAE_k have equal means (paired z-test on the same
/// draws) for k = 2, 8 and 32; STL does not (negative control).
#[test]
fn dreg_and_standard_iwae_have_equal_means() {
    for k in [2, 8, 32] {
        let standard = iw_samples(&THETA, k, InferenceGradient::Standard, 10 + k as u64);
        let dreg = iw_samples(&THETA, k, InferenceGradient::Dreg, 10 + k as u64);
        let report = equal_means(&dreg, &standard);
        assert!(report.passed(), "k = {k}\n{report}");
        // DReG's variance is the lower one, by a margin that grows with k
        let (vs, vd) = (standard.variance(), dreg.variance());
        for j in 0..2 {
            assert!(
                vd.parameters[j].variance < vs.parameters[j].variance,
                "k = {k}: {vd}{vs}"
            );
        }
        if k == 8 {
            let stl = iw_samples(&THETA, k, InferenceGradient::StickingTheLanding, 18);
            let control = equal_means(&stl, &standard);
            assert!(!control.passed(), "STL on IWAE_8 passed:\n{control}");
        }
    }
}

/// The same on a two-dimensional latent, which scales each draw's path across its event:
/// `z ~ N(0, I)`, `x | z ~ N(z, σ²I)`, `x = (1.5, −0.5)`, with a diagonal Normal proposal
/// `[B, 2]` and with a full-covariance MultivariateNormal.
#[test]
fn dreg_and_standard_agree_on_a_two_dimensional_latent() {
    let theta = [0.1, -0.2, 0.9, 1.3];
    let device = common::device();
    let x = Tensor::<2>::from_floats([[1.5, -0.5]], &device.clone().autodiff());
    let log_joint2 = |z: Tensor<2>| {
        let rows = z.dims()[0];
        ((z.clone() - x.clone()).square() * (-0.5 / SIGMA2) - z.square() * 0.5)
            .sum_dim(1)
            .reshape([rows])
    };
    let run = |gradient: InferenceGradient| {
        let iw = ImportanceWeighted::new(4)
            .unwrap()
            .with_gradient(gradient)
            .unwrap();
        GradientCheck::new(SAMPLES)
            .seed(21)
            .run(&device, &theta, |t, noise| {
                let [n, _] = t.dims();
                let q =
                    Normal::new_unchecked(t.clone().slice([0..n, 0..2]), t.slice([0..n, 2..4]))?;
                Ok(iw.estimate(&q, noise, log_joint2)?.surrogate)
            })
            .unwrap()
    };
    let standard = run(InferenceGradient::Standard);
    let report = equal_means(&run(InferenceGradient::Dreg), &standard);
    assert!(report.passed(), "{report}");
    let control = equal_means(&run(InferenceGradient::StickingTheLanding), &standard);
    assert!(!control.passed(), "STL on IWAE_4 passed:\n{control}");

    // a full-covariance proposal: θ = (μ₁, μ₂, L₁₁, L₂₁, L₂₂) of N(μ, LLᵀ)
    let theta = [0.1, -0.2, 0.9, 0.4, 1.1];
    let run = |gradient: InferenceGradient| {
        let iw = ImportanceWeighted::new(4)
            .unwrap()
            .with_gradient(gradient)
            .unwrap();
        GradientCheck::new(SAMPLES)
            .seed(22)
            .run(&device, &theta, |t, noise| {
                let [n, _] = t.dims();
                let col = |j: usize| t.clone().slice([0..n, j..j + 1]);
                let tril = Tensor::cat(vec![col(2), col(2).zeros_like(), col(3), col(4)], 1)
                    .reshape([n, 2, 2]);
                let q = MultivariateNormal::new_unchecked(t.clone().slice([0..n, 0..2]), tril)?;
                Ok(iw.estimate(&q, noise, log_joint2)?.surrogate)
            })
            .unwrap()
    };
    let standard = run(InferenceGradient::Standard);
    let report = equal_means(&run(InferenceGradient::Dreg), &standard);
    assert!(report.passed(), "full covariance\n{report}");
    let control = equal_means(&run(InferenceGradient::StickingTheLanding), &standard);
    assert!(
        !control.passed(),
        "STL on IWAE_4 passed (full covariance):\n{control}"
    );
}

/// Standard IWAE and DReG are unbiased for ∇IWAE₂ by quadrature; STL and DReG with plain
/// instead of squared weights are flagged.
#[test]
fn iwae2_gradient_estimators_against_quadrature() {
    // two more points: a narrow proposal, and one beyond the posterior mean
    for theta in [[-0.4, 0.7], [1.2, 0.5]] {
        let (exact, _) = iwae2_by_quadrature(theta);
        for gradient in [InferenceGradient::Standard, InferenceGradient::Dreg] {
            let report = iw_samples(&theta, 2, gradient, 30)
                .unbiasedness(&exact, RATE)
                .unwrap();
            assert!(report.passed(), "{gradient:?} at θ = {theta:?}\n{report}");
        }
    }
    let (exact, _) = iwae2_by_quadrature(THETA);
    for (name, samples) in [
        (
            "standard",
            iw_samples(&THETA, 2, InferenceGradient::Standard, 31),
        ),
        ("DReG", iw_samples(&THETA, 2, InferenceGradient::Dreg, 32)),
        (
            "hand-built DReG, squared weights",
            hand_dreg(&THETA, 2, true, 33),
        ),
    ] {
        let report = samples.unbiasedness(&exact, RATE).unwrap();
        assert!(report.passed(), "{name}\n{report}");
    }
    for (name, samples) in [
        (
            "STL",
            iw_samples(&THETA, 2, InferenceGradient::StickingTheLanding, 34),
        ),
        ("DReG with plain weights", hand_dreg(&THETA, 2, false, 35)),
    ] {
        let report = samples.unbiasedness(&exact, RATE).unwrap();
        assert!(!report.passed(), "{name} passed:\n{report}");
    }
}

/// RWS-DReG and the score-form RWS update estimate `E[Σ w̃_i ∇ ln q(z_i)]`; the mixture
/// `(1 − α)·DReG + α·RWS-DReG` its combination with ∇IWAE₂; STL is DReG + RWS-DReG. The
/// negative control: RWS-DReG is not an estimator of ∇IWAE₂.
#[test]
fn reweighted_wake_sleep_updates_against_quadrature() {
    let (iwae, rws) = iwae2_by_quadrature(THETA);
    let alpha = 0.3;
    let mixed = [
        (1.0 - alpha) * iwae[0] + alpha * rws[0],
        (1.0 - alpha) * iwae[1] + alpha * rws[1],
    ];
    let sum = [iwae[0] + rws[0], iwae[1] + rws[1]];
    for (name, samples, want) in [
        (
            "RWS-DReG",
            iw_samples(&THETA, 2, InferenceGradient::RwsDreg, 41),
            rws,
        ),
        (
            "RWS",
            iw_samples(&THETA, 2, InferenceGradient::Rws, 42),
            rws,
        ),
        (
            "mixture α = 0.3",
            iw_samples(&THETA, 2, InferenceGradient::DregMixture(alpha), 43),
            mixed,
        ),
        (
            "STL = DReG + RWS-DReG",
            iw_samples(&THETA, 2, InferenceGradient::StickingTheLanding, 44),
            sum,
        ),
    ] {
        let report = samples.unbiasedness(&want, RATE).unwrap();
        assert!(report.passed(), "{name}\n{report}");
    }
    let control = iw_samples(&THETA, 2, InferenceGradient::RwsDreg, 45)
        .unbiasedness(&iwae, RATE)
        .unwrap();
    assert!(!control.passed(), "RWS-DReG passed as ∇IWAE₂:\n{control}");
}

/// The model's parameters get the standard gradient `Σ w̃_i ∇θ ln p` whatever the proposal's
/// variant: with `ln p(x, z)` scaled by a model parameter `a` (θ = (m, s, a)), every variant
/// gives the same θ-gradient as the standard one draw by draw (DReG's squared weights must
/// not leak into the model's gradient); a DReG that used `w̃²` for the model is flagged.
#[test]
fn the_model_gets_the_standard_gradient_under_every_variant() {
    let theta = [0.2, 1.0, 0.8];
    let device = common::device();
    let run = |gradient: InferenceGradient, leak: bool| {
        let iw = ImportanceWeighted::new(3)
            .unwrap()
            .with_gradient(gradient)
            .unwrap();
        GradientCheck::new(4_000)
            .seed(51)
            .run(&device, &theta, |t, noise| {
                let [n, _] = t.dims();
                let a = t.clone().slice([0..n, 2..3]);
                let q = proposal(t.slice([0..n, 0..2]))?;
                let scaled = |z: Tensor<2>| {
                    let rows = z.dims()[0];
                    log_joint(z) * a.clone().repeat_dim(0, rows / n).reshape([rows])
                };
                let est = iw.estimate(&q, noise, scaled)?;
                if leak {
                    // the wrong way: DReG's squared weights on the model's log-joint too
                    let w = softmax(est.log_weights.clone(), 0);
                    let lp = scaled(est.samples.clone().detach()).reshape([3, n]);
                    Ok(((w.clone() * w) * lp).sum_dim(0).reshape([n]))
                } else {
                    Ok(est.surrogate)
                }
            })
            .unwrap()
    };
    let standard = run(InferenceGradient::Standard, false);
    let model_column = |g: &GradientSamples| g.column(2).collect::<Vec<_>>();
    let want = model_column(&standard);
    for gradient in [
        InferenceGradient::StickingTheLanding,
        InferenceGradient::Dreg,
        InferenceGradient::RwsDreg,
        InferenceGradient::Rws,
    ] {
        let got = model_column(&run(gradient, false));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4,
            "{gradient:?}: model gradient differs by {worst}"
        );
    }
    let leaked = model_column(&run(InferenceGradient::Dreg, true));
    let worst = leaked
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(
        worst > 1e-2,
        "the leaking variant was not told apart: {worst}"
    );
}

/// Log-weights spread over ±1e30 give finite bounds and gradients: the bound function, the
/// streaming evaluation, every `ImportanceWeighted` variant and VIMCO.
#[test]
fn extreme_log_weights_stay_finite() {
    let device = common::device().autodiff();
    let l = Tensor::<2>::from_floats(
        [
            [1e30, -1e30, 0.0],
            [-1e30, 1e30, f32::MIN],
            [0.0, 0.0, f32::MAX],
        ],
        &device,
    )
    .require_grad();
    let bound = importance_weighted_bound(l.clone()).unwrap();
    let v = common::values(bound.clone());
    assert!(v.iter().all(|x| x.is_finite()), "{v:?}");
    assert!((v[0] - (1e30 - 3f64.ln())).abs() < 1e24, "{v:?}");
    let g = common::values(l.grad(&bound.sum().backward()).unwrap());
    assert!(g.iter().all(|x| x.is_finite()), "{g:?}");
    // one-hot normalized weights: the largest draw of each column takes all of it
    assert_eq!(g, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);

    let mut acc = StreamingLogMeanExp::new();
    acc.push(Tensor::<2>::from_floats([[1e30, -1e30]], &device))
        .unwrap();
    acc.push(Tensor::<2>::from_floats(
        [[-1e30, 1e30], [f32::MIN, f32::MAX]],
        &device,
    ))
    .unwrap();
    let v = common::values(acc.value().unwrap());
    assert!(v.iter().all(|x| x.is_finite()), "{v:?}");
    let nll = importance_sampled_nll(5, 2, |c| {
        Ok(Tensor::<2>::from_floats([[1e30], [-1e30]], &device).slice([0..c, 0..1]))
    })
    .unwrap();
    assert!(common::values(nll)[0].is_finite());

    // log p(x, z) = ±1e30·z: draws a unit apart differ by 1e30 in log-weight
    let steep = |z: Tensor<2>| {
        let rows = z.dims()[0];
        (z * 1e30).reshape([rows])
    };
    for gradient in [
        InferenceGradient::Standard,
        InferenceGradient::StickingTheLanding,
        InferenceGradient::Dreg,
        InferenceGradient::RwsDreg,
        InferenceGradient::Rws,
    ] {
        let loc = Tensor::<2>::from_floats([[0.0], [1.0]], &device).require_grad();
        let q = Normal::new(loc.clone(), Tensor::<2>::ones([2, 1], &device)).unwrap();
        let est = ImportanceWeighted::new(8)
            .unwrap()
            .with_gradient(gradient)
            .unwrap()
            .estimate(&q, &mut NoiseSource::seed_from_u64(5), steep)
            .unwrap();
        let v = common::values(est.surrogate.clone());
        let g = common::values(loc.grad(&est.loss().backward()).unwrap());
        assert!(
            v.iter().chain(&g).all(|x| x.is_finite()),
            "{gradient:?}: bound {v:?}, gradient {g:?}"
        );
    }
    let logits = Tensor::<2>::zeros([3, 2], &device).require_grad();
    let q = mcgrad::distributions::Bernoulli::from_logits(logits.clone()).unwrap();
    let est = Vimco::new(6)
        .unwrap()
        .estimate(&q, &mut NoiseSource::seed_from_u64(6), |h: Tensor<2>| {
            let rows = h.dims()[0];
            ((h * 2.0 - 1.0).sum_dim(1) * 1e30).reshape([rows])
        })
        .unwrap();
    let v = common::values(est.surrogate.clone());
    let g = common::values(logits.grad(&est.loss().backward()).unwrap());
    assert!(
        v.iter().chain(&g).all(|x| x.is_finite()),
        "VIMCO: {v:?}, {g:?}"
    );
}

/// The effective sample size is `k` for equal weights and 1 for a single dominant draw.
#[test]
fn effective_sample_size_spans_one_to_k() {
    let device = common::device().autodiff();
    let q = Normal::new(
        Tensor::<2>::zeros([1, 1], &device),
        Tensor::<2>::ones([1, 1], &device),
    )
    .unwrap();
    let iw = ImportanceWeighted::new(10).unwrap();
    // ln p = ln q: equal weights
    let flat = iw
        .estimate(&q, &mut NoiseSource::seed_from_u64(1), |z: Tensor<2>| {
            let rows = z.dims()[0];
            (z.square() * -0.5).reshape([rows])
        })
        .unwrap();
    let ess = common::values(flat.effective_sample_size())[0];
    assert!((ess - 10.0).abs() < 1e-3, "{ess}");
    let steep = iw
        .estimate(&q, &mut NoiseSource::seed_from_u64(1), |z: Tensor<2>| {
            let rows = z.dims()[0];
            (z * 1e4).reshape([rows])
        })
        .unwrap();
    let ess = common::values(steep.effective_sample_size())[0];
    assert!((ess - 1.0).abs() < 1e-3, "{ess}");
}
