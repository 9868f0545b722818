//! Nothing of the user's is ever lost: one output plan checked before any work, exclusive
//! outputs, side files that never cost the run, crash-safe records, resume from anywhere and only
//! over the run's own files, bounded resources, exit statuses that tell what happened. Every
//! case here destroyed or lost something, or misled, before (README, "Reliability").
//! Runs are 64² with a few iterations.

mod common;

use std::fs;
use std::path::Path;

use common::cli::*;
use common::*;

/// A named pipe at `path`.
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

#[test]
fn an_exemplar_named_like_a_side_file_is_never_written() {
    let dir = scratch("nl-side");
    let out = dir.join("t.png");
    let photo = fs::read(example("pebbles.png")).unwrap();
    let cases: [(&str, &[&str]); 3] = [
        ("t.iter0002.png", &["--snapshot-every", "2"]),
        ("t.2x2.png", &["--tile", "--overwrite"]),
        ("t.sheet.png", &["--count", "2", "--overwrite"]),
    ];
    for (name, extra) in cases {
        let exemplar = dir.join(name);
        fs::write(&exemplar, &photo).unwrap();
        fails_with(
            &tiny(s(&exemplar), s(&out), extra),
            &["refusing to write", name, "never overwritten"],
        );
        assert_eq!(fs::read(&exemplar).unwrap(), photo, "{name} was changed");
        assert!(!out.exists());
    }
}

#[test]
fn two_files_of_one_run_may_not_share_a_name() {
    let dir = scratch("nl-twice");
    let out = dir.join("t.png");
    let pebbles = example("pebbles.png");
    fails_with(
        &tiny(s(&pebbles), s(&out), &["--record", s(&out)]),
        &["the output and the run record would both be"],
    );
    // The same file spelt another way.
    let other = format!("{}/sub/../t.png", dir.display());
    fs::create_dir(dir.join("sub")).unwrap();
    fails_with(
        &tiny(s(&pebbles), s(&out), &["--record", &other]),
        &["would both be"],
    );
    assert!(!out.exists());
}

#[test]
fn overwrite_replaces_only_regular_files() {
    let dir = scratch("nl-special");
    let pebbles = example("pebbles.png");
    let fifo = dir.join("pipe.png");
    mkfifo(&fifo);
    fails_with(
        &tiny(s(&pebbles), s(&fifo), &["--overwrite"]),
        &["named pipe", "only regular files"],
    );
    let target = dir.join("precious.png");
    fs::write(&target, b"precious").unwrap();
    let link = dir.join("link.png");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    fails_with(
        &tiny(s(&pebbles), s(&link), &["--overwrite"]),
        &["symbolic link", "never a link's target"],
    );
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_second_run_on_the_same_output_refuses_at_once_and_a_dead_runs_claim_is_taken_over() {
    let dir = scratch("nl-busy");
    let out = dir.join("t.png");
    let pebbles = example("pebbles.png");
    let args = run_64(s(&pebbles), s(&out), "100000", &[]);
    let first = spawn_until(&dir, &args, "iter ");
    let pid = first.0.id();
    fails_with(
        &tiny(s(&pebbles), s(&out), &[]),
        &[
            "being written by another neurotex run",
            &format!("process {pid}"),
        ],
    );
    // Killed outright (no record: nothing to resume), its claim stays behind: the next run
    // takes it over.
    send(&first.0, "KILL");
    assert_eq!(finish(first).0, None);
    let stderr = succeeds(&dir, &tiny(s(&pebbles), s(&out), &[]));
    assert!(
        stderr.contains("no longer running") && stderr.contains("taken over"),
        "{stderr}"
    );
    let left: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["t.png"], "claims and temporaries are cleaned up");
}

#[test]
fn a_side_file_that_cannot_be_written_is_a_warning_and_the_run_goes_on() {
    let dir = scratch("nl-side-fails");
    let out = dir.join("s.png");
    let pebbles = example("pebbles.png");
    let args = run_64(s(&pebbles), s(&out), "40", &["--snapshot-every", "10"]);
    let running = spawn_until(&dir, &args, "iter    1/");
    // Something takes the later snapshots' places while the run goes on.
    for i in [20, 30, 40] {
        fs::create_dir(dir.join(format!("s.iter{i:04}.png"))).unwrap();
    }
    let (code, stderr) = finish(running);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: the snapshot") && stderr.contains("s.iter0040.png"),
        "{stderr}"
    );
    assert!(stderr.contains("files written:"), "{stderr}");
    let image = neurotex::image_io::load_rgb(&out).unwrap().image;
    assert_eq!(image.dim(), (3, 64, 64));
}

#[test]
fn resume_works_from_any_folder_on_its_own_files_only_and_keeps_every_segment() {
    let dir = scratch("nl-resume");
    let sub = dir.join("sub");
    let elsewhere = dir.join("elsewhere");
    fs::create_dir_all(&sub).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    let photo = fs::read(example("pebbles.png")).unwrap();
    fs::write(sub.join("ex.png"), &photo).unwrap();
    // Relative paths, from the parent folder.
    let args = run_64(
        "sub/ex.png",
        "sub/out.png",
        "60",
        &["--record", "sub/r.json"],
    );
    let running = spawn_until(&dir, &args, "iter   10/");
    send(&running.0, "INT");
    assert_eq!(finish(running).0, Some(130));
    let record = sub.join("r.json");
    let first = read_json(&record);
    assert!(Path::new(first["output"].as_str().unwrap()).is_absolute());

    // Options that cannot change are refused, with a list, never ignored.
    let refused = neurotex_in(
        &elsewhere,
        &[
            "synth",
            "--resume",
            s(&record),
            "--size",
            "128",
            "--seed",
            "3",
        ],
    );
    let text = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{text}");
    assert!(text.contains("--size, --seed cannot change"), "{text}");

    // A record edited by hand to relative paths: relative to its own folder, not to where
    // neurotex runs, where an unrelated out.png must stay as it is.
    let mut edited = first.clone();
    edited["output"] = "out.png".into();
    edited["exemplar"] = "ex.png".into();
    fs::write(&record, edited.to_string()).unwrap();
    fs::write(elsewhere.join("out.png"), b"unrelated").unwrap();
    let before = fs::read(sub.join("out.png")).unwrap();
    succeeds(
        &elsewhere,
        &["synth", "--resume", s(&record), "--iters", "70"],
    );
    assert_eq!(fs::read(elsewhere.join("out.png")).unwrap(), b"unrelated");
    assert_ne!(fs::read(sub.join("out.png")).unwrap(), before);
    let second = read_json(&record);
    let segments = second["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 1, "the first segment's history is kept");
    assert_eq!(
        segments[0]["iterations"].as_array().unwrap().len(),
        first["iterations"].as_array().unwrap().len()
    );
    assert_eq!(segments[0]["stop"]["reason"], "interrupted");
    assert_eq!(second["stop"]["reason"], "max-iterations");
    // --iters extended the run to 70 in all.
    let done = first["iterations"].as_array().unwrap().len();
    assert_eq!(second["optimizer"]["max_iterations"], 70 - done);

    // Another image under the exemplar's name, or an output changed since: refused.
    let grass = fs::read(example("grass_meadow.png")).unwrap();
    fs::write(sub.join("ex.png"), &grass).unwrap();
    let resume_more = ["synth", "--resume", s(&record), "--iters", "80"];
    fails_with(&resume_more, &["not the image the run started from"]);
    fs::write(sub.join("ex.png"), &photo).unwrap();
    let written = fs::read(sub.join("out.png")).unwrap();
    fs::copy(sub.join("ex.png"), sub.join("out.png")).unwrap();
    fails_with(
        &resume_more,
        &["not the image this run wrote", "--overwrite"],
    );
    fs::write(sub.join("out.png"), written).unwrap();
    succeeds(&dir, &resume_more);
    assert_eq!(read_json(&record)["segments"].as_array().unwrap().len(), 2);
}

#[test]
fn a_run_killed_outright_resumes_from_its_last_checkpoint() {
    let dir = scratch("nl-kill");
    let out = dir.join("k.png");
    let record = dir.join("k.json");
    let pebbles = example("pebbles.png");
    let extra = ["--record", s(&record), "--snapshot-every", "5"];
    let args = run_64(s(&pebbles), s(&out), "60", &extra);
    let running = spawn_until(&dir, &args, "iter   20/");
    send(&running.0, "KILL");
    assert_eq!(finish(running).0, None, "killed by the signal");
    let checkpoint = read_json(&record);
    assert!(
        checkpoint["stop"].is_null(),
        "a checkpoint: the run was going"
    );
    let done = checkpoint["iterations"].as_array().unwrap().len();
    assert!(done >= 15, "{done} iterations in the checkpoint");

    let stderr = succeeds(&dir, &["synth", "--resume", s(&record)]);
    assert!(stderr.contains("taken over"), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming after {done}")),
        "{stderr}"
    );
    let resumed = read_json(&record);
    assert_eq!(resumed["stop"]["reason"], "max-iterations");
    assert_eq!(resumed["resumed_after_iterations"], done);
    // It went on from the checkpointed image, far below the noise it started from.
    let start = checkpoint["iterations"][0]["loss"].as_f64().unwrap();
    assert!(resumed["initial_loss"].as_f64().unwrap() < 0.1 * start);
    // Its snapshots are numbered on, next to the first segment's.
    assert!(dir.join(format!("k.iter{:04}.png", done + 5)).exists());
}

#[test]
fn special_files_and_endless_inputs_are_refused_at_once() {
    let dir = scratch("nl-inputs");
    let out = dir.join("o.png");
    let fifo = dir.join("fifo.png");
    mkfifo(&fifo);
    fails_with(&tiny(s(&fifo), s(&out), &[]), &["not a regular file"]);
    fails_with(&tiny("/dev/zero", s(&out), &[]), &["not a regular file"]);
    let a = dir.join("a.png");
    let b = dir.join("b.png");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    fails_with(&tiny(s(&a), s(&out), &[]), &["loop of symbolic links"]);
    let dangling = dir.join("dangling.png");
    std::os::unix::fs::symlink(dir.join("gone.png"), &dangling).unwrap();
    fails_with(&tiny(s(&dangling), s(&out), &[]), &["does not exist"]);
}

#[test]
fn sizes_and_numbers_out_of_range_are_refused_with_what_fits() {
    let dir = scratch("nl-bounds");
    let out = dir.join("o.png");
    let pebbles = example("pebbles.png");
    let p = s(&pebbles);
    // An 8192² exemplar (a small file: one colour) asks for far more than its output.
    let big = dir.join("big.png");
    image::RgbImage::from_pixel(8192, 8192, image::Rgb([90, 120, 60]))
        .save(&big)
        .unwrap();
    fails_with(
        &tiny(s(&big), s(&out), &[]),
        &["8192x8192", "GiB", "--exemplar-scale"],
    );
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--history", "18446744073709551615"],
            &["--history", "between 1 and 1000"],
        ),
        (&["--history", "1000000000"], &["between 1 and 1000"]),
        (&["--threads", "1000"], &["--threads 1000", "cores"]),
        (
            &["--skip-deepest", "18446744073709551615"],
            &["--skip-deepest 18446744073709551615"],
        ),
        (
            &["--seed", "18446744073709551615", "--count", "2"],
            &["the seeds would pass"],
        ),
        (
            &["--layer-weights", "3e38,1,1,1,1"],
            &["larger than", "scale them all down"],
        ),
        (&["--size", "0"], &["at least 1 pixel", "rounded"]),
    ];
    for (extra, expect) in cases {
        let args = [&["synth", p, "-o", s(&out)][..], extra].concat();
        fails_with(&args, expect);
    }
}

#[test]
fn layer_weights_pair_with_the_layers_in_the_order_written() {
    let dir = scratch("nl-order");
    let out = dir.join("o.png");
    let record = dir.join("o.json");
    let pebbles = example("pebbles.png");
    let extra = [
        "--layers",
        "relu5_1,relu1_1",
        "--layer-weights",
        "10,1",
        "--record",
        s(&record),
    ];
    succeeds(&dir, &tiny(s(&pebbles), s(&out), &extra));
    let json = read_json(&record);
    assert_eq!(json["layers"], serde_json::json!(["relu1_1", "relu5_1"]));
    assert_eq!(json["layer_weights"], serde_json::json!([1.0, 10.0]));
}

#[test]
fn a_flat_exemplar_from_its_spectrum_never_ends_worse_than_it_started() {
    let dir = scratch("nl-flat");
    let white = dir.join("white.png");
    image::RgbImage::from_pixel(64, 64, image::Rgb([255, 255, 255]))
        .save(&white)
        .unwrap();
    let out = dir.join("o.png");
    let record = dir.join("o.json");
    let args = [
        "synth",
        s(&white),
        "-o",
        s(&out),
        "--init",
        "spectrum",
        "--iters",
        "20",
        "--record",
        s(&record),
    ];
    succeeds(&dir, &args);
    let json = read_json(&record);
    let (start, end) = (
        json["initial_loss"].as_f64().unwrap(),
        json["best_loss"].as_f64().unwrap(),
    );
    assert!(end <= start, "{start} -> {end}");
}

#[test]
fn failed_validation_leaves_nothing_behind_and_any_valid_name_works() {
    let dir = scratch("nl-names");
    let pebbles = example("pebbles.png");
    let deep = dir.join("new/deeper/o.png");
    fails_with(
        &tiny(s(&pebbles), s(&deep), &["--layers", "nope"]),
        &["unknown layer"],
    );
    assert!(!dir.join("new").exists(), "no folder left behind");
    let folder = format!("{}/results/", dir.display());
    fails_with(&tiny(s(&pebbles), &folder, &[]), &["names a folder"]);
    // 254 characters: a valid name, whatever the temporary files need.
    let long = dir.join(format!("{}.png", "a".repeat(250)));
    succeeds(&dir, &tiny(s(&pebbles), s(&long), &[]));
    assert!(long.exists());
    let longer = dir.join(format!("{}.png", "b".repeat(246)));
    fails_with(
        &tiny(s(&pebbles), s(&longer), &["--snapshot-every", "2"]),
        &["bytes long", "the snapshot adds a tag"],
    );
}

#[test]
fn ctrl_c_during_set_up_writes_nothing_and_says_so() {
    let dir = scratch("nl-setup");
    let out = dir.join("new/o.png");
    let pebbles = example("pebbles.png");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args(["synth", s(&pebbles), "-o", s(&out), "--iters", "4"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The handlers are in place within milliseconds; set-up (models, sessions, the exemplar's
    // statistics) takes most of a second.
    std::thread::sleep(std::time::Duration::from_millis(250));
    send(&child, "INT");
    let run = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted during set-up: nothing was written"),
        "{stderr}"
    );
    assert!(!stderr.contains("best image"), "{stderr}");
    assert!(!dir.join("new").exists());
}
