//! Synthesise a texture from the bundled pebbles photo with the library API.
//!
//!     cargo run --release --example 01_gram_texture
//!
//! Writes out/examples/01_pebbles.png (and a contact sheet exemplar | result beside it).

use neurotex::{image_io, Synthesis};

fn main() -> neurotex::Result<()> {
    let synthesis = Synthesis::builder()
        .exemplar("examples/textures/pebbles.png")
        .output("out/examples/01_pebbles.png")
        .overwrite(true)
        .size(192, 192)
        .iterations(150)
        .layers("per-block")
        .seed(1)
        .build()?; // every check happens here: image, size, layers, models, provider, output
    let exemplar = synthesis.exemplar().clone();
    let outcome = synthesis.run_with_progress(|p| {
        if p.iteration % 25 == 0 {
            eprintln!("iteration {:>3}: loss {:.3e}", p.iteration, p.loss);
        }
    })?;
    println!(
        "loss {:.3e} -> {:.3e}, statistic distance {:.3} -> {:.4} ({})",
        outcome.initial_loss,
        outcome.best_loss,
        outcome.start_distance,
        outcome.final_distance,
        outcome.stop
    );
    let sheet = image_io::contact_sheet(&[&exemplar, &outcome.image], 8);
    image_io::save_png(&sheet, std::path::Path::new("out/examples/01_sheet.png"))?;
    Ok(())
}
