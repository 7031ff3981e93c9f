//! Noise generation: each standard law drawn into a [1024, 30, 10] tensor on the device
//! (host generation plus the copy), against case (f) of the PyTorch reference script.
//!
//! `cargo bench --bench noise`.

use burn::prelude::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcgrad::{NoiseSource, StandardNoise};

fn noise(c: &mut Criterion) {
    let device = Device::flex();
    let mut group = c.benchmark_group("noise_1024x30x10");
    group.throughput(Throughput::Elements(1024 * 30 * 10));
    let mut source = NoiseSource::seed_from_u64(0);
    for law in StandardNoise::ALL {
        group.bench_function(format!("{law:?}").to_lowercase(), |b| {
            b.iter(|| std::hint::black_box(source.tensor::<3>(law, [1024, 30, 10], &device)))
        });
    }
    group.finish();
}

criterion_group!(benches, noise);
criterion_main!(benches);
