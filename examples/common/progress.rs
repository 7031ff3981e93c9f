//! The progress bar of an epoch, with the running training loss, which it also watches: a loss
//! that is not finite stops the run.

use std::time::{Duration, Instant};

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use super::failure::Failure;

/// How many steps' losses are added up on the device before one read (a device sync) updates
/// the bar and checks that the loss is finite.
pub const LOSS_READ_EVERY: usize = 20;

/// One epoch's progress: the bar, the steps taken, the losses read so far.
pub struct Progress {
    bar: Option<ProgressBar>,
    epoch: usize,
    started: Instant,
    steps: usize,
    total: usize,
    unread: Option<(Tensor<1>, usize)>,
    loss_sum: f64,
    loss_count: usize,
}

impl Progress {
    /// The progress of epoch `epoch` of `epochs`, `total` steps long; no bar with `quiet`.
    pub fn new(epoch: usize, epochs: usize, total: usize, quiet: bool) -> Self {
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{epoch}/{epochs}"));
            bar
        });
        Self {
            bar,
            epoch,
            started: Instant::now(),
            steps: 0,
            total,
            unread: None,
            loss_sum: 0.0,
            loss_count: 0,
        }
    }

    /// One step done, with its loss (a scalar, detached, still on the device). Every
    /// [`LOSS_READ_EVERY`] steps, and at the last one, the losses are read: a NaN or an
    /// infinity stops the run with [`Failure::Diverged`].
    pub fn step(&mut self, loss: Tensor<1>) -> Result<(), Failure> {
        self.steps += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        let (sum, n) = match self.unread.take() {
            Some((sum, n)) => (sum + loss, n + 1),
            None => (loss, 1),
        };
        if n < LOSS_READ_EVERY && self.steps < self.total {
            self.unread = Some((sum, n));
            return Ok(());
        }
        let sum = sum.into_scalar::<f32>() as f64;
        if !sum.is_finite() {
            if let Some(bar) = &self.bar {
                bar.finish_and_clear();
            }
            return Err(Failure::Diverged {
                epoch: self.epoch,
                what: format!(
                    "the training loss is {sum} over steps {}-{} of the epoch",
                    self.steps + 1 - n,
                    self.steps
                ),
            });
        }
        self.loss_sum += sum;
        self.loss_count += n;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {:.3}", self.mean_loss()));
        }
        Ok(())
    }

    /// The mean of the losses read.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.loss_count.max(1) as f64
    }

    /// Ends the epoch: clears the bar; returns (mean training loss, steps, time).
    pub fn finish(self) -> (f64, usize, Duration) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        (self.mean_loss(), self.steps, self.started.elapsed())
    }
}
