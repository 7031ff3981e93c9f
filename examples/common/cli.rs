//! The command line every example shares: options checked as they are parsed, errors as one
//! line, and the device chosen by name.

use std::path::PathBuf;

use burn::prelude::*;
use clap::{ArgMatches, Command};

use super::failure::Failure;
use super::mnist::Binarization;

/// Options common to every example. Each example sets the defaults of `--epochs`,
/// `--batch-size` and `--lr` (shown by `--help`) with [`parse`].
#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct CommonArgs {
    /// Folder of the MNIST IDX files (raw or .gz).
    #[arg(long, default_value = "data/mnist", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Train up to this epoch (with --resume: continue up to it). 0 trains nothing and
    /// evaluates the model, writing to <out dir>/eval/ (eval-2/, … when earlier evaluations
    /// are there).
    #[arg(long, value_name = "N", value_parser = epochs)]
    pub epochs: usize,
    /// Examples per training step.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, value_name = "X", value_parser = positive_finite)]
    pub lr: f64,
    /// Seed of every random draw of the run (initialization, shuffling, binarization, noise).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = whole)]
    pub seed: u64,
    /// The Burn device: flex (CPU), ndarray (CPU, deprecated upstream) or wgpu (GPU).
    #[arg(long, value_enum, default_value = "flex")]
    pub device: DeviceName,
    /// Folder of the run: checkpoint, metrics.json, history.json, pictures [default:
    /// runs/<example>].
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Train nothing: evaluate the out dir's model.bpk and write the figures and pictures to
    /// <out dir>/eval/, or eval-2/, … when earlier evaluations are there (the training run's
    /// files and earlier evaluations are left alone).
    #[arg(long, conflicts_with_all = ["resume", "overwrite"])]
    pub eval_only: bool,
    /// Continue the run saved in the out dir: weights, optimizer state, epoch and step
    /// counters, noise stream and history, up to --epochs.
    #[arg(long)]
    pub resume: bool,
    /// Start a new run in an out dir that holds one (its files are replaced as the new run
    /// writes its own).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Binarization of the training images (the test set is fixed-binarized unless `none`).
    #[arg(long, value_enum)]
    pub binarization: Option<Binarization>,
    /// Use only the first N training images [default: all 60000].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images [default: all 10000].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub test_limit: Option<usize>,
    /// Stop each epoch after N steps (smoke tests, quick looks).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub max_steps: Option<usize>,
    /// Stop after the first epoch that ends past this many minutes of training in this
    /// invocation (then evaluate and write the outputs as usual).
    #[arg(long, value_name = "X", value_parser = positive_finite)]
    pub max_minutes: Option<f64>,
    /// CPU threads of the flex and ndarray backends [default: all cores].
    #[arg(long, value_name = "N", value_parser = threads)]
    pub threads: Option<usize>,
    /// Keep denormal floats (by default they are flushed to zero on the CPU).
    #[arg(long)]
    pub keep_denormals: bool,
    /// No progress bar (logs and CI).
    #[arg(long)]
    pub quiet: bool,
}

/// The devices an example can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceName {
    Flex,
    Ndarray,
    Wgpu,
}

impl CommonArgs {
    /// The run's folder: `--out-dir`, or `runs/<example>`.
    pub fn out_dir(&self, example: &str) -> PathBuf {
        self.out_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(example))
    }

    /// The last epoch to train: `--epochs`, or 0 with `--eval-only`.
    pub fn last_epoch(&self) -> usize {
        if self.eval_only { 0 } else { self.epochs }
    }

    /// The training batches of one epoch: `order` in chunks of `--batch-size`, at most
    /// `--max-steps` of them.
    pub fn batches<'a>(&self, order: &'a [usize]) -> Vec<&'a [usize]> {
        order
            .chunks(self.batch_size)
            .take(self.max_steps.unwrap_or(usize::MAX))
            .collect()
    }

    /// True once `seconds` of training in this invocation passed `--max-minutes`.
    pub fn out_of_time(&self, seconds: f64) -> bool {
        self.max_minutes.is_some_and(|m| seconds >= m * 60.0)
    }

    /// Sets up the process before any work: the CPU thread pool (`--threads`, denormals), and
    /// for `--device wgpu` the GPU runtime's environment; then opens the device and runs one
    /// small operation on it, so that a device this machine cannot use is reported here, as
    /// an error, and not as a panic in the middle of training.
    pub fn device(&self) -> Result<Device, Failure> {
        set_runtime_environment(self.device);
        super::init_cpu(self.threads, !self.keep_denormals);
        let device = match self.device {
            DeviceName::Flex => Device::flex(),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceName::Ndarray => Device::ndarray(),
            #[cfg(feature = "wgpu")]
            DeviceName::Wgpu => Device::wgpu(Default::default()),
            #[allow(unreachable_patterns)]
            other => {
                return Err(Failure::Device {
                    name: format!("{other:?}").to_lowercase(),
                    reason: "this build lacks the cargo feature of the same name; rebuild with \
                             --features wgpu,ndarray, or use --device flex"
                        .into(),
                });
            }
        };
        probe(&device).map_err(|reason| Failure::Device {
            name: format!("{:?}", self.device).to_lowercase(),
            reason: format!("{reason}; use --device flex (the CPU) instead"),
        })?;
        Ok(device)
    }
}

/// Runs `1 + 1` on the device with the panic hook silenced; a missing GPU or driver panics
/// inside Burn, which becomes an error message here.
fn probe(device: &Device) -> Result<(), String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| {
        Tensor::<1>::from_floats([1.0], device)
            .add_scalar(1.0)
            .into_scalar::<f32>()
    });
    std::panic::set_hook(hook);
    match result {
        Ok(2.0) => Ok(()),
        Ok(v) => Err(format!("the device computed 1 + 1 = {v}")),
        Err(payload) => Err(payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the device could not be opened".into())
            .replace('\n', " ")),
    }
}

/// Sets the environment variables the backends read, before any thread starts:
///
/// - `BURN_DEVICE`, Burn's default device, to the device of the run: Burn materializes a
///   loaded optimizer state on the default device, which is the GPU whenever the wgpu feature
///   is compiled in.
/// - For `wgpu`, see [`quiet_gpu_runtime`].
fn set_runtime_environment(device: DeviceName) {
    let name = format!("{device:?}").to_lowercase();
    // SAFETY: called from `main`'s thread before any other thread exists (the CPU pool and the
    // GPU runtime are started after this), so nothing reads the environment concurrently.
    unsafe { std::env::set_var("BURN_DEVICE", name) };
    if device == DeviceName::Wgpu {
        quiet_gpu_runtime();
    }
}

/// The GPU runtime (CubeCL) keeps a database of tuned kernels in its "environment", by
/// default `<the outermost Cargo.toml's folder>/target/environment/`: run from a checkout, that
/// is a `target/` folder in the working directory. The examples move it to the user's cache
/// folder (`~/.cache/cubecl` on Linux), unless a `cubecl.toml` chose another place. Mesa's
/// Vulkan drivers complain on stderr when `XDG_RUNTIME_DIR` is unset (a headless machine); it
/// is pointed at the temporary folder then, which they only read.
fn quiet_gpu_runtime() {
    #[cfg(feature = "wgpu")]
    {
        use cubecl_runtime::config::cache::CacheConfig;
        use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
        let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if matches!(config.environment.path, CacheConfig::Target) {
            config.environment.path = CacheConfig::Global;
        }
        // refused only if the runtime already read its configuration: nothing ran on it yet
        let _ = CubeClRuntimeConfig::try_set(config);
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: called from `main`'s thread before any other thread exists (the CPU pool and
        // the GPU runtime are started after this), so nothing reads the environment
        // concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

/// Parses the command line of example `A`, with its defaults set by `defaults` (they show in
/// `--help`). A bad option prints one line (`error: invalid value '0' for '--batch-size <N>':
/// ...`) and exits with code 2; `--help` prints the help and exits with 0.
pub fn parse<A: clap::Parser>(defaults: impl FnOnce(Command) -> Command) -> A {
    // a repeated option takes its last value; a value that starts with `-` (`-1`, `-1e-3`)
    // is read as the option's value, so that its error names the option
    let mut command = defaults(A::command())
        .args_override_self(true)
        .mut_args(|a| {
            if a.get_action().takes_values() {
                a.allow_hyphen_values(true)
            } else {
                a
            }
        });
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|mut matches: ArgMatches| A::from_arg_matches_mut(&mut matches));
    match parsed {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let e = e.format(&mut command);
            eprintln!("{}", one_line(&e.render().to_string()));
            std::process::exit(2)
        }
    }
}

/// clap's message on one line: its lines up to the usage, joined.
fn one_line(rendered: &str) -> String {
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = lines.join(" ").replace(": ;", ":");
    if out.is_empty() {
        out = "error: bad command line".into();
    }
    out.push_str(" (see --help)");
    out
}

/// Sets an option's default (shown by `--help`).
pub fn default(command: Command, option: &'static str, value: &'static str) -> Command {
    command.mut_arg(option, |a| a.default_value(value).required(false))
}

// ---------------------------------------------------------------------------------------
// Value parsers: an option is checked as it is read, and clap names it in the error.
// ---------------------------------------------------------------------------------------

/// A whole number of at least 1.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number of at least 1".into()),
    }
}

/// A whole number from 1 to 65 536 (a layer width or a count of codes: larger ones do not fit
/// in memory).
pub fn size(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1 << 16).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 65536".into()),
    }
}

/// A CPU thread count from 1 to 1024.
pub fn threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 1024".into()),
    }
}

/// A finite number satisfying `ok`, or the error `requirement`.
fn number(s: &str, ok: impl Fn(f64) -> bool, requirement: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && ok(x) => Ok(x),
        _ => Err(requirement.into()),
    }
}

/// A finite number above 0.
pub fn positive_finite(s: &str) -> Result<f64, String> {
    number(s, |x| x > 0.0, "must be a finite number above 0")
}

/// A finite number of at least 0.
pub fn non_negative_finite(s: &str) -> Result<f64, String> {
    number(s, |x| x >= 0.0, "must be a finite number of at least 0")
}

/// A factor in (0, 1].
pub fn factor(s: &str) -> Result<f64, String> {
    number(s, |x| x > 0.0 && x <= 1.0, "must be a number in (0, 1]")
}

/// A decay rate in [0, 1).
pub fn decay(s: &str) -> Result<f64, String> {
    number(s, |x| (0.0..1.0).contains(&x), "must be a number in [0, 1)")
}

/// An epoch count: a whole number of at least 0.
pub fn epochs(s: &str) -> Result<usize, String> {
    whole(s).map(|n| n as usize)
}

/// A whole number of at least 0 (`--seed`).
pub fn whole(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| "must be a whole number of at least 0".into())
}

/// The command-line name of an option's value (`st-gumbel`, `nonlinear`), for logs and titles.
pub fn choice_name(value: &impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}
