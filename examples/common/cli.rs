//! The command line every example shares, and the device chosen by name.

use std::path::PathBuf;

use burn::prelude::*;

use super::mnist::Binarization;

/// Options common to every example. Example-specific defaults (epochs, batch size, learning
/// rate) apply where an option is left out.
#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct CommonArgs {
    /// Folder of the MNIST IDX files (raw or .gz).
    #[arg(long, default_value = "data/mnist")]
    pub data_dir: PathBuf,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Examples per training step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of every random draw of the run (initialization, shuffling, noise).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: flex (CPU, default), ndarray (CPU, deprecated upstream) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Folder for metrics.json, pictures and the checkpoint (default runs/<example>).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Skip training: load the checkpoint (from --resume, or the out dir) and evaluate.
    #[arg(long)]
    pub eval_only: bool,
    /// Start from this checkpoint (a Burn record written by an earlier run).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Binarization of the training images (the test set uses `fixed` unless `none`).
    #[arg(long, value_enum)]
    pub binarization: Option<Binarization>,
    /// Use only the first N training images (smoke tests, quick looks).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// Stop each epoch after N steps (smoke tests).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop training after the first epoch that ends past this many minutes of training
    /// (then evaluate and write the outputs as usual).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// CPU threads for the flex and ndarray backends (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep denormal floats (by default they are flushed to zero on the CPU).
    #[arg(long)]
    pub keep_denormals: bool,
    /// No progress bar (logs and CI).
    #[arg(long)]
    pub quiet: bool,
}

impl CommonArgs {
    /// The output folder, created.
    pub fn out_dir(&self, example: &str) -> std::io::Result<PathBuf> {
        let dir = self
            .out_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(example));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Sets up the CPU thread pool (`--threads`, denormals) before any backend starts.
    pub fn init_cpu(&self) {
        super::init_cpu(self.threads, !self.keep_denormals);
    }

    /// True once `train_seconds` of training passed the `--max-minutes` budget.
    pub fn out_of_time(&self, train_seconds: f64) -> bool {
        self.max_minutes.is_some_and(|m| train_seconds >= m * 60.0)
    }

    /// The device named by `--device`.
    pub fn device(&self) -> Result<Device, String> {
        device_by_name(&self.device)
    }
}

/// A device by name; a backend whose feature is not compiled in is an error.
pub fn device_by_name(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        other => Err(format!(
            "unknown device `{other}` (flex, ndarray, wgpu; ndarray and wgpu need the cargo features of the same names)"
        )),
    }
}
