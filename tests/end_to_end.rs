//! End to end through the library builder, on a real example photo.

mod common;

use common::*;
use neurotex::init::Init;
use neurotex::{image_io, Synthesis};

#[test]
fn synthesis_lowers_the_loss_100x_and_approaches_the_exemplar_statistics() {
    let dir = scratch("e2e");
    let out = dir.join("nested/pebbles.png");
    let record = dir.join("run.json");
    let synthesis = Synthesis::builder()
        .exemplar(example("pebbles.png"))
        .output(&out)
        .record(&record)
        .size(64, 64)
        .iterations(100)
        .tolerance(0.0)
        .snapshot_every(50)
        .seed(1)
        // From white noise: the 100x below is measured from the paper's start.
        .init(Init::Noise)
        .build()
        .unwrap();
    assert_eq!(synthesis.layers().len(), 5, "default: one layer per block");
    let outcome = synthesis.run().unwrap();
    let ratio = outcome.initial_loss / outcome.best_loss;
    println!(
        "loss {:e} -> {:e} ({ratio:.0}x), distance {:.3} -> {:.4}, {} evaluations",
        outcome.initial_loss,
        outcome.best_loss,
        outcome.start_distance,
        outcome.final_distance,
        outcome.record.evaluations.len()
    );
    assert!(ratio >= 100.0, "loss fell only {ratio}x");
    assert!(outcome.final_distance < 0.5 * outcome.start_distance);
    assert!(
        outcome.image.iter().all(|v| (0.0..=1.0).contains(v)),
        "pixels in [0,1]"
    );

    // The PNG is the returned image, and snapshots were written beside it.
    let written = image_io::load_rgb(&out).unwrap().image;
    assert_eq!(written.dim(), (3, 64, 64));
    assert!(dir.join("nested/pebbles.iter0050.png").exists());
    assert!(dir.join("nested/pebbles.iter0100.png").exists());

    // The record has every evaluation, the checksums and the settings.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let evals = json["evaluations"].as_array().unwrap();
    assert_eq!(evals.len(), outcome.record.evaluations.len());
    assert!(evals.len() >= 100);
    assert_eq!(json["optimizer"]["max_iterations"], 100);
    assert_eq!(json["settings"]["seed"], 1);
    assert_eq!(json["settings"]["runtime"]["provider"], "cpu");
    assert_eq!(json["stop"]["reason"], "max-iterations");
    assert!(json["models"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["sha256"].as_str().unwrap().len() == 64));
    let first = evals[0]["loss"].as_f64().unwrap();
    assert!((first as f32 - outcome.initial_loss).abs() <= 1e-6 * outcome.initial_loss);
}

#[test]
fn same_seed_same_start_and_grayscale_exemplars_are_accepted() {
    let build = |seed| {
        Synthesis::builder()
            .exemplar(example("brick_gray.png"))
            .size(32, 48)
            .iterations(1)
            .seed(seed)
            .build()
            .unwrap()
    };
    let a = build(4);
    assert_eq!(a.start_image(), build(4).start_image());
    assert_ne!(a.start_image(), build(5).start_image());
    assert_eq!(a.size().to_string(), "32x48");
}

#[test]
fn match_colors_gives_the_exemplar_histogram() {
    use neurotex::metrics::color_distance;
    let run = |matched: bool| {
        let synthesis = Synthesis::builder()
            .exemplar(example("maple_leaves.png"))
            .size(64, 64)
            .iterations(15)
            .match_colors(matched)
            .build()
            .unwrap();
        let exemplar = synthesis.exemplar().clone();
        let outcome = synthesis.run().unwrap();
        assert_eq!(outcome.record.settings.match_colors, matched);
        color_distance(&outcome.image, &exemplar)
    };
    let (plain, matched) = (run(false), run(true));
    println!("colour distance: plain {plain:.4}, matched {matched:.4}");
    assert!(matched < 0.01 && matched < 0.5 * plain);
}

#[test]
fn exemplar_scale_changes_the_size_of_structures() {
    use neurotex::metrics::radial_power_spectrum;
    // Mean frequency of the luminance spectrum: higher when structures are smaller.
    let centroid = |scale: f32| {
        let synthesis = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(96, 96)
            .iterations(60)
            .exemplar_scale(scale)
            .build()
            .unwrap();
        if scale != 1.0 {
            assert!(synthesis.notices().iter().any(|n| n.contains("scaled by")));
        }
        let image = synthesis.run().unwrap().image;
        let spectrum = radial_power_spectrum(&image);
        spectrum
            .iter()
            .enumerate()
            .map(|(i, p)| i as f64 * p)
            .sum::<f64>()
    };
    let (native, half) = (centroid(1.0), centroid(0.5));
    println!("spectral centroid (band): scale 1 {native:.2}, scale 0.5 {half:.2}");
    assert!(
        half > native * 1.15,
        "halving the exemplar must make structures smaller"
    );
    let e = Synthesis::builder()
        .exemplar(example("pebbles.png"))
        .exemplar_scale(0.0)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--exemplar-scale"), "{e}");
}
