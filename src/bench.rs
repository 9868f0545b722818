//! Benchmark of one evaluation (loss + input gradient) of the grad model: seconds per
//! evaluation and the GFLOP/s achieved by its forward and backward convolutions.

use std::time::Instant;

use ndarray::Array3;
use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::layers::parse_layers;
use crate::manifest::{default_option_inputs, ModelSet};
use crate::objective::{Objective, Statistics};
use crate::runtime::SessionOptions;
use crate::step_inputs::draw_all;

/// VGG-16's conv layers: (name, input channels, output channels, downsampling factor).
const VGG16_CONVS: [(&str, u64, u64, u64); 13] = [
    ("relu1_1", 3, 64, 1),
    ("relu1_2", 64, 64, 1),
    ("relu2_1", 64, 128, 2),
    ("relu2_2", 128, 128, 2),
    ("relu3_1", 128, 256, 4),
    ("relu3_2", 256, 256, 4),
    ("relu3_3", 256, 256, 4),
    ("relu4_1", 256, 512, 8),
    ("relu4_2", 512, 512, 8),
    ("relu4_3", 512, 512, 8),
    ("relu5_1", 512, 512, 16),
    ("relu5_2", 512, 512, 16),
    ("relu5_3", 512, 512, 16),
];

/// Floating-point operations of the 3x3 convolutions of one evaluation at `width` x `height`:
/// the forward pass up to `deepest`, and the same convolutions again in the backward pass
/// (the input-gradient conv of each layer has the same multiply-adds as its forward conv).
pub fn conv_flops(deepest: &str, width: u64, height: u64) -> u64 {
    let mut forward = 0;
    for (name, cin, cout, down) in VGG16_CONVS {
        forward += 2 * 9 * cin * cout * (width / down) * (height / down);
        if name == deepest {
            break;
        }
    }
    2 * forward
}

/// One measured cell of the benchmark table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    pub layer_set: String,
    pub deepest_layer: String,
    pub size: usize,
    pub evaluations: usize,
    pub seconds_per_evaluation: f64,
    pub gflops: f64,
}

/// Time `min_evals` or more evaluations (at least `min_seconds` in all) after one warm-up.
pub fn measure(
    models: &ModelSet,
    statistic: &str,
    layer_set: &str,
    size: usize,
    options: SessionOptions,
    min_evals: usize,
    min_seconds: f64,
) -> Result<BenchRow> {
    let variant = models.variant(statistic)?;
    let layers = parse_layers(layer_set, &variant.layers)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut random_image = || Array3::from_shape_simple_fn((3, size, size), || rng.random::<f32>());
    let target_image = random_image();
    let step = draw_all(&variant.step_inputs, 7, 0)?;
    let targets =
        Statistics::open(models, variant, options)?.compute(&target_image, None, &step)?;
    let weights = vec![1.0; layers.len()];
    let settings = default_option_inputs(variant);
    let mut objective = Objective::new(
        models,
        variant,
        &layers,
        &weights,
        &settings,
        &targets,
        &step,
        (size, size),
        options,
    )?;
    let image = random_image();
    let x = image.as_slice().expect("standard layout");
    objective.evaluate(x, 1)?; // warm-up: first-run allocations and kernel selection
    let start = Instant::now();
    let mut n = 0;
    while n < min_evals || start.elapsed().as_secs_f64() < min_seconds {
        objective.evaluate(x, 1)?;
        n += 1;
    }
    let per_eval = start.elapsed().as_secs_f64() / n as f64;
    let deepest = layers.last().expect("at least one layer").clone();
    let flops = conv_flops(&deepest, size as u64, size as u64) as f64;
    Ok(BenchRow {
        layer_set: layer_set.to_string(),
        deepest_layer: deepest,
        size,
        evaluations: n,
        seconds_per_evaluation: per_eval,
        gflops: flops / per_eval / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_flops_match_hand_count() {
        // relu1_1 at 16x16: (forward + backward) * 2 flops per multiply-add * 9*3*64 * 256 pixels.
        assert_eq!(conv_flops("relu1_1", 16, 16), 2 * 2 * 9 * 3 * 64 * 256);
        // All 13 layers at 224x224: VGG-16's convolutions are the well-known ~15.35 G
        // multiply-adds, i.e. ~30.7 GFLOP forward and ~61.4 forward + backward.
        let g = conv_flops("relu5_3", 224, 224) as f64 / 1e9;
        assert!((61.0..62.0).contains(&g), "{g}");
    }
}
