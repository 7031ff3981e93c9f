//! # A binary VAE on MNIST: the benchmark of the unbiased discrete estimators
//!
//! **The model.** The binary latent-variable model of the ARM, REBAR, RELAX and DisARM papers:
//! each dynamically binarized MNIST image `x` is explained by 200 Bernoulli latents `b`.
//! `--model linear` is `784-200-784`: the encoder is one linear map to the 200 logits of
//! `q_φ(b | x)`, the decoder one linear map from `b` to the 784 pixel logits of `p_θ(x | b)`.
//! `--model nonlinear` is `784-200-200-200` and its mirror `200-200-200-784`, with LeakyReLU
//! (slope 0.3) between the layers. The prior `p(b)` is a factorized Bernoulli with 200 learned
//! logits (starting at 0, i.e. uniform).
//!
//! **The objective.** The negative ELBO in nats per image,
//! `E_{b~q}[f(b)]`, `f(b) = −ln p_θ(x | b) − ln p(b) + ln q_φ(b | x)`,
//! estimated *as a whole* by the chosen estimator, as in the papers: `f` is the black-box
//! cost, evaluated at the estimator's draws. Inside `f` the logits of `ln q_φ(b | x)` are
//! detached: its own gradient, `E_q[∇φ ln q_φ(b | x)]`, is zero in expectation, and the
//! papers' code leaves it out too; the encoder learns only through the estimator. The decoder
//! and the prior learn through `f` directly (their gradient is exact given the draws). For the
//! relaxed and straight-through estimators `f` is evaluated at relaxed values `b ∈ (0, 1)`
//! through the continuous extension `x ln σ(ℓ) + (1 − x) ln σ(−ℓ)` of each Bernoulli
//! log-probability (`Bernoulli::cross_entropy`).
//!
//! **The estimator is the point.** `--estimator`:
//!
//! | value | estimator | bias | evaluations of `f` per image |
//! |---|---|---|---|
//! | `reinforce` | score function, no baseline, `--samples` draws | none | n |
//! | `rloo` | score function, leave-one-out baseline, `--samples` ≥ 2 draws | none | n |
//! | `arm` | ARM (Yin & Zhou 2019), `--samples` antithetic pairs | none | 2n |
//! | `disarm` | DisARM (Dong, Mnih & Tucker 2020), `--samples` pairs | none | 2n |
//! | `rebar` | REBAR (Tucker et al. 2017), η from the batch (leave-one-out), τ fixed | none | 3n (n hard, 2n relaxed) |
//! | `relax` | RELAX (Grathwohl et al. 2018), control network of 137 tanh units trained on the estimator's variance | none | n (and 2n network passes) |
//! | `st` | plain straight-through | yes | n |
//! | `gumbel-softmax` | Concrete relaxation at τ | yes (trains the relaxed objective) | n (relaxed) |
//! | `reinmax` | ReinMax (Liu et al. 2023) | yes, second order | n |
//! | `gumbel-rao` | Gumbel-Rao (Paulus et al. 2021), `--rao-draws` conditional draws | yes, as ST Gumbel-softmax | n |
//! | `decoupled-st` | decoupled straight-through (Shah et al. 2024), τ_f = `--forward-temperature`, τ_b = `--temperature` | yes | n |
//!
//! `--temperature` defaults per estimator: 0.5 for `gumbel-softmax`, `rebar`, `gumbel-rao` and
//! `decoupled-st` (its backward temperature), 1 for `reinmax` (the paper's second-order point).
//!
//! **Training setup.** As the DisARM paper's public launcher
//! (google-research/disarm, `binary/experiment_launcher_singlelayer.py`): batch size 50, Adam
//! with learning rate 1e-4, 200 latents, the prior logits starting at 0. Differences: one Adam
//! optimizer for every parameter (the launcher moves the prior logits by plain SGD at 1e-2,
//! and trains RELAX's network by a separate Adam), the decoder's output bias starts at the
//! logit of the mean training pixel (a flag of the launcher, off there), and the test set is
//! binarized once (the launcher binarizes it dynamically too). The papers train for 10⁶ steps
//! (about 830 epochs); see docs/RESULTS.md for the budget used here.
//!
//! **The variance diagnostic.** Every `--variance-every` steps, the gradient of the summed
//! per-image objective with respect to the encoder's logits (`[B, 200]`) is estimated
//! `--variance-estimates` (K) times on the current batch with fresh noise, and
//! `mcgrad::diagnostics::GradientAccumulator` gives the per-logit variance: its mean over the
//! logits, as log10, and the mean signal-to-noise ratio go to `metrics.json`
//! (`gradient_variance`) and the lower panel of `curves.png`. This is the diagnostic of Fig. 5 of the
//! DisARM paper, taken on the logits (the paper's is on the encoder's weights, by moving
//! averages over steps). The K estimates use their own noise stream: turning the diagnostic
//! on or off does not change the training.
//!
//! **Evaluation.** `test_neg_elbo_nats`: the negative ELBO on the test set with one draw
//! `b ~ q` per image and the KL divergence to the prior in closed form (the same expectation
//! as the training objective, with less noise). `train_neg_elbo_nats`: the same figure on the
//! first 10 000 training images (dynamically binarized with a fixed seed).
//!
//! **What to look at.** In `runs/binary_vae/`: `metrics.json`, `history.json`, `curves.png`
//! (above: the training objective and the train and test −ELBO per epoch; below: the log10
//! variance of the encoder-logit gradient over the steps), `reconstructions.png` (test images over the decoder's pixel probabilities at the most
//! likely code), `samples.png` (codes drawn from the learned prior, decoded), `model.bpk`,
//! `checkpoint/`.
//!
//! Run: `cargo run --release --features wgpu,ndarray --example binary_vae -- --estimator disarm`.
//! `examples/binary_vae/compare.sh` runs every estimator at one step budget and writes the
//! comparison table and charts of docs/RESULTS.md.

#[path = "../common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::diagnostics::GradientAccumulator;
use mcgrad::distributions::{Bernoulli, Distribution, sum_per_row};
use mcgrad::estimators::baselines::{LeaveOneOut, NoBaseline};
use mcgrad::estimators::control_variates::ControlNetwork;
use mcgrad::estimators::{
    Arm, DecoupledStraightThrough, DisArm, Estimator, GumbelRao, GumbelSoftmax, Rebar, RebarScale,
    ReinMax, Relax, ScoreFunction, StraightThrough,
};
use mcgrad::kl::kl_divergence;
use serde_json::json;

use common::checkpoint::{self, TrainingState};
use common::cli::{self, CommonArgs};
use common::data;
use common::failure::{Failure, exit_with};
use common::metrics::{plot_curves, test_mean, write_metrics};
use common::mnist::{self, Binarization, PIXELS, Prepared};
use common::pictures::{pixels, save_grid};
use common::progress::Progress;

const EXAMPLE: &str = "binary_vae";

/// Hidden units of RELAX's control network (the DisARM launcher's RELAX network has 137).
const CONTROL_HIDDEN: usize = 137;

/// Training images in the `train_neg_elbo_nats` figure.
const TRAIN_EVAL_IMAGES: usize = 10_000;

/// The gradient estimator for the Bernoulli latents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
enum EstimatorChoice {
    /// Score function without a baseline (REINFORCE): unbiased, high variance.
    Reinforce,
    /// Score function with the leave-one-out baseline over --samples ≥ 2 draws: unbiased.
    Rloo,
    /// ARM, --samples antithetic pairs: unbiased.
    Arm,
    /// DisARM, --samples antithetic pairs: unbiased, never more variance than ARM.
    Disarm,
    /// REBAR with the leave-one-out η and a fixed τ: unbiased.
    Rebar,
    /// RELAX with a learned control network: unbiased.
    Relax,
    /// Plain straight-through: biased.
    St,
    /// The Concrete relaxation (Gumbel-softmax) at a fixed τ: biased.
    GumbelSoftmax,
    /// ReinMax: biased, second order.
    Reinmax,
    /// Gumbel-Rao: ST Gumbel-softmax with the relaxation noise averaged out: biased.
    GumbelRao,
    /// Decoupled straight-through (forward and backward temperatures): biased.
    DecoupledSt,
}

impl EstimatorChoice {
    /// The command-line name.
    fn name(self) -> String {
        cli::choice_name(&self)
    }

    /// The temperature used when --temperature is not given (None: the estimator has none).
    fn default_temperature(self) -> Option<f64> {
        match self {
            Self::GumbelSoftmax | Self::Rebar | Self::GumbelRao | Self::DecoupledSt => Some(0.5),
            Self::Reinmax => Some(1.0),
            _ => None,
        }
    }

    /// Evaluations of the cost per image and step, for `n` = --samples.
    fn evaluations(self, n: usize) -> usize {
        match self {
            Self::Arm | Self::Disarm => 2 * n,
            Self::Rebar => 3 * n,
            _ => n,
        }
    }
}

/// The two architectures of the papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum ModelChoice {
    /// 784-200-784: one linear map each way.
    Linear,
    /// 784-200-200-200 and its mirror, LeakyReLU(0.3) between the layers.
    Nonlinear,
}

/// The options that define the model: a resumed or evaluated run must keep them (RELAX's
/// model holds its control network, so the estimator is one of them).
const MODEL_OPTIONS: [&str; 4] = ["model", "latents", "hidden", "estimator"];

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "Binary (Bernoulli) VAE on MNIST with a choice of discrete gradient estimators")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "disarm")]
    estimator: EstimatorChoice,
    #[arg(long, value_enum, default_value = "linear")]
    model: ModelChoice,
    /// Bernoulli latent variables.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = cli::size)]
    latents: usize,
    /// Hidden units per layer of the nonlinear model.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = cli::size)]
    hidden: usize,
    /// Draws per image (antithetic pairs for arm and disarm; at least 2 for rloo)
    /// [default: 2 for rloo, 1 otherwise].
    #[arg(long, value_name = "N", value_parser = samples)]
    samples: Option<usize>,
    /// Temperature τ of the relaxation (gumbel-softmax, rebar, gumbel-rao, reinmax; the
    /// backward temperature of decoupled-st) [default: 1 for reinmax, 0.5 otherwise].
    #[arg(long, value_name = "X", value_parser = cli::positive_finite)]
    temperature: Option<f64>,
    /// Forward temperature τ_f of decoupled-st (1: exact draws from q).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = cli::positive_finite)]
    forward_temperature: f64,
    /// Conditional draws K of gumbel-rao.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = rao_draws)]
    rao_draws: usize,
    /// Measure the variance of the encoder-logit gradient every N steps (0: never).
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = cli::epochs)]
    variance_every: usize,
    /// Independent gradient estimates K per variance measurement.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = estimates)]
    variance_estimates: usize,
}

/// From 1 to 1000 draws.
fn samples(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 1000".into()),
    }
}

/// From 1 to 1000 conditional draws.
fn rao_draws(s: &str) -> Result<usize, String> {
    samples(s)
}

/// From 2 to 1000 estimates.
fn estimates(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (2..=1000).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 2 to 1000 (a variance needs two estimates)".into()),
    }
}

impl Args {
    /// Draws per image.
    fn samples(&self) -> usize {
        self.samples.unwrap_or(match self.estimator {
            EstimatorChoice::Rloo => 2,
            _ => 1,
        })
    }

    /// The temperature of the estimator, if it has one.
    fn temperature(&self) -> Option<f64> {
        self.estimator
            .default_temperature()
            .map(|t| self.temperature.unwrap_or(t))
    }

    /// Checks the options that depend on each other, before any work.
    fn check(&self) -> Result<(), Failure> {
        let e = self.estimator.name();
        if self.estimator == EstimatorChoice::Rloo && self.samples() < 2 {
            return Err(Failure::option(
                "--samples",
                self.samples(),
                "rloo needs at least 2 draws per image (the baseline of a draw is the mean of the others)",
            ));
        }
        if self.temperature.is_some() && self.estimator.default_temperature().is_none() {
            return Err(Failure::option(
                "--temperature",
                self.temperature.unwrap_or_default(),
                format!("--estimator {e} has no temperature; leave the option out"),
            ));
        }
        let volume = self.common.batch_size.saturating_mul(self.samples());
        let volume = volume.saturating_mul(self.estimator.evaluations(1));
        if volume > 1 << 20 {
            return Err(Failure::option(
                "--batch-size",
                self.common.batch_size,
                format!(
                    "with --samples {} and --estimator {e} a step evaluates the decoder on {volume} rows; keep --batch-size × --samples under about a million",
                    self.samples()
                ),
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The model: encoder, decoder, learned prior (and RELAX's control network).
// ---------------------------------------------------------------------------------------

/// The sizes of the binary VAE; `init` builds it.
#[derive(Config, Debug)]
struct BinaryVaeConfig {
    /// Linear (784-L-784) or nonlinear (784-H-H-L and mirror).
    nonlinear: bool,
    /// Bernoulli latents L.
    #[config(default = 200)]
    latents: usize,
    /// Hidden units H of the nonlinear model.
    #[config(default = 200)]
    hidden: usize,
    /// RELAX's control network: its hidden units, or 0 for none.
    #[config(default = 0)]
    control_hidden: usize,
}

#[derive(Module, Debug)]
struct BinaryVae {
    /// The encoder's layers, LeakyReLU(0.3) between them; the last gives the logits of q.
    encoder: Vec<Linear>,
    /// The decoder's layers; the last gives the pixel logits.
    decoder: Vec<Linear>,
    /// The logits of the factorized Bernoulli prior, `[L]`.
    prior: Param<Tensor<1>>,
    /// RELAX's control variate `c_φ(z)` (trained with the model, on the estimator's variance).
    control: Option<ControlNetwork>,
}

impl BinaryVaeConfig {
    /// The model; the control network's hidden layer is drawn from `noise`.
    fn init(&self, noise: &mut NoiseSource, device: &Device) -> BinaryVae {
        let (l, h) = (self.latents, self.hidden);
        let chain = |sizes: &[usize]| -> Vec<Linear> {
            sizes
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect()
        };
        let (encoder, decoder) = if self.nonlinear {
            (chain(&[PIXELS, h, h, l]), chain(&[l, h, h, PIXELS]))
        } else {
            (chain(&[PIXELS, l]), chain(&[l, PIXELS]))
        };
        BinaryVae {
            encoder,
            decoder,
            prior: Param::from_tensor(Tensor::zeros([l], device)),
            control: (self.control_hidden > 0)
                .then(|| ControlNetwork::new(l, self.control_hidden, noise, device)),
        }
    }
}

/// The layers in order, LeakyReLU(0.3) between them.
fn forward(layers: &[Linear], x: Tensor<2>) -> Tensor<2> {
    let last = layers.len() - 1;
    layers.iter().enumerate().fold(x, |h, (i, layer)| {
        let h = layer.forward(h);
        if i < last { leaky_relu(h, 0.3) } else { h }
    })
}

impl BinaryVae {
    /// `q_φ(b | x)`, logits `[B, L]`.
    fn encode(&self, x: Tensor<2>) -> Bernoulli<2> {
        Bernoulli::from_logits_unchecked(forward(&self.encoder, x)).expect("never fails")
    }

    /// `p_θ(x | b)` for codes `[R, L]` (0/1 or relaxed).
    fn decode(&self, b: Tensor<2>) -> Bernoulli<2> {
        Bernoulli::from_logits_unchecked(forward(&self.decoder, b)).expect("never fails")
    }

    /// The prior `p(b)` with its logits as a `[1, L]` row (it broadcasts over the rows).
    fn prior(&self) -> Bernoulli<2> {
        let l = self.prior.dims()[0];
        Bernoulli::from_logits_unchecked(self.prior.val().reshape([1, l])).expect("never fails")
    }

    /// The cost `f(b) = −ln p(x | b) − ln p(b) + ln q(b | x)` per code row (`n·B` rows for the
    /// `B` images `x`), with `q`'s logits `q_logits` `[B, L]` used detached. Relaxed codes use
    /// the continuous extension of each log-probability.
    fn cost(&self, x: &Tensor<2>, q_logits: &Tensor<2>, b: Tensor<2>) -> Tensor<1> {
        let reps = b.dims()[0] / x.dims()[0];
        let x = x.clone().repeat_dim(0, reps);
        let q = Bernoulli::from_logits_unchecked(q_logits.clone().detach().repeat_dim(0, reps))
            .expect("never fails");
        let reconstruction = self.decode(b.clone()).cross_entropy(&x);
        let prior = self.prior().cross_entropy(&b);
        let posterior = q.cross_entropy(&b);
        let per_row = |t: mcgrad::Result<Tensor<2>>| sum_per_row(t.expect("shapes match"));
        per_row(reconstruction) + per_row(prior) - per_row(posterior)
    }

    /// The negative ELBO per image, `[B]`, with one draw `b ~ q` and the KL in closed form.
    fn neg_elbo(&self, x: Tensor<2>, noise: &mut NoiseSource) -> Tensor<1> {
        let q = self.encode(x.clone());
        let b = q.sample(noise);
        let reconstruction = sum_per_row(self.decode(b).cross_entropy(&x).expect("same shape"));
        let [rows, l] = q.logits().dims();
        let prior =
            Bernoulli::from_logits_unchecked(self.prior.val().reshape([1, l]).expand([rows, l]))
                .expect("never fails");
        reconstruction + sum_per_row(kl_divergence(&q, &prior).expect("same shapes"))
    }
}

// ---------------------------------------------------------------------------------------
// The loss: the estimator is chosen here.
// ---------------------------------------------------------------------------------------

/// `E_{b~q}[cost(b)]` as a surrogate loss per image, `[B]`: its value estimates the
/// expectation, its gradient the expectation's gradient, by the chosen estimator.
fn surrogate(
    args: &Args,
    control: Option<&ControlNetwork>,
    q: &Bernoulli<2>,
    noise: &mut NoiseSource,
    cost: impl Fn(Tensor<2>) -> Tensor<1>,
) -> mcgrad::Result<Tensor<1>> {
    let n = args.samples();
    let tau = args.temperature().unwrap_or(1.0);
    let estimate = match args.estimator {
        EstimatorChoice::Reinforce => ScoreFunction::new(NoBaseline).estimate(q, n, noise, cost)?,
        EstimatorChoice::Rloo => ScoreFunction::new(LeaveOneOut).estimate(q, n, noise, cost)?,
        EstimatorChoice::Arm => Arm.estimate(q, n, noise, cost)?,
        EstimatorChoice::Disarm => DisArm.estimate(q, n, noise, cost)?,
        EstimatorChoice::Rebar => {
            // the leave-one-out η pools the other rows of the batch; a single row has none
            let scale = if q.rows() * n >= 2 {
                RebarScale::LeaveOneOut
            } else {
                RebarScale::Fixed(1.0)
            };
            Rebar::with_scale(tau, scale)?.estimate(q, n, noise, cost)?
        }
        EstimatorChoice::Relax => {
            let control = control.expect("a RELAX model holds its control network");
            Relax::new(control.clone()).estimate(q, n, noise, cost)?
        }
        EstimatorChoice::St => StraightThrough.estimate(q, n, noise, cost)?,
        EstimatorChoice::GumbelSoftmax => GumbelSoftmax::new(tau)?.estimate(q, n, noise, cost)?,
        EstimatorChoice::Reinmax => ReinMax::new(tau)?.estimate(q, n, noise, cost)?,
        EstimatorChoice::GumbelRao => {
            GumbelRao::new(tau, args.rao_draws)?.estimate(q, n, noise, cost)?
        }
        EstimatorChoice::DecoupledSt => {
            DecoupledStraightThrough::new(args.forward_temperature, tau)?
                .estimate(q, n, noise, cost)?
        }
    };
    Ok(estimate.surrogate)
}

/// The training objective per image, `[B]`.
fn objective(
    model: &BinaryVae,
    args: &Args,
    x: Tensor<2>,
    noise: &mut NoiseSource,
) -> mcgrad::Result<Tensor<1>> {
    let q = model.encode(x.clone());
    let logits = q.logits().clone();
    surrogate(args, model.control.as_ref(), &q, noise, |b| {
        model.cost(&x, &logits, b)
    })
}

/// The variance diagnostic on batch `x`: K estimates of the gradient of the summed objective
/// in the encoder's logits, with fresh noise from `noise`; returns (the mean per-logit
/// variance, the mean signal-to-noise ratio).
fn logit_gradient_variance(
    model: &BinaryVae,
    args: &Args,
    x: &Tensor<2>,
    noise: &mut NoiseSource,
) -> Result<(f64, f64), Failure> {
    // the logits as a leaf of the graph: its gradient is the estimator's output
    let logits = forward(&model.encoder, x.clone()).detach().require_grad();
    let mut acc = GradientAccumulator::new();
    for _ in 0..args.variance_estimates {
        let q = Bernoulli::from_logits_unchecked(logits.clone())?;
        let loss = surrogate(args, model.control.as_ref(), &q, noise, |b| {
            model.cost(x, &logits, b)
        })?
        .sum();
        let grads = loss.backward();
        let g = logits
            .grad(&grads)
            .ok_or_else(|| Failure::Internal("the logits received no gradient".into()))?;
        acc.push(g)?;
    }
    let summary = acc.finish()?.summary()?;
    Ok((summary.mean_variance, summary.mean_signal_to_noise))
}

/// The variance measurements of a run: (step, log10 mean variance, mean SNR). Saved in the
/// checkpoint's `extra`, so that a resumed run keeps them.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct VarianceLog {
    points: Vec<(usize, f64, f64)>,
}

// ---------------------------------------------------------------------------------------
// Training and evaluation.
// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let args: Args = cli::parse(|command| {
        let command = cli::default(command, "epochs", "10");
        let command = cli::default(command, "batch_size", "50");
        cli::default(command, "lr", "0.0001")
    });
    exit_with(|| run(args))
}

fn run(args: Args) -> Result<(), Failure> {
    let c = &args.common;
    let started = Instant::now();
    args.check()?;
    let out = checkpoint::prepare_out_dir(c, EXAMPLE)?;
    let device = c.device()?;
    let tau = args.temperature();
    println!(
        "estimator {}, {} model, {} draws per image{}",
        args.estimator.name(),
        cli::choice_name(&args.model),
        args.samples(),
        tau.map(|t| format!(", τ = {t}")).unwrap_or_default()
    );

    // Data: dynamic binarization of the training batches, the test set binarized once.
    let (train, test) = data::splits(c, EXAMPLE, Binarization::Dynamic)?;

    // Model, optimizer, training noise (Burn's initializers draw from the device's generator).
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let config = BinaryVaeConfig::new(args.model == ModelChoice::Nonlinear)
        .with_latents(args.latents)
        .with_hidden(args.hidden)
        .with_control_hidden(if args.estimator == EstimatorChoice::Relax {
            CONTROL_HIDDEN
        } else {
            0
        });
    let mut model = config.init(
        &mut NoiseSource::seed_from_u64(c.seed ^ 0xc0),
        &train_device,
    );
    // the decoder's output bias at the logit of the mean training pixel
    let last = model.decoder.len() - 1;
    model.decoder[last].bias = Some(Param::from_tensor(mean_pixel_logits(&train, &train_device)));
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
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
    let mut variance: VarianceLog = serde_json::from_value(state.extra.clone()).unwrap_or_default();

    // The train and test −ELBO (fixed evaluation seeds: the same model gives the same figures).
    let train_subset: Vec<usize> = (0..train.len().min(TRAIN_EVAL_IMAGES)).collect();
    let evaluate = |model: &BinaryVae| {
        let valid = model.valid();
        let test_elbo = test_mean(&test, 1000, 777, &device, |x, n| valid.neg_elbo(x, n));
        let mut data_noise = NoiseSource::seed_from_u64(4242);
        let mut noise = NoiseSource::seed_from_u64(778);
        let train_elbo: f64 = train_subset
            .chunks(1000)
            .map(|chunk| {
                let x = train.batch(chunk, &mut data_noise, &device);
                valid.neg_elbo(x, &mut noise).sum().into_scalar::<f32>() as f64
            })
            .sum::<f64>()
            / train_subset.len() as f64;
        (train_elbo, test_elbo)
    };

    // Training, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        let mut diagnostic_seconds = 0.0;
        for (i, indices) in batches.into_iter().enumerate() {
            let step = state.steps() + i;
            let x = train.batch(indices, &mut noise, &train_device);
            // The diagnostic, on this batch before the update, with its own noise stream.
            if args.variance_every > 0 && step.is_multiple_of(args.variance_every) {
                let t = Instant::now();
                let mut diagnostic_noise = NoiseSource::seed_from_u64(
                    c.seed ^ (step as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                let (var, snr) = logit_gradient_variance(&model, &args, &x, &mut diagnostic_noise)?;
                // a variance of exactly 0 (the K estimates equal: saturated logits after a
                // too-large step, or a relaxation so cold that its derivative vanishes in f32)
                // or a non-finite one means the run can no longer learn: it stops, keeping the
                // last good checkpoint
                if !(var.is_finite() && var > 0.0) {
                    return Err(Failure::Diverged {
                        epoch,
                        what: format!(
                            "the encoder-logit gradient has variance {var:e} at step {step} \
                             (its estimates vanish or overflow f32: saturated logits, or an \
                             extreme --temperature)"
                        ),
                    });
                }
                let log_var = var.log10();
                variance.points.push((step, log_var, snr));
                diagnostic_seconds += t.elapsed().as_secs_f64();
            }
            // The loss: the negative ELBO, estimated by the chosen estimator.
            let loss = objective(&model, &args, x, &mut noise)?.mean();
            let value = loss.clone().detach();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(c.lr, model, grads);
            progress.step(value)?; // a loss that is not finite stops the run here
        }
        let (train_loss, steps, elapsed) = progress.finish();
        let total = state.steps() + steps;
        let (train_elbo, test_elbo) = evaluate(&model);
        let figures = [
            ("train objective", train_loss),
            ("train −ELBO", train_elbo),
            ("test −ELBO", test_elbo),
        ];
        // the epoch's time without the diagnostic's: the speed of training alone
        let seconds = (elapsed.as_secs_f64() - diagnostic_seconds).max(1e-9);
        state
            .history
            .end_epoch(epoch, &figures, total, seconds, steps)?;
        state.epoch = epoch;
        state.extra = serde_json::to_value(&variance).expect("the log serializes");
        checkpoint::save(&out, &model, &optimizer, &noise, &mut state)?;
        state.history.write(&out, EXAMPLE)?;
        plot_curves_and_variance(&out, &args, &state.history, &variance)?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + elapsed.as_secs_f64());
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Final figures and pictures (to eval/ when this invocation trained no epoch).
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let (train_neg_elbo, test_neg_elbo) = match (
        state.history.last("train −ELBO"),
        state.history.last("test −ELBO"),
    ) {
        (Some(a), Some(b)) if epochs_now > 0 => (a, b),
        _ => evaluate(&model),
    };
    println!("−ELBO: test {test_neg_elbo:.2} nats, train {train_neg_elbo:.2} nats");
    write_pictures(&model.valid(), &test, &dir, &device)?;
    let last = variance.points.last();
    let figures = json!({
        "estimator": args.estimator,
        "model": args.model,
        "samples": args.samples(),
        "temperature": tau,
        "cost_evaluations_per_image": args.estimator.evaluations(args.samples()),
        "test_neg_elbo_nats": test_neg_elbo,
        "train_neg_elbo_nats": train_neg_elbo,
        "final_log10_logit_gradient_variance": last.map(|p| p.1),
        "gradient_variance": variance.points.iter().map(|&(step, log10_variance, snr)| json!({
            "step": step,
            "log10_variance": log10_variance,
            "mean_snr": if snr.is_finite() { json!(snr) } else { json!(null) },
        })).collect::<Vec<_>>(),
        "variance_estimates": args.variance_estimates,
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
        "Binary VAE on MNIST, {} ({})",
        cli::choice_name(&args.model),
        args.estimator.name()
    )
}

/// The logit of the mean pixel of the training images, clamped to [0.001, 0.999], `[784]`.
fn mean_pixel_logits(train: &Prepared, device: &Device) -> Tensor<1> {
    let mut noise = NoiseSource::seed_from_u64(99);
    let n = train.len().min(TRAIN_EVAL_IMAGES);
    let indices: Vec<usize> = (0..n).collect();
    let sum = indices
        .chunks(1000)
        .map(|chunk| train.batch(chunk, &mut noise, device).sum_dim(0))
        .reduce(|a, b| a + b)
        .expect("at least one training image");
    let p = (sum / n as f64).clamp(0.001, 0.999).reshape([PIXELS]);
    (p.clone() / (p.neg() + 1.0)).log()
}

/// `curves.png`: on top the epoch curves of the history (nats per image), below them the
/// log10 of the mean per-logit variance of the encoder-logit gradient over the steps (when it
/// was measured). Each panel is drawn by the examples' plotting helper, then the two are
/// stacked into one image, written atomically.
fn plot_curves_and_variance(
    out: &std::path::Path,
    args: &Args,
    history: &common::metrics::History,
    log: &VarianceLog,
) -> Result<(), Failure> {
    let path = out.join("curves.png");
    let top = out.join("curves.top.partial.png");
    let bottom = out.join("curves.bottom.partial.png");
    let partial = out.join("curves.partial.png");
    let variance = vec![(
        args.estimator.name(),
        log.points
            .iter()
            .map(|&(s, v, _)| (s as f64, v))
            .collect::<Vec<_>>(),
    )];
    let stacked = || -> Result<(), String> {
        plot_curves(
            &top,
            &title(args),
            "epoch",
            "nats per image",
            &history.curves,
        )?;
        if log.points.is_empty() {
            return std::fs::rename(&top, &path).map_err(|e| e.to_string());
        }
        plot_curves(
            &bottom,
            "Variance of the encoder-logit gradient",
            "step",
            "log10 variance per logit",
            &variance,
        )?;
        let (a, b) = (
            image::open(&top).map_err(|e| e.to_string())?.to_rgb8(),
            image::open(&bottom).map_err(|e| e.to_string())?.to_rgb8(),
        );
        let mut both = image::RgbImage::new(a.width().max(b.width()), a.height() + b.height());
        image::imageops::replace(&mut both, &a, 0, 0);
        image::imageops::replace(&mut both, &b, 0, i64::from(a.height()));
        both.save_with_format(&partial, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &path).map_err(|e| e.to_string())
    };
    let result = stacked();
    for scratch in [&top, &bottom, &partial] {
        let _ = std::fs::remove_file(scratch);
    }
    result.map_err(|e| {
        Failure::file(
            &path,
            "cannot write the plot",
            e,
            "check the out dir's disk",
        )
    })
}

/// `reconstructions.png` (test images over the decoder's pixel probabilities at the most
/// likely code) and `samples.png` (codes drawn from the learned prior, decoded).
fn write_pictures(
    model: &BinaryVae,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
) -> Result<(), Failure> {
    let mut noise = NoiseSource::seed_from_u64(0x5eed);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let mode = model
        .encode(x.clone())
        .logits()
        .clone()
        .greater_elem(0.0)
        .float();
    let recon = sigmoid(model.decode(mode).logits().clone());
    let mut pairs = pixels(x);
    pairs.extend(pixels(recon));
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let l = model.prior.dims()[0];
    let prior =
        Bernoulli::from_logits_unchecked(model.prior.val().reshape([1, l]).expand([64, l]))?;
    let samples = sigmoid(model.decode(prior.sample(&mut noise)).logits().clone());
    save_grid(&out.join("samples.png"), &pixels(samples), 8)
}
