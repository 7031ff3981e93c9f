//! Pathwise estimator benchmarks, matching case (b) of the PyTorch reference script
//! (../shared/peer/torch_bench.py): `z = μ + exp(½·logvar)·ε`, `loss = Σ z·w`, backward, at
//! [1024, 20] and [1024, 200]; and one unbiasedness check of the testing kit.
//!
//! `cargo bench --bench pathwise`; set `RAYON_NUM_THREADS=1` for one thread. The device is
//! named by `MCGRAD_BENCH_DEVICE=flex|wgpu` (default flex).

use burn::prelude::*;
use burn::tensor::Distribution as Init;
use criterion::{Criterion, criterion_group, criterion_main};
use mcgrad::NoiseSource;
use mcgrad::distributions::{Normal, Reparameterized};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::testing::GradientCheck;

fn device() -> Device {
    match std::env::var("MCGRAD_BENCH_DEVICE").as_deref() {
        #[cfg(feature = "wgpu")]
        Ok("wgpu") => Device::wgpu(Default::default()),
        _ => Device::flex(),
    }
}

fn normal_rsample_backward(c: &mut Criterion) {
    let device = device().autodiff();
    for d in [20, 200] {
        let mu = Tensor::<2>::random([1024, d], Init::Normal(0.0, 1.0), &device).require_grad();
        let logvar =
            (Tensor::<2>::random([1024, d], Init::Normal(0.0, 1.0), &device) * 0.1).require_grad();
        let w = Tensor::<2>::random([1024, d], Init::Normal(0.0, 1.0), &device);
        let mut noise = NoiseSource::seed_from_u64(1);
        c.bench_function(&format!("normal_rsample_fwd_bwd_1024x{d}"), |b| {
            b.iter(|| {
                let q = Normal::from_log_scale(mu.clone(), logvar.clone() * 0.5).unwrap();
                let z = q.rsample(&mut noise);
                let grads = (z * w.clone()).sum().backward();
                std::hint::black_box(grads);
            })
        });
        c.bench_function(&format!("normal_rsample_unchecked_fwd_bwd_1024x{d}"), |b| {
            b.iter(|| {
                let q = Normal::new_unchecked(mu.clone(), (logvar.clone() * 0.5).exp()).unwrap();
                let z = q.rsample(&mut noise);
                let grads = (z * w.clone()).sum().backward();
                std::hint::black_box(grads);
            })
        });
    }
}

fn unbiasedness_check(c: &mut Criterion) {
    let device = device();
    let mut group = c.benchmark_group("testing_kit");
    group.sample_size(20);
    group.bench_function("unbiasedness_check_normal_20000_samples", |b| {
        b.iter(|| {
            let samples = GradientCheck::new(20_000)
                .run(&device, &[0.5, 1.5], |t, noise| {
                    let [rows, _] = t.dims();
                    let normal = Normal::new_unchecked(
                        t.clone().slice([0..rows, 0..1]),
                        t.slice([0..rows, 1..2]),
                    )?;
                    Ok(Pathwise
                        .estimate(&normal, 1, noise, |x| (x - 2.0).square().reshape([rows]))?
                        .surrogate)
                })
                .unwrap();
            let report = samples.unbiasedness(&[-3.0, 3.0], 1e-6).unwrap();
            assert!(report.passed());
        })
    });
    group.finish();
}

criterion_group!(benches, normal_rsample_backward, unbiasedness_check);
criterion_main!(benches);
