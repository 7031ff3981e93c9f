//! Discrete estimator benchmarks, matching cases (a) and (c) of the PyTorch reference script
//! (../shared/peer/torch_bench.py) on logits [1024, 30, 10]:
//!
//! - Gumbel-softmax forward+backward, τ = 1, soft and hard (straight-through):
//!   `y = gumbel_softmax(ℓ)`, `loss = Σ y·w`, backward;
//! - REINFORCE on a Categorical: sample, `log_prob`, `f(s) = w[b, n, s]`, backward of the
//!   score-function surrogate (each of the 1024·30 categorical variables is one row, as the
//!   reference's `(f.detach() * log_prob).sum()` treats them).
//!
//! `cargo bench --bench discrete`; `RAYON_NUM_THREADS=1` for one thread.

use burn::prelude::*;
use burn::tensor::Distribution as Init;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::NoiseSource;
use mcgrad::distributions::Categorical;
use mcgrad::estimators::baselines::NoBaseline;
use mcgrad::estimators::{Estimator, ScoreFunction, gumbel_softmax};

const SHAPE: [usize; 3] = [1024, 30, 10];

fn gumbel(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let logits = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device).require_grad();
    let w = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device);
    let mut noise = NoiseSource::seed_from_u64(0);
    for (name, hard) in [("soft", false), ("hard_st", true)] {
        c.bench_function(&format!("gumbel_softmax_{name}_fwd_bwd_1024x30x10"), |b| {
            b.iter(|| {
                let y = gumbel_softmax(logits.clone(), 1.0, hard, &mut noise).unwrap();
                std::hint::black_box((y * w.clone()).sum().backward());
            })
        });
    }
    let inner = logits.clone().inner();
    c.bench_function("gumbel_softmax_soft_fwd_only_1024x30x10", |b| {
        b.iter(|| {
            std::hint::black_box(gumbel_softmax(inner.clone(), 1.0, false, &mut noise).unwrap())
        })
    });
}

fn reinforce(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let [b, n, k] = SHAPE;
    let logits = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device).require_grad();
    let w = Tensor::<2>::random([b * n, k], Init::Normal(0.0, 1.0), &device);
    let mut noise = NoiseSource::seed_from_u64(1);
    c.bench_function("reinforce_categorical_fwd_bwd_1024x30x10", |bench| {
        bench.iter(|| {
            let q = Categorical::from_logits_unchecked(logits.clone().reshape([b * n, k])).unwrap();
            let est = ScoreFunction::new(NoBaseline)
                .estimate(&q, 1, &mut noise, |s| {
                    w.clone().gather(1, s).reshape([b * n])
                })
                .unwrap();
            std::hint::black_box(est.surrogate.sum().backward());
        })
    });
}

criterion_group!(benches, gumbel, reinforce);
criterion_main!(benches);
