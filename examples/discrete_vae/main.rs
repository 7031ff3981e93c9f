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
//!
//! **Evaluation.** `test_neg_elbo_nats` is the honest figure: the single-sample negative ELBO
//! with *discrete* one-hot codes drawn from `q`. `test_relaxed_objective_nats` is the training
//! objective on the test set at the final temperature (for `gumbel-softmax` it is computed on
//! relaxed codes, and is lower than the discrete figure: the gap is the relaxation's bias).
//!
//! **What to look at.** In `runs/discrete_vae/`: `metrics.json`, `curves.png` (training
//! objective, test discrete −ELBO and relaxed objective per epoch), `reconstructions.png`
//! (test images over their reconstructions from the most likely code), `samples.png` (codes
//! drawn uniformly from the prior and decoded: rougher than the Gaussian VAE's), and the
//! checkpoint `model.bpk`.
//!
//! Run: `cargo run --release --features wgpu --example discrete_vae -- --estimator st-gumbel`.

#[path = "../common/mod.rs"]
mod common;

use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::sum_per_row;
use mcgrad::distributions::{Bernoulli, Distribution, OneHotCategorical};
use mcgrad::estimators::baselines::LeaveOneOut;
use mcgrad::estimators::{Estimator, GumbelSoftmax, ScoreFunction, StraightThrough};
use mcgrad::kl::kl_divergence;
use mcgrad::schedule::{ExponentialAnnealing, TemperatureSchedule};
use serde_json::json;

use common::cli::CommonArgs;
use common::mnist::{Binarization, PIXELS, Prepared};
use common::outputs::save_grid;
use common::session::{Outcome, Session, descend, test_mean};

/// The gradient estimator for the discrete latents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
enum EstimatorChoice {
    GumbelSoftmax,
    StGumbel,
    St,
    ReinforceRloo,
}

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "Categorical VAE on MNIST with a choice of discrete gradient estimators")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "gumbel-softmax")]
    estimator: EstimatorChoice,
    /// Categorical latent variables.
    #[arg(long, default_value_t = 30)]
    latents: usize,
    /// Classes per latent variable.
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Initial temperature τ₀ of τ = max(τ_min, τ₀·exp(−r·step)).
    #[arg(long, default_value_t = 1.0)]
    tau_initial: f64,
    /// Annealing rate r per step.
    #[arg(long, default_value_t = 3e-5)]
    tau_rate: f64,
    /// Temperature floor τ_min.
    #[arg(long, default_value_t = 0.5)]
    tau_min: f64,
    /// Draws per image for reinforce-rloo (at least 2).
    #[arg(long, default_value_t = 2)]
    samples: usize,
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

impl CategoricalVae {
    fn new(latents: usize, classes: usize, device: &Device) -> Self {
        let code = latents * classes;
        Self {
            enc1: LinearConfig::new(PIXELS, 512).init(device),
            enc2: LinearConfig::new(512, 256).init(device),
            enc3: LinearConfig::new(256, code).init(device),
            dec1: LinearConfig::new(code, 256).init(device),
            dec2: LinearConfig::new(256, 512).init(device),
            dec3: LinearConfig::new(512, PIXELS).init(device),
        }
    }

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

/// The training objective per image (a surrogate loss) with the chosen estimator at
/// temperature τ.
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
        EstimatorChoice::GumbelSoftmax => {
            GumbelSoftmax::new(tau)?
                .estimate(&q, 1, noise, cost)?
                .surrogate
        }
        EstimatorChoice::StGumbel => {
            GumbelSoftmax::straight_through(tau)?
                .estimate(&q, 1, noise, cost)?
                .surrogate
        }
        EstimatorChoice::St => StraightThrough.estimate(&q, 1, noise, cost)?.surrogate,
        EstimatorChoice::ReinforceRloo => {
            ScoreFunction::new(LeaveOneOut)
                .estimate(&q, args.samples, noise, cost)?
                .surrogate
        }
    };
    Ok(reconstruction + CategoricalVae::kl_to_uniform(&q))
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

fn main() -> Outcome<()> {
    let args = Args::parse();
    let c = &args.common;
    let session = Session::start(c, "discrete_vae")?;
    let (epochs, batch, lr) = (
        c.epochs.unwrap_or(10),
        c.batch_size.unwrap_or(100),
        c.lr.unwrap_or(1e-3),
    );
    let schedule = ExponentialAnnealing::new(args.tau_initial, args.tau_rate, args.tau_min)?;
    println!("estimator {:?}", args.estimator);

    let (train, test) = session.data(Binarization::Dynamic, usize::MAX)?;
    let model = session.restore(CategoricalVae::new(
        args.latents,
        args.classes,
        &session.train_device,
    ))?;

    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let device = session.device.clone();
    let (model, history) = session.train(
        model,
        &train,
        (epochs, batch),
        &mut noise,
        |model, x, at, noise| {
            let tau = schedule.temperature(at.step as u64);
            let loss = objective(&model, &args, x, tau, noise)?.mean();
            Ok(descend(&mut optimizer, lr, model, loss))
        },
        |model, steps| {
            let valid = model.valid();
            let tau = schedule.temperature(steps as u64);
            Ok(vec![
                (
                    "test −ELBO, discrete",
                    test_mean(&test, 1000, 777, &device, |x, n| {
                        discrete_neg_elbo(&valid, &args, x, n)
                    }),
                ),
                (
                    "test objective, relaxed",
                    test_mean(&test, 1000, 778, &device, |x, n| {
                        objective(&valid, &args, x, tau, n).expect("valid settings")
                    }),
                ),
            ])
        },
    )?;

    let valid = model.valid();
    let tau = schedule.temperature(history.steps as u64);
    let test_neg_elbo = history.figure("test −ELBO, discrete")?;
    let relaxed = history.figure("test objective, relaxed")?;
    println!(
        "test −ELBO (discrete codes) {test_neg_elbo:.2} nats, relaxed objective {relaxed:.2} nats at τ = {tau:.3}"
    );
    write_pictures(&valid, &args, &test, &session.out, &device)?;
    session.finish(
        &format!("Categorical VAE on MNIST ({:?})", args.estimator),
        "nats per image",
        &["train", "test −ELBO, discrete", "test objective, relaxed"],
        json!({
            "estimator": args.estimator,
            "test_neg_elbo_nats": test_neg_elbo,
            "test_relaxed_objective_nats": relaxed,
            "final_temperature": tau,
        }),
        &history,
        &args,
    )
}

fn write_pictures(
    model: &CategoricalVae,
    args: &Args,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
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
    let mut pairs = x.try_into_vec_as::<f32>()?;
    pairs.extend(recon.try_into_vec_as::<f32>()?);
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let prior = OneHotCategorical::from_logits_unchecked(Tensor::<3>::zeros(
        [64, args.latents, args.classes],
        device,
    ))?;
    let samples = sigmoid(model.decode(prior.sample(&mut noise)).logits().clone());
    save_grid(
        &out.join("samples.png"),
        &samples.try_into_vec_as::<f32>()?,
        8,
    )?;
    Ok(())
}
