//! A golden run: any change to the maths (graphs, objective, solver, schedule) shows here. A
//! fixed seed, one thread, 64², single-scale and coarse-to-fine with the passes, a fixed number
//! of iterations: the loss after every iteration and the output image must match the stored
//! ones within the tolerances below, which cover what differs between CPUs (ONNX Runtime picks
//! AVX2 or AVX-512 kernels, which round differently) and nothing more.
//!
//! After a deliberate change to the maths, store new values with
//! `NEUROTEX_BLESS=1 cargo test --release --test golden` and say why in the commit.

mod common;

use std::path::PathBuf;

use common::*;
use neurotex::image_io;
use neurotex::init::Init;
use neurotex::Synthesis;

/// Largest relative difference of any iteration's loss from the stored trajectory.
const LOSS_TOLERANCE: f64 = 0.02;
/// Largest mean absolute difference of the output from the stored one, in 8-bit levels.
const IMAGE_TOLERANCE: f64 = 2.0;

fn golden(name: &str) -> PathBuf {
    repo().join("tests/golden").join(name)
}

/// Run `name`'s settings, compare with (or, when blessing, store) its losses and image.
fn check(name: &str, scales: usize, init: Init) {
    let dir = scratch(&format!("golden-{name}"));
    let out = dir.join("out.png");
    let outcome = Synthesis::builder()
        .exemplar(example("pebbles.png"))
        .output(&out)
        .size(64, 64)
        .scales(scales)
        .init(init)
        .iterations(12)
        .tolerance(0.0)
        .threads(1)
        .seed(3)
        .build()
        .unwrap()
        .run()
        .unwrap();
    let losses: Vec<f64> = outcome
        .record
        .iterations
        .iter()
        .map(|i| i.loss as f64)
        .collect();
    let (losses_file, image_file) = (
        golden(&format!("{name}.losses.json")),
        golden(&format!("{name}.png")),
    );
    if std::env::var_os("NEUROTEX_BLESS").is_some() {
        std::fs::create_dir_all(repo().join("tests/golden")).unwrap();
        std::fs::write(&losses_file, serde_json::to_string_pretty(&losses).unwrap()).unwrap();
        std::fs::copy(&out, &image_file).unwrap();
        println!("stored {} losses and the image of {name}", losses.len());
        return;
    }
    let stored: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(&losses_file).unwrap()).unwrap();
    assert_eq!(losses.len(), stored.len(), "{name}: iterations {losses:?}");
    let worst = losses
        .iter()
        .zip(&stored)
        .map(|(a, b)| (a - b).abs() / b.abs())
        .fold(0.0, f64::max);
    println!("{name}: largest relative loss difference {worst:.2e}");
    assert!(
        worst <= LOSS_TOLERANCE,
        "{name}: losses {losses:?}\nstored {stored:?}"
    );
    let image = image_io::load_rgb(&out).unwrap().image;
    let expected = image_io::load_rgb(&image_file).unwrap().image;
    let levels = (&image - &expected).mapv(f32::abs).mean().unwrap() as f64 * 255.0;
    println!("{name}: mean image difference {levels:.3} levels");
    assert!(levels <= IMAGE_TOLERANCE, "{name}: {levels} levels");
}

#[test]
fn single_scale_from_noise_matches_the_stored_run() {
    check("single_scale", 1, Init::Noise);
}

#[test]
fn coarse_to_fine_from_the_spectrum_matches_the_stored_run() {
    check("two_scales_spectrum", 2, Init::Spectrum);
}
