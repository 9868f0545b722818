//! Style transfer and a blend of two styles with the library API: the astronaut photo drawn in
//! maple leaves, then in maple leaves and coffee beans at once.
//!
//!     cargo run --release --example 04_style_transfer
//!
//! Writes out/examples/04_leaves.png and out/examples/04_leaves_and_beans.png.

use std::path::PathBuf;

use neurotex::{Blend, StyleTransfer, Synthesis};

fn main() -> neurotex::Result<()> {
    let content = StyleTransfer {
        content_weight: 1e4, // larger keeps more of the photo, smaller gives the style room
        ..StyleTransfer::load("examples/textures/astronaut.png".as_ref())?
    };
    let runs = [
        ("out/examples/04_leaves.png", None),
        (
            "out/examples/04_leaves_and_beans.png",
            Some(Blend::load(
                &[PathBuf::from("examples/textures/coffee_beans.png")],
                &[0.6, 0.4],
            )?),
        ),
    ];
    for (output, blend) in runs {
        let mut builder = Synthesis::builder()
            .exemplar("examples/textures/maple_leaves.png")
            .style(content.clone())
            .output(output)
            .overwrite(true)
            .size(192, 192)
            .iterations(100);
        if let Some(blend) = blend {
            builder = builder.blend(blend);
        }
        let outcome = builder.build()?.run()?;
        println!(
            "{output}: loss {:.3e} -> {:.3e} ({})",
            outcome.initial_loss, outcome.best_loss, outcome.stop
        );
    }
    Ok(())
}
