//! Shared helpers for the integration tests: the real models, ONNX Runtime and example photos.
#![allow(dead_code)]

pub mod cli;
pub mod quadratic;
pub mod schema;

use std::path::PathBuf;

use neurotex::image_io::{self, Planar};
use neurotex::manifest::ModelSet;
use neurotex::runtime::{Provider, SessionOptions};
use rand::{Rng, SeedableRng};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn models() -> ModelSet {
    ModelSet::open(&repo().join("models")).expect("models exported: run scripts/setup.sh")
}

pub fn cpu() -> SessionOptions {
    SessionOptions::new(Provider::Cpu, 0)
}

pub fn example(name: &str) -> PathBuf {
    repo().join("examples/textures").join(name)
}

/// A real example photo, resized to `size` x `size`.
pub fn example_image(name: &str, size: u32) -> Planar {
    let img = image_io::load_rgb(&example(name)).unwrap().image;
    image_io::resize(&img, size, size)
}

pub fn random_image(size: usize, seed: u64) -> Planar {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Planar::from_shape_simple_fn((3, size, size), || rng.random::<f32>())
}

/// A fresh scratch folder under the target dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = repo()
        .join("target/test-scratch")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
