//! Codebook maintenance of the VQ-VAE, done between optimizer steps: exponential moving
//! averages (EMA) of the encoder outputs assigned to each code, and restarts of codes no
//! encoder output uses. Neither is a gradient step, so they sit here, apart from the training
//! loop of `main.rs`, where the straight-through estimator is the lesson.

use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};
use mcgrad::NoiseSource;
use rand::RngExt;
use serde_json::{Value, json};

use super::common::pictures::pixels;
use super::{Quantized, VqVae};

/// What the maintenance does after each optimizer step, and the state it carries from step
/// to step (saved with each checkpoint, so that `--resume` continues it).
pub struct Maintenance {
    /// Codebook entries K.
    codes: usize,
    /// The EMA decay γ, or `None` without EMA (the codebook loss trains the codebook then).
    ema: Option<f64>,
    /// Steps between dead-code checks, or `None` without restarts.
    restart_every: Option<usize>,
    /// Code usage since the last check, summed on the device.
    usage: Option<Tensor<1>>,
    /// Codes moved so far in the run.
    restarted: usize,
}

impl Maintenance {
    pub fn new(codes: usize, ema: Option<f64>, restart_every: Option<usize>) -> Self {
        Self {
            codes,
            ema,
            restart_every,
            usage: None,
            restarted: 0,
        }
    }

    /// Codes moved so far in the run.
    pub fn restarted(&self) -> usize {
        self.restarted
    }

    /// After the optimizer step `step` (counted from 0 over the whole run) on the batch
    /// quantized as `q`: the EMA update of the codebook, then, every `restart_every` steps,
    /// the restart of the codes used by fewer than 1e-3 of the grid cells since the last
    /// check (drawing the new positions from `noise`).
    pub fn after_step(
        &mut self,
        mut model: VqVae,
        q: &Quantized,
        step: usize,
        noise: &mut NoiseSource,
    ) -> VqVae {
        if let Some(decay) = self.ema {
            model = model.ema_update(q, decay);
        }
        if let Some(every) = self.restart_every {
            let counts = q.counts(self.codes);
            let total = match self.usage.take() {
                Some(u) => u + counts,
                None => counts,
            };
            if (step + 1).is_multiple_of(every) {
                let total: Vec<f64> = pixels(total).into_iter().map(f64::from).collect();
                let (m, moved) = model.restart_dead(&total, q, noise, self.ema.is_some());
                model = m;
                self.restarted += moved;
            } else {
                self.usage = Some(total);
            }
        }
        model
    }

    /// The state to save: the usage since the last check (exact: counts below 2^24 in f32)
    /// and the restart count.
    pub fn to_json(&self) -> Value {
        json!({
            "usage": self.usage.clone().map(pixels),
            "restarted": self.restarted,
        })
    }

    /// Continues from a saved state (null: nothing to restore).
    pub fn restore(&mut self, saved: &Value, device: &Device) {
        if let Some(usage) = saved["usage"].as_array() {
            let usage: Vec<f32> = usage
                .iter()
                .map(|v| v.as_f64().unwrap_or(0.0) as f32)
                .collect();
            let k = usage.len();
            self.usage = Some(Tensor::from_data(TensorData::new(usage, [k]), device));
        }
        self.restarted = saved["restarted"].as_u64().unwrap_or(0) as usize;
    }
}

impl VqVae {
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
            IndexingUpdateOp::Add,
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
                IndexingUpdateOp::Add,
            );
            let sum = out.ema_sum.val().detach();
            let old_sum = sum.clone().select(0, targets.clone());
            let sum = sum.select_assign(0, targets, replacement - old_sum, IndexingUpdateOp::Add);
            out = Self {
                ema_count: out.ema_count.map(|_| count),
                ema_sum: out.ema_sum.map(|_| sum),
                ..out
            };
        }
        (out, moved)
    }
}
