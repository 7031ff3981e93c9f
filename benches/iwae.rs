//! One training step of the Gaussian VAE of examples/vae (784-400-20 encoder with mean and
//! log-scale heads, 20-400-784 Bernoulli decoder, Adam 1e-3, batch 128) on the importance-
//! weighted bound with k = 50 draws per image, against the same step in PyTorch
//! (benches/torch_iwae.py). A step: gather a batch of MNIST training images, binarize it
//! dynamically, encode, draw 50·128 latents, decode 6400 rows, the bound, backward, Adam.
//!
//! Cases: the standard IWAE gradient (the comparison), DReG (one more decoder forward), and
//! the single-sample ELBO step for scale.
//!
//! `cargo bench --bench iwae`; `RAYON_NUM_THREADS=1` for one thread. As in the examples,
//! denormals are flushed on every worker and large buffers stay in the heap. MNIST is read from `data/mnist` (or `MNIST_DIR`).

use std::io::Read;

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::relu;
use criterion::Criterion;
use mcgrad::distributions::{Bernoulli, Distribution, Normal, sum_per_row};
use mcgrad::estimators::multisample::{
    ImportanceWeighted, InferenceGradient, MultiSampleEstimator,
};
use mcgrad::{NoiseSource, StandardNoise};

const PIXELS: usize = 784;
const BATCH: usize = 128;
const K: usize = 50;
/// `½ ln 2π`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

#[derive(Module, Debug)]
struct Vae {
    encoder: Linear,
    mean: Linear,
    log_scale: Linear,
    decoder_hidden: Linear,
    decoder_out: Linear,
}

impl Vae {
    fn new(device: &Device) -> Self {
        Self {
            encoder: LinearConfig::new(PIXELS, 400).init(device),
            mean: LinearConfig::new(400, 20).init(device),
            log_scale: LinearConfig::new(400, 20).init(device),
            decoder_hidden: LinearConfig::new(20, 400).init(device),
            decoder_out: LinearConfig::new(400, PIXELS).init(device),
        }
    }

    /// `q(z | x)`, `[B, 20]`.
    fn encode(&self, x: Tensor<2>) -> Normal<2> {
        let h = relu(self.encoder.forward(x));
        Normal::new_unchecked(
            self.mean.forward(h.clone()),
            self.log_scale.forward(h).exp(),
        )
        .unwrap()
    }

    /// `ln p(x, z)` for `z` of `k·B` rows (sample-major) and `x` of `B`: the decoder's
    /// Bernoulli log-likelihood (the data broadcast over the k draws, no copy) plus the
    /// standard normal prior.
    fn log_joint(&self, x: &Tensor<2>, z: Tensor<2>) -> Tensor<1> {
        let [rows, latent] = z.dims();
        let [b, _] = x.dims();
        let logits = self
            .decoder_out
            .forward(relu(self.decoder_hidden.forward(z.clone())))
            .reshape([rows / b, b, PIXELS]);
        let pixels = Bernoulli::from_logits_unchecked(logits)
            .unwrap()
            .log_prob(&x.clone().reshape([1, b, PIXELS]))
            .unwrap()
            .sum_dim(2)
            .reshape([rows]);
        let prior = sum_per_row(z.square() * -0.5) - HALF_LN_2PI * latent as f64;
        pixels + prior
    }
}

/// MNIST training intensities in [0, 1], `n × 784`.
fn mnist() -> Vec<f32> {
    let dir = std::env::var("MNIST_DIR").unwrap_or_else(|_| "data/mnist".into());
    let path = std::path::Path::new(&dir).join("train-images-idx3-ubyte.gz");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("MNIST training images"))
        .read_to_end(&mut bytes)
        .expect("a gzip IDX file");
    bytes[16..].iter().map(|&p| p as f32 / 255.0).collect()
}

/// A dynamically binarized batch of random training images.
fn batch(images: &[f32], noise: &mut NoiseSource, device: &Device) -> Tensor<2> {
    use rand::RngExt;
    let n = images.len() / PIXELS;
    let u = noise.vec(StandardNoise::Uniform, BATCH * PIXELS);
    let mut data = Vec::with_capacity(BATCH * PIXELS);
    for row in 0..BATCH {
        let i = noise.rng().random_range(0..n);
        let image = &images[i * PIXELS..(i + 1) * PIXELS];
        data.extend(
            image
                .iter()
                .zip(&u[row * PIXELS..(row + 1) * PIXELS])
                .map(|(&p, &u)| f32::from(u8::from(u < p))),
        );
    }
    Tensor::from_data(TensorData::new(data, [BATCH, PIXELS]), device)
}

/// Flush denormals to zero on this thread (FTZ and DAZ; x86-64 only).
fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | (1 << 15) | (1 << 6));
    }
}

fn steps(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let images = mnist();
    let mut group = c.benchmark_group("vae_train_step_b128");
    group.sample_size(20);
    let cases = [
        ("iwae_k50_standard", K, InferenceGradient::Standard),
        ("iwae_k50_dreg", K, InferenceGradient::Dreg),
        ("elbo_k1", 1, InferenceGradient::Standard),
    ];
    for (name, k, gradient) in cases {
        let objective = ImportanceWeighted::new(k)
            .unwrap()
            .with_gradient(gradient)
            .unwrap();
        let mut model = Some(Vae::new(&device));
        let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
        let mut noise = NoiseSource::seed_from_u64(3);
        group.bench_function(name, |b| {
            b.iter(|| {
                let vae = model.take().unwrap();
                let x = batch(&images, &mut noise, &device);
                let q = vae.encode(x.clone());
                let est = objective
                    .estimate(&q, &mut noise, |z| vae.log_joint(&x, z))
                    .unwrap();
                let grads = GradientsParams::from_grads(est.loss().backward(), &vae);
                model = Some(optimizer.step(1e-3, vae, grads));
            })
        });
    }
    group.finish();
}

/// Keeps freed buffers up to 32 MiB in the heap (glibc), as the examples do: the step's
/// `[6400, 784]` activations (20 MiB) would otherwise come back from the kernel page by page,
/// zero-filled, every step.
fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

fn main() {
    keep_large_buffers();
    flush_denormals();
    let mut pool = rayon::ThreadPoolBuilder::new().start_handler(|_| flush_denormals());
    if let Some(n) = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pool = pool.num_threads(n);
    }
    pool.build_global().expect("the first thread pool");
    let mut c = Criterion::default().configure_from_args();
    steps(&mut c);
    c.final_summary();
}
