//! ARM, DisARM, REBAR and RELAX, forward and backward, on the shapes of the binary-VAE
//! benchmark: Bernoulli logits [1024, 200] (ARM, DisARM, REBAR, RELAX) and categorical logits
//! [1024, 30, 10] (REBAR, RELAX). One draw (or one antithetic pair) per batch element.
//!
//! The cost is the same cheap smooth function as in the PyTorch formulation
//! (benches/torch_estimators.py), so that the figures measure the estimators:
//!
//! - Bernoulli rows `y` `[R, 200]`: `f(y) = Σ_j w_j (y_j − t_j)²`;
//! - categorical rows `y` `[R, 30, 10]`: `f(y) = Σ_l (Σ_k v_k y_lk − t_l)²`.
//!
//! Each iteration builds the distribution from the tracked logits, estimates, and runs
//! `loss.backward()`. REBAR: τ = 0.5, η = 1. RELAX: the default control network, 64 hidden
//! units.
//!
//! `cargo bench --bench discrete_estimators`; `RAYON_NUM_THREADS=1` for one thread.

use burn::prelude::*;
use burn::tensor::Distribution as Init;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, OneHotCategorical};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::{Arm, DisArm, Estimator, Rebar, Relax};

const BATCH: usize = 1024;
const BITS: usize = 200;
const POSITIONS: usize = 30;
const CLASSES: usize = 10;

/// `f(y) = Σ_j w_j (y_j − t_j)²` per row.
fn bits_cost<'a>(
    w: &'a Tensor<2>,
    t: &'a Tensor<2>,
) -> impl Fn(Tensor<2>) -> Tensor<1> + Copy + 'a {
    move |y: Tensor<2>| {
        let rows = y.dims()[0];
        ((y - t.clone()).square() * w.clone())
            .sum_dim(1)
            .reshape([rows])
    }
}

/// `f(y) = Σ_l (Σ_k v_k y_lk − t_l)²` per row.
fn classes_cost<'a>(
    v: &'a Tensor<3>,
    t: &'a Tensor<2>,
) -> impl Fn(Tensor<3>) -> Tensor<1> + Copy + 'a {
    move |y: Tensor<3>| {
        let rows = y.dims()[0];
        ((y * v.clone()).sum_dim(2).reshape([rows, POSITIONS]) - t.clone())
            .square()
            .sum_dim(1)
            .reshape([rows])
    }
}

fn bernoulli(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let logits = Tensor::<2>::random([BATCH, BITS], Init::Normal(0.0, 1.0), &device).require_grad();
    let w = Tensor::<2>::random([1, BITS], Init::Uniform(0.5, 1.5), &device);
    let t = Tensor::<2>::random([1, BITS], Init::Uniform(0.0, 1.0), &device);
    let f = bits_cost(&w, &t);
    let mut noise = NoiseSource::seed_from_u64(0);
    c.bench_function("arm_fwd_bwd_1024x200", |b| {
        b.iter(|| {
            let q = Bernoulli::from_logits_unchecked(logits.clone()).unwrap();
            let est = Arm.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
    c.bench_function("disarm_fwd_bwd_1024x200", |b| {
        b.iter(|| {
            let q = Bernoulli::from_logits_unchecked(logits.clone()).unwrap();
            let est = DisArm.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
    let mut rebar = Rebar::new(0.5).unwrap();
    c.bench_function("rebar_bernoulli_fwd_bwd_1024x200", |b| {
        b.iter(|| {
            let q = Bernoulli::from_logits_unchecked(logits.clone()).unwrap();
            let est = rebar.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
    let mut relax = Relax::new(ControlNetwork::new(BITS, 64, &mut noise, &device));
    c.bench_function("relax_bernoulli_fwd_bwd_1024x200", |b| {
        b.iter(|| {
            let q = Bernoulli::from_logits_unchecked(logits.clone()).unwrap();
            let est = relax.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
}

fn categorical(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let shape = [BATCH, POSITIONS, CLASSES];
    let logits = Tensor::<3>::random(shape, Init::Normal(0.0, 1.0), &device).require_grad();
    let v = Tensor::<3>::random([1, 1, CLASSES], Init::Normal(0.0, 1.0), &device);
    let t = Tensor::<2>::random([1, POSITIONS], Init::Normal(0.0, 1.0), &device);
    let f = classes_cost(&v, &t);
    let mut noise = NoiseSource::seed_from_u64(1);
    let mut rebar = Rebar::new(0.5).unwrap();
    c.bench_function("rebar_categorical_fwd_bwd_1024x30x10", |b| {
        b.iter(|| {
            let q = OneHotCategorical::from_logits_unchecked(logits.clone()).unwrap();
            let est = rebar.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
    let mut relax = Relax::new(ControlNetwork::new(
        POSITIONS * CLASSES,
        64,
        &mut noise,
        &device,
    ));
    c.bench_function("relax_categorical_fwd_bwd_1024x30x10", |b| {
        b.iter(|| {
            let q = OneHotCategorical::from_logits_unchecked(logits.clone()).unwrap();
            let est = relax.estimate(&q, 1, &mut noise, f).unwrap();
            std::hint::black_box(est.loss().backward());
        })
    });
}

criterion_group!(benches, bernoulli, categorical);
criterion_main!(benches);
