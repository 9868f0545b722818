//! The builder: every setting and file of a synthesis as the user gives them, validated in
//! `build()` before any long computation, which loads the exemplar, the models and the provider,
//! plans the run (src/plan.rs), claims its files (src/outputs) and computes the exemplar's
//! statistics.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use super::{Stage, Synthesis};
use crate::blend::Blend;
use crate::canvas::Canvas;
use crate::edge_fade::EdgeFade;
use crate::error::{Error, Result};
use crate::image_io::{self, Encoding, Planar};
use crate::init::Init;
use crate::layers::{self, LayerWeights};
use crate::manifest::{default_models_dir, ModelSet};
use crate::margin::Margin;
use crate::memory;
use crate::objective::{Objective, ObjectiveSpec, Statistics};
use crate::optimizer::Solver;
use crate::outputs::Outputs;
use crate::passes::{self, Pass, PassKind, SHALLOW_DEPTH};
use crate::plan::{self, RunPlan};
use crate::regions::Guides;
use crate::runtime::{self, Precision, Provider, SessionOptions};
use crate::settings::{EdgePadding, Quality, Settings, Size};
use crate::step_inputs;
use crate::style::StyleTransfer;
use crate::upsample::Upsampling;

/// How messages name an exemplar given in memory.
const IN_MEMORY: &str = "the exemplar image (in memory)";

/// With a record, a checkpoint at least this often (seconds of optimisation).
pub const DEFAULT_CHECKPOINT_SECONDS: f64 = 30.0;

/// Everything a synthesis needs, as the user gave it: the settings, and the files it reads and
/// writes. `build()` validates it.
#[derive(Debug, Clone)]
pub struct SynthesisBuilder {
    pub(crate) settings: Settings,
    pub(crate) exemplar: Option<PathBuf>,
    /// Or the exemplar as an image in memory.
    pub(super) exemplar_image: Option<Planar>,
    pub(crate) output: Option<PathBuf>,
    pub(crate) record: Option<PathBuf>,
    pub(crate) overwrite: bool,
    /// Start from this image instead of noise (a resumed run), single-scale.
    pub(crate) start: Option<Planar>,
    /// Iterations an interrupted run had done before this one resumed it.
    pub(crate) resumed_after: usize,
    /// A resumed run: what it must match and what it carries on (src/resume.rs).
    pub(crate) continuation: Option<Continuation>,
    /// Files already claimed for this run: a `--count` batch claims all its files at once
    /// (`Batch`).
    pub(super) claimed: Option<Outputs>,
    /// With a record: seconds of optimisation between checkpoints of the image and the record.
    pub(crate) checkpoint_seconds: f64,
    pub(crate) cancel: Arc<AtomicBool>,
    /// A photo to fill or expand (src/canvas.rs): the output is the canvas, its kept pixels
    /// the photo's.
    pub(crate) canvas: Option<Canvas>,
    /// Guided synthesis: each region of the output guide gets the statistics of the same
    /// colour's region of the exemplar (src/regions.rs).
    pub(crate) guides: Option<Guides>,
    /// Style transfer: a content image's features kept next to the exemplar's (the style's)
    /// statistics (src/style.rs).
    pub(crate) style: Option<StyleTransfer>,
    /// More exemplars whose statistics are blended with the exemplar's (src/blend.rs).
    pub(crate) blend: Option<Blend>,
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
            settings: Settings::default(),
            exemplar: None,
            exemplar_image: None,
            output: None,
            record: None,
            overwrite: false,
            start: None,
            resumed_after: 0,
            continuation: None,
            claimed: None,
            checkpoint_seconds: DEFAULT_CHECKPOINT_SECONDS,
            cancel: Arc::new(AtomicBool::new(false)),
            canvas: None,
            guides: None,
            style: None,
            blend: None,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$($field).+ = value.into();
            self
        }
    };
}

impl SynthesisBuilder {
    /// A quality preset: its iterations, tolerance and L-BFGS memory (set those after it to
    /// change them).
    pub fn quality(mut self, quality: Quality) -> Self {
        self.settings.apply_quality(quality, |_| false);
        self
    }

    setter!(/// Maximum L-BFGS iterations.
        iterations: usize => settings.iterations);
    setter!(/// Stop when the loss fell by less than this fraction over the last 10 iterations (0: never).
        tolerance: f64 => settings.tolerance);
    setter!(/// Layers: names and/or presets (all, per-block, shallow, deep), comma-separated.
        layers: &str => settings.layers);
    setter!(/// Per-layer weights.
        layer_weights: LayerWeights => settings.layer_weights);
    setter!(/// Statistic variant, as named in the manifest (e.g. gram).
        statistic: &str => settings.statistic);
    setter!(/// The network whose features are matched: vgg16 (default) or vgg19 (Gatys et al.'s).
        backbone: &str => settings.backbone);
    setter!(/// Make the result tile seamlessly (circular padding: the image is a torus).
        tile: bool => settings.tile);
    setter!(/// The convolutions' padding at the edges without `tile` (default: reflect where it fits).
        padding: EdgePadding => settings.padding);
    setter!(/// Gram statistics of a texture: how far in from the output's and the exemplar's
        /// edges the positions' weights rise (default off; src/edge_fade.rs).
        edge_fade: EdgeFade => settings.edge_fade);
    setter!(/// Pixels drawn around the output on each side and cropped off (default: auto, a
        /// margin on outputs of 512² and more from a 256² exemplar; src/margin.rs).
        margin: Margin => settings.margin);
    setter!(/// Execution provider.
        provider: Provider => settings.runtime.provider);
    setter!(/// fp16 (TensorRT only) or fp32.
        precision: Precision => settings.runtime.precision);
    setter!(/// ONNX Runtime intra-op threads (0: all cores).
        threads: usize => settings.runtime.threads);
    setter!(/// Seed of the noise the synthesis starts from.
        seed: u64 => settings.seed);
    setter!(/// Write `<output>.iterNNNN.png` every this many iterations (0: never).
        snapshot_every: usize => settings.snapshot_every);
    setter!(/// Resize the exemplar by this factor before taking its statistics: below 1 its
        /// structures appear smaller in the output, above 1 larger. The output size defaults to
        /// the unscaled exemplar's.
        exemplar_scale: f32 => settings.exemplar_scale);
    setter!(/// Coarse-to-fine: synthesise at 1/2^(n-1) of the size first, then upsample and continue
        /// at twice the size, n times, each scale matching the exemplar's statistics at that
        /// scale. 1: single-scale (Gatys et al.). Without it: chosen from the size.
        scales: usize => settings.scales);
    setter!(/// Iterations of each coarse scale (default: a quarter of `iterations`; a coarse
        /// evaluation costs a quarter of the next scale's, and the coarse result only has to
        /// fix the large-scale arrangement).
        coarse_iterations: usize => settings.coarse_iterations);
    setter!(/// Coarse-to-fine: the first this many iterations at the full size match only the chosen
        /// layers up to relu3_1, in a graph that stops there (src/passes.rs); 0: none.
        /// Default: a quarter of `iterations`.
        shallow_first: usize => settings.shallow_first);
    setter!(/// Coarse-to-fine: after the shallow pass, this many iterations at the full size match
        /// the chosen layers but those of the deepest block (src/passes.rs); 0: none.
        /// Default: a third of `iterations`, as far as the budget allows.
        skip_deepest: usize => settings.skip_deepest);
    setter!(/// Coarse-to-fine: how each coarse result is carried up to the next scale: with detail
        /// from the exemplar (default) or bilinearly (src/upsample.rs).
        upsampling: Upsampling => settings.upsampling);
    setter!(/// Match the result's per-channel colour histograms to the exemplar's after optimising.
        match_colors: bool => settings.match_colors);
    setter!(/// What the synthesis starts from: white noise (Gatys et al.) or random-phase noise with
        /// the exemplar's power spectrum and colours (src/init.rs).
        init: Init => settings.init);
    setter!(/// For statistics with per-step inputs (sliced): redraw them, and restart L-BFGS, every
        /// this many iterations.
        redraw_every: usize => settings.redraw_every);
    setter!(/// Replace an existing output PNG and record (default: refuse, so nothing is lost).
        overwrite: bool => overwrite);
    setter!(/// A flag that stops the run (keeping the best image) when set, e.g. from Ctrl-C.
        cancel_flag: Arc<AtomicBool> => cancel);
    setter!(/// With a record: seconds of optimisation between checkpoints of the image and the
        /// record (also at every snapshot), so that a run killed outright (power loss, the OOM
        /// killer) can be resumed from the last one. Default 30.
        checkpoint_seconds: f64 => checkpoint_seconds);

    /// The optimiser (default: L-BFGS with 20 correction pairs).
    pub fn solver(mut self, solver: Solver) -> Self {
        self.settings.set_solver(solver);
        self
    }

    /// Every setting at once (e.g. from the command line, or a record's).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Write into files claimed already (`Batch`), instead of claiming its own.
    pub fn claimed_outputs(mut self, outputs: Outputs) -> Self {
        self.claimed = Some(outputs);
        self
    }

    /// The exemplar photo (PNG or JPEG).
    pub fn exemplar(mut self, path: impl AsRef<Path>) -> Self {
        self.exemplar = Some(path.as_ref().to_path_buf());
        self.exemplar_image = None;
        self
    }

    /// The exemplar as an image in memory (e.g. from `image::open`), instead of a file. Its
    /// colour channels are used (grey is spread to RGB, alpha ignored). A run from an image in
    /// memory cannot be resumed from its record.
    pub fn exemplar_image(mut self, image: &image::DynamicImage) -> Self {
        self.exemplar_image = Some(image_io::from_rgb8(&image.to_rgb8()));
        self.exemplar = None;
        self
    }

    /// The exemplar's width and height: from the file's header (nothing decoded yet) or the
    /// image in memory.
    pub(super) fn exemplar_dimensions(&self) -> Result<(u32, u32)> {
        match (&self.exemplar_image, &self.exemplar) {
            (Some(image), _) => {
                let (_, h, w) = image.dim();
                Ok((w as u32, h as u32))
            }
            (None, Some(path)) => image_io::dimensions(path),
            (None, None) => Err(Error::InvalidSetting("no exemplar image given".into())),
        }
    }

    /// The exemplar decoded, with its checksum (of the file, or of the pixels in memory).
    fn load_exemplar(&self) -> Result<image_io::Loaded> {
        match (&self.exemplar_image, &self.exemplar) {
            (Some(image), _) => {
                let bytes: Vec<u8> = image.iter().flat_map(|v| v.to_le_bytes()).collect();
                Ok(image_io::Loaded {
                    image: image.clone(),
                    notices: Vec::new(),
                    sha256: crate::outputs::sha256_hex(&bytes),
                })
            }
            (None, Some(path)) => image_io::load_rgb(path),
            (None, None) => Err(Error::InvalidSetting("no exemplar image given".into())),
        }
    }

    /// The exemplar, for messages.
    pub(crate) fn exemplar_name(&self) -> String {
        self.exemplar
            .as_ref()
            .map_or(IN_MEMORY.to_string(), |p| p.display().to_string())
    }

    /// The models folder these settings name (or the default one), opened.
    pub(super) fn models(&self) -> Result<ModelSet> {
        let dir = self.settings.runtime.models.clone();
        ModelSet::open(&dir.unwrap_or_else(default_models_dir))
    }

    /// Where the PNG goes. Without it, `run()` only returns the image.
    pub fn output(mut self, path: impl AsRef<Path>) -> Self {
        self.output = Some(path.as_ref().to_path_buf());
        self
    }

    /// Output size; default: the exemplar's size rounded to a multiple of 16.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.settings.size = Some(Size { width, height });
        self
    }

    /// Stop after this many evaluations (loss + gradient) in all.
    pub fn max_evaluations(mut self, n: usize) -> Self {
        self.settings.max_evaluations = Some(n);
        self
    }

    /// Set an option of the statistic, as the manifest names it (e.g. `gram-norm` = `no-n2`).
    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.settings
            .options
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Write a JSON run record here.
    pub fn record(mut self, path: impl AsRef<Path>) -> Self {
        self.record = Some(path.as_ref().to_path_buf());
        self
    }

    /// Models folder (default: `manifest::default_models_dir`, see src/data.rs).
    pub fn models_dir(mut self, path: impl AsRef<Path>) -> Self {
        self.settings.runtime.models = Some(path.as_ref().to_path_buf());
        self
    }

    /// Validate every setting, load the exemplar, the models and the provider, and compute the
    /// exemplar's statistics. Every error a user can cause is reported here, before the run.
    pub fn build(mut self) -> Result<Synthesis> {
        let setup_start = Instant::now();
        if self.style.is_some() {
            // The passes' graphs stop before the content layer (relu3_1, relu4_3): a style
            // transfer's would pull the content apart. None unless asked for.
            self.settings.shallow_first.get_or_insert(0);
            self.settings.skip_deepest.get_or_insert(0);
        }
        self.settings.validate()?;
        let mut notices = Vec::new();
        let exemplar_path = self.exemplar.clone();
        let models = self.models()?;
        let multiple = models.manifest.image_input.size_multiple;
        // Sizes and memory from the exemplar's header, before anything large is allocated.
        let (ew, eh) = self.exemplar_dimensions()?;
        let (sw, sh) = plan::scaled_exemplar(&self.settings, ew, eh);
        if sw < multiple || sh < multiple {
            return Err(Error::ImageRead {
                path: exemplar_path.unwrap_or_else(|| IN_MEMORY.into()),
                reason: format!(
                    "{sw}x{sh} is too small: the network needs at least {multiple}x{multiple} \
                     (after --exemplar-scale)"
                ),
            });
        }
        let output_size = self.planned_size((ew, eh), multiple, &mut notices)?;
        let from_image = self.start.is_some();
        let (size, margin) = self.drawn_size(output_size, (sw, sh), &mut notices)?;
        let needs = memory::check(size, (sw, sh), self.settings.exemplar_scale, self.history())?;
        let loaded = self.load_exemplar()?;
        if let Some(c) = self.continuation.as_ref() {
            if c.exemplar_sha256 != loaded.sha256 {
                return Err(Error::InvalidSetting(format!(
                    "--resume: {} is not the image the run started from (its content changed \
                     since; the record has sha256 {}): put the original back, or start a new \
                     run",
                    self.exemplar_name(),
                    c.exemplar_sha256
                )));
            }
        }
        notices.extend(loaded.notices);
        let exemplar_sha256 = loaded.sha256;
        let region_inputs_sha256 = self.region_inputs_sha256()?;
        let exemplar = if self.settings.exemplar_scale == 1.0 {
            loaded.image
        } else {
            notices.push(format!(
                "exemplar scaled by {} to {sw}x{sh} before taking its statistics",
                self.settings.exemplar_scale
            ));
            image_io::resize(&loaded.image, sw, sh)
        };
        let scales = plan::plan_scales(&self.settings, size, (sw, sh), multiple, from_image)?;
        let paddings = plan::paddings(&self.settings, &scales, multiple, &mut notices)?;
        // Every file the run may write, checked and claimed: from here on, a second run on the
        // same output refuses, and a failure below removes what the claim made.
        let outputs = match self.claimed.clone() {
            Some(outputs) => outputs,
            None => {
                let outputs = self.claim_outputs(scales.len())?;
                notices.extend(outputs.notices());
                outputs
            }
        };
        // Checked with the files (after what they are: a folder named as the output is refused
        // as a folder, not for its missing extension).
        let encoding = self.encoding()?;
        let has_passes = plan::last_scale_has_passes(&self.settings, scales.len(), from_image);
        if !has_passes {
            notices.extend(self.passes_without_effect());
        }
        if let Some(start) = &self.start {
            let (_, h, w) = start.dim();
            if (w as u32, h as u32) != (output_size.width, output_size.height) {
                return Err(Error::InvalidSetting(format!(
                    "the start image is {w}x{h}, the output {output_size}: they must match"
                )));
            }
            if let Some(window) = margin {
                // A resumed run's image is the output: its margin is drawn again from a mirror.
                let drawn = (size.width as usize, size.height as usize);
                self.start = Some(window.uncrop(start, drawn)?);
            }
        }
        if self.settings.snapshot_every > 0 && self.output.is_none() {
            return Err(Error::InvalidSetting(
                "snapshots are written next to the output: give an output path".into(),
            ));
        }

        let edge_fade = self.edge_fade_ramps(paddings, &models)?;
        let kind = self.variant_kind(edge_fade.is_some())?;
        let (variant, exemplar_variant) = self.variants(&models, paddings, kind, &mut notices)?;
        // As written: explicit weights pair with the layers in the order the user gave them.
        let written_layers =
            layers::parse_layers_as_written(&self.settings.layers, &variant.layers)?;
        let chosen_layers = layers::parse_layers(&self.settings.layers, &variant.layers)?;
        let deepest = chosen_layers.last().expect("at least one layer").clone();
        let run_plan = RunPlan::new(
            &self.settings,
            scales,
            from_image,
            &variant.layers,
            &chosen_layers,
            |end| passes::relative_cost(&variant, end, &deepest),
        );
        if has_passes {
            let planned = |kind| run_plan.passes.iter().any(|p: &Pass| p.kind == kind);
            if self.settings.shallow_first.is_some_and(|n| n > 0) && !planned(PassKind::Shallow) {
                notices.push(format!(
                    "--shallow-first has no effect: it needs layers both up to {SHALLOW_DEPTH} \
                     and deeper"
                ));
            }
            if self.settings.skip_deepest.is_some_and(|n| n > 0) && !planned(PassKind::SkipDeepest)
            {
                notices.push(format!(
                    "--skip-deepest has no effect: it needs layers deeper than {SHALLOW_DEPTH} \
                     outside the deepest block"
                ));
            }
        }
        let weights = self
            .settings
            .layer_weights
            .resolve(&written_layers, &variant)?;
        let (chosen_layers, weights) =
            layers::in_network_order(written_layers, weights, &variant.layers);
        let style_weight = self.style.as_ref().map_or(1.0, |s| s.style_weight);
        let weights: Vec<f32> = weights.iter().map(|w| w * style_weight).collect();
        let content_layers = self.content_layers(&variant, &chosen_layers)?;
        let (options, settings) = variant.resolve_options(&self.settings.statistic_options())?;
        let session = SessionOptions {
            precision: self.settings.runtime.precision,
            ..SessionOptions::new(
                self.settings.runtime.provider,
                self.settings.runtime.threads,
            )
        };
        session.check()?;
        models.check_precision(self.settings.runtime.precision)?;
        runtime::check_provider(self.settings.runtime.provider)?;
        models.verify_weights(&variant)?;
        let step = step_inputs::draw_all(&variant.step_inputs, self.settings.seed, 0)?;
        self.stop_if_interrupted()?;
        let mut stages = Stage::plan(
            &run_plan.scales,
            &exemplar,
            self.canvas.as_ref(),
            self.guides.as_ref(),
            self.blend
                .as_ref()
                .map(|b| (b, self.settings.exemplar_scale as f64)),
            edge_fade,
        );
        let last = stages.last().expect("at least one scale");
        let opened = || -> Result<_> {
            let mut statistics = Statistics::open(&models, &exemplar_variant, session)?;
            // The final scale's targets: the run starts with them when it is single-scale, and
            // reports its distances with them.
            let targets = last.targets(&mut statistics, &step)?;
            let objective = Objective::new(&ObjectiveSpec {
                models: &models,
                variant: &variant,
                layers: &chosen_layers,
                weights: &weights,
                settings: &settings,
                targets: &targets,
                step: &step,
                size: (size.width as usize, size.height as usize),
                session,
            })?;
            Ok((statistics, targets, objective))
        };
        let (mut statistics, targets, mut objective) =
            opened().map_err(|e| memory::explain(e, size, &needs))?;
        if let Some(style) = &self.style {
            for stage in &mut stages {
                let at = (stage.size.width as usize, stage.size.height as usize);
                stage.content =
                    Some(style.target_at(&mut statistics, &content_layers, at, &step)?);
            }
        }
        stages
            .last()
            .expect("at least one scale")
            .bind(&mut objective)?;
        self.stop_if_interrupted()?;
        Ok(Synthesis {
            option_inputs: settings,
            session,
            exemplar,
            stages,
            plan: run_plan,
            size,
            margin,
            layers: chosen_layers,
            weights,
            content_layers,
            targets,
            step,
            statistics,
            objective,
            models,
            variant,
            exemplar_variant,
            options,
            notices,
            setup_seconds: setup_start.elapsed().as_secs_f64(),
            upsampling_seconds: 0.0,
            exemplar_path,
            exemplar_sha256,
            region_inputs_sha256,
            outputs,
            encoding,
            needs,
            builder: self,
        })
    }
}

impl SynthesisBuilder {
    /// Start from `image` (e.g. an interrupted run's output) instead of noise; single-scale.
    /// `after` counts the iterations done before, for the record.
    pub fn start_from(mut self, image: Planar, after: usize) -> Self {
        self.start = Some(image);
        self.resumed_after = after;
        self
    }

    /// How the output is encoded: its extension's format with the encoding settings (PNG, or
    /// --format, without an output file), checked.
    pub fn encoding(&self) -> Result<Encoding> {
        self.settings.encoding.encoding(self.output.as_deref())
    }

    /// The seed of the starting noise.
    pub fn seed_value(&self) -> u64 {
        self.settings.seed
    }

    pub fn output_path(&self) -> Option<&Path> {
        self.output.as_deref()
    }

    pub fn record_path(&self) -> Option<&Path> {
        self.record.as_deref()
    }

    /// L-BFGS's correction pairs (0 for the other solvers), for the memory estimate.
    fn history(&self) -> usize {
        match self.settings.solver() {
            Solver::Lbfgs { history } => history,
            Solver::Cg | Solver::Sd => 0,
        }
    }

    /// Set-up stops at the first Ctrl-C (nothing is written yet; the claim is released).
    fn stop_if_interrupted(&self) -> Result<()> {
        if self.cancel.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted { during: "set-up" });
        }
        Ok(())
    }
}
