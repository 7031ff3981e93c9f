//! Benchmarks of the low-bias straight-through estimators on categorical logits
//! [1024, 30, 10], forward + backward, matching benches/torch_st_variants.py:
//!
//! - `reinmax` (τ = 1), `gumbel_rao` (K = 10 conditional draws, τ = 1),
//!   `decoupled_straight_through` (τ_f = 1, τ_b = 2) and `gumbel_softmax(hard = true)`
//!   (τ = 1) as functions of the logits, like PyTorch's: draw, cost `Σ y·w`, backward;
//! - the same three through the `Estimator` contract on a `OneHotCategorical` (which adds the
//!   distribution's `log_softmax` and its backward): `*_estimator`.
//!
//! `cargo bench --features wgpu,ndarray --bench straight_through_variants`;
//! `RAYON_NUM_THREADS=1` for one thread. docs/BENCHMARKS.md has the comparison with PyTorch.

use burn::prelude::*;
use burn::tensor::Distribution as Init;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::NoiseSource;
use mcgrad::distributions::{OneHotCategorical, sum_per_row};
use mcgrad::estimators::{
    DecoupledStraightThrough, Estimator, GumbelRao, ReinMax, decoupled_straight_through,
    gumbel_rao, gumbel_softmax, reinmax,
};

const SHAPE: [usize; 3] = [1024, 30, 10];

fn inputs() -> (Tensor<3>, Tensor<3>) {
    let device = Device::flex().autodiff();
    let logits = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device).require_grad();
    let w = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device);
    (logits, w)
}

type Draw = fn(Tensor<3>, &mut NoiseSource) -> Tensor<3>;

fn functions(c: &mut Criterion) {
    let (logits, w) = inputs();
    let mut noise = NoiseSource::seed_from_u64(0);
    let cases: [(&str, Draw); 4] = [
        ("reinmax", |l, n| reinmax(l, 1.0, n).unwrap()),
        ("gumbel_rao_k10", |l, n| gumbel_rao(l, 1.0, 10, n).unwrap()),
        ("decoupled_st", |l, n| {
            decoupled_straight_through(l, 1.0, 2.0, n).unwrap()
        }),
        ("st_gumbel_softmax", |l, n| {
            gumbel_softmax(l, 1.0, true, n).unwrap()
        }),
    ];
    for (name, draw) in cases {
        c.bench_function(&format!("{name}_fwd_bwd_1024x30x10"), |b| {
            b.iter(|| {
                let y = draw(logits.clone(), &mut noise);
                std::hint::black_box((y * w.clone()).sum().backward());
            })
        });
    }
}

fn estimator<E>(c: &mut Criterion, name: &str, mut estimator: E)
where
    E: Estimator<3, OneHotCategorical<3>, Sample = Tensor<3>>,
{
    let (logits, w) = inputs();
    let mut noise = NoiseSource::seed_from_u64(1);
    c.bench_function(&format!("{name}_estimator_fwd_bwd_1024x30x10"), |b| {
        b.iter(|| {
            let q = OneHotCategorical::from_logits_unchecked(logits.clone()).unwrap();
            let est = estimator
                .estimate(&q, 1, &mut noise, |y| sum_per_row(y * w.clone()))
                .unwrap();
            std::hint::black_box(est.surrogate.sum().backward());
        })
    });
}

fn estimators(c: &mut Criterion) {
    estimator(c, "reinmax", ReinMax::new(1.0).unwrap());
    estimator(c, "gumbel_rao_k10", GumbelRao::new(1.0, 10).unwrap());
    estimator(
        c,
        "decoupled_st",
        DecoupledStraightThrough::new(1.0, 2.0).unwrap(),
    );
}

criterion_group!(benches, functions, estimators);
criterion_main!(benches);
