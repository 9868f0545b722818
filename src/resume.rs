//! `--resume RUN.json`: continue a run (typically an interrupted one) from the image it wrote,
//! with the parameters its record holds, on the same models.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::image_io;
use crate::init::Init;
use crate::layers::LayerWeights;
use crate::manifest::ModelSet;
use crate::optimizer::OptimizerSettings;
use crate::runtime::{Precision, Provider};
use crate::synthesis::{Size, Synthesis, SynthesisBuilder};

/// What a run record must hold to be resumed (a subset of `RunRecord`).
#[derive(Deserialize)]
struct Saved {
    exemplar: PathBuf,
    output: Option<PathBuf>,
    size: Size,
    statistic: String,
    #[serde(default = "vgg16")]
    backbone: String,
    #[serde(default)]
    tile: bool,
    options: BTreeMap<String, String>,
    redraw_every: Option<usize>,
    layers: Vec<String>,
    layer_weights: Vec<f32>,
    optimizer: OptimizerSettings,
    seed: u64,
    snapshot_every: usize,
    exemplar_scale: f32,
    match_colors: bool,
    #[serde(default)]
    init: Init,
    provider: Provider,
    #[serde(default)]
    precision: Precision,
    threads: usize,
    models: Vec<SavedModel>,
    #[serde(default)]
    scales: Vec<Size>,
    #[serde(default)]
    resumed_after_iterations: usize,
    iterations: Vec<SavedIteration>,
    evaluations: Vec<serde::de::IgnoredAny>,
}

fn vgg16() -> String {
    "vgg16".into()
}

#[derive(Deserialize)]
struct SavedModel {
    file: String,
    sha256: String,
}

#[derive(Deserialize)]
struct SavedIteration {
    #[serde(default)]
    scale: usize,
    iteration: usize,
}

/// A builder that continues the run recorded in `record`: same exemplar, output, record and
/// parameters, starting from the output image it wrote, for the iterations it had left at full
/// size. Refused when the models changed since (a mix of models would make the record lie).
pub fn resume(record: &Path, models_dir: &Path) -> Result<SynthesisBuilder> {
    let bad =
        |reason: String| Error::InvalidSetting(format!("--resume {}: {reason}", record.display()));
    let text = std::fs::read_to_string(record).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let saved: Saved =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a neurotex run record ({e})")))?;
    let output = saved
        .output
        .clone()
        .ok_or_else(|| bad("the run wrote no image to continue from".into()))?;
    let start = image_io::load_rgb(&output)?.image;

    // Iterations done at full size (a run stopped at a coarse scale restarts the full size).
    let last_scale = saved.scales.len().saturating_sub(1);
    let done = saved
        .iterations
        .iter()
        .filter(|i| i.scale == last_scale)
        .map(|i| i.iteration)
        .max()
        .unwrap_or(0);
    let total = saved.optimizer.max_iterations;
    if done >= total {
        return Err(bad(format!(
            "the run already did all its {total} iterations: nothing to resume (start a new run \
             with more --iters from its image instead)"
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

    let mut builder = Synthesis::builder()
        .exemplar(&saved.exemplar)
        .output(&output)
        .record(record)
        .overwrite(true) // the run's own files
        .models_dir(models_dir)
        .size(saved.size.width, saved.size.height)
        .statistic(&saved.statistic)
        .backbone(&saved.backbone)
        .tile(saved.tile)
        .layers(&saved.layers.join(","))
        .layer_weights(LayerWeights::Explicit(saved.layer_weights.clone()))
        .iterations(total - done)
        .tolerance(saved.optimizer.tolerance)
        .solver(saved.optimizer.solver)
        .seed(saved.seed)
        .snapshot_every(saved.snapshot_every)
        .exemplar_scale(saved.exemplar_scale)
        .match_colors(saved.match_colors)
        .init(saved.init)
        .provider(saved.provider)
        .precision(saved.precision)
        .threads(saved.threads)
        .start_from(start, saved.resumed_after_iterations + done);
    if let Some(r) = saved.redraw_every {
        builder = builder.redraw_every(r);
    }
    if let Some(n) = saved.optimizer.max_evaluations {
        let left = n.saturating_sub(saved.evaluations.len());
        if left == 0 {
            return Err(bad(format!(
                "the run already used its {n} evaluations: nothing to resume"
            )));
        }
        builder = builder.max_evaluations(left);
    }
    for (key, value) in &saved.options {
        builder = builder.option(key, value);
    }
    Ok(builder)
}
