//! The image a synthesis starts from.
//!
//! - `noise`: uniform white noise (Gatys et al.). Every statistic starts far from the exemplar's.
//! - `spectrum`: random-phase noise (Galerne, Gousseau & Morel 2011): the exemplar's Fourier
//!   amplitudes with a random phase, the same phase added to the three colour channels. It has
//!   the exemplar's mean colour, colour covariance and power spectrum (the scales of its
//!   structures) but none of its arrangement: no patch of the exemplar is copied. For
//!   fine-grained textures that is much of what the first layers' Gram matrices measure, so
//!   the optimiser starts closer to its goal.

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rustfft::{num_complex::Complex, FftPlanner};

use crate::image_io::Planar;

/// How the starting image is made.
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
pub enum Init {
    /// Spectrum for a single-scale run, noise for coarse-to-fine (whose coarse scales already
    /// give the last one a smooth start): a single-scale run from white noise keeps
    /// high-frequency colour speckle the Gram statistics do not see (docs/quality.md).
    Auto,
    /// Uniform white noise in [0, 1].
    #[default]
    Noise,
    /// Random-phase noise with the exemplar's amplitude spectrum.
    Spectrum,
    /// The content image (style transfer, where `auto` means it).
    Content,
}

impl Init {
    pub fn name(&self) -> &'static str {
        match self {
            Init::Auto => "auto",
            Init::Noise => "noise",
            Init::Spectrum => "spectrum",
            Init::Content => "content",
        }
    }

    /// What a run of `scales` scales starts from: `Auto` resolved.
    pub fn resolve(self, scales: usize) -> Init {
        match self {
            Init::Auto if scales == 1 => Init::Spectrum,
            Init::Auto => Init::Noise,
            chosen => chosen,
        }
    }

    /// The starting image of `width` x `height` for `exemplar` (the exemplar at the scale the
    /// synthesis starts at), reproducible from the seed; `scales` resolves `Auto`. (`Content`
    /// is the style transfer's: `Synthesis::start_at`.)
    pub fn image(
        &self,
        scales: usize,
        exemplar: &Planar,
        (width, height): (usize, usize),
        seed: u64,
    ) -> Planar {
        match self.resolve(scales) {
            Init::Spectrum => random_phase(exemplar, width, height, seed),
            _ => white_noise(width, height, seed),
        }
    }
}

/// Uniform white noise in [0, 1], reproducible from the seed.
pub fn white_noise(width: usize, height: usize, seed: u64) -> Planar {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array3::from_shape_simple_fn((3, height, width), || rng.random_range(0.0f32..1.0))
}

/// Random-phase noise of `width` x `height` from `exemplar`, values clamped to [0, 1].
///
/// An output larger than the exemplar gets the exemplar's mean-free values on a canvas of zeros
/// (scaled so that the per-pixel variance is kept: the random phase spreads the energy over the
/// whole canvas); a smaller one is cut from the exemplar-sized result.
pub fn random_phase(exemplar: &Planar, width: usize, height: usize, seed: u64) -> Planar {
    let (_, eh, ew) = exemplar.dim();
    let (cw, ch) = (width.max(ew), height.max(eh));
    let gain = ((cw * ch) as f64 / (ew * eh) as f64).sqrt();
    // The phase of white noise's spectrum: odd-symmetric, so the result is real.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut phase: Vec<Complex<f64>> = (0..cw * ch)
        .map(|_| Complex::new(rng.random_range(-1.0..1.0), 0.0))
        .collect();
    fft2(&mut phase, cw, ch, false);
    for p in &mut phase {
        let norm = p.norm();
        *p = if norm > 0.0 {
            *p / norm
        } else {
            Complex::new(1.0, 0.0)
        };
    }
    let mut out = Planar::zeros((3, height, width));
    let mut canvas = vec![Complex::new(0.0, 0.0); cw * ch];
    for c in 0..3 {
        let channel = exemplar.index_axis(ndarray::Axis(0), c);
        let mean = channel.iter().map(|&v| v as f64).sum::<f64>() / (ew * eh) as f64;
        canvas.fill(Complex::new(0.0, 0.0));
        for ((y, x), &v) in channel.indexed_iter() {
            canvas[y * cw + x] = Complex::new((v as f64 - mean) * gain, 0.0);
        }
        fft2(&mut canvas, cw, ch, false);
        for (v, p) in canvas.iter_mut().zip(&phase) {
            *v *= p;
        }
        fft2(&mut canvas, cw, ch, true);
        let scale = 1.0 / (cw * ch) as f64;
        for y in 0..height {
            for x in 0..width {
                out[[c, y, x]] = (mean + canvas[y * cw + x].re * scale).clamp(0.0, 1.0) as f32;
            }
        }
    }
    out
}

/// 2-D FFT of `data` ([h][w] row-major) in place: rows, then columns. Unnormalised both ways.
pub(crate) fn fft2(data: &mut [Complex<f64>], w: usize, h: usize, inverse: bool) {
    let mut planner = FftPlanner::new();
    let (row_fft, col_fft) = if inverse {
        (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h))
    } else {
        (planner.plan_fft_forward(w), planner.plan_fft_forward(h))
    };
    for row in data.chunks_mut(w) {
        row_fft.process(row);
    }
    let mut column = vec![Complex::new(0.0, 0.0); h];
    for x in 0..w {
        for y in 0..h {
            column[y] = data[y * w + x];
        }
        col_fft.process(&mut column);
        for y in 0..h {
            data[y * w + x] = column[y];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured test image: a few colour gratings plus a little noise, in (0.1, 0.9) so that
    /// random phase never needs clamping.
    fn exemplar(w: usize, h: usize) -> Planar {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        Array3::from_shape_fn((3, h, w), |(c, y, x)| {
            let s = ((x as f32 * 0.7 + y as f32 * 0.3).sin() * 0.2
                + (y as f32 * 1.9).cos() * 0.1 * (c as f32 + 1.0))
                + rng.random_range(-0.05f32..0.05);
            0.5 + s * 0.4
        })
    }

    fn channel_amplitudes(img: &Planar, c: usize) -> Vec<f64> {
        let (_, h, w) = img.dim();
        let ch = img.index_axis(ndarray::Axis(0), c);
        let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / (w * h) as f64;
        let mut data: Vec<Complex<f64>> = ch
            .iter()
            .map(|&v| Complex::new(v as f64 - mean, 0.0))
            .collect();
        fft2(&mut data, w, h, false);
        data.iter().map(|v| v.norm()).collect()
    }

    #[test]
    fn random_phase_keeps_the_spectrum_and_colour_but_not_the_arrangement() {
        let ex = exemplar(64, 48);
        let out = random_phase(&ex, 64, 48, 3);
        for c in 0..3 {
            let (a, b) = (channel_amplitudes(&ex, c), channel_amplitudes(&out, c));
            let err: f64 =
                a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.iter().sum::<f64>();
            assert!(
                err < 1e-5,
                "channel {c}: amplitude spectrum changed by {err}"
            );
            let mean = |i: &Planar| i.index_axis(ndarray::Axis(0), c).mean().unwrap();
            assert!((mean(&ex) - mean(&out)).abs() < 1e-5);
        }
        // Not the exemplar shifted or copied: pixelwise, the two are nearly uncorrelated.
        let (ea, oa) = (
            ex.mapv(|v| v - ex.mean().unwrap()),
            out.mapv(|v| v - out.mean().unwrap()),
        );
        let corr = (&ea * &oa).sum() / ((&ea * &ea).sum() * (&oa * &oa).sum()).sqrt();
        assert!(corr.abs() < 0.2, "correlation with the exemplar {corr}");
        // Reproducible from the seed, different for another seed.
        assert_eq!(out, random_phase(&ex, 64, 48, 3));
        assert_ne!(out, random_phase(&ex, 64, 48, 4));
    }

    #[test]
    fn random_phase_keeps_the_variance_at_other_sizes() {
        let ex = exemplar(32, 32);
        let var = |i: &Planar| {
            let m = i.mean().unwrap();
            i.mapv(|v| (v - m) * (v - m)).mean().unwrap()
        };
        for (w, h) in [(96, 64), (16, 24), (32, 32)] {
            let out = random_phase(&ex, w, h, 1);
            assert_eq!(out.dim(), (3, h, w));
            let ratio = var(&out) / var(&ex);
            assert!(
                (0.5..2.0).contains(&ratio),
                "{w}x{h}: variance ratio {ratio}"
            );
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        use clap::ValueEnum;
        for v in Init::value_variants() {
            assert_eq!(Init::from_str(v.name(), false).unwrap(), *v);
        }
        assert!(Init::from_str("zeros", false).is_err());
    }
}
