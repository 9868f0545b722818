//! The end of a `synth`: the closing lines on stderr, and with `--json` one object on stdout
//! (its fields are documented in docs/json.md, its schema in docs/schema/summary.schema.json).

use std::path::PathBuf;
use std::time::Instant;

use neurotex::optimizer::StopReason;
use neurotex::outputs::Outputs;
use neurotex::{Outcome, Size, Written};
use serde::Serialize;

use crate::terminal::Terminal;

/// Version of the summary's layout: raised when a field changes meaning or goes.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Summary {
    schema_version: u32,
    command: &'static str,
    /// done, stopped (by a signal, after writing what there was) or error.
    status: &'static str,
    exit_code: u8,
    /// The signal that stopped the run (SIGINT, SIGTERM, SIGHUP).
    signal: Option<&'static str>,
    error: Option<String>,
    /// Every file written, in order; a file that could not be written where asked is listed
    /// where it was rescued, with `wanted`.
    files: Vec<FileEntry>,
    /// Side files that could not be written (the run went on without them).
    warnings: Vec<String>,
    pub runs: Vec<RunSummary>,
    /// Wall-clock seconds of the whole command.
    seconds: f64,
}

#[derive(Serialize)]
struct FileEntry {
    path: PathBuf,
    wanted: Option<PathBuf>,
}

/// One texture's run.
#[derive(Serialize)]
pub struct RunSummary {
    seed: u64,
    output: Option<PathBuf>,
    size: Size,
    stop: StopReason,
    initial_loss: f32,
    best_loss: f32,
    start_distance: f64,
    final_distance: f64,
    iterations: usize,
    evaluations: usize,
    setup_seconds: f64,
    optimize_seconds: f64,
}

impl RunSummary {
    pub fn of(outcome: &Outcome) -> RunSummary {
        let record = &outcome.record;
        // The image written: a margin or a canvas's whole tiles are drawn, then cropped.
        let (_, height, width) = outcome.image.dim();
        RunSummary {
            seed: record.settings.seed,
            output: record.output.clone(),
            size: Size {
                width: width as u32,
                height: height as u32,
            },
            stop: outcome.stop.clone(),
            initial_loss: outcome.initial_loss,
            best_loss: outcome.best_loss,
            start_distance: outcome.start_distance,
            final_distance: outcome.final_distance,
            iterations: record.iterations.len(),
            evaluations: record.evaluation_count,
            setup_seconds: record.setup_seconds,
            optimize_seconds: record.optimize_seconds,
        }
    }
}

impl Summary {
    pub fn new(command: &'static str) -> Summary {
        Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            command,
            status: "done",
            exit_code: 0,
            signal: None,
            error: None,
            files: Vec::new(),
            warnings: Vec::new(),
            runs: Vec::new(),
            seconds: 0.0,
        }
    }

    /// The files written and the warnings, as `outputs` logged them.
    pub fn files(&mut self, outputs: &Outputs) {
        self.files = outputs
            .log()
            .into_iter()
            .map(|w| match w {
                Written::Written(path) => FileEntry { path, wanted: None },
                Written::Rescued { wanted, at } => FileEntry {
                    path: at,
                    wanted: Some(wanted),
                },
            })
            .collect();
        self.warnings = outputs.warnings();
    }

    pub fn finish(
        &mut self,
        exit_code: u8,
        signal: Option<i32>,
        error: Option<neurotex::Error>,
        started: Instant,
    ) {
        self.exit_code = exit_code;
        self.signal = signal.map(|s| match s {
            2 => "SIGINT",
            15 => "SIGTERM",
            1 => "SIGHUP",
            _ => "signal",
        });
        self.status = match (&error, signal) {
            (_, Some(_)) => "stopped",
            (Some(_), None) => "error",
            (None, None) => "done",
        };
        self.error = error.map(|e| e.to_string());
        self.seconds = started.elapsed().as_secs_f64();
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the summary serialises")
    }
}

/// The closing lines: every file written, every file rescued elsewhere, every warning.
pub fn report_files(outputs: &Outputs, term: &Terminal) {
    let log = outputs.log();
    if !log.is_empty() {
        term.say("files written:");
    }
    for file in &log {
        match file {
            Written::Written(path) => term.say(&format!("  {}", path.display())),
            Written::Rescued { wanted, at } => term.say(&format!(
                "  {} (rescued: {} could not be written)",
                at.display(),
                wanted.display()
            )),
        }
    }
    for warning in outputs.warnings() {
        term.say(&format!("warning: {warning}"));
    }
}
