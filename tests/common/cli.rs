//! Running the neurotex binary from the integration tests.

use std::process::{Command, Output, Stdio};

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
        .stdout(Stdio::null())
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
