//! `--resume RUN.json`: continue a run (interrupted, or killed: its record is checkpointed) from
//! the image it wrote, with the parameters its record holds, on the same models and the same
//! exemplar, from any folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::blend::Blend;
use crate::canvas::{load_mask, Canvas};
use crate::error::{Error, Result};
use crate::image_io;
use crate::manifest::ModelSet;
use crate::margin::Margin;
use crate::outputs::file_sha256;
use crate::record::RECORD_SCHEMA_VERSION;
use crate::regions::{Guides, MAX_GUIDE_COLOURS};
use crate::runtime::{Precision, Provider};
use crate::settings::{Settings, Size};
use crate::style::StyleTransfer;
use crate::synthesis::{Continuation, Synthesis, SynthesisBuilder};

/// What may change when a run is resumed; everything else is the record's.
#[derive(Debug, Default, Clone)]
pub struct ResumeChanges {
    /// The full size's iterations in all (more than the record's: the run is extended).
    pub iterations: Option<usize>,
    /// Write the new record here instead of over the one resumed.
    pub record: Option<PathBuf>,
    pub threads: Option<usize>,
    pub provider: Option<Provider>,
    pub precision: Option<Precision>,
    /// Replace files that are not the run's own (snapshots of the same names, a changed output).
    pub overwrite: bool,
}

/// The command-line options (by id) `--resume` applies (see `ResumeChanges`, plus the models
/// folder); the CLI refuses any other given with it, listing them.
pub const RESUME_OPTIONS: &[&str] = &[
    "iterations",
    "record",
    "threads",
    "provider",
    "precision",
    "overwrite",
    "models",
];

/// What a run record must hold to be resumed (a subset of `RunRecord`): its settings whole,
/// and what the run resolved and did.
#[derive(Deserialize)]
struct Saved {
    /// Absent in records written before it came (version 1's layout).
    #[serde(default)]
    schema_version: u32,
    settings: Settings,
    exemplar: Option<PathBuf>,
    exemplar_sha256: String,
    output: Option<PathBuf>,
    output_sha256: Option<String>,
    previous_output_sha256: Option<String>,
    size: Size,
    /// Pixels drawn around the output on each side (absent before margins came: none).
    #[serde(default)]
    margin: u32,
    /// A fill's, an expansion's or a guided synthesis's own inputs.
    #[serde(default)]
    regions: Option<SavedRegions>,
    /// A style transfer's content and weights.
    #[serde(default)]
    style: Option<SavedStyle>,
    /// More exemplars blended with the first.
    #[serde(default)]
    blend: Option<SavedBlend>,
    models: Vec<SavedModel>,
    scales: Vec<Size>,
    resumed_after_iterations: usize,
    evaluation_count: usize,
    iterations: Vec<SavedIteration>,
}

#[derive(Deserialize)]
struct SavedRegions {
    kind: String,
    inputs: Vec<PathBuf>,
    inputs_sha256: Vec<String>,
    output_size: [usize; 2],
    photo_at: Option<[usize; 2]>,
    exemplar_is_photo: bool,
}

#[derive(Deserialize)]
struct SavedStyle {
    content: Option<PathBuf>,
    content_sha256: String,
    content_weight: f32,
    content_layers_spec: String,
    style_weight: f32,
}

impl SavedStyle {
    /// The style transfer again, from its content file (refused if it changed since).
    fn rebuild(
        &self,
        resolve: impl Fn(&Path) -> PathBuf,
    ) -> std::result::Result<StyleTransfer, String> {
        let path = resolve(self.content.as_deref().ok_or(
            "its content was an image in memory, not a file: start a new run from its image",
        )?);
        check_unchanged(
            std::slice::from_ref(&path),
            std::slice::from_ref(&self.content_sha256),
        )?;
        let loaded = StyleTransfer::load(&path).map_err(|e| e.to_string())?;
        Ok(StyleTransfer {
            content_weight: self.content_weight,
            content_layers: self.content_layers_spec.clone(),
            style_weight: self.style_weight,
            ..loaded
        })
    }
}

#[derive(Deserialize)]
struct SavedBlend {
    first_weight: f32,
    others: Vec<SavedBlended>,
}

#[derive(Deserialize)]
struct SavedBlended {
    path: PathBuf,
    sha256: String,
    weight: f32,
}

impl SavedBlend {
    /// The blend again, from its files (refused if any changed since).
    fn rebuild(&self, resolve: impl Fn(&Path) -> PathBuf) -> std::result::Result<Blend, String> {
        let paths: Vec<PathBuf> = self.others.iter().map(|o| resolve(&o.path)).collect();
        let sums: Vec<String> = self.others.iter().map(|o| o.sha256.clone()).collect();
        check_unchanged(&paths, &sums)?;
        let weights: Vec<f32> = std::iter::once(self.first_weight)
            .chain(self.others.iter().map(|o| o.weight))
            .collect();
        Blend::load(&paths, &weights).map_err(|e| e.to_string())
    }
}

#[derive(Deserialize)]
struct SavedModel {
    file: String,
    sha256: String,
}

#[derive(Deserialize)]
struct SavedIteration {
    scale: usize,
    iteration: usize,
}

/// A builder that continues the run recorded in `record`: same exemplar, output and parameters,
/// starting from the output image it wrote, for the iterations it had left at full size.
/// Refused when the models, the exemplar or the output changed since (the record would lie).
pub fn resume(
    record: &Path,
    models_dir: &Path,
    changes: &ResumeChanges,
) -> Result<SynthesisBuilder> {
    let bad =
        |reason: String| Error::InvalidSetting(format!("--resume {}: {reason}", record.display()));
    let text = std::fs::read_to_string(record).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let whole: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON file ({e})")))?;
    let saved: Saved = serde_json::from_value(whole.clone()).map_err(|e| {
        bad(format!(
            "not a run record this neurotex can resume ({e}); start a new run from its image"
        ))
    })?;
    if saved.schema_version > RECORD_SCHEMA_VERSION {
        return Err(bad(format!(
            "it was written by a newer neurotex (record layout {}, this one reads up to {}): \
             resume it with that version",
            saved.schema_version, RECORD_SCHEMA_VERSION
        )));
    }
    // Paths in a record are absolute; relative ones (written by hand) are relative to the
    // record's own folder, never to where neurotex is run from.
    let folder = record.parent().unwrap_or(Path::new(""));
    let resolve = |p: &Path| {
        if image_io::is_stdin(p) {
            p.to_path_buf()
        } else {
            folder.join(p)
        }
    };
    let output = resolve(saved.output.as_deref().ok_or_else(|| {
        bad(
            "the run wrote no image file to continue from (it went to stdout, or the \
                     library only returned it): start a new run"
                .into(),
        )
    })?);
    let exemplar = resolve(saved.exemplar.as_deref().ok_or_else(|| {
        bad(
            "its exemplar was an image in memory, not a file: start a new run from its image"
                .into(),
        )
    })?);
    let output_sha = file_sha256(&output).map_err(|e| {
        bad(format!(
            "cannot read the image it wrote, {}: {e}",
            output.display()
        ))
    })?;
    let its_own = [&saved.output_sha256, &saved.previous_output_sha256]
        .iter()
        .any(|sha| sha.as_deref() == Some(output_sha.as_str()));
    if !its_own && !changes.overwrite {
        return Err(bad(format!(
            "{} is not the image this run wrote (it changed since): pass --overwrite to \
             continue from it anyway",
            output.display()
        )));
    }
    let mut start = image_io::load_rgb(&output)?.image;

    // Iterations done at full size (a run stopped at a coarse scale restarts the full size).
    let last_scale = saved.scales.len().saturating_sub(1);
    let done = saved
        .iterations
        .iter()
        .filter(|i| i.scale == last_scale)
        .map(|i| i.iteration)
        .max()
        .unwrap_or(0);
    let total = changes.iterations.unwrap_or(saved.settings.iterations);
    if done >= total {
        return Err(bad(format!(
            "the run already did {done} of its {total} iterations: nothing to resume (give \
             --iters with more to extend it)"
        )));
    }

    let models = ModelSet::open(models_dir)?;
    let current: BTreeMap<&str, &str> = models
        .manifest
        .backbones
        .values()
        .map(|b| (b.weights.file.as_str(), b.weights.sha256.as_str()))
        .chain(models.manifest.variants.values().flat_map(|v| {
            std::iter::once((v.stats.file.as_str(), v.stats.sha256.as_str()))
                .chain(v.grad.iter().map(|g| (g.file.as_str(), g.sha256.as_str())))
        }))
        .collect();
    if let Some(m) = saved
        .models
        .iter()
        .find(|m| current.get(m.file.as_str()) != Some(&m.sha256.as_str()))
    {
        return Err(bad(format!(
            "{} changed since the run (models exported again?): resuming would mix two models",
            m.file
        )));
    }

    let mut settings = saved.settings;
    // A fill's or an expansion's canvas, or the output guide, decides the size again.
    if saved.regions.is_none() {
        // The output, without the margin, which the run draws again at the width it had.
        let m = saved.margin;
        settings.size = Some(Size {
            width: saved.size.width.saturating_sub(2 * m),
            height: saved.size.height.saturating_sub(2 * m),
        });
        settings.margin = Margin::Pixels(m);
    }
    settings.iterations = total - done;
    if let Some(n) = settings.max_evaluations {
        let left = n.saturating_sub(saved.evaluation_count);
        if left == 0 {
            return Err(bad(format!(
                "the run already used its {n} evaluations: nothing to resume"
            )));
        }
        settings.max_evaluations = Some(left);
    }
    let runtime = &mut settings.runtime;
    runtime.provider = changes.provider.unwrap_or(runtime.provider);
    runtime.precision = changes.precision.unwrap_or(runtime.precision);
    runtime.threads = changes.threads.unwrap_or(runtime.threads);
    runtime.models = Some(models_dir.to_path_buf());
    let mut builder = Synthesis::builder().settings(settings);
    if let Some(style) = &saved.style {
        builder = builder.style(style.rebuild(resolve).map_err(bad)?);
    }
    if let Some(blend) = &saved.blend {
        builder = builder.blend(blend.rebuild(resolve).map_err(bad)?);
    }
    if let Some(regions) = &saved.regions {
        let inputs: Vec<PathBuf> = regions.inputs.iter().map(|p| resolve(p)).collect();
        check_unchanged(&inputs, &regions.inputs_sha256).map_err(bad)?;
        builder =
            match rebuild_regions(regions, inputs, &exemplar).map_err(|e| bad(e.to_string()))? {
                Rebuilt::Canvas(canvas) => {
                    start = canvas.uncrop(&start)?;
                    builder.canvas(canvas)
                }
                Rebuilt::Guides(guides) => builder.guides(guides),
            };
    }
    let mut builder = builder
        .exemplar(&exemplar)
        .output(&output)
        .record(changes.record.as_deref().unwrap_or(record))
        .overwrite(changes.overwrite)
        .start_from(start, saved.resumed_after_iterations + done);
    builder.continuation = Some(Continuation {
        exemplar_sha256: saved.exemplar_sha256.clone(),
        // The run's own files: the image it wrote (checked above) and the record resumed.
        owned: vec![output.clone(), record.to_path_buf()],
        segments: segments_of(&whole),
    });
    Ok(builder)
}

/// Each of `inputs` still has the sha256 the run read.
fn check_unchanged(inputs: &[PathBuf], sha256: &[String]) -> std::result::Result<(), String> {
    if inputs.len() != sha256.len() {
        return Err("its inputs and their checksums do not pair up (edited by hand?)".into());
    }
    for (path, sha) in inputs.iter().zip(sha256) {
        let now = file_sha256(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if &now != sha {
            return Err(format!(
                "{} changed since the run started (the record has sha256 {sha}): put the \
                 original back, or start a new run",
                path.display()
            ));
        }
    }
    Ok(())
}

enum Rebuilt {
    Canvas(Canvas),
    Guides(Guides),
}

/// The canvas or the guides of a recorded fill, expansion or guided synthesis, from its files.
fn rebuild_regions(saved: &SavedRegions, inputs: Vec<PathBuf>, exemplar: &Path) -> Result<Rebuilt> {
    let (w, h) = (saved.output_size[0], saved.output_size[1]);
    let photo = || image_io::load_rgb(&inputs[0]).map(|l| l.image);
    let wrong = || {
        Error::InvalidSetting(format!(
            "a {} with {} inputs is not one this neurotex made",
            saved.kind,
            inputs.len()
        ))
    };
    Ok(match (saved.kind.as_str(), inputs.len(), saved.photo_at) {
        ("fill", 2, _) => {
            let mask = load_mask(&inputs[1])?;
            Rebuilt::Canvas(Canvas::fill(
                photo()?,
                mask,
                saved.exemplar_is_photo,
                inputs,
            )?)
        }
        ("expand", 1, Some([x, y])) => {
            Rebuilt::Canvas(Canvas::expand_at(photo()?, (w, h), (x, y), inputs)?)
        }
        ("guided", 2, _) => {
            let size = image_io::dimensions(exemplar)?;
            Rebuilt::Guides(Guides::load(
                &inputs[0],
                &inputs[1],
                size,
                MAX_GUIDE_COLOURS,
            )?)
        }
        _ => return Err(wrong()),
    })
}

/// The record's earlier segments and its own, oldest first: a resumed run's record keeps the
/// history of every segment.
fn segments_of(record: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut segments = record["segments"].as_array().cloned().unwrap_or_default();
    let own: serde_json::Map<String, serde_json::Value> = [
        "resumed_after_iterations",
        "stop",
        "initial_loss",
        "best_loss",
        "evaluation_count",
        "rounds",
        "iterations",
        "evaluations",
    ]
    .iter()
    .map(|k| (k.to_string(), record[*k].clone()))
    .collect();
    segments.push(serde_json::Value::Object(own));
    segments
}
