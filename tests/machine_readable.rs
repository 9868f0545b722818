//! What the command line says and how: `--json` summaries and run records that conform to their
//! schemas in docs/schema, `models --json` and `providers --json`, `--quiet` and `-v`, and real
//! progress bars on a terminal that fit its width.

mod common;

use common::cli::*;
use common::schema::{assert_conforms, violations};
use common::*;
use serde_json::Value;

fn stdout_json(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{text}"))
}

#[test]
fn the_json_summary_and_the_record_conform_to_their_schemas() {
    let dir = scratch("mr-json");
    let pebbles = example("pebbles.png");
    let out = dir.join("t.png");
    let record = dir.join("t.json");
    let args = [
        &[
            "synth",
            s(&pebbles),
            "-o",
            s(&out),
            "--record",
            s(&record),
            "--json",
        ][..],
        &[
            "--size", "64", "--iters", "4", "--scales", "2", "--count", "2",
        ],
    ]
    .concat();
    let run = neurotex_in(&dir, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = stdout_json(&run);
    assert_conforms("summary.schema.json", &summary);
    assert_eq!(summary["status"], "done");
    assert_eq!(summary["exit_code"], 0);
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["seed"].as_u64(), runs[1]["seed"].as_u64()),
        (Some(0), Some(1))
    );
    for r in runs {
        assert!(r["best_loss"].as_f64() < r["initial_loss"].as_f64(), "{r}");
    }
    let files: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for name in [
        "t.seed0.png",
        "t.seed0.json",
        "t.seed1.png",
        "t.seed1.json",
        "t.sheet.png",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "{name} in {files:?}"
        );
        assert!(dir.join(name).exists());
    }
    // Each record, a multi-scale one with passes, conforms; so does a sliced run's (rounds and
    // redraws) and a checkpoint's.
    for name in ["t.seed0.json", "t.seed1.json"] {
        let saved = read_json(&dir.join(name));
        assert_conforms("run-record.schema.json", &saved);
        assert_eq!(saved["schema_version"], 1);
    }
    let sliced = dir.join("s.json");
    succeeds(
        &dir,
        &tiny(
            s(&pebbles),
            s(&dir.join("s.png")),
            &["--loss", "sliced", "--record", s(&sliced)],
        ),
    );
    assert_conforms("run-record.schema.json", &read_json(&sliced));

    // The schemas do catch what breaks them.
    let mut broken = read_json(&sliced);
    broken["stop"] = Value::from("done");
    broken["surprise"] = Value::from(1);
    broken.as_object_mut().unwrap().remove("best_loss");
    let found = violations(&common::schema::load("run-record.schema.json"), &broken);
    for expect in ["$.stop", "$.surprise", "best_loss is missing"] {
        assert!(
            found.iter().any(|f| f.contains(expect)),
            "{expect}: {found:?}"
        );
    }

    // An error is a summary too, with the message and exit status.
    let run = neurotex_in(&dir, &["synth", "/no/such.png", "-o", "x.png", "--json"]);
    let summary = stdout_json(&run);
    assert_conforms("summary.schema.json", &summary);
    assert_eq!(
        (summary["status"].as_str(), summary["exit_code"].as_u64()),
        (Some("error"), Some(1))
    );
    assert!(summary["error"].as_str().unwrap().contains("no such file"));
}

#[test]
fn an_interrupted_run_says_so_in_its_summary() {
    let dir = scratch("mr-int");
    let out = dir.join("i.png");
    let pebbles = example("pebbles.png");
    let args = run_64(s(&pebbles), s(&out), "500", &["--json"]);
    let (mut child, stderr, log) = interrupt_after(&args, "iter   10/", "TERM");
    let mut stdout = child.stdout.take().unwrap();
    let (code, log) = finish((child, stderr, log));
    assert_eq!(code, Some(143), "{log}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert_conforms("summary.schema.json", &summary);
    assert_eq!(summary["status"], "stopped");
    assert_eq!(summary["signal"], "SIGTERM");
    assert_eq!(summary["exit_code"], 143);
    assert_eq!(summary["runs"][0]["stop"]["reason"], "interrupted");
    assert!(out.exists());
}

#[test]
fn models_and_providers_list_as_json() {
    let out = neurotex(&["models", "--json"]);
    assert!(out.status.success());
    let models = stdout_json(&out);
    let variants = models["variants"].as_array().unwrap();
    let gram = variants.iter().find(|v| v["name"] == "gram").unwrap();
    assert_eq!(gram["layers"].as_array().unwrap().len(), 13);
    assert_eq!(gram["options"]["gram-norm"]["default"], "paper");
    assert!(variants
        .iter()
        .any(|v| v["statistic"] == "sliced" && v["step_inputs"].as_u64() > Some(0)));
    assert!(models["backbones"]["vgg16"]["weights_source"].is_string());

    let out = neurotex(&["providers", "--json"]);
    assert!(out.status.success());
    let providers = stdout_json(&out);
    assert!(providers["onnxruntime"]["version"]
        .as_str()
        .unwrap()
        .starts_with("1."));
    let cpu = &providers["providers"][0];
    assert_eq!(
        (cpu["name"].as_str(), cpu["available"].as_bool()),
        (Some("cpu"), Some(true))
    );
}

#[test]
fn quiet_says_nothing_but_errors_and_verbose_logs_every_iteration() {
    let dir = scratch("mr-quiet");
    let pebbles = example("pebbles.png");
    let quiet = neurotex_in(&dir, &tiny(s(&pebbles), "q.png", &["-q"]));
    assert!(quiet.status.success());
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "",
        "nothing on stderr"
    );
    assert_eq!(
        String::from_utf8_lossy(&quiet.stdout).trim(),
        "q.png",
        "the result's path"
    );
    let failed = neurotex_in(&dir, &tiny(s(&pebbles), "q.png", &["-q"]));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        !failed.status.success() && stderr.starts_with("error:"),
        "{stderr}"
    );

    // Piped: every 10th iteration and the first by default, each one with -v.
    let lines = |extra: &[&str]| {
        let out = neurotex_in(
            &dir,
            &run_64(
                s(&pebbles),
                "v.png",
                "20",
                &[&["--overwrite"], extra].concat(),
            ),
        );
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("| iter "))
            .count()
    };
    assert_eq!(lines(&[]), 3, "iterations 1, 10, 20");
    assert_eq!(lines(&["-v"]), 20);
}

/// The bytes a terminal receives, cut where the cursor moves: each piece is drawn on one row.
fn drawn_pieces(raw: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => pieces.push(String::new()),
            '\x1b' => {
                // CSI: ESC [ parameters final-letter.
                if chars.peek() == Some(&'[') {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                pieces.push(String::new());
            }
            c => pieces.last_mut().unwrap().push(c),
        }
    }
    pieces
}

#[test]
fn a_terminal_gets_progress_bars_that_fit_its_width() {
    // `script` runs neurotex on a pseudo-terminal of 80 columns and records what it draws.
    let dir = scratch("mr-tty");
    let log = dir.join("tty.log");
    let pebbles = example("pebbles.png");
    let command = format!(
        "stty cols 80; {} synth {} -o {} --size 128 --scales 2 --iters 8",
        env!("CARGO_BIN_EXE_neurotex"),
        s(&pebbles),
        s(&dir.join("t.png"))
    );
    let status = std::process::Command::new("script")
        .args(["-qfec", &command, s(&log)])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script (util-linux) runs");
    assert!(status.success());
    let raw = std::fs::read_to_string(&log).unwrap();
    let pieces = drawn_pieces(&raw);
    let bars: Vec<&String> = pieces.iter().filter(|p| p.contains("s/it ETA")).collect();
    assert!(bars.len() >= 8, "a bar redrawn as it goes:\n{raw}");
    assert!(
        bars.iter().any(|b| b.contains("[==") && b.contains("8/8")),
        "{bars:#?}"
    );
    assert!(bars.iter().any(|b| b.contains("(1/2)")) && bars.iter().any(|b| b.contains("(2/2)")));
    for bar in &bars {
        assert!(
            bar.trim_end().chars().count() <= 80,
            "wider than the terminal: {bar:?}"
        );
    }
    // Each finished scale or pass stays as one line.
    assert!(pieces
        .iter()
        .any(|p| p.starts_with("64x64 (1/2) ") && p.contains("iterations |")));
}
