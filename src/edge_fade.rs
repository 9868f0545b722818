//! Edge fade (`--edge-fade auto|off|OUTPUT,EXEMPLAR`): a texture's Gram statistics weigh the
//! feature positions near the image's edges less, the weight rising linearly from the edge to 1
//! over OUTPUT pixels in the output and EXEMPLAR pixels in the exemplar (the `gram.regions`
//! models with one region: G = F D Fᵀ / Σ D, D pooled to each layer as the network pools). The
//! "weighted valid-region Gram" of issue 24.
//!
//! Why (docs/quality.md, "Edge fade" and "Results that repeat their photo's edges"): next to
//! an edge a padded network sees something no interior position sees, and the exemplar's
//! statistics describe its own edges too. An output with edges copies them onto its own (bark's
//! photo has an orange strip along its left side and is in focus only on its right, and so
//! were its results); a tileable output (circular padding) has no edges and draws the
//! exemplar's mirrored edges inside instead, unless they fade. So `auto`, the default, fades the
//! exemplar's edges over AUTO_EXEMPLAR_RAMP pixels with --tile and nothing elsewhere: faded,
//! the targets lose the colours and focus of the exemplar's edges (bark's orange strip), which
//! have no place in a result without edges but show along a result's own edges otherwise.
//! Fading an output's edges leaves them smoother on every texture (pebbles 512x256: band detail
//! 0.98 -> 0.82), so no default does.

use std::fmt;
use std::str::FromStr;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::objective::RegionMaps;
use crate::regions::StageRegions;

/// Pixels, in each scale's own, over which the weights rise from the edges of the output and of
/// the exemplar (0: flat). Written as the command line writes it (`off`, `16,32`), in records
/// too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum EdgeFade {
    /// The exemplar's edges fade over AUTO_EXEMPLAR_RAMP pixels where the output has none
    /// (--tile, circular padding); else off.
    #[default]
    Auto,
    /// Every position counts the same (the paper's statistics).
    Off,
    Ramps {
        output: u32,
        exemplar: u32,
    },
}

/// The exemplar's ramp of `auto` (--tile): against none, the interior Gram distance of
/// tileable results fell on every texture measured (256²: bark 0.078 -> 0.039, pebbles 0.025
/// -> 0.020; docs/beyond_the_paper.md, "Tileable textures").
pub const AUTO_EXEMPLAR_RAMP: u32 = 32;

/// Longest ramp accepted: the network's reach at relu5_1 is 58 pixels on each side.
pub const MAX_RAMP: u32 = 128;

impl EdgeFade {
    /// (output, exemplar) ramps, pixels; None: off. `output_has_edges`: how `auto` resolves.
    pub fn ramps(self, output_has_edges: bool) -> Option<(u32, u32)> {
        match self {
            EdgeFade::Auto if output_has_edges => None,
            EdgeFade::Auto => Some((0, AUTO_EXEMPLAR_RAMP)),
            EdgeFade::Off => None,
            EdgeFade::Ramps { output, exemplar } => Some((output, exemplar)),
        }
    }

    /// What records from before the choice existed used.
    pub fn before_the_choice() -> EdgeFade {
        EdgeFade::Off
    }
}

impl fmt::Display for EdgeFade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeFade::Auto => write!(f, "auto"),
            EdgeFade::Off => write!(f, "off"),
            EdgeFade::Ramps { output, exemplar } => write!(f, "{output},{exemplar}"),
        }
    }
}

impl From<EdgeFade> for String {
    fn from(fade: EdgeFade) -> String {
        fade.to_string()
    }
}

impl TryFrom<String> for EdgeFade {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for EdgeFade {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => return Ok(EdgeFade::Auto),
            "off" => return Ok(EdgeFade::Off),
            _ => {}
        }
        let px = |v: &str| -> Result<u32, String> {
            match v.trim().parse::<u32>() {
                Ok(n) if n <= MAX_RAMP => Ok(n),
                _ => Err(format!(
                    "`{v}` is not a number of pixels from 0 to {MAX_RAMP}: write auto, off, \
                     or OUTPUT,EXEMPLAR pixels (e.g. 0,48)"
                )),
            }
        };
        let (output, exemplar) = s.split_once(',').unwrap_or((s, s));
        Ok(EdgeFade::Ramps {
            output: px(output)?,
            exemplar: px(exemplar)?,
        })
    }
}

/// One region's weights over a `width` x `height` image: 1 inside, falling linearly to the
/// edges over `ramp` pixels (the network's reach is in pixels, at every scale). Ramp 0: all
/// ones.
pub fn edge_weights(width: usize, height: usize, ramp: u32) -> RegionMaps {
    let fall = |d: usize| {
        if ramp == 0 {
            1.0
        } else {
            ((d as f32 + 0.5) / ramp as f32).min(1.0)
        }
    };
    Array3::from_shape_fn((1, height, width), |(_, y, x)| {
        fall(x.min(width - 1 - x)) * fall(y.min(height - 1 - y))
    })
}

/// The regions of one scale: the output's and the exemplar's weights.
pub fn stage_regions(
    (output, exemplar): (u32, u32),
    output_size: (usize, usize),
    exemplar_size: (usize, usize),
) -> StageRegions {
    StageRegions {
        output: edge_weights(output_size.0, output_size.1, output),
        exemplar: Some(edge_weights(exemplar_size.0, exemplar_size.1, exemplar)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_rise_from_the_edges_to_one() {
        let w = edge_weights(64, 48, 8);
        assert_eq!(w.dim(), (1, 48, 64));
        assert_eq!(w[[0, 24, 32]], 1.0);
        assert_eq!(w[[0, 24, 8]], 1.0);
        assert!((w[[0, 24, 0]] - 0.5 / 8.0).abs() < 1e-6);
        assert!((w[[0, 0, 0]] - (0.5f32 / 8.0).powi(2)).abs() < 1e-6);
        // Symmetric: the right and bottom edges fall as the left and top do.
        assert_eq!(w[[0, 24, 63]], w[[0, 24, 0]]);
        assert_eq!(w[[0, 47, 32]], w[[0, 0, 32]]);
        // Rising: each step in is heavier, up to the ramp.
        for x in 1..8 {
            assert!(w[[0, 24, x]] > w[[0, 24, x - 1]]);
        }
        assert!(edge_weights(16, 16, 0).iter().all(|&v| v == 1.0));
    }

    #[test]
    fn settings_parse_and_print_back() {
        for text in ["auto", "off", "16,32", "0,48"] {
            let fade: EdgeFade = text.parse().unwrap();
            assert_eq!(fade.to_string(), text);
        }
        assert_eq!(
            "12".parse::<EdgeFade>(),
            Ok(EdgeFade::Ramps {
                output: 12,
                exemplar: 12
            })
        );
        for bad in ["", "Auto", "-1", "16,", "x,3", "500", "16,32,8"] {
            let err = bad.parse::<EdgeFade>().unwrap_err();
            assert!(err.contains("write auto, off, or"), "{bad}: {err}");
        }
    }
}
