//! # A Dirichlet VAE on MNIST: a simplex latent trained by implicit reparameterization
//!
//! **The model.** A topic-model-style autoencoder: each binarized MNIST image `x` is explained
//! by a point `z` of the probability simplex of `K` components (`--topics`, 20 by default),
//! the image's mixture of "topics". The prior is a symmetric, sparse Dirichlet,
//! `p(z) = Dir(α₀, …, α₀)` with `α₀ = 0.3 < 1` (`--prior-concentration`): most of its mass lies
//! near the simplex's vertices and edges, so an image is asked to use few topics. The encoder
//! `q_φ(z | x) = Dir(α_φ(x))` is a 784-400-K network whose K outputs pass through a softplus
//! (plus a floor of 1e-3, and at most 1e4: the range where the sampler's gradient is accurate)
//! to give the concentrations. The decoder `p_θ(x | z)` is a K-400-784 network whose outputs
//! are the logits of independent Bernoulli pixels. It reads `K·z`, so that the simplex's centre
//! is the all-ones input: fed `z` itself (components near 1/K) through weights initialized for
//! unit inputs, it starts nearly constant and trains slowly (test −ELBO 156 nats after 3 epochs
//! instead of 123). Each vertex `e_k` of the simplex (one pure topic) decodes to an image: the
//! topic's prototype.
//!
//! **The objective.** The evidence lower bound in nats per image, negated,
//!
//! `−ELBO(x) = E_{z~q_φ(z|x)}[−ln p_θ(x | z)] + KL(Dir(α_φ(x)) ‖ Dir(α₀))`,
//!
//! with the KL in closed form (`mcgrad::kl::kl_divergence` of two `Dirichlet`s) and the
//! expectation estimated from one draw per image.
//!
//! **The estimator.** A Dirichlet draw is `z = G/Σ_k G_k` with `G_k ~ Gamma(α_k, 1)`, and a
//! Gamma is drawn by rejection (Marsaglia–Tsang): there is no `z = g(α, ε)` to differentiate,
//! which is why the classic reparameterization trick does not apply. `mcgrad::distributions::
//! Dirichlet` implements `Reparameterized` all the same, by *implicit* reparameterization
//! (Figurnov, Mohamed & Mnih 2018): `∂G/∂α = −(∂F(G; α)/∂α) / p(G; α)` from the Gamma CDF `F`,
//! then the softmax's Jacobian. So `mcgrad::estimators::Pathwise` works on it exactly as on a
//! `Normal` (the `vae` example): the reconstruction term's gradient flows through the draw
//! into the encoder's concentrations. The alternatives were the score function (high variance)
//! or a Gaussian softmax (logistic-normal) latent standing in for the Dirichlet.
//!
//! **Evaluation.** The single-sample test −ELBO (`test_neg_elbo_nats`), its KL part
//! (`test_kl_nats`), and an importance-weighted estimate of the negative log-likelihood with
//! `k` samples per image (Burda et al. 2016), `−ln (1/k) Σ_i p(x | z_i) p(z_i)/q(z_i | x)`
//! (`test_nll_nats`, k = 100 by default), with every density computed from `ln z`
//! (`Dirichlet::log_rsample`), exact even where a sparse draw's components fall below the
//! `f32` range. How the topics are used: `topic_perplexity`, `exp` of the entropy of the test
//! set's mean topic weights (K if every topic is used equally, 1 if one topic explains every
//! image); `mean_largest_weight`, the mean over test images of their largest posterior-mean
//! weight (1 for images on a vertex); `cluster_accuracy`, how often an image's strongest topic
//! names its digit when each topic is read as the digit most of its images show (labels are used
//! only here, never in training).
//!
//! **The code.** Read `main` from the top: the options, the data, the model (a `Config` whose
//! `init` builds it) and Adam, then the training loop, `for epoch … for batch …`, with the loss
//! built by the estimator and the optimizer step written out, as in Burn's
//! custom-training-loop example. `examples/common/` only holds the helpers the loop calls.
//!
//! **What to look at.** In `runs/dirichlet_vae/`: `metrics.json` (the figures above, the
//! configuration, times), `history.json`, `curves.png` (training and test −ELBO per epoch),
//! `reconstructions.png` (pairs of rows: test images, then the decoder's pixel probabilities
//! at the posterior mean `α/Σα`), `topics.png` (the decoder's image at each vertex of the
//! simplex, one per topic: mostly digit prototypes), `samples.png` (decoded
//! draws from the sparse prior), `model.bpk` and `checkpoint/` (for `--resume`); `--eval-only`
//! evaluates `model.bpk` into `runs/dirichlet_vae/eval/`.
//!
//! Run: `cargo run --release --features wgpu,ndarray --example dirichlet_vae` (10 epochs: test −ELBO
//! 109.66 nats, importance-weighted NLL 103.63, all 20 topics in use, at seed 0; about 4
//! minutes on a busy 2-core machine; docs/RESULTS.md has more), or `-- --help` for the
//! options. A sparser prior (`--prior-concentration 0.1`) switches about half the topics off.
//!
//! References: Figurnov, Mohamed & Mnih, *Implicit reparameterization gradients*, NeurIPS
//! 2018 (§3, and §5's Dirichlet latents); Joo, Lee, Park & Moon, *Dirichlet variational
//! autoencoder*, Pattern Recognition 2020 (a Dirichlet latent on MNIST); Srivastava & Sutton,
//! *Autoencoding variational inference for topic models*, ICLR 2017 (the topic-model view).

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softplus};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::{Bernoulli, Dirichlet, Distribution, Mean, sum_per_row};
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

const EXAMPLE: &str = "dirichlet_vae";

/// The encoder's concentrations lie in [`MIN_CONCENTRATION`, `MAX_CONCENTRATION`]: the range
/// over which the Gamma sampler's implicit gradient is documented accurate (1e-3 to 1e4).
const MIN_CONCENTRATION: f64 = 1e-3;
const MAX_CONCENTRATION: f64 = 1e4;

/// The options that define the model: a resumed or evaluated run must keep them.
const MODEL_OPTIONS: [&str; 3] = ["topics", "hidden", "prior_concentration"];

/// Command line: the common options, the model's sizes and the prior.
#[derive(Debug, Parser, serde::Serialize)]
#[command(
    about = "Dirichlet-latent VAE (a topic model of MNIST) with the pathwise estimator through \
             implicit reparameterization"
)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Components K of the Dirichlet latent (topics).
    #[arg(long, default_value_t = 20, value_name = "K", value_parser = topics)]
    topics: usize,
    /// Hidden units of the encoder and decoder.
    #[arg(long, default_value_t = 400, value_name = "N", value_parser = cli::size)]
    hidden: usize,
    /// Concentration α₀ of the symmetric Dirichlet prior (below 1: sparse).
    #[arg(long, default_value_t = 0.3, value_name = "X", value_parser = concentration)]
    prior_concentration: f64,
    /// Importance samples per test image for the NLL estimate (0 skips it).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = iw_samples)]
    iw_samples: usize,
}

/// From 2 to 1000 topics (one component is a point mass: no latent at all).
fn topics(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if (2..=1000).contains(&k) => Ok(k),
        _ => Err("must be a whole number from 2 to 1000".into()),
    }
}

/// A concentration in [1e-3, 1e4], the range where the sampler's gradient is accurate.
fn concentration(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(a) if (MIN_CONCENTRATION..=MAX_CONCENTRATION).contains(&a) => Ok(a),
        _ => Err("must be a number from 0.001 to 10000".into()),
    }
}

/// From 0 to 100 000 importance samples.
fn iw_samples(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if k <= 100_000 => Ok(k),
        _ => Err("must be a whole number from 0 to 100000".into()),
    }
}

// ---------------------------------------------------------------------------------------
// The model: an encoder to Dirichlet concentrations, a decoder from the simplex to pixels.
// ---------------------------------------------------------------------------------------

/// The sizes of the Dirichlet VAE; `init` builds it.
#[derive(Config, Debug)]
struct DirichletVaeConfig {
    /// Components of the latent (topics).
    #[config(default = 20)]
    topics: usize,
    /// Hidden units of the encoder and decoder.
    #[config(default = 400)]
    hidden: usize,
}

#[derive(Module, Debug)]
struct DirichletVae {
    encoder: Linear,
    concentration: Linear,
    decoder_hidden: Linear,
    decoder_out: Linear,
}

impl DirichletVaeConfig {
    fn init(&self, device: &Device) -> DirichletVae {
        DirichletVae {
            encoder: LinearConfig::new(PIXELS, self.hidden).init(device),
            concentration: LinearConfig::new(self.hidden, self.topics).init(device),
            decoder_hidden: LinearConfig::new(self.topics, self.hidden).init(device),
            decoder_out: LinearConfig::new(self.hidden, PIXELS).init(device),
        }
    }
}

impl DirichletVae {
    /// `q_φ(z | x)`: a Dirichlet per image, concentrations `[B, K]`, `softplus(·) + 1e-3`,
    /// at most 1e4.
    fn encode(&self, x: Tensor<2>) -> Dirichlet<2> {
        let h = relu(self.encoder.forward(x));
        let alpha = softplus(self.concentration.forward(h), 1.0)
            .add_scalar(MIN_CONCENTRATION)
            .clamp_max(MAX_CONCENTRATION);
        // positive by construction: skip the device sync of the value check
        Dirichlet::new_unchecked(alpha).expect("K ≥ 2 by the option's check")
    }

    /// `p_θ(x | z)`: Bernoulli pixels, `[R, 784]`, for points `z` of the simplex `[R, K]`
    /// (read as `K·z`, the centre of the simplex as all ones).
    fn decode(&self, z: Tensor<2>) -> Bernoulli<2> {
        let k = z.dims()[1] as f64;
        let h = relu(self.decoder_hidden.forward(z.mul_scalar(k)));
        Bernoulli::from_logits_unchecked(self.decoder_out.forward(h)).expect("never fails")
    }

    /// `−ln p_θ(x | z)` per row, for `z` with `n·B` rows and `x` with `B` rows.
    fn reconstruction_cost(&self, x: &Tensor<2>, z: Tensor<2>) -> Tensor<1> {
        let rows = z.dims()[0];
        let x = x.clone().repeat_dim(0, rows / x.dims()[0]);
        sum_per_row(self.decode(z).log_prob(&x).expect("shapes match")).neg()
    }

    /// The single-sample negative ELBO per image, `[B]`, as a surrogate loss: its value is the
    /// negative ELBO, its gradient the pathwise estimate (implicit reparameterization) plus the
    /// exact gradient of the KL.
    fn neg_elbo(&self, x: Tensor<2>, prior: f64, noise: &mut NoiseSource) -> Tensor<1> {
        let q = self.encode(x.clone());
        let kl = kl_to_prior(&q, prior);
        let reconstruction = Pathwise
            .estimate(&q, 1, noise, |z| self.reconstruction_cost(&x, z))
            .expect("one cost per row");
        reconstruction.surrogate + kl
    }

    /// The importance-weighted bound with `k` samples per image,
    /// `−ln (1/k) Σ_i p(x | z_i) p(z_i)/q(z_i | x)`, `[B]`.
    fn neg_iwae_bound(
        &self,
        x: Tensor<2>,
        k: usize,
        prior: f64,
        noise: &mut NoiseSource,
    ) -> Tensor<1> {
        let b = x.dims()[0];
        let q = self.encode(x.clone()).replicate(k);
        // ln z exactly, even for components below f32's smallest normal number
        let ln_z = q.log_rsample(noise);
        let p = symmetric_dirichlet(&ln_z, prior);
        let log_w = log_density_from_logs(&p, &ln_z)
            - log_density_from_logs(&q, &ln_z)
            - self.reconstruction_cost(&x, ln_z.exp());
        let log_w = log_w.reshape([k, b]);
        let max = log_w.clone().max_dim(0);
        let lse = (log_w - max.clone()).exp().sum_dim(0).log() + max;
        (lse.reshape([b]) - (k as f64).ln()).neg()
    }
}

/// The prior `Dir(α₀, …, α₀)` in the shape of `like`, `[R, K]`.
fn symmetric_dirichlet(like: &Tensor<2>, alpha: f64) -> Dirichlet<2> {
    Dirichlet::new_unchecked(Tensor::full(like.dims(), alpha, &like.device()))
        .expect("K ≥ 2 by the option's check")
}

/// `KL(q ‖ Dir(α₀))` per image, `[B]`, in closed form.
fn kl_to_prior(q: &Dirichlet<2>, prior: f64) -> Tensor<1> {
    let p = symmetric_dirichlet(q.concentration(), prior);
    sum_per_row(kl_divergence(q, &p).expect("same shapes"))
}

/// `ln d(z)` per row, `[R]`, from `ln z` `[R, K]`: exact where components of `z` are below the
/// `f32` range (where `d.log_prob(z)` sees them clamped). The density's normalizer comes from
/// `log_prob` at the simplex's centre `c = (1/K, …)`:
/// `ln d(z) = ln d(c) + Σ_k (α_k − 1)(ln z_k − ln c_k)`.
fn log_density_from_logs(d: &Dirichlet<2>, ln_z: &Tensor<2>) -> Tensor<1> {
    let [r, k] = ln_z.dims();
    let centre = Tensor::full([r, k], 1.0 / k as f64, &ln_z.device());
    let at_centre = d.log_prob(&centre).expect("same shapes").reshape([r]);
    let tilt = d.concentration().clone().sub_scalar(1.0) * ln_z.clone().add_scalar((k as f64).ln());
    at_centre + sum_per_row(tilt)
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
    // The run's folder (an earlier run in it is never replaced unasked) and the device,
    // checked before any work.
    let out = checkpoint::prepare_out_dir(c, EXAMPLE)?;
    let device = c.device()?;
    let prior = args.prior_concentration;

    // Data: training batches binarized afresh each time they are drawn, the test set once.
    let (train, test) = data::splits(c, EXAMPLE, Binarization::Dynamic)?;

    // Model, optimizer and the noise stream of training (batches, binarization, Dirichlet
    // draws). Burn's parameter initializers draw from the device's generator, seeded here.
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let config = DirichletVaeConfig::new()
        .with_topics(args.topics)
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
    let evaluate = |model: &DirichletVae| {
        let valid = model.valid();
        test_mean(&test, 1000, 777, &device, |x, n| {
            valid.neg_elbo(x, prior, n)
        })
    };

    // Training: Adam on the surrogate of the negative ELBO, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for indices in batches {
            let x = train.batch(indices, &mut noise, &train_device);
            // The loss: −ELBO per image, the reconstruction term's gradient by the pathwise
            // estimator through the Dirichlet's implicit reparameterization, the KL exact.
            let loss = model.neg_elbo(x, prior, &mut noise).mean();
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
            .plot(&out, &title(&args), "−ELBO, nats per image", &plotted)?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + seconds);
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Evaluation: the bounds, the KL, how the topics are used; pictures. A run that trained no
    // epoch writes them to eval/, leaving the training run's files alone.
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let valid = model.valid();
    let test_neg_elbo = match state.history.last("test −ELBO") {
        Some(v) if epochs_now > 0 => v,
        _ => evaluate(&model),
    };
    let test_kl = test_mean(&test, 1000, 779, &device, |x, _| {
        kl_to_prior(&valid.encode(x), prior)
    });
    let test_nll = (args.iw_samples > 0).then(|| {
        // at most 10 000 samples per batch: `k` images' worth of decoder outputs
        let batch = (10_000 / args.iw_samples).max(1);
        test_mean(&test, batch, 778, &device, |x, n| {
            valid.neg_iwae_bound(x, args.iw_samples, prior, n)
        })
    });
    let usage = topic_usage(&valid, &test, &device);
    match test_nll {
        Some(nll) => println!(
            "test −ELBO {test_neg_elbo:.2} nats (KL {test_kl:.2}), importance-sampled NLL (k = {}) \
             {nll:.2} nats",
            args.iw_samples
        ),
        None => println!("test −ELBO {test_neg_elbo:.2} nats (KL {test_kl:.2})"),
    }
    println!(
        "topics: perplexity {:.2} of {}, mean largest weight {:.3}, cluster accuracy {:.3}",
        usage.perplexity, args.topics, usage.mean_largest_weight, usage.cluster_accuracy
    );
    write_pictures(&valid, &test, &dir, &device, prior, c.seed)?;
    let figures = json!({
        "test_neg_elbo_nats": test_neg_elbo,
        "test_kl_nats": test_kl,
        "test_nll_nats": test_nll,
        "iw_samples": args.iw_samples,
        "train_neg_elbo_nats": state.history.last("train"),
        "topic_perplexity": usage.perplexity,
        "mean_largest_weight": usage.mean_largest_weight,
        "cluster_accuracy": usage.cluster_accuracy,
        "topic_weights": usage.weights,
        "topic_digits": usage.digits,
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

fn title(args: &Args) -> String {
    format!(
        "Dirichlet VAE on MNIST (K = {}, prior α₀ = {})",
        args.topics, args.prior_concentration
    )
}

/// How the test set uses the topics, from the posterior means `E_q[z] = α/Σα`.
struct TopicUsage {
    /// The mean weight of each topic over the test set, `K` values summing to 1.
    weights: Vec<f64>,
    /// `exp` of the entropy of `weights`: from 1 (one topic for everything) to K.
    perplexity: f64,
    /// The mean over test images of their largest weight.
    mean_largest_weight: f64,
    /// The digit most of each topic's images show (an image belongs to its strongest topic);
    /// `None` for a topic no image chose.
    digits: Vec<Option<u8>>,
    /// The fraction of test images whose strongest topic's digit is their own.
    cluster_accuracy: f64,
}

fn topic_usage(model: &DirichletVae, test: &Prepared, device: &Device) -> TopicUsage {
    let mut noise = NoiseSource::seed_from_u64(780);
    let indices: Vec<usize> = (0..test.len()).collect();
    let mut means = Vec::with_capacity(test.len());
    let mut k = 0;
    for chunk in indices.chunks(1000) {
        let q = model.encode(test.batch(chunk, &mut noise, device));
        k = q.concentration().dims()[1];
        means.extend(pixels(q.mean()));
    }
    let n = test.len();
    let mut weights = vec![0.0f64; k];
    let mut largest = 0.0;
    let mut strongest = Vec::with_capacity(n);
    for row in means.chunks(k) {
        for (w, &m) in weights.iter_mut().zip(row) {
            *w += m as f64 / n as f64;
        }
        let (top, &max) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("K ≥ 2");
        largest += max as f64 / n as f64;
        strongest.push(top);
    }
    let entropy: f64 = weights
        .iter()
        .filter(|&&w| w > 0.0)
        .map(|&w| -w * w.ln())
        .sum();
    // each topic's majority digit
    let mut counts = vec![[0usize; 10]; k];
    for (&t, &label) in strongest.iter().zip(test.labels()) {
        counts[t][label as usize] += 1;
    }
    let digits: Vec<Option<u8>> = counts
        .iter()
        .map(|c| {
            let (d, &most) = c.iter().enumerate().max_by_key(|&(_, n)| *n).expect("10");
            (most > 0).then_some(d as u8)
        })
        .collect();
    let right: usize = counts
        .iter()
        .map(|c| c.iter().max().copied().unwrap_or(0))
        .sum();
    TopicUsage {
        weights,
        perplexity: entropy.exp(),
        mean_largest_weight: largest,
        digits,
        cluster_accuracy: right as f64 / n as f64,
    }
}

/// `reconstructions.png` (test images over their reconstructions at the posterior mean),
/// `topics.png` (the decoder's image at each vertex of the simplex) and `samples.png` (decoded
/// draws from the prior).
fn write_pictures(
    model: &DirichletVae,
    test: &Prepared,
    out: &Path,
    device: &Device,
    prior: f64,
    seed: u64,
) -> Result<(), Failure> {
    let mut noise = NoiseSource::seed_from_u64(seed ^ 0x51);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let q = model.encode(x.clone());
    let k = q.concentration().dims()[1];
    let recon = sigmoid(model.decode(q.mean()).logits().clone());
    let mut pairs = pixels(x);
    pairs.extend(pixels(recon));
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let vertices = Tensor::<2>::eye(k, device);
    let topics = sigmoid(model.decode(vertices).logits().clone());
    save_grid(&out.join("topics.png"), &pixels(topics), k.min(10))?;
    let p = symmetric_dirichlet(&Tensor::<2>::zeros([64, k], device), prior);
    let samples = sigmoid(model.decode(p.sample(&mut noise)).logits().clone());
    save_grid(&out.join("samples.png"), &pixels(samples), 8)
}
