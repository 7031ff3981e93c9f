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
//! **The code.** Read `main` from the top: the options, the data, the model and its
//! optimizer, then the training loop, `for epoch … for batch …`, where the loss is built with
//! the estimator and one optimizer step is written out (`backward`, the gradients of the
//! model's parameters, `optimizer.step`), as in Burn's custom-training-loop example. After
//! every epoch the test set is evaluated and a checkpoint written. `examples/common/` only holds
//! the helpers the loop calls (options, MNIST, progress bar, metrics and pictures, checkpoints).
//!
//! **What to look at.** In `runs/vae/`: `metrics.json` (test figures, the configuration, wall
//! time, steps per second), `history.json` (the curves), `curves.png` (training and test −ELBO
//! per epoch: both fall, the gap stays small), `reconstructions.png` (pairs of rows: test
//! images, then the decoder's pixel probabilities for their encoding: sharp digits with the
//! strokes kept), `samples.png` (decoded draws from the prior: digit-like, somewhat blurry, as
//! is typical of a 20-dimensional VAE), `model.bpk` (the weights) and `checkpoint/`, which
//! `--resume` continues (docs/EXAMPLES.md lists what it restores). `--eval-only` evaluates
//! `model.bpk` and writes to `runs/vae/eval/`.
//!
//! Run: `cargo run --release --features wgpu --example vae` (10 epochs: test −ELBO 102.31
//! nats at seed 0, 76 s on 2 cores), or `-- --help` for the options.

#[path = "../common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, Distribution, Normal, Reparameterized, sum_per_row};
use mcgrad::estimators::{Estimator, Pathwise};
use mcgrad::kl::kl_divergence;
use serde_json::json;

use common::checkpoint::{self, TrainingState};
use common::cli::{self, CommonArgs};
use common::data;
use common::failure::{Failure, exit_with};
use common::metrics::{test_mean, write_metrics};
use common::mnist::{self, Binarization, PIXELS, Prepared};
use common::pictures::{pixels, save_grid};
use common::progress::Progress;

const EXAMPLE: &str = "vae";

/// Command line: the common options and the model's sizes.
/// The options that define the model: a resumed or evaluated run must keep them.
const MODEL_OPTIONS: [&str; 2] = ["latent", "hidden"];

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "Gaussian VAE on MNIST with the pathwise (reparameterization) estimator")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Latent dimensions.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = cli::size)]
    latent: usize,
    /// Hidden units of the encoder and decoder.
    #[arg(long, default_value_t = 400, value_name = "N", value_parser = cli::size)]
    hidden: usize,
    /// Importance samples per test image for the NLL estimate (0 skips it).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = iw_samples)]
    iw_samples: usize,
}

/// From 0 to 100 000 importance samples.
fn iw_samples(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if k <= 100_000 => Ok(k),
        _ => Err("must be a whole number from 0 to 100000".into()),
    }
}

// ---------------------------------------------------------------------------------------
// The model: an encoder to (μ, ln σ), a decoder to pixel logits.
// ---------------------------------------------------------------------------------------

/// The sizes of the VAE; `init` builds it.
#[derive(Config, Debug)]
struct VaeConfig {
    /// Latent dimensions.
    #[config(default = 20)]
    latent: usize,
    /// Hidden units of the encoder and decoder.
    #[config(default = 400)]
    hidden: usize,
}

#[derive(Module, Debug)]
struct Vae {
    encoder: Linear,
    mean: Linear,
    log_scale: Linear,
    decoder_hidden: Linear,
    decoder_out: Linear,
}

impl VaeConfig {
    fn init(&self, device: &Device) -> Vae {
        Vae {
            encoder: LinearConfig::new(PIXELS, self.hidden).init(device),
            mean: LinearConfig::new(self.hidden, self.latent).init(device),
            log_scale: LinearConfig::new(self.hidden, self.latent).init(device),
            decoder_hidden: LinearConfig::new(self.latent, self.hidden).init(device),
            decoder_out: LinearConfig::new(self.hidden, PIXELS).init(device),
        }
    }
}

impl Vae {
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

fn main() -> ExitCode {
    let args: Args = cli::parse(|command| {
        let command = cli::default(command, "epochs", "10");
        let command = cli::default(command, "batch_size", "128");
        cli::default(command, "lr", "0.001")
    });
    exit_with(|| run(args))
}

fn run(args: Args) -> Result<(), Failure> {
    let c = &args.common;
    let started = Instant::now();
    // The run's folder (writable; an earlier run in it is never replaced unasked) and the
    // device, checked before any work.
    let out = checkpoint::prepare_out_dir(c, EXAMPLE)?;
    let device = c.device()?;

    // Data: training batches binarized afresh each time they are drawn (dynamic), the test
    // set binarized once.
    let (train, test) = data::splits(c, EXAMPLE, Binarization::Dynamic)?;

    // Model, optimizer and the noise stream of training (batches, binarization, samples).
    // Burn's parameter initializers draw from the device's generator, seeded here.
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let config = VaeConfig::new()
        .with_latent(args.latent)
        .with_hidden(args.hidden);
    let mut model = config.init(&train_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let mut state = TrainingState::new(EXAMPLE, c.seed, &args);
    if c.resume {
        let resumed = checkpoint::resume(&out, model, optimizer, &args, &MODEL_OPTIONS)?;
        (model, optimizer) = (resumed.model, resumed.optimizer);
        (noise, state) = (resumed.noise, resumed.state);
    }
    if c.eval_only {
        let (trained, saved) = checkpoint::load_trained(&out, model, &args, &MODEL_OPTIONS)?;
        model = trained;
        state = saved.unwrap_or(state);
    }
    let evaluate = |model: &Vae| {
        let valid = model.valid();
        test_mean(&test, 1000, 777, &device, |x, n| valid.neg_elbo(x, n))
    };

    // Training: Adam on the surrogate of the negative ELBO, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for indices in batches {
            let x = train.batch(indices, &mut noise, &train_device);
            // The loss: −ELBO per image, the reconstruction term's gradient estimated by the
            // pathwise estimator, the KL term exact.
            let loss = model.neg_elbo(x, &mut noise).mean();
            let value = loss.clone().detach();
            // One optimizer step: gradients of the loss, those of the model's parameters,
            // the update.
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(c.lr, model, grads);
            progress.step(value)?; // a loss that is not finite stops the run here
        }
        let (train_loss, steps, elapsed) = progress.finish();
        let figures = [("train", train_loss), ("test −ELBO", evaluate(&model))];
        let total = state.steps() + steps;
        let seconds = elapsed.as_secs_f64();
        state
            .history
            .end_epoch(epoch, &figures, total, seconds, steps)?;
        state.epoch = epoch;
        checkpoint::save(&out, &model, &optimizer, &noise, &mut state)?;
        state.history.write(&out, EXAMPLE)?;
        let plotted = ["train", "test −ELBO"];
        state
            .history
            .plot(&out, TITLE, "−ELBO, nats per image", &plotted)?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + seconds);
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Evaluation: the single-sample bound and the importance-weighted one; pictures. A run
    // that trained no epoch writes them to eval/, leaving the training run's files alone.
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let valid = model.valid();
    let test_neg_elbo = match state.history.last("test −ELBO") {
        Some(v) if epochs_now > 0 => v,
        _ => evaluate(&model),
    };
    let test_nll = (args.iw_samples > 0).then(|| {
        // at most 10 000 samples per batch: `k` images' worth of decoder outputs
        let batch = (10_000 / args.iw_samples).max(1);
        test_mean(&test, batch, 778, &device, |x, n| {
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
    write_pictures(&valid, &test, &dir, &device, c.seed)?;
    let figures = json!({
        "test_neg_elbo_nats": test_neg_elbo,
        "test_nll_nats": test_nll,
        "iw_samples": args.iw_samples,
        "train_neg_elbo_nats": state.history.last("train"),
    });
    let wall = started.elapsed().as_secs_f64();
    write_metrics(
        &dir,
        EXAMPLE,
        figures,
        &state.history,
        wall,
        epochs_now == 0,
        &args,
        &device,
    )?;
    println!("wrote {} ({wall:.0} s)", dir.display());
    Ok(())
}

const TITLE: &str = "Gaussian VAE on MNIST";

/// `reconstructions.png` (test images over their reconstructions) and `samples.png` (decoded
/// prior draws).
fn write_pictures(
    model: &Vae,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
    seed: u64,
) -> Result<(), Failure> {
    let mut noise = NoiseSource::seed_from_u64(seed ^ 0x51);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let q = model.encode(x.clone());
    let recon = sigmoid(model.decode(q.loc().clone()).logits().clone());
    let mut pairs = pixels(x);
    pairs.extend(pixels(recon));
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let latent = q.loc().dims()[1];
    let prior = Normal::new_unchecked(
        Tensor::<2>::zeros([64, latent], device),
        Tensor::<2>::ones([64, latent], device),
    )?;
    let samples = sigmoid(model.decode(prior.rsample(&mut noise)).logits().clone());
    save_grid(&out.join("samples.png"), &pixels(samples), 8)
}
