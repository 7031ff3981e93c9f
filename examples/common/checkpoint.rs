//! Checkpoints: what `--resume` continues and `--eval-only` evaluates, written so that no
//! run ever destroys a good result.
//!
//! A run's folder (the out dir):
//!
//! ```text
//! model.bpk              the weights of the last finished epoch (a Burn record, for
//!                        `Module::load_file`; a hard link to the checkpoint's copy)
//! checkpoint/state.json  the training state: epochs done, steps, seed, the position of the
//!                        noise stream, the history, the options, the example's own state
//! checkpoint/model-N.bpk, checkpoint/optimizer-N.bpk
//!                        the weights and Adam's state (`ModuleOptimizer::save`) of save N
//! metrics.json, history.json, curves.png, pictures
//! eval/, eval-2/, …       what a run that trains no epoch writes (--eval-only, --epochs 0),
//!                        a new folder for each such run
//! ```
//!
//! Saving (after each epoch): the weights are checked finite (never is a checkpoint written
//! from NaN or infinite weights); `model-N.bpk` and `optimizer-N.bpk` are written, N one more
//! than the committed save's number (Burn writes each to a
//! scratch file and renames it into place); then `state.json` (to `state.json.partial`, then
//! renamed), which is the commit: until it is renamed, the previous state and its files are
//! whole. Then the previous save's files are removed and `model.bpk` is linked to the new
//! weights. A run killed at any point leaves a `state.json` naming files that exist; the next
//! start removes scratch files (`*.partial`, Burn's `*.bpk.<pid>-<n>.tmp`) and files no
//! `state.json` names.
//!
//! What `--resume` restores: the weights, Adam's moments and step count, the epoch and step
//! counters, the training noise stream at the exact position where the saved epoch ended
//! (recorded as the number of generator steps since the seed, see [`NoisePosition`]), the
//! history of every epoch (curves, steps, seconds), and the example's own state (VQ-VAE's
//! codebook-usage window and restart count). A run interrupted after epoch E and resumed
//! therefore continues exactly as the uninterrupted run would have: same batches, same noise,
//! same updates, same `history.json`.

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, ParamId};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use mcgrad::NoiseSource;
use rand::Rng;
use serde_json::Value;

use super::cli::CommonArgs;
use super::failure::Failure;
use super::metrics::{History, write_json};

/// The state of a training run besides its weights and optimizer, saved with each checkpoint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainingState {
    pub example: String,
    /// Epochs finished.
    pub epoch: usize,
    /// The seed of the run (`--seed`).
    pub seed: u64,
    /// Where the training noise stream stands at the end of `epoch`.
    pub noise: NoisePosition,
    /// Every epoch's curves, steps and seconds.
    pub history: History,
    /// The options the run was started with.
    pub options: Value,
    /// The example's own state (VQ-VAE: its codebook maintenance), or null.
    pub extra: Value,
    /// The number of the save that wrote this state (it names the weights and optimizer
    /// files, so that a save never writes over the files of the committed one).
    pub save: u64,
}

impl TrainingState {
    /// The state of a new run of `example` with `options` (the whole command line).
    pub fn new(example: &str, seed: u64, options: &impl serde::Serialize) -> Self {
        Self {
            example: example.into(),
            epoch: 0,
            seed,
            noise: NoisePosition::start(seed),
            history: History::default(),
            options: serde_json::to_value(options).expect("options serialize"),
            extra: Value::Null,
            save: 0,
        }
    }

    /// Steps taken since the start of the run.
    pub fn steps(&self) -> usize {
        self.history.total_steps()
    }
}

/// The position of a [`NoiseSource`] in its stream: how many steps its generator
/// (Xoshiro256++) took since it was seeded with `seed`.
///
/// `NoiseSource` cannot be written to a file (its generator is private), but it is a pure
/// function of (seed, steps): every draw, however it is used, advances the generator by whole
/// steps. So the position is found by stepping a copy of the previous position until it
/// produces the same next outputs as the live stream (a few nanoseconds per step, tens of
/// milliseconds per epoch), and a stream is restored by seeding and stepping. If mcgrad
/// gains a way to save a `NoiseSource`, this becomes a plain field.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NoisePosition {
    pub seed: u64,
    pub steps: u64,
    #[serde(skip)]
    at: Option<NoiseSource>,
}

impl NoisePosition {
    /// The start of the stream seeded with `seed`.
    pub fn start(seed: u64) -> Self {
        Self {
            seed,
            steps: 0,
            at: None,
        }
    }

    /// The stream at this position.
    pub fn source(&self) -> NoiseSource {
        let mut noise = NoiseSource::seed_from_u64(self.seed);
        for _ in 0..self.steps {
            noise.rng().next_u64();
        }
        noise
    }

    /// Moves this position to where `live` stands (it must be this stream, further on).
    pub fn advance_to(&mut self, live: &NoiseSource) -> Result<(), Failure> {
        const LIMIT: u64 = 1 << 40;
        let target = next_outputs(live);
        let mut walker = match self.at.take() {
            Some(at) => at,
            None => self.source(),
        };
        let mut taken = 0u64;
        while next_outputs(&walker) != target {
            walker.rng().next_u64();
            taken += 1;
            if taken == LIMIT {
                return Err(Failure::Internal(
                    "the training noise stream is not the one seeded with --seed".into(),
                ));
            }
        }
        self.steps += taken;
        self.at = Some(walker);
        Ok(())
    }
}

/// The next four outputs of a copy of `noise` (the generator's 256-bit state, in effect).
fn next_outputs(noise: &NoiseSource) -> [u64; 4] {
    let mut copy = noise.clone();
    let rng = copy.rng();
    [
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
    ]
}

/// The scratch name under which `path` is written before it is renamed into place.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

fn state_path(out: &Path) -> PathBuf {
    checkpoint_dir(out).join("state.json")
}

/// Where a run that trains no epoch writes its figures and pictures.
pub fn eval_dir(out: &Path) -> PathBuf {
    out.join("eval")
}

/// Where a run's final figures and pictures go: the run's folder, or, when this invocation
/// trained no epoch (`--eval-only`, `--epochs 0`, `--resume` to an epoch already reached), a
/// fresh evaluation folder, created: `eval/`, or `eval-2/`, `eval-3/`, … when the earlier ones
/// already hold an evaluation's `metrics.json`. Neither the training run's figures and
/// pictures nor an earlier evaluation's are ever replaced by an evaluation.
pub fn results_dir(out: &Path, evaluation_only: bool) -> Result<PathBuf, Failure> {
    if !evaluation_only {
        return Ok(out.to_path_buf());
    }
    let dir = (1usize..)
        .map(|k| match k {
            1 => eval_dir(out),
            _ => out.join(format!("eval-{k}")),
        })
        .find(|dir| !dir.join("metrics.json").exists())
        .expect("an unbounded range has a free folder");
    println!(
        "no epoch to train (the run is at --epochs, or --eval-only): the figures and pictures go to {}",
        dir.display()
    );
    std::fs::create_dir_all(&dir).map_err(|e| {
        Failure::file(
            &dir,
            "cannot create the evaluation folder",
            e,
            "check the out dir",
        )
    })?;
    Ok(dir)
}

/// Prepares the run's folder before any work: creates it, checks that it can be written,
/// removes what a killed save left, and refuses what would destroy an earlier result: a new
/// training run in a folder that holds one (without `--overwrite`), `--resume` without a
/// checkpoint, `--eval-only` without a model.
pub fn prepare_out_dir(args: &CommonArgs, example: &str) -> Result<PathBuf, Failure> {
    let out = args.out_dir(example);
    if args.resume && !state_path(&out).is_file() {
        return Err(Failure::file(
            &state_path(&out),
            "--resume needs the checkpoint of an earlier run",
            "not found",
            "train without --resume first, or pass --out-dir the folder of the run to continue",
        ));
    }
    if args.eval_only && !out.join("model.bpk").is_file() {
        return Err(Failure::file(
            &out.join("model.bpk"),
            "--eval-only needs a trained model",
            "not found",
            "train first (without --eval-only), or pass --out-dir the folder of a trained run",
        ));
    }
    let hint = "pass --out-dir a folder you can write to";
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::file(&out, "cannot create the output folder", e, hint))?;
    let probe = out.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| Failure::file(&out, "cannot write in the output folder", e, hint))?;
    let evaluations = std::fs::read_dir(&out)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_dir()
                && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n == "eval"
                        || n.strip_prefix("eval-")
                            .is_some_and(|k| k.parse::<usize>().is_ok())
                })
        });
    for dir in [out.clone(), checkpoint_dir(&out)]
        .into_iter()
        .chain(evaluations)
    {
        remove_scratch_files(&dir)?;
    }
    remove_unnamed_checkpoint_files(&out)?;
    let holds_run = state_path(&out).is_file()
        || out.join("model.bpk").is_file()
        || out.join("metrics.json").is_file();
    let trains = !args.resume && !args.eval_only && args.epochs > 0;
    if trains && holds_run && !args.overwrite {
        return Err(Failure::file(
            &out,
            "already holds a run (model.bpk, metrics.json)",
            "a new run would replace it",
            "pass --resume to continue it, --overwrite to replace it, or another --out-dir",
        ));
    }
    Ok(out)
}

/// Removes `*.partial` files and Burn's scratch files (`<name>.bpk.<pid>-<n>.tmp`) that a
/// killed save left in `dir`.
fn remove_scratch_files(dir: &Path) -> Result<(), Failure> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let scratch = name.contains(".partial")
            || name.starts_with(".write-test-")
            || (name.contains(".bpk.") && name.ends_with(".tmp"));
        if scratch && entry.path().is_file() {
            std::fs::remove_file(entry.path()).map_err(|e| {
                Failure::file(
                    &entry.path(),
                    "cannot remove a stale scratch file",
                    e,
                    "remove it by hand",
                )
            })?;
            println!(
                "removed {}, left by an interrupted save",
                entry.path().display()
            );
        }
    }
    Ok(())
}

/// Removes the weights and optimizer files of `checkpoint/` that `state.json` does not name
/// (written by a save that was killed before its commit).
fn remove_unnamed_checkpoint_files(out: &Path) -> Result<(), Failure> {
    let dir = checkpoint_dir(out);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let kept = match read_state(out) {
        Ok(s) => Some((model_file(out, s.save), optimizer_file(out, s.save))),
        // a damaged state.json: keep every file, someone may want them
        Err(_) if state_path(out).exists() => return Ok(()),
        Err(_) => None,
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path.extension().is_some_and(|e| e == "bpk");
        let named = kept.as_ref().is_some_and(|(m, o)| &path == m || &path == o);
        if ours && !named {
            std::fs::remove_file(&path).map_err(|e| {
                Failure::file(
                    &path,
                    "cannot remove a stale checkpoint file",
                    e,
                    "remove it by hand",
                )
            })?;
            println!("removed {}, left by an interrupted save", path.display());
        }
    }
    Ok(())
}

fn model_file(out: &Path, save: u64) -> PathBuf {
    checkpoint_dir(out).join(format!("model-{save}.bpk"))
}

fn optimizer_file(out: &Path, save: u64) -> PathBuf {
    checkpoint_dir(out).join(format!("optimizer-{save}.bpk"))
}

fn read_state(out: &Path) -> Result<TrainingState, Failure> {
    let path = state_path(out);
    let hint = "the checkpoint is damaged: start a new run with --overwrite";
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::file(&path, "cannot read the checkpoint", e, hint))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::file(&path, "cannot read the checkpoint", e, hint))
}

/// Saves the checkpoint of epoch `state.epoch`: `model`, `optimizer` and `state` with the
/// position of `noise` (see the module's documentation for the order of the writes). Fails,
/// writing nothing, when a weight is not finite.
pub fn save<M: Module>(
    out: &Path,
    model: &M,
    optimizer: &ModuleOptimizer,
    noise: &NoiseSource,
    state: &mut TrainingState,
) -> Result<(), Failure> {
    if let Some(name) = first_non_finite(model) {
        return Err(Failure::Diverged {
            epoch: state.epoch,
            what: format!("the weights `{name}` are no longer finite"),
        });
    }
    state.noise.advance_to(noise)?;
    let dir = checkpoint_dir(out);
    let hint = "check the out dir's disk; the previous checkpoint is kept";
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::file(&dir, "cannot create the checkpoint folder", e, hint))?;
    let previous = read_state(out).ok().map(|s| s.save);
    state.save = previous.map_or(1, |n| n + 1);
    let (model_path, optimizer_path) =
        (model_file(out, state.save), optimizer_file(out, state.save));
    model
        .clone()
        .save_file(&model_path)
        .map_err(|e| Failure::file(&model_path, "cannot write the checkpoint", e, hint))?;
    optimizer
        .save(&optimizer_path)
        .map_err(|e| Failure::file(&optimizer_path, "cannot write the checkpoint", e, hint))?;
    write_json(
        &state_path(out),
        &serde_json::to_value(&*state).expect("the state serializes"),
    )?;
    if let Some(n) = previous {
        let _ = std::fs::remove_file(model_file(out, n));
        let _ = std::fs::remove_file(optimizer_file(out, n));
    }
    // model.bpk: a hard link to the new weights (a copy where links are not supported)
    let link = out.join("model.bpk");
    let partial = partial_path(&link);
    let _ = std::fs::remove_file(&partial);
    std::fs::hard_link(&model_path, &partial)
        .or_else(|_| std::fs::copy(&model_path, &partial).map(|_| ()))
        .and_then(|()| std::fs::rename(&partial, &link))
        .map_err(|e| Failure::file(&link, "cannot write the model", e, hint))
}

/// What [`resume`] restores.
pub struct Resumed<M> {
    pub model: M,
    pub optimizer: ModuleOptimizer,
    pub noise: NoiseSource,
    pub state: TrainingState,
}

/// The options that define the data and the noise stream of a run: a resumed run must keep
/// them.
const DATA_OPTIONS: [&str; 4] = ["seed", "batch_size", "binarization", "train_limit"];

/// Restores the run saved in `out` (`--resume`) into `model` and `optimizer`, freshly built
/// with the options of this invocation. The options that define the model (`model_options`:
/// the layer sizes, ...), the data and the noise stream (`--seed`, `--batch-size`,
/// `--binarization`, `--train-limit`) must equal the saved run's; the others (`--lr`,
/// `--epochs`, ...) may change.
pub fn resume<M: Module>(
    out: &Path,
    model: M,
    optimizer: ModuleOptimizer,
    options: &impl serde::Serialize,
    model_options: &[&str],
) -> Result<Resumed<M>, Failure> {
    let mut state = read_state(out)?;
    let keys: Vec<&str> = model_options.iter().chain(&DATA_OPTIONS).copied().collect();
    same_options(out, &state, options, &keys, "resume")?;
    let (model_path, optimizer_path) =
        (model_file(out, state.save), optimizer_file(out, state.save));
    let hint = "the checkpoint is damaged or from another model: start a new run with --overwrite";
    let model = model
        .try_load_file(&model_path)
        .map_err(|e| Failure::file(&model_path, "cannot load the checkpoint", e, hint))?;
    let optimizer = optimizer
        .load(&optimizer_path)
        .map_err(|e| Failure::file(&optimizer_path, "cannot load the checkpoint", e, hint))?;
    let noise = state.noise.source();
    state.noise.at = Some(noise.clone());
    println!(
        "resumed {} at epoch {}, step {}",
        out.display(),
        state.epoch,
        state.steps()
    );
    Ok(Resumed {
        model,
        optimizer,
        noise,
        state,
    })
}

/// The model in `out/model.bpk` (`--eval-only`), and the run's saved state when there is one
/// (whose `model_options` must then be those of this invocation).
pub fn load_trained<M: Module>(
    out: &Path,
    model: M,
    options: &impl serde::Serialize,
    model_options: &[&str],
) -> Result<(M, Option<TrainingState>), Failure> {
    let state = read_state(out).ok();
    if let Some(state) = &state {
        same_options(out, state, options, model_options, "evaluate it")?;
    }
    let path = out.join("model.bpk");
    let model = model.try_load_file(&path).map_err(|e| {
        Failure::file(
            &path,
            "cannot load the model",
            e,
            "it is damaged or was trained with other model options (--hidden, --latent, ...)",
        )
    })?;
    println!("loaded {}", path.display());
    Ok((model, state))
}

/// Checks that the options `keys` of this invocation are those of the run saved in `out`.
fn same_options(
    out: &Path,
    state: &TrainingState,
    options: &impl serde::Serialize,
    keys: &[&str],
    to: &str,
) -> Result<(), Failure> {
    let now = serde_json::to_value(options).expect("options serialize");
    for key in keys {
        let (saved, given) = (lookup(&state.options, key), lookup(&now, key));
        if saved != given {
            return Err(Failure::option(
                &format!("--{}", key.replace('_', "-")),
                show(given),
                format!(
                    "the run in {} was trained with {}; {to} with the same value, or start a new \
                     run with --overwrite or another --out-dir",
                    out.display(),
                    show(saved)
                ),
            ));
        }
    }
    Ok(())
}

/// The value under `key` at the top level of `options` or in its `common` object.
fn lookup<'a>(options: &'a Value, key: &str) -> &'a Value {
    match &options[key] {
        Value::Null => &options["common"][key],
        v => v,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.to_lowercase(),
        v => v.to_string(),
    }
}

/// The path of the first float parameter of `model` holding a NaN or an infinity.
fn first_non_finite<M: Module>(model: &M) -> Option<String> {
    struct Finite(Option<String>);
    impl ModuleVisitor for Finite {
        fn visit_float_with_path<const D: usize>(
            &mut self,
            path: &[String],
            _id: ParamId,
            tensor: &Tensor<D>,
        ) {
            if self.0.is_none() && !tensor.clone().is_finite().all().into_scalar::<bool>() {
                self.0 = Some(path.join("."));
            }
        }
    }
    let mut visitor = Finite(None);
    model.visit(&mut visitor);
    visitor.0
}
