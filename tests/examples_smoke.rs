//! Fast smoke tests of every example: a few training steps on a small subset, then every
//! output the examples promise (metrics.json with its main figures, history.json, the PNGs,
//! the checkpoint), then `--eval-only` from that checkpoint, which must reproduce the trained
//! run's test figure in `eval/metrics.json` and leave the training run's files byte for byte
//! as they were. Scratch folders live in the target directory and are removed afterwards
//! (tests/example_runs/mod.rs).

mod example_runs;

use std::path::Path;

use example_runs::{Scratch, finite, json, run_ok, snapshot, with};

/// Trains example `name` for 4 steps of one epoch into a fresh folder; returns it and the
/// metrics.
fn train(name: &str, tag: &str, extra: &[&str]) -> (Scratch, serde_json::Value) {
    let out = Scratch::new(&format!("smoke-{tag}"));
    let mut args = vec!["--epochs", "1", "--max-steps", "4"];
    args.extend(extra);
    run_ok(name, &with(&out.0, &args));
    let metrics = json(&out.join("metrics.json"));
    for key in ["steps_per_sec", "wall_seconds"] {
        finite(&metrics, key);
    }
    assert_eq!(metrics["steps"], 4, "{name}: --max-steps 4 in {metrics}");
    assert_eq!(metrics["epochs"], 1, "{name}: {metrics}");
    assert_eq!(metrics["evaluation_only"], false, "{name}: {metrics}");
    let history = json(&out.join("history.json"));
    assert_eq!(
        history["steps"],
        serde_json::json!([4]),
        "{name}: {history}"
    );
    assert!(out.join("model.bpk").is_file(), "{name}: no model.bpk");
    assert!(
        out.join("checkpoint/state.json").is_file(),
        "{name}: no checkpoint/state.json"
    );
    (out, metrics)
}

fn assert_files(out: &Path, files: &[&str]) {
    for f in files {
        let meta = std::fs::metadata(out.join(f))
            .unwrap_or_else(|_| panic!("{f} missing in {}", out.display()));
        assert!(meta.len() > 100, "{f} is empty");
    }
}

/// Evaluates the checkpoint in `out` with `--eval-only`: the figure `key` in
/// `eval/metrics.json` must equal the training run's (the evaluation is deterministic), and
/// no file of the training run may change.
fn eval_only(name: &str, out: &Path, extra: &[&str], trained: &serde_json::Value, key: &str) {
    let before = snapshot(out);
    let mut args = vec!["--eval-only"];
    args.extend(extra);
    let o = run_ok(name, &with(out, &args));
    assert!(String::from_utf8_lossy(&o.stdout).contains("loaded"));
    let metrics = json(&out.join("eval/metrics.json"));
    assert_eq!(metrics["evaluation_only"], true);
    let (again, first) = (finite(&metrics, key), finite(trained, key));
    assert!(
        (again - first).abs() <= 1e-9 * first.abs(),
        "{name}: --eval-only gives {key} = {again}, training gave {first}"
    );
    let after = snapshot(out);
    for (file, bytes) in &before {
        assert!(
            after.get(file) == Some(bytes),
            "{name}: --eval-only changed {}",
            file.display()
        );
    }
}

#[test]
fn vae_smoke() {
    let (out, m) = train("vae", "vae", &["--iw-samples", "5"]);
    let elbo = finite(&m, "test_neg_elbo_nats");
    let nll = finite(&m, "test_nll_nats");
    assert!(
        nll <= elbo + 1.0,
        "the importance-weighted bound {nll} should not exceed the ELBO bound {elbo}"
    );
    assert_files(
        &out.0,
        &["reconstructions.png", "samples.png", "curves.png"],
    );
    eval_only(
        "vae",
        &out.0,
        &["--iw-samples", "0"],
        &m,
        "test_neg_elbo_nats",
    );
    assert_files(&out.0, &["eval/reconstructions.png", "eval/samples.png"]);
}

#[test]
fn discrete_vae_smoke_with_every_estimator() {
    for estimator in ["gumbel-softmax", "st-gumbel", "st", "reinforce-rloo"] {
        let extra = ["--estimator", estimator];
        let (out, m) = train("discrete_vae", estimator, &extra);
        finite(&m, "test_neg_elbo_nats");
        finite(&m, "test_relaxed_objective_nats");
        assert_files(
            &out.0,
            &["reconstructions.png", "samples.png", "curves.png"],
        );
        if estimator == "gumbel-softmax" {
            eval_only("discrete_vae", &out.0, &extra, &m, "test_neg_elbo_nats");
            // the relaxed objective is evaluated at the temperature of the saved step count
            let e = json(&out.join("eval/metrics.json"));
            assert_eq!(e["final_temperature"], m["final_temperature"]);
            assert_eq!(
                e["test_relaxed_objective_nats"],
                m["test_relaxed_objective_nats"]
            );
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
        let (out, m) = train("vq_vae", tag, extra);
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
        assert_files(&out.0, &["reconstructions.png", "codes.png", "curves.png"]);
        eval_only("vq_vae", &out.0, extra, &m, "test_mse_per_pixel");
    }
}

#[test]
fn nade_and_fvsbn_smoke() {
    for model in ["nade", "fvsbn"] {
        let (out, m) = train("nade", model, &["--model", model, "--hidden", "50"]);
        let nll = finite(&m, "test_nll_nats");
        // untrained, both models sit near 784·ln 2 = 543.4 nats (FVSBN exactly there); four
        // steps take them below 460
        assert!(
            nll > 0.0 && nll < 784.0 * 2f64.ln() - 80.0,
            "{model}: NLL {nll}"
        );
        assert_files(&out.0, &["samples.png", "data.png", "curves.png"]);
        eval_only(
            "nade",
            &out.0,
            &["--model", model, "--hidden", "50"],
            &m,
            "test_nll_nats",
        );
    }
}
