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
//! **Other objectives and gradients** (`--objective`, `--k`, `--gradient`; the default is the
//! one above). With `w_i = p(x, z_i)/q(z_i | x)` for `k` draws `z_i ~ q`, the importance-weighted
//! bound (IWAE, Burda et al. 2016) `L_k = E[ln (1/k) Σ_i w_i]` lies between the ELBO (`L_1`)
//! and `ln p(x)`, and tightens with `k`; `mcgrad::estimators::multisample::ImportanceWeighted`
//! builds its surrogate, with a switch for the gradient the encoder gets:
//!
//! - `--objective elbo --k K --gradient standard`: the ELBO averaged over `K` draws per image,
//!   KL exact, reconstruction by `Pathwise` (`K = 1` is the default run). Unbiased for ∇ ELBO.
//! - `--objective elbo --gradient stl`: "sticking the landing" (Roeder et al. 2017): the
//!   Monte Carlo ELBO `ln p(x, z) − ln q(z | x)` with `ln q`'s parameters detached, so the
//!   encoder gets only the path through `z` (no score term). Unbiased for ∇ ELBO, and its
//!   variance vanishes as `q` reaches the posterior.
//! - `--objective iwae --k K --gradient standard`: the standard IWAE gradient, unbiased for
//!   ∇ L_K.
//! - `--objective iwae --k K --gradient dreg`: the doubly reparameterized gradient (Tucker et
//!   al. 2019): the encoder's path terms weighted by the squared normalized weights. Unbiased
//!   for the encoder's ∇ L_K, with lower variance that does not degrade as `K` grows.
//! - `--objective iwae --k K --gradient stl`: allowed, but **biased** for ∇ L_K when `K > 1`
//!   (its mean adds the reweighted wake-sleep direction; Tucker et al. 2019); the run says so.
//!
//! The decoder gets the standard, unbiased gradient in every case. DReG with the ELBO and IWAE
//! with `K = 1` are refused (the first is STL, the second the ELBO).
//!
//! **Evaluation.** The single-sample test negative ELBO (`test_neg_elbo_nats`, KL exact), the
//! negated `k`-sample bound `−L_k` (`test_neg_bound_nats`, `k` = `--test-k`: the training `K`,
//! or 5 when it is 1) and an importance-weighted estimate of the negative log-likelihood with
//! many samples (Burda et al. 2016), `−ln (1/k) Σ_i p(x, z_i)/q(z_i | x)`, which approaches
//! `−ln p(x)` as k grows (`test_nll_nats`, `--iw-samples`, 100 by default; Burda et al. use
//! 5000), computed in chunks by `importance_sampled_nll` so that memory stays bounded.
//!
//! **The code.** Read `main` from the top: the options, the data, the model and its
//! optimizer, then the training loop, `for epoch … for batch …`, where the loss is built with
//! the chosen objective and estimator (`Vae::loss`, one `match`) and one optimizer step is
//! written out (`backward`, the gradients of the
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
//! Run: `cargo run --release --features wgpu,ndarray --example vae` (10 epochs: test −ELBO
//! 102.30 nats at seed 0, about 80 s on 2 idle cores), `-- --objective iwae --k 5 --gradient
//! dreg`, or `-- --help` for the options. docs/RESULTS.md compares the objectives and
//! gradients.

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
use mcgrad::estimators::multisample::{
    ImportanceWeighted, InferenceGradient, MultiSampleEstimator, importance_log_weights,
    importance_sampled_nll, importance_weighted_bound,
};
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

/// The options that define the model: a resumed or evaluated run must keep them.
const MODEL_OPTIONS: [&str; 2] = ["latent", "hidden"];

/// The training objective (`--objective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum ObjectiveChoice {
    /// The evidence lower bound, averaged over --k draws per image.
    Elbo,
    /// The importance-weighted bound L_k with --k draws per image (k ≥ 2).
    Iwae,
}

/// The gradient the encoder gets (`--gradient`); the decoder's is always the standard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum GradientChoice {
    /// The plain reparameterized gradient: unbiased for the objective's gradient.
    Standard,
    /// Sticking the landing (ln q with detached parameters): unbiased for the ELBO's
    /// gradient, biased for the IWAE bound's when k > 1.
    Stl,
    /// Doubly reparameterized (IWAE only): unbiased for the IWAE bound's encoder gradient.
    Dreg,
}

/// Command line: the common options, the model's sizes, the objective and its gradient, the
/// evaluation's sample counts.
#[derive(Debug, Parser, serde::Serialize)]
#[command(
    about = "Gaussian VAE on MNIST: the ELBO or the IWAE bound, with the pathwise, \
                   STL or DReG gradient"
)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Latent dimensions.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = cli::size)]
    latent: usize,
    /// Hidden units of the encoder and decoder.
    #[arg(long, default_value_t = 400, value_name = "N", value_parser = cli::size)]
    hidden: usize,
    /// The training objective.
    #[arg(long, value_enum, default_value = "elbo")]
    objective: ObjectiveChoice,
    /// Draws per training image: averaged for elbo, the bound's k for iwae (at least 2).
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = draws)]
    k: usize,
    /// The encoder's gradient estimator (dreg needs --objective iwae).
    #[arg(long, value_enum, default_value = "standard")]
    gradient: GradientChoice,
    /// Draws per test image of the reported k-sample bound [default: --k, or 5 when --k is 1].
    #[arg(long, value_name = "K", value_parser = draws)]
    test_k: Option<usize>,
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

/// From 1 to 1000 draws per image (a training batch holds k·B decoder outputs).
fn draws(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if (1..=1000).contains(&k) => Ok(k),
        _ => Err("must be a whole number from 1 to 1000".into()),
    }
}

/// The training loss, checked from the options: which surrogate `Vae::loss` builds.
#[derive(Debug, Clone, Copy)]
enum Loss {
    /// The ELBO averaged over `k` draws: KL exact, reconstruction by `Pathwise`.
    Elbo { k: usize },
    /// `bound`'s surrogate on `copies` copies of each image's `q`: the IWAE bound (one copy of
    /// the k-sample bound), or the ELBO with STL (`k` copies of the 1-sample bound).
    Bound {
        bound: ImportanceWeighted,
        copies: usize,
    },
}

impl Loss {
    /// The loss of `--objective`, `--k` and `--gradient`; combinations that make no sense are
    /// refused with a message that says what to use instead.
    fn from_args(args: &Args) -> Result<Self, Failure> {
        let k = args.k;
        let gradient = match args.gradient {
            GradientChoice::Standard => InferenceGradient::Standard,
            GradientChoice::Stl => InferenceGradient::StickingTheLanding,
            GradientChoice::Dreg => InferenceGradient::Dreg,
        };
        match (args.objective, args.gradient) {
            (ObjectiveChoice::Elbo, GradientChoice::Standard) => Ok(Loss::Elbo { k }),
            (ObjectiveChoice::Elbo, GradientChoice::Dreg) => Err(Failure::option(
                "--gradient",
                "dreg",
                "DReG is a gradient of the IWAE bound: use it with --objective iwae --k 2 or \
                 more (with the ELBO its squared weights are all 1 and it is --gradient stl)",
            )),
            (ObjectiveChoice::Elbo, GradientChoice::Stl) => Ok(Loss::Bound {
                bound: ImportanceWeighted::elbo().with_gradient(gradient)?,
                copies: k,
            }),
            (ObjectiveChoice::Iwae, _) if k < 2 => Err(Failure::option(
                "--k",
                k,
                "--objective iwae needs --k 2 or more (--k is 1 unless given; the 1-sample IWAE \
                 bound is the ELBO: use --objective elbo for it)",
            )),
            (ObjectiveChoice::Iwae, _) => Ok(Loss::Bound {
                bound: ImportanceWeighted::new(k)?.with_gradient(gradient)?,
                copies: 1,
            }),
        }
    }

    /// What the loss is, for titles and logs.
    fn describe(&self) -> String {
        match self {
            Loss::Elbo { k: 1 } => "ELBO, pathwise".into(),
            Loss::Elbo { k } => format!("ELBO, {k} draws, pathwise"),
            Loss::Bound { bound, copies } if bound.k() == 1 => match copies {
                1 => "ELBO, STL".into(),
                k => format!("ELBO, {k} draws, STL"),
            },
            Loss::Bound { bound, .. } => format!(
                "IWAE k = {}, {}",
                bound.k(),
                match bound.gradient() {
                    InferenceGradient::Dreg => "DReG",
                    InferenceGradient::StickingTheLanding => "STL (biased)",
                    _ => "standard",
                }
            ),
        }
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

    /// `ln p_θ(x, z) = ln p(z) + ln p_θ(x | z)` per row, for `z` with `n·B` rows (sample-major:
    /// row `i·B + b` is a draw for image `b`) and `x` with `B` rows.
    fn log_joint(&self, x: &Tensor<2>, z: Tensor<2>) -> Tensor<1> {
        let prior = Normal::new_unchecked(z.zeros_like(), z.ones_like()).expect("same shapes");
        sum_per_row(prior.log_prob(&z).expect("same shapes")) - self.reconstruction_cost(x, z)
    }

    /// The negative ELBO per image averaged over `k` draws, `[B]`, as a surrogate loss: its
    /// value is the negative ELBO, its gradient the pathwise estimate of the gradient.
    fn neg_elbo(&self, x: Tensor<2>, k: usize, noise: &mut NoiseSource) -> Tensor<1> {
        let q = self.encode(x.clone());
        let prior =
            Normal::new_unchecked(q.loc().zeros_like(), q.loc().ones_like()).expect("same shapes");
        let kl = sum_per_row(kl_divergence(&q, &prior).expect("same shapes"));
        let reconstruction = Pathwise
            .estimate(&q, k, noise, |z| self.reconstruction_cost(&x, z))
            .expect("one cost per row");
        reconstruction.surrogate + kl
    }

    /// The training loss per image, `[B]`: the negated surrogate of the objective chosen on
    /// the command line. Its value is the negative bound, its gradient the chosen estimate.
    fn loss(
        &self,
        x: Tensor<2>,
        loss: Loss,
        noise: &mut NoiseSource,
    ) -> Result<Tensor<1>, Failure> {
        match loss {
            Loss::Elbo { k } => Ok(self.neg_elbo(x, k, noise)),
            Loss::Bound { bound, copies } => {
                // `copies` copies of each image's q (and of the image, in `log_joint`), for
                // the k-draw ELBO with STL; one for the IWAE bound
                let b = x.dims()[0];
                let q = self.encode(x.clone()).replicate(copies);
                let x = x.repeat_dim(0, copies);
                let estimate = bound.estimate(&q, noise, |z| self.log_joint(&x, z))?;
                Ok(estimate
                    .surrogate
                    .reshape([copies, b])
                    .mean_dim(0)
                    .reshape([b])
                    .neg())
            }
        }
    }

    /// Log-weights `ln p(x, z) − ln q(z | x)` of `n` fresh draws per image, `[n, B]`, without
    /// gradient: the input of the evaluation's bounds.
    fn log_weights(&self, x: &Tensor<2>, n: usize, noise: &mut NoiseSource) -> Tensor<2> {
        let q = self.encode(x.clone());
        importance_log_weights(&q, n, noise, |z| self.log_joint(x, z)).expect("shapes match")
    }

    /// The negated `k`-sample bound `−ln (1/k) Σ_i p(x, z_i)/q(z_i | x)` per image, `[B]`.
    fn neg_bound(&self, x: Tensor<2>, k: usize, noise: &mut NoiseSource) -> Tensor<1> {
        importance_weighted_bound(self.log_weights(&x, k, noise))
            .expect("k ≥ 1")
            .neg()
    }

    /// The importance-sampled NLL estimate with `k` draws per image, `[B]`, in chunks of at most
    /// `chunk` draws.
    fn nll(&self, x: Tensor<2>, k: usize, chunk: usize, noise: &mut NoiseSource) -> Tensor<1> {
        let q = self.encode(x.clone());
        importance_sampled_nll(k, chunk, |c| {
            importance_log_weights(&q, c, noise, |z| self.log_joint(&x, z))
        })
        .expect("k ≥ 1, one log-weight per draw")
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
    // The objective and its gradient, checked before any work.
    let loss_choice = Loss::from_args(&args)?;
    let test_k = args.test_k.unwrap_or(if args.k > 1 { args.k } else { 5 });
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
        test_mean(&test, 1000, 777, &device, |x, n| valid.neg_elbo(x, 1, n))
    };
    if !c.eval_only {
        println!("objective: {}", loss_choice.describe());
        if let Loss::Bound { bound, .. } = loss_choice
            && bound.k() > 1
            && bound.gradient() == InferenceGradient::StickingTheLanding
        {
            println!(
                "note: --gradient stl is biased for the gradient of the IWAE bound when k > 1 \
                 (Tucker et al. 2019); --gradient dreg is the unbiased low-variance one"
            );
        }
    }

    // Training: Adam on the surrogate of the chosen objective, up to epoch --epochs.
    let title = title(loss_choice);
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for indices in batches {
            let x = train.batch(indices, &mut noise, &train_device);
            // The loss: the negated objective per image (by default −ELBO, the reconstruction
            // term's gradient estimated by the pathwise estimator, the KL term exact).
            let loss = model.loss(x, loss_choice, &mut noise)?.mean();
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
            .plot(&out, &title, "nats per image", &plotted)?;
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
    // the k-sample bound and the NLL: at most 10 000 draws (decoder outputs) per batch
    let batch = |k: usize| (10_000 / k).max(1);
    let test_neg_bound = test_mean(&test, batch(test_k), 779, &device, |x, n| {
        valid.neg_bound(x, test_k, n)
    });
    let k_nll = args.iw_samples;
    let test_nll = (k_nll > 0).then(|| {
        let chunk = 10_000 / batch(k_nll);
        test_mean(&test, batch(k_nll), 778, &device, |x, n| {
            valid.nll(x, k_nll, chunk, n)
        })
    });
    let mut line =
        format!("test −ELBO {test_neg_elbo:.2} nats, −L_{test_k} {test_neg_bound:.2} nats");
    if let Some(nll) = test_nll {
        line += &format!(", importance-sampled NLL (k = {k_nll}) {nll:.2} nats");
    }
    println!("{line}");
    write_pictures(&valid, &test, &dir, &device, c.seed)?;
    let train_loss = state.history.last("train");
    let elbo_trained = args.objective == ObjectiveChoice::Elbo;
    let figures = json!({
        "test_neg_elbo_nats": test_neg_elbo,
        "test_neg_bound_nats": test_neg_bound,
        "test_k": test_k,
        "test_nll_nats": test_nll,
        "iw_samples": k_nll,
        "objective": args.objective,
        "k": args.k,
        "gradient": args.gradient,
        "train_loss_nats": train_loss,
        "train_neg_elbo_nats": if elbo_trained { train_loss } else { None },
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

/// The curves' title: the example, and the objective unless it is the default.
fn title(loss: Loss) -> String {
    match loss {
        Loss::Elbo { k: 1 } => "Gaussian VAE on MNIST".into(),
        other => format!("Gaussian VAE on MNIST ({})", other.describe()),
    }
}

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
