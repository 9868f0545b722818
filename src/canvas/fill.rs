//! Image operations of a canvas: filling holes smoothly from their surroundings, growing a
//! mask.

use ndarray::{Array2, Array3};

use crate::image_io::{self, Planar};
use crate::regions::area_resize;

/// `image` with its holes (where `weight`, in [0, 1], is 0) filled smoothly from what surrounds
/// them, by push-pull: the kept pixels averaged down a pyramid until every pixel has some, the
/// averages brought back up bilinearly into the holes. What the exemplar's network sees in a
/// hole, and where a hole starts: a flat colour there made an edge the fill had to reproduce.
pub fn smooth_fill(image: &Planar, weight: &Array2<f32>) -> Planar {
    let (_, h, w) = image.dim();
    if weight.iter().all(|&k| k > 0.0) {
        return image.clone();
    }
    if (w, h) == (1, 1) {
        return Array3::from_elem((3, 1, 1), 0.5);
    }
    let (sw, sh) = (w.div_ceil(2), h.div_ceil(2));
    let weights = weight.clone().insert_axis(ndarray::Axis(0));
    let small_weight = area_resize(&weights, sw, sh);
    let sums = area_resize(&(image * &weights), sw, sh);
    let small = Array3::from_shape_fn((3, sh, sw), |(c, y, x)| {
        sums[[c, y, x]] / small_weight[[0, y, x]].max(1e-6)
    });
    let filled = smooth_fill(
        &small,
        &small_weight.index_axis(ndarray::Axis(0), 0).to_owned(),
    );
    let up = image_io::upsample(&filled, w as u32, h as u32, false);
    Array3::from_shape_fn((3, h, w), |(c, y, x)| {
        let k = weight[[y, x]].min(1.0);
        k * image[[c, y, x]] + (1.0 - k) * up[[c, y, x]]
    })
}

/// `mask` grown by `radius` pixels (a square neighbourhood), by two passes of a running count.
pub fn dilate(mask: &Array2<bool>, radius: usize) -> Array2<bool> {
    let grow = |m: &Array2<bool>, axis: usize| {
        let (h, w) = m.dim();
        let n = if axis == 0 { h } else { w };
        Array2::from_shape_fn((h, w), |(y, x)| {
            let k = if axis == 0 { y } else { x };
            (k.saturating_sub(radius)..(k + radius + 1).min(n)).any(|j| {
                if axis == 0 {
                    m[[j, x]]
                } else {
                    m[[y, j]]
                }
            })
        })
    };
    grow(&grow(mask, 0), 1)
}
