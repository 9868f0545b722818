//! The same exemplar matched on different layer sets, side by side on one contact sheet:
//! shallow layers keep local detail, deep layers keep larger structures.
//!
//!     cargo run --release --example 02_layer_sets [EXEMPLAR]
//!
//! Writes out/examples/02_layer_sets.png: exemplar | shallow | per-block | all | deep.

use neurotex::{image_io, Synthesis};

fn main() -> neurotex::Result<()> {
    let exemplar = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/textures/bark_tree.png".into());
    let mut tiles = Vec::new();
    for layers in ["shallow", "per-block", "all", "deep"] {
        let synthesis = Synthesis::builder()
            .exemplar(&exemplar)
            .size(128, 128)
            .iterations(100)
            .layers(layers)
            .build()?;
        if tiles.is_empty() {
            tiles.push(image_io::resize(synthesis.exemplar(), 128, 128));
        }
        let outcome = synthesis.run()?;
        println!(
            "{layers:>9}: loss {:.3e} -> {:.3e}",
            outcome.initial_loss, outcome.best_loss
        );
        tiles.push(outcome.image);
    }
    let sheet = image_io::contact_sheet(&tiles.iter().collect::<Vec<_>>(), 6);
    image_io::save_png(
        &sheet,
        std::path::Path::new("out/examples/02_layer_sets.png"),
    )?;
    println!("out/examples/02_layer_sets.png");
    Ok(())
}
