//! # A categorical VAE on MNIST: gradients through discrete choices
//!
//! **The model.** As in Jang et al. (2017, §4.2), each binarized MNIST image is explained by
//! 30 categorical latent variables of 10 classes each, `z = (z_1, …, z_30)` with every `z_l` a
//! one-hot vector. The encoder (784-512-256-300, ReLU) outputs 30 × 10 logits of
//! `q_φ(z | x)`; the decoder (300-256-512-784) maps the 30 one-hot vectors, flattened, to
//! Bernoulli pixel logits; the prior is uniform over the 10^30 codes.
//!
//! **The objective.** The negative ELBO, `E_q[−ln p_θ(x | z)] + KL(q_φ(z | x) ‖ uniform)`, in
//! nats per image; the KL is a sum of 30 closed-form categorical KLs.
//!
//! **The estimator is the point.** `z` is discrete: there is no `z = g_φ(ε)` to differentiate,
//! so the reparameterization of the Gaussian VAE (`vae` example) does not apply, and this
//! crate will not compile `Pathwise` on a `OneHotCategorical`. Choose with `--estimator`:
//!
//! - `gumbel-softmax` (default): replace `z` by its Concrete relaxation
//!   `softmax((ℓ + g)/τ)` and differentiate through it (`GumbelSoftmax`). Biased (the decoder
//!   is trained on relaxed codes), low variance. τ anneals as `max(0.5, exp(−3e-5·step))`.
//! - `st-gumbel`: straight-through Gumbel-softmax: one-hot `z` forward, relaxed gradient
//!   backward. The decoder sees true one-hot codes.
//! - `st`: the plain straight-through estimator (one-hot forward, gradient of the
//!   probabilities backward).
//! - `reinforce-rloo`: the score function with the leave-one-out baseline and `--samples`
//!   draws per image: unbiased, higher variance, no relaxation at all.
//! - `reinmax` (Liu et al. 2023): one-hot `z` forward; backward, straight-through corrected to
//!   second order (Heun's method) with the softmax at the fixed temperature `--reinmax-tau`
//!   (default 1, the paper's method; the τ schedule is not used). Less biased than ST.
//! - `gumbel-rao` (Paulus et al. 2021): ST Gumbel-softmax at the annealed τ, its backward pass
//!   averaged over `--rao-draws` Gumbel draws given the sampled code: the bias of ST
//!   Gumbel-softmax, less variance.
//! - `decoupled-st` (Shah et al. 2024): ST Gumbel-softmax with one temperature for the draw
//!   (`--tau-forward`: how random the codes are; 1 draws from `q` itself) and another for the
//!   gradient (`--tau-backward`: how it spreads over the classes); the τ schedule is not used.
//!   Both default to 1, where it is ST Gumbel-softmax at τ = 1: the pair is to be tuned.
//! - `vimco` (Mnih & Rezende 2016): a different objective, the `k`-sample importance-weighted
//!   bound `L_k = E[ln (1/k) Σ_i p(x, z_i)/q(z_i | x)]` (`--k`, default 5), whose gradient is
//!   the score function with a leave-one-out baseline per draw: unbiased, no relaxation. Its
//!   log-weights contain `ln p(z) − ln q(z | x)`, so the KL is not added separately.
//!
//! **Evaluation.** `test_neg_elbo_nats` is the honest figure: the single-sample negative ELBO
//! with *discrete* one-hot codes drawn from `q`. `test_relaxed_objective_nats` is the training
//! objective on the test set at the final temperature (for `gumbel-softmax` it is computed on
//! relaxed codes, and is lower than the discrete figure: the gap is the relaxation's bias).
//! For `vimco` the training objective is the negated `k`-sample bound, `−L_k`, reported as
//! `test_neg_iwae_bound_nats` (`L_1` is the ELBO; `L_k` is tighter, so `−L_k` is lower than
//! the −ELBO of the same model, in expectation).
//!
//! **The code.** `main` reads from the top: options, data, model and optimizer, then the loop
//! `for epoch … for batch …`: the temperature of the step, the loss built by the chosen
//! estimator (one `match` over `EstimatorChoice` in `objective`: a new estimator is one more
//! variant and one more arm), and the optimizer step written out.
//!
//! **What to look at.** In `runs/discrete_vae/`: `metrics.json`, `history.json`,
//! `curves.png` (training objective, test discrete −ELBO and relaxed objective per epoch),
//! `reconstructions.png` (test images over their reconstructions from the most likely code),
//! `samples.png` (codes drawn uniformly from the prior and decoded: rougher than the Gaussian
//! VAE's), `model.bpk` and `checkpoint/` (for `--resume`).
//!
//! Run: `cargo run --release --features wgpu,ndarray --example discrete_vae -- --estimator st-gumbel`
//! (10 epochs, about 2 minutes on 2 cores: test −ELBO 122.90 nats with ST Gumbel-softmax,
//! 125.11 with the default `gumbel-softmax`, at seed 0). docs/RESULTS.md has every estimator
//! (`reinmax` 119.66, `gumbel-rao` 120.47).

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
use mcgrad::distributions::{Bernoulli, Distribution, OneHotCategorical, sum_per_row};
use mcgrad::estimators::baselines::LeaveOneOut;
use mcgrad::estimators::{
    DecoupledStraightThrough, Estimator, GumbelRao, GumbelSoftmax, MultiSampleEstimator, ReinMax,
    ScoreFunction, StraightThrough, Vimco,
};
use mcgrad::kl::kl_divergence;
use mcgrad::schedule::{ExponentialAnnealing, TemperatureSchedule};
use serde_json::json;

use common::checkpoint::{self, TrainingState};
use common::cli::{self, CommonArgs};
use common::data;
use common::failure::{Failure, exit_with};
use common::metrics::{test_mean, write_metrics};
use common::mnist::{self, Binarization, PIXELS, Prepared};
use common::pictures::{pixels, save_grid};
use common::progress::Progress;

const EXAMPLE: &str = "discrete_vae";

/// The gradient estimator for the discrete latents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
enum EstimatorChoice {
    /// The Concrete relaxation (Gumbel-softmax): biased, low variance.
    GumbelSoftmax,
    /// Straight-through Gumbel-softmax: one-hot forward, relaxed gradient backward.
    StGumbel,
    /// Plain straight-through: one-hot forward, gradient of the probabilities backward.
    St,
    /// Score function with the leave-one-out baseline over --samples draws: unbiased.
    ReinforceRloo,
    /// ReinMax: one-hot forward, straight-through corrected to second order backward
    /// (--reinmax-tau).
    #[value(name = "reinmax")]
    ReinMax,
    /// Gumbel-Rao: ST Gumbel-softmax with its gradient averaged over --rao-draws Gumbel draws
    /// given the code.
    GumbelRao,
    /// Decoupled ST Gumbel-softmax: --tau-forward for the draw, --tau-backward for the
    /// gradient.
    DecoupledSt,
    /// VIMCO: the k-sample importance-weighted bound (--k) with per-draw leave-one-out
    /// baselines: unbiased.
    Vimco,
}

/// The options that define the model: a resumed or evaluated run must keep them.
const MODEL_OPTIONS: [&str; 2] = ["latents", "classes"];

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "Categorical VAE on MNIST with a choice of discrete gradient estimators")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "gumbel-softmax")]
    estimator: EstimatorChoice,
    /// Categorical latent variables.
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = cli::size)]
    latents: usize,
    /// Classes per latent variable.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = cli::size)]
    classes: usize,
    /// Initial temperature τ₀ of τ = max(τ_min, τ₀·exp(−r·step)).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = cli::positive_finite)]
    tau_initial: f64,
    /// Annealing rate r per step.
    #[arg(long, default_value_t = 3e-5, value_name = "X", value_parser = cli::non_negative_finite)]
    tau_rate: f64,
    /// Temperature floor τ_min.
    #[arg(long, default_value_t = 0.5, value_name = "X", value_parser = cli::positive_finite)]
    tau_min: f64,
    /// Draws per image for reinforce-rloo (at least 2).
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = samples)]
    samples: usize,
    /// ReinMax's temperature τ, fixed (the schedule is not used; 1 is the paper's method).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = cli::positive_finite)]
    reinmax_tau: f64,
    /// Gumbel-Rao's conditional Gumbel draws per latent variable (1 is ST Gumbel-softmax).
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = rao_draws)]
    rao_draws: usize,
    /// Decoupled ST's forward temperature τ_f: the draws follow softmax(logits/τ_f) (1: q).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = cli::positive_finite)]
    tau_forward: f64,
    /// Decoupled ST's backward temperature τ_b, of the softmax the gradient flows through.
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = cli::positive_finite)]
    tau_backward: f64,
    /// VIMCO's draws per image: the k of the k-sample bound it optimizes and reports.
    #[arg(long, default_value_t = 5, value_name = "K", value_parser = vimco_draws)]
    k: usize,
}

/// From 2 to 1000 draws.
fn samples(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (2..=1000).contains(&n) => Ok(n),
        _ => Err(
            "must be a whole number from 2 to 1000 (the leave-one-out baseline needs two draws)"
                .into(),
        ),
    }
}

/// From 1 to 1000 conditional draws.
fn rao_draws(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 1000".into()),
    }
}

/// From 2 to 1000 draws.
fn vimco_draws(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (2..=1000).contains(&n) => Ok(n),
        _ => Err(
            "must be a whole number from 2 to 1000 (VIMCO's leave-one-out baselines need two \
             draws)"
                .into(),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The model: an encoder to 30 × 10 logits, a decoder from the 30 one-hot codes.
// ---------------------------------------------------------------------------------------

/// The latent sizes of the categorical VAE; `init` builds it.
#[derive(Config, Debug)]
struct CategoricalVaeConfig {
    /// Categorical latent variables.
    #[config(default = 30)]
    latents: usize,
    /// Classes per latent variable.
    #[config(default = 10)]
    classes: usize,
}

#[derive(Module, Debug)]
struct CategoricalVae {
    enc1: Linear,
    enc2: Linear,
    enc3: Linear,
    dec1: Linear,
    dec2: Linear,
    dec3: Linear,
}

impl CategoricalVaeConfig {
    fn init(&self, device: &Device) -> CategoricalVae {
        let code = self.latents * self.classes;
        CategoricalVae {
            enc1: LinearConfig::new(PIXELS, 512).init(device),
            enc2: LinearConfig::new(512, 256).init(device),
            enc3: LinearConfig::new(256, code).init(device),
            dec1: LinearConfig::new(code, 256).init(device),
            dec2: LinearConfig::new(256, 512).init(device),
            dec3: LinearConfig::new(512, PIXELS).init(device),
        }
    }
}

impl CategoricalVae {
    /// `q_φ(z | x)`: logits `[B, latents, classes]`.
    fn encode(&self, x: Tensor<2>, latents: usize, classes: usize) -> OneHotCategorical<3> {
        let b = x.dims()[0];
        let h = relu(self.enc2.forward(relu(self.enc1.forward(x))));
        OneHotCategorical::from_logits_unchecked(
            self.enc3.forward(h).reshape([b, latents, classes]),
        )
        .expect("classes > 0")
    }

    /// `p_θ(x | z)` for codes `[R, latents, classes]` (one-hot or relaxed).
    fn decode(&self, z: Tensor<3>) -> Bernoulli<2> {
        let [r, l, k] = z.dims();
        let h = relu(
            self.dec2
                .forward(relu(self.dec1.forward(z.reshape([r, l * k])))),
        );
        Bernoulli::from_logits_unchecked(self.dec3.forward(h)).expect("never fails")
    }

    /// `−ln p_θ(x | z)` per code row (`n·B` rows for `B` images).
    fn reconstruction_cost(&self, x: &Tensor<2>, z: Tensor<3>) -> Tensor<1> {
        let reps = z.dims()[0] / x.dims()[0];
        let x = x.clone().repeat_dim(0, reps);
        sum_per_row(self.decode(z).log_prob(&x).expect("shapes match")).neg()
    }

    /// `KL(q ‖ uniform)` per image, `[B]`.
    fn kl_to_uniform(q: &OneHotCategorical<3>) -> Tensor<1> {
        let uniform =
            OneHotCategorical::from_logits_unchecked(q.probs().zeros_like()).expect("classes > 0");
        sum_per_row(kl_divergence(q, &uniform).expect("same shapes"))
    }
}

// ---------------------------------------------------------------------------------------
// The loss: the estimator is chosen here.
// ---------------------------------------------------------------------------------------

/// The training objective per image, `[B]`, whose gradient the chosen estimator gives, at
/// temperature τ (used by the annealed relaxations).
///
/// For every estimator but VIMCO it is the negative ELBO: the reconstruction term
/// `E_{z~q}[cost(z)]` as a surrogate loss (its value estimates the expectation, its gradient
/// the expectation's gradient), plus the exact KL. VIMCO's is the negated `k`-sample bound
/// `−ln (1/k) Σ_i p(x, z_i)/q(z_i | x)`, whose log-weights hold the prior and `q` themselves.
fn objective(
    model: &CategoricalVae,
    args: &Args,
    x: Tensor<2>,
    tau: f64,
    noise: &mut NoiseSource,
) -> mcgrad::Result<Tensor<1>> {
    let q = model.encode(x.clone(), args.latents, args.classes);
    let cost = |z: Tensor<3>| model.reconstruction_cost(&x, z);
    let reconstruction = match args.estimator {
        EstimatorChoice::GumbelSoftmax => GumbelSoftmax::new(tau)?.estimate(&q, 1, noise, cost)?,
        EstimatorChoice::StGumbel => {
            GumbelSoftmax::straight_through(tau)?.estimate(&q, 1, noise, cost)?
        }
        EstimatorChoice::St => StraightThrough.estimate(&q, 1, noise, cost)?,
        EstimatorChoice::ReinforceRloo => {
            ScoreFunction::new(LeaveOneOut).estimate(&q, args.samples, noise, cost)?
        }
        EstimatorChoice::ReinMax => ReinMax::new(args.reinmax_tau)?.estimate(&q, 1, noise, cost)?,
        EstimatorChoice::GumbelRao => {
            GumbelRao::new(tau, args.rao_draws)?.estimate(&q, 1, noise, cost)?
        }
        EstimatorChoice::DecoupledSt => {
            DecoupledStraightThrough::new(args.tau_forward, args.tau_backward)?
                .estimate(&q, 1, noise, cost)?
        }
        EstimatorChoice::Vimco => {
            // ln p(x, z) = −cost(z) + ln p(z), with p(z) uniform over the classes^latents codes
            let log_prior = -(args.latents as f64) * (args.classes as f64).ln();
            let log_joint = |z: Tensor<3>| cost(z).neg().add_scalar(log_prior);
            let bound = Vimco::new(args.k)?.estimate(&q, noise, log_joint)?;
            return Ok(bound.surrogate.neg());
        }
    };
    Ok(reconstruction.surrogate + CategoricalVae::kl_to_uniform(&q))
}

/// The name of the training objective on the test set, in the history and the curves.
fn objective_name(estimator: EstimatorChoice) -> &'static str {
    match estimator {
        EstimatorChoice::Vimco => "test −L_k, k-sample bound",
        _ => "test objective, relaxed",
    }
}

/// Images per evaluation batch: 1000, fewer for VIMCO so that a batch holds at most 10 000
/// codes (`k` per image).
fn evaluation_batch(args: &Args) -> usize {
    match args.estimator {
        EstimatorChoice::Vimco => (10_000 / args.k).clamp(1, 1000),
        _ => 1000,
    }
}

/// The single-sample negative ELBO with discrete one-hot codes `z ~ q`, `[B]`.
fn discrete_neg_elbo(
    model: &CategoricalVae,
    args: &Args,
    x: Tensor<2>,
    noise: &mut NoiseSource,
) -> Tensor<1> {
    let q = model.encode(x.clone(), args.latents, args.classes);
    let z = q.sample(noise);
    model.reconstruction_cost(&x, z) + CategoricalVae::kl_to_uniform(&q)
}

// ---------------------------------------------------------------------------------------
// Training and evaluation.
// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let args: Args = cli::parse(|command| {
        let command = cli::default(command, "epochs", "10");
        let command = cli::default(command, "batch_size", "100");
        cli::default(command, "lr", "0.001")
    });
    exit_with(|| run(args))
}

fn run(args: Args) -> Result<(), Failure> {
    let c = &args.common;
    let started = Instant::now();
    let out = checkpoint::prepare_out_dir(c, EXAMPLE)?;
    let device = c.device()?;
    let schedule = ExponentialAnnealing::new(args.tau_initial, args.tau_rate, args.tau_min)?;
    println!("estimator {}", cli::choice_name(&args.estimator));

    // Data: dynamic binarization of the training batches, the test set binarized once.
    let (train, test) = data::splits(c, EXAMPLE, Binarization::Dynamic)?;

    // Model, optimizer, training noise (Burn's initializers draw from the device's generator).
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let config = CategoricalVaeConfig::new()
        .with_latents(args.latents)
        .with_classes(args.classes);
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
    // The test figures after `steps` steps: the −ELBO with discrete codes, and the training
    // objective at the temperature reached (for VIMCO, −L_k).
    let evaluate = |model: &CategoricalVae, steps: usize| {
        let valid = model.valid();
        let tau = schedule.temperature(steps as u64);
        let discrete = test_mean(&test, 1000, 777, &device, |x, n| {
            discrete_neg_elbo(&valid, &args, x, n)
        });
        let relaxed = test_mean(&test, evaluation_batch(&args), 778, &device, |x, n| {
            objective(&valid, &args, x, tau, n)
                .expect("τ > 0 by the schedule's checks, the other options by the parser's")
        });
        (discrete, relaxed)
    };

    // Training, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for (i, indices) in batches.into_iter().enumerate() {
            let x = train.batch(indices, &mut noise, &train_device);
            // The temperature anneals with the steps taken since the start of the run.
            let tau = schedule.temperature((state.steps() + i) as u64);
            // The loss: the negative ELBO, its reconstruction term by the chosen estimator
            // (for VIMCO, the negated k-sample bound).
            let loss = objective(&model, &args, x, tau, &mut noise)?.mean();
            let value = loss.clone().detach();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(c.lr, model, grads);
            progress.step(value)?; // a loss that is not finite stops the run here
        }
        let (train_loss, steps, elapsed) = progress.finish();
        let total = state.steps() + steps;
        let (discrete, relaxed) = evaluate(&model, total);
        let figures = [
            ("train", train_loss),
            ("test −ELBO, discrete", discrete),
            (objective_name(args.estimator), relaxed),
        ];
        let seconds = elapsed.as_secs_f64();
        state
            .history
            .end_epoch(epoch, &figures, total, seconds, steps)?;
        state.epoch = epoch;
        checkpoint::save(&out, &model, &optimizer, &noise, &mut state)?;
        state.history.write(&out, EXAMPLE)?;
        let plotted = figures.map(|(name, _)| name);
        state
            .history
            .plot(&out, &title(&args), "nats per image", &plotted)?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + seconds);
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Final figures and pictures (to eval/ when this invocation trained no epoch).
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let tau = schedule.temperature(state.steps() as u64);
    let (test_neg_elbo, relaxed) = match (
        state.history.last("test −ELBO, discrete"),
        state.history.last(objective_name(args.estimator)),
    ) {
        (Some(d), Some(r)) if epochs_now > 0 => (d, r),
        _ => evaluate(&model, state.steps()),
    };
    let mut figures = json!({
        "estimator": args.estimator,
        "test_neg_elbo_nats": test_neg_elbo,
        "test_relaxed_objective_nats": relaxed,
        "final_temperature": tau,
    });
    if args.estimator == EstimatorChoice::Vimco {
        // the training objective is −L_k: report it as the k-sample bound it is
        figures["test_neg_iwae_bound_nats"] = json!(relaxed);
        figures["iwae_k"] = json!(args.k);
        println!(
            "test −ELBO (discrete codes) {test_neg_elbo:.2} nats, −L_{} bound {relaxed:.2} nats",
            args.k
        );
    } else {
        println!(
            "test −ELBO (discrete codes) {test_neg_elbo:.2} nats, relaxed objective {relaxed:.2} nats at τ = {tau:.3}"
        );
    }
    write_pictures(&model.valid(), &args, &test, &dir, &device)?;
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
        "Categorical VAE on MNIST ({})",
        cli::choice_name(&args.estimator)
    )
}

/// `reconstructions.png` (test images over their reconstructions from the most likely code)
/// and `samples.png` (uniform prior codes, decoded).
fn write_pictures(
    model: &CategoricalVae,
    args: &Args,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
) -> Result<(), Failure> {
    let mut noise = NoiseSource::seed_from_u64(0x5eed);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let q = model.encode(x.clone(), args.latents, args.classes);
    // the most likely code of each image
    let probs = q.probs();
    let mode = probs
        .clone()
        .equal(probs.max_dim(2).expand([n, args.latents, args.classes]))
        .float();
    let recon = sigmoid(model.decode(mode).logits().clone());
    let mut pairs = pixels(x);
    pairs.extend(pixels(recon));
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let prior = OneHotCategorical::from_logits_unchecked(Tensor::<3>::zeros(
        [64, args.latents, args.classes],
        device,
    ))?;
    let samples = sigmoid(model.decode(prior.sample(&mut noise)).logits().clone());
    save_grid(&out.join("samples.png"), &pixels(samples), 8)
}
