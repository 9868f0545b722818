//! Style transfer (Gatys, Ecker & Bethge 2016): the exemplar's statistics (the style) and a
//! content image's features at a few layers, matched together. The grad models of a `.content`
//! variant hold both terms; this module holds the content image and the content term's
//! settings, and gives each scale its targets.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::objective::{ContentTarget, Statistics};
use crate::step_inputs::StepValues;

/// The content term's layer by default: the paper's (conv4_2, after its ReLU).
pub const DEFAULT_CONTENT_LAYERS: &str = "relu4_2";

/// The content term's weight by default, against style layer weights of 1: the content's
/// shapes stay recognisable in the style's texture (1e3 loses a face at 256², docs/style.md).
pub const DEFAULT_CONTENT_WEIGHT: f32 = 1e4;

/// A run that starts from the content starts from it with its values squeezed into
/// [MARGIN, 1 − MARGIN]: the solver works on logits (x = sigmoid(u)), and a pixel at 0 or 1
/// (a black helmet, a white sky) would start where the sigmoid is flat, its gradient 1000x
/// smaller, and keep its colour whatever the style asks (docs/style.md).
pub const START_MARGIN: f32 = 0.05;

/// Largest content or style weight accepted.
pub const MAX_WEIGHT: f32 = 1e9;

/// A content image and how strongly its features are kept.
#[derive(Debug, Clone)]
pub struct StyleTransfer {
    /// The content image, [3, H, W] at its own size.
    pub content: Planar,
    /// Its file (None: given in memory). Never written to.
    pub content_path: Option<PathBuf>,
    /// The sha256 of its file's bytes (empty for an image given in memory).
    pub content_sha256: String,
    /// Weight of the content term at each of its layers.
    pub content_weight: f32,
    /// The content term's layers: relu names and/or presets, as `--layers` takes them.
    pub content_layers: String,
    /// Factor on every style layer's weight.
    pub style_weight: f32,
}

impl StyleTransfer {
    /// The content image read from `path`, with the default weights and layers.
    pub fn load(path: &std::path::Path) -> Result<StyleTransfer> {
        let loaded = image_io::load_rgb(path)?;
        Ok(StyleTransfer {
            content: loaded.image,
            content_path: Some(path.to_path_buf()),
            content_sha256: loaded.sha256,
            content_weight: DEFAULT_CONTENT_WEIGHT,
            content_layers: DEFAULT_CONTENT_LAYERS.into(),
            style_weight: 1.0,
        })
    }

    /// Width and height of the content image.
    pub fn content_size(&self) -> (u32, u32) {
        let (_, h, w) = self.content.dim();
        (w as u32, h as u32)
    }

    /// The weights checked: finite, not negative, not absurd.
    pub fn validate(&self) -> Result<()> {
        for (flag, w) in [
            ("--content-weight", self.content_weight),
            ("--style-weight", self.style_weight),
        ] {
            if !(0.0..=MAX_WEIGHT).contains(&w) {
                return Err(Error::InvalidSetting(format!(
                    "{flag} {w}: give a number from 0 to {MAX_WEIGHT:e}"
                )));
            }
        }
        if self.content_weight == 0.0 && self.style_weight == 0.0 {
            return Err(Error::InvalidSetting(
                "--content-weight and --style-weight are both 0: nothing to match".into(),
            ));
        }
        Ok(())
    }

    /// The content image at `width` x `height` (a scale of the run, or the output's size).
    pub fn content_at(&self, width: usize, height: usize) -> Planar {
        let (_, h, w) = self.content.dim();
        if (w, h) == (width, height) {
            self.content.clone()
        } else {
            image_io::resize(&self.content, width as u32, height as u32)
        }
    }

    /// Where a run from the content starts, at `width` x `height` (`START_MARGIN`).
    pub fn start_at(&self, width: usize, height: usize) -> Planar {
        self.content_at(width, height)
            .mapv(|v| START_MARGIN + (1.0 - 2.0 * START_MARGIN) * v)
    }

    /// The content term's targets at a scale of `width` x `height`: the content image's
    /// features there, at `layers`, each with the content weight.
    pub(crate) fn target_at(
        &self,
        statistics: &mut Statistics,
        layers: &[String],
        (width, height): (usize, usize),
        step: &StepValues,
    ) -> Result<ContentTarget> {
        let image = self.content_at(width, height);
        Ok(ContentTarget {
            features: statistics.features(&image, layers, step)?,
            weights: (layers.iter())
                .map(|l| (l.clone(), self.content_weight))
                .collect(),
        })
    }
}
