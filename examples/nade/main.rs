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
//! on the pixels before it, one masked 784 × 784 matrix (published: about 97.45 nats). Its
//! default recipe, 10 epochs of Adam at 1e-2 decayed by 0.75 per epoch (`--lr-decay`), reaches
//! 98.1 nats in about a minute on 2 cores.
//!
//! **What to look at.** In `runs/nade/` (or `runs/fvsbn/`): `metrics.json` (`test_nll_nats`,
//! exact), `curves.png` (training and test NLL per epoch), `samples.png` (images drawn pixel
//! by pixel from the model: ancestral sampling, 784 sequential steps), `data.png` (test images
//! for comparison) and the checkpoint.
//!
//! Run: `cargo run --release --features wgpu --example nade` (a CPU-sized default: one pass
//! over 15 000 images at Adam 3e-3: 107.5 nats in five minutes). The full recipe,
//! `cargo run --release --features wgpu --example nade -- --train-limit 60000 --epochs 15
//! --batch-size 100 --lr 1e-3 --device wgpu`, reached 88.79 nats on a GPU (docs/RESULTS.md;
//! published NADE: 88.86).

#[path = "../common/mod.rs"]
mod common;

use burn::module::Param;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::Distribution as Init;
use burn::tensor::activation::sigmoid;
use clap::Parser;
use mcgrad::distributions::sum_per_row;
use mcgrad::distributions::{Bernoulli, Distribution};
use mcgrad::{NoiseSource, StandardNoise};
use serde_json::json;

use common::cli::CommonArgs;
use common::mnist::{Binarization, PIXELS};
use common::outputs::save_grid;
use common::session::{Outcome, Session, descend, test_mean};

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
    /// Learning-rate decay per epoch: epoch e (from 0) trains at `lr · decay^e` [default:
    /// 1 for NADE, 0.75 for FVSBN].
    #[arg(long)]
    lr_decay: Option<f64>,
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
        let pixels = Bernoulli::from_logits_unchecked(self.logits(x.clone())).expect("never fails");
        sum_per_row(pixels.log_prob(&x).expect("same shape")).neg()
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

fn main() -> Outcome<()> {
    let args = Args::parse();
    let name = match args.model {
        ModelChoice::Nade => "nade",
        ModelChoice::Fvsbn => "fvsbn",
    };
    let session = Session::start(&args.common, name)?;
    match args.model {
        ModelChoice::Nade => run(
            &args,
            &session,
            Nade::new(args.hidden, &session.train_device),
        ),
        ModelChoice::Fvsbn => run(&args, &session, Fvsbn::new(&session.train_device)),
    }
}

fn run<M: Autoregressive>(args: &Args, session: &Session, model: M) -> Outcome<()> {
    let c = &args.common;
    // NADE's [B, 784, 500] activations are element-wise work, which Burn's CPU backend runs on
    // one thread with scalar exp: its CPU default is one pass over 15 000 images in batches of
    // 20 at a large step, 3e-3 (under 10 minutes on 2 cores). Full runs: --train-limit 60000
    // --epochs N --lr 1e-3, on a GPU (--device wgpu) for the published figures.
    // FVSBN is a convex problem per pixel: a large step that decays finds its optimum in a
    // few epochs, where Adam at 1e-3 is still far from it after five (121 nats).
    let (epochs, batch, limit, lr, decay) = match args.model {
        ModelChoice::Nade => (
            c.epochs.unwrap_or(1),
            c.batch_size.unwrap_or(20),
            15_000,
            c.lr.unwrap_or(3e-3),
            args.lr_decay.unwrap_or(1.0),
        ),
        ModelChoice::Fvsbn => (
            c.epochs.unwrap_or(10),
            c.batch_size.unwrap_or(100),
            usize::MAX,
            c.lr.unwrap_or(1e-2),
            args.lr_decay.unwrap_or(0.75),
        ),
    };

    // Fixed binarization (the classic binarized MNIST): train and test drawn once.
    let (train, test) = session.data(Binarization::Fixed, limit)?;
    let model = session.restore(model)?;

    // Exact maximum likelihood: the loss is −ln p(x) itself, no estimator needed.
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut noise = NoiseSource::seed_from_u64(c.seed);
    let device = session.device.clone();
    let (model, history) = session.train(
        model,
        &train,
        (epochs, batch),
        &mut noise,
        |model, x, at, _| {
            let loss = model.nll(x).mean();
            let rate = lr * decay.powi(at.epoch as i32 - 1);
            Ok(descend(&mut optimizer, rate, model, loss))
        },
        |model, _| {
            let valid = model.valid();
            Ok(vec![(
                "test NLL",
                test_mean(&test, 200, 0, &device, |x, _| valid.nll(x)),
            )])
        },
    )?;

    let valid = model.valid();
    let test_nll = history.figure("test NLL")?;
    println!("test NLL {test_nll:.2} nats (exact)");
    let mut sample_noise = NoiseSource::seed_from_u64(c.seed ^ 0xa5);
    let samples = valid.sample(36, &mut sample_noise, &device);
    save_grid(
        &session.out.join("samples.png"),
        &samples.try_into_vec_as::<f32>()?,
        6,
    )?;
    let shown: Vec<usize> = (0..test.len().min(36)).collect();
    save_grid(
        &session.out.join("data.png"),
        &test
            .batch(&shown, &mut sample_noise, &device)
            .try_into_vec_as::<f32>()?,
        6,
    )?;
    session.finish(
        &format!("{} on binarized MNIST", session.example.to_uppercase()),
        "NLL, nats per image",
        &["train", "test NLL"],
        json!({ "model": args.model, "test_nll_nats": test_nll }),
        &history,
        args,
    )
}
