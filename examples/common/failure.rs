//! What can stop an example, as one line a person can act on, and the exit of `main`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::mnist::DataError;

/// Why a run stopped. Its `Display` is the one line printed after `error: `: it names the
/// option or the file, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An option whose value does not fit the run (checked before any work).
    #[error("{option} {value}: {problem}")]
    Option {
        option: String,
        value: String,
        problem: String,
    },
    /// A file or folder that could not be read or written.
    #[error("{}: {action}: {reason}; {hint}", path.display())]
    File {
        path: PathBuf,
        action: &'static str,
        reason: String,
        hint: &'static str,
    },
    /// MNIST is missing or corrupt (the loader's message names the file).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The training diverged: the run stopped before writing anything from the bad weights.
    #[error(
        "training stopped in epoch {epoch}: {what}; nothing was saved from these weights (the \
         out dir keeps its last finite checkpoint, if any); try a smaller --lr"
    )]
    Diverged { epoch: usize, what: String },
    /// A device that cannot be used on this machine.
    #[error("--device {name}: {reason}")]
    Device { name: String, reason: String },
    /// Something that should not happen (a bug).
    #[error("internal error: {0}; this is a bug, please report it with the command line")]
    Internal(String),
    /// A value the library refused (its message names the parameter).
    #[error(transparent)]
    Library(#[from] mcgrad::Error),
}

impl Failure {
    /// A bad option value.
    pub fn option(option: &str, value: impl ToString, problem: impl ToString) -> Self {
        Self::Option {
            option: option.to_string(),
            value: value.to_string(),
            problem: problem.to_string(),
        }
    }

    /// A failed file operation on `path`.
    pub fn file(
        path: &Path,
        action: &'static str,
        reason: impl ToString,
        hint: &'static str,
    ) -> Self {
        Self::File {
            path: path.to_path_buf(),
            action,
            reason: reason.to_string(),
            hint,
        }
    }
}

/// Runs an example's `run` and turns its outcome into the process's exit: 0 on success, 1
/// with `error: <one line>` on stderr on a [`Failure`], 70 on a panic (a bug: the panic's
/// message and place are printed as one line too, never a backtrace dump or exit code 101).
pub fn exit_with(run: impl FnOnce() -> Result<(), Failure> + std::panic::UnwindSafe) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error{place}: {}; this is a bug, please report it with the command line",
            message.replace('\n', " ")
        );
    }));
    match std::panic::catch_unwind(run) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(70),
    }
}
