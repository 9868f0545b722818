//! Running the neurotex binary from the integration tests.

use std::process::{Command, Output, Stdio};

use std::path::Path;

use serde_json::Value;

use super::repo;

pub fn neurotex(args: &[&str]) -> Output {
    neurotex_in(&repo(), args)
}

/// Run neurotex from the folder `dir`.
pub fn neurotex_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The command must fail, say `expect` on stderr, and never start optimising.
pub fn fails_with(args: &[&str], expect: &[&str]) {
    let out = neurotex(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded:\n{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "{args:?}: expected '{e}' in:\n{stderr}");
    }
    assert!(
        !stderr.contains("synthesising"),
        "{args:?} started the optimisation"
    );
}

/// `synth EXEMPLAR -o OUT` at 64², single-scale, `iters` iterations with no early stop, plus
/// `extra`: the runs the CLI tests interrupt, kill and resume.
pub fn run_64<'a>(
    exemplar: &'a str,
    out: &'a str,
    iters: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let base = [
        "synth",
        exemplar,
        "-o",
        out,
        "--size",
        "64",
        "--scales",
        "1",
        "--iters",
        iters,
        "--tolerance",
        "0",
    ];
    [&base[..], extra].concat()
}

/// A running neurotex: the process, the rest of its stderr, and its stderr so far.
pub type Running = (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
    String,
);

/// Start `neurotex args` in `dir` and wait until its progress shows `marker`.
pub fn spawn_until(dir: &std::path::Path, args: &[&str], marker: &str) -> Running {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::piped())
        // Piped for the tests that read it (a path, a --json summary: far below a pipe's
        // buffer, so an unread stdout never blocks the run).
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains(marker) {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ended early:\n{log}"
        );
        log.push_str(&line);
    }
    (child, stderr, log)
}

/// Send SIG`signal` (INT, TERM, HUP, KILL) to a child.
pub fn send(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait for a child to end; its exit code (None: killed by a signal) and the rest of stderr.
pub fn finish(running: Running) -> (Option<i32>, String) {
    let (mut child, mut stderr, mut log) = running;
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    (child.wait().unwrap().code(), log)
}

/// Start `neurotex args`, wait until its progress shows `marker`, then send it SIG`signal`.
/// `-TERM-TERM` sends the signal twice back to back, as `timeout` does (to the process and to
/// its group).
pub fn interrupt_after(args: &[&str], marker: &str, signal: &str) -> Running {
    let running = spawn_until(&repo(), args, marker);
    for signal in signal.split('-').filter(|s| !s.is_empty()) {
        send(&running.0, signal);
    }
    running
}

/// The sizes of the quick CLI runs: 64², single-scale, a few iterations.
pub const TINY: [&str; 6] = ["--size", "64", "--iters", "4", "--scales", "1"];

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `synth EXEMPLAR -o OUT` at 64² for a few iterations, plus `extra`.
pub fn tiny<'a>(exemplar: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [&["synth", exemplar, "-o", out][..], &TINY, extra].concat()
}

/// The loss after each iteration, from a run record.
pub fn iteration_losses(record: &Path) -> Vec<f64> {
    read_json(record)["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["loss"].as_f64().unwrap())
        .collect()
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Run `args` in `dir`; it must succeed. Returns its stderr.
pub fn succeeds(dir: &Path, args: &[&str]) -> String {
    let run = neurotex_in(dir, args);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{args:?}:\n{stderr}");
    stderr
}

/// Run neurotex in `dir` with `input` on its stdin.
pub fn neurotex_with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}
