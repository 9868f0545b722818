//! The run record: every parameter, the models' checksums, the runtime and provider, the loss
//! after every evaluation and the timings, as one JSON file.

use std::path::PathBuf;

use serde::Serialize;

use crate::optimizer::{
    EvaluationRecord, IterationRecord, OptimizationOutcome, OptimizerSettings, RoundRecord,
    StopReason,
};
use crate::passes::Pass;
use crate::settings::{Settings, Size};

#[derive(Debug, Clone, Serialize)]
pub struct ModelChecksum {
    pub file: String,
    pub sha256: String,
}

impl ModelChecksum {
    pub fn new(file: &str, sha256: &str) -> Self {
        ModelChecksum {
            file: file.to_string(),
            sha256: sha256.to_string(),
        }
    }
}

/// What a fill, an expansion or a guided synthesis read besides the exemplar.
#[derive(Debug, Clone, Serialize)]
pub struct RegionsRecord {
    /// `fill`, `expand` or `guided`.
    pub kind: &'static str,
    /// The photo and the mask, the photo, or the two guides (absolute paths).
    pub inputs: Vec<PathBuf>,
    /// Their sha256s, as read when the run started: `--resume` refuses changed ones.
    pub inputs_sha256: Vec<String>,
    /// Width and height of the image written (a fill's or an expansion's canvas is cropped to
    /// it; `size` is the canvas's).
    pub output_size: [usize; 2],
    /// Where the photo's top-left pixel is in the output (x, y); null for guides.
    pub photo_at: Option<[usize; 2]>,
    /// A fill's statistics come from the photo's kept pixels (false: from `exemplar`).
    pub exemplar_is_photo: bool,
}

/// A style transfer's content image and the weights of its two terms.
#[derive(Debug, Clone, Serialize)]
pub struct StyleRecord {
    /// Absolute path (None: an image given in memory).
    pub content: Option<PathBuf>,
    pub content_sha256: String,
    pub content_weight: f32,
    /// As given (`--content-layers`), and as resolved.
    pub content_layers_spec: String,
    pub content_layers: Vec<String>,
    pub style_weight: f32,
}

/// The exemplars blended with the first, and the weights.
#[derive(Debug, Clone, Serialize)]
pub struct BlendRecord {
    /// The first exemplar's weight (`exemplar`); the weights sum to 1.
    pub first_weight: f32,
    pub others: Vec<BlendedExemplar>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlendedExemplar {
    /// Absolute path.
    pub path: PathBuf,
    pub sha256: String,
    pub weight: f32,
}

/// Version of the record's layout (docs/schema/run-record.schema.json): raised when a field
/// changes meaning or goes; new fields may come without it.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// The record of a run. Written at the end, and with `--record` also at every checkpoint while
/// the run goes on (`stop` null there), so that a run killed outright can be resumed.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub neurotex_version: &'static str,
    /// Every setting as given (the CLI's options, or the library's builder); `--resume` reads
    /// them back whole. The fields below are what they resolved to for this run.
    pub settings: Settings,
    /// Absolute paths: `--resume` works from any folder (None: an exemplar given in memory).
    pub exemplar: Option<PathBuf>,
    /// The exemplar file's sha256: `--resume` refuses another image under the same name.
    pub exemplar_sha256: String,
    pub output: Option<PathBuf>,
    /// The sha256 of the PNG last written to `output`: `--resume` replaces only that file.
    pub output_sha256: Option<String>,
    /// In a checkpoint, the sha256 of the image the checkpoint before wrote: a run killed
    /// between writing this record and its image left that one, which `--resume` accepts too.
    pub previous_output_sha256: Option<String>,
    /// The size drawn: the output's, or a canvas's (`regions`), or the output with `margin`
    /// around it.
    pub size: Size,
    /// Pixels drawn around the output on each side and cropped off (`--margin` resolved;
    /// src/margin.rs).
    pub margin: u32,
    /// A fill's, an expansion's or a guided synthesis's own inputs (None: a texture).
    pub regions: Option<RegionsRecord>,
    /// A style transfer's content; null for a texture.
    pub style: Option<StyleRecord>,
    /// More exemplars blended with the first; null for one.
    pub blend: Option<BlendRecord>,
    /// Output size of each coarse-to-fine scale, coarsest first (one entry: single-scale).
    pub scales: Vec<Size>,
    /// The padding the graphs used (`--padding auto` resolved; circular with `--tile`).
    pub padding: crate::manifest::Padding,
    /// The padding the exemplar's statistics were taken with: `padding`, but reflect (where it
    /// fits) for a tileable output's, whose exemplar is no torus.
    pub exemplar_padding: crate::manifest::Padding,
    /// How far in from the output's and the exemplar's edges the Gram's position weights rise,
    /// pixels (`--edge-fade`); None: every position counts the same.
    pub edge_fade: Option<[u32; 2]>,
    /// What the first scale started from (`--init auto` resolved).
    pub init: crate::init::Init,
    /// Iterations allowed at each coarse scale (None when single-scale).
    pub coarse_iterations: Option<usize>,
    /// Iterations of the shallow pass at the start of the last scale (None when it has no passes:
    /// single-scale from white noise or from a given image).
    pub shallow_first: Option<usize>,
    /// Iterations of the pass without the deepest block after it (None as `shallow_first`).
    pub skip_deepest: Option<usize>,
    /// The passes that ran at the start of the last scale: where each ended, and its budget.
    pub passes: Vec<Pass>,
    /// The statistic's options as chosen, defaults included (e.g. gram-norm).
    pub options: std::collections::BTreeMap<String, String>,
    /// Iterations between redraws of the per-step inputs (only for statistics that have them).
    pub redraw_every: Option<usize>,
    /// The layers matched, in network order, and their weights.
    pub layers: Vec<String>,
    pub layer_weights: Vec<f32>,
    pub optimizer: OptimizerSettings,
    pub onnxruntime_library: PathBuf,
    pub onnxruntime_version: String,
    pub models: Vec<ModelChecksum>,
    /// Why the run stopped; null in a checkpoint (the run was still going when it was written).
    pub stop: Option<StopReason>,
    /// Iterations done by the interrupted run this one resumed (0: not a resumed run); the
    /// records below are this run's only, the earlier ones are in `segments`.
    pub resumed_after_iterations: usize,
    /// The earlier segments of a resumed run, oldest first, each with its own stop, iterations
    /// and evaluations (as their records held them).
    pub segments: Vec<serde_json::Value>,
    /// Evaluations this segment made (in a checkpoint, `evaluations` below is empty).
    pub evaluation_count: usize,
    /// Evaluations whose loss or gradient was NaN or infinite; after each, the solver restarted
    /// from the best image so far (no such value ever reaches an image).
    pub non_finite_evaluations: Vec<usize>,
    pub initial_loss: f32,
    pub best_loss: f32,
    /// Statistic distance to the exemplar (mean over layers of ‖S − T‖² / ‖T‖²).
    pub start_distance: f64,
    pub final_distance: f64,
    pub setup_seconds: f64,
    pub optimize_seconds: f64,
    /// Of optimize_seconds, the time spent carrying results up between scales.
    pub upsampling_seconds: f64,
    pub mean_evaluation_seconds: f64,
    /// The optimisation's rounds (scales, passes, redraws), in order.
    pub rounds: Vec<RoundRecord>,
    pub iterations: Vec<IterationRecord>,
    pub evaluations: Vec<EvaluationRecord>,
}

impl RunRecord {
    /// The record of the finished run.
    pub(crate) fn finish(
        mut self,
        outcome: &OptimizationOutcome,
        distances: (f64, f64),
        optimize_seconds: f64,
        upsampling_seconds: f64,
    ) -> Self {
        let n = outcome.evaluations.len().max(1) as f64;
        self.stop = Some(outcome.stop.clone());
        self.non_finite_evaluations = outcome.non_finite.clone();
        self.initial_loss = outcome.initial_loss;
        self.best_loss = outcome.best_loss;
        (self.start_distance, self.final_distance) = distances;
        self.optimize_seconds = optimize_seconds;
        self.upsampling_seconds = upsampling_seconds;
        self.mean_evaluation_seconds =
            outcome.evaluations.iter().map(|e| e.seconds).sum::<f64>() / n;
        self.rounds = outcome.rounds.clone();
        self.iterations = outcome.iterations.clone();
        self.evaluations = outcome.evaluations.clone();
        self.evaluation_count = outcome.evaluations.len();
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("record serialises")
    }
}
