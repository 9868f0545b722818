//! The synthesis: a builder that validates everything before any long computation, and a run
//! that optimises from noise, writes the PNG (plus snapshots and a run record) and reports.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndarray::Array3;

use crate::checkpoint::Checkpoints;
use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::init::Init;
use crate::layers::{self, LayerWeights};
use crate::manifest::{default_models_dir, ModelSet, OptionInputs, Padding, Variant};
use crate::memory;
use crate::metrics;
use crate::objective::{statistics_distance, LayerStatistics, Objective, Statistics};
use crate::optimizer::{
    self, IterationCallback, OptimizationOutcome, OptimizerSettings, Progress, Round, Solver,
    StopReason,
};
use crate::outputs::{FileKind, OutputPlan, Outputs, PlannedFile, Written};
use crate::passes::{self, Pass, PassKind, SHALLOW_DEPTH};
use crate::record::{ModelChecksum, RunRecord};
use crate::runtime::{self, Precision, Provider, SessionOptions};
use crate::step_inputs::{self, StepValues};
use crate::upsample::Upsampling;

/// Largest side accepted: beyond it a single VGG-16 pass does not fit a workstation's memory.
pub const MAX_SIDE: u32 = 8192;

/// Output size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// `WxH` or `N` (square).
    pub fn parse(text: &str) -> Result<Size> {
        let bad = || Error::InvalidSize {
            given: text.to_string(),
            reason: "write it as WIDTHxHEIGHT (e.g. 512x256) or one number for a square".into(),
        };
        let nums = text
            .trim()
            .split(['x', 'X'])
            .map(|p| p.trim().parse::<u64>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad())?;
        match nums[..] {
            [n] => Size::checked(n, n),
            [w, h] => Size::checked(w, h),
            _ => Err(bad()),
        }
    }

    /// A size whose sides are in 1..=MAX_SIDE (rounding to what the network needs comes later).
    pub fn checked(width: u64, height: u64) -> Result<Size> {
        let bad = |reason: String| Error::InvalidSize {
            given: format!("{width}x{height}"),
            reason,
        };
        if width == 0 || height == 0 {
            return Err(bad(
                "width and height must be at least 1 pixel (sizes are rounded to multiples of \
                 16, the network's step)"
                    .into(),
            ));
        }
        if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 {
            return Err(bad(format!(
                "each side must be at most {MAX_SIDE} pixels (try 1024x1024 or less)"
            )));
        }
        Ok(Size {
            width: width as u32,
            height: height as u32,
        })
    }

    /// Round each side to the nearest multiple of `m` (at least `m`).
    pub fn rounded_to(self, m: u32) -> Size {
        let r = |v: u32| (((v + m / 2) / m) * m).max(m);
        Size {
            width: r(self.width),
            height: r(self.height),
        }
    }

    pub fn pixels(self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Everything a synthesis needs, as the user gave it. `build()` validates it.
#[derive(Debug, Clone)]
pub struct SynthesisBuilder {
    exemplar: Option<PathBuf>,
    pub(crate) output: Option<PathBuf>,
    size: Option<Size>,
    iterations: usize,
    tolerance: f64,
    solver: Solver,
    max_evaluations: Option<usize>,
    layers: String,
    pub(crate) layer_weights: LayerWeights,
    pub(crate) statistic: String,
    pub(crate) backbone: String,
    pub(crate) tile: bool,
    pub(crate) provider: Provider,
    pub(crate) threads: usize,
    pub(crate) precision: Precision,
    pub(crate) seed: u64,
    pub(crate) snapshot_every: usize,
    pub(crate) exemplar_scale: f32,
    /// Coarse-to-fine scales (None: chosen from the size, see `auto_scales`).
    pub(crate) scales: Option<usize>,
    /// Iterations of each coarse scale (None: a quarter of `iterations`).
    pub(crate) coarse_iterations: Option<usize>,
    /// Iterations of the shallow pass at the start of the last scale (None: a quarter of
    /// `iterations`; 0: none).
    pub(crate) shallow_first: Option<usize>,
    /// Iterations of the pass without the deepest block that follows (None: a third of
    /// `iterations`, as far as the budget allows; 0: none).
    pub(crate) skip_deepest: Option<usize>,
    /// How each coarse scale's result is carried up to the next scale.
    pub(crate) upsampling: Upsampling,
    pub(crate) match_colors: bool,
    /// The starting image: white noise or random-phase noise from the exemplar.
    pub(crate) init: Init,
    record: Option<PathBuf>,
    overwrite: bool,
    options: BTreeMap<String, String>,
    pub(crate) redraw_every: usize,
    /// Start from this image instead of noise (a resumed run), single-scale.
    start: Option<Planar>,
    /// Iterations an interrupted run had done before this one resumed it.
    pub(crate) resumed_after: usize,
    /// A resumed run: what it must match and what it carries on (src/resume.rs).
    pub(crate) continuation: Option<Continuation>,
    /// Files already claimed for this run: a `--count` batch claims all its files at once
    /// (`claim_batch`).
    claimed: Option<Outputs>,
    /// With a record: seconds of optimisation between checkpoints of the image and the record.
    checkpoint_seconds: f64,
    models_dir: Option<PathBuf>,
    cancel: Arc<AtomicBool>,
}

/// What a resumed run must match and carry on.
#[derive(Debug, Clone)]
pub(crate) struct Continuation {
    /// The exemplar's sha256 when the run began: another image under its name is refused.
    pub exemplar_sha256: String,
    /// The run's own files (its output and record), which it replaces without --overwrite.
    pub owned: Vec<PathBuf>,
    /// The earlier segments' histories, carried into the new record.
    pub segments: Vec<serde_json::Value>,
}

impl Default for SynthesisBuilder {
    fn default() -> Self {
        SynthesisBuilder {
            exemplar: None,
            output: None,
            size: None,
            iterations: 300,
            tolerance: 1e-3,
            solver: Solver::Lbfgs { history: 20 },
            max_evaluations: None,
            layers: layers::DEFAULT_PRESET.to_string(),
            layer_weights: LayerWeights::Uniform,
            statistic: "gram".to_string(),
            backbone: "vgg16".to_string(),
            tile: false,
            provider: Provider::Cpu,
            threads: 0,
            precision: Precision::Fp32,
            seed: 0,
            snapshot_every: 0,
            exemplar_scale: 1.0,
            scales: None,
            coarse_iterations: None,
            shallow_first: None,
            skip_deepest: None,
            upsampling: Upsampling::Example,
            match_colors: false,
            init: Init::Noise,
            record: None,
            overwrite: false,
            options: BTreeMap::new(),
            redraw_every: 50,
            start: None,
            resumed_after: 0,
            continuation: None,
            claimed: None,
            checkpoint_seconds: DEFAULT_CHECKPOINT_SECONDS,
            models_dir: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$field = value.into();
            self
        }
    };
}

impl SynthesisBuilder {
    setter!(/// Maximum L-BFGS iterations.
        iterations: usize => iterations);
    setter!(/// Stop when the loss fell by less than this fraction over the last 10 iterations (0: never).
        tolerance: f64 => tolerance);
    setter!(/// The optimiser (default: L-BFGS with 20 correction pairs).
        solver: Solver => solver);
    setter!(/// Layers: names and/or presets (all, per-block, shallow, deep), comma-separated.
        layers: &str => layers);
    setter!(/// Per-layer weights.
        layer_weights: LayerWeights => layer_weights);
    setter!(/// Statistic variant, as named in the manifest (e.g. gram).
        statistic: &str => statistic);
    setter!(/// The network whose features are matched: vgg16 (default) or vgg19 (Gatys et al.'s).
        backbone: &str => backbone);
    setter!(/// Make the result tile seamlessly (circular padding: the image is a torus).
        tile: bool => tile);
    setter!(/// Execution provider.
        provider: Provider => provider);
    setter!(/// fp16 (TensorRT only) or fp32.
        precision: Precision => precision);
    setter!(/// ONNX Runtime intra-op threads (0: all cores).
        threads: usize => threads);
    setter!(/// Seed of the noise the synthesis starts from.
        seed: u64 => seed);
    setter!(/// Write `<output>.iterNNNN.png` every this many iterations (0: never).
        snapshot_every: usize => snapshot_every);
    setter!(/// Resize the exemplar by this factor before taking its statistics: below 1 its
        /// structures appear smaller in the output, above 1 larger. The output size defaults to
        /// the unscaled exemplar's.
        exemplar_scale: f32 => exemplar_scale);
    setter!(/// Coarse-to-fine: synthesise at 1/2^(n-1) of the size first, then upsample and continue
        /// at twice the size, n times, each scale matching the exemplar's statistics at that
        /// scale. 1: single-scale (Gatys et al.). Without it: chosen from the size.
        scales: usize => scales);
    setter!(/// Iterations of each coarse scale (default: a quarter of `iterations`; a coarse
        /// evaluation costs a quarter of the next scale's, and the coarse result only has to
        /// fix the large-scale arrangement).
        coarse_iterations: usize => coarse_iterations);
    setter!(/// Coarse-to-fine: the first this many iterations at the full size match only the chosen
        /// layers up to relu3_1, in a graph that stops there (src/passes.rs); 0: none.
        /// Default: a quarter of `iterations`.
        shallow_first: usize => shallow_first);
    setter!(/// Coarse-to-fine: after the shallow pass, this many iterations at the full size match
        /// the chosen layers but those of the deepest block (src/passes.rs); 0: none.
        /// Default: a third of `iterations`, as far as the budget allows.
        skip_deepest: usize => skip_deepest);
    setter!(/// Coarse-to-fine: how each coarse result is carried up to the next scale: with detail
        /// from the exemplar (default) or bilinearly (src/upsample.rs).
        upsampling: Upsampling => upsampling);
    setter!(/// Match the result's per-channel colour histograms to the exemplar's after optimising.
        match_colors: bool => match_colors);
    setter!(/// What the synthesis starts from: white noise (Gatys et al.) or random-phase noise with
        /// the exemplar's power spectrum and colours (src/init.rs).
        init: Init => init);
    setter!(/// For statistics with per-step inputs (sliced): redraw them, and restart L-BFGS, every
        /// this many iterations.
        redraw_every: usize => redraw_every);
    setter!(/// Replace an existing output PNG and record (default: refuse, so nothing is lost).
        overwrite: bool => overwrite);
    setter!(/// A flag that stops the run (keeping the best image) when set, e.g. from Ctrl-C.
        cancel_flag: Arc<AtomicBool> => cancel);
    setter!(/// With a record: seconds of optimisation between checkpoints of the image and the
        /// record (also at every snapshot), so that a run killed outright (power loss, the OOM
        /// killer) can be resumed from the last one. Default 30.
        checkpoint_seconds: f64 => checkpoint_seconds);

    /// Write into files claimed already (`claim_batch`), instead of claiming its own.
    pub fn claimed_outputs(mut self, outputs: Outputs) -> Self {
        self.claimed = Some(outputs);
        self
    }

    /// The exemplar photo (PNG or JPEG).
    pub fn exemplar(mut self, path: impl AsRef<Path>) -> Self {
        self.exemplar = Some(path.as_ref().to_path_buf());
        self
    }

    /// Where the PNG goes. Without it, `run()` only returns the image.
    pub fn output(mut self, path: impl AsRef<Path>) -> Self {
        self.output = Some(path.as_ref().to_path_buf());
        self
    }

    /// Output size; default: the exemplar's size rounded to a multiple of 16.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some(Size { width, height });
        self
    }

    /// Stop after this many evaluations (loss + gradient) in all.
    pub fn max_evaluations(mut self, n: usize) -> Self {
        self.max_evaluations = Some(n);
        self
    }

    /// Set an option of the statistic, as the manifest names it (e.g. `gram-norm` = `no-n2`).
    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.options.insert(name.to_string(), value.to_string());
        self
    }

    /// Write a JSON run record here.
    pub fn record(mut self, path: impl AsRef<Path>) -> Self {
        self.record = Some(path.as_ref().to_path_buf());
        self
    }

    /// Models folder (default: $NEUROTEX_MODELS, ./models, or this checkout's models/).
    pub fn models_dir(mut self, path: impl AsRef<Path>) -> Self {
        self.models_dir = Some(path.as_ref().to_path_buf());
        self
    }

    /// Validate every setting, load the exemplar, the models and the provider, and compute the
    /// exemplar's statistics. Every error a user can cause is reported here, before the run.
    pub fn build(self) -> Result<Synthesis> {
        let setup_start = Instant::now();
        self.check_numbers()?;
        let mut notices = Vec::new();
        let exemplar_path = self
            .exemplar
            .clone()
            .ok_or_else(|| Error::InvalidSetting("no exemplar image given".into()))?;
        let models = ModelSet::open(&self.models_dir.clone().unwrap_or_else(default_models_dir))?;
        let multiple = models.manifest.image_input.size_multiple;
        // Sizes and memory from the exemplar's header, before anything large is allocated.
        let (ew, eh) = image_io::dimensions(&exemplar_path)?;
        let (sw, sh) = self.scaled_exemplar(ew, eh);
        if sw < multiple || sh < multiple {
            return Err(Error::ImageRead {
                path: exemplar_path,
                reason: format!(
                    "{sw}x{sh} is too small: the network needs at least {multiple}x{multiple} \
                     (after --exemplar-scale)"
                ),
            });
        }
        let size = self.output_size((ew, eh), multiple, &mut notices)?;
        let needs = self.check_memory(size, (sw, sh))?;
        let loaded = image_io::load_rgb(&exemplar_path)?;
        if let Some(c) = self.continuation.as_ref() {
            if c.exemplar_sha256 != loaded.sha256 {
                return Err(Error::InvalidSetting(format!(
                    "--resume: {} is not the image the run started from (its content changed \
                     since; the record has sha256 {}): put the original back, or start a new \
                     run",
                    exemplar_path.display(),
                    c.exemplar_sha256
                )));
            }
        }
        notices.extend(loaded.notices);
        let exemplar_sha256 = loaded.sha256;
        let exemplar = if self.exemplar_scale == 1.0 {
            loaded.image
        } else {
            notices.push(format!(
                "exemplar scaled by {} to {sw}x{sh} before taking its statistics",
                self.exemplar_scale
            ));
            image_io::resize(&loaded.image, sw, sh)
        };
        let scales = if self.start.is_some() {
            Some(1)
        } else {
            self.scales
        };
        let stages = plan_stages(&exemplar, size, scales, multiple)?;
        // Every file the run may write, checked and claimed: from here on, a second run on the
        // same output refuses, and a failure below removes what the claim made.
        let outputs = match self.claimed.clone() {
            Some(outputs) => outputs,
            None => {
                let outputs = self.claim_outputs(&exemplar_path, stages.len())?;
                notices.extend(outputs.notices());
                outputs
            }
        };
        let passes_asked = [
            ("--shallow-first", self.shallow_first),
            ("--skip-deepest", self.skip_deepest),
        ];
        let has_passes = self.last_scale_has_passes(stages.len());
        for (flag, n) in passes_asked {
            if let Some(n) = n.filter(|&n| n > 0 && !has_passes) {
                notices.push(format!(
                    "{flag} {n} has no effect: it shortens the start of the last scale of \
                     coarse-to-fine or of a start from the exemplar's spectrum, and this run is \
                     single-scale from {}",
                    if self.start.is_some() {
                        "a given image"
                    } else {
                        "white noise"
                    }
                ));
            }
        }
        if let Some(start) = &self.start {
            let (_, h, w) = start.dim();
            if (w as u32, h as u32) != (size.width, size.height) {
                return Err(Error::InvalidSetting(format!(
                    "the start image is {w}x{h}, the output {size}: they must match"
                )));
            }
        }
        if self.snapshot_every > 0 && self.output.is_none() {
            return Err(Error::InvalidSetting(
                "snapshots are written next to the output: give an output path".into(),
            ));
        }

        let padding = if self.tile {
            Padding::Circular
        } else {
            Padding::Zero
        };
        let variant = models
            .find(&self.statistic, &self.backbone, padding)?
            .clone();
        // As written: explicit weights pair with the layers in the order the user gave them.
        let written_layers = layers::parse_layers_as_written(&self.layers, &variant.layers)?;
        let chosen_layers = layers::parse_layers(&self.layers, &variant.layers)?;
        if has_passes {
            let planned = self.passes_for(&variant, &chosen_layers);
            let planned = |kind| planned.iter().any(|p: &Pass| p.kind == kind);
            if self.shallow_first.is_some_and(|n| n > 0) && !planned(PassKind::Shallow) {
                notices.push(format!(
                    "--shallow-first has no effect: it needs layers both up to {SHALLOW_DEPTH} \
                     and deeper"
                ));
            }
            if self.skip_deepest.is_some_and(|n| n > 0) && !planned(PassKind::SkipDeepest) {
                notices.push(format!(
                    "--skip-deepest has no effect: it needs layers deeper than {SHALLOW_DEPTH} \
                     outside the deepest block"
                ));
            }
        }
        let weights = self.layer_weights.resolve(&written_layers, &variant)?;
        let (chosen_layers, weights) =
            layers::in_network_order(written_layers, weights, &variant.layers);
        let (options, settings) = resolve_options(&self.statistic, &variant, &self.options)?;
        let session = SessionOptions {
            precision: self.precision,
            ..SessionOptions::new(self.provider, self.threads)
        };
        session.check()?;
        models.check_precision(self.precision)?;
        runtime::check_provider(self.provider)?;
        models.verify_weights(&variant)?;
        let step = step_inputs::draw_all(&variant.step_inputs, self.seed, 0)?;
        self.stop_if_interrupted()?;
        let opened = || -> Result<_> {
            let mut statistics = Statistics::open(&models, &variant, session)?;
            // The final scale's targets: the run starts with them when it is single-scale, and
            // reports its distances with them.
            let targets = statistics.compute(&exemplar, None, &step)?;
            let objective = Objective::new(
                &models,
                &variant,
                &chosen_layers,
                &weights,
                &settings,
                &targets,
                &step,
                (size.width as usize, size.height as usize),
                session,
            )?;
            Ok((statistics, targets, objective))
        };
        let (statistics, targets, objective) =
            opened().map_err(|e| explain_memory(e, size, &needs))?;
        self.stop_if_interrupted()?;
        Ok(Synthesis {
            option_inputs: settings,
            session,
            exemplar,
            stages,
            size,
            layers: chosen_layers,
            weights,
            targets,
            step,
            statistics,
            objective,
            models,
            variant,
            options,
            notices,
            setup_seconds: setup_start.elapsed().as_secs_f64(),
            upsampling_seconds: 0.0,
            exemplar_path,
            exemplar_sha256,
            outputs,
            needs,
            settings: self,
        })
    }
}

impl SynthesisBuilder {
    /// `count` syntheses that differ only in their seed (seed, seed + 1, ...), each writing
    /// its own files: `out/x.png` -> `out/x.seed7.png` (and the record likewise). One alone
    /// keeps its paths. They run one after another: batching seeds through one graph run was
    /// measured no faster per image on the CPU provider (docs/performance.md, "Batching").
    pub fn variations(&self, count: usize) -> Result<Vec<SynthesisBuilder>> {
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(Error::InvalidSetting(format!(
                "--count {count} must be between 1 and {MAX_COUNT}"
            )));
        }
        if self.seed.checked_add(count as u64 - 1).is_none() {
            return Err(Error::InvalidSetting(format!(
                "--seed {} with --count {count}: the seeds would pass {}; choose a smaller seed",
                self.seed,
                u64::MAX
            )));
        }
        if count == 1 {
            return Ok(vec![self.clone()]);
        }
        Ok((0..count as u64)
            .map(|k| {
                let seed = self.seed + k;
                let tag = |p: &PathBuf| {
                    let ext = p.extension().map_or("png".into(), |e| e.to_string_lossy());
                    sibling_path(p, &format!("seed{seed}")).with_extension(ext.as_ref())
                };
                SynthesisBuilder {
                    seed,
                    output: self.output.as_ref().map(tag),
                    record: self.record.as_ref().map(tag),
                    ..self.clone()
                }
            })
            .collect())
    }

    /// Start from `image` (e.g. an interrupted run's output) instead of noise; single-scale.
    /// `after` counts the iterations done before, for the record.
    pub fn start_from(mut self, image: Planar, after: usize) -> Self {
        self.start = Some(image);
        self.resumed_after = after;
        self
    }

    pub fn tile_enabled(&self) -> bool {
        self.tile
    }

    pub fn output_path(&self) -> Option<&Path> {
        self.output.as_deref()
    }

    pub fn record_path(&self) -> Option<&Path> {
        self.record.as_deref()
    }

    /// Every file a run of `scales` scales may write: the output, every snapshot at every
    /// scale, the tiled preview, the record.
    pub fn planned_files(&self, scales: usize) -> Vec<PlannedFile> {
        let mut files = Vec::new();
        if let Some(out) = &self.output {
            files.push(PlannedFile::new(out, FileKind::Output));
            let every = self.snapshot_every;
            for k in (0..scales).filter(|_| every > 0) {
                let last = k + 1 == scales;
                // A resumed run numbers its snapshots on from where the run it resumes stopped.
                let first = if last { self.resumed_after } else { 0 };
                let coarse = (!last).then_some(k);
                files.extend(
                    (every..=self.scale_budget(k, scales))
                        .step_by(every)
                        .map(|i| snapshot_path_at(out, coarse, first + i))
                        .map(|p| PlannedFile::new(p, FileKind::Snapshot)),
                );
            }
            if self.tile {
                files.push(PlannedFile::new(
                    sibling_path(out, "2x2"),
                    FileKind::TiledPreview,
                ));
            }
        }
        if let Some(record) = &self.record {
            files.push(PlannedFile::new(record, FileKind::Record));
        }
        files
    }

    /// Check and claim this run's files (src/outputs.rs).
    fn claim_outputs(&self, exemplar: &Path, scales: usize) -> Result<Outputs> {
        let owned = self
            .continuation
            .as_ref()
            .map_or(&[][..], |c| c.owned.as_slice());
        OutputPlan::check(
            self.planned_files(scales),
            &[exemplar],
            self.overwrite,
            owned,
        )?
        .claim()
    }

    /// The number of scales a run of these settings will have, from the exemplar's header
    /// alone (for planning a batch's files before any run is built).
    fn scale_count(&self) -> Result<usize> {
        if self.start.is_some() {
            return Ok(1);
        }
        let exemplar = self
            .exemplar
            .as_deref()
            .ok_or_else(|| Error::InvalidSetting("no exemplar image given".into()))?;
        let models = ModelSet::open(&self.models_dir.clone().unwrap_or_else(default_models_dir))?;
        let multiple = models.manifest.image_input.size_multiple;
        let (ew, eh) = image_io::dimensions(exemplar)?;
        let (sw, sh) = self.scaled_exemplar(ew, eh);
        let size = self.output_size((ew, eh), multiple, &mut Vec::new())?;
        Ok(self
            .scales
            .unwrap_or_else(|| auto_scales(size, (sw as usize, sh as usize))))
    }

    /// The exemplar's size after --exemplar-scale.
    fn scaled_exemplar(&self, width: u32, height: u32) -> (u32, u32) {
        let scaled = |v: u32| ((v as f64 * self.exemplar_scale as f64).round() as u32).max(1);
        (scaled(width), scaled(height))
    }

    /// The output size: as asked (default: the exemplar's), rounded to the network's multiple,
    /// with a notice when rounded.
    fn output_size(
        &self,
        exemplar: (u32, u32),
        multiple: u32,
        notices: &mut Vec<String>,
    ) -> Result<Size> {
        let requested = match self.size {
            Some(s) => Size::checked(s.width as u64, s.height as u64)?,
            None => Size {
                width: exemplar.0,
                height: exemplar.1,
            },
        };
        let size = requested.rounded_to(multiple);
        if size != requested {
            notices.push(format!(
                "size {requested} rounded to {size}: the network needs multiples of {multiple}"
            ));
        }
        Ok(size)
    }

    /// Refuse, with the numbers, a run that would not fit in the memory this process may take:
    /// one evaluation at the output size, the exemplar's statistics, the solver's history.
    fn check_memory(&self, size: Size, exemplar: (u32, u32)) -> Result<memory::Needs> {
        let history = match self.solver {
            Solver::Lbfgs { history } => history as u64,
            _ => 0,
        };
        let exemplar_pixels = exemplar.0 as u64 * exemplar.1 as u64;
        let needs = memory::Needs::estimate(size.pixels(), exemplar_pixels, history);
        let Some(usable) = memory::usable_bytes() else {
            return Ok(needs);
        };
        if needs.total() <= usable {
            return Ok(needs);
        }
        let hint = if needs.exemplar_statistics > needs.evaluation {
            format!(
                "the exemplar is {}x{} after --exemplar-scale: pass a smaller --exemplar-scale \
                 (e.g. {:.2}) or resize it",
                exemplar.0,
                exemplar.1,
                (512.0 / exemplar.0.max(exemplar.1) as f64).min(1.0) * self.exemplar_scale as f64
            )
        } else if needs.solver_history > needs.evaluation {
            "choose a smaller --history".to_string()
        } else {
            "choose a smaller --size".to_string()
        };
        Err(Error::OutOfMemory(format!(
            "a {size} run needs about {} and {} are available: {hint}",
            needs.describe(),
            memory::gib(usable)
        )))
    }

    /// Set-up stops at the first Ctrl-C (nothing is written yet; the claim is released).
    fn stop_if_interrupted(&self) -> Result<()> {
        if self.cancel.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted { during: "set-up" });
        }
        Ok(())
    }

    /// Iterations of scale `k` of `n`: the full size gets `iterations`, coarse ones less.
    fn scale_budget(&self, k: usize, n: usize) -> usize {
        if k + 1 == n {
            self.iterations
        } else {
            self.coarse_budget()
        }
    }

    /// Whether the last of `scales` scales starts with the passes (src/passes.rs). They pay
    /// where the start already has the exemplar's coarse statistics and lacks its fine detail:
    /// an upsampled coarse result, or random-phase noise with the exemplar's spectrum, whose
    /// deepest terms start as low (pebbles, 256²: relu5_1's term 15, as after the coarse
    /// scales). Not from white noise (the paper's single-scale method, which the comparisons
    /// start from) nor from a given image (a resumed run goes on as it was).
    pub(crate) fn last_scale_has_passes(&self, scales: usize) -> bool {
        scales > 1 || (self.start.is_none() && self.init == Init::Spectrum)
    }

    /// Iterations of the shallow pass at the start of the last scale.
    pub(crate) fn shallow_budget(&self) -> usize {
        self.shallow_first.unwrap_or(self.iterations / 4)
    }

    /// The passes at the start of the last scale for these chosen layers (src/passes.rs).
    pub(crate) fn passes_for(&self, variant: &Variant, chosen: &[String]) -> Vec<Pass> {
        passes::plan(
            &variant.layers,
            chosen,
            self.shallow_budget(),
            self.skip_deepest_budget(),
        )
    }

    /// Iterations of the pass without the deepest block, after the shallow pass. By default a
    /// third of the iterations, but always leaving one for all layers.
    pub(crate) fn skip_deepest_budget(&self) -> usize {
        self.skip_deepest.unwrap_or_else(|| {
            (self.iterations / 3).min(self.iterations.saturating_sub(self.shallow_budget() + 1))
        })
    }

    /// Iterations of each coarse scale.
    pub(crate) fn coarse_budget(&self) -> usize {
        self.coarse_iterations
            .unwrap_or((self.iterations / 4).max(1))
    }

    /// The settings that need nothing loaded to be checked: first, so that a typo fails at once.
    fn check_numbers(&self) -> Result<()> {
        if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            return Err(Error::InvalidSetting(format!(
                "--iters {} must be between 1 and {MAX_ITERATIONS}",
                self.iterations
            )));
        }
        if let Solver::Lbfgs { history } = self.solver {
            if !(1..=MAX_HISTORY).contains(&history) {
                return Err(Error::InvalidSetting(format!(
                    "--history {history} must be between 1 and {MAX_HISTORY} (L-BFGS gains \
                     little beyond ~50 pairs; each costs two image-sized vectors)"
                )));
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if self.threads > cores {
            return Err(Error::InvalidSetting(format!(
                "--threads {} is more than this machine's {cores} cores: more threads than cores \
                 only slow ONNX Runtime down; give at most {cores} (0: all cores)",
                self.threads
            )));
        }
        if self.checkpoint_seconds.is_nan() || self.checkpoint_seconds <= 0.0 {
            return Err(Error::InvalidSetting(format!(
                "checkpoint interval {} s must be positive",
                self.checkpoint_seconds
            )));
        }
        if self.max_evaluations == Some(0) {
            return Err(Error::InvalidSetting(
                "--max-evals must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.tolerance) {
            return Err(Error::InvalidSetting(format!(
                "tolerance {} must be in [0, 1)",
                self.tolerance
            )));
        }

        if !(self.exemplar_scale > 0.0 && self.exemplar_scale <= 8.0) {
            return Err(Error::InvalidSetting(format!(
                "--exemplar-scale {} must be in (0, 8]",
                self.exemplar_scale
            )));
        }
        if let Some(n) = self.shallow_first.filter(|&n| n >= self.iterations) {
            return Err(Error::InvalidSetting(format!(
                "--shallow-first {n} must be fewer than --iters {}",
                self.iterations
            )));
        }
        if let Some(n) = self.skip_deepest.filter(|&n| {
            n.checked_add(self.shallow_budget())
                .is_none_or(|both| both >= self.iterations)
        }) {
            return Err(Error::InvalidSetting(format!(
                "--skip-deepest {n} plus the shallow pass's {} iterations must be fewer than \
                 --iters {}: all layers need some",
                self.shallow_budget(),
                self.iterations
            )));
        }
        if let Some(n) = self
            .coarse_iterations
            .filter(|n| !(1..=MAX_ITERATIONS).contains(n))
        {
            return Err(Error::InvalidSetting(format!(
                "--coarse-iters {n} must be between 1 and {MAX_ITERATIONS}"
            )));
        }
        if self.scales.is_some_and(|n| !(1..=MAX_SCALES).contains(&n)) {
            return Err(Error::InvalidSetting(format!(
                "--scales must be between 1 and {MAX_SCALES}"
            )));
        }
        if self.redraw_every == 0 {
            return Err(Error::InvalidSetting(
                "--redraw-every must be at least 1".into(),
            ));
        }

        Ok(())
    }
}

/// Most iterations per scale accepted (days of work at 256²; also bounds the snapshot names a
/// run plans).
pub const MAX_ITERATIONS: usize = 1_000_000;

/// Most L-BFGS correction pairs accepted.
pub const MAX_HISTORY: usize = 1_000;

/// Most textures one `--count` makes.
pub const MAX_COUNT: usize = 1_000;

/// With a record, a checkpoint at least this often (seconds of optimisation).
pub const DEFAULT_CHECKPOINT_SECONDS: f64 = 30.0;

/// An allocation that failed in ONNX Runtime, told with the size and the memory estimated.
fn explain_memory(e: Error, size: Size, needs: &memory::Needs) -> Error {
    match e {
        Error::OutOfMemory(message) => Error::OutOfMemory(format!(
            "{message} (a {size} run, estimated to need {})",
            needs.describe()
        )),
        e => e,
    }
}

/// Restarts after a NaN or infinite loss or gradient before a run gives up (keeping the best).
pub const MAX_RESTARTS: usize = 3;

/// Most coarse-to-fine scales accepted.
pub const MAX_SCALES: usize = 5;

/// Smallest side of the coarsest scale that `auto_scales` goes down to: below it the deepest
/// layers see a handful of positions and the coarse result says little about the fine one.
pub const AUTO_COARSEST_SIDE: u32 = 64;

/// Most scales chosen automatically (measurements: docs/coarse_to_fine.md).
pub const AUTO_MAX_SCALES: usize = 3;

/// Check and claim every file of a batch of runs (`SynthesisBuilder::variations`) and its
/// contact sheet at once, before the first run starts: a later run's file that exists must not
/// be found after the first run's minutes of work. Each run then writes through the returned
/// `Outputs` (`claimed_outputs`).
pub fn claim_batch(runs: &[SynthesisBuilder], sheet: Option<&Path>) -> Result<Outputs> {
    let first = runs
        .first()
        .ok_or_else(|| Error::InvalidSetting("no run to plan".into()))?;
    first.check_numbers()?;
    let scales = first.scale_count()?;
    let mut files: Vec<PlannedFile> = runs.iter().flat_map(|r| r.planned_files(scales)).collect();
    files.extend(sheet.map(|s| PlannedFile::new(s, FileKind::Sheet)));
    let exemplar = first.exemplar.as_deref().expect("scale_count checked it");
    let owned = first
        .continuation
        .as_ref()
        .map_or(&[][..], |c| c.owned.as_slice());
    OutputPlan::check(files, &[exemplar], first.overwrite, owned)?.claim()
}

/// One scale of a coarse-to-fine run: the output size there and the exemplar at that scale.
pub struct Stage {
    pub size: Size,
    pub exemplar: Planar,
}

/// The default number of scales: as many as keep the coarsest output and exemplar at least
/// AUTO_COARSEST_SIDE on their smaller side, up to AUTO_MAX_SCALES.
pub fn auto_scales(size: Size, exemplar: (usize, usize)) -> usize {
    let smallest = size
        .width
        .min(size.height)
        .min(exemplar.0 as u32)
        .min(exemplar.1 as u32);
    (1..=AUTO_MAX_SCALES)
        .take_while(|n| smallest >> (n - 1) >= AUTO_COARSEST_SIDE)
        .last()
        .unwrap_or(1)
}

/// Sizes and exemplars of each scale, coarsest first. Each scale halves the output and the
/// exemplar, so that structures keep their size relative to the image at every scale.
fn plan_stages(
    exemplar: &Planar,
    size: Size,
    scales: Option<usize>,
    multiple: u32,
) -> Result<Vec<Stage>> {
    let (_, eh, ew) = exemplar.dim();
    let n = scales.unwrap_or_else(|| auto_scales(size, (ew, eh)));
    (0..n)
        .map(|k| {
            let factor = 1u32 << (n - 1 - k);
            if factor == 1 {
                return Ok(Stage {
                    size,
                    exemplar: exemplar.clone(),
                });
            }
            let scaled = |v: u32| v / factor;
            let (sw, sh) = (scaled(ew as u32), scaled(eh as u32));
            let at = Size {
                width: scaled(size.width),
                height: scaled(size.height),
            };
            if at.width.min(at.height).min(sw).min(sh) < 2 * multiple {
                return Err(Error::InvalidSetting(format!(
                    "--scales {n}: at the coarsest scale the output would be {at} and the \
                     exemplar {sw}x{sh}, below the {m}x{m} the network needs; use fewer scales",
                    m = 2 * multiple
                )));
            }
            Ok(Stage {
                size: at.rounded_to(multiple),
                exemplar: image_io::resize(exemplar, sw, sh),
            })
        })
        .collect()
}

/// The chosen value of each of the variant's options (defaults where the user chose none), and
/// the graph inputs they set. Options the variant does not have are an error.
fn resolve_options(
    statistic: &str,
    variant: &Variant,
    chosen: &BTreeMap<String, String>,
) -> Result<(BTreeMap<String, String>, OptionInputs)> {
    if let Some(unknown) = chosen.keys().find(|k| !variant.options.contains_key(*k)) {
        let known: Vec<&str> = variant.options.keys().map(String::as_str).collect();
        return Err(Error::InvalidSetting(format!(
            "--{unknown} does not apply to the {statistic} statistic (its options: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let mut names = BTreeMap::new();
    let mut inputs = Vec::new();
    for (key, spec) in &variant.options {
        let value = chosen.get(key).unwrap_or(&spec.default);
        let numbers = spec.values.get(value).ok_or_else(|| {
            Error::InvalidSetting(format!(
                "--{key} {value}: choose one of {}",
                spec.values.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        names.insert(key.clone(), value.clone());
        inputs.push((spec.input.clone(), numbers.clone()));
    }
    Ok((names, inputs))
}

/// A validated, loaded synthesis, ready to run.
pub struct Synthesis {
    pub(crate) settings: SynthesisBuilder,
    pub(crate) exemplar_path: PathBuf,
    pub(crate) exemplar_sha256: String,
    /// The claimed files this run writes through.
    outputs: Outputs,
    /// The memory the run was estimated to need (for the message if an allocation fails).
    needs: memory::Needs,
    exemplar: Planar,
    /// Coarse-to-fine stages, coarsest first; the last is the full size and exemplar.
    stages: Vec<Stage>,
    size: Size,
    layers: Vec<String>,
    pub(crate) weights: Vec<f32>,
    targets: LayerStatistics,
    /// Current per-step inputs (empty for statistics without any).
    step: StepValues,
    statistics: Statistics,
    objective: Objective,
    /// What a second objective (the shallow pass) is opened with.
    option_inputs: OptionInputs,
    session: SessionOptions,
    models: ModelSet,
    variant: Variant,
    /// The variant's options as chosen, e.g. gram-norm = paper.
    pub(crate) options: BTreeMap<String, String>,
    notices: Vec<String>,
    pub(crate) setup_seconds: f64,
    /// Time spent carrying results up from one scale to the next.
    pub(crate) upsampling_seconds: f64,
}

/// What a running synthesis reports (`Synthesis::run_with_events`).
#[derive(Debug)]
pub enum Event<'a> {
    /// After every L-BFGS iteration.
    Iteration(&'a Progress),
    /// Before a coarse scale's result is carried up to the next scale: with example-based
    /// upsampling a search that takes seconds at large sizes (13 s for 512² → 1024² on 2 cores),
    /// with no iteration to report meanwhile.
    Upsampling {
        to_scale: usize,
        from: Size,
        to: Size,
        method: Upsampling,
    },
}

/// What a run produced.
pub struct Outcome {
    pub image: Planar,
    /// The files this run wrote (or rescued elsewhere), in order.
    pub files: Vec<Written>,
    /// Side files that could not be written (the run went on without them).
    pub warnings: Vec<String>,
    /// What the run decided on its own (e.g. keeping its start, which no later image beat).
    pub notices: Vec<String>,
    pub initial_loss: f32,
    pub best_loss: f32,
    pub stop: StopReason,
    /// Statistic distance (see `objective::statistics_distance`) of the noise start and of the
    /// result to the exemplar, over the layers optimised.
    pub start_distance: f64,
    pub final_distance: f64,
    pub record: RunRecord,
}

impl Synthesis {
    pub fn builder() -> SynthesisBuilder {
        SynthesisBuilder::default()
    }

    /// Messages about what was adjusted (size rounding, colour conversion).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    pub fn size(&self) -> Size {
        self.size
    }

    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// Whether the statistic has per-step inputs (and so runs in rounds).
    pub fn has_step_inputs(&self) -> bool {
        !self.step.is_empty()
    }

    pub fn exemplar(&self) -> &Planar {
        &self.exemplar
    }

    /// The image a single-scale run starts from (white or random-phase noise, reproducible
    /// from the seed). Distances of the result are reported against this start.
    pub fn start_image(&self) -> Planar {
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        self.settings
            .init
            .image(&self.exemplar, w, h, self.settings.seed)
    }

    /// The optimiser's settings for this run.
    pub(crate) fn optimizer_settings(&self) -> OptimizerSettings {
        OptimizerSettings {
            max_iterations: self.settings.iterations,
            tolerance: self.settings.tolerance,
            solver: self.settings.solver,
            max_evaluations: self.settings.max_evaluations,
        }
    }

    /// One line on what runs: statistic, layers, network, padding, solver, provider, scales.
    pub fn describe(&self) -> String {
        let s = &self.settings;
        let plan: Vec<String> = self.stages.iter().map(|st| st.size.to_string()).collect();
        let upsampling = if plan.len() > 1 {
            format!(" ({} upsampling)", s.upsampling.name())
        } else {
            String::new()
        };
        format!(
            "{} from {} | {} on {} ({}{}) | {} | {} | scales {}{} | up to {} iterations{}{}",
            self.size,
            self.exemplar_path.display(),
            s.statistic,
            self.layers.join(","),
            s.backbone,
            if s.tile { ", tileable" } else { "" },
            s.solver.name(),
            s.provider,
            plan.join(" -> "),
            upsampling,
            s.iterations,
            if plan.len() > 1 { " at full size" } else { "" },
            if s.resumed_after > 0 {
                format!(", resuming after {}", s.resumed_after)
            } else {
                String::new()
            }
        )
    }

    /// The passes at the start of the last scale (src/passes.rs), none where it has none.
    pub(crate) fn passes_of_last_scale(&self) -> Vec<Pass> {
        if self.settings.last_scale_has_passes(self.stages.len()) {
            self.settings.passes_for(&self.variant, &self.layers)
        } else {
            Vec::new()
        }
    }

    /// What one iteration of a pass costs against one on all chosen layers.
    fn pass_cost(&self, pass: &Pass) -> f64 {
        let deepest = self.layers.last().expect("layers checked in build");
        passes::relative_cost(&self.variant, &pass.ends_at, deepest)
    }

    /// The work of `iterations` iterations at one scale that start with `passes`, in full
    /// iterations: the passes' weighted by their cost, the rest (if any) on all layers.
    fn work_of(&self, passes: &[Pass], iterations: usize) -> f64 {
        let in_passes: usize = passes.iter().map(|p| p.iterations).sum();
        let passes_work: f64 = passes
            .iter()
            .map(|p| p.iterations as f64 * self.pass_cost(p))
            .sum();
        passes_work + iterations.saturating_sub(in_passes) as f64
    }

    /// The chosen layers a pass matches, with their weights.
    fn pass_layers(&self, pass: &Pass) -> (Vec<String>, Vec<f32>) {
        self.layers
            .iter()
            .zip(&self.weights)
            .filter(|(l, _)| passes::matches(&self.variant.layers, &pass.ends_at, l))
            .map(|(l, w)| (l.clone(), *w))
            .unzip()
    }

    /// A pass's objective: the chosen layers up to where it ends, with their weights, in the
    /// grad model that ends there.
    fn pass_objective(&self, pass: &Pass, size: Size) -> Result<Objective> {
        let (layers, weights) = self.pass_layers(pass);
        Objective::new(
            &self.models,
            &self.variant,
            &layers,
            &weights,
            &self.option_inputs,
            &self.targets,
            &self.step,
            (size.width as usize, size.height as usize),
            self.session,
        )
    }

    /// The image `x` ([3,H,W] row-major) at scale `from` carried up to scale `to`, wrapping
    /// around the edges for tileable output.
    fn carry_up(&mut self, method: Upsampling, x: Vec<f32>, from: &Stage, to: &Stage) -> Vec<f32> {
        let started = Instant::now();
        let (w, h) = (from.size.width as usize, from.size.height as usize);
        let coarse = Array3::from_shape_vec((3, h, w), x).expect("image size");
        let size = (to.size.width, to.size.height);
        let tile = self.settings.tile;
        let up = method.carry_up(&coarse, &from.exemplar, &to.exemplar, size, tile);
        self.upsampling_seconds += started.elapsed().as_secs_f64();
        up.into_raw_vec_and_offset().0
    }

    /// Output sizes of the coarse-to-fine scales, coarsest first (one entry: single-scale).
    pub fn scale_sizes(&self) -> Vec<Size> {
        self.stages.iter().map(|s| s.size).collect()
    }

    /// Run without a progress display.
    pub fn run(self) -> Result<Outcome> {
        self.run_with_progress(|_| {})
    }

    /// Run, calling `progress` after every L-BFGS iteration.
    pub fn run_with_progress(
        self,
        mut progress: impl FnMut(&Progress) + 'static,
    ) -> Result<Outcome> {
        self.run_with_events(move |event| {
            if let Event::Iteration(p) = event {
                progress(p)
            }
        })
    }

    /// Run, calling `events` after every L-BFGS iteration and before each upsampling.
    pub fn run_with_events(self, events: impl FnMut(Event) + 'static) -> Result<Outcome> {
        let (size, needs) = (self.size, self.needs);
        self.run_events(events)
            .map_err(|e| explain_memory(e, size, &needs))
    }

    fn run_events(mut self, events: impl FnMut(Event) + 'static) -> Result<Outcome> {
        let events = Rc::new(RefCell::new(events));
        let iteration_events = events.clone();
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let start = self.start_image();
        let logged_before = self.outputs.log().len();
        let warned_before = self.outputs.warnings().len();
        let template = RunRecord::begin(&self)?;
        let mut checkpoints = Checkpoints {
            outputs: self.outputs.clone(),
            output: self.settings.output.clone(),
            snapshot_every: self.settings.snapshot_every,
            resumed_after: self.settings.resumed_after,
            sizes: self.scale_sizes(),
            tile: self.settings.tile,
            record: self
                .settings
                .record
                .clone()
                .map(|path| (path, template.clone())),
            interval: Duration::from_secs_f64(self.settings.checkpoint_seconds),
            last: Instant::now(),
            iterations: Vec::new(),
            written_sha: None,
        };
        let callback: IterationCallback =
            Rc::new(RefCell::new(move |p: &Progress, x: &[f32]| -> Result<()> {
                (iteration_events.borrow_mut())(Event::Iteration(p));
                checkpoints.after_iteration(p, x);
                Ok(())
            }));
        let optimizer_settings = self.optimizer_settings();
        // Statistics with per-step inputs are optimised in rounds, redrawing them in between;
        // the others in one round per scale (after the passes, at the last), as long as the
        // scale's budget (a coarse one's may exceed --iters).
        let redraw = !self.step.is_empty();
        let per_round = if redraw {
            self.settings.redraw_every
        } else {
            usize::MAX
        };
        let clock = Instant::now();
        let last_scale_passes = self.passes_of_last_scale();
        let stages = std::mem::take(&mut self.stages);
        let mut x = match &self.settings.start {
            Some(image) => image.iter().copied().collect(),
            None => {
                let at = stages[0].size;
                let (w, h) = (at.width as usize, at.height as usize);
                let start = self
                    .settings
                    .init
                    .image(&stages[0].exemplar, w, h, self.settings.seed);
                start.into_raw_vec_and_offset().0
            }
        };
        let mut rounds: Vec<OptimizationOutcome> = Vec::new();
        let mut notices = Vec::new();
        // The image the last scale's passes started from (upsampled, or the spectrum start):
        // the run reports its full loss as that scale's start (a pass's own loss leaves layers
        // out), evaluated after the optimisation, so that it does not delay it.
        let mut pass_start = None;
        let mut stopped_between_rounds = None;
        let mut reached = 0;
        let mut restarts = 0;
        'scales: for (scale, stage) in stages.iter().enumerate() {
            reached = scale;
            let (sw, sh) = (stage.size.width as usize, stage.size.height as usize);
            if scale > 0 {
                (events.borrow_mut())(Event::Upsampling {
                    to_scale: scale,
                    from: stages[scale - 1].size,
                    to: stage.size,
                    method: self.settings.upsampling,
                });
                x = self.carry_up(self.settings.upsampling, x, &stages[scale - 1], stage);
            }
            self.objective.set_size(sw, sh);
            let budget = self.settings.scale_budget(scale, stages.len());
            // Later scales' iterations cost 4x per doubling of the side; the last scale's
            // passes less.
            let later_scales: f64 = (scale + 1..stages.len())
                .map(|k| {
                    let budget = self.settings.scale_budget(k, stages.len());
                    let work = if k + 1 == stages.len() {
                        self.work_of(&last_scale_passes, budget)
                    } else {
                        budget as f64
                    };
                    work * 4f64.powi((k - scale) as i32)
                })
                .sum();
            let scale_started = Instant::now();
            let mut done = 0;
            // Work done at this scale, in full iterations (a pass's count by its cost).
            let mut work_done = 0.0;
            // L-BFGS's curvature pairs, handed from each pass to the next round at this size:
            // the next pass's loss holds the same terms and more, so what the solver learned
            // about the shape of the shallow terms still holds, and a fresh solver would spend
            // its first iterations (a steepest-descent step, 2-6 evaluations of line search)
            // learning it again. Pebbles, 256², 3 scales: cost to the target 65.6 -> 61.3
            // full evaluations, final loss 8.59e4 -> 8.12e4 (docs/coarse_to_fine.md,
            // "Carried curvature").
            let mut curvature = None;
            // The passes run first at the last scale, one round each.
            let mut passes = if scale + 1 == stages.len() {
                last_scale_passes.clone()
            } else {
                Vec::new()
            }
            .into_iter();
            while done < budget {
                let index = rounds.len();
                if index > 0 && redraw {
                    self.step = step_inputs::draw_all(
                        &self.variant.step_inputs,
                        self.settings.seed,
                        index as u64,
                    )?;
                    self.objective.set_step_inputs(&self.step)?;
                }
                if done == 0 || redraw {
                    self.targets = self.statistics.compute(&stage.exemplar, None, &self.step)?;
                    self.objective.set_targets(&self.targets)?;
                }
                let pass = passes.next();
                let iterations = pass
                    .as_ref()
                    .map_or(per_round.min(budget - done), |p| p.iterations);
                let later_work = self
                    .work_of(passes.as_slice(), budget.saturating_sub(done + iterations))
                    + later_scales;
                let round_cost = pass.as_ref().map_or(1.0, |p| self.pass_cost(p));
                let mut pass_objective = match &pass {
                    Some(p) => Some(self.pass_objective(p, stage.size)?),
                    None => None,
                };
                if pass.is_some() && done == 0 {
                    pass_start = Some(x.clone());
                }
                let round = Round {
                    index,
                    scale,
                    first_iteration: done,
                    first_evaluation: rounds.iter().map(|r| r.evaluations.len()).sum(),
                    scale_evaluations: rounds
                        .iter()
                        .flat_map(|r| &r.evaluations)
                        .filter(|e| e.scale == scale)
                        .count(),
                    iterations,
                    clock,
                    scale_started,
                    scale_budget: budget,
                    work_before: work_done,
                    cost: round_cost,
                    later_work,
                    pass: pass.as_ref().map(|p| p.ends_at.clone()),
                };
                let mut result = match optimizer::optimize(
                    pass_objective.as_mut().unwrap_or(&mut self.objective),
                    &x,
                    &optimizer_settings,
                    round,
                    curvature.take(),
                    self.settings.cancel.clone(),
                    callback.clone(),
                ) {
                    Ok(result) => result,
                    // Ctrl-C between two rounds (e.g. during an upsampling search, 13 s at
                    // 1024²), or the evaluation budget used up exactly at a round's start: the
                    // run ends with what the rounds before made, as if stopped inside one.
                    Err(Error::StoppedBeforeStart(reason)) if !rounds.is_empty() => {
                        stopped_between_rounds = Some(reason);
                        break 'scales;
                    }
                    // Before anything was evaluated: nothing to write.
                    Err(Error::StoppedBeforeStart(StopReason::Interrupted)) => {
                        return Err(Error::Interrupted { during: "set-up" })
                    }
                    Err(e) => return Err(e),
                };
                // Not across a redraw of the step inputs: the objective itself changes there.
                curvature = result.curvature.take().filter(|_| !redraw);
                let done_before = done;
                done = result
                    .iterations
                    .last()
                    .map_or(done, |i| i.iteration)
                    .max(done + 1);
                work_done += (done - done_before) as f64 * round_cost;
                x.clone_from(&result.best_image);
                // One round only: its session (and memory) goes before the next objective runs
                // at this size, so that the two never hold their buffers at once.
                drop(pass_objective);
                let stop = result.stop.clone();
                rounds.push(result);
                if matches!(stop, StopReason::Interrupted | StopReason::MaxEvaluations) {
                    break 'scales;
                }
                if let StopReason::NonFinite(_) = stop {
                    curvature = None;
                    // A fresh solver from the best image (x): its curvature pairs may hold the
                    // fault. Repeated faults end the run with the best image.
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        break 'scales;
                    }
                    continue;
                }
                if !redraw && pass.is_none() {
                    break;
                }
            }
        }
        // Interrupted before the last scale: carry what there is up to the full size, at once.
        let last_scale = stages.len() - 1;
        if reached < last_scale {
            x = self.carry_up(
                Upsampling::Bilinear,
                x,
                &stages[reached],
                &stages[last_scale],
            );
        }
        self.stages = stages;
        if self.stages.len() > 1 {
            // Distances are reported at full size, against the full exemplar.
            self.targets = self.statistics.compute(&self.exemplar, None, &self.step)?;
        }
        let mut result = merge_rounds(rounds);
        if let Some(reason) = stopped_between_rounds {
            result.stop = reason;
        }
        if result
            .evaluations
            .last()
            .is_some_and(|e| e.scale != last_scale)
        {
            // Nothing ran at full size (stopped during a coarse scale or where the last one
            // begins): the image written is the carried-up one, and the losses the coarse
            // scales measured are of another image against another exemplar. Its full loss is
            // both the start and the result.
            let full = self.stages[last_scale].size;
            self.objective
                .set_size(full.width as usize, full.height as usize);
            self.objective.set_targets(&self.targets)?;
            let loss = self.objective.evaluate(&x, 1)?.loss[0];
            (result.initial_loss, result.best_loss) = (loss, loss);
        } else {
            // Stopped during a pass (Ctrl-C, --max-evals): its loss leaves layers out, so the
            // run reports the full loss of the pass's best image, which is the image it writes.
            if result.evaluations.last().is_some_and(|e| e.pass.is_some()) {
                result.best_loss = self.objective.evaluate(&x, 1)?.loss[0];
            }
            if let Some(image) = pass_start {
                result.initial_loss = self.objective.evaluate(&image, 1)?.loss[0];
                // The passes leave layers out, so they can make the full loss worse; where the
                // start was already as good as it gets (a flat exemplar's spectrum start is that
                // flat colour), nothing later beats it, and the run keeps it.
                if result.initial_loss < result.best_loss {
                    notices.push(format!(
                        "no later image beat the start (full loss {:.4e} against {:.4e}): the \
                         start is kept",
                        result.initial_loss, result.best_loss
                    ));
                    result.best_loss = result.initial_loss;
                    x = image;
                }
            }
        }
        let mut image = Array3::from_shape_vec((3, h, w), x).expect("image size");
        if self.settings.match_colors {
            image = metrics::match_colors(&image, &self.exemplar);
        }
        // The result first: nothing after it may cost it.
        let written = self
            .settings
            .output
            .as_ref()
            .map(|out| self.outputs.write_result_png(out, &image));
        if let Some(out) = self.settings.output.as_ref().filter(|_| self.settings.tile) {
            let preview = metrics::tile(&image, 2, 2);
            let path = sibling_path(out, "2x2");
            self.outputs
                .write_side_png(&path, &preview, FileKind::TiledPreview);
        }
        let layers = Some(self.layers.as_slice());
        let chosen_targets: LayerStatistics = self
            .targets
            .iter()
            .filter(|(l, _)| self.layers.contains(l))
            .cloned()
            .collect();
        let mut distance = |img: &Planar| -> Result<f64> {
            let stats = self.statistics.compute(img, layers, &self.step)?;
            Ok(statistics_distance(&stats, &chosen_targets))
        };
        let start_distance = distance(&start)?;
        let final_distance = distance(&image)?;

        let mut record = template.finish(
            &result,
            (start_distance, final_distance),
            clock.elapsed().as_secs_f64(),
            self.upsampling_seconds,
        );
        record.output_sha256 = written.as_ref().and_then(|w| w.as_ref().ok().cloned());
        if let Some(path) = &self.settings.record {
            if let Err(e) = self.outputs.write_result_text(path, &record.to_json()) {
                self.outputs.warn(e.to_string());
            }
        }
        if let Some(Err(e)) = written {
            return Err(e);
        }
        Ok(Outcome {
            files: self.outputs.log()[logged_before..].to_vec(),
            warnings: self.outputs.warnings()[warned_before..].to_vec(),
            notices,
            image,
            initial_loss: result.initial_loss,
            best_loss: result.best_loss,
            stop: result.stop,
            start_distance,
            final_distance,
            record,
        })
    }

    /// Checksums of every model file this synthesis loaded: the weights, the statistics model,
    /// the grad model of the chosen layers and those of the last scale's passes.
    pub(crate) fn model_checksums(&self) -> Result<Vec<ModelChecksum>> {
        let variant = &self.variant;
        let weights = &self.models.backbone(variant).weights;
        let mut sums = vec![
            ModelChecksum::new(&weights.file, &weights.sha256),
            ModelChecksum::new(&variant.stats.file, &variant.stats.sha256),
        ];
        let passes = self.passes_of_last_scale();
        let pass_layers = passes.iter().map(|pass| self.pass_layers(pass).0);
        for layers in std::iter::once(self.layers.clone()).chain(pass_layers) {
            let grad = variant.grad_model_for(&layers).expect("checked in build");
            sums.push(ModelChecksum::new(&grad.file, &grad.sha256));
        }
        Ok(sums)
    }
}

/// One outcome for the whole run: every round's records, the starting loss of the first round at
/// the last scale reached, and the last round's best (losses of different rounds use different
/// directions or scales: not comparable).
fn merge_rounds(rounds: Vec<OptimizationOutcome>) -> OptimizationOutcome {
    let last_scale = rounds
        .last()
        .and_then(|r| r.evaluations.first())
        .map_or(0, |e| e.scale);
    // (After a pass the run replaces this with the full loss of the image the pass started from.)
    let initial_loss = rounds
        .iter()
        .find(|r| r.evaluations.first().is_some_and(|e| e.scale == last_scale))
        .map_or(f32::NAN, |r| r.initial_loss);
    let mut evaluations = Vec::new();
    let mut iterations = Vec::new();
    let mut non_finite = Vec::new();
    let mut round_records = Vec::new();
    let mut last = None;
    for mut r in rounds {
        evaluations.append(&mut r.evaluations);
        iterations.append(&mut r.iterations);
        non_finite.append(&mut r.non_finite);
        round_records.append(&mut r.rounds);
        last = Some(r);
    }
    let last = last.expect("at least one round");
    OptimizationOutcome {
        initial_loss,
        evaluations,
        iterations,
        non_finite,
        rounds: round_records,
        ..last
    }
}

/// `out/x.png` -> `out/x.iter0050.png`.
pub fn snapshot_path(output: &Path, iteration: usize) -> PathBuf {
    snapshot_path_at(output, None, iteration)
}

/// Snapshots of a coarse scale k carry it in the name: `out/x.scale0.iter0050.png`.
pub fn snapshot_path_at(output: &Path, coarse_scale: Option<usize>, iteration: usize) -> PathBuf {
    let scale = coarse_scale.map_or(String::new(), |k| format!("scale{k}."));
    sibling_path(output, &format!("{scale}iter{iteration:04}"))
}

/// A PNG next to the output, tagged: (`out/x.png`, `2x2`) -> `out/x.2x2.png`.
pub fn sibling_path(output: &Path, tag: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    output.with_file_name(format!("{stem}.{tag}.png"))
}
