//! # NADE on binarized MNIST: the exact-likelihood baseline (no estimator)
//!
//! **Why it is here.** This example uses no gradient estimator. The other three examples
//! train latent-variable models, whose likelihood has no closed form: they maximize a bound
//! (the ELBO) whose gradient mcgrad estimates from samples. NADE has no latent variable: its
//! log-likelihood is exact and differentiable, so maximum likelihood is plain backpropagation
//! through `ln p(x)`. It is the baseline those models are measured against: the same test
//! images, the same nats per image, an exact number rather than a bound.
//!
//! **The model.** The neural autoregressive distribution estimator (Larochelle & Murray
//! 2011) factorizes the probability of a binary image over its 784 pixels in raster order,
//!
//! `p(x) = Π_d p(x_d | x_<d)`,  `p(x_d = 1 | x_<d) = σ(b_d + V_d · h_d)`,
//! `h_d = σ(c + W_{<d} x_<d)`,
//!
//! with 500 hidden units shared across the 784 conditionals: `W` is 500 × 784, and `h_d`
//! sees the pixels before `d` only. There is no latent variable: `ln p(x)` is exact, so the
//! test negative log-likelihood (NLL) in nats is a number, not a bound. It is the baseline the
//! latent-variable models (the `vae` and `discrete_vae` examples report bounds on the same
//! quantity) are measured against, and nothing here needs a gradient estimator: maximum
//! likelihood differentiates `ln p(x)` directly.
//!
//! **The vectorized forward.** Computed naively, NADE is 784 small networks. Because the
//! pre-activations share `W`, they are a cumulative sum: `a_1 = c`,
//! `a_{d+1} = a_d + W_{:,d} x_d`, so all 784 hidden layers of a batch come from one exclusive
//! cumulative sum over the pixel axis of `x_d W_{:,d}` (a `[B, 784, 500]` tensor), in
//! `O(784 · 500)` work per image, as in the paper.
//!
//! **The baseline's baseline.** `--model fvsbn` trains the fully visible sigmoid belief
//! network, `p(x_d = 1 | x_<d) = σ(b_d + Σ_{j<d} W_dj x_j)`: a logistic regression per pixel
//! on the pixels before it, one masked 784 × 784 matrix (published: about 97.45 nats). Its
//! default recipe, 10 epochs of Adam at 1e-2 decayed by 0.75 per epoch (`--lr-decay`), reaches
//! 98.14 nats in about a minute (62 s) on 2 cores.
//!
//! **The code.** `main` reads from the top: options, data, the model (`--model nade|fvsbn`,
//! one `Model` enum), the optimizer, then the loop `for epoch … for batch …`: the loss is
//! `−ln p(x)` itself, and the optimizer step is written out.
//!
//! **What to look at.** In `runs/nade/` (or `runs/fvsbn/`): `metrics.json` (`test_nll_nats`,
//! exact), `history.json`, `curves.png` (training and test NLL per epoch), `samples.png`
//! (images drawn pixel by pixel from the model: ancestral sampling, 784 sequential steps),
//! `data.png` (test images for comparison), `model.bpk` and `checkpoint/`.
//!
//! Run: `cargo run --release --features wgpu,ndarray --example nade` (a CPU-sized default, shown by
//! `--help`: one pass over the first 15 000 training images in batches of 20 at Adam 3e-3:
//! 107.48 nats in about 5 minutes on 2 cores). The full recipe,
//! `cargo run --release --features wgpu,ndarray --example nade -- --train-limit 60000 --epochs 15
//! --batch-size 100 --lr 1e-3 --device wgpu`, reached 88.79 nats on a GPU (docs/RESULTS.md;
//! published NADE: 88.86).

#[path = "../common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use burn::module::Param;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution as Init;
use burn::tensor::activation::sigmoid;
use clap::Parser;
use mcgrad::distributions::{Bernoulli, Distribution, sum_per_row};
use mcgrad::{NoiseSource, StandardNoise};
use serde_json::json;

use common::checkpoint::{self, TrainingState};
use common::cli::{self, CommonArgs};
use common::data;
use common::failure::{Failure, exit_with};
use common::metrics::{test_mean, write_metrics};
use common::mnist::{self, Binarization, PIXELS};
use common::pictures::{pixels, save_grid};
use common::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
enum ModelChoice {
    /// NADE, 784 conditionals sharing one hidden layer.
    Nade,
    /// The fully visible sigmoid belief network: one logistic regression per pixel.
    Fvsbn,
}

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "NADE (or FVSBN) on fixed-binarized MNIST: exact likelihood, no estimator")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "nade")]
    model: ModelChoice,
    /// Hidden units of NADE.
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = cli::size)]
    hidden: usize,
    /// Learning-rate decay per epoch: epoch e (from 1) trains at lr · decay^(e−1), decay in
    /// (0, 1] [default: 1 for NADE, 0.75 for FVSBN].
    #[arg(
        long,
        value_name = "X",
        value_parser = cli::factor,
        default_value = "1",
        default_value_ifs([("model", "fvsbn", Some("0.75"))]),
        hide_default_value = true
    )]
    lr_decay: f64,
}

// ---------------------------------------------------------------------------------------
// The models: NADE and FVSBN, one `Model` for the loop.
// ---------------------------------------------------------------------------------------

/// NADE's size; `init` builds it.
#[derive(Config, Debug)]
struct NadeConfig {
    /// Hidden units.
    #[config(default = 500)]
    hidden: usize,
}

/// NADE's parameters: `W` as `[784, H]` (row d is the weight of pixel d), `c` `[H]`, `V`
/// `[784, H]`, `b` `[784]`.
#[derive(Module, Debug)]
struct Nade {
    w: Param<Tensor<2>>,
    c: Param<Tensor<1>>,
    v: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
}

impl NadeConfig {
    fn init(&self, device: &Device) -> Nade {
        let s = 1.0 / (PIXELS as f64).sqrt();
        Nade {
            w: Param::from_tensor(Tensor::random(
                [PIXELS, self.hidden],
                Init::Uniform(-s, s),
                device,
            )),
            c: Param::from_tensor(Tensor::zeros([self.hidden], device)),
            v: Param::from_tensor(Tensor::random(
                [PIXELS, self.hidden],
                Init::Uniform(-s, s),
                device,
            )),
            b: Param::from_tensor(Tensor::zeros([PIXELS], device)),
        }
    }
}

impl Nade {
    /// The logits of every conditional `p(x_d = 1 | x_<d)`, `[B, 784]`, in one pass.
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let [bsz, d] = x.dims();
        let h = self.w.dims()[1];
        // x_j W_j for every pixel j, then the exclusive cumulative sum over j:
        // a_d = c + Σ_{j<d} x_j W_j
        let contributions = x.reshape([bsz, d, 1]) * self.w.val().reshape([1, d, h]);
        let inclusive = contributions.clone().cumsum(1);
        let exclusive = inclusive - contributions;
        let hidden = sigmoid(exclusive + self.c.val().reshape([1, 1, h]));
        (hidden * self.v.val().reshape([1, d, h]))
            .sum_dim(2)
            .reshape([bsz, d])
            + self.b.val().reshape([1, d])
    }

    /// Ancestral sampling in `O(784 · H)` per image: the pre-activation `a` is updated by one
    /// row of `W` per sampled pixel, as in the forward pass.
    fn sample(&self, n: usize, noise: &mut NoiseSource, device: &Device) -> Tensor<2> {
        let h = self.w.dims()[1];
        let (w, v, b) = (self.w.val(), self.v.val(), self.b.val());
        let mut a = self.c.val().reshape([1, h]).expand([n, h]);
        let u = noise.tensor(StandardNoise::Uniform, [n, PIXELS], device);
        let mut bits = Vec::with_capacity(PIXELS);
        for d in 0..PIXELS {
            let hidden = sigmoid(a.clone());
            let logit = hidden.matmul(v.clone().narrow(0, d, 1).transpose())
                + b.clone().narrow(0, d, 1).reshape([1, 1]);
            let bit = u.clone().narrow(1, d, 1).lower(sigmoid(logit)).float();
            a = a + bit.clone() * w.clone().narrow(0, d, 1);
            bits.push(bit);
        }
        Tensor::cat(bits, 1)
    }
}

/// The FVSBN has no size to choose; `init` builds it.
#[derive(Config, Debug)]
struct FvsbnConfig {}

/// The FVSBN: `W` `[784, 784]`, used through its strictly lower-triangular part.
#[derive(Module, Debug)]
struct Fvsbn {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
}

impl FvsbnConfig {
    fn init(&self, device: &Device) -> Fvsbn {
        Fvsbn {
            w: Param::from_tensor(Tensor::zeros([PIXELS, PIXELS], device)),
            b: Param::from_tensor(Tensor::zeros([PIXELS], device)),
        }
    }
}

impl Fvsbn {
    /// Logits `[B, 784]`: `b_d + Σ_{j<d} W_dj x_j`.
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let masked = self.w.val().tril(-1);
        x.matmul(masked.transpose()) + self.b.val().reshape([1, PIXELS])
    }

    /// Ancestral sampling, pixel by pixel: 784 evaluations of every conditional.
    fn sample(&self, n: usize, noise: &mut NoiseSource, device: &Device) -> Tensor<2> {
        let mut x = Tensor::<2>::zeros([n, PIXELS], device);
        let u = noise.tensor(StandardNoise::Uniform, [n, PIXELS], device);
        for d in 0..PIXELS {
            let p = sigmoid(self.logits(x.clone()).narrow(1, d, 1));
            let bit = u.clone().narrow(1, d, 1).lower(p).float();
            x = x.slice_assign([0..n, d..d + 1], bit);
        }
        x
    }
}

/// Either autoregressive model.
#[derive(Module, Debug)]
enum Model {
    Nade(Nade),
    Fvsbn(Fvsbn),
}

impl Model {
    /// `−ln p(x)` per image, exact, `[B]`.
    fn nll(&self, x: Tensor<2>) -> Tensor<1> {
        let logits = match self {
            Model::Nade(m) => m.logits(x.clone()),
            Model::Fvsbn(m) => m.logits(x.clone()),
        };
        let pixels = Bernoulli::from_logits_unchecked(logits).expect("never fails");
        sum_per_row(pixels.log_prob(&x).expect("same shape")).neg()
    }

    /// `n` images drawn from the model.
    fn sample(&self, n: usize, noise: &mut NoiseSource, device: &Device) -> Tensor<2> {
        match self {
            Model::Nade(m) => m.sample(n, noise, device),
            Model::Fvsbn(m) => m.sample(n, noise, device),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Training and evaluation.
// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    // NADE's [B, 784, 500] activations are element-wise work, which Burn's CPU backend runs on
    // one thread with scalar exp: its CPU default is one pass over 15 000 images in batches of
    // 20 at a large step, 3e-3 (about 5 minutes on 2 cores). Full runs: --train-limit 60000
    // --epochs N --lr 1e-3, on a GPU (--device wgpu) for the published figures.
    // FVSBN is a convex problem per pixel: a large step that decays finds its optimum in a
    // few epochs, where Adam at 1e-3 is still far from it after five (121 nats).
    let args: Args = cli::parse(|command| {
        let command = per_model(command, "epochs", ("1", "10"), "Train up to this epoch");
        let command = per_model(command, "batch_size", ("20", "100"), "Examples per step");
        let command = per_model(command, "lr", ("0.003", "0.01"), "Adam learning rate");
        command.mut_arg("train_limit", |a| {
            a.default_value("15000")
                .default_value_ifs([("model", "fvsbn", None::<&str>)])
                .hide_default_value(true)
                .help(
                    "Use only the first N training images [default: 15000 for NADE (a CPU-sized \
                     run), all 60000 for FVSBN]",
                )
        })
    });
    exit_with(|| run(args))
}

/// Sets an option's defaults for NADE and for FVSBN, and says so in `--help`.
fn per_model(
    command: clap::Command,
    option: &'static str,
    (nade, fvsbn): (&'static str, &'static str),
    help: &'static str,
) -> clap::Command {
    command.mut_arg(option, |a| {
        a.default_value(nade)
            .required(false)
            .default_value_ifs([("model", "fvsbn", Some(fvsbn))])
            .hide_default_value(true)
            .help(format!(
                "{help} [default: {nade} for NADE, {fvsbn} for FVSBN]"
            ))
    })
}

fn run(args: Args) -> Result<(), Failure> {
    let c = &args.common;
    let started = Instant::now();
    let name = match args.model {
        ModelChoice::Nade => "nade",
        ModelChoice::Fvsbn => "fvsbn",
    };
    let out = checkpoint::prepare_out_dir(c, name)?;
    let device = c.device()?;

    // Fixed binarization (the classic binarized MNIST): train and test drawn once.
    let (train, test) = data::splits(c, name, Binarization::Fixed)?;

    // Model, optimizer, training noise (shuffling only: the data are fixed).
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let mut model = match args.model {
        ModelChoice::Nade => Model::Nade(
            NadeConfig::new()
                .with_hidden(args.hidden)
                .init(&train_device),
        ),
        ModelChoice::Fvsbn => Model::Fvsbn(FvsbnConfig::new().init(&train_device)),
    };
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let mut state = TrainingState::new(name, c.seed, &args);
    // the options that define the model: a resumed or evaluated run must keep them
    let model_options: &[&str] = match args.model {
        ModelChoice::Nade => &["model", "hidden"],
        ModelChoice::Fvsbn => &["model"],
    };
    if c.resume {
        let resumed = checkpoint::resume(&out, model, optimizer, &args, model_options)?;
        (model, optimizer) = (resumed.model, resumed.optimizer);
        (noise, state) = (resumed.noise, resumed.state);
    }
    if c.eval_only {
        let (trained, saved) = checkpoint::load_trained(&out, model, &args, model_options)?;
        model = trained;
        state = saved.unwrap_or(state);
    }
    let evaluate = |model: &Model| {
        let valid = model.valid();
        test_mean(&test, 200, 0, &device, |x, _| valid.nll(x))
    };

    // Training by exact maximum likelihood, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let lr = c.lr * args.lr_decay.powi(epoch as i32 - 1);
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for indices in batches {
            let x = train.batch(indices, &mut noise, &train_device);
            // The loss is −ln p(x) itself: no estimator, the gradient is exact.
            let loss = model.nll(x).mean();
            let value = loss.clone().detach();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            progress.step(value)?; // a loss that is not finite stops the run here
        }
        let (train_loss, steps, elapsed) = progress.finish();
        let figures = [("train", train_loss), ("test NLL", evaluate(&model))];
        let (total, seconds) = (state.steps() + steps, elapsed.as_secs_f64());
        state
            .history
            .end_epoch(epoch, &figures, total, seconds, steps)?;
        state.epoch = epoch;
        checkpoint::save(&out, &model, &optimizer, &noise, &mut state)?;
        state.history.write(&out, name)?;
        let title = format!("{} on binarized MNIST", name.to_uppercase());
        state
            .history
            .plot(&out, &title, "NLL, nats per image", &["train", "test NLL"])?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + seconds);
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Final figure, samples (to eval/ when this invocation trained no epoch).
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let test_nll = match state.history.last("test NLL") {
        Some(v) if epochs_now > 0 => v,
        _ => evaluate(&model),
    };
    println!("test NLL {test_nll:.2} nats (exact)");
    let valid = model.valid();
    let mut sample_noise = NoiseSource::seed_from_u64(c.seed ^ 0xa5);
    let samples = valid.sample(36, &mut sample_noise, &device);
    save_grid(&dir.join("samples.png"), &pixels(samples), 6)?;
    let shown: Vec<usize> = (0..test.len().min(36)).collect();
    let data = test.batch(&shown, &mut sample_noise, &device);
    save_grid(&dir.join("data.png"), &pixels(data), 6)?;
    let figures = json!({ "model": args.model, "test_nll_nats": test_nll });
    let wall = started.elapsed().as_secs_f64();
    write_metrics(
        &dir,
        name,
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
