//! `neurotex measure`: results against their exemplar, by measures that need no network: the
//! outermost band against the interior (a frame shows as more detail or colour there), the
//! finest octave's share of the power against the exemplar's (speckle above 1, blur below),
//! the colour and spectrum distances. The exemplar is measured too, as the yardstick.

use std::path::PathBuf;

use clap::Args;
use neurotex::image_io;
use neurotex::manifest::{default_models_dir, ModelSet, Padding};
use neurotex::metrics::{self, BandRatios, Measures};
use neurotex::objective::GramMeter;
use neurotex::runtime::{Provider, SessionOptions};
use serde_json::json;

#[derive(Args)]
pub struct MeasureArgs {
    /// The exemplar the images were made from.
    #[arg(short, long)]
    exemplar: PathBuf,
    /// The images to measure.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Print one JSON object: per image its size and measures (each side's band included).
    #[arg(long)]
    json: bool,
    /// Also print each side's band against the interior (left, right, top, bottom): which edge
    /// a frame is on, or which of the exemplar's own edges a result repeats.
    #[arg(long)]
    sides: bool,
    /// The Gram meter's padding: zero (the network as trained) or reflect. On the whole image
    /// each tends to favour results made with its own padding (docs/quality.md).
    #[arg(long, value_enum, default_value_t = MeterPadding::Zero)]
    gram_padding: MeterPadding,
    /// Models folder, for the Gram distance [default: as `neurotex synth --models`]
    #[arg(long)]
    models: Option<PathBuf>,
}

/// The paddings a Gram meter can measure through (circular would see a seam in every exemplar).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MeterPadding {
    Zero,
    Reflect,
}

pub fn run(args: MeasureArgs) -> neurotex::Result<()> {
    let models = ModelSet::open(&args.models.unwrap_or_else(default_models_dir))?;
    let padding = match args.gram_padding {
        MeterPadding::Zero => Padding::Zero,
        MeterPadding::Reflect => Padding::Reflect,
    };
    let mut gram = GramMeter::open(&models, padding, SessionOptions::new(Provider::Cpu, 0))?;
    let exemplar = image_io::load_rgb(&args.exemplar)?.image;
    let target = gram.target(&exemplar)?;
    let interior_target = gram.target(&metrics::interior(&exemplar))?;
    let mut rows = Vec::new();
    for path in std::iter::once(&args.exemplar).chain(&args.images) {
        let image = image_io::load_rgb(path)?.image;
        let measures = metrics::measure(&image, &exemplar);
        let grams = [
            gram.distance(&image, &target)?,
            gram.distance(&metrics::interior(&image), &interior_target)?,
        ];
        rows.push((path.clone(), image.dim(), measures, grams));
    }
    if args.json {
        let images: Vec<_> = rows
            .iter()
            .map(|(path, (_, h, w), m, [g, gi])| {
                json!({"path": path, "width": w, "height": h, "measures": m,
                       "gram_distance": g, "interior_gram_distance": gi})
            })
            .collect();
        let object = json!({"exemplar": args.exemplar, "images": images});
        println!(
            "{}",
            serde_json::to_string_pretty(&object).expect("serialises")
        );
        return Ok(());
    }
    println!(
        "| image | size | band detail | band saturation | top octave | colour | spectrum | gram | interior gram |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (path, (_, h, w), m, [g, gi]) in &rows {
        println!(
            "| {} | {w}x{h} | {} | {g:.4} | {gi:.4} |",
            path.display(),
            cells(m)
        );
    }
    if args.sides {
        println!();
        println!("| image | detail L / R / T / B | saturation L / R / T / B |");
        println!("|---|---|---|");
        for (path, _, m, _) in &rows {
            let b = &m.border;
            let sides = [b.left, b.right, b.top, b.bottom];
            let join = |f: fn(&BandRatios) -> f64| {
                let values: Vec<String> = sides.iter().map(|s| format!("{:.2}", f(s))).collect();
                values.join(" / ")
            };
            println!(
                "| {} | {} | {} |",
                path.display(),
                join(|s| s.detail),
                join(|s| s.saturation)
            );
        }
    }
    Ok(())
}

fn cells(m: &Measures) -> String {
    format!(
        "{:.2} | {:.2} | {:.2} | {:.4} | {:.3}",
        m.border.detail, m.border.saturation, m.top_octave, m.color_distance, m.spectrum_distance
    )
}
