//! # NADE on binarized MNIST: exact likelihood by autoregression
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
//! on the pixels before it, one masked 784 × 784 matrix (published: about 97.45 nats).
//!
//! **What to look at.** In `runs/nade/` (or `runs/fvsbn/`): `metrics.json` (`test_nll_nats`,
//! exact), `curves.png` (training and test NLL per epoch), `samples.png` (images drawn pixel
//! by pixel from the model: ancestral sampling, 784 sequential steps), `data.png` (test images
//! for comparison) and the checkpoint.
//!
//! Run: `cargo run --release --features wgpu --example nade` (published NADE: 88.86 nats).

#[path = "../common/mod.rs"]
mod common;

use std::time::Instant;

use burn::module::Param;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution as Init;
use burn::tensor::activation::sigmoid;
use clap::Parser;
use mcgrad::distributions::{Bernoulli, Distribution};
use mcgrad::estimators::sum_over_rows;
use mcgrad::{NoiseSource, StandardNoise};
use serde_json::json;

use common::cli::CommonArgs;
use common::mnist::{self, Binarization, PIXELS, Prepared};
use common::outputs::{Progress, plot_curves, save_grid, write_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
enum ModelChoice {
    Nade,
    Fvsbn,
}

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "NADE (or FVSBN) on fixed-binarized MNIST, exact likelihood")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "nade")]
    model: ModelChoice,
    /// Hidden units of NADE.
    #[arg(long, default_value_t = 500)]
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

impl Nade {
    fn new(hidden: usize, device: &Device) -> Self {
        let s = 1.0 / (PIXELS as f64).sqrt();
        Self {
            w: Param::from_tensor(Tensor::random(
                [PIXELS, hidden],
                Init::Uniform(-s, s),
                device,
            )),
            c: Param::from_tensor(Tensor::zeros([hidden], device)),
            v: Param::from_tensor(Tensor::random(
                [PIXELS, hidden],
                Init::Uniform(-s, s),
                device,
            )),
            b: Param::from_tensor(Tensor::zeros([PIXELS], device)),
        }
    }

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
}

/// The FVSBN: `W` `[784, 784]`, used through its strictly lower-triangular part.
#[derive(Module, Debug)]
struct Fvsbn {
    w: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
}

impl Fvsbn {
    fn new(device: &Device) -> Self {
        Self {
            w: Param::from_tensor(Tensor::zeros([PIXELS, PIXELS], device)),
            b: Param::from_tensor(Tensor::zeros([PIXELS], device)),
        }
    }

    /// Logits `[B, 784]`: `b_d + Σ_{j<d} W_dj x_j`.
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        let masked = self.w.val().tril(-1);
        x.matmul(masked.transpose()) + self.b.val().reshape([1, PIXELS])
    }
}

/// Either model, behind one interface.
trait Autoregressive: Module + Clone {
    fn logits(&self, x: Tensor<2>) -> Tensor<2>;

    /// `−ln p(x)` per image, exact, `[B]`.
    fn nll(&self, x: Tensor<2>) -> Tensor<1> {
        let pixels = Bernoulli::from_logits_unchecked(self.logits(x.clone()));
        sum_over_rows(pixels.log_prob(&x).expect("same shape")).neg()
    }

    /// Ancestral sampling, pixel by pixel: 784 sequential evaluations.
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

impl Autoregressive for Nade {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        Nade::logits(self, x)
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

impl Autoregressive for Fvsbn {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        Fvsbn::logits(self, x)
    }
}

fn evaluate<M: Autoregressive>(model: &M, test: &Prepared, device: &Device) -> f64 {
    let mut noise = NoiseSource::seed_from_u64(0);
    let indices: Vec<usize> = (0..test.len()).collect();
    let total: f64 = indices
        .chunks(200)
        .map(|c| {
            model
                .nll(test.batch(c, &mut noise, device))
                .sum()
                .into_scalar::<f32>() as f64
        })
        .sum();
    total / test.len() as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    args.common.init_cpu();
    let device = args.common.device()?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    match args.model {
        ModelChoice::Nade => run(&args, Nade::new(args.hidden, &train_device), "nade"),
        ModelChoice::Fvsbn => run(&args, Fvsbn::new(&train_device), "fvsbn"),
    }
}

fn run<M: Autoregressive>(
    args: &Args,
    mut model: M,
    name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let c = &args.common;
    let (default_epochs, default_batch) = match args.model {
        ModelChoice::Nade => (3, 100),
        ModelChoice::Fvsbn => (5, 100),
    };
    let epochs = c.epochs.unwrap_or(default_epochs);
    let batch = c.batch_size.unwrap_or(default_batch);
    let lr = c.lr.unwrap_or(1e-3);
    let out = c.out_dir(name)?;
    let device = c.device()?;
    let train_device = device.clone().autodiff();

    // Fixed binarization (the classic binarized MNIST): train and test drawn once.
    let binarization = c.binarization.unwrap_or(Binarization::Fixed);
    let data = mnist::load(&c.data_dir)?;
    let train = Prepared::new(
        data.train.truncate(c.train_limit.unwrap_or(usize::MAX)),
        binarization,
        c.seed.wrapping_add(1),
    );
    let test = Prepared::new(
        data.test.truncate(c.test_limit.unwrap_or(usize::MAX)),
        binarization,
        12345,
    );
    println!(
        "MNIST: {} training and {} test images, {binarization:?} binarization; model {name}",
        train.len(),
        test.len()
    );

    let checkpoint = out.join("model.bpk");
    if let Some(path) = c
        .resume
        .clone()
        .or_else(|| c.eval_only.then(|| checkpoint.clone()))
    {
        model = model.load_file(&path);
        println!("loaded {}", path.display());
    }
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let (mut train_curve, mut test_curve, mut epoch_seconds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut steps_done, mut train_time) = (0usize, 0.0);
    let started = Instant::now();
    for epoch in 1..=if c.eval_only { 0 } else { epochs } {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches: Vec<&[usize]> = order
            .chunks(batch)
            .take(c.max_steps.unwrap_or(usize::MAX))
            .collect();
        let mut progress = Progress::new(epoch, epochs, batches.len(), c.quiet);
        for idx in batches {
            let x = train.batch(idx, &mut noise, &train_device);
            let loss = model.nll(x).mean();
            let value = loss.clone().into_scalar::<f32>() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            steps_done += 1;
            progress.step(Some(value));
        }
        let train_nll = progress.mean_loss();
        let (steps, elapsed) = progress.finish();
        train_time += elapsed.as_secs_f64();
        epoch_seconds.push(elapsed.as_secs_f64());
        let test_nll = evaluate(&model.valid(), &test, &device);
        println!(
            "epoch {epoch}: train NLL {train_nll:.2}, test NLL {test_nll:.2} nats ({:.1} s, {:.2} steps/s)",
            elapsed.as_secs_f64(),
            steps as f64 / elapsed.as_secs_f64()
        );
        train_curve.push((epoch as f64, train_nll));
        test_curve.push((epoch as f64, test_nll));
        model.clone().save_file(&checkpoint)?;
        if c.out_of_time(train_time) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    let valid = model.valid();
    let test_nll = evaluate(&valid, &test, &device);
    println!("test NLL {test_nll:.2} nats (exact)");
    let mut sample_noise = NoiseSource::seed_from_u64(c.seed ^ 0xa5);
    let samples = valid.sample(36, &mut sample_noise, &device);
    save_grid(
        &out.join("samples.png"),
        &samples.try_into_vec_as::<f32>()?,
        6,
    )?;
    let shown: Vec<usize> = (0..test.len().min(36)).collect();
    save_grid(
        &out.join("data.png"),
        &test
            .batch(&shown, &mut sample_noise, &device)
            .try_into_vec_as::<f32>()?,
        6,
    )?;
    if !train_curve.is_empty() {
        plot_curves(
            &out.join("curves.png"),
            &format!("{} on binarized MNIST", name.to_uppercase()),
            "epoch",
            "NLL, nats per image",
            &[
                ("train".into(), train_curve.clone()),
                ("test".into(), test_curve.clone()),
            ],
        )?;
    }
    let wall = started.elapsed().as_secs_f64();
    write_json(
        &out.join("metrics.json"),
        &json!({
            "example": "nade",
            "model": args.model,
            "test_nll_nats": test_nll,
            "epochs": train_curve.len(),
            "steps": steps_done,
            "steps_per_sec": steps_done as f64 / train_time.max(1e-9),
            "epoch_seconds": epoch_seconds,
            "wall_seconds": wall,
            "curves": { "train_nll": train_curve, "test_nll": test_curve },
            "config": args,
            "device": format!("{device:?}"),
        }),
    )?;
    println!("wrote {} ({wall:.0} s)", out.display());
    Ok(())
}
