//! # A Gaussian variational autoencoder on MNIST: the reparameterization trick at work
//!
//! **The model.** A variational autoencoder (Kingma & Welling 2014) explains each binarized
//! MNIST image `x` (784 pixels) by a 20-dimensional latent code `z`. The decoder
//! `p_θ(x | z)` is a 20-400-784 network whose 784 outputs are the logits of independent
//! Bernoulli pixels; the prior is `p(z) = N(0, I)`. The encoder `q_φ(z | x)` is a 784-400
//! network with two heads, the mean μ and the log standard deviation of a diagonal Gaussian.
//!
//! **The objective.** Training maximizes the evidence lower bound (ELBO) averaged over the
//! data,
//!
//! `ELBO(x) = E_{z~q_φ(z|x)}[ln p_θ(x | z)] − KL(q_φ(z | x) ‖ p(z)) ≤ ln p_θ(x)`,
//!
//! or rather minimizes its negation in nats per image. The KL term has a closed form
//! (`mcgrad::kl::kl_divergence` of two `Normal`s). The expectation does not: its gradient with
//! respect to the encoder's φ is what this crate estimates.
//!
//! **The estimator.** `q_φ` is a `Normal`, which implements `Reparameterized`: a sample is
//! `z = μ + σ·ε` with `ε ~ N(0, I)` drawn apart from the parameters, so the gradient flows
//! through μ and σ into the encoder (the *pathwise* estimator, `mcgrad::estimators::Pathwise`).
//! One sample per image is enough: the pathwise estimator's variance is low. The score function
//! would work too, with far more variance; the Gumbel-softmax example (`discrete_vae`) shows
//! what to do when `z` is discrete and no reparameterization exists.
//!
//! **Evaluation.** The single-sample test negative ELBO (`test_neg_elbo_nats`) and an
//! importance-weighted estimate of the negative log-likelihood with k samples (Burda et al.
//! 2016), `−ln (1/k) Σ_i p(x, z_i)/q(z_i | x)`, a tighter bound that approaches `−ln p(x)` as k
//! grows (`test_nll_nats`, k = 100 by default).
//!
//! **What to look at.** In `runs/vae/`: `metrics.json` (test figures, the configuration, wall
//! time, steps per second), `curves.png` (training and test −ELBO per epoch: both fall, the
//! gap stays small), `reconstructions.png` (pairs of rows: test images, then the decoder's
//! pixel probabilities for their encoding: sharp digits with the strokes kept),
//! `samples.png` (decoded draws from the prior: digit-like, somewhat blurry, as is typical of a
//! 20-dimensional VAE), and `model.bpk`, the checkpoint that `--resume` and `--eval-only`
//! load.
//!
//! Run: `cargo run --release --features wgpu --example vae` (10 epochs, about 6 minutes on
//! 2 cores), or `-- --help` for the options.

#[path = "../common/mod.rs"]
mod common;

use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::sum_per_row;
use mcgrad::distributions::{Bernoulli, Distribution, Normal, Reparameterized};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::kl::kl_divergence;
use serde_json::json;

use common::cli::CommonArgs;
use common::mnist::{Binarization, PIXELS, Prepared};
use common::outputs::save_grid;
use common::session::{Outcome, Session, descend, test_mean};

/// Command line: the common options and the model's sizes.
#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "Gaussian VAE on MNIST with the pathwise (reparameterization) estimator")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Latent dimensions.
    #[arg(long, default_value_t = 20)]
    latent: usize,
    /// Hidden units of the encoder and decoder.
    #[arg(long, default_value_t = 400)]
    hidden: usize,
    /// Importance samples per test image for the NLL estimate (0 skips it).
    #[arg(long, default_value_t = 100)]
    iw_samples: usize,
}

// ---------------------------------------------------------------------------------------
// The model: an encoder to (μ, ln σ), a decoder to pixel logits.
// ---------------------------------------------------------------------------------------

#[derive(Module, Debug)]
struct Vae {
    encoder: Linear,
    mean: Linear,
    log_scale: Linear,
    decoder_hidden: Linear,
    decoder_out: Linear,
}

impl Vae {
    fn new(hidden: usize, latent: usize, device: &Device) -> Self {
        Self {
            encoder: LinearConfig::new(PIXELS, hidden).init(device),
            mean: LinearConfig::new(hidden, latent).init(device),
            log_scale: LinearConfig::new(hidden, latent).init(device),
            decoder_hidden: LinearConfig::new(latent, hidden).init(device),
            decoder_out: LinearConfig::new(hidden, PIXELS).init(device),
        }
    }

    /// `q_φ(z | x)`: a diagonal Normal, `[B, latent]`.
    fn encode(&self, x: Tensor<2>) -> Normal<2> {
        let h = relu(self.encoder.forward(x));
        let mean = self.mean.forward(h.clone());
        let log_scale = self.log_scale.forward(h);
        // the encoder's outputs are valid by construction: skip the device sync of the checks
        Normal::new_unchecked(mean, log_scale.exp()).expect("shapes match by construction")
    }

    /// `p_θ(x | z)`: Bernoulli pixels, `[B, 784]`.
    fn decode(&self, z: Tensor<2>) -> Bernoulli<2> {
        let h = relu(self.decoder_hidden.forward(z));
        Bernoulli::from_logits_unchecked(self.decoder_out.forward(h)).expect("never fails")
    }

    /// `−ln p_θ(x | z)` per row, for `z` with `n·B` rows and `x` with `B` rows.
    fn reconstruction_cost(&self, x: &Tensor<2>, z: Tensor<2>) -> Tensor<1> {
        let rows = z.dims()[0];
        let x = x.clone().repeat_dim(0, rows / x.dims()[0]);
        let likelihood = self.decode(z);
        sum_per_row(likelihood.log_prob(&x).expect("shapes match")).neg()
    }

    /// The single-sample negative ELBO per image, `[B]`, as a surrogate loss: its value is
    /// the negative ELBO, its gradient the pathwise estimate of the gradient.
    fn neg_elbo(&self, x: Tensor<2>, noise: &mut NoiseSource) -> Tensor<1> {
        let q = self.encode(x.clone());
        let prior =
            Normal::new_unchecked(q.loc().zeros_like(), q.loc().ones_like()).expect("same shapes");
        let kl = sum_per_row(kl_divergence(&q, &prior).expect("same shapes"));
        let reconstruction = Pathwise
            .estimate(&q, 1, noise, |z| self.reconstruction_cost(&x, z))
            .expect("one cost per row");
        reconstruction.surrogate + kl
    }

    /// The importance-weighted bound with `k` samples per image: `−ln (1/k) Σ p(x, z)/q(z|x)`,
    /// `[B]`.
    fn neg_iwae_bound(&self, x: Tensor<2>, k: usize, noise: &mut NoiseSource) -> Tensor<1> {
        let b = x.dims()[0];
        let q = self.encode(x.clone()).replicate(k);
        let z = q.sample(noise);
        let prior = Normal::new_unchecked(z.zeros_like(), z.ones_like()).expect("same shapes");
        let log_w = sum_per_row(prior.log_prob(&z).expect("shape"))
            - sum_per_row(q.log_prob(&z).expect("shape"))
            - self.reconstruction_cost(&x, z);
        let log_w = log_w.reshape([k, b]);
        let max = log_w.clone().max_dim(0);
        let lse = (log_w - max.clone()).exp().sum_dim(0).log() + max;
        (lse.reshape([b]) - (k as f64).ln()).neg()
    }
}

// ---------------------------------------------------------------------------------------
// Training and evaluation.
// ---------------------------------------------------------------------------------------

fn main() -> Outcome<()> {
    let args = Args::parse();
    let c = &args.common;
    let session = Session::start(c, "vae")?;
    let (epochs, batch, lr) = (
        c.epochs.unwrap_or(10),
        c.batch_size.unwrap_or(128),
        c.lr.unwrap_or(1e-3),
    );

    // Data: dynamic binarization of training batches, the test set binarized once.
    let (train, test) = session.data(Binarization::Dynamic, usize::MAX)?;
    let model = session.restore(Vae::new(args.hidden, args.latent, &session.train_device))?;

    // Training: Adam on the surrogate of the negative ELBO.
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let device = session.device.clone();
    let (model, history) = session.train(
        model,
        &train,
        (epochs, batch),
        &mut noise,
        |model, x, _, noise| {
            let loss = model.neg_elbo(x, noise).mean();
            Ok(descend(&mut optimizer, lr, model, loss))
        },
        |model, _| {
            let valid = model.valid();
            Ok(vec![(
                "test −ELBO",
                test_mean(&test, 1000, 777, &device, |x, n| valid.neg_elbo(x, n)),
            )])
        },
    )?;

    // Evaluation: the single-sample bound and the importance-weighted one; pictures.
    let valid = model.valid();
    let test_neg_elbo = history.figure("test −ELBO")?;
    let test_nll = (args.iw_samples > 0).then(|| {
        test_mean(&test, 100, 778, &device, |x, n| {
            valid.neg_iwae_bound(x, args.iw_samples, n)
        })
    });
    match test_nll {
        Some(nll) => println!(
            "test −ELBO {test_neg_elbo:.2} nats, importance-sampled NLL (k = {}) {nll:.2} nats",
            args.iw_samples
        ),
        None => println!("test −ELBO {test_neg_elbo:.2} nats"),
    }
    write_pictures(&valid, &test, &session.out, &device, c.seed)?;
    session.finish(
        "Gaussian VAE on MNIST",
        "−ELBO, nats per image",
        &["train", "test −ELBO"],
        json!({
            "test_neg_elbo_nats": test_neg_elbo,
            "test_nll_nats": test_nll,
            "iw_samples": args.iw_samples,
            "train_neg_elbo_nats": history.last("train"),
        }),
        &history,
        &args,
    )
}

/// `reconstructions.png` (test images over their reconstructions) and `samples.png` (decoded
/// prior draws).
fn write_pictures(
    model: &Vae,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut noise = NoiseSource::seed_from_u64(seed ^ 0x51);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let q = model.encode(x.clone());
    let recon = sigmoid(model.decode(q.loc().clone()).logits().clone());
    let mut pairs = Vec::new();
    pairs.extend(x.try_into_vec_as::<f32>()?);
    pairs.extend(recon.try_into_vec_as::<f32>()?);
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let latent = q.loc().dims()[1];
    let prior = Normal::new_unchecked(
        Tensor::<2>::zeros([64, latent], device),
        Tensor::<2>::ones([64, latent], device),
    )?;
    let samples = sigmoid(model.decode(prior.rsample(&mut noise)).logits().clone());
    save_grid(
        &out.join("samples.png"),
        &samples.try_into_vec_as::<f32>()?,
        8,
    )?;
    Ok(())
}
