//! What a run writes while it goes on: snapshots every K iterations and, with a record,
//! checkpoints of the image and the record (at every snapshot and at least every
//! `checkpoint_seconds`), so that a run killed outright can be resumed from the last one.
//! Nothing written here can end the run: a file that cannot be written is a warning.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ndarray::Array3;

use crate::image_io::{self, Encoding, Planar};
use crate::margin::Window;
use crate::optimizer::{IterationRecord, Progress};
use crate::outputs::{sha256_hex, snapshot_path_at, FileKind, Outputs};
use crate::record::RunRecord;
use crate::settings::Size;

pub(crate) struct Checkpoints {
    pub outputs: Outputs,
    pub output: Option<PathBuf>,
    pub snapshot_every: usize,
    /// A resumed run numbers its snapshots on from here.
    pub resumed_after: usize,
    /// Output size of each scale, coarsest first.
    pub sizes: Vec<Size>,
    pub tile: bool,
    /// The output's encoding (its checkpoints are the output).
    pub encoding: Encoding,
    /// With `--record`: where, and the record as it stands before the optimisation.
    pub record: Option<(PathBuf, RunRecord)>,
    pub interval: Duration,
    pub last: Instant,
    /// Every iteration so far, for the checkpoint's record.
    pub iterations: Vec<IterationRecord>,
    /// The sha256 of the image the last checkpoint wrote.
    pub written_sha: Option<String>,
    /// The output's part of the image drawn at the full size: inside a margin
    /// (src/margin.rs), a canvas's top-left part (src/canvas).
    pub crop: Option<Window>,
}

impl Checkpoints {
    pub fn after_iteration(&mut self, p: &Progress, x: &[f32]) {
        self.iterations.push(IterationRecord {
            round: p.round,
            scale: p.scale,
            iteration: p.iteration,
            loss: p.loss,
            evaluations: p.run_evaluations,
            t: p.elapsed,
            pass: p.pass.clone(),
        });
        let Some(out) = self.output.clone() else {
            return;
        };
        let last_scale = p.scale + 1 == self.sizes.len();
        let snapshot = self.snapshot_every > 0 && p.iteration.is_multiple_of(self.snapshot_every);
        // The checkpoint before the snapshot: a run killed in between then has a record that
        // counts the snapshot's iteration, and its resumed run names its first snapshot after it.
        if self.record.is_some() && (snapshot || self.last.elapsed() >= self.interval) {
            self.checkpoint(&out, p, x);
        }
        if snapshot {
            let (coarse, n) = if last_scale {
                (None, self.resumed_after + p.iteration)
            } else {
                (Some(p.scale), p.iteration)
            };
            let path = snapshot_path_at(&out, coarse, n);
            self.outputs
                .write_side_image(&path, &self.planar(x, p.scale), FileKind::Snapshot);
        }
    }

    /// The image at a scale; at the full size, the output's part of a canvas.
    fn planar(&self, x: &[f32], scale: usize) -> Planar {
        let at = self.sizes[scale];
        let image = Array3::from_shape_vec((3, at.height as usize, at.width as usize), x.to_vec())
            .expect("image size");
        match self.crop.filter(|_| scale + 1 == self.sizes.len()) {
            Some(window) => window.crop(&image),
            None => image,
        }
    }

    /// The record, naming the sha256 of the image about to be written and of the one before,
    /// then the image (carried up to the full size at a coarse scale, as an interrupted run's
    /// is). Killed at any point, the pair on disk can be resumed: `--resume` accepts either image.
    fn checkpoint(&mut self, out: &std::path::Path, p: &Progress, x: &[f32]) {
        self.last = Instant::now();
        let Some((record_path, template)) = &self.record else {
            return;
        };
        let full = *self.sizes.last().expect("at least one scale");
        let mut image = self.planar(x, p.scale);
        if p.scale + 1 < self.sizes.len() {
            image = image_io::upsample(&image, full.width, full.height, self.tile);
            if let Some(window) = self.crop {
                image = window.crop(&image);
            }
        }
        let warn = |what: &str, e: crate::error::Error| {
            self.outputs.warn(format!(
                "checkpoint {what} not written ({e}); the run goes on"
            ))
        };
        let bytes = match image_io::encode(&image, &self.encoding, out) {
            Ok(bytes) => bytes,
            Err(e) => return warn("image", e),
        };
        let sha = sha256_hex(&bytes);
        let mut record = template.clone();
        record.iterations = self.iterations.clone();
        record.evaluation_count = p.run_evaluations;
        record.best_loss = p.best_loss;
        record.output_sha256 = Some(sha.clone());
        record.previous_output_sha256 = self.written_sha.clone();
        if let Err(e) = self.outputs.write_text(record_path, &record.to_json()) {
            return warn("record", e);
        }
        match self.outputs.write_bytes(out, &bytes) {
            Ok(()) => self.written_sha = Some(sha),
            Err(e) => warn("image", e),
        }
    }
}
