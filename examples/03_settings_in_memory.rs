//! A tileable texture from an image in memory, with settings written as the command line takes
//! them, returned as an image; the files and the claim are the program's business.
//!
//!     cargo run --release --example 03_settings_in_memory
//!
//! Writes out/examples/03_bark_tile.png and its 2x2 tiling, out/examples/03_bark_2x2.png.

use neurotex::{Settings, Synthesis};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let photo = image::open("examples/textures/bark_tree.png")?;
    // Every option is a field of Settings; its defaults are the command line's.
    let settings = Settings {
        iterations: 120,
        tile: true,
        seed: 3,
        ..Settings::default()
    };
    let outcome = Synthesis::builder()
        .settings(settings)
        .exemplar_image(&photo)
        .size(192, 192)
        .build()?
        .run_with_events(|event| {
            if let neurotex::Event::Iteration(p) = event {
                if p.iteration % 20 == 0 {
                    eprintln!(
                        "scale {} iteration {:>3}: loss {:.3e}",
                        p.scale, p.iteration, p.loss
                    );
                }
            }
        })?;
    let texture = outcome.rgb_image();
    std::fs::create_dir_all("out/examples")?;
    texture.save("out/examples/03_bark_tile.png")?;
    // Tiled 2x2: no seams, the texture wraps around.
    let (w, h) = texture.dimensions();
    let tiled = image::RgbImage::from_fn(2 * w, 2 * h, |x, y| *texture.get_pixel(x % w, y % h));
    tiled.save("out/examples/03_bark_2x2.png")?;
    println!(
        "loss {:.3e} -> {:.3e} ({}), wrote out/examples/03_bark_tile.png",
        outcome.initial_loss, outcome.best_loss, outcome.stop
    );
    Ok(())
}
