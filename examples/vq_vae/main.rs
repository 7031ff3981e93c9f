//! # VQ-VAE on MNIST: the straight-through estimator on a codebook
//!
//! **The model.** A vector-quantized autoencoder (van den Oord et al. 2017). A convolutional
//! encoder maps each 28×28 image to a 7×7 grid of D-dimensional vectors `z_e`. Each vector is
//! replaced by its nearest entry of a learned codebook of K vectors, `z_q = e_k`,
//! `k = argmin_j ‖z_e − e_j‖²`, and a convolutional decoder maps the grid of codes back to an
//! image. An image becomes 49 discrete symbols out of K: a compressed, discrete representation.
//!
//! **The estimator.** The nearest-neighbour lookup has no gradient: `argmin` is piecewise
//! constant. VQ-VAE passes the decoder's gradient straight through to the encoder, as if the
//! quantizer were the identity: `z_q = straight_through(e_k, z_e)`, the same op as the
//! straight-through Gumbel-softmax (`mcgrad::estimators::straight_through`): forward value
//! exactly the code, gradient that of `z_e`. Two more terms train the codebook and keep the
//! encoder close to it:
//!
//! `L = ‖x − x̂‖² + ‖sg[z_e] − e‖² + β‖z_e − sg[e]‖²`, β = 0.25,
//!
//! the reconstruction, the codebook loss (moves codes towards the encoder outputs assigned to
//! them) and the commitment loss. With `--ema`, the codebook follows exponential moving
//! averages of its assigned encoder outputs (decay γ = 0.99, van den Oord et al. 2017
//! appendix A.1) instead of the codebook loss. With `--restart-dead`, codes that no encoder
//! output has used lately are moved onto random encoder outputs of the batch, which prevents
//! codebook collapse. Both are codebook maintenance, done between optimizer steps, not part of
//! the gradient: they live in `codebook.rs`, beside this file, so that the straight-through
//! step stays in view here.
//!
//! **The code.** `main` reads from the top: options, data, model, optimizer, then the loop
//! `for epoch … for batch …`: the forward pass with its straight-through quantization, the
//! loss, the optimizer step written out, then the codebook maintenance.
//!
//! **What to look at.** In `runs/vq_vae/`: `metrics.json` (test reconstruction MSE per
//! pixel, codebook perplexity `exp(H(code usage))` and the fraction of codes in use on the
//! test set), `reconstructions.png` (rows of test images above their reconstructions: sharp,
//! the strokes kept), `codes.png` (what each of 64 codes decodes to when it fills the whole
//! 7×7 grid: textures and stroke fragments rather than digits), `curves.png`,
//! `history.json`, `model.bpk` and `checkpoint/`. A perplexity far below K, or few codes in
//! use, is codebook collapse.
//!
//! Run: `cargo run --release --features wgpu,ndarray --example vq_vae -- --ema --restart-dead`
//! (1 epoch, about 2 minutes on 2 cores: test MSE 0.00436 per pixel, all 128 codes in use;
//! without the two options 0.00703 and 23% of the codes).

#[path = "../common/mod.rs"]
mod common;

mod codebook;

use std::process::ExitCode;
use std::time::Instant;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution as Init;
use burn::tensor::activation::{relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::one_hot;
use mcgrad::estimators::straight_through;
use serde_json::json;

use codebook::Maintenance;
use common::checkpoint::{self, TrainingState};
use common::cli::{self, CommonArgs};
use common::data;
use common::failure::{Failure, exit_with};
use common::metrics::write_metrics;
use common::mnist::{self, Binarization, PIXELS, Prepared};
use common::pictures::{pixels, save_grid};
use common::progress::Progress;

const EXAMPLE: &str = "vq_vae";

/// The options that define the model: a resumed or evaluated run must keep them.
const MODEL_OPTIONS: [&str; 2] = ["codes", "code_dim"];

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "VQ-VAE on MNIST with the straight-through estimator on a codebook")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Codebook entries K.
    #[arg(long, default_value_t = 128, value_name = "N", value_parser = cli::size)]
    codes: usize,
    /// Code dimension D.
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = cli::size)]
    code_dim: usize,
    /// Commitment weight β.
    #[arg(long, default_value_t = 0.25, value_name = "X", value_parser = cli::non_negative_finite)]
    beta: f64,
    /// Update the codebook by exponential moving averages instead of the codebook loss.
    #[arg(long)]
    ema: bool,
    /// EMA decay γ, in [0, 1).
    #[arg(long, default_value_t = 0.99, value_name = "X", value_parser = cli::decay)]
    ema_decay: f64,
    /// Move codes unused over the last `--restart-every` steps onto random encoder outputs.
    #[arg(long)]
    restart_dead: bool,
    /// Steps between dead-code checks.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = cli::at_least_one)]
    restart_every: usize,
}

// ---------------------------------------------------------------------------------------
// The model: a convolutional encoder to a 7×7 grid, the codebook, a decoder.
// ---------------------------------------------------------------------------------------

/// Grid side of the latent map (28 → 14 → 7).
const GRID: usize = 7;

/// The codebook's size; `init` builds the VQ-VAE.
#[derive(Config, Debug)]
struct VqVaeConfig {
    /// Codebook entries K.
    #[config(default = 128)]
    codes: usize,
    /// Code dimension D.
    #[config(default = 32)]
    code_dim: usize,
}

#[derive(Module, Debug)]
struct VqVae {
    enc1: Conv2d,
    enc2: Conv2d,
    enc3: Conv2d,
    dec1: ConvTranspose2d,
    dec2: ConvTranspose2d,
    dec3: Conv2d,
    /// The codebook `[K, D]`.
    codebook: Param<Tensor<2>>,
    /// EMA state (`codebook.rs`): the running count of assignments per code `[K]` ...
    ema_count: Param<Tensor<1>>,
    /// ... and the running sum of assigned encoder outputs `[K, D]`.
    ema_sum: Param<Tensor<2>>,
}

impl VqVaeConfig {
    fn init(&self, device: &Device) -> VqVae {
        let conv = |i, o, k, s, p| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .init(device)
        };
        let deconv = |i, o| {
            ConvTranspose2dConfig::new([i, o], [4, 4])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device)
        };
        let (codes, dim) = (self.codes, self.code_dim);
        let scale = 1.0 / codes as f64;
        VqVae {
            enc1: conv(1, 32, 4, 2, 1),
            enc2: conv(32, 64, 4, 2, 1),
            enc3: conv(64, dim, 1, 1, 0),
            dec1: deconv(dim, 64),
            dec2: deconv(64, 32),
            dec3: conv(32, 1, 3, 1, 1),
            codebook: Param::from_tensor(Tensor::random(
                [codes, dim],
                Init::Uniform(-scale, scale),
                device,
            )),
            ema_count: Param::from_tensor(Tensor::ones([codes], device)),
            ema_sum: Param::from_tensor(Tensor::zeros([codes, dim], device)),
        }
    }
}

/// The quantization of a batch: codes, indices, and the losses that train the codebook.
struct Quantized {
    /// `z_q` with the straight-through gradient, `[B, D, 7, 7]`.
    z_q: Tensor<4>,
    /// The code index of every grid cell, `[B·49]`.
    indices: Tensor<1, Int>,
    /// The encoder outputs as rows `[B·49, D]`.
    z_e_rows: Tensor<2>,
    /// `‖sg[z_e] − e‖²` (mean).
    codebook_loss: Tensor<1>,
    /// `‖z_e − sg[e]‖²` (mean).
    commitment_loss: Tensor<1>,
}

impl Quantized {
    /// The code assignments as one-hot rows `[B·49, K]`.
    fn one_hot(&self, k: usize) -> Tensor<2> {
        let m = self.indices.dims()[0];
        one_hot(self.indices.clone().reshape([m, 1]), k)
    }

    /// How many grid cells each of the `k` codes was assigned, `[K]`, on the device.
    fn counts(&self, k: usize) -> Tensor<1> {
        self.one_hot(k).sum_dim(0).reshape([k])
    }
}

impl VqVae {
    /// `z_e`, `[B, D, 7, 7]`.
    fn encode(&self, x: Tensor<2>) -> Tensor<4> {
        let b = x.dims()[0];
        let h = relu(self.enc1.forward(x.reshape([b, 1, 28, 28])));
        self.enc3.forward(relu(self.enc2.forward(h)))
    }

    /// Pixel logits `[B, 784]` from a grid of codes.
    fn decode(&self, z: Tensor<4>) -> Tensor<2> {
        let b = z.dims()[0];
        let h = relu(self.dec2.forward(relu(self.dec1.forward(z))));
        self.dec3.forward(h).reshape([b, PIXELS])
    }

    /// Nearest-neighbour quantization with the straight-through gradient.
    fn quantize(&self, z_e: Tensor<4>) -> Quantized {
        let [b, d, h, w] = z_e.dims();
        let rows = z_e.clone().permute([0, 2, 3, 1]).reshape([b * h * w, d]);
        let e = self.codebook.val();
        // ‖z − e_k‖² = ‖z‖² − 2 z·e_k + ‖e_k‖²; the ‖z‖² term does not change the argmin
        let scores = e.clone().square().sum_dim(1).reshape([1, e.dims()[0]])
            - rows.clone().detach().matmul(e.clone().detach().transpose()) * 2.0;
        let indices = scores.argmin(1).reshape([b * h * w]);
        let chosen = e.select(0, indices.clone());
        let codebook_loss = (rows.clone().detach() - chosen.clone()).square().mean();
        let commitment_loss = (rows.clone() - chosen.clone().detach()).square().mean();
        // forward: the code; backward: the encoder output (the crate's straight-through op)
        let st = straight_through(chosen, rows.clone());
        let z_q = st.reshape([b, h, w, d]).permute([0, 3, 1, 2]);
        Quantized {
            z_q,
            indices,
            z_e_rows: rows,
            codebook_loss,
            commitment_loss,
        }
    }

    /// Reconstructions in [0, 1], `[B, 784]`, and the quantization.
    fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Quantized) {
        let q = self.quantize(self.encode(x));
        (sigmoid(self.decode(q.z_q.clone())), q)
    }
}

/// Test metrics: (MSE per pixel, perplexity of code usage, fraction of codes used).
fn evaluate(model: &VqVae, test: &Prepared, k: usize, device: &Device) -> (f64, f64, f64) {
    let mut noise = NoiseSource::seed_from_u64(0);
    let mut sq = 0.0;
    let mut usage = vec![0u64; k];
    let indices: Vec<usize> = (0..test.len()).collect();
    for chunk in indices.chunks(500) {
        let x = test.batch(chunk, &mut noise, device);
        let (recon, q) = model.forward(x.clone());
        sq += (recon - x).square().sum().into_scalar::<f32>() as f64;
        for i in q.indices.try_into_vec_as::<i64>().expect("int indices") {
            usage[i as usize] += 1;
        }
    }
    let total: u64 = usage.iter().sum();
    let entropy: f64 = usage
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.ln()
        })
        .sum();
    let used = usage.iter().filter(|&&c| c > 0).count();
    (
        sq / (test.len() * PIXELS) as f64,
        entropy.exp(),
        used as f64 / k as f64,
    )
}

// ---------------------------------------------------------------------------------------
// Training and evaluation.
// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let args: Args = cli::parse(|command| {
        let command = cli::default(command, "epochs", "1");
        let command = cli::default(command, "batch_size", "64");
        cli::default(command, "lr", "0.001")
    });
    exit_with(|| run(args))
}

fn run(args: Args) -> Result<(), Failure> {
    let c = &args.common;
    let started = Instant::now();
    let out = checkpoint::prepare_out_dir(c, EXAMPLE)?;
    let device = c.device()?;
    println!(
        "K = {}, D = {}, EMA {}, dead-code restarts {}",
        args.codes, args.code_dim, args.ema, args.restart_dead
    );

    // Continuous intensities: the reconstruction loss is the squared error.
    let (train, test) = data::splits(c, EXAMPLE, Binarization::None)?;

    // Model, optimizer, codebook maintenance, training noise.
    let train_device = device.clone().autodiff();
    train_device.seed(c.seed);
    let config = VqVaeConfig::new()
        .with_codes(args.codes)
        .with_code_dim(args.code_dim);
    let mut model = config.init(&train_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut maintenance = Maintenance::new(
        args.codes,
        args.ema.then_some(args.ema_decay),
        args.restart_dead.then_some(args.restart_every),
    );
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
    maintenance.restore(&state.extra, &train_device);

    // Training, up to epoch --epochs.
    let (mut epochs_now, mut seconds_now) = (0, 0.0);
    for epoch in state.epoch + 1..=c.last_epoch() {
        let order = mnist::shuffled(train.len(), &mut noise);
        let batches = c.batches(&order);
        let mut progress = Progress::new(epoch, c.last_epoch(), batches.len(), c.quiet);
        for (i, indices) in batches.into_iter().enumerate() {
            let x = train.batch(indices, &mut noise, &train_device);
            // Forward: encode, quantize (straight-through: the decoder's gradient passes to
            // the encoder as if the quantizer were the identity), decode.
            let (recon, q) = model.forward(x.clone());
            // The loss: reconstruction + β·commitment, + the codebook loss unless the EMA
            // moves the codebook.
            let reconstruction = (recon - x).square().mean();
            let mut loss = reconstruction.clone() + q.commitment_loss.clone() * args.beta;
            if !args.ema {
                loss = loss + q.codebook_loss.clone();
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(c.lr, model, grads);
            // Codebook maintenance between steps (codebook.rs): EMA, dead-code restarts.
            model = maintenance.after_step(model, &q, state.steps() + i, &mut noise);
            // the reported loss is the reconstruction error alone
            progress.step(reconstruction.detach())?;
        }
        let (train_loss, steps, elapsed) = progress.finish();
        let (mse, perplexity, used) = evaluate(&model.valid(), &test, args.codes, &device);
        let figures = [
            ("train", train_loss),
            ("test MSE", mse),
            ("perplexity", perplexity),
            ("codes used", used),
        ];
        let (total, seconds) = (state.steps() + steps, elapsed.as_secs_f64());
        state
            .history
            .end_epoch(epoch, &figures, total, seconds, steps)?;
        state.epoch = epoch;
        state.extra = maintenance.to_json();
        checkpoint::save(&out, &model, &optimizer, &noise, &mut state)?;
        state.history.write(&out, EXAMPLE)?;
        let plotted = ["train", "test MSE"];
        state
            .history
            .plot(&out, "VQ-VAE on MNIST", "MSE per pixel", &plotted)?;
        (epochs_now, seconds_now) = (epochs_now + 1, seconds_now + seconds);
        if c.out_of_time(seconds_now) {
            println!("--max-minutes reached after epoch {epoch}");
            break;
        }
    }

    // Final figures and pictures (to eval/ when this invocation trained no epoch).
    let dir = checkpoint::results_dir(&out, epochs_now == 0)?;
    let last = |name| state.history.last(name).filter(|_| epochs_now > 0);
    let (mse, perplexity, used) = match (last("test MSE"), last("perplexity"), last("codes used")) {
        (Some(m), Some(p), Some(u)) => (m, p, u),
        _ => evaluate(&model.valid(), &test, args.codes, &device),
    };
    println!(
        "test MSE {mse:.5} per pixel, codebook perplexity {perplexity:.1} of {}, {:.0}% of codes used",
        args.codes,
        used * 100.0
    );
    write_pictures(&model.valid(), &test, &dir, &device, args.codes)?;
    let figures = json!({
        "test_mse_per_pixel": mse,
        "codebook_perplexity": perplexity,
        "codes_used_fraction": used,
        "codes_restarted": maintenance.restarted(),
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

/// `reconstructions.png` and `codes.png` (each of 64 codes filling the whole grid, decoded).
fn write_pictures(
    model: &VqVae,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
    codes: usize,
) -> Result<(), Failure> {
    let mut noise = NoiseSource::seed_from_u64(1);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let (recon, _) = model.forward(x.clone());
    let mut pairs = pixels(x);
    pairs.extend(pixels(recon));
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let shown = codes.min(64);
    let e = model.codebook.val().narrow(0, 0, shown);
    let d = e.dims()[1];
    let grid = e.reshape([shown, d, 1, 1]).expand([shown, d, GRID, GRID]);
    let decoded = sigmoid(model.decode(grid));
    save_grid(&out.join("codes.png"), &pixels(decoded), 8)
}
