//! `neurotex fill` and `neurotex expand`: a photo on a canvas (src/canvas.rs), synthesised where
//! it is free, run like `synth` (progress, record, summary, the same output rules).

use std::path::PathBuf;

use clap::Args;
use neurotex::canvas::load_mask;
use neurotex::image_io;
use neurotex::interrupt::Interrupts;
use neurotex::settings::Settings;
use neurotex::{Anchor, Batch, Canvas, Error, Synthesis, SynthesisBuilder};

use super::summary::Summary;
use super::terminal::Terminal;

pub const FILL_EXAMPLES: &str = "\
Examples:
  neurotex fill photo.png --mask holes.png -o out/filled.png
  neurotex fill examples/fill/wall.png --mask examples/fill/wall.mask.png -o out/wall.png
  neurotex fill photo.png --mask holes.png --exemplar other_texture.png -o out/filled.png

The mask has the photo's size: white where to synthesise, black where to keep. Every pixel
outside the holes is the photo's, exactly. A run with --record that was interrupted (Ctrl-C,
or killed) continues with `neurotex synth --resume RECORD.json`.";

pub const EXPAND_EXAMPLES: &str = "\
Examples:
  neurotex expand examples/textures/pebbles.png --by 64 -o out/wider.png
  neurotex expand pebbles.png --size 768x256 --anchor left -o out/strip.png
  neurotex expand pebbles.png --size 512 --tile -o out/tile.png     (the result tiles)

The photo's pixels are kept exactly; the new border is synthesised from the photo. A run with
--record that was interrupted continues with `neurotex synth --resume RECORD.json`.";

/// What fill, expand and style take besides their own options: where the result goes, and
/// the settings.
#[derive(Args)]
pub struct CanvasCommon {
    /// Output image (.png, .jpg, .webp, .tif); its folder is created.
    #[arg(short, long)]
    output: PathBuf,
    /// Write a JSON run record (settings, checksums, loss per evaluation, timings).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Replace existing files the run writes. Its inputs (photo, mask, content, style) are
    /// never written.
    #[arg(long)]
    overwrite: bool,
    /// Print one JSON object on stdout at the end (docs/json.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Args)]
pub struct FillArgs {
    /// The photo with holes to fill.
    photo: PathBuf,
    /// The mask: the photo's size, white where to synthesise.
    #[arg(long, value_name = "MASK.png")]
    mask: PathBuf,
    /// Take the statistics from this image instead of the photo's kept pixels.
    #[arg(long, value_name = "IMAGE")]
    exemplar: Option<PathBuf>,
    #[command(flatten)]
    common: CanvasCommon,
}

#[derive(Args)]
pub struct ExpandArgs {
    /// The photo to extend past its edges.
    photo: PathBuf,
    /// Add N pixels on every side (or give the output's --size).
    #[arg(long, value_name = "N", conflicts_with = "size")]
    by: Option<u32>,
    /// Where the photo sits in a larger --size.
    #[arg(long, value_enum, default_value = "center")]
    anchor: Anchor,
    #[command(flatten)]
    common: CanvasCommon,
}

impl FillArgs {
    pub fn common(&mut self) -> &mut CanvasCommon {
        &mut self.common
    }
}

impl ExpandArgs {
    pub fn common(&mut self) -> &mut CanvasCommon {
        &mut self.common
    }
}

impl CanvasCommon {
    /// The settings, after a `--quality` preset given on the command line; and `--json`.
    pub fn prepare(&mut self, matches: &clap::ArgMatches, command: &str) -> bool {
        super::apply_quality(matches, command, &mut self.settings);
        self.json
    }
}

/// Options of `synth` that a canvas decides itself.
fn refuse(settings: &Settings, command: &str) -> neurotex::Result<()> {
    let refused = [
        ("--match-colors", settings.match_colors),
        ("--exemplar-scale", settings.exemplar_scale != 1.0),
    ];
    if let Some((flag, _)) = refused.iter().find(|(_, given)| *given) {
        return Err(Error::InvalidSetting(format!(
            "{command} keeps the photo's pixels and takes the statistics at the photo's scale: \
             {flag} does not apply"
        )));
    }
    Ok(())
}

pub fn fill(
    args: FillArgs,
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    let common = &args.common;
    refuse(&common.settings, "fill")?;
    if let Some(size) = common.settings.size {
        return Err(Error::InvalidSetting(format!(
            "fill writes an image of the photo's size: --size {size} does not apply (use \
             `neurotex expand` for a larger one)"
        )));
    }
    if common.settings.tile {
        return Err(Error::InvalidSetting(
            "fill keeps the photo's edges, which do not wrap around: --tile does not apply \
             (`neurotex expand --tile` makes a tileable image from a photo)"
                .into(),
        ));
    }
    let photo = image_io::load_rgb(&args.photo)?.image;
    let mask = load_mask(&args.mask)?;
    let inputs = vec![args.photo.clone(), args.mask.clone()];
    let canvas = Canvas::fill(photo, mask, args.exemplar.is_none(), inputs)?;
    let exemplar = args.exemplar.as_ref().unwrap_or(&args.photo);
    run(canvas, exemplar, common, interrupts, term, summary)
}

pub fn expand(
    args: ExpandArgs,
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    let common = &args.common;
    refuse(&common.settings, "expand")?;
    let photo = image_io::load_rgb(&args.photo)?.image;
    let (_, h, w) = photo.dim();
    let size = match (args.by, common.settings.size) {
        (Some(by), _) => (w + 2 * by as usize, h + 2 * by as usize),
        (None, Some(size)) => (size.width as usize, size.height as usize),
        (None, None) => {
            return Err(Error::InvalidSetting(
                "expand needs --by N (pixels added on every side) or --size WxH".into(),
            ))
        }
    };
    let canvas = Canvas::expand(
        photo,
        size,
        args.anchor,
        common.settings.tile,
        vec![args.photo.clone()],
    )?;
    if canvas.output != size {
        let (w, h) = canvas.output;
        term.notices(&[format!(
            "--tile: the output is {w}x{h}, whole 16-pixel tiles (a cropped torus would not tile)"
        )]);
    }
    run(canvas, &args.photo, common, interrupts, term, summary)
}

fn run(
    canvas: Canvas,
    exemplar: &PathBuf,
    common: &CanvasCommon,
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    let mut settings = common.settings.clone();
    // The canvas decides the size (the photo's, or expand's, up to a multiple of 16).
    settings.size = None;
    let builder = Synthesis::builder()
        .settings(settings)
        .exemplar(exemplar)
        .canvas(canvas);
    common.run(builder, interrupts, term, summary)
}

impl CanvasCommon {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Run `builder` (inputs and settings given), writing where these options say.
    pub fn run(
        &self,
        builder: SynthesisBuilder,
        interrupts: &Interrupts,
        term: &Terminal,
        summary: &mut Summary,
    ) -> neurotex::Result<()> {
        let mut builder = builder
            .output(&self.output)
            .overwrite(self.overwrite)
            .cancel_flag(interrupts.cancel.clone());
        if let Some(record) = &self.record {
            builder = builder.record(record);
        }
        super::run_batch(Batch::new(builder, 1)?, false, self.json, term, summary)
    }
}
