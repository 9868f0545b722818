//! Regions the statistics are taken over (the `gram.regions` models): per-pixel weight maps of
//! the output and of the exemplar, at each scale of a run. They come from a canvas (src/canvas.rs:
//! a fill's holes, an expansion's border) or from guides: colour-coded maps of the exemplar and of
//! the output (Gatys et al. 2017's spatial control), whose same-coloured regions are matched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ndarray::Array3;

use crate::error::{Error, Result};
use crate::objective::RegionMaps;

/// Most colours a guide may have (the `gram.regions` models' `max`).
pub const MAX_GUIDE_COLOURS: usize = 8;

/// The regions of one scale.
#[derive(Debug, Clone)]
pub struct StageRegions {
    /// The output's, [K, h, w].
    pub output: RegionMaps,
    /// The exemplar's, [K, eh, ew]; None: one region, the whole exemplar.
    pub exemplar: Option<RegionMaps>,
}

/// Colour-coded guides: region k of the output gets the statistics of region k of the exemplar.
#[derive(Debug, Clone)]
pub struct Guides {
    /// One map per colour of the output's guide, at the exemplar's size, [K, H, W].
    pub exemplar: RegionMaps,
    /// The same colours' maps at the output guide's size.
    pub output: RegionMaps,
    /// The colours, in the order of the maps.
    pub colours: Vec<[u8; 3]>,
    /// The guide files (never written to).
    pub inputs: Vec<PathBuf>,
}

fn guide_error(path: &Path, reason: String) -> Error {
    Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    }
}

/// A guide's pixels, exactly as stored (8-bit RGB: colours are compared, not blended).
fn read_guide(path: &Path) -> Result<image::RgbImage> {
    // Checked like an exemplar (size, format, special files) before it is decoded.
    crate::image_io::load_rgb(path)?;
    let image = image::open(path).map_err(|e| guide_error(path, e.to_string()))?;
    Ok(image.to_rgb8())
}

fn colours_of(image: &image::RgbImage) -> BTreeSet<[u8; 3]> {
    image.pixels().map(|p| p.0).collect()
}

fn maps_of(image: &image::RgbImage, colours: &[[u8; 3]]) -> RegionMaps {
    let (w, h) = image.dimensions();
    Array3::from_shape_fn((colours.len(), h as usize, w as usize), |(k, y, x)| {
        if image.get_pixel(x as u32, y as u32).0 == colours[k] {
            1.0
        } else {
            0.0
        }
    })
}

impl Guides {
    /// Read the exemplar's and the output's guides. Every colour of the output's must be in the
    /// exemplar's, each guide has at most `max` colours, and the exemplar's guide has the
    /// exemplar's size (`exemplar_size`).
    pub fn load(
        exemplar_guide: &Path,
        output_guide: &Path,
        exemplar_size: (u32, u32),
        max: usize,
    ) -> Result<Guides> {
        let (ge, go) = (read_guide(exemplar_guide)?, read_guide(output_guide)?);
        if ge.dimensions() != exemplar_size {
            let (w, h) = ge.dimensions();
            return Err(guide_error(
                exemplar_guide,
                format!(
                    "the exemplar's guide is {w}x{h} and the exemplar {}x{}: they must be the \
                     same size",
                    exemplar_size.0, exemplar_size.1
                ),
            ));
        }
        let (ce, co) = (colours_of(&ge), colours_of(&go));
        for (path, colours) in [(exemplar_guide, &ce), (output_guide, &co)] {
            if colours.len() > max {
                return Err(guide_error(
                    path,
                    format!(
                        "{} colours, at most {max}: paint the regions in flat colours (no \
                         anti-aliasing, no JPEG)",
                        colours.len()
                    ),
                ));
            }
        }
        if let Some(c) = co.iter().find(|c| !ce.contains(*c)) {
            return Err(guide_error(
                output_guide,
                format!(
                    "the colour #{:02x}{:02x}{:02x} is not in the exemplar's guide ({}): each \
                     region of the output takes its texture from the same colour there",
                    c[0],
                    c[1],
                    c[2],
                    exemplar_guide.display()
                ),
            ));
        }
        let colours: Vec<[u8; 3]> = co.into_iter().collect();
        Ok(Guides {
            exemplar: maps_of(&ge, &colours),
            output: maps_of(&go, &colours),
            colours,
            inputs: vec![exemplar_guide.to_path_buf(), output_guide.to_path_buf()],
        })
    }

    /// The output guide's width and height.
    pub fn output_size(&self) -> (u32, u32) {
        let (_, h, w) = self.output.dim();
        (w as u32, h as u32)
    }

    /// The regions at an output of `size` and an exemplar of `exemplar` (width, height).
    pub fn at(&self, size: (usize, usize), exemplar: (usize, usize)) -> StageRegions {
        StageRegions {
            output: area_resize(&self.output, size.0, size.1),
            exemplar: Some(area_resize(&self.exemplar, exemplar.0, exemplar.1)),
        }
    }
}

/// Resize by averaging over each output pixel's footprint (fractional at its edges): what a
/// mask, a region map or a weighted image needs at a coarser scale (no overshoot, no ringing).
pub fn area_resize(image: &Array3<f32>, width: usize, height: usize) -> Array3<f32> {
    let (channels, h, w) = image.dim();
    if (w, h) == (width, height) {
        return image.clone();
    }
    // For each output index, (source index, weight) with weights summing to 1.
    let taps = |from: usize, to: usize| -> Vec<Vec<(usize, f32)>> {
        let ratio = from as f64 / to as f64;
        (0..to)
            .map(|i| {
                let (lo, hi) = (i as f64 * ratio, (i + 1) as f64 * ratio);
                (lo.floor() as usize..(hi.ceil() as usize).min(from))
                    .map(|j| {
                        let cover = (hi.min(j as f64 + 1.0) - lo.max(j as f64)) / ratio;
                        (j, cover as f32)
                    })
                    .collect()
            })
            .collect()
    };
    let (rows, cols) = (taps(h, height), taps(w, width));
    Array3::from_shape_fn((channels, height, width), |(c, y, x)| {
        rows[y]
            .iter()
            .map(|&(sy, wy)| {
                cols[x]
                    .iter()
                    .map(|&(sx, wx)| image[[c, sy, sx]] * wx)
                    .sum::<f32>()
                    * wy
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_keeps_the_mean_and_a_constant() {
        let image = Array3::from_shape_fn((3, 60, 100), |(c, y, x)| {
            ((x * 7 + y * 3 + c) % 17) as f32 / 16.0
        });
        let small = area_resize(&image, 48, 32);
        for c in 0..3 {
            let a = image.index_axis(ndarray::Axis(0), c).mean().unwrap();
            let b = small.index_axis(ndarray::Axis(0), c).mean().unwrap();
            assert!((a - b).abs() < 0.02, "{a} {b}");
        }
        let ones = area_resize(&Array3::ones((1, 50, 30)), 16, 16);
        assert!(ones.iter().all(|v| (v - 1.0).abs() < 1e-5));
    }
}
