//! The command line: help, bad input (each a clear error before any computation), overwrite
//! protection, and Ctrl-C keeping the best image.

mod common;

use common::cli::*;
use common::*;

#[test]
fn help_shows_examples() {
    for cmd in [
        &["synth", "--help"][..],
        &["bench", "--help"],
        &["providers", "--help"],
        &["--help"],
    ] {
        let out = neurotex(cmd);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example") || text.contains("neurotex <command> --help"),
            "{cmd:?}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error_before_any_computation() {
    let dir = scratch("cli-bad");
    let out = dir.join("o.png");
    let out = out.to_str().unwrap();
    let pebbles = example("pebbles.png");
    let pebbles = pebbles.to_str().unwrap();
    let corrupt = dir.join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR truncated").unwrap();
    let text_as_jpg = dir.join("notes.jpg");
    std::fs::write(&text_as_jpg, "not an image").unwrap();

    fails_with(
        &["synth", "/no/such/photo.png", "-o", out],
        &["/no/such/photo.png", "no such file"],
    );
    fails_with(
        &["synth", corrupt.to_str().unwrap(), "-o", out],
        &["corrupt.png", "PNG, JPEG, WebP"],
    );
    fails_with(
        &["synth", text_as_jpg.to_str().unwrap(), "-o", out],
        &["notes.jpg"],
    );
    // One bad value each. Negative and NaN numbers reach the value checks (clap would call -5
    // an unknown option).
    let bad_values: &[(&str, &str, &[&str])] = &[
        ("--size", "0x64", &["invalid size", "at least"]),
        ("--size", "abc", &["WIDTHxHEIGHT"]),
        ("--size", "-5", &["invalid size -5", "WIDTHxHEIGHT"]),
        ("--iters", "-3", &["'-3' for '--iters"]),
        ("--tolerance", "-1", &["tolerance -1 must be in [0, 1)"]),
        (
            "--exemplar-scale",
            "NaN",
            &["--exemplar-scale NaN must be in (0, 8]"],
        ),
        (
            "--init",
            "zeros",
            &["invalid value 'zeros' for '--init", "noise, spectrum"],
        ),
        (
            "--upsample",
            "lanczos",
            &[
                "invalid value 'lanczos' for '--upsample",
                "bilinear, example",
            ],
        ),
        (
            "--skip-deepest",
            "250",
            &[
                "--skip-deepest 250",
                "shallow pass's 75",
                "fewer than --iters 300",
            ],
        ),
        ("--size", "100000x100000", &["at most 8192"]),
        ("--size", "8000x8000", &["GiB", "smaller --size"]),
    ];
    for (option, value, expect) in bad_values {
        fails_with(&["synth", pebbles, "-o", out, option, value], expect);
    }
    fails_with(
        &["synth", pebbles, "-o", out, "--layers", "relu1_1,conv9"],
        &["unknown layer 'conv9'", "relu5_3", "per-block"],
    );
    fails_with(
        &[
            "synth",
            pebbles,
            "-o",
            out,
            "--layers",
            "relu1_1,relu2_1",
            "--layer-weights",
            "1,2,3",
        ],
        &["3 weights given for 2 layers"],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--provider", "metal"],
        &[
            "unknown execution provider 'metal'",
            "cpu, cuda or tensorrt",
        ],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--provider", "cuda"],
        &[
            "cuda execution provider is not available",
            "CUDAExecutionProvider",
            "--provider cpu",
        ],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--provider", "tensorrt"],
        &["TensorrtExecutionProvider"],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--precision", "fp16"],
        &["--precision fp16 needs --provider tensorrt"],
    );
    // TensorRT's fp16 mode on the Winograd models: refused before the provider is looked for,
    // with the export that makes models it can run.
    for command in [
        &["synth", pebbles, "-o", out][..],
        &["bench", "--sizes", "64"][..],
    ] {
        let args = [command, &["--provider", "tensorrt", "--precision", "fp16"]].concat();
        fails_with(&args, &["Winograd", "float16", "--direct-conv", "--models"]);
    }
    fails_with(
        &["synth", pebbles, "-o", out, "--precision", "fp64"],
        &["choose fp32 or fp16"],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--loss", "fourier"],
        &["unknown statistic 'fourier'", "gram"],
    );
    fails_with(
        &["synth", pebbles, "-o", out, "--iters", "0"],
        &["--iters 0 must be between 1 and"],
    );
    fails_with(
        &[
            "synth",
            pebbles,
            "-o",
            out,
            "--models",
            dir.to_str().unwrap(),
        ],
        &["manifest.json", "make setup"],
    );
    // Unwritable outputs: below a regular file, or in /proc (root can write almost anywhere else).
    fails_with(
        &["synth", pebbles, "-o", &format!("{pebbles}/x.png")],
        &["cannot"],
    );
    fails_with(
        &["synth", pebbles, "-o", "/proc/neurotex-test.png"],
        &["cannot write"],
    );
    fails_with(
        &["synth", pebbles, "-o", dir.to_str().unwrap()],
        &["is a folder"],
    );
    // The exemplar is never overwritten, even with --overwrite.
    fails_with(
        &["synth", pebbles, "-o", pebbles, "--overwrite"],
        &["refusing to write the output", "never overwritten"],
    );
}

#[test]
fn existing_outputs_are_kept_unless_overwrite_is_given() {
    let dir = scratch("cli-keep");
    let out = dir.join("keep.png");
    std::fs::write(&out, b"precious").unwrap();
    let pebbles = example("pebbles.png");
    let args = [
        "synth",
        pebbles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--size",
        "32",
        "--iters",
        "2",
    ];
    fails_with(&args, &["already exists", "--overwrite"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let mut with = args.to_vec();
    with.push("--overwrite");
    let run = neurotex(&with);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        neurotex::image_io::load_rgb(&out).unwrap().image.dim(),
        (3, 32, 32)
    );
}

#[test]
fn count_and_tile_write_every_file_and_check_them_all_first() {
    let dir = scratch("cli-count");
    let out = dir.join("t.png");
    let pebbles = example("pebbles.png");
    let args = [
        "synth",
        pebbles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--size",
        "32",
        "--iters",
        "2",
        "--count",
        "2",
        "--seed",
        "5",
        "--tile",
    ];
    // A file of the second run exists: refused before the first run starts, file kept.
    let second_preview = dir.join("t.seed6.2x2.png");
    std::fs::write(&second_preview, b"precious").unwrap();
    fails_with(&args, &["t.seed6.2x2.png", "already exists"]);
    assert!(!dir.join("t.seed5.png").exists());
    assert_eq!(std::fs::read(&second_preview).unwrap(), b"precious");
    std::fs::remove_file(&second_preview).unwrap();

    let run = neurotex(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let load = |name: &str| neurotex::image_io::load_rgb(&dir.join(name)).unwrap().image;
    let (a, b) = (load("t.seed5.png"), load("t.seed6.png"));
    assert_eq!(a.dim(), (3, 32, 32));
    assert_ne!(a, b, "different seeds give different textures");
    assert_eq!(load("t.seed5.2x2.png"), neurotex::metrics::tile(&a, 2, 2));
    assert_eq!(load("t.sheet.png").dim(), (3, 32, 32 + 8 + 32));
    fails_with(
        &[
            "synth",
            pebbles.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--count",
            "0",
        ],
        &["--count"],
    );
}

#[test]
fn providers_and_models_commands_report() {
    let out = neurotex(&["providers"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("libonnxruntime") && text.contains("CPUExecutionProvider"),
        "{text}"
    );
    let out = neurotex(&["models"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && text.contains("gram (synth):")
            && text.contains("gram.content (style):")
            && text.contains("relu5_3"),
        "{text}"
    );
}

#[test]
fn ctrl_c_and_sigterm_keep_the_best_image_so_far() {
    for signal in ["INT", "TERM", "HUP", "TERM-TERM"] {
        let dir = scratch(&format!("cli-{signal}"));
        let out = dir.join("interrupted.png");
        let record = dir.join("interrupted.json");
        let exemplar = example("grass_meadow.png");
        let args = [
            "synth",
            exemplar.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
            "--size",
            "64",
            "--iters",
            "100000",
            "--tolerance",
            "0",
        ];
        // Wait for the first progress line, then interrupt.
        let (mut child, mut stderr, log) = interrupt_after(&args, "iter ", signal);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let exit = child.wait().unwrap();
        // 128 + the signal: a script tells an interrupted run from a finished one.
        let expected = match signal {
            "INT" => 130,
            "HUP" => 129,
            _ => 143,
        };
        assert_eq!(exit.code(), Some(expected), "SIG{signal}:\n{log}{rest}");
        assert!(rest.contains("interrupted"), "{rest}");
        assert_eq!(
            neurotex::image_io::load_rgb(&out).unwrap().image.dim(),
            (3, 64, 64)
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
        assert_eq!(json["stop"]["reason"], "interrupted", "SIG{signal}");
    }
}

#[test]
fn resume_continues_an_interrupted_run_from_its_image() {
    let dir = scratch("cli-resume");
    let out = dir.join("r.png");
    let record = dir.join("r.json");
    let exemplar = example("pebbles.png");
    let extra = ["--record", record.to_str().unwrap()];
    let args = run_64(
        exemplar.to_str().unwrap(),
        out.to_str().unwrap(),
        "60",
        &extra,
    );
    let (mut child, mut stderr, _) = interrupt_after(&args, "iter   10/", "INT");
    std::io::Read::read_to_string(&mut stderr, &mut String::new()).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let first = read(&record);
    assert_eq!(first["stop"]["reason"], "interrupted");
    let done = first["iterations"].as_array().unwrap().len();
    assert!(
        (10..60).contains(&done),
        "{done} iterations before the interrupt"
    );

    let run = neurotex(&["synth", "--resume", record.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming after {done}")),
        "{stderr}"
    );
    let second = read(&record);
    assert_eq!(second["resumed_after_iterations"], done);
    assert_eq!(second["optimizer"]["max_iterations"], 60 - done);
    assert_eq!(second["stop"]["reason"], "max-iterations");
    // It went on from the interrupted image, not from noise.
    let (noise, resumed, best) = (
        first["initial_loss"].as_f64().unwrap(),
        second["initial_loss"].as_f64().unwrap(),
        first["best_loss"].as_f64().unwrap(),
    );
    assert!(
        resumed < 1.1 * best && resumed < 0.1 * noise,
        "{noise} {best} {resumed}"
    );
    assert!(second["best_loss"].as_f64().unwrap() < best);

    // A finished run has nothing left; --resume takes no exemplar or output.
    fails_with(
        &["synth", "--resume", record.to_str().unwrap()],
        &["nothing to resume"],
    );
    fails_with(
        &["synth", "x.png", "--resume", record.to_str().unwrap()],
        &["cannot be used with"],
    );
}
