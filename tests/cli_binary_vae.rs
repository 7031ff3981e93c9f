//! The `binary_vae` example and its comparison tool (`binary_vae_compare`), run as programs:
//! every bad option is one readable line and a non-zero exit before any work; every estimator
//! trains a few steps with finite figures and writes every promised output (the variance
//! diagnostic included); `--resume` continues a RELAX run exactly (its control network and
//! the variance log are part of the checkpoint); a rerun never destroys an earlier result;
//! the comparison tool turns runs into one table and two charts.
//!
//! Runs are short (512 training and 200 test images, 3 steps, 8 latents, one thread); scratch
//! folders live in the target directory and are removed afterwards (tests/example_runs/mod.rs).
//! Nothing here is statistical: the runs are deterministic given their seeds, and the figures
//! are checked for finiteness and internal consistency, not against published values.

mod example_runs;

use std::path::Path;
use std::process::Output;

use example_runs::{Scratch, finite, json, run, run_ok, snapshot, with};

const NAME: &str = "binary_vae";

const ESTIMATORS: [&str; 11] = [
    "reinforce",
    "rloo",
    "arm",
    "disarm",
    "rebar",
    "relax",
    "st",
    "gumbel-softmax",
    "reinmax",
    "gumbel-rao",
    "decoupled-st",
];

/// A small model and a variance measurement at steps 0 and 2 (K = 3).
const SMALL: [&str; 6] = [
    "--latents",
    "8",
    "--variance-every",
    "2",
    "--variance-estimates",
    "3",
];

/// Asserts that a run failed the way a person can act on: exit code neither 0 nor 101 (a
/// panic), exactly one line on stderr, starting `error:`, naming each of `names`.
fn assert_refused(args: &[String], o: &Output, names: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        !o.status.success() && code != Some(101) && code.is_some(),
        "{args:?}: exit {code:?}, stderr:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line:\n{stderr}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{args:?}: {line}");
    for n in names {
        assert!(line.contains(n), "{args:?}: `{n}` not named in: {line}");
    }
    for debug in [
        "panicked",
        "Os {",
        "kind:",
        "RUST_BACKTRACE",
        "internal error",
    ] {
        assert!(!line.contains(debug), "{args:?}: {line}");
    }
}

/// Trains `estimator` for 3 steps of one epoch (plus `extra`) into `out`; returns the metrics.
fn train(out: &Path, estimator: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--estimator",
        estimator,
        "--epochs",
        "1",
        "--max-steps",
        "3",
    ];
    args.extend(SMALL);
    args.extend(extra);
    run_ok(NAME, &with(out, &args));
    json(&out.join("metrics.json"))
}

/// Every bad value of the example's own options, and options that contradict each other:
/// refused at start-up with one line naming the option; the out dir stays empty.
#[test]
fn bad_options_are_refused_naming_the_option() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--estimator", "vimco"], &["--estimator"]),
        (&["--model", "deep"], &["--model"]),
        (&["--latents", "0"], &["--latents"]),
        (&["--hidden", "-5"], &["--hidden"]),
        (&["--samples", "0"], &["--samples"]),
        (&["--samples", "1e9"], &["--samples"]),
        (
            &["--estimator", "rloo", "--samples", "1"],
            &["--samples", "rloo"],
        ),
        (
            &["--estimator", "gumbel-softmax", "--temperature", "0"],
            &["--temperature"],
        ),
        (
            &["--estimator", "rebar", "--temperature", "nan"],
            &["--temperature"],
        ),
        (
            &["--estimator", "reinmax", "--temperature", "-1"],
            &["--temperature"],
        ),
        (
            &["--estimator", "arm", "--temperature", "0.5"],
            &["--temperature", "arm"],
        ),
        (
            &["--forward-temperature", "inf"],
            &["--forward-temperature"],
        ),
        (&["--rao-draws", "0"], &["--rao-draws"]),
        (&["--variance-estimates", "1"], &["--variance-estimates"]),
        (&["--variance-every", "-1"], &["--variance-every"]),
        (&["--batch-size", "0"], &["--batch-size"]),
        (&["--lr", "nan"], &["--lr"]),
        (
            &[
                "--batch-size",
                "100000",
                "--samples",
                "1000",
                "--estimator",
                "arm",
            ],
            &["--batch-size"],
        ),
    ];
    for (extra, names) in cases {
        let out = Scratch::new("bvae-bad");
        let mut a = vec!["--epochs", "1", "--max-steps", "1"];
        a.extend(*extra);
        let args = with(&out.0, &a);
        let o = run(NAME, &args);
        assert_refused(&args, &o, names);
        assert!(snapshot(&out.0).is_empty(), "{args:?} wrote files");
    }
}

/// Every estimator trains with finite figures and writes every output; the diagnostic
/// measured the variance at steps 0 and 2, a finite log10 (the logits move, so no estimator
/// has exactly zero variance here).
#[test]
fn every_estimator_trains_and_writes_its_outputs() {
    for estimator in ESTIMATORS {
        let out = Scratch::new(&format!("bvae-{estimator}"));
        let m = train(&out.0, estimator, &[]);
        assert_eq!(m["estimator"], estimator);
        assert_eq!(m["steps"], 3, "{estimator}: {m}");
        let test = finite(&m, "test_neg_elbo_nats");
        let train = finite(&m, "train_neg_elbo_nats");
        // an untrained 8-latent model is far from 0 and below 784·ln 2 ≈ 543 nats (the
        // decoder starts at the mean image)
        for v in [test, train] {
            assert!(v > 50.0 && v < 543.0, "{estimator}: −ELBO {v}");
        }
        finite(&m, "final_log10_logit_gradient_variance");
        let points = m["gradient_variance"].as_array().unwrap();
        let steps: Vec<u64> = points.iter().map(|p| p["step"].as_u64().unwrap()).collect();
        assert_eq!(steps, [0, 2], "{estimator}");
        for p in points {
            assert!(
                p["log10_variance"].as_f64().unwrap().is_finite(),
                "{estimator}: {p}"
            );
        }
        for f in [
            "reconstructions.png",
            "samples.png",
            "curves.png",
            "history.json",
            "model.bpk",
            "checkpoint/state.json",
        ] {
            let len = std::fs::metadata(out.join(f))
                .unwrap_or_else(|_| panic!("{estimator}: {f} missing"))
                .len();
            assert!(len > 100, "{estimator}: {f} is empty");
        }
        // curves.png holds two panels: the epoch curves over the variance over the steps
        let (w, h) = image::image_dimensions(out.join("curves.png")).unwrap();
        assert!(
            h > w,
            "{estimator}: curves.png is {w}×{h}, not two stacked panels"
        );
    }
}

/// The nonlinear model trains; `--eval-only` reproduces its test figure into `eval/` and leaves
/// the run's files as they were.
#[test]
fn nonlinear_model_and_evaluation() {
    let out = Scratch::new("bvae-nonlinear");
    let extra = ["--model", "nonlinear", "--hidden", "16"];
    let m = train(&out.0, "disarm", &extra);
    assert_eq!(m["model"], "nonlinear");
    let first = finite(&m, "test_neg_elbo_nats");
    let before = snapshot(&out.0);
    let mut args = vec!["--eval-only", "--estimator", "disarm"];
    args.extend(SMALL);
    args.extend(extra);
    run_ok(NAME, &with(&out.0, &args));
    let e = json(&out.join("eval/metrics.json"));
    assert_eq!(e["evaluation_only"], true);
    let again = finite(&e, "test_neg_elbo_nats");
    assert!(
        (again - first).abs() <= 1e-9 * first.abs(),
        "{again} vs {first}"
    );
    let after = snapshot(&out.0);
    for (file, bytes) in &before {
        assert!(
            after.get(file) == Some(bytes),
            "--eval-only changed {}",
            file.display()
        );
    }
    // evaluating with another architecture is refused, naming the option
    let mut args = vec!["--eval-only", "--estimator", "disarm", "--model", "linear"];
    args.extend(SMALL);
    let args = with(&out.0, &args);
    assert_refused(&args, &run(NAME, &args), &["--model"]);
}

/// A RELAX run interrupted after each epoch and resumed ends with the same history and the same
/// variance log as an uninterrupted one (the control network, Adam's state, the noise stream
/// and the log are in the checkpoint). Negative control: resuming with another learning rate
/// gives a different history.
#[test]
fn resume_continues_a_relax_run_exactly() {
    let at = |epochs: &'static str, resume: bool, lr: Option<&'static str>| {
        let mut a = vec![
            "--estimator",
            "relax",
            "--max-steps",
            "3",
            "--epochs",
            epochs,
        ];
        a.extend(SMALL);
        if resume {
            a.push("--resume");
        }
        if let Some(lr) = lr {
            a.extend(["--lr", lr]);
        }
        a
    };
    let whole = Scratch::new("bvae-resume-whole");
    run_ok(NAME, &with(&whole.0, &at("3", false, None)));
    let parts = Scratch::new("bvae-resume-parts");
    run_ok(NAME, &with(&parts.0, &at("1", false, None)));
    run_ok(NAME, &with(&parts.0, &at("2", true, None)));
    let o = run_ok(NAME, &with(&parts.0, &at("3", true, None)));
    assert!(String::from_utf8_lossy(&o.stdout).contains("resumed"));
    let history = |dir: &Path| std::fs::read(dir.join("history.json")).unwrap();
    assert!(
        history(&whole.0) == history(&parts.0),
        "resumed history differs"
    );
    let (a, b) = (
        json(&whole.join("metrics.json")),
        json(&parts.join("metrics.json")),
    );
    for key in ["steps", "curves", "gradient_variance", "test_neg_elbo_nats"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    // steps 0, 2 of epoch 1; 4 of epoch 2; 6, 8 of epoch 3
    assert_eq!(a["gradient_variance"].as_array().unwrap().len(), 5);
    let other = Scratch::new("bvae-resume-control");
    run_ok(NAME, &with(&other.0, &at("1", false, None)));
    run_ok(NAME, &with(&other.0, &at("3", true, Some("0.01"))));
    assert!(
        history(&other.0) != history(&whole.0),
        "the control did not change"
    );
}

/// A second run into a folder that holds one is refused unless `--overwrite`; a run that
/// diverges (`--lr 1e30` on a resumed run) stops at its epoch with exit code 1 and writes
/// nothing; the first run's files stay byte for byte.
#[test]
fn a_rerun_never_destroys_the_first_run() {
    let out = Scratch::new("bvae-rerun");
    train(&out.0, "arm", &[]);
    let before = snapshot(&out.0);
    let mut args = vec!["--estimator", "arm", "--epochs", "1", "--max-steps", "3"];
    args.extend(SMALL);
    let args = with(&out.0, &args);
    assert_refused(&args, &run(NAME, &args), &["--overwrite"]);
    let mut args = vec![
        "--estimator",
        "arm",
        "--epochs",
        "2",
        "--max-steps",
        "3",
        "--resume",
    ];
    args.extend(SMALL);
    args.extend(["--lr", "1e30"]);
    let args = with(&out.0, &args);
    assert_refused(
        &args,
        &run(NAME, &args),
        &["training stopped in epoch 2", "--lr"],
    );
    assert!(
        snapshot(&out.0) == before,
        "a refused or diverged run wrote files"
    );
}

/// The comparison tool: two runs give a table of two rows (the better test −ELBO first, each
/// with the command from its folder) and both charts; a folder without a run is refused with
/// one line naming its file.
#[test]
fn comparison_table_and_charts() {
    let runs = Scratch::new("bvae-compare");
    let mut dirs = Vec::new();
    for estimator in ["disarm", "gumbel-softmax"] {
        let dir = runs.join(estimator);
        std::fs::create_dir_all(&dir).unwrap();
        train(&dir, estimator, &[]);
        std::fs::write(
            dir.join("command.txt"),
            format!("binary_vae --estimator {estimator}\n"),
        )
        .unwrap();
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let out = runs.join("summary");
    let mut args = vec!["--out".to_string(), out.to_str().unwrap().to_string()];
    args.extend(dirs.iter().cloned());
    run_ok("binary_vae_compare", &args);
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{table}");
    let test = |row: &str| {
        row.split('|')
            .nth(6)
            .unwrap()
            .trim()
            .parse::<f64>()
            .unwrap()
    };
    assert!(test(rows[0]) <= test(rows[1]), "{table}");
    for (row, estimator) in rows
        .iter()
        .map(|r| (r, r.split('|').nth(1).unwrap().trim()))
    {
        assert!(
            row.contains(&format!("`binary_vae --estimator {estimator}`")),
            "{row}"
        );
    }
    for f in ["gradient_variance.png", "test_elbo.png"] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 100, "{f}");
    }
    let empty = runs.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let args = vec![
        "--out".to_string(),
        out.to_str().unwrap().to_string(),
        empty.to_str().unwrap().to_string(),
    ];
    assert_refused(&args, &run("binary_vae_compare", &args), &["metrics.json"]);
}
