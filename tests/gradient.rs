//! The grad graphs' hand-derived backward pass against central finite differences of the
//! graphs' own loss, with the real VGG-16 and VGG-19 weights in ONNX Runtime (`statistic` is
//! a variant key of the manifest: gram, gram.tile, gram.vgg19, ...).

mod common;

use common::*;
use neurotex::layers::parse_layers;
use neurotex::objective::{Objective, ObjectiveSpec, Statistics};
use neurotex::step_inputs::draw_all;
use rand::seq::index::sample;
use rand::SeedableRng;

/// Check d loss / d x on `count` random pixels of a 32x32 random image for the given layers.
///
/// Step and tolerance, for f32: the loss is ~1e8 and is summed in f32, so it carries a rounding
/// error of ~1e-7 relative, i.e. ~10 absolute; a step of 1e-3 (a quarter of one 8-bit grey
/// level) turns that into ~5e3 of noise on gradients whose typical size is 1e5..1e7, while
/// keeping the truncation error of the ReLU kinks small. Measured: 0.5-1 % relative error over
/// the checked pixels, so 3 % leaves margin without hiding a wrong adjoint (a wrong conv flip,
/// channel order or pool scale gives errors of order 100 %).
///
/// `option` sets one of the variant's options (e.g. gram-norm = none) instead of its default.
fn check_gradient(
    statistic: &str,
    option: Option<(&str, &str)>,
    layer_spec: &str,
    count: usize,
    seed: u64,
) {
    const EPS: f32 = 1e-3;
    let models = models();
    let variant = models.variant(statistic).unwrap();
    let layers = parse_layers(layer_spec, &variant.layers).unwrap();
    let weights = vec![1.0; layers.len()];
    let settings: Vec<(String, Vec<f32>)> = variant
        .options
        .iter()
        .map(|(key, o)| {
            let value = match option {
                Some((k, v)) if k == key => v,
                _ => o.default.as_str(),
            };
            (o.input.clone(), o.values[value].clone())
        })
        .collect();
    let step = draw_all(&variant.step_inputs, seed, 0).unwrap();
    // The exemplar is larger than the image: sorted and sliced resample its quantiles.
    let exemplar = random_image(48, seed);
    let targets = Statistics::open(&models, variant, cpu())
        .unwrap()
        .compute(&exemplar, None, &step)
        .unwrap();
    let mut objective = Objective::new(&ObjectiveSpec {
        models: &models,
        variant,
        layers: &layers,
        weights: &weights,
        settings: &settings,
        targets: &targets,
        step: &step,
        size: (32, 32),
        session: cpu(),
    })
    .unwrap();
    let x = random_image(32, seed + 1);
    let x = x.as_slice().unwrap();
    let n = x.len();
    let analytic = objective.evaluate(x, 1).unwrap().grad;

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 2);
    let pixels = sample(&mut rng, n, count).into_vec();
    // All perturbed images in batches: one graph run gives one loss per image.
    let mut numeric = Vec::with_capacity(count);
    for chunk in pixels.chunks(50) {
        let mut batch = Vec::with_capacity(2 * chunk.len() * n);
        for &p in chunk {
            for sign in [1.0, -1.0] {
                let mut xp = x.to_vec();
                xp[p] += sign * EPS;
                batch.extend_from_slice(&xp);
            }
        }
        let loss = objective.evaluate(&batch, 2 * chunk.len()).unwrap().loss;
        for i in 0..chunk.len() {
            numeric.push((loss[2 * i] as f64 - loss[2 * i + 1] as f64) / (2.0 * EPS as f64));
        }
    }
    let analytic: Vec<f64> = pixels.iter().map(|&p| analytic[p] as f64).collect();
    let diff: f64 = analytic
        .iter()
        .zip(&numeric)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = analytic.iter().map(|a| a * a).sum::<f64>().sqrt();
    let rel = diff / norm;
    println!("{statistic} {option:?} {layer_spec}: relative error {rel:.2e} over {count} pixels (|g| = {norm:.3e})");
    assert!(norm > 0.0, "gradient is zero");
    assert!(rel < 3e-2, "{layer_spec}: gradient relative error {rel}");
    // Per pixel too: no single pixel may be far off relative to the gradient's scale.
    let scale = analytic.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    for ((a, b), p) in analytic.iter().zip(&numeric).zip(&pixels) {
        assert!(
            (a - b).abs() < 0.05 * scale,
            "pixel {p}: analytic {a}, numeric {b}"
        );
    }
}

#[test]
fn gram_gradient_matches_finite_differences_all_13_layers() {
    check_gradient("gram", None, "all", 300, 11);
}

#[test]
fn gram_gradient_matches_finite_differences_truncated_models_and_norms() {
    // The shallow set runs in the model truncated after relu2_2; per-block after relu5_1.
    check_gradient("gram", None, "shallow", 100, 21);
    check_gradient("gram", Some(("gram-norm", "none")), "per-block", 100, 31);
}

#[test]
fn sorted_gradient_matches_finite_differences() {
    check_gradient("sorted", None, "per-block", 200, 41);
}

#[test]
fn sliced_gradient_matches_finite_differences() {
    check_gradient("sliced", None, "per-block", 200, 51);
}

#[test]
fn tileable_gradient_matches_finite_differences() {
    // Circular padding: the adjoint wraps around too, which pixels on the border exercise.
    check_gradient("gram.tile", None, "all", 200, 61);
    check_gradient("sliced.tile", None, "per-block", 100, 71);
}

#[test]
fn vgg19_gradient_matches_finite_differences() {
    check_gradient("gram.vgg19", None, "all", 200, 81);
    check_gradient("sorted.vgg19.tile", None, "per-block", 100, 91);
}
