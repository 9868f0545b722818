//! How coarse-to-fine carries a coarse scale's result up to the next scale.
//!
//! - `bilinear`: keeps the arrangement and nothing finer than the coarse scale had. Right after
//!   it the full-size loss is dominated by relu2_1 and relu3_1 (pebbles at 256²: 2.6e8), which
//!   the solver then spends most of the last scale restoring.
//! - `example` (the default): example-based upsampling, as in example-based super-resolution
//!   (Freeman, Jones & Pasztor 2002) and the multi-scale step of patch-based texture synthesis.
//!   Each pixel of the coarse result is matched to the place in the exemplar at the coarse scale
//!   whose 5x5 neighbourhood is closest; the next scale's exemplar around that place supplies
//!   the detail, blended between neighbouring matches with tent (bilinear) weights. The
//!   arrangement stays the coarse result's; the detail is the exemplar's at the resolution the
//!   next scale matches. Measured in docs/coarse_to_fine.md.
//!
//! The matching is a brute-force nearest-neighbour search written as matrix products
//! (|q - c|² = |q|² - 2 q·c + |c|², |q|² being the same for every candidate), over at most
//! `MAX_CANDIDATES` exemplar places (evenly strided on larger exemplars), in blocks of queries
//! on every core. On 2 cores: 1.2 s for 128² → 256², 13 s for 512² → 1024² (2–3 evaluations'
//! worth at either size).

use ndarray::{Array2, Array3, Axis};
use rayon::prelude::*;

use crate::image_io::{self, Planar};

/// How a coarse scale's result becomes the next scale's start.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    Default,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Upsampling {
    /// Bilinear interpolation.
    Bilinear,
    /// Detail from the exemplar, placed by matching neighbourhoods at the coarse scale.
    #[default]
    Example,
}

impl Upsampling {
    pub fn name(&self) -> &'static str {
        match self {
            Upsampling::Bilinear => "bilinear",
            Upsampling::Example => "example",
        }
    }

    /// `coarse` (the result at the coarse scale, whose exemplar there is `coarse_exemplar`)
    /// carried up to `width` x `height`, the next scale, whose exemplar is `fine_exemplar`.
    /// `wrap`: the image is periodic (tileable output).
    pub fn carry_up(
        self,
        coarse: &Planar,
        coarse_exemplar: &Planar,
        fine_exemplar: &Planar,
        (width, height): (u32, u32),
        wrap: bool,
    ) -> Planar {
        match self {
            Upsampling::Bilinear => image_io::upsample(coarse, width, height, wrap),
            Upsampling::Example => by_example(
                coarse,
                coarse_exemplar,
                fine_exemplar,
                (width as usize, height as usize),
                wrap,
            ),
        }
    }
}

/// Half the side of the matched neighbourhoods (5x5: 75 numbers per place). 7x7 costs twice as
/// much and was no better (pebbles, cost to the quality target: 80.4 against 79.0).
const RADIUS: isize = 2;

/// Most exemplar places searched: the search costs queries x candidates x 75 x 2 FLOP.
const MAX_CANDIDATES: usize = 16384;

/// Queries per block of the search (a block's distances are BLOCK x candidates floats).
const BLOCK: usize = 512;

/// The neighbourhoods of `points` in `image`, one row each. Outside the image: wrapped around
/// (periodic) or the nearest edge pixel.
fn neighbourhoods(image: &Planar, points: &[(usize, usize)], wrap: bool) -> Array2<f32> {
    let (channels, h, w) = image.dim();
    let side = (2 * RADIUS + 1) as usize;
    let at = |v: isize, n: usize| image_io::edge_index(v, n, wrap);
    let mut rows = Array2::<f32>::zeros((points.len(), channels * side * side));
    for (mut row, &(y, x)) in rows.axis_iter_mut(Axis(0)).zip(points) {
        let mut k = 0;
        for c in 0..channels {
            for dy in -RADIUS..=RADIUS {
                for dx in -RADIUS..=RADIUS {
                    row[k] = image[[c, at(y as isize + dy, h), at(x as isize + dx, w)]];
                    k += 1;
                }
            }
        }
    }
    rows
}

/// Places of `image` whose neighbourhood lies inside it, evenly strided down to at most
/// MAX_CANDIDATES.
fn candidate_places(image: &Planar) -> Vec<(usize, usize)> {
    let (_, h, w) = image.dim();
    let r = RADIUS as usize;
    let inside = (h - 2 * r) * (w - 2 * r);
    let stride = ((inside as f64 / MAX_CANDIDATES as f64).sqrt().ceil() as usize).max(1);
    (r..h - r)
        .step_by(stride)
        .flat_map(|y| (r..w - r).step_by(stride).map(move |x| (y, x)))
        .collect()
}

/// For every pixel of `coarse` (row-major), the index of the candidate whose neighbourhood is
/// nearest (the first of equals).
fn nearest(coarse: &Planar, candidates: &Array2<f32>, wrap: bool) -> Vec<usize> {
    let (_, h, w) = coarse.dim();
    let norms: Vec<f32> = candidates.rows().into_iter().map(|c| c.dot(&c)).collect();
    let transposed = candidates.t();
    let pixels: Vec<(usize, usize)> = (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).collect();
    pixels
        .par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let products = neighbourhoods(coarse, block, wrap).dot(&transposed);
            products
                .rows()
                .into_iter()
                .map(|row| {
                    let mut best = (f32::INFINITY, 0);
                    for (j, (&p, &n)) in row.iter().zip(&norms).enumerate() {
                        let distance = n - 2.0 * p;
                        if distance < best.0 {
                            best = (distance, j);
                        }
                    }
                    best.1
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Example-based upsampling of `coarse` to `width` x `height` (see the module's comment).
fn by_example(
    coarse: &Planar,
    coarse_exemplar: &Planar,
    fine_exemplar: &Planar,
    (width, height): (usize, usize),
    wrap: bool,
) -> Planar {
    let (_, ch, cw) = coarse.dim();
    let (_, eh, ew) = coarse_exemplar.dim();
    let (_, fh, fw) = fine_exemplar.dim();
    let places = candidate_places(coarse_exemplar);
    let matches = nearest(
        coarse,
        &neighbourhoods(coarse_exemplar, &places, false),
        wrap,
    );
    // Pixel centres in continuous coordinates: coarse pixel i sits at (i + 0.5) * ratio - 0.5
    // on the fine grid. Each coarse pixel lends its match's fine neighbourhood to the fine
    // pixels within one coarse pixel of it, weighted by a tent, so that every fine pixel blends
    // its nearest coarse pixels' matches exactly as bilinear interpolation blends their values.
    let (ry, rx) = (height as f32 / ch as f32, width as f32 / cw as f32);
    let (sy, sx) = (fh as f32 / eh as f32, fw as f32 / ew as f32);
    let centre = |i: usize, ratio: f32| (i as f32 + 0.5) * ratio - 0.5;
    // A fine coordinate inside the image, or None off its edge (not periodic).
    let target = |v: isize, n: usize| -> Option<usize> {
        if wrap {
            Some(v.rem_euclid(n as isize) as usize)
        } else {
            (0..n as isize).contains(&v).then_some(v as usize)
        }
    };
    let mut sum = Array3::<f32>::zeros((3, height, width));
    let mut weight = Array2::<f32>::zeros((height, width));
    for (k, &m) in matches.iter().enumerate() {
        let (i, j) = (k / cw, k % cw);
        let (a, b) = places[m];
        let (py, px) = (centre(i, ry), centre(j, rx));
        // Where the fine exemplar's pixels come from, relative to the fine output's.
        let (dy, dx) = (centre(a, sy) - py, centre(b, sx) - px);
        for y in (py - ry).ceil() as isize..=(py + ry).floor() as isize {
            let wy = 1.0 - (y as f32 - py).abs() / ry;
            let Some(ty) = target(y, height).filter(|_| wy > 0.0) else {
                continue;
            };
            let from_y = ((y as f32 + dy).round() as isize).clamp(0, fh as isize - 1) as usize;
            for x in (px - rx).ceil() as isize..=(px + rx).floor() as isize {
                let wx = 1.0 - (x as f32 - px).abs() / rx;
                let Some(tx) = target(x, width).filter(|_| wx > 0.0) else {
                    continue;
                };
                let from_x = ((x as f32 + dx).round() as isize).clamp(0, fw as isize - 1) as usize;
                for c in 0..3 {
                    sum[[c, ty, tx]] += wy * wx * fine_exemplar[[c, from_y, from_x]];
                }
                weight[[ty, tx]] += wy * wx;
            }
        }
    }
    for mut plane in sum.axis_iter_mut(Axis(0)) {
        plane.zip_mut_with(&weight, |v, &w| *v /= w.max(f32::MIN_POSITIVE));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// A smooth, non-repeating test image (no two 5x5 neighbourhoods alike).
    fn pattern(h: usize, w: usize) -> Planar {
        Array3::from_shape_fn((3, h, w), |(c, y, x)| {
            let (y, x) = (y as f32, x as f32);
            0.5 + 0.2 * ((0.37 + 0.1 * c as f32) * x + 0.23 * y).sin()
                + 0.2 * (0.11 * x * x / w as f32 + 0.31 * y + c as f32).cos()
        })
    }

    #[test]
    fn the_exemplars_own_reduction_comes_back_as_the_exemplar() {
        let fine = pattern(64, 48);
        let coarse = image_io::resize(&fine, 24, 32);
        let up = Upsampling::Example.carry_up(&coarse, &coarse, &fine, (48, 64), false);
        // Every coarse pixel matches itself, so each fine pixel is the exemplar's own (away
        // from the border, whose places are not candidates).
        let (b, mut worst) = (8, 0f32);
        for c in 0..3 {
            for y in b..64 - b {
                for x in b..48 - b {
                    worst = worst.max((up[[c, y, x]] - fine[[c, y, x]]).abs());
                }
            }
        }
        assert!(worst < 1e-5, "largest difference inside: {worst}");
    }

    #[test]
    fn periodic_upsampling_moves_with_its_input() {
        let fine = pattern(48, 48);
        let exemplar = image_io::resize(&fine, 24, 24);
        let coarse = Array3::from_shape_fn((3, 16, 16), |(c, y, x)| {
            exemplar[[c, (3 * y + x) % 24, (y + 2 * x) % 24]]
        });
        let shifted = Array3::from_shape_fn((3, 16, 16), |(c, y, x)| {
            coarse[[c, (y + 16 - 3) % 16, (x + 16 - 5) % 16]]
        });
        let up = Upsampling::Example.carry_up(&coarse, &exemplar, &fine, (32, 32), true);
        let up_shifted = Upsampling::Example.carry_up(&shifted, &exemplar, &fine, (32, 32), true);
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    let moved = up[[c, (y + 32 - 6) % 32, (x + 32 - 10) % 32]];
                    assert!(
                        (up_shifted[[c, y, x]] - moved).abs() < 1e-5,
                        "at {c},{y},{x}"
                    );
                }
            }
        }
    }

    #[test]
    fn output_has_the_size_asked_and_only_exemplar_colours_blended() {
        let fine = pattern(40, 40);
        let exemplar = image_io::resize(&fine, 20, 20);
        let coarse = pattern(13, 17);
        let up = Upsampling::Example.carry_up(&coarse, &exemplar, &fine, (34, 26), false);
        assert_eq!(up.dim(), (3, 26, 34));
        // A blend of exemplar pixels stays within the exemplar's range per channel.
        for c in 0..3 {
            let plane = fine.index_axis(Axis(0), c);
            let lo = plane.fold(f32::INFINITY, |a, &v| a.min(v));
            let hi = plane.fold(f32::NEG_INFINITY, |a, &v| a.max(v));
            for &v in up.index_axis(Axis(0), c) {
                assert!(v >= lo - 1e-5 && v <= hi + 1e-5, "{v} outside [{lo}, {hi}]");
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        use clap::ValueEnum;
        for v in Upsampling::value_variants() {
            assert_eq!(Upsampling::from_str(v.name(), false).unwrap(), *v);
        }
        assert!(Upsampling::from_str("lanczos", false).is_err());
    }
}
