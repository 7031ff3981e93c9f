//! Benchmarks of the low-bias straight-through estimators on categorical logits
//! [1024, 30, 10], forward + backward, matching benches/torch_st_variants.py:
//!
//! - ReinMax, τ = 1;
//! - Gumbel-Rao, K = 10 conditional draws, τ = 1;
//! - decoupled ST, τ_f = 1, τ_b = 2;
//! - ST Gumbel-softmax, τ = 1, through the same estimator path (for reference).
//!
//! Each iteration: a `OneHotCategorical` from the logits (the `log_softmax`), one draw per
//! categorical variable, the cost `Σ y·w`, and the backward pass to the logits.
//!
//! `cargo bench --features wgpu,ndarray --bench straight_through_variants`;
//! `RAYON_NUM_THREADS=1` for one thread. docs/BENCHMARKS.md has the comparison with PyTorch.

use burn::prelude::*;
use burn::tensor::Distribution as Init;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::NoiseSource;
use mcgrad::distributions::{OneHotCategorical, sum_per_row};
use mcgrad::estimators::{DecoupledStraightThrough, Estimator, GumbelRao, GumbelSoftmax, ReinMax};

const SHAPE: [usize; 3] = [1024, 30, 10];

fn bench_one<E>(c: &mut Criterion, name: &str, mut estimator: E)
where
    E: Estimator<3, OneHotCategorical<3>, Sample = Tensor<3>>,
{
    let device = Device::flex().autodiff();
    let logits = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device).require_grad();
    let w = Tensor::<3>::random(SHAPE, Init::Normal(0.0, 1.0), &device);
    let mut noise = NoiseSource::seed_from_u64(0);
    c.bench_function(&format!("{name}_fwd_bwd_1024x30x10"), |b| {
        b.iter(|| {
            let q = OneHotCategorical::from_logits_unchecked(logits.clone()).unwrap();
            let est = estimator
                .estimate(&q, 1, &mut noise, |y| sum_per_row(y * w.clone()))
                .unwrap();
            std::hint::black_box(est.surrogate.sum().backward());
        })
    });
}

fn variants(c: &mut Criterion) {
    bench_one(c, "reinmax", ReinMax::new(1.0).unwrap());
    bench_one(c, "gumbel_rao_k10", GumbelRao::new(1.0, 10).unwrap());
    bench_one(
        c,
        "decoupled_st",
        DecoupledStraightThrough::new(1.0, 2.0).unwrap(),
    );
    bench_one(
        c,
        "st_gumbel_softmax",
        GumbelSoftmax::straight_through(1.0).unwrap(),
    );
}

criterion_group!(benches, variants);
criterion_main!(benches);
