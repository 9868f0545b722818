//! The entry points fuzzed by fuzz/ (cargo fuzz, scripts/fuzz.sh), and replayed on the inputs
//! kept in tests/fuzz_regressions/ by `tests/fuzz_regressions.rs`. Each must return (an error is
//! fine) for any input: no panic, no unbounded allocation.

use std::path::Path;

use crate::layers::{parse_layers, LayerWeights};
use crate::manifest::Manifest;
use crate::optimizer::Solver;
use crate::runtime::{Precision, Provider};
use crate::settings::Size;

/// Bytes as an exemplar image file.
pub fn image_decode(data: &[u8]) {
    if let Ok(loaded) = crate::image_io::decode_rgb(data, Path::new("fuzz")) {
        let (c, h, w) = loaded.image.dim();
        assert!(c == 3 && h > 0 && w > 0);
    }
}

/// Bytes as manifest.json text.
pub fn manifest_parse(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Manifest::parse(text) {
            let _ = m.files();
            for v in m.variants.values() {
                let _ = parse_layers("per-block", &v.layers);
                let _ = v.grad_model_for(&v.layers);
            }
        }
    }
}

/// Bytes as the text of the CLI's parsed options.
pub fn cli_parsers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vgg16: Vec<String> = (1..=5)
        .flat_map(|b| (1..=if b < 3 { 2 } else { 3 }).map(move |c| format!("relu{b}_{c}")))
        .collect();
    let _ = Size::parse(text).map(|s| s.rounded_to(16));
    if let Ok(layers) = parse_layers(text, &vgg16) {
        if let Ok(w) = LayerWeights::parse(text) {
            let _ = w.clone();
        }
        assert!(!layers.is_empty());
    }
    let _ = LayerWeights::parse(text);
    let _ = text.parse::<Provider>();
    let _ = text.parse::<Precision>();
    let _ = Solver::parse(text, 20);
}
