//! # The binary-VAE comparison: one table and two charts from several `binary_vae` runs
//!
//! `examples/binary_vae/compare.sh` trains the `binary_vae` example once per estimator at one
//! step budget, then runs this program on the run folders. It reads each folder's
//! `metrics.json`, `history.json` and `command.txt` (the command line that trained it, written
//! by the script) and writes into `--out`:
//!
//! - `table.md`: one row per run: the estimator, whether it is unbiased, the evaluations of the
//!   cost per image and step, the steps, the train and test −ELBO, the log10 variance of the
//!   encoder-logit gradient (the mean of the run's last five measurements), the training speed,
//!   and the command;
//! - `gradient_variance.png`: the log10 variance of the encoder-logit gradient over the
//!   training steps, one curve per estimator;
//! - `test_elbo.png`: the test −ELBO at the end of each epoch over the training steps, one curve
//!   per estimator.
//!
//! Run: `cargo run --release --features wgpu,ndarray --example binary_vae_compare -- --out DIR RUN_DIR...`

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use serde_json::Value;

use common::failure::{Failure, exit_with};
use common::metrics::plot_curves;

#[derive(Debug, Parser)]
#[command(about = "Table and charts comparing binary_vae runs (one per estimator)")]
struct Args {
    /// Folder for table.md, gradient_variance.png and test_elbo.png (created).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Run folders of the binary_vae example (each with metrics.json and history.json).
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
}

/// One run, as read from its folder.
struct Run {
    estimator: String,
    metrics: Value,
    /// (steps at the end of each epoch, test −ELBO then).
    test_curve: Vec<(f64, f64)>,
    /// (step, log10 variance).
    variance: Vec<(f64, f64)>,
    command: String,
}

/// The estimators that are unbiased for the gradient of the ELBO.
const UNBIASED: [&str; 6] = ["reinforce", "rloo", "arm", "disarm", "rebar", "relax"];

fn main() -> ExitCode {
    let args = Args::parse();
    exit_with(|| run(args))
}

fn run(args: Args) -> Result<(), Failure> {
    let runs = args
        .runs
        .iter()
        .map(|dir| read_run(dir))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        Failure::file(
            &args.out,
            "cannot create the folder",
            e,
            "pass --out a folder you can write to",
        )
    })?;
    let table = table(&runs);
    let path = args.out.join("table.md");
    std::fs::write(&path, &table)
        .map_err(|e| Failure::file(&path, "cannot write", e, "check the disk"))?;
    print!("{table}");
    let variance: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .filter(|r| !r.variance.is_empty())
        .map(|r| (r.estimator.clone(), r.variance.clone()))
        .collect();
    if !variance.is_empty() {
        chart(
            &args.out.join("gradient_variance.png"),
            "Binary VAE: variance of the encoder-logit gradient",
            "log10 variance per logit",
            &variance,
        )?;
    }
    let elbo: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|r| (r.estimator.clone(), r.test_curve.clone()))
        .collect();
    chart(
        &args.out.join("test_elbo.png"),
        "Binary VAE: test −ELBO",
        "nats per image",
        &elbo,
    )?;
    println!("wrote {}", args.out.display());
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, Failure> {
    let hint = "pass the folder of a finished binary_vae run";
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::file(path, "cannot read", e, hint))?;
    serde_json::from_str(&text).map_err(|e| Failure::file(path, "cannot read", e, hint))
}

fn read_run(dir: &Path) -> Result<Run, Failure> {
    let metrics = read_json(&dir.join("metrics.json"))?;
    let history = read_json(&dir.join("history.json"))?;
    if metrics["example"] != "binary_vae" {
        return Err(Failure::file(
            &dir.join("metrics.json"),
            "not a binary_vae run",
            format!("example {}", metrics["example"]),
            "pass the folders of binary_vae runs",
        ));
    }
    let estimator = metrics["estimator"].as_str().unwrap_or("?").to_string();
    let steps: Vec<f64> = history["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let test: Vec<f64> = history["curves"]["test −ELBO"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p[1].as_f64()).collect())
        .unwrap_or_default();
    let test_curve = steps.into_iter().zip(test).collect();
    let variance = metrics["gradient_variance"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p["step"].as_f64()?, p["log10_variance"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let command = std::fs::read_to_string(dir.join("command.txt"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Ok(Run {
        estimator,
        metrics,
        test_curve,
        variance,
        command,
    })
}

/// The markdown table, best test −ELBO first.
fn table(runs: &[Run]) -> String {
    let mut order: Vec<&Run> = runs.iter().collect();
    let test = |r: &Run| {
        r.metrics["test_neg_elbo_nats"]
            .as_f64()
            .unwrap_or(f64::INFINITY)
    };
    order.sort_by(|a, b| test(a).total_cmp(&test(b)));
    let mut s = String::from(
        "| estimator | unbiased | f evaluations per image | steps | train −ELBO | test −ELBO | log10 logit-gradient variance (last 5) | steps/s | command |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in order {
        let m = &r.metrics;
        let last: Vec<f64> = r.variance.iter().rev().take(5).map(|p| p.1).collect();
        let variance = if last.is_empty() {
            "–".to_string()
        } else {
            format!("{:.2}", last.iter().sum::<f64>() / last.len() as f64)
        };
        let number = |k: &str, digits: usize| {
            m[k].as_f64()
                .map(|v| format!("{v:.digits$}"))
                .unwrap_or_else(|| "–".into())
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | `{}` |\n",
            r.estimator,
            if UNBIASED.contains(&r.estimator.as_str()) {
                "yes"
            } else {
                "no"
            },
            m["cost_evaluations_per_image"],
            m["steps"],
            number("train_neg_elbo_nats", 2),
            number("test_neg_elbo_nats", 2),
            variance,
            number("steps_per_sec", 1),
            r.command,
        ));
    }
    s
}

fn chart(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Failure> {
    plot_curves(path, title, "training step", y_label, series)
        .map_err(|e| Failure::file(path, "cannot write the chart", e, "check the disk"))
}
