//! `neurotex style`: a content image redrawn with an exemplar's style (src/style.rs), run like
//! `synth` (coarse-to-fine, progress, record, summary, the same output rules).

use std::path::PathBuf;

use clap::Args;
use neurotex::interrupt::Interrupts;
use neurotex::style::{DEFAULT_CONTENT_LAYERS, DEFAULT_CONTENT_WEIGHT};
use neurotex::{Blend, StyleTransfer, Synthesis};

use super::canvas::CanvasCommon;
use super::summary::Summary;
use super::terminal::Terminal;

pub const STYLE_EXAMPLES: &str = "\
Examples:
  neurotex style photo.png --style painting.png -o out/styled.png
  neurotex style photo.png --style painting.png --content-weight 100 -o out/more_style.png
  neurotex style photo.png --style painting.png --match-colors -o out/photo_colours.png
  neurotex style photo.png --style painting.png --init noise --size 512 -o out/from_noise.png
  neurotex style photo.png --style a.png --style b.png --mix 0.5,0.5 -o out/two_styles.png

The output has the content's size (or --size) and starts from the content. A larger
--content-weight keeps more of its shapes; a smaller one gives the style more room.
--match-colors keeps the content's colours.";

#[derive(Args)]
pub struct StyleArgs {
    /// The content image: its shapes are kept (the features at --content-layers).
    content: PathBuf,
    /// The style image: its statistics (--loss, --layers) are matched. Repeat it to blend
    /// several styles (--mix).
    #[arg(long, value_name = "STYLE.png", required = true)]
    style: Vec<PathBuf>,
    /// With several styles: their weights, in order, e.g. 0.3,0.7 (divided by their sum)
    /// [default: equal]
    #[arg(long, value_delimiter = ',', value_name = "W,W,..")]
    mix: Vec<f32>,
    /// Weight of the content term at each content layer (0 to 1e9), against style layer
    /// weights of 1.
    #[arg(long, default_value_t = DEFAULT_CONTENT_WEIGHT, value_name = "W")]
    content_weight: f32,
    /// Factor on every style layer's weight (0 to 1e9).
    #[arg(long, default_value_t = 1.0, value_name = "W")]
    style_weight: f32,
    /// Layers whose features are kept: relu names and/or presets, as --layers takes them.
    #[arg(long, default_value = DEFAULT_CONTENT_LAYERS, value_name = "LAYERS")]
    content_layers: String,
    #[command(flatten)]
    common: CanvasCommon,
}

impl StyleArgs {
    pub fn common(&mut self) -> &mut CanvasCommon {
        &mut self.common
    }
}

pub fn style(
    args: StyleArgs,
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    let transfer = StyleTransfer {
        content_weight: args.content_weight,
        style_weight: args.style_weight,
        content_layers: args.content_layers.clone(),
        ..StyleTransfer::load(&args.content)?
    };
    let (first, others) = args.style.split_first().expect("clap requires --style");
    let mut builder = Synthesis::builder()
        .settings(args.common.settings().clone())
        .exemplar(first)
        .style(transfer);
    if !others.is_empty() || !args.mix.is_empty() {
        builder = builder.blend(Blend::load(others, &args.mix)?);
    }
    args.common.run(builder, interrupts, term, summary)
}
