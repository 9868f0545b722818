//! Edge fade: the Gram statistics of a texture weigh the feature positions near the image's
//! edges less, rising linearly from the edge to full weight some pixels in (the `gram.regions`
//! models with one region: G = F D Fᵀ / Σ D, D pooled to each layer as the network pools).
//!
//! Why (docs/quality.md, "The frame"): with reflect padding a feature next to an edge sees the
//! image mirrored there, something no interior position sees. In the exemplar those positions
//! describe its edges, not the texture (bark's photo has an orange strip along its left edge,
//! and its outputs grew the same strip along theirs); in the output they are where the optimiser
//! can buy the exemplar's statistics cheapest, and the edges came out busier than the inside
//! (bark 512x256, band detail 1.18-1.21 on three seeds). Fading the output's statistics over
//! 16 pixels and the exemplar's over 32 brought bark to 1.00 / 1.11, the detail within 2% on
//! every texture, without changing what the interior matches.

use std::fmt;
use std::str::FromStr;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::objective::RegionMaps;
use crate::regions::StageRegions;

/// How far in from the edges the statistics' weights rise, in pixels of each scale.
/// Written as the command line writes it (`auto`, `off`, `16,32`), in records too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum EdgeFade {
    /// The measured default (`DEFAULT_RAMPS`) where the run can have it: a texture with the
    /// Gram statistic and edges (not `--tile`); off otherwise.
    Auto,
    /// Every position counts the same (the paper's statistics).
    Off,
    /// The output's weights rise over `output` pixels, the exemplar's over `exemplar` (0: flat).
    Ramps { output: u32, exemplar: u32 },
}

/// `auto`'s ramps, (output, exemplar) pixels: measured on the seven example textures
/// (docs/quality.md).
pub const DEFAULT_RAMPS: (u32, u32) = (16, 32);

/// Longest ramp accepted: the network's reach at relu5_1 is 58 pixels on each side.
pub const MAX_RAMP: u32 = 128;

impl EdgeFade {
    /// What records from before the edge fade existed used.
    pub fn before_the_choice() -> EdgeFade {
        EdgeFade::Off
    }

    /// (output, exemplar) ramps, pixels; None: off. `auto` is resolved by the builder first.
    pub fn ramps(self) -> Option<(u32, u32)> {
        match self {
            EdgeFade::Auto => Some(DEFAULT_RAMPS),
            EdgeFade::Off => None,
            EdgeFade::Ramps { output, exemplar } => Some((output, exemplar)),
        }
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
                    "`{v}` is not a number of pixels from 0 to {MAX_RAMP}: write auto, off, or \
                     OUTPUT,EXEMPLAR pixels (e.g. 16,32)"
                )),
            }
        };
        match s.split_once(',') {
            Some((output, exemplar)) => Ok(EdgeFade::Ramps {
                output: px(output)?,
                exemplar: px(exemplar)?,
            }),
            None => {
                let n = px(s)?;
                Ok(EdgeFade::Ramps {
                    output: n,
                    exemplar: n,
                })
            }
        }
    }
}

/// One region's weights over a `width` x `height` image: 1 inside, falling linearly to the
/// edges over `ramp` pixels, in every scale's own pixels (the network's reach is in pixels).
/// Ramp 0: all ones.
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
        for bad in ["", "-1", "16,", "x,3", "500", "16,32,8"] {
            let err = bad.parse::<EdgeFade>().unwrap_err();
            assert!(err.contains("auto, off"), "{bad}: {err}");
        }
    }
}
