//! The objective on real photos: zero at the exemplar, model truncation, manifest wiring,
//! provider errors.

mod common;

use common::*;
use neurotex::image_io::Planar;
use neurotex::layers::parse_layers;
use neurotex::manifest::default_option_inputs;
use neurotex::objective::{statistics_distance, Objective, ObjectiveSpec, Statistics};
use neurotex::runtime::{check_provider, Provider};
use neurotex::step_inputs::draw_all;

/// An objective on `layer_spec` with default options and uniform weights.
fn objective(statistic: &str, layer_spec: &str, exemplar: &Planar, size: usize) -> Objective {
    let models = models();
    let variant = models.variant(statistic).unwrap();
    let layers = parse_layers(layer_spec, &variant.layers).unwrap();
    let step = draw_all(&variant.step_inputs, 9, 0).unwrap();
    let targets = Statistics::open(&models, variant, cpu())
        .unwrap()
        .compute(exemplar, None, &step)
        .unwrap();
    let weights = vec![1.0; layers.len()];
    Objective::new(&ObjectiveSpec {
        models: &models,
        variant,
        layers: &layers,
        weights: &weights,
        settings: &default_option_inputs(variant),
        targets: &targets,
        step: &step,
        size: (size, size),
        session: cpu(),
    })
    .unwrap()
}

#[test]
fn loss_and_gradient_vanish_at_the_exemplar() {
    for statistic in ["gram", "sorted", "sliced"] {
        vanish_at_exemplar(statistic);
    }
}

fn vanish_at_exemplar(statistic: &str) {
    let exemplar = example_image("pebbles.png", 64);
    let mut objective = objective(statistic, "all", &exemplar, 64);
    let at_exemplar = objective.evaluate(exemplar.as_slice().unwrap(), 1).unwrap();
    let noise = random_image(64, 3);
    let at_noise = objective.evaluate(noise.as_slice().unwrap(), 1).unwrap();
    let max_abs = |g: &[f32]| g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    println!(
        "{statistic}: loss at exemplar {:e} (noise {:e}); max |grad| {:e} (noise {:e})",
        at_exemplar.loss[0],
        at_noise.loss[0],
        max_abs(&at_exemplar.grad),
        max_abs(&at_noise.grad)
    );
    assert!(
        at_noise.loss[0] > 0.0,
        "noise must be far from the exemplar"
    );
    assert!(at_exemplar.loss[0] <= 1e-7 * at_noise.loss[0]);
    assert!(max_abs(&at_exemplar.grad) <= 1e-5 * max_abs(&at_noise.grad));
    assert_eq!(at_exemplar.layer_losses.len(), 13);
}

/// The objective on `layers` with `weights`, and on all 13 layers with those weights at the
/// same layers and 0 elsewhere (the full model), evaluated at one random image: same loss, same
/// gradient, and each layer's loss in the column of the layer asked for. Returns the smaller
/// objective's model file.
fn equals_full_model_with_zero_weights(layers: &[String], weights: &[f32]) -> String {
    let models = models();
    let variant = models.variant("gram").unwrap();
    let all = parse_layers("all", &variant.layers).unwrap();
    assert_eq!(variant.grad_model_for(&all).unwrap().file, "gram.grad.onnx");
    let exemplar = example_image("bark_tree.png", 48);
    let targets = Statistics::open(&models, variant, cpu())
        .unwrap()
        .compute(&exemplar, None, &vec![])
        .unwrap();
    let x = random_image(48, 5);
    let norm = default_option_inputs(variant);
    let open = |layers: &[String], weights: &[f32]| {
        let size = (48, 48);
        Objective::new(&ObjectiveSpec {
            models: &models,
            variant,
            layers,
            weights,
            settings: &norm,
            targets: &targets,
            step: &vec![],
            size,
            session: cpu(),
        })
        .unwrap()
    };
    let mut small = open(layers, weights);
    let full_weights: Vec<f32> = all
        .iter()
        .map(|l| {
            layers
                .iter()
                .position(|x| x == l)
                .map_or(0.0, |i| weights[i])
        })
        .collect();
    let mut full = open(&all, &full_weights);
    let a = small.evaluate(x.as_slice().unwrap(), 1).unwrap();
    let b = full.evaluate(x.as_slice().unwrap(), 1).unwrap();
    assert!(
        (a.loss[0] - b.loss[0]).abs() <= 1e-5 * b.loss[0],
        "{} vs {}",
        a.loss[0],
        b.loss[0]
    );
    let diff: f32 = a
        .grad
        .iter()
        .zip(&b.grad)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max);
    let scale: f32 = b.grad.iter().fold(0.0, |m, v| m.max(v.abs()));
    assert!(
        diff <= 1e-4 * scale,
        "gradients differ by {diff} (scale {scale})"
    );
    // One weighted loss per layer asked for, in that order, summing to the loss.
    assert_eq!(a.layer_losses.len(), layers.len());
    for (layer, loss) in layers.iter().zip(&a.layer_losses) {
        let column = all.iter().position(|l| l == layer).unwrap();
        let other = b.layer_losses[column];
        assert!(
            (loss - other).abs() <= 1e-5 * other.abs().max(1e-3),
            "{layer}"
        );
    }
    let sum: f32 = a.layer_losses.iter().sum();
    assert!((sum - a.loss[0]).abs() <= 1e-5 * a.loss[0]);
    small.model_file().to_string()
}

#[test]
fn truncated_model_equals_full_model_with_zero_weights_beyond() {
    let models = models();
    let variant = models.variant("gram").unwrap();
    let shallow = parse_layers("shallow", &variant.layers).unwrap();
    let file = equals_full_model_with_zero_weights(&shallow, &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        file, "gram.grad.upto_relu2_2.onnx",
        "a shallow run must not pay for blocks 3-5"
    );
}

#[test]
fn models_without_the_layers_left_out_equal_full_model_with_zero_weights() {
    // The default layers run in a model with only their five Gram statistics: the six conv
    // layers between them get no Gram products (10% of an evaluation at 256²).
    let models = models();
    let variant = models.variant("gram").unwrap();
    let per_block = parse_layers("per-block", &variant.layers).unwrap();
    let file = equals_full_model_with_zero_weights(&per_block, &[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(file, "gram.grad.blocks_upto_relu5_1.onnx");
    // A pass's prefix of them, and a choice that is neither preset.
    let file = equals_full_model_with_zero_weights(&per_block[..3], &[1.0, 0.5, 2.0]);
    assert_eq!(file, "gram.grad.blocks_upto_relu3_1.onnx");
    let picked: Vec<String> = ["relu1_1", "relu3_1"].map(String::from).into();
    let file = equals_full_model_with_zero_weights(&picked, &[1.0, 2.0]);
    assert_eq!(file, "gram.grad.blocks_upto_relu3_1.onnx");
    // `deep` (blocks 4-5) and its pass without block 5: nothing of blocks 1-3 but the convs.
    let deep = parse_layers("deep", &variant.layers).unwrap();
    let file = equals_full_model_with_zero_weights(&deep, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(file, "gram.grad.deep_upto_relu5_3.onnx");
    let file = equals_full_model_with_zero_weights(&deep[..3], &[1.0, 2.0, 3.0]);
    assert_eq!(file, "gram.grad.deep_upto_relu4_3.onnx");
}

#[test]
fn statistics_distance_separates_textures() {
    let models = models();
    let variant = models.variant("gram").unwrap();
    let mut stats = Statistics::open(&models, variant, cpu()).unwrap();
    let mut compute = |img| stats.compute(&img, None, &vec![]).unwrap();
    let pebbles = compute(example_image("pebbles.png", 64));
    let pebbles_other_scale = compute(example_image("pebbles.png", 96));
    let grass = compute(example_image("grass_meadow.png", 64));
    assert_eq!(statistics_distance(&pebbles, &pebbles), 0.0);
    let same = statistics_distance(&pebbles_other_scale, &pebbles);
    let other = statistics_distance(&grass, &pebbles);
    println!("pebbles@96 vs pebbles@64: {same:.3}; grass vs pebbles: {other:.3}");
    assert!(same < other);
}

#[test]
fn unavailable_providers_name_what_is_missing() {
    // The CPU build of ONNX Runtime (what CI has) has neither CUDA nor TensorRT.
    for p in [Provider::Cuda, Provider::TensorRt] {
        if p.is_compiled_in().unwrap() {
            continue; // a GPU build is loaded: nothing to prove here
        }
        let e = check_provider(p).unwrap_err().to_string();
        assert!(e.contains(p.ort_name()), "{e}");
        assert!(
            e.contains("onnxruntime-gpu") && e.contains("--provider cpu"),
            "{e}"
        );
    }
    check_provider(Provider::Cpu).unwrap();
    assert!("metal".parse::<Provider>().is_err());
}

#[test]
fn sorted_targets_of_another_size_are_resampled_as_quantiles() {
    // Repeat each of the exemplar's sorted values twice (a target with 2M values): resampling to
    // M quantiles must give back exactly the exemplar's own values, so the loss at it is ~0.
    let models = models();
    let variant = models.variant("sorted").unwrap();
    let exemplar = example_image("coffee_beans.png", 32);
    let stats = Statistics::open(&models, variant, cpu())
        .unwrap()
        .compute(&exemplar, None, &vec![])
        .unwrap();
    let doubled: Vec<(String, ndarray::ArrayD<f32>)> = stats
        .iter()
        .map(|(l, t)| {
            let (n, m) = (t.shape()[1], t.shape()[2]);
            let d = ndarray::Array3::from_shape_fn((1, n, 2 * m), |(_, c, k)| t[[0, c, k / 2]]);
            (l.clone(), d.into_dyn())
        })
        .collect();
    let layers = parse_layers("all", &variant.layers).unwrap();
    let mut objective = Objective::new(&ObjectiveSpec {
        models: &models,
        variant,
        layers: &layers,
        weights: &[1.0; 13],
        settings: &[],
        targets: &doubled,
        step: &vec![],
        size: (32, 32),
        session: cpu(),
    })
    .unwrap();
    let at_exemplar = objective
        .evaluate(exemplar.as_slice().unwrap(), 1)
        .unwrap()
        .loss[0];
    let at_noise = objective
        .evaluate(random_image(32, 1).as_slice().unwrap(), 1)
        .unwrap()
        .loss[0];
    println!("resampled target: loss at exemplar {at_exemplar:e}, at noise {at_noise:e}");
    assert!(at_exemplar <= 1e-6 * at_noise);
}
