//! A canvas at one scale, as the solver sees it: the free pixels (its vector), the kept ones
//! pasted around them at every evaluation, and the padding beyond the output mirrored.

use crate::error::Result;
use crate::image_io::Planar;
use crate::objective::Evaluation;
use crate::optimizer::ImageLoss;

use super::START_NOISE;

/// A canvas at one scale of a coarse-to-fine run.
#[derive(Debug, Clone)]
pub struct StageCanvas {
    /// [3, h, w]: the kept pixels at this scale.
    pub known: Planar,
    /// Flat indices into [3, h, w] of the free values, in order: the solver's vector.
    pub free: Vec<usize>,
    /// The padding beyond the output: (pixel, the output's pixel it mirrors), flat indices.
    pub mirrored: Vec<(usize, usize)>,
}

/// Index `i` reflected into 0..n (without repeating the edge), as reflect padding does.
pub(super) fn mirror(i: usize, n: usize) -> usize {
    if i < n {
        i
    } else {
        (2 * n).saturating_sub(i + 2).min(n - 1)
    }
}

impl StageCanvas {
    /// The free values of a full image.
    pub fn gather(&self, image: &[f32]) -> Vec<f32> {
        self.free.iter().map(|&i| image[i]).collect()
    }

    /// Where a run starts: the free pixels smoothly filled from around them, with a little of `noise`
    /// (a full image) to break the symmetry. From noise alone a small hole keeps its speckle:
    /// its few positions at the deep layers leave the finest scales almost unconstrained.
    pub fn start(&self, noise: &[f32]) -> Vec<f32> {
        let known = self.known.as_slice().expect("standard layout");
        let values: Vec<f32> = (self.free.iter())
            .map(|&i| known[i] + START_NOISE * (noise[i] - 0.5))
            .collect();
        self.full_image(&values)
    }

    /// The full image: the kept pixels, with `values` at the free ones.
    pub fn full_image(&self, values: &[f32]) -> Vec<f32> {
        let mut image = self
            .known
            .as_standard_layout()
            .into_owned()
            .into_raw_vec_and_offset()
            .0;
        self.paste(values, &mut image);
        image
    }

    /// `values` put at the free pixels of `image`, and the padding mirrored from the output.
    pub(super) fn paste(&self, values: &[f32], image: &mut [f32]) {
        for (&i, &v) in self.free.iter().zip(values) {
            image[i] = v;
        }
        for &(to, from) in &self.mirrored {
            image[to] = image[from];
        }
    }
}

/// The loss of a canvas's free pixels: what the optimiser sees when only they are optimised.
pub struct FreePixels<'a> {
    pub inner: &'a mut dyn ImageLoss,
    pub canvas: &'a StageCanvas,
    image: Vec<f32>,
}

impl<'a> FreePixels<'a> {
    pub fn new(inner: &'a mut dyn ImageLoss, canvas: &'a StageCanvas) -> Self {
        let image = canvas.full_image(&[]);
        FreePixels {
            inner,
            canvas,
            image,
        }
    }
}

impl ImageLoss for FreePixels<'_> {
    fn evaluate_image(&mut self, values: &[f32]) -> Result<Evaluation> {
        self.canvas.paste(values, &mut self.image);
        let mut evaluation = self.inner.evaluate_image(&self.image)?;
        // A padding pixel's gradient is its mirrored source's too (the chain rule).
        for &(to, from) in &self.canvas.mirrored {
            evaluation.grad[from] += evaluation.grad[to];
        }
        evaluation.grad = self.canvas.gather(&evaluation.grad);
        Ok(evaluation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::Canvas;
    use ndarray::{Array2, Array3};

    fn photo(w: usize, h: usize) -> Planar {
        Array3::from_shape_fn((3, h, w), |(c, y, x)| {
            ((x * 7 + y * 3 + c) % 17) as f32 / 16.0
        })
    }

    /// A loss with a known gradient: sum of (i mod 7 + 1) * image[i]^2.
    struct Weighted;

    impl ImageLoss for Weighted {
        fn evaluate_image(&mut self, image: &[f32]) -> Result<Evaluation> {
            let w = |i: usize| (i % 7 + 1) as f32;
            Ok(Evaluation {
                loss: vec![image.iter().enumerate().map(|(i, v)| w(i) * v * v).sum()],
                layer_losses: vec![],
                grad: image
                    .iter()
                    .enumerate()
                    .map(|(i, v)| 2.0 * w(i) * v)
                    .collect(),
            })
        }
    }

    #[test]
    fn the_padding_mirrors_the_output_and_passes_its_gradient_on() {
        // A 50x40 photo (canvas 64x48) with a hole at its right edge: the padding mirrors
        // free pixels there.
        let mut mask = Array2::from_elem((40, 50), false);
        mask.slice_mut(ndarray::s![5..15, 44..50]).fill(true);
        let c = Canvas::fill(photo(50, 40), mask, false, vec![]).unwrap();
        let (stage, _) = c.at(64, 48);
        assert_eq!(stage.free.len(), 3 * 10 * 6);
        let values: Vec<f32> = (0..stage.free.len()).map(|i| i as f32 / 200.0).collect();
        let image = stage.full_image(&values);
        let at = |c: usize, y: usize, x: usize| image[(c * 48 + y) * 64 + x];
        // Column 50 mirrors 48, row 40 row 38, and the corner both.
        assert_eq!(at(1, 7, 50), at(1, 7, 48));
        assert_eq!(at(2, 40, 10), at(2, 38, 10));
        assert_eq!(at(0, 41, 52), at(0, 37, 46));
        // What a resumed run starts from: the cropped image, padded again the same way.
        let full = Array3::from_shape_vec((3, 48, 64), image.clone()).unwrap();
        assert_eq!(c.uncrop(&c.crop(&full)).unwrap(), full);
        // The free values' gradient against central differences (a quadratic: exact).
        let mut weighted = Weighted;
        let mut loss = FreePixels::new(&mut weighted, &stage);
        let grad = loss.evaluate_image(&values).unwrap().grad;
        // Values 3 and 4 (columns 47 and 48) are mirrored into the padding.
        for k in [0, 3, 4, 64, 179] {
            let h = 0.5; // central differences are exact on a quadratic at any step
            let mut plus = values.clone();
            plus[k] += h;
            let mut minus = values.clone();
            minus[k] -= h;
            let f = |v: &[f32], l: &mut FreePixels| l.evaluate_image(v).unwrap().loss[0];
            let fd = (f(&plus, &mut loss) - f(&minus, &mut loss)) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-2 * grad[k].abs().max(1.0),
                "{k}: {fd} {}",
                grad[k]
            );
        }
    }
}
