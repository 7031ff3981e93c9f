//! Fast smoke tests of every example: a few training steps on a small subset, then every
//! output the shared tooling promises (metrics.json with its main figures, the PNGs, a
//! checkpoint), then `--eval-only` from that checkpoint, which must reproduce the trained
//! run's test figure. The examples are built by `cargo test` next to this test; they run as
//! separate processes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples_smoke-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn out_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcgrad-smoke-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs an example with the common smoke options plus `extra`; returns its metrics.
fn run(name: &str, tag: &str, extra: &[&str]) -> (PathBuf, serde_json::Value) {
    let out = out_dir(tag);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let common = [
        "--data-dir",
        data.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--epochs",
        "1",
        "--max-steps",
        "4",
        "--train-limit",
        "512",
        "--test-limit",
        "200",
        "--quiet",
        "--threads",
        "1",
    ];
    let status = Command::new(example(name))
        .args(common)
        .args(extra)
        .output()
        .expect("the example runs");
    assert!(
        status.status.success(),
        "{name} {extra:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in ["steps_per_sec", "wall_seconds"] {
        assert!(
            metrics[key].as_f64().is_some_and(f64::is_finite),
            "{name}: {key} in {metrics}"
        );
    }
    assert_eq!(metrics["steps"], 4, "{name}: --max-steps 4 in {metrics}");
    assert!(out.join("model.bpk").is_file(), "{name}: no checkpoint");
    (out, metrics)
}

fn assert_files(out: &Path, files: &[&str]) {
    for f in files {
        let meta = std::fs::metadata(out.join(f))
            .unwrap_or_else(|_| panic!("{f} missing in {}", out.display()));
        assert!(meta.len() > 100, "{f} is empty");
    }
}

fn finite(metrics: &serde_json::Value, key: &str) -> f64 {
    let v = metrics[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {metrics}"));
    assert!(v.is_finite(), "{key} = {v}");
    v
}

/// Evaluates the checkpoint in `out` with `--eval-only` on the same test subset and checks
/// that it reproduces the training run's `key` figure (the evaluation is deterministic).
fn eval_only(name: &str, out: &Path, extra: &[&str], trained: &serde_json::Value, key: &str) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--eval-only",
        "--test-limit",
        "200",
        "--quiet",
        "--threads",
        "1",
    ];
    let o = Command::new(example(name))
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{name} --eval-only failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("loaded"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let (again, before) = (finite(&metrics, key), finite(trained, key));
    assert!(
        (again - before).abs() <= 1e-9 * before.abs(),
        "{name}: --eval-only gives {key} = {again}, training gave {before}"
    );
}

#[test]
fn vae_smoke() {
    let (out, m) = run("vae", "vae", &["--iw-samples", "5"]);
    let elbo = finite(&m, "test_neg_elbo_nats");
    let nll = finite(&m, "test_nll_nats");
    assert!(
        nll <= elbo + 1.0,
        "the importance-weighted bound {nll} should not exceed the ELBO bound {elbo}"
    );
    assert_files(&out, &["reconstructions.png", "samples.png", "curves.png"]);
    eval_only(
        "vae",
        &out,
        &["--iw-samples", "0"],
        &m,
        "test_neg_elbo_nats",
    );
}

#[test]
fn discrete_vae_smoke_with_every_estimator() {
    for estimator in ["gumbel-softmax", "st-gumbel", "st", "reinforce-rloo"] {
        let extra = ["--estimator", estimator];
        let (out, m) = run("discrete_vae", estimator, &extra);
        finite(&m, "test_neg_elbo_nats");
        finite(&m, "test_relaxed_objective_nats");
        assert_files(&out, &["reconstructions.png", "samples.png", "curves.png"]);
        if estimator == "gumbel-softmax" {
            eval_only("discrete_vae", &out, &extra, &m, "test_neg_elbo_nats");
        }
    }
}

#[test]
fn vq_vae_smoke() {
    for (tag, extra) in [
        ("vq", &[][..]),
        (
            "vq-ema",
            &["--ema", "--restart-dead", "--restart-every", "2"][..],
        ),
    ] {
        let (out, m) = run("vq_vae", tag, extra);
        finite(&m, "test_mse_per_pixel");
        let used = finite(&m, "codes_used_fraction");
        assert!(used > 0.0 && used <= 1.0);
        let perplexity = finite(&m, "codebook_perplexity");
        assert!(
            (1.0..=128.0).contains(&perplexity),
            "perplexity {perplexity} of 128 codes"
        );
        if tag == "vq-ema" {
            // an untrained codebook has dead codes: the restart path must have run
            assert!(finite(&m, "codes_restarted") > 0.0, "no restart in {m}");
        }
        assert_files(&out, &["reconstructions.png", "codes.png", "curves.png"]);
        eval_only("vq_vae", &out, extra, &m, "test_mse_per_pixel");
    }
}

#[test]
fn nade_and_fvsbn_smoke() {
    for model in ["nade", "fvsbn"] {
        let (out, m) = run("nade", model, &["--model", model, "--hidden", "50"]);
        let nll = finite(&m, "test_nll_nats");
        // untrained, both models sit near 784·ln 2 = 543.4 nats (FVSBN exactly there); four
        // steps take them below 460
        assert!(
            nll > 0.0 && nll < 784.0 * 2f64.ln() - 80.0,
            "{model}: NLL {nll}"
        );
        assert_files(&out, &["samples.png", "data.png", "curves.png"]);
        eval_only(
            "nade",
            &out,
            &["--model", model, "--hidden", "50"],
            &m,
            "test_nll_nats",
        );
    }
}
