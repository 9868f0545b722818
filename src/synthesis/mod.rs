//! A synthesis: built (and validated) by `SynthesisBuilder` (builder.rs), run by `run.rs`
//! scale by scale, round by round, reporting events; what it produced is an `Outcome`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Result;
use crate::image_io::{self, Encoding, Planar};
use crate::init::Init;
use crate::manifest::{ModelSet, OptionInputs, Variant};
use crate::margin::Window;
use crate::memory;
use crate::objective::{LayerStatistics, Objective, Statistics};
use crate::optimizer::{OptimizerSettings, Progress, StopReason};
use crate::outputs::normalized;
use crate::outputs::{Outputs, Written};
use crate::passes::Pass;
use crate::plan;
use crate::plan::RunPlan;
use crate::record::{ModelChecksum, RunRecord};
use crate::runtime;
use crate::runtime::SessionOptions;
use crate::settings::Size;
use crate::step_inputs::StepValues;
use crate::upsample::Upsampling;

mod batch;
mod builder;
mod run;
mod stages;

pub use batch::{Batch, MAX_COUNT};
pub(crate) use builder::Continuation;
pub use builder::{SynthesisBuilder, DEFAULT_CHECKPOINT_SECONDS};
pub use stages::Stage;

/// Restarts after a NaN or infinite loss or gradient before a run gives up (keeping the best).
pub const MAX_RESTARTS: usize = 3;

/// A validated, loaded synthesis, ready to run.
pub struct Synthesis {
    pub(crate) builder: SynthesisBuilder,
    /// None: given in memory.
    pub(crate) exemplar_path: Option<PathBuf>,
    pub(crate) exemplar_sha256: String,
    /// The sha256s of a fill's, an expansion's or a guided synthesis's own inputs.
    pub(crate) region_inputs_sha256: Vec<String>,
    /// The claimed files this run writes through.
    pub(crate) outputs: Outputs,
    /// The output's encoding (format, bits, quality).
    pub(crate) encoding: Encoding,
    /// The memory the run was estimated to need (for the message if an allocation fails).
    pub(crate) needs: memory::Needs,
    pub(crate) exemplar: Planar,
    /// Coarse-to-fine stages, coarsest first; the last is the full size and exemplar.
    pub(crate) stages: Vec<Stage>,
    /// Scales, budgets, passes and their costs.
    pub(crate) plan: RunPlan,
    /// The size drawn: the output's, or larger by a margin (src/margin.rs) or to a canvas's
    /// whole tiles.
    pub(crate) size: Size,
    /// The output's window in a drawn image with a margin (None: none).
    pub(crate) margin: Option<Window>,
    pub(crate) layers: Vec<String>,
    pub(crate) weights: Vec<f32>,
    /// Style transfer: the content term's layers.
    pub(crate) content_layers: Vec<String>,
    pub(crate) targets: LayerStatistics,
    /// Current per-step inputs (empty for statistics without any).
    pub(crate) step: StepValues,
    pub(crate) statistics: Statistics,
    pub(crate) objective: Objective,
    /// What a second objective (the shallow pass) is opened with.
    pub(crate) option_inputs: OptionInputs,
    pub(crate) session: SessionOptions,
    pub(crate) models: ModelSet,
    pub(crate) variant: Variant,
    /// The variant whose statistics graph takes the exemplar's: `variant` but for a tileable
    /// output, whose exemplar is mirrored at its edges instead (plan::paddings).
    pub(crate) exemplar_variant: Variant,
    /// The variant's options as chosen, e.g. gram-norm = paper.
    pub(crate) options: BTreeMap<String, String>,
    pub(crate) notices: Vec<String>,
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

impl Outcome {
    /// The result as an 8-bit RGB image (what the PNG holds).
    pub fn rgb_image(&self) -> image::RgbImage {
        crate::image_io::to_rgb8(&self.image)
    }
}

impl Synthesis {
    pub fn builder() -> SynthesisBuilder {
        SynthesisBuilder::default()
    }

    /// Messages about what was adjusted (size rounding, colour conversion).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Seconds `build()` took: models, provider, the exemplar's statistics.
    pub fn setup_seconds(&self) -> f64 {
        self.setup_seconds
    }

    /// The size drawn (the output's but for a margin or a canvas's whole tiles).
    pub fn size(&self) -> Size {
        self.size
    }

    /// Where the output lies in the image drawn, where it is not all of it: inside a margin, or
    /// a canvas's top-left part.
    pub(crate) fn output_window(&self) -> Option<Window> {
        (self.margin).or_else(|| self.builder.canvas.as_ref().map(|c| c.window()))
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
    /// from the seed, or a style transfer's content). Distances of the result are reported
    /// against this start.
    pub fn start_image(&self) -> Planar {
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let start = self.start_at(&self.exemplar, (w, h));
        match self.stages.last().and_then(|s| s.canvas.as_ref()) {
            // A canvas starts with its photo's pixels.
            Some(canvas) => {
                let values = canvas.gather(start.as_slice().expect("standard layout"));
                ndarray::Array3::from_shape_vec((3, h, w), canvas.full_image(&values))
                    .expect("image size")
            }
            None => start,
        }
    }

    /// How the run starts (`--init`, `auto` resolved).
    pub(crate) fn init(&self) -> Init {
        match (self.builder.settings.init, &self.builder.style) {
            (Init::Auto, Some(_)) => Init::Content,
            (init, _) => init.resolve(self.plan.scales.len()),
        }
    }

    /// The start at `size` (the first scale's) for `exemplar` (at that scale).
    pub(crate) fn start_at(&self, exemplar: &Planar, size: (usize, usize)) -> Planar {
        match (self.init(), &self.builder.style) {
            (Init::Content, Some(style)) => style.start_at(size.0, size.1),
            (init, _) => init.image(1, exemplar, size, self.builder.settings.seed),
        }
    }

    /// The optimiser's settings for this run.
    pub(crate) fn optimizer_settings(&self) -> OptimizerSettings {
        OptimizerSettings {
            max_iterations: self.builder.settings.iterations,
            tolerance: self.builder.settings.tolerance,
            solver: self.builder.settings.solver(),
            max_evaluations: self.builder.settings.max_evaluations,
        }
    }

    /// One line on what runs: statistic, layers, network, padding, solver, provider, scales.
    pub fn describe(&self) -> String {
        let s = &self.builder.settings;
        let plan: Vec<String> = self.stages.iter().map(|st| st.size.to_string()).collect();
        let upsampling = if plan.len() > 1 {
            format!(" ({} upsampling)", s.upsampling.name())
        } else {
            String::new()
        };
        let size = match self.margin {
            Some(w) => format!(
                "{}x{} (drawn {} with a margin of {} pixels, cropped)",
                w.width, w.height, self.size, w.x
            ),
            None => self.size.to_string(),
        };
        format!(
            "{} from {} | {} on {} ({}{}) | {} | {} | scales {}{} | up to {} iterations{}{}",
            size,
            self.builder.exemplar_name(),
            s.statistic,
            self.layers.join(","),
            s.backbone,
            if s.tile { ", tileable" } else { "" },
            s.solver().name(),
            s.runtime.provider,
            plan.join(" -> "),
            upsampling,
            s.iterations,
            if plan.len() > 1 { " at full size" } else { "" },
            if self.builder.resumed_after > 0 {
                format!(", resuming after {}", self.builder.resumed_after)
            } else {
                String::new()
            }
        )
    }

    /// The passes at the start of the last scale (src/passes.rs), none where it has none.
    pub(crate) fn passes_of_last_scale(&self) -> Vec<Pass> {
        self.plan.passes.clone()
    }

    /// Output sizes of the coarse-to-fine scales, coarsest first (one entry: single-scale).
    pub fn scale_sizes(&self) -> Vec<Size> {
        self.plan.sizes()
    }

    /// What the record says before the optimisation: every setting, the models, the runtime;
    /// no history yet.
    pub(crate) fn record_template(&self) -> Result<RunRecord> {
        let synthesis = self;
        let rt = runtime::init()?;
        let b = &synthesis.builder;
        let s = &b.settings;
        let scales = synthesis.scale_sizes();
        let multi_scale = scales.len() > 1;
        let has_passes = plan::last_scale_has_passes(s, scales.len(), b.start.is_some());
        Ok(RunRecord {
            schema_version: crate::record::RECORD_SCHEMA_VERSION,
            neurotex_version: env!("CARGO_PKG_VERSION"),
            settings: s.clone(),
            // `-` (stdin) stays `-`: `--resume` reads stdin again and checks its sha256.
            exemplar: synthesis.exemplar_path.as_deref().map(|p| {
                if image_io::is_stdin(p) {
                    p.into()
                } else {
                    normalized(p)
                }
            }),
            exemplar_sha256: synthesis.exemplar_sha256.clone(),
            output: b.output.as_deref().map(normalized),
            output_sha256: None,
            previous_output_sha256: None,
            size: synthesis.size(),
            margin: synthesis.margin.map_or(0, |w| w.x as u32),
            regions: synthesis.regions_record(),
            style: b.style.as_ref().map(|t| crate::record::StyleRecord {
                content: t.content_path.as_deref().map(normalized),
                content_sha256: t.content_sha256.clone(),
                content_weight: t.content_weight,
                content_layers_spec: t.content_layers.clone(),
                content_layers: synthesis.content_layers.clone(),
                style_weight: t.style_weight,
            }),
            blend: b.blend.as_ref().map(|blend| crate::record::BlendRecord {
                first_weight: blend.first_weight,
                others: (blend.others.iter())
                    .map(|o| crate::record::BlendedExemplar {
                        path: normalized(&o.path),
                        sha256: o.sha256.clone(),
                        weight: o.weight,
                    })
                    .collect(),
            }),
            scales,
            padding: synthesis.variant.padding,
            exemplar_padding: synthesis.exemplar_variant.padding,
            edge_fade: synthesis.stages[0].edge_fade.map(|(o, e)| [o, e]),
            init: synthesis.init(),
            coarse_iterations: multi_scale.then(|| plan::coarse_budget(s)),
            shallow_first: has_passes.then(|| plan::shallow_budget(s)),
            skip_deepest: has_passes.then(|| plan::skip_deepest_budget(s)),
            passes: synthesis.passes_of_last_scale(),
            options: synthesis.options.clone(),
            redraw_every: synthesis.has_step_inputs().then_some(s.redraw_every),
            layers: synthesis.layers().to_vec(),
            layer_weights: synthesis.weights.clone(),
            optimizer: synthesis.optimizer_settings(),
            onnxruntime_library: rt.library.clone(),
            onnxruntime_version: rt.version.clone(),
            models: synthesis.model_checksums()?,
            stop: None,
            resumed_after_iterations: b.resumed_after,
            segments: b
                .continuation
                .as_ref()
                .map_or_else(Vec::new, |c| c.segments.clone()),
            evaluation_count: 0,
            non_finite_evaluations: Vec::new(),
            initial_loss: f32::NAN,
            best_loss: f32::NAN,
            start_distance: f64::NAN,
            final_distance: f64::NAN,
            setup_seconds: synthesis.setup_seconds,
            optimize_seconds: 0.0,
            upsampling_seconds: 0.0,
            mean_evaluation_seconds: 0.0,
            rounds: Vec::new(),
            iterations: Vec::new(),
            evaluations: Vec::new(),
        })
    }

    /// What a fill, an expansion or a guided synthesis read besides the exemplar.
    fn regions_record(&self) -> Option<crate::record::RegionsRecord> {
        let b = &self.builder;
        let size = self.size();
        let (kind, inputs, output_size) = match (&b.canvas, &b.guides) {
            (Some(c), _) => (c.kind, &c.inputs, c.output),
            (None, Some(g)) => (
                "guided",
                &g.inputs,
                (size.width as usize, size.height as usize),
            ),
            (None, None) => return None,
        };
        Some(crate::record::RegionsRecord {
            kind,
            inputs: inputs.iter().map(|p| normalized(p)).collect(),
            inputs_sha256: self.region_inputs_sha256.clone(),
            output_size: [output_size.0, output_size.1],
            photo_at: b.canvas.as_ref().map(|c| [c.photo_at.0, c.photo_at.1]),
            exemplar_is_photo: b.canvas.as_ref().is_some_and(|c| c.exemplar_is_photo),
        })
    }

    /// Checksums of every model file this synthesis loaded: the weights, the statistics model,
    /// the grad model of the chosen layers and those of the last scale's passes.
    pub(crate) fn model_checksums(&self) -> Result<Vec<ModelChecksum>> {
        let variant = &self.variant;
        let weights = &self.models.backbone(variant).weights;
        let mut sums = vec![
            ModelChecksum::new(&weights.file, &weights.sha256),
            ModelChecksum::new(
                &self.exemplar_variant.stats.file,
                &self.exemplar_variant.stats.sha256,
            ),
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

pub use crate::outputs::{sibling_path, snapshot_path_at};
