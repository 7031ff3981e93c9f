//! Implicit reparameterization benchmarks, matching benches/torch_implicit.py on the same
//! shapes: `rsample` + `loss = Σ z·w` + backward for
//!
//! - Gamma, concentration `[1024, 100]` (`α = e^ε`, ε ~ N(0, 1)), rate 1;
//! - Dirichlet, concentration `[1024, 10, 10]` (K = 10, the same 102 400 elements);
//! - von Mises, `[1024, 100]`, κ = e^ε, with the gradient in κ and μ; and its `sample`
//!   alone (PyTorch's von Mises has no `rsample`).
//!
//! `cargo bench --bench implicit`; `RAYON_NUM_THREADS=1` for one thread.

use burn::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::distributions::{Dirichlet, Distribution, Gamma, Reparameterized, VonMises};
use mcgrad::{NoiseSource, StandardNoise};

/// A tensor of `exp(N(0, 1))` draws and one of `N(0, 1)` weights, from a fixed seed.
fn inputs<const D: usize>(shape: [usize; D], device: &Device) -> (Tensor<D>, Tensor<D>) {
    let mut noise = NoiseSource::seed_from_u64(0);
    let conc = noise.tensor(StandardNoise::Normal, shape, device).exp();
    let w = noise.tensor(StandardNoise::Normal, shape, device);
    (conc, w)
}

fn gamma(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let (alpha, w) = inputs([1024, 100], &device);
    let alpha = alpha.require_grad();
    let rate = Tensor::<2>::ones([1, 1], &device);
    let mut noise = NoiseSource::seed_from_u64(1);
    c.bench_function("gamma_rsample_fwd_bwd_1024x100", |b| {
        b.iter(|| {
            let g = Gamma::new_unchecked(alpha.clone(), rate.clone()).unwrap();
            let z = g.rsample(&mut noise);
            std::hint::black_box((z * w.clone()).sum().backward());
        })
    });
    let inner = alpha.clone().inner();
    c.bench_function("gamma_sample_1024x100", |b| {
        b.iter(|| {
            let g = Gamma::new_unchecked(inner.clone(), rate.clone().inner()).unwrap();
            std::hint::black_box(g.sample(&mut noise));
        })
    });
}

fn dirichlet(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let (alpha, w) = inputs([1024, 10, 10], &device);
    let alpha = alpha.require_grad();
    let mut noise = NoiseSource::seed_from_u64(2);
    c.bench_function("dirichlet_k10_rsample_fwd_bwd_1024x10x10", |b| {
        b.iter(|| {
            let d = Dirichlet::new_unchecked(alpha.clone()).unwrap();
            let z = d.rsample(&mut noise);
            std::hint::black_box((z * w.clone()).sum().backward());
        })
    });
}

fn von_mises(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let (kappa, w) = inputs([1024, 100], &device);
    let kappa = kappa.require_grad();
    let loc = Tensor::<2>::zeros([1024, 100], &device).require_grad();
    let mut noise = NoiseSource::seed_from_u64(3);
    c.bench_function("von_mises_rsample_fwd_bwd_1024x100", |b| {
        b.iter(|| {
            let d = VonMises::new_unchecked(loc.clone(), kappa.clone()).unwrap();
            let z = d.rsample(&mut noise);
            std::hint::black_box((z * w.clone()).sum().backward());
        })
    });
    let (loc, kappa) = (loc.inner(), kappa.inner());
    c.bench_function("von_mises_sample_1024x100", |b| {
        b.iter(|| {
            let d = VonMises::new_unchecked(loc.clone(), kappa.clone()).unwrap();
            std::hint::black_box(d.sample(&mut noise));
        })
    });
}

criterion_group!(benches, gamma, dirichlet, von_mises);
criterion_main!(benches);
