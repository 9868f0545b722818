//! A margin synthesised around the output and cropped off (`--margin auto|off|N`).
//!
//! Why (docs/quality.md, "A margin for large outputs"): an output with twice its exemplar's
//! side or more grows a thin frame of extra detail that its photo does not have (1024² from the
//! 256² maple_leaves: band detail 1.11, brick_gray 1.20; 512² brick_gray 1.11), and so does
//! every scale of its coarse-to-fine run (256² from the exemplar shrunk to 64², then 512² from
//! 128²), each carrying the coarser scale's frame up. Reflect padding took the zero-padded
//! network's frame out; what is left sits in the outer pixels of the image whatever the layers
//! or the exemplar's edge weights (measured: neither dropping relu4_1 and relu5_1 nor fading
//! the exemplar's edges removes it), so the run draws a little more image and the frame falls
//! in the part cut off. A padded network also tells an edge from the inside, so a result
//! repeats its photo's own edges along its own (bark_tree's orange left strip and sharp right
//! side at 512²: 1.17 / 1.28, with the margin 1.00 / 0.96); with a margin those fall outside too.
//! `auto` takes AUTO_MARGIN_AT_COARSEST pixels of the coarsest scale, which is the frame's width
//! there, doubled with each finer scale: 32 pixels per side at 512² and 1024² from 256² (27% and
//! 13% more pixels), where the output's edges are at most half the exemplar's share of its
//! pixels; none at 512x256 or at the exemplar's size, where a margin raised most interior Gram
//! distances (and at 512x256 left bark's edges less saturated than its inside).

use std::fmt;
use std::str::FromStr;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image_io::Planar;
use crate::settings::Size;

/// The margin, pixels per side at the coarsest scale, of `auto`.
pub const AUTO_MARGIN_AT_COARSEST: u32 = 8;

/// Largest margin accepted, pixels per side.
pub const MAX_MARGIN: u32 = 512;

/// Margins are whole multiples of this, so that the drawn image stays a multiple of 16.
pub const MARGIN_STEP: u32 = 8;

/// The margin as the command line gives it, written back the same way (`auto`, `off`, `32`),
/// in records too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Margin {
    /// A margin where the output's edges are at most half the exemplar's share of its pixels
    /// (512², 1024x512 and larger from 256²; see the module).
    #[default]
    Auto,
    /// Pixels per side at the full size (0: none, `off`).
    Pixels(u32),
}

impl Margin {
    /// What records from before the choice existed used.
    pub fn before_the_choice() -> Margin {
        Margin::Pixels(0)
    }

    /// Pixels per side for an output of `size` from an exemplar of `exemplar` (after
    /// --exemplar-scale) in `scales` coarse-to-fine scales. `plain`: a texture with edges (no
    /// --tile, fill, expansion, guides or style transfer, whose size something else decides);
    /// `auto` is none otherwise, and a number refused. A number is rounded up to MARGIN_STEP,
    /// with a notice.
    pub fn resolve(
        self,
        size: Size,
        exemplar: (u32, u32),
        scales: usize,
        plain: bool,
        notices: &mut Vec<String>,
    ) -> Result<u32> {
        match self {
            Margin::Auto => {
                let coarsest = AUTO_MARGIN_AT_COARSEST << (scales.max(1) - 1);
                let large = edges_at_most_half_the_share(size, exemplar);
                Ok(if plain && large { coarsest } else { 0 })
            }
            Margin::Pixels(0) => Ok(0),
            Margin::Pixels(_) if !plain => Err(Error::InvalidSetting(format!(
                "--margin {self}: a margin is drawn only around a texture with edges, not with \
                 --tile, a fill, an expansion, guides or a style transfer; leave it out"
            ))),
            Margin::Pixels(n) => {
                let rounded = n.div_ceil(MARGIN_STEP) * MARGIN_STEP;
                if rounded != n {
                    notices.push(format!(
                        "--margin {n} rounded to {rounded}: the drawn image must stay a \
                         multiple of 16"
                    ));
                }
                Ok(rounded)
            }
        }
    }
}

/// Whether the output's edges are at most half as large a share of its pixels as the
/// exemplar's edges are of its own: (w + h) / (w h) at most half the exemplar's, as at 512² or
/// 1024x512 from 256² (not 512x256: three quarters). Why this measure of size: the exemplar's
/// statistics hold its edges' features in the share its edges have, and the frame is the output
/// drawing them into its own, smaller, share; at 512x256 a margin cost 41% more pixels and
/// raised the interior Gram distance on most example textures (docs/quality.md).
fn edges_at_most_half_the_share(size: Size, exemplar: (u32, u32)) -> bool {
    let (w, h) = (u64::from(size.width), u64::from(size.height));
    let (ew, eh) = (u64::from(exemplar.0), u64::from(exemplar.1));
    2 * (w + h) * ew * eh <= (ew + eh) * w * h
}

impl fmt::Display for Margin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Margin::Auto => write!(f, "auto"),
            Margin::Pixels(0) => write!(f, "off"),
            Margin::Pixels(n) => write!(f, "{n}"),
        }
    }
}

impl From<Margin> for String {
    fn from(margin: Margin) -> String {
        margin.to_string()
    }
}

impl TryFrom<String> for Margin {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Margin {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(Margin::Auto),
            "off" => Ok(Margin::Pixels(0)),
            n => match n.parse::<u32>() {
                Ok(n) if n <= MAX_MARGIN => Ok(Margin::Pixels(n)),
                _ => Err(format!(
                    "`{s}` is not a margin: write auto, off, or pixels per side from 0 to \
                     {MAX_MARGIN} (e.g. 32)"
                )),
            },
        }
    }
}

/// Where the output lies in the image a run draws: a margin's centre, or a fill's or an
/// expansion's canvas's top-left part (src/canvas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Window {
    /// The output's part of `image`.
    pub fn crop(&self, image: &Planar) -> Planar {
        let (x, y) = (self.x, self.y);
        image
            .slice(ndarray::s![.., y..y + self.height, x..x + self.width])
            .to_owned()
    }

    /// A `drawn`-sized (width, height) image from an output-sized one (the image a resumed run
    /// wrote), what lies outside the window mirrored from it as reflect padding mirrors.
    pub fn uncrop(&self, image: &Planar, drawn: (usize, usize)) -> Result<Planar> {
        let (_, ih, iw) = image.dim();
        if (iw, ih) != (self.width, self.height) {
            return Err(Error::InvalidSetting(format!(
                "the image to continue from is {iw}x{ih}, the output {}x{}: they must match",
                self.width, self.height
            )));
        }
        let (x0, y0) = (self.x as isize, self.y as isize);
        Ok(Array3::from_shape_fn((3, drawn.1, drawn.0), |(c, y, x)| {
            image[[
                c,
                reflect(y as isize - y0, ih),
                reflect(x as isize - x0, iw),
            ]]
        }))
    }
}

/// Index `i` reflected into 0..n without repeating the edge pixel (as reflect padding does),
/// as often as it takes.
pub fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let i = i.rem_euclid(period);
    (if i < n as isize { i } else { period - i }) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(w: u32, h: u32) -> Size {
        Size {
            width: w,
            height: h,
        }
    }

    #[test]
    fn auto_draws_a_margin_where_the_output_has_half_the_exemplars_share_of_edges() {
        let mut notices = Vec::new();
        let mut auto = |s, scales| Margin::Auto.resolve(s, (256, 256), scales, true, &mut notices);
        assert_eq!(auto(size(1024, 1024), 3).unwrap(), 32);
        assert_eq!(auto(size(768, 768), 2).unwrap(), 16);
        assert_eq!(auto(size(512, 512), 3).unwrap(), 32);
        assert_eq!(auto(size(1024, 512), 3).unwrap(), 32);
        assert_eq!(auto(size(768, 384), 3).unwrap(), 32);
        // Edges three quarters (512x256) or five eighths (1024x256) of the exemplar's share.
        assert_eq!(auto(size(512, 256), 3).unwrap(), 0);
        assert_eq!(auto(size(1024, 256), 3).unwrap(), 0);
        assert_eq!(auto(size(496, 496), 3).unwrap(), 0);
        assert_eq!(auto(size(256, 256), 3).unwrap(), 0);
        let tile = Margin::Auto.resolve(size(1024, 1024), (256, 256), 3, false, &mut notices);
        assert_eq!(tile.unwrap(), 0);
        assert!(notices.is_empty());
    }

    #[test]
    fn a_number_is_rounded_to_the_step_and_refused_where_no_margin_applies() {
        let mut notices = Vec::new();
        let mut given = |n, plain| {
            Margin::Pixels(n).resolve(size(256, 256), (256, 256), 1, plain, &mut notices)
        };
        assert_eq!(given(20, true).unwrap(), 24);
        assert_eq!(given(0, false).unwrap(), 0);
        let refused = given(16, false).unwrap_err().to_string();
        assert!(refused.contains("--tile"), "{refused}");
        assert_eq!(notices.len(), 1, "{notices:?}");
    }

    #[test]
    fn settings_parse_and_print_back() {
        for text in ["auto", "off", "32"] {
            assert_eq!(text.parse::<Margin>().unwrap().to_string(), text);
        }
        assert_eq!("0".parse::<Margin>().unwrap(), Margin::Pixels(0));
        for bad in ["-8", "513", "wide", ""] {
            assert!(bad.parse::<Margin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        let row: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(row, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(reflect(5, 1), 0);
    }

    #[test]
    fn uncrop_mirrors_the_output_into_the_margin_and_crop_takes_it_back() {
        let out = Array3::from_shape_fn((3, 4, 5), |(c, y, x)| (c * 100 + y * 10 + x) as f32);
        let window = Window {
            x: 2,
            y: 2,
            width: 5,
            height: 4,
        };
        let drawn = window.uncrop(&out, (9, 8)).unwrap();
        assert_eq!(window.crop(&drawn), out);
        // Two rows and columns mirrored before the output: the drawn image's row 0 is the
        // output's row 2, column 0 its column 2; after it, row 7 (the output's 5th) its row 1.
        assert_eq!(drawn[[1, 0, 0]], out[[1, 2, 2]]);
        assert_eq!(drawn[[0, 7, 8]], out[[0, 1, 2]]);
        let wrong = Array3::zeros((3, 4, 4));
        assert!(window.uncrop(&wrong, (9, 8)).is_err());
    }
}
