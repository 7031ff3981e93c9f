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
//! codebook collapse.
//!
//! **What to look at.** In `runs/vq_vae/`: `metrics.json` (test reconstruction MSE per
//! pixel, codebook perplexity `exp(H(code usage))` and the fraction of codes in use on the
//! test set), `reconstructions.png` (rows of test images above their reconstructions: sharp,
//! the strokes kept), `codes.png` (what each of 64 codes decodes to when it fills the whole
//! 7×7 grid: textures and stroke fragments rather than digits), `curves.png`, and the
//! checkpoint. A perplexity far below K, or few codes in use, is codebook collapse.
//!
//! Run: `cargo run --release --features wgpu --example vq_vae -- --ema --restart-dead`.

#[path = "../common/mod.rs"]
mod common;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::Distribution as Init;
use burn::tensor::TensorData;
use burn::tensor::activation::{relu, sigmoid};
use clap::Parser;
use mcgrad::NoiseSource;
use mcgrad::distributions::one_hot;
use mcgrad::estimators::straight_through;
use rand::RngExt;
use serde_json::json;

use common::cli::CommonArgs;
use common::mnist::{Binarization, PIXELS, Prepared};
use common::outputs::save_grid;
use common::session::{Outcome, Session, descend};

#[derive(Debug, Parser, serde::Serialize)]
#[command(about = "VQ-VAE on MNIST with the straight-through estimator on a codebook")]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Codebook entries K.
    #[arg(long, default_value_t = 128)]
    codes: usize,
    /// Code dimension D.
    #[arg(long, default_value_t = 32)]
    code_dim: usize,
    /// Commitment weight β.
    #[arg(long, default_value_t = 0.25)]
    beta: f64,
    /// Update the codebook by exponential moving averages instead of the codebook loss.
    #[arg(long)]
    ema: bool,
    /// EMA decay γ.
    #[arg(long, default_value_t = 0.99)]
    ema_decay: f64,
    /// Move codes unused over the last `--restart-every` steps onto random encoder outputs.
    #[arg(long)]
    restart_dead: bool,
    /// Steps between dead-code checks.
    #[arg(long, default_value_t = 100)]
    restart_every: usize,
}

/// Grid side of the latent map (28 → 14 → 7).
const GRID: usize = 7;

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
    /// EMA state: the running count of assignments per code `[K]` ...
    ema_count: Param<Tensor<1>>,
    /// ... and the running sum of assigned encoder outputs `[K, D]`.
    ema_sum: Param<Tensor<2>>,
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
    fn new(codes: usize, dim: usize, device: &Device) -> Self {
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
        let scale = 1.0 / codes as f64;
        Self {
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

    /// The EMA codebook update (γ the decay, Laplace smoothing ε = 1e-5):
    /// `N_k ← γN_k + (1 − γ)n_k`, `m_k ← γm_k + (1 − γ)Σ_{i→k} z_e,i`, `e_k = m_k/N̂_k`.
    fn ema_update(self, q: &Quantized, decay: f64) -> Self {
        let k = self.codebook.dims()[0];
        let onehot = q.one_hot(k); // [M, K]
        let counts = onehot.clone().sum_dim(0).reshape([k]);
        let sums = onehot.transpose().matmul(q.z_e_rows.clone().detach());
        let count = self.ema_count.val().detach() * decay + counts * (1.0 - decay);
        let sum = self.ema_sum.val().detach() * decay + sums * (1.0 - decay);
        let n = count.clone().sum();
        let smoothed = (count.clone() + 1e-5) / (n.clone() + k as f64 * 1e-5) * n;
        let codebook = sum.clone() / smoothed.reshape([k, 1]);
        Self {
            codebook: self.codebook.map(|_| codebook.detach()),
            ema_count: self.ema_count.map(|_| count.detach()),
            ema_sum: self.ema_sum.map(|_| sum.detach()),
            ..self
        }
    }

    /// Moves codes with fewer than 1e-3 of the assignments in `usage` onto random encoder
    /// outputs of the batch. Returns the model and the number of codes moved.
    fn restart_dead(
        self,
        usage: &[f64],
        q: &Quantized,
        noise: &mut NoiseSource,
        ema: bool,
    ) -> (Self, usize) {
        let total: f64 = usage.iter().sum();
        let dead: Vec<usize> = (0..usage.len())
            .filter(|&k| usage[k] < 1e-3 * total)
            .collect();
        if dead.is_empty() {
            return (self, 0);
        }
        let m = q.z_e_rows.dims()[0];
        let device = q.z_e_rows.device();
        let picks: Vec<i64> = dead
            .iter()
            .map(|_| noise.rng().random_range(0..m) as i64)
            .collect();
        let targets = Tensor::<1, Int>::from_data(
            TensorData::new(
                dead.iter().map(|&k| k as i64).collect::<Vec<_>>(),
                [dead.len()],
            ),
            &device,
        );
        let replacement = q.z_e_rows.clone().detach().select(
            0,
            Tensor::from_data(TensorData::new(picks, [dead.len()]), &device),
        );
        let moved = dead.len();
        let codebook = self.codebook.val().detach();
        let old = codebook.clone().select(0, targets.clone());
        let codebook = codebook.select_assign(
            0,
            targets.clone(),
            replacement.clone() - old,
            burn::tensor::IndexingUpdateOp::Add,
        );
        let mut out = Self {
            codebook: self.codebook.map(|_| codebook.require_grad()),
            ..self
        };
        if ema {
            // restart the running averages of the moved codes at their new position
            let count = out.ema_count.val().detach();
            let old_count = count.clone().select(0, targets.clone());
            let count = count.select_assign(
                0,
                targets.clone(),
                old_count.neg().add_scalar(1.0),
                burn::tensor::IndexingUpdateOp::Add,
            );
            let sum = out.ema_sum.val().detach();
            let old_sum = sum.clone().select(0, targets.clone());
            let sum = sum.select_assign(
                0,
                targets,
                replacement - old_sum,
                burn::tensor::IndexingUpdateOp::Add,
            );
            out = Self {
                ema_count: out.ema_count.map(|_| count),
                ema_sum: out.ema_sum.map(|_| sum),
                ..out
            };
        }
        (out, moved)
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

fn main() -> Outcome<()> {
    let args = Args::parse();
    let c = &args.common;
    let session = Session::start(c, "vq_vae")?;
    let (epochs, batch, lr) = (
        c.epochs.unwrap_or(1),
        c.batch_size.unwrap_or(64),
        c.lr.unwrap_or(1e-3),
    );
    println!(
        "K = {}, D = {}, EMA {}, dead-code restarts {}",
        args.codes, args.code_dim, args.ema, args.restart_dead
    );

    // Continuous intensities: the reconstruction loss is the squared error.
    let (train, test) = session.data(Binarization::None, usize::MAX)?;
    let model = session.restore(VqVae::new(args.codes, args.code_dim, &session.train_device))?;

    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    // code usage since the last restart check, summed on the device
    let mut usage: Option<Tensor<1>> = None;
    let mut restarted = 0usize;
    let device = session.device.clone();
    let (model, history) = session.train(
        model,
        &train,
        (epochs, batch),
        &mut noise,
        |model, x, at, noise| {
            let (recon, q) = model.forward(x.clone());
            let reconstruction = (recon - x).square().mean();
            let mut loss = reconstruction.clone() + q.commitment_loss.clone() * args.beta;
            if !args.ema {
                loss = loss + q.codebook_loss.clone();
            }
            let (mut model, _) = descend(&mut optimizer, lr, model, loss);
            if args.ema {
                model = model.ema_update(&q, args.ema_decay);
            }
            if args.restart_dead {
                let counts = q.counts(args.codes);
                let total = match usage.take() {
                    Some(u) => u + counts,
                    None => counts,
                };
                if (at.step + 1) % args.restart_every == 0 {
                    let total = total.try_into_vec_as::<f32>()?;
                    let total: Vec<f64> = total.into_iter().map(f64::from).collect();
                    let (m, moved) = model.restart_dead(&total, &q, noise, args.ema);
                    model = m;
                    restarted += moved;
                } else {
                    usage = Some(total);
                }
            }
            // the reported loss is the reconstruction error alone
            Ok((model, reconstruction.detach()))
        },
        |model, _| {
            let (mse, perplexity, used) = evaluate(&model.valid(), &test, args.codes, &device);
            Ok(vec![
                ("test MSE", mse),
                ("perplexity", perplexity),
                ("codes used", used),
            ])
        },
    )?;

    let valid = model.valid();
    let (mse, perplexity, used) = (
        history.figure("test MSE")?,
        history.figure("perplexity")?,
        history.figure("codes used")?,
    );
    println!(
        "test MSE {mse:.5} per pixel, codebook perplexity {perplexity:.1} of {}, {:.0}% of codes used",
        args.codes,
        used * 100.0
    );
    write_pictures(&valid, &test, &session.out, &device, args.codes)?;
    session.finish(
        "VQ-VAE on MNIST",
        "MSE per pixel",
        &["train", "test MSE"],
        json!({
            "test_mse_per_pixel": mse,
            "codebook_perplexity": perplexity,
            "codes_used_fraction": used,
            "codes_restarted": restarted,
        }),
        &history,
        &args,
    )
}

/// `reconstructions.png` and `codes.png` (each of 64 codes filling the whole grid, decoded).
fn write_pictures(
    model: &VqVae,
    test: &Prepared,
    out: &std::path::Path,
    device: &Device,
    codes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut noise = NoiseSource::seed_from_u64(1);
    let n = test.len().min(16);
    let idx: Vec<usize> = (0..n).collect();
    let x = test.batch(&idx, &mut noise, device);
    let (recon, _) = model.forward(x.clone());
    let mut pairs = x.try_into_vec_as::<f32>()?;
    pairs.extend(recon.try_into_vec_as::<f32>()?);
    save_grid(&out.join("reconstructions.png"), &pairs, n)?;
    let shown = codes.min(64);
    let e = model.codebook.val().narrow(0, 0, shown);
    let d = e.dims()[1];
    let grid = e.reshape([shown, d, 1, 1]).expand([shown, d, GRID, GRID]);
    let decoded = sigmoid(model.decode(grid));
    save_grid(
        &out.join("codes.png"),
        &decoded.try_into_vec_as::<f32>()?,
        8,
    )?;
    Ok(())
}
