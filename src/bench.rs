//! Benchmark of one evaluation (loss + input gradient) of the grad model: seconds per
//! evaluation and the GFLOP/s achieved by its forward and backward convolutions.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array3;
use ort::value::TensorRef;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::layers::parse_layers;
use crate::manifest::{default_models_dir, default_option_inputs, ModelSet, Padding, Variant};
use crate::objective::{Objective, ObjectiveSpec, Statistics};
use crate::runtime::{self, SessionOptions};
use crate::settings::RuntimeSettings;
use crate::step_inputs::draw_all;

/// What `neurotex bench` times (its command-line arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSettings {
    /// Square sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "128,256,512")]
    pub sizes: Vec<usize>,
    /// Layer sets to time (presets or lists; separate sets with ';').
    #[arg(long, value_delimiter = ';', default_value = "per-block;all")]
    pub layers: Vec<String>,
    /// Statistic to time.
    #[arg(long = "loss", default_value = "gram")]
    pub statistic: String,
    /// Network: vgg16 or vgg19.
    #[arg(long, default_value = "vgg16")]
    pub backbone: String,
    /// Time the tileable (circular-padded) models.
    #[arg(long, conflicts_with = "padding")]
    pub tile: bool,
    /// Padding of the timed models: reflect (synth's default), zero or circular.
    #[arg(long, value_parser = parse_padding, default_value = "reflect")]
    pub padding: Padding,
    /// Images per graph run (times are per image): does batching several seeds pay?
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub batch: Vec<usize>,
    /// Timed evaluations per cell (at least).
    #[arg(long, default_value_t = 3)]
    pub min_evals: usize,
    /// Seconds per cell (at least).
    #[arg(long, default_value_t = 2.0)]
    pub min_seconds: f64,
    /// Also write the table as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeSettings,
}

/// What a benchmark reports as it goes.
pub enum BenchEvent<'a> {
    /// Before the first cell: a line on what runs, and the yardstick's GFLOP/s.
    Started {
        title: String,
        reference: Option<f64>,
    },
    /// After each cell.
    Row {
        row: &'a BenchRow,
        reference: Option<f64>,
    },
}

/// Time every cell (size x layer set x batch, smallest size first, so that the process's peak
/// memory after a cell is that size's), reporting each; write the JSON if asked. Returns the
/// rows.
pub fn run(settings: &BenchSettings, mut events: impl FnMut(BenchEvent)) -> Result<Vec<BenchRow>> {
    let rt = &settings.runtime;
    let set = ModelSet::open(&rt.models.clone().unwrap_or_else(default_models_dir))?;
    let onnxruntime = runtime::init()?;
    let options = SessionOptions {
        precision: rt.precision,
        ..SessionOptions::new(rt.provider, rt.threads)
    };
    options.check()?;
    set.check_precision(rt.precision)?;
    let padding = if settings.tile {
        Padding::Circular
    } else {
        settings.padding
    };
    if padding == Padding::Reflect && settings.sizes.iter().any(|&s| s < 32) {
        return Err(Error::InvalidSetting(
            "--padding reflect needs sizes of at least 32: use --padding zero for smaller ones"
                .into(),
        ));
    }
    let variant = set.find(&settings.statistic, &settings.backbone, padding)?;
    let (min_evals, min_seconds) = (settings.min_evals, settings.min_seconds);
    let reference = reference_conv_gflops(&set, options, min_evals, min_seconds)?;
    events(BenchEvent::Started {
        title: format!(
            "neurotex bench: {} loss + gradient on {}{}, provider {}, ONNX Runtime {}, {} threads",
            settings.statistic,
            settings.backbone,
            match padding {
                Padding::Circular => " (tileable)",
                Padding::Reflect => " (reflect padding)",
                Padding::Zero => " (zero padding)",
            },
            rt.provider,
            onnxruntime.version,
            if rt.threads == 0 {
                "all".to_string()
            } else {
                rt.threads.to_string()
            }
        ),
        reference,
    });
    let mut rows = Vec::new();
    let mut sizes = settings.sizes.clone();
    sizes.sort_unstable();
    for &size in &sizes {
        for layer_set in &settings.layers {
            for &batch in &settings.batch {
                let cell = Cell {
                    variant,
                    layer_set,
                    size,
                    batch,
                };
                let row = measure(&set, &cell, options, min_evals, min_seconds)?;
                events(BenchEvent::Row {
                    row: &row,
                    reference,
                });
                rows.push(row);
            }
        }
    }
    if let Some(path) = &settings.json {
        let json = serde_json::to_string_pretty(&serde_json::json!({
            "statistic": settings.statistic,
            "backbone": settings.backbone,
            "tile": settings.tile,
            "padding": padding.name(),
            "provider": rt.provider.to_string(),
            "threads": rt.threads,
            "onnxruntime": onnxruntime.version,
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "reference_conv_gflops": reference,
            "rows": rows,
        }))
        .expect("rows serialise");
        crate::image_io::write_atomically(path, |tmp| {
            std::fs::write(tmp, json).map_err(|e| e.to_string())
        })?;
    }
    Ok(rows)
}

/// Floating-point operations of the 3x3 convolutions of one evaluation at `width` x `height`:
/// the forward pass up to `deepest`, and the same convolutions again in the backward pass
/// (the input-gradient conv of each layer has the same multiply-adds as its forward conv).
/// Channels and downsampling come from the manifest, so this holds for VGG-16 and VGG-19.
fn parse_padding(s: &str) -> std::result::Result<Padding, String> {
    match s {
        "zero" => Ok(Padding::Zero),
        "reflect" => Ok(Padding::Reflect),
        "circular" => Ok(Padding::Circular),
        _ => Err(format!("'{s}': zero, reflect or circular")),
    }
}

pub fn conv_flops(variant: &Variant, deepest: &str, width: u64, height: u64) -> u64 {
    // Two flops per multiply-add, forward and backward.
    (2.0 * 2.0 * variant.macs_up_to(deepest) * (width * height) as f64).round() as u64
}

/// One measured cell of the benchmark table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    pub layer_set: String,
    pub deepest_layer: String,
    pub size: usize,
    /// Images per graph run; times and GFLOP/s are per image.
    pub batch: usize,
    pub evaluations: usize,
    pub seconds_per_evaluation: f64,
    pub gflops: f64,
    /// The process's peak resident memory after this cell (cells run smallest first, so it is
    /// the peak of the largest size so far).
    pub peak_rss_bytes: Option<u64>,
}

/// Throughput of ONNX Runtime on one 256->256 3x3 conv at 64x64 (the manifest's reference
/// model), with the same session options: the yardstick for the grad models' GFLOP/s.
pub fn reference_conv_gflops(
    models: &ModelSet,
    options: SessionOptions,
    min_evals: usize,
    min_seconds: f64,
) -> Result<Option<f64>> {
    let Some(conv) = &models.manifest.reference_conv else {
        return Ok(None);
    };
    let path = models.verify(&conv.file, &conv.sha256)?;
    let mut session = crate::runtime::open_session(&path, options)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let n: usize = conv.shape.iter().product();
    let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
    let mut run = || -> Result<()> {
        let input = TensorRef::from_array_view((conv.shape.clone(), x.as_slice()))?;
        session.run(ort::inputs![conv.input.as_str() => input])?;
        Ok(())
    };
    run()?;
    let start = Instant::now();
    let mut done = 0;
    while done < min_evals.max(10) || start.elapsed().as_secs_f64() < min_seconds {
        run()?;
        done += 1;
    }
    let seconds = start.elapsed().as_secs_f64() / done as f64;
    Ok(Some(conv.flops as f64 / seconds / 1e9))
}

/// What one benchmark cell times.
#[derive(Debug, Clone)]
pub struct Cell<'a> {
    pub variant: &'a Variant,
    pub layer_set: &'a str,
    pub size: usize,
    /// Images per graph run.
    pub batch: usize,
}

/// Time `min_evals` or more evaluations (at least `min_seconds` in all) after one warm-up.
pub fn measure(
    models: &ModelSet,
    cell: &Cell,
    options: SessionOptions,
    min_evals: usize,
    min_seconds: f64,
) -> Result<BenchRow> {
    let Cell {
        variant,
        layer_set,
        size,
        batch,
    } = *cell;
    if batch == 0 || size == 0 {
        return Err(crate::Error::InvalidSetting(
            "bench sizes and batches must be at least 1".into(),
        ));
    }
    let layers = parse_layers(layer_set, &variant.layers)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut random_image = || Array3::from_shape_simple_fn((3, size, size), || rng.random::<f32>());
    let target_image = random_image();
    let step = draw_all(&variant.step_inputs, 7, 0)?;
    let targets =
        Statistics::open(models, variant, options)?.compute(&target_image, None, &step)?;
    let weights = vec![1.0; layers.len()];
    let settings = default_option_inputs(variant);
    let mut objective = Objective::new(&ObjectiveSpec {
        models,
        variant,
        layers: &layers,
        weights: &weights,
        settings: &settings,
        targets: &targets,
        step: &step,
        size: (size, size),
        session: options,
    })?;
    let x: Vec<f32> = (0..batch)
        .flat_map(|_| random_image().into_raw_vec_and_offset().0)
        .collect();
    objective.evaluate(&x, batch)?; // warm-up: first-run allocations and kernel selection
    let start = Instant::now();
    let mut n = 0;
    while n < min_evals || start.elapsed().as_secs_f64() < min_seconds {
        objective.evaluate(&x, batch)?;
        n += 1;
    }
    let per_eval = start.elapsed().as_secs_f64() / (n * batch) as f64;
    let deepest = layers.last().expect("at least one layer").clone();
    let flops = conv_flops(variant, &deepest, size as u64, size as u64) as f64;
    Ok(BenchRow {
        layer_set: layer_set.to_string(),
        deepest_layer: deepest,
        size,
        batch,
        evaluations: n,
        seconds_per_evaluation: per_eval,
        gflops: flops / per_eval / 1e9,
        peak_rss_bytes: crate::memory::peak_resident_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vgg16() -> Variant {
        let m = crate::manifest::ModelSet::open(&crate::manifest::default_models_dir())
            .expect("models exported: run scripts/setup.sh");
        m.variant("gram").unwrap().clone()
    }

    #[test]
    fn conv_flops_match_hand_count() {
        let v = vgg16();
        // relu1_1 at 16x16: (forward + backward) * 2 flops per multiply-add * 9*3*64 * 256 pixels.
        assert_eq!(conv_flops(&v, "relu1_1", 16, 16), 2 * 2 * 9 * 3 * 64 * 256);
        // All 13 layers at 224x224: VGG-16's convolutions are the well-known ~15.35 G
        // multiply-adds, i.e. ~30.7 GFLOP forward and ~61.4 forward + backward.
        let g = conv_flops(&v, "relu5_3", 224, 224) as f64 / 1e9;
        assert!((61.0..62.0).contains(&g), "{g}");
        // VGG-19's 16 conv layers: ~19.5 G multiply-adds at 224x224.
        let m = crate::manifest::ModelSet::open(&crate::manifest::default_models_dir()).unwrap();
        let g = conv_flops(m.variant("gram.vgg19").unwrap(), "relu5_4", 224, 224) as f64 / 1e9;
        assert!((77.0..79.0).contains(&g), "{g}");
    }
}
