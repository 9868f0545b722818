//! Distances between an image and the exemplar that do not depend on the statistic optimised,
//! so that results of different variants, layers and weights can be compared on one scale.

use ndarray::Array3;
use rustfft::num_complex::Complex;

use crate::image_io::Planar;

/// Colour distance: per channel, the 1-D Earth Mover's (Wasserstein-1) distance between the two
/// images' value distributions, averaged over R, G, B. In intensity units (\[0,1\]): 0 when the
/// colour histograms are equal, whatever the sizes.
pub fn color_distance(a: &Planar, b: &Planar) -> f64 {
    (0..3)
        .map(|c| {
            let qa = sorted_channel(a, c);
            let qb = sorted_channel(b, c);
            // Compare the two quantile functions on a common grid.
            const Q: usize = 1024;
            (0..Q)
                .map(|i| {
                    let p = (i as f64 + 0.5) / Q as f64;
                    (quantile(&qa, p) - quantile(&qb, p)).abs()
                })
                .sum::<f64>()
                / Q as f64
        })
        .sum::<f64>()
        / 3.0
}

pub(crate) fn sorted_channel(img: &Planar, c: usize) -> Vec<f64> {
    let mut v: Vec<f64> = img
        .index_axis(ndarray::Axis(0), c)
        .iter()
        .map(|&x| x as f64)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The value at probability `p` of sorted samples, by linear interpolation.
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = (p * sorted.len() as f64 - 0.5).clamp(0.0, (sorted.len() - 1) as f64);
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Per-channel histogram matching (as the original DeepTextures code does after optimisation):
/// each pixel value is replaced by the reference's value at the same rank, so the result has the
/// reference's colour histogram and keeps its own arrangement.
pub fn match_colors(image: &Planar, reference: &Planar) -> Planar {
    let mut out = image.clone();
    let n = image.len() / 3;
    for c in 0..3 {
        let target = sorted_channel(reference, c);
        let mut channel = out.index_axis_mut(ndarray::Axis(0), c);
        let mut order: Vec<(f32, usize)> = channel.iter().copied().zip(0..).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let flat = channel.as_slice_mut().expect("standard layout");
        for (rank, (_, i)) in order.into_iter().enumerate() {
            flat[i] = quantile(&target, (rank as f64 + 0.5) / n as f64) as f32;
        }
    }
    out
}

/// Number of radial frequency bands of the power spectrum.
pub const SPECTRUM_BANDS: usize = 24;

/// Radially averaged power spectrum of the luminance (mean removed), normalised to total 1, on
/// SPECTRUM_BANDS bands of frequency from 0 to the Nyquist limit (cycles per pixel, so images
/// of different sizes are comparable). It describes the scale of structures, not the colours.
pub fn radial_power_spectrum(img: &Planar) -> Vec<f64> {
    let (_, h, w) = img.dim();
    let luma: Vec<f64> = (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            0.299 * img[[0, y, x]] as f64
                + 0.587 * img[[1, y, x]] as f64
                + 0.114 * img[[2, y, x]] as f64
        })
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let mut data: Vec<Complex<f64>> = luma.iter().map(|v| Complex::new(v - mean, 0.0)).collect();
    crate::init::fft2(&mut data, w, h, false);
    let mut bands = [0.0; SPECTRUM_BANDS];
    let mut counts = [0usize; SPECTRUM_BANDS];
    // FFT bin i of n is frequency i/n, or (i - n)/n past the middle (cycles per pixel).
    let freq = |i: usize, n: usize| if i <= n / 2 { i as f64 } else { i as f64 - n as f64 } / n as f64;
    for y in 0..h {
        let fy = freq(y, h);
        for x in 0..w {
            let fx = freq(x, w);
            let f = (fx * fx + fy * fy).sqrt();
            if f == 0.0 || f >= 0.5 {
                continue;
            }
            let band = ((f / 0.5) * SPECTRUM_BANDS as f64) as usize;
            bands[band] += data[y * w + x].norm_sqr();
            counts[band] += 1;
        }
    }
    for (b, n) in bands.iter_mut().zip(&counts) {
        *b /= (*n).max(1) as f64;
    }
    let total: f64 = bands.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    bands.iter().map(|b| b / total).collect()
}

/// Spectrum distance: mean absolute difference of log10 band powers (in decades), 0 when the
/// two images have the same distribution of power over scales.
pub fn spectrum_distance(a: &Planar, b: &Planar) -> f64 {
    let (pa, pb) = (radial_power_spectrum(a), radial_power_spectrum(b));
    let floor = 1e-12;
    pa.iter()
        .zip(&pb)
        .map(|(x, y)| ((x + floor).log10() - (y + floor).log10()).abs())
        .sum::<f64>()
        / SPECTRUM_BANDS as f64
}

/// The outermost band measured by `border_ratios`: 1/BORDER_BAND of each side (at least one
/// pixel), where zero padding frames a result.
pub const BORDER_BAND: usize = 32;

/// How a band of an image differs from its interior (1: not at all).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BandRatios {
    /// Mean |Laplacian| of the luminance in the band over the interior's.
    pub detail: f64,
    /// Mean saturation (max − min over R, G, B) in the band over the interior's.
    pub saturation: f64,
}

/// How an image's outermost band differs from its interior (1: not at all). A frame shows as
/// more detail or more saturated colour along the edges than inside.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BorderRatios {
    /// The whole band, all four sides.
    pub detail: f64,
    pub saturation: f64,
    /// Each side's band alone (a corner counts in both of its sides): which edge a frame is on,
    /// or which of the exemplar's own edges a result repeats (docs/quality.md, "Edge fade").
    pub left: BandRatios,
    pub right: BandRatios,
    pub top: BandRatios,
    pub bottom: BandRatios,
}

/// The band (1/32 of the width on the left and right, of the height at the top and bottom)
/// against the rest. The Laplacian repeats the edge pixels, so the outermost row is measured
/// like any other.
pub fn border_ratios(img: &Planar) -> BorderRatios {
    // Below this mean saturation (5 of 255) in band and interior alike an image is grey: a grey
    // exemplar's result carries ~1% colour noise, whose ratio would say nothing of a frame.
    const GREY: f64 = 0.02;
    let (_, h, w) = img.dim();
    let luma = |y: usize, x: usize| {
        0.299 * img[[0, y, x]] as f64
            + 0.587 * img[[1, y, x]] as f64
            + 0.114 * img[[2, y, x]] as f64
    };
    let (bw, bh) = ((w / BORDER_BAND).max(1), (h / BORDER_BAND).max(1));
    // Sums of detail and saturation, and pixel counts, over: the interior, the whole band, and
    // the left, right, top and bottom bands.
    const INTERIOR: usize = 0;
    let (mut detail, mut saturation, mut count) = ([0.0; 6], [0.0; 6], [0usize; 6]);
    for y in 0..h {
        for x in 0..w {
            let at = |dy: isize, dx: isize| {
                let yy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                let xx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                luma(yy, xx)
            };
            let laplacian = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * luma(y, x);
            let rgb = [img[[0, y, x]], img[[1, y, x]], img[[2, y, x]]];
            let spread = rgb.iter().cloned().fold(f32::MIN, f32::max)
                - rgb.iter().cloned().fold(f32::MAX, f32::min);
            let sides = [x < bw, x + bw >= w, y < bh, y + bh >= h];
            let band = sides.iter().any(|&s| s);
            let regions = std::iter::once(if band { 1 } else { INTERIOR })
                .chain((0..4).filter(|&k| sides[k]).map(|k| k + 2));
            for r in regions {
                detail[r] += laplacian.abs();
                saturation[r] += spread as f64;
                count[r] += 1;
            }
        }
    }
    let ratio = |sums: &[f64; 6], r: usize, floor: f64| {
        let mean = |k: usize| sums[k] / count[k].max(1) as f64;
        if mean(r).max(mean(INTERIOR)) < floor {
            1.0
        } else {
            mean(r) / mean(INTERIOR).max(floor)
        }
    };
    let band = |r: usize| BandRatios {
        detail: ratio(&detail, r, f64::MIN_POSITIVE),
        saturation: ratio(&saturation, r, GREY),
    };
    let whole = band(1);
    BorderRatios {
        detail: whole.detail,
        saturation: whole.saturation,
        left: band(2),
        right: band(3),
        top: band(4),
        bottom: band(5),
    }
}

/// The share of the luminance's (radially averaged) power in the top octave of frequency, 0.25
/// to 0.5 cycles per pixel: the finest grain. Against the exemplar's it tells speckle (above)
/// from blur (below).
pub fn top_octave_share(img: &Planar) -> f64 {
    radial_power_spectrum(img)[SPECTRUM_BANDS / 2..]
        .iter()
        .sum()
}

/// The centre of an image, 3/4 of each side rounded down to a multiple of 16 (the network's
/// step): what the interior Gram distance compares, so that no result is judged by its edges,
/// which each padding treats its own way.
pub fn interior(image: &Planar) -> Planar {
    let (_, h, w) = image.dim();
    let side = |n: usize| ((n * 3 / 4) / 16 * 16).max(16.min(n));
    let (ch, cw) = (side(h), side(w));
    let (y0, x0) = ((h - ch) / 2, (w - cw) / 2);
    image
        .slice(ndarray::s![.., y0..y0 + ch, x0..x0 + cw])
        .to_owned()
}

/// The exemplar's top-octave share at a result's size: a window of the result's size holds less
/// of the largest structures' power than the whole exemplar, so a smaller result is compared
/// with the mean over the exemplar's four corner and centre windows of its size.
fn exemplar_top_octave(exemplar: &Planar, (_, h, w): (usize, usize, usize)) -> f64 {
    let (_, eh, ew) = exemplar.dim();
    let (ch, cw) = (h.min(eh), w.min(ew));
    let origins = [
        (0, 0),
        (0, ew - cw),
        (eh - ch, 0),
        (eh - ch, ew - cw),
        ((eh - ch) / 2, (ew - cw) / 2),
    ];
    let shares: Vec<f64> = origins
        .iter()
        .map(|&(y, x)| {
            let window = exemplar
                .slice(ndarray::s![.., y..y + ch, x..x + cw])
                .to_owned();
            top_octave_share(&window)
        })
        .collect();
    (shares.iter().sum::<f64>() / shares.len() as f64).max(f64::MIN_POSITIVE)
}

/// What `neurotex measure` reports of a result against its exemplar: no network needed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Measures {
    pub border: BorderRatios,
    /// The result's top-octave share over the exemplar's (1: the exemplar's fine grain; above:
    /// speckle; below: blur).
    pub top_octave: f64,
    pub color_distance: f64,
    pub spectrum_distance: f64,
}

pub fn measure(image: &Planar, exemplar: &Planar) -> Measures {
    Measures {
        border: border_ratios(image),
        top_octave: top_octave_share(image) / exemplar_top_octave(exemplar, image.dim()),
        color_distance: color_distance(image, exemplar),
        spectrum_distance: spectrum_distance(image, exemplar),
    }
}

/// The image repeated `nx` times across and `ny` times down: how a tileable texture is used.
pub fn tile(image: &Planar, nx: usize, ny: usize) -> Planar {
    let (_, h, w) = image.dim();
    Array3::from_shape_fn((3, ny * h, nx * w), |(c, y, x)| image[[c, y % h, x % w]])
}

/// The image shifted by half its size in both directions (with wrap-around): the centre of its
/// 2x2 tiling, where the seams cross. A tileable texture looks the same there as anywhere.
pub fn seam_view(image: &Planar) -> Planar {
    let (_, h, w) = image.dim();
    Array3::from_shape_fn((3, h, w), |(c, y, x)| {
        image[[c, (y + h / 2) % h, (x + w / 2) % w]]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn stripes(size: usize, period: usize) -> Planar {
        Array3::from_shape_fn((3, size, size), |(_, _, x)| {
            if (x / (period / 2)).is_multiple_of(2) {
                0.8
            } else {
                0.2
            }
        })
    }

    #[test]
    fn a_frame_shows_in_the_border_ratios_and_speckle_in_the_top_octave() {
        // A smooth ramp: no band differs from the interior.
        let ramp = Array3::from_shape_fn((3, 64, 64), |(c, y, x)| {
            (0.2 + 0.005 * (x + y) as f32) * [1.0, 0.8, 0.6][c]
        });
        let r = border_ratios(&ramp);
        assert!((r.saturation - 1.0).abs() < 0.1, "{r:?}");
        let grey = border_ratios(&stripes(64, 8));
        assert_eq!(
            grey.saturation, 1.0,
            "grey: no saturation anywhere, no frame"
        );
        // Checkerboard detail and saturated colour only along the edges: a frame.
        let framed = Array3::from_shape_fn((3, 64, 64), |(c, y, x)| {
            let edge = x < 2 || y < 2 || x >= 62 || y >= 62;
            match (edge, c) {
                (true, 0) => ((x + y) % 2) as f32,
                (true, _) => 0.0,
                (false, _) => 0.5,
            }
        });
        let r = border_ratios(&framed);
        assert!(r.detail > 10.0 && r.saturation > 10.0, "{r:?}");
        // A frame on the left side alone shows there, and not on the right.
        let left = Array3::from_shape_fn((3, 64, 64), |(c, y, x)| match (x < 2, c) {
            (true, 0) => ((x + y) % 2) as f32,
            (true, _) => 0.0,
            (false, _) => 0.5,
        });
        let r = border_ratios(&left);
        assert!(r.left.detail > 10.0 && r.left.saturation > 10.0, "{r:?}");
        assert!(r.right.detail < 1.0 && r.right.saturation == 1.0, "{r:?}");
        assert!(r.detail > 1.0 && r.detail < r.left.detail, "{r:?}");
        // Pixel noise carries far more of its power in the top octave than a smooth image.
        let noise = Array3::from_shape_fn((3, 64, 64), |(_, y, x)| {
            ((x * 7919 + y * 104729) % 97) as f32 / 97.0
        });
        assert!(top_octave_share(&noise) > 3.0 * top_octave_share(&ramp));
    }

    #[test]
    fn color_distance_measures_histogram_shift() {
        let a = Array3::from_elem((3, 8, 8), 0.25f32);
        let b = Array3::from_elem((3, 16, 4), 0.75f32);
        assert!((color_distance(&a, &a)).abs() < 1e-12);
        assert!(
            (color_distance(&a, &b) - 0.5).abs() < 1e-9,
            "a flat shift by 0.5"
        );
        // Same values, other arrangement and size: same histogram.
        let c = stripes(32, 8);
        let d = Array3::from_shape_fn((3, 16, 16), |(_, y, _)| if y < 8 { 0.8 } else { 0.2 });
        assert!(
            color_distance(&c, &d) < 5e-3,
            "only the quantile interpolation differs"
        );
    }

    #[test]
    fn matched_colors_have_the_reference_histogram_and_keep_the_arrangement() {
        let image = stripes(32, 8); // values 0.2 and 0.8, in stripes
        let reference = Array3::from_shape_fn((3, 16, 16), |(c, y, x)| {
            (c * 50 + y * 16 + x) as f32 / 400.0
        });
        let matched = match_colors(&image, &reference);
        assert!(color_distance(&image, &reference) > 0.1);
        assert!(color_distance(&matched, &reference) < 0.01);
        assert!(
            matched[[0, 0, 0]] > matched[[0, 0, 4]],
            "0.8 stripes stay above 0.2 ones"
        );
    }

    #[test]
    fn spectrum_distance_sees_scale_not_colour() {
        let fine = stripes(64, 4);
        let coarse = stripes(64, 16);
        let fine_big = stripes(128, 4);
        let d_same = spectrum_distance(&fine, &fine_big);
        let d_other = spectrum_distance(&fine, &coarse);
        assert!(d_same < 0.1 * d_other, "{d_same} vs {d_other}");
        let spectrum = radial_power_spectrum(&fine);
        assert!((spectrum.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Power of period-4 stripes (0.25 cycles/pixel) sits in the middle band.
        let peak = spectrum
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, SPECTRUM_BANDS / 2);
    }
}
