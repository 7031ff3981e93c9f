//! One training session of an example, the same for every example: devices, data, checkpoint
//! restore, the epoch loop with its progress bar, timing and checkpoints, and the final
//! metrics.json. An example brings its model, its step and its evaluation.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use mcgrad::NoiseSource;
use serde_json::{Value, json};

use super::cli::CommonArgs;
use super::mnist::{self, Binarization, Prepared};
use super::outputs::{Progress, plot_curves, write_json};

/// The result type of the examples' plumbing.
pub type Outcome<T> = Result<T, Box<dyn Error>>;

/// A run of one example.
pub struct Session<'a> {
    pub args: &'a CommonArgs,
    pub example: &'static str,
    /// Where the outputs go.
    pub out: PathBuf,
    /// The device for evaluation.
    pub device: Device,
    /// The same device with autodiff, for training.
    pub train_device: Device,
    checkpoint: PathBuf,
    started: Instant,
}

/// What an epoch loop recorded.
#[derive(Debug, Default)]
pub struct History {
    /// Named curves, (epoch, value); the first is the training loss.
    pub curves: Vec<(String, Vec<(f64, f64)>)>,
    pub epoch_seconds: Vec<f64>,
    pub steps: usize,
    /// The figures of the last evaluation: the last epoch's, or, when no epoch ran
    /// (`--eval-only`), of the restored model.
    pub figures: Vec<(&'static str, f64)>,
}

impl History {
    /// Seconds spent in training steps.
    pub fn train_seconds(&self) -> f64 {
        self.epoch_seconds.iter().sum()
    }

    pub fn steps_per_sec(&self) -> f64 {
        self.steps as f64 / self.train_seconds().max(1e-9)
    }

    /// The last value of the curve `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.curves
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.last())
            .map(|p| p.1)
    }

    /// The final evaluation's figure `name`.
    pub fn figure(&self, name: &str) -> Outcome<f64> {
        self.figures
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("the evaluation has no figure named {name:?}").into())
    }

    fn record(&mut self, name: &str, epoch: usize, value: f64) {
        match self.curves.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => c.push((epoch as f64, value)),
            None => self
                .curves
                .push((name.to_string(), vec![(epoch as f64, value)])),
        }
    }
}

/// Where the epoch loop is: the epoch (from 1) and the number of steps taken before this one.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub epoch: usize,
    pub step: usize,
}

/// How many steps' losses are added up on the device before one read (a device sync) updates
/// the progress bar.
const LOSS_READ_EVERY: usize = 20;

impl<'a> Session<'a> {
    /// Sets up the CPU, the output folder and the devices; seeds Burn's parameter
    /// initializers (which draw from the device's generator) with `--seed`.
    pub fn start(args: &'a CommonArgs, example: &'static str) -> Outcome<Self> {
        args.init_cpu();
        let out = args.out_dir(example)?;
        let device = args.device()?;
        let train_device = device.clone().autodiff();
        train_device.seed(args.seed);
        Ok(Self {
            args,
            example,
            checkpoint: out.join("model.bpk"),
            out,
            device,
            train_device,
            started: Instant::now(),
        })
    }

    /// The training and test splits: training binarized by `--binarization` (default
    /// `train_mode`), the test set fixed-binarized once with seed 12345 (or left continuous
    /// when the training data is), each cut to its `--*-limit`.
    pub fn data(
        &self,
        train_mode: Binarization,
        default_train_limit: usize,
    ) -> Outcome<(Prepared, Prepared)> {
        let a = self.args;
        let mode = a.binarization.unwrap_or(train_mode);
        let test_mode = if mode == Binarization::None {
            Binarization::None
        } else {
            Binarization::Fixed
        };
        let data = mnist::load(&a.data_dir)?;
        // seed + 1: a fixed binarization must not replay the stream that the examples'
        // training noise (seeded with `--seed`) draws from
        let train = Prepared::new(
            data.train
                .truncate(a.train_limit.unwrap_or(default_train_limit)),
            mode,
            a.seed.wrapping_add(1),
        );
        let test = Prepared::new(
            data.test.truncate(a.test_limit.unwrap_or(usize::MAX)),
            test_mode,
            12345,
        );
        println!(
            "{}: MNIST, {} training and {} test images, {mode:?} binarization",
            self.example,
            train.len(),
            test.len()
        );
        Ok((train, test))
    }

    /// The model from `--resume`, or from the out dir's checkpoint with `--eval-only`.
    pub fn restore<M: Module>(&self, model: M) -> Outcome<M> {
        let a = self.args;
        match a
            .resume
            .clone()
            .or_else(|| a.eval_only.then(|| self.checkpoint.clone()))
        {
            Some(path) => {
                let model = model
                    .try_load_file(&path)
                    .map_err(|e| format!("loading {}: {e}", path.display()))?;
                println!("loaded {}", path.display());
                Ok(model)
            }
            None => Ok(model),
        }
    }

    /// The epoch loop over `(epochs, batch size)`: shuffles the training set each epoch with
    /// `noise`, calls `step` on each batch (already on the training device; it returns the
    /// updated model and the batch loss, a scalar kept on the device and read every
    /// [`LOSS_READ_EVERY`] steps), shows the progress bar, then calls `evaluate` (named test
    /// figures, given the steps taken), prints the epoch's line and writes the checkpoint.
    /// Stops early at `--max-minutes`. With `--eval-only` no epoch runs and `evaluate` is
    /// called once on the restored model; either way [`History::figures`] holds the last
    /// evaluation.
    pub fn train<M, S, E>(
        &self,
        mut model: M,
        train: &Prepared,
        (epochs, batch): (usize, usize),
        noise: &mut NoiseSource,
        mut step: S,
        mut evaluate: E,
    ) -> Outcome<(M, History)>
    where
        M: Module + Clone,
        S: FnMut(M, Tensor<2>, At, &mut NoiseSource) -> Outcome<(M, Tensor<1>)>,
        E: FnMut(&M, usize) -> Outcome<Vec<(&'static str, f64)>>,
    {
        let a = self.args;
        let mut history = History::default();
        for epoch in 1..=if a.eval_only { 0 } else { epochs } {
            let order = mnist::shuffled(train.len(), noise);
            let batches: Vec<&[usize]> = order
                .chunks(batch)
                .take(a.max_steps.unwrap_or(usize::MAX))
                .collect();
            let count = batches.len();
            let mut progress = Progress::new(epoch, epochs, count, a.quiet);
            let mut unread: Option<(Tensor<1>, usize)> = None;
            for (i, idx) in batches.into_iter().enumerate() {
                let x = train.batch(idx, noise, &self.train_device);
                let at = At {
                    epoch,
                    step: history.steps + i,
                };
                let (next, loss) = step(model, x, at, noise)?;
                model = next;
                progress.step();
                let (sum, n) = match unread.take() {
                    Some((sum, n)) => (sum + loss, n + 1),
                    None => (loss, 1),
                };
                if n == LOSS_READ_EVERY || i + 1 == count {
                    progress.losses(sum.into_scalar::<f32>() as f64, n);
                } else {
                    unread = Some((sum, n));
                }
            }
            let train_loss = progress.mean_loss();
            let (steps, elapsed) = progress.finish();
            history.steps += steps;
            history.epoch_seconds.push(elapsed.as_secs_f64());
            history.record("train", epoch, train_loss);
            let figures = evaluate(&model, history.steps)?;
            let shown: Vec<String> = figures.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
            println!(
                "epoch {epoch}: train {train_loss:.4}, {} ({:.1} s, {:.1} steps/s)",
                shown.join(", "),
                elapsed.as_secs_f64(),
                steps as f64 / elapsed.as_secs_f64()
            );
            for &(name, value) in &figures {
                history.record(name, epoch, value);
            }
            history.figures = figures;
            model.clone().save_file(&self.checkpoint)?;
            if a.out_of_time(history.train_seconds()) {
                println!("--max-minutes reached after epoch {epoch}");
                break;
            }
        }
        if history.epoch_seconds.is_empty() {
            history.figures = evaluate(&model, history.steps)?;
        }
        Ok((model, history))
    }

    /// Writes `curves.png` (the curves named in `plotted`, which share the unit `y_label`,
    /// when there was training) and `metrics.json`: the example's `figures` plus the shared
    /// fields (steps, speed, times, every curve, configuration, device).
    pub fn finish(
        &self,
        title: &str,
        y_label: &str,
        plotted: &[&str],
        figures: Value,
        history: &History,
        config: &impl serde::Serialize,
    ) -> Outcome<()> {
        let shown: Vec<_> = history
            .curves
            .iter()
            .filter(|(n, _)| plotted.contains(&n.as_str()))
            .cloned()
            .collect();
        if !shown.is_empty() {
            plot_curves(
                &self.out.join("curves.png"),
                title,
                "epoch",
                y_label,
                &shown,
            )?;
        }
        let wall = self.started.elapsed().as_secs_f64();
        let mut metrics = json!({
            "example": self.example,
            "epochs": history.epoch_seconds.len(),
            "steps": history.steps,
            "steps_per_sec": history.steps_per_sec(),
            "epoch_seconds": history.epoch_seconds,
            "wall_seconds": wall,
            "curves": history.curves.iter().map(|(n, c)| (n.clone(), json!(c))).collect::<serde_json::Map<_, _>>(),
            "config": config,
            "device": format!("{:?}", self.device),
        });
        if let (Value::Object(m), Value::Object(f)) = (&mut metrics, figures) {
            m.extend(f);
        }
        write_json(&self.out.join("metrics.json"), &metrics)?;
        println!("wrote {} ({wall:.0} s)", self.out.display());
        Ok(())
    }
}

/// The mean of `f` over the test set, in batches, with fixed evaluation seeds (one for the
/// model's noise, one for the data's).
pub fn test_mean(
    test: &Prepared,
    batch: usize,
    seed: u64,
    device: &Device,
    mut f: impl FnMut(Tensor<2>, &mut NoiseSource) -> Tensor<1>,
) -> f64 {
    let mut noise = NoiseSource::seed_from_u64(seed);
    let mut data_noise = NoiseSource::seed_from_u64(seed ^ 1);
    let indices: Vec<usize> = (0..test.len()).collect();
    let total: f64 = indices
        .chunks(batch)
        .map(|chunk| {
            f(test.batch(chunk, &mut data_noise, device), &mut noise)
                .sum()
                .into_scalar::<f32>() as f64
        })
        .sum();
    total / test.len() as f64
}

/// One optimizer step on a scalar `loss` of `model`: backward, the gradients of the model's
/// parameters, the update at learning rate `lr`. Returns the updated model and the loss,
/// detached and still on the device (no sync).
pub fn descend<M: Module>(
    optimizer: &mut ModuleOptimizer,
    lr: f64,
    model: M,
    loss: Tensor<1>,
) -> (M, Tensor<1>) {
    let value = loss.clone().detach();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optimizer.step(lr, model, grads), value)
}
