//! The examples' command lines: every bad option or file is one readable line and a non-zero
//! exit (never a panic, exit code 101, or a `Debug` dump), checked before any work; no run
//! destroys an earlier result (a rerun with a bad learning rate, a diverging run, an
//! evaluation, a killed save); `--resume` continues a run exactly where it stopped.
//!
//! Runs are short (512 training and 200 test images, a few steps, one thread, small models);
//! scratch folders live in the target directory and are removed afterwards
//! (tests/example_runs/mod.rs).

mod example_runs;

use std::path::Path;
use std::process::Output;

use example_runs::{Scratch, json, run, run_ok, snapshot, with};

const EXAMPLES: [&str; 4] = ["vae", "discrete_vae", "vq_vae", "nade"];

/// Small models for the examples, so that short runs stay fast.
fn small(name: &str) -> &'static [&'static str] {
    match name {
        "vae" => &["--latent", "4", "--hidden", "32", "--iw-samples", "3"],
        "discrete_vae" => &["--latents", "4", "--classes", "4"],
        "vq_vae" => &["--codes", "16", "--code-dim", "8"],
        "nade" => &["--hidden", "20"],
        _ => unreachable!(),
    }
}

/// Asserts that a run failed the way a person can act on: exit code neither 0 nor 101 (a
/// panic), exactly one line on stderr, starting `error:`, naming `names` (an option or a
/// file), and no panic or `Debug` output.
fn assert_refused(name: &str, args: &[String], o: &Output, names: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        !o.status.success() && code != Some(101) && code.is_some(),
        "{name} {args:?}: exit {code:?}, stderr:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name} {args:?}: not one line:\n{stderr}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{name} {args:?}: {line}");
    for n in names {
        assert!(
            line.contains(n),
            "{name} {args:?}: `{n}` not named in: {line}"
        );
    }
    for debug in [
        "panicked",
        "Os {",
        "code:",
        "Missing {",
        "kind:",
        "RUST_BACKTRACE",
    ] {
        assert!(!line.contains(debug), "{name} {args:?}: {line}");
    }
}

/// Every bad value of every numeric option (and of the device), in every example: refused
/// at start-up, naming the option. The out dir must stay empty: no work was done.
#[test]
fn bad_options_are_refused_naming_the_option() {
    let common: &[(&str, &str)] = &[
        ("--batch-size", "0"),
        ("--batch-size", "-3"),
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--lr", "-1e-3"),
        ("--lr", "0"),
        ("--threads", "0"),
        ("--threads", "100000"),
        ("--test-limit", "0"),
        ("--train-limit", "0"),
        ("--max-steps", "0"),
        ("--max-minutes", "0"),
        ("--max-minutes", "nan"),
        ("--epochs", "-1"),
        ("--epochs", "two"),
        ("--seed", "-1"),
        ("--device", "tpu"),
        ("--binarization", "half"),
    ];
    let own: &[(&str, &[(&str, &str)])] = &[
        (
            "vae",
            &[
                ("--latent", "0"),
                ("--latent", "1000000"),
                ("--hidden", "0"),
                ("--iw-samples", "-1"),
                ("--iw-samples", "1000000"),
            ],
        ),
        (
            "discrete_vae",
            &[
                ("--latents", "0"),
                ("--classes", "0"),
                ("--tau-initial", "0"),
                ("--tau-initial", "nan"),
                ("--tau-rate", "-1"),
                ("--tau-rate", "inf"),
                ("--tau-min", "0"),
                ("--samples", "1"),
                ("--estimator", "magic"),
            ],
        ),
        (
            "vq_vae",
            &[
                ("--codes", "0"),
                ("--code-dim", "0"),
                ("--restart-every", "0"),
                ("--beta", "-1"),
                ("--beta", "nan"),
                ("--ema-decay", "1"),
                ("--ema-decay", "-0.5"),
            ],
        ),
        (
            "nade",
            &[
                ("--hidden", "0"),
                ("--lr-decay", "0"),
                ("--lr-decay", "nan"),
                ("--lr-decay", "2"),
                ("--model", "rbm"),
            ],
        ),
    ];
    let out = Scratch::new("bad-options");
    for name in EXAMPLES {
        let mine = own.iter().find(|(n, _)| *n == name).unwrap().1;
        for (option, value) in common.iter().chain(mine) {
            let args = with(&out.0, &[option, value]);
            assert_refused(name, &args, &run(name, &args), &[option]);
        }
    }
    assert!(
        snapshot(&out.0).is_empty(),
        "a refused option left files: {:?}",
        snapshot(&out.0).keys()
    );
}

/// Files and folders that cannot be used: named in the message, before any training.
#[test]
fn bad_files_are_refused_naming_the_file() {
    let scratch = Scratch::new("bad-files");
    let file = scratch.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let under_file = file.join("out");
    for name in EXAMPLES {
        // the out dir cannot be created (its parent is a file)
        let args = with(&under_file, &["--epochs", "1"]);
        assert_refused(
            name,
            &args,
            &run(name, &args),
            &[under_file.to_str().unwrap()],
        );
        // the data folder is missing
        let out = scratch.join(&format!("{name}-no-data"));
        let mut args = with(&out, &["--epochs", "1"]);
        args[1] = scratch.join("no-mnist-here").to_str().unwrap().to_string();
        assert_refused(
            name,
            &args,
            &run(name, &args),
            &["no-mnist-here", "--data-dir"],
        );
        // --resume and --eval-only without a run to continue or evaluate
        let empty = scratch.join(&format!("{name}-empty"));
        let args = with(&empty, &["--resume", "--epochs", "2"]);
        assert_refused(name, &args, &run(name, &args), &["--resume", "state.json"]);
        let args = with(&empty, &["--eval-only"]);
        assert_refused(
            name,
            &args,
            &run(name, &args),
            &["--eval-only", "model.bpk"],
        );
        let args = with(&empty, &["--eval-only", "--resume"]);
        assert_refused(name, &args, &run(name, &args), &["--eval-only", "--resume"]);
    }
}

/// The scenario: a short training, then the same command again with `--lr nan` (as a
/// new run, as a resumed run, with `--overwrite`): refused, and the first run's checkpoint,
/// metrics.json and every other file are byte for byte unchanged. A plain rerun without
/// `--resume` or `--overwrite` is refused too (it would replace the run), and so are a resume
/// or an evaluation with another model size or seed. Negative control:
/// the same rerun with `--overwrite` and a good learning rate does change the files, so the
/// comparison can see a change.
#[test]
fn a_bad_rerun_leaves_the_first_run_untouched() {
    let out = Scratch::new("rerun");
    let mut first = vec!["--epochs", "1", "--max-steps", "3"];
    first.extend(small("vae"));
    run_ok("vae", &with(&out.0, &first));
    let before = snapshot(&out.0);
    assert!(before.contains_key(Path::new("model.bpk")));
    assert!(before.contains_key(Path::new("metrics.json")));
    let cases: [(&[&str], &[&str]); 7] = [
        (&["--lr", "nan"], &["--lr"]),
        (&["--lr", "nan", "--overwrite"], &["--lr"]),
        (&["--lr", "nan", "--resume", "--epochs", "2"], &["--lr"]),
        (&[], &["--resume", "--overwrite"]),
        (
            &["--resume", "--epochs", "2", "--latent", "8"],
            &["--latent 8", "4"],
        ),
        (
            &["--resume", "--epochs", "2", "--seed", "5"],
            &["--seed 5", "0"],
        ),
        (&["--eval-only", "--latent", "8"], &["--latent 8", "4"]),
    ];
    for (extra, named) in cases {
        let mut args = first.clone();
        args.extend(extra);
        let args = with(&out.0, &args);
        let o = run("vae", &args);
        assert_refused("vae", &args, &o, named);
        assert!(
            snapshot(&out.0) == before,
            "vae {args:?} changed the first run's files"
        );
    }
    // negative control
    let mut args = first.clone();
    args.extend(["--overwrite", "--seed", "1"]);
    run_ok("vae", &with(&out.0, &args));
    let after = snapshot(&out.0);
    assert!(after[Path::new("metrics.json")] != before[Path::new("metrics.json")]);
}

/// A run that diverges (`--lr 1e6` after a good first epoch: NaN within three steps for the
/// VAE; 1e30 for the categorical VAE) stops with a message at the bad epoch, exit code 1, and
/// writes nothing: the first epoch's checkpoint, metrics and pictures stay as they were, and a
/// later `--resume` continues from them. (It used to train every epoch on NaN and overwrite
/// the checkpoint with NaN weights.)
#[test]
fn a_diverging_run_stops_without_writing() {
    for (name, lr) in [("vae", "1e6"), ("discrete_vae", "1e30")] {
        let out = Scratch::new(&format!("diverge-{name}"));
        let mut first = vec!["--epochs", "1", "--max-steps", "3"];
        first.extend(small(name));
        run_ok(name, &with(&out.0, &first));
        let before = snapshot(&out.0);
        let mut args = vec!["--resume", "--epochs", "3", "--max-steps", "3", "--lr", lr];
        args.extend(small(name));
        let args = with(&out.0, &args);
        let o = run(name, &args);
        assert_refused(name, &args, &o, &["training stopped in epoch 2", "--lr"]);
        assert!(
            snapshot(&out.0) == before,
            "{name}: the diverging run wrote files"
        );
        let mut args = vec!["--resume", "--epochs", "2", "--max-steps", "3"];
        args.extend(small(name));
        let o = run_ok(name, &with(&out.0, &args));
        assert!(String::from_utf8_lossy(&o.stdout).contains("resumed"));
        assert_eq!(json(&out.join("history.json"))["epochs"], 2);
    }
}

/// `--eval-only` and `--epochs 0` write to `eval/`, then `eval-2/`, `eval-3/`, and leave every
/// file of the training run and of the earlier evaluations as it was (they used to rewrite
/// metrics.json with `"epochs": 0` and empty curves, and a second evaluation rewrote the
/// first's). Each invocation's snapshot is compared with the one before it, so a file any
/// earlier run wrote that changes fails the test.
#[test]
fn evaluations_write_to_eval_and_leave_the_run_alone() {
    for name in EXAMPLES {
        let out = Scratch::new(&format!("eval-{name}"));
        let mut first = vec!["--epochs", "1", "--max-steps", "2"];
        first.extend(small(name));
        run_ok(name, &with(&out.0, &first));
        for (extra, folder) in [
            (&["--eval-only"][..], "eval"),
            (&["--epochs", "0"], "eval-2"),
            (&["--resume", "--epochs", "1"], "eval-3"),
        ] {
            let before = snapshot(&out.0);
            let mut args = extra.to_vec();
            args.extend(small(name));
            run_ok(name, &with(&out.0, &args));
            let after = snapshot(&out.0);
            for (file, bytes) in &before {
                assert!(
                    after.get(file) == Some(bytes),
                    "{name} {extra:?} changed {}",
                    file.display()
                );
            }
            let metrics = json(&out.join(folder).join("metrics.json"));
            assert_eq!(metrics["evaluation_only"], true, "{name} {extra:?}");
        }
    }
}

/// An interrupted run continued with `--resume` ends with the same history.json (every
/// curve, every step count) and the same final figures as an uninterrupted run of the same
/// length: the weights, Adam's state, the counters, the noise stream (shuffling, dynamic
/// binarization, the estimators' draws, VQ-VAE's restart picks) and VQ-VAE's usage window are
/// all restored. Negative control: resuming with another learning rate (allowed) gives a
/// different history, so the comparison does see a change.
#[test]
fn resume_continues_exactly() {
    let cases: &[(&str, &[&str])] = &[
        ("vae", &[]),
        ("discrete_vae", &["--estimator", "reinforce-rloo"]),
        (
            "discrete_vae",
            &["--estimator", "st-gumbel", "--tau-rate", "0.01"],
        ),
        (
            "vq_vae",
            &["--ema", "--restart-dead", "--restart-every", "2"],
        ),
        ("nade", &[]),
        ("nade", &["--model", "fvsbn"]),
    ];
    for (i, &(name, extra)) in cases.iter().enumerate() {
        let mut options: Vec<&str> = vec!["--max-steps", "3"];
        options.extend(small(name));
        options.extend(extra);
        let at = |epochs: &'static str, resume: bool| {
            let mut a = options.clone();
            a.extend(["--epochs", epochs]);
            if resume {
                a.push("--resume");
            }
            a
        };
        let whole = Scratch::new(&format!("resume-whole-{i}"));
        run_ok(name, &with(&whole.0, &at("3", false)));
        let parts = Scratch::new(&format!("resume-parts-{i}"));
        run_ok(name, &with(&parts.0, &at("1", false)));
        run_ok(name, &with(&parts.0, &at("2", true)));
        let o = run_ok(name, &with(&parts.0, &at("3", true)));
        assert!(String::from_utf8_lossy(&o.stdout).contains("resumed"));
        let history = |dir: &Path| std::fs::read(dir.join("history.json")).unwrap();
        assert!(
            history(&whole.0) == history(&parts.0),
            "{name} {extra:?}: resumed history\n{}\ndiffers from\n{}",
            String::from_utf8_lossy(&history(&parts.0)),
            String::from_utf8_lossy(&history(&whole.0))
        );
        let (a, b) = (
            json(&whole.join("metrics.json")),
            json(&parts.join("metrics.json")),
        );
        for key in ["steps", "epochs", "curves"] {
            assert_eq!(a[key], b[key], "{name}: {key}");
        }
        for key in [
            "test_neg_elbo_nats",
            "test_nll_nats",
            "test_mse_per_pixel",
            "codes_restarted",
        ] {
            assert_eq!(a[key], b[key], "{name}: {key}");
        }
        assert_eq!(a["epoch_seconds"].as_array().unwrap().len(), 3);
        assert_eq!(b["epoch_seconds"].as_array().unwrap().len(), 3);
        if i == 0 {
            // negative control
            let other = Scratch::new("resume-control");
            run_ok(name, &with(&other.0, &at("1", false)));
            let mut args = at("3", true);
            args.extend(["--lr", "0.002"]);
            run_ok(name, &with(&other.0, &args));
            assert!(history(&other.0) != history(&whole.0));
        }
    }
}

/// What a killed save leaves (Burn's scratch file, a `.partial` file, weights that no
/// `state.json` names) is removed when the next run starts, and the run goes on from the
/// committed checkpoint.
#[test]
fn a_killed_save_is_cleaned_up_on_the_next_start() {
    let out = Scratch::new("stale");
    let mut first = vec!["--epochs", "1", "--max-steps", "2"];
    first.extend(small("vae"));
    run_ok("vae", &with(&out.0, &first));
    let stale = [
        "model.bpk.4242-0.tmp",
        "metrics.json.partial",
        "checkpoint/state.json.partial",
        "checkpoint/model-7.bpk",
        "checkpoint/optimizer-7.bpk",
        "checkpoint/model-2.bpk.4242-1.tmp",
    ];
    for f in stale {
        std::fs::write(out.join(f), b"left by a killed save").unwrap();
    }
    let mut args = vec!["--resume", "--epochs", "2", "--max-steps", "2"];
    args.extend(small("vae"));
    let o = run_ok("vae", &with(&out.0, &args));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for f in stale {
        assert!(!out.join(f).exists(), "{f} was not removed");
    }
    assert!(stdout.contains("removed"), "{stdout}");
    assert_eq!(json(&out.join("history.json"))["epochs"], 2);
    // one save's files in checkpoint/, and model.bpk
    let files: Vec<_> = snapshot(&out.join("checkpoint")).into_keys().collect();
    assert_eq!(files.len(), 3, "{files:?}");
}

/// `--help` shows the example's defaults, NADE's training subset among them.
#[test]
fn help_shows_the_defaults() {
    let o = run_ok("nade", &["--help".to_string()]);
    let help = String::from_utf8_lossy(&o.stdout);
    for text in [
        "15000 for NADE",
        "0.003 for NADE",
        "20 for NADE",
        "0.75 for FVSBN",
    ] {
        assert!(help.contains(text), "`{text}` not in nade --help:\n{help}");
    }
    let o = run_ok("vae", &["--help".to_string()]);
    let help = String::from_utf8_lossy(&o.stdout);
    for text in ["[default: 10]", "[default: 128]", "[default: 0.001]"] {
        assert!(help.contains(text), "`{text}` not in vae --help:\n{help}");
    }
}

/// `--device wgpu` leaves nothing in the working directory (CubeCL's cache database went to
/// `./target/environment/default.db` when run from a checkout) and prints no
/// `XDG_RUNTIME_DIR` complaint. Needs a Vulkan driver; on Mesa's software Vulkan (lavapipe)
/// compiling the kernels of one training step takes about 4 minutes, so the test is opt-in:
/// `cargo test --release --features wgpu,ndarray --test cli -- --ignored`.
#[test]
#[ignore = "about 4 minutes on Mesa's lavapipe; run with --ignored on a machine with Vulkan"]
#[cfg(feature = "wgpu")]
fn wgpu_runs_leave_the_working_directory_clean() {
    let icds = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];
    if !icds.iter().any(|d| Path::new(d).is_dir()) {
        eprintln!("no Vulkan driver: wgpu_runs_leave_the_working_directory_clean skipped");
        return;
    }
    let cwd = Scratch::new("wgpu-cwd");
    // a Cargo.toml makes the folder look like a checkout, where CubeCL used to put its cache
    std::fs::write(cwd.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    let out = cwd.join("run");
    let args = with(
        &out,
        &[
            "--device",
            "wgpu",
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--latent",
            "2",
            "--hidden",
            "8",
            "--iw-samples",
            "0",
            "--test-limit",
            "20",
        ],
    );
    let o = std::process::Command::new(example_runs::example("vae"))
        .args(&args)
        .current_dir(&cwd.0)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("CUBECL_AUTOTUNE_CACHE")
        .output()
        .unwrap();
    example_runs::assert_ok("vae", &args, &o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&cwd.0)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Cargo.toml", "run"],
        "the run left files in its working directory"
    );
}
