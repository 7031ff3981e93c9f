//! Running the example binaries from the tests (tests/examples_smoke.rs, tests/cli.rs): where
//! they are, scratch folders that are always removed, short-run options, file snapshots.
//!
//! `cargo test` builds the examples next to the test binaries; they run as separate processes.
//! Scratch folders live under cargo's `CARGO_TARGET_TMPDIR` (inside the target directory, not
//! /tmp) and are removed when the test ends, passed or failed.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of example `name`'s binary: `target/<profile>/examples/<name>`.
pub fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<test>-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The real MNIST of the repository.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

/// A folder for one test, removed (with everything in it) when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mcgrad-examples-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The options of a short run writing to `out`: real MNIST cut to 512 training and 200 test
/// images, one CPU thread, no progress bar. The caller adds `--epochs` and `--max-steps`.
pub fn short(out: &Path) -> Vec<String> {
    [
        "--data-dir",
        data_dir().to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--train-limit",
        "512",
        "--test-limit",
        "200",
        "--quiet",
        "--threads",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// Runs example `name` with `args`.
pub fn run(name: &str, args: &[String]) -> Output {
    Command::new(example(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", example(name).display()))
}

/// `short(out)` followed by `extra`.
pub fn with(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = short(out);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Asserts that the run succeeded, printing its output if not.
pub fn assert_ok(name: &str, args: &[String], o: &Output) {
    assert!(
        o.status.success(),
        "{name} {args:?} failed ({:?}):\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs and asserts success.
pub fn run_ok(name: &str, args: &[String]) -> Output {
    let o = run(name, args);
    assert_ok(name, args, &o);
    o
}

/// A JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` (relative path → bytes).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A finite number under `key` of a metrics object.
pub fn finite(metrics: &serde_json::Value, key: &str) -> f64 {
    let v = metrics[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {metrics}"));
    assert!(v.is_finite(), "{key} = {v}");
    v
}
