//! A photo with pixels to synthesise: `neurotex fill` (holes a mask marks) and `neurotex expand`
//! (a new border around the photo). The photo's own pixels are kept bit for bit: the solver's
//! vector holds only the free pixels (`FreePixels`), the others are pasted from the photo at
//! every evaluation. The statistics are Gram matrices over regions (the `gram.regions` models):
//! the output's are taken over the free pixels and a band of context around them, so that the
//! fill matches the photo where it joins it, and the exemplar's over the photo's kept pixels
//! away from the holes (or over another exemplar, whole).
//!
//! A canvas has the sizes the graphs take (multiples of 16): a photo of another size is padded
//! on the right and at the bottom, the padding mirroring the output, and the output cropped
//! back. `free.rs`: the canvas at one scale as the solver sees it; `fill.rs`: the image
//! operations (smooth fill, dilation).

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};

mod fill;
mod free;

pub use fill::{dilate, smooth_fill};
use free::mirror;
pub use free::{FreePixels, StageCanvas};

use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::margin::Window;
use crate::regions::{area_resize, StageRegions};

/// Canvas sides are multiples of this (the network's four poolings).
pub const CANVAS_MULTIPLE: usize = 16;

/// The ring of kept pixels around the holes that the statistics are taken over, in pixels of
/// the full size (scaled down with each coarse scale): the output's region is the holes and
/// this ring, the exemplar's (a fill from the photo itself) the ring alone.
pub const CONTEXT: usize = 64;

/// The exemplar's ring leaves out the kept pixels this close to a hole (pixels of the full
/// size): in the exemplar the hole holds a flat colour, and the shallow layers' features there
/// respond to that artificial edge, which the fill would then be asked to reproduce.
pub const HOLE_MARGIN: usize = 4;

/// How much of the starting noise a hole starts with, around its smooth fill.
pub const START_NOISE: f32 = 0.1;

/// Fewest kept pixels around the holes a photo must have to take statistics from.
pub const MIN_KEPT_PIXELS: usize = 32 * 32;

/// Where the photo sits in a larger output (`neurotex expand --size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Anchor {
    #[default]
    Center,
    Top,
    Bottom,
    Left,
    Right,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl Anchor {
    /// The photo's offset in an output `extra` pixels larger (width, height).
    fn offset(self, extra: (usize, usize)) -> (usize, usize) {
        let (ex, ey) = extra;
        let x = match self {
            Anchor::Left | Anchor::TopLeft | Anchor::BottomLeft => 0,
            Anchor::Right | Anchor::TopRight | Anchor::BottomRight => ex,
            _ => ex / 2,
        };
        let y = match self {
            Anchor::Top | Anchor::TopLeft | Anchor::TopRight => 0,
            Anchor::Bottom | Anchor::BottomLeft | Anchor::BottomRight => ey,
            _ => ey / 2,
        };
        (x, y)
    }
}

/// A photo placed on a canvas, and which pixels are synthesised.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// [3, H, W] at the canvas size: the photo's pixels where kept; elsewhere a smooth fill
    /// from around them (`smooth_fill`: what the exemplar's network sees in a hole).
    pub known: Planar,
    /// [H, W]: true where the pixel is synthesised.
    pub free: Array2<bool>,
    /// Width and height of the output: the canvas's top-left part (the canvas may be larger,
    /// up to the next multiple of 16).
    pub output: (usize, usize),
    /// Where the photo's top-left pixel is on the canvas ((0, 0) for a fill).
    pub photo_at: (usize, usize),
    /// The exemplar is the photo's kept pixels (fill), not a separate image (expand, or fill
    /// with `--exemplar`).
    pub exemplar_is_photo: bool,
    /// The files it was made from (never written to).
    pub inputs: Vec<PathBuf>,
    /// `fill` or `expand`, for the record.
    pub kind: &'static str,
}

fn round_up(n: usize) -> usize {
    n.div_ceil(CANVAS_MULTIPLE) * CANVAS_MULTIPLE
}

fn bad_mask(path: &Path, reason: String) -> Error {
    Error::ImageRead {
        path: path.to_path_buf(),
        reason,
    }
}

/// A mask image as booleans (true: white, i.e. brighter than mid-grey), [H, W].
pub fn load_mask(path: &Path) -> Result<Array2<bool>> {
    let image = image_io::load_rgb(path)?.image;
    let (_, h, w) = image.dim();
    Ok(Array2::from_shape_fn((h, w), |(y, x)| {
        0.299 * image[[0, y, x]] + 0.587 * image[[1, y, x]] + 0.114 * image[[2, y, x]] > 0.5
    }))
}

impl Canvas {
    /// Fill the holes of `photo` that `mask` marks (true: synthesise). With `exemplar_is_photo`
    /// the statistics come from the photo's other pixels, which must then be enough.
    pub fn fill(
        photo: Planar,
        mask: Array2<bool>,
        exemplar_is_photo: bool,
        inputs: Vec<PathBuf>,
    ) -> Result<Canvas> {
        let (_, h, w) = photo.dim();
        let mask_path = inputs.get(1).cloned().unwrap_or_else(|| "the mask".into());
        if mask.dim() != (h, w) {
            let (mh, mw) = mask.dim();
            return Err(bad_mask(
                &mask_path,
                format!(
                    "the mask is {mw}x{mh} and the photo {w}x{h}: they must be the same size \
                     (white where to fill, black where to keep)"
                ),
            ));
        }
        let holes = mask.iter().filter(|&&m| m).count();
        if holes == 0 {
            return Err(bad_mask(
                &mask_path,
                "the mask has no white pixel: nothing to fill (white marks the pixels to \
                 synthesise)"
                    .into(),
            ));
        }
        if holes == w * h {
            return Err(bad_mask(
                &mask_path,
                "the mask is white everywhere: nothing of the photo is kept; to make a new \
                 texture from an exemplar use `neurotex synth`"
                    .into(),
            ));
        }
        let (cw, ch) = (round_up(w), round_up(h));
        let mut free = Array2::from_elem((ch, cw), true);
        free.slice_mut(ndarray::s![..h, ..w]).assign(&mask);
        let canvas =
            Canvas::place(&photo, free, (0, 0), (w, h), exemplar_is_photo, inputs).of_kind("fill");
        if exemplar_is_photo {
            let context = dilate(&canvas.free, CONTEXT);
            let kept = ndarray::Zip::from(&context)
                .and(&canvas.free)
                .fold(0, |n, &c, &f| n + usize::from(c && !f));
            if kept < MIN_KEPT_PIXELS {
                return Err(bad_mask(
                    &mask_path,
                    format!(
                        "the mask leaves {kept} pixels of the photo within {CONTEXT} pixels \
                         of a hole, too few to take statistics from (at least \
                         {MIN_KEPT_PIXELS}): make the holes smaller, or give another image of \
                         the texture with --exemplar"
                    ),
                ));
            }
        }
        Ok(canvas)
    }

    /// `photo` placed at `anchor` in an output of `size` (width, height), each side at least
    /// the photo's, the rest synthesised from the photo. With `tile` the size is rounded up to
    /// a multiple of 16 (a cropped torus would not tile).
    pub fn expand(
        photo: Planar,
        size: (usize, usize),
        anchor: Anchor,
        tile: bool,
        inputs: Vec<PathBuf>,
    ) -> Result<Canvas> {
        let (_, h, w) = photo.dim();
        let size = if tile {
            (round_up(size.0), round_up(size.1))
        } else {
            size
        };
        if size.0 < w || size.1 < h || size == (w, h) {
            return Err(Error::InvalidSetting(format!(
                "expand to {}x{}: the output must be larger than the photo ({w}x{h}) on at \
                 least one side and no smaller on the other",
                size.0, size.1
            )));
        }
        let at = anchor.offset((size.0 - w, size.1 - h));
        Canvas::expand_at(photo, size, at, inputs)
    }

    /// `photo` with its top-left pixel at `at` in an output of `size` (width, height), which it
    /// must fit in: the rest synthesised from the photo (`--resume` of an expansion).
    pub fn expand_at(
        photo: Planar,
        size: (usize, usize),
        at: (usize, usize),
        inputs: Vec<PathBuf>,
    ) -> Result<Canvas> {
        let (_, h, w) = photo.dim();
        if at.0 + w > size.0 || at.1 + h > size.1 {
            return Err(Error::InvalidSetting(format!(
                "a {w}x{h} photo at ({}, {}) does not fit in {}x{}",
                at.0, at.1, size.0, size.1
            )));
        }
        let (cw, ch) = (round_up(size.0), round_up(size.1));
        let mut free = Array2::from_elem((ch, cw), true);
        free.slice_mut(ndarray::s![at.1..at.1 + h, at.0..at.0 + w])
            .fill(false);
        Ok(Canvas::place(&photo, free, at, size, false, inputs).of_kind("expand"))
    }

    fn place(
        photo: &Planar,
        free: Array2<bool>,
        at: (usize, usize),
        output: (usize, usize),
        exemplar_is_photo: bool,
        inputs: Vec<PathBuf>,
    ) -> Canvas {
        let (ch, cw) = free.dim();
        let (_, h, w) = photo.dim();
        let kept = |y: usize, x: usize| {
            (at.1..at.1 + h).contains(&y) && (at.0..at.0 + w).contains(&x) && !free[[y, x]]
        };
        let weight = Array2::from_shape_fn((ch, cw), |(y, x)| f32::from(u8::from(kept(y, x))));
        let placed = Array3::from_shape_fn((3, ch, cw), |(c, y, x)| {
            if kept(y, x) {
                photo[[c, y - at.1, x - at.0]]
            } else {
                0.0
            }
        });
        let known = smooth_fill(&placed, &weight);
        Canvas {
            known,
            free,
            output,
            photo_at: at,
            exemplar_is_photo,
            inputs,
            kind: "fill",
        }
    }

    fn of_kind(self, kind: &'static str) -> Canvas {
        Canvas { kind, ..self }
    }

    /// Width and height of the canvas (multiples of 16).
    pub fn size(&self) -> (usize, usize) {
        let (h, w) = self.free.dim();
        (w, h)
    }

    /// The canvas at `width` x `height` (a coarse scale, or the full size): kept pixels by an
    /// average over kept pixels only, a pixel free wherever any part of it is; and its regions:
    /// the output's, the free pixels and their context; the exemplar's where the exemplar is the
    /// photo, its kept pixels around the holes (else the whole exemplar). Context and margins
    /// scale with the image.
    pub fn at(&self, width: usize, height: usize) -> (StageCanvas, StageRegions) {
        let (cw, _) = self.size();
        let kept = self.free.mapv(|f| if f { 0.0 } else { 1.0 });
        let (free, known) = if (width, height) == self.size() {
            (self.free.clone(), self.known.clone())
        } else {
            let kept_small =
                area_resize(&kept.clone().insert_axis(ndarray::Axis(0)), width, height);
            let weighted = area_resize(&(&self.known * &kept), width, height);
            let known = Array3::from_shape_fn((3, height, width), |(c, y, x)| {
                weighted[[c, y, x]] / kept_small[[0, y, x]].max(1e-6)
            });
            let free = kept_small
                .index_axis(ndarray::Axis(0), 0)
                .mapv(|k| k < 0.999);
            // Where a pixel is free its value is the solver's; the smooth fill elsewhere is
            // what the exemplar sees in a hole, as at the full size.
            let weight = free.mapv(|f| if f { 0.0 } else { 1.0 });
            (free, smooth_fill(&known, &weight))
        };
        let scaled = |r: usize| (r * width / cw).max(1);
        let as_map = |m: &Array2<bool>, value: bool| {
            m.mapv(|f| if f == value { 1.0f32 } else { 0.0 })
                .insert_axis(ndarray::Axis(0))
        };
        // The padding beyond the output (up to the next multiple of 16) mirrors the output's
        // last columns and rows, as a reflect-padded graph would: the solver holds only the
        // output's own free pixels, so that a resumed run, which starts from the cropped image,
        // continues exactly (free padding ended anywhere, and restarting it raised the loss
        // 2-5x), and no unseen pixel is asked to carry texture.
        let (ch, _) = self.free.dim();
        let shown = (
            (self.output.0 * width).div_ceil(cw),
            (self.output.1 * height).div_ceil(ch),
        );
        let flat = move |c: usize, y: usize, x: usize| (c * height + y) * width + x;
        let indices = (0..3)
            .flat_map(|c| {
                free.indexed_iter()
                    .filter(move |((y, x), &f)| f && *x < shown.0 && *y < shown.1)
                    .map(move |((y, x), _)| flat(c, y, x))
            })
            .collect();
        let mirrored = (0..3)
            .flat_map(|c| {
                ndarray::indices((height, width))
                    .into_iter()
                    .filter(move |&(y, x)| x >= shown.0 || y >= shown.1)
                    .map(move |(y, x)| {
                        (
                            flat(c, y, x),
                            flat(c, mirror(y, shown.1), mirror(x, shown.0)),
                        )
                    })
            })
            .collect();
        // The output's region is the holes and a ring of kept pixels around them; the
        // exemplar's, that ring alone: the holes are then matched to what surrounds them, and
        // the ring, the same pixels on both sides, asks nothing of them. (A target from pixels
        // farther away or from the whole photo made the holes compensate for how their ring
        // differs from it: saturated speckle in a scene.)
        let mut context = dilate(&free, scaled(CONTEXT));
        let near = dilate(&free, scaled(HOLE_MARGIN));
        let ring = ndarray::Zip::from(&context)
            .and(&near)
            .map_collect(|&c, &n| c && !n);
        // The padding is no part of the output's statistics (it repeats the output's edge).
        context
            .indexed_iter_mut()
            .filter(|((y, x), _)| *x >= shown.0 || *y >= shown.1)
            .for_each(|(_, c)| *c = false);
        let regions = StageRegions {
            output: as_map(&context, true),
            exemplar: self.exemplar_is_photo.then(|| as_map(&ring, true)),
        };
        let canvas = StageCanvas {
            free: indices,
            mirrored,
            known,
        };
        (canvas, regions)
    }

    /// Where the output lies on the canvas: its top-left part.
    pub fn window(&self) -> Window {
        let (width, height) = self.output;
        Window {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    /// The output's part of a canvas-sized image.
    pub fn crop(&self, image: &Planar) -> Planar {
        self.window().crop(image)
    }

    /// A canvas-sized image from an output-sized one (the image a resumed run wrote), its
    /// padding mirrored as during the run (`StageCanvas::mirrored`).
    pub fn uncrop(&self, image: &Planar) -> Result<Planar> {
        self.window().uncrop(image, self.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: usize, h: usize) -> Planar {
        Array3::from_shape_fn((3, h, w), |(c, y, x)| {
            ((x * 7 + y * 3 + c) % 17) as f32 / 16.0
        })
    }

    #[test]
    fn fill_pads_to_whole_tiles_and_refuses_bad_masks() {
        let mut mask = Array2::from_elem((40, 50), false);
        mask[[10, 10]] = true;
        let c = Canvas::fill(photo(50, 40), mask.clone(), false, vec![]).unwrap();
        assert_eq!(c.size(), (64, 48));
        assert_eq!(c.output, (50, 40));
        // The padding is free; the photo's pixels kept, but for the hole.
        assert!(c.free[[45, 60]] && c.free[[10, 10]] && !c.free[[11, 10]]);
        assert_eq!(c.known[[1, 20, 30]], photo(50, 40)[[1, 20, 30]]);
        let err = |m| {
            Canvas::fill(photo(50, 40), m, true, vec![])
                .unwrap_err()
                .to_string()
        };
        assert!(err(Array2::from_elem((40, 50), false)).contains("no white pixel"));
        assert!(err(Array2::from_elem((40, 50), true)).contains("white everywhere"));
        assert!(err(Array2::from_elem((30, 50), true)).contains("same size"));
        // A photo too small to take statistics from once the hole's margin is left out.
        let mut small = Array2::from_elem((30, 30), false);
        small[[10, 10]] = true;
        let e = Canvas::fill(photo(30, 30), small, true, vec![]).unwrap_err();
        assert!(e.to_string().contains("too few"), "{e}");
        assert!(Canvas::fill(photo(50, 40), mask, true, vec![]).is_ok());
    }

    #[test]
    fn stage_canvas_round_trips_the_kept_pixels() {
        let mut mask = Array2::from_elem((64, 64), false);
        mask.slice_mut(ndarray::s![20..30, 5..40]).fill(true);
        let c = Canvas::fill(photo(64, 64), mask, true, vec![]).unwrap();
        let (full, regions) = c.at(64, 64);
        assert_eq!(full.free.len(), 3 * 10 * 35);
        let values: Vec<f32> = (0..full.free.len()).map(|i| i as f32).collect();
        let image = full.full_image(&values);
        assert_eq!(full.gather(&image), values);
        let kept: Vec<f32> = c.known.iter().copied().collect();
        let changed = image.iter().zip(&kept).filter(|(a, b)| a != b).count();
        assert!(changed <= values.len());
        // The output's region holds the hole and its ring of context; the exemplar's the ring.
        let exemplar = regions.exemplar.as_ref().unwrap();
        let regions = &regions.output;
        assert_eq!(regions[[0, 25, 20]], 1.0);
        assert_eq!(regions[[0, 60, 60]], 1.0);
        assert_eq!(exemplar[[0, 25, 20]], 0.0);
        assert_eq!(exemplar[[0, 60, 60]], 1.0);
        let mut far = Array2::from_elem((128, 128), false);
        far.slice_mut(ndarray::s![0..8, 0..8]).fill(true);
        let (_, regions) = Canvas::fill(photo(128, 128), far, true, vec![])
            .unwrap()
            .at(128, 128);
        let (output, exemplar) = (&regions.output, regions.exemplar.unwrap());
        assert_eq!(
            (output[[0, 4, 7 + CONTEXT]], output[[0, 4, 8 + CONTEXT]]),
            (1.0, 0.0)
        );
        // The exemplar's ring starts HOLE_MARGIN pixels from the hole (columns 0..8).
        let first = 8 + HOLE_MARGIN;
        assert_eq!(
            (
                exemplar[[0, 4, 4]],
                exemplar[[0, 4, first - 1]],
                exemplar[[0, 4, first]]
            ),
            (0.0, 0.0, 1.0)
        );
        // A coarse scale: the hole shrinks with the image (it never vanishes).
        let (half, _) = c.at(32, 32);
        assert!(!half.free.is_empty() && half.free.len() < full.free.len());
    }

    #[test]
    fn expand_places_the_photo_at_its_anchor() {
        let c = Canvas::expand(photo(40, 30), (80, 50), Anchor::Center, false, vec![]).unwrap();
        assert_eq!((c.size(), c.output), ((80, 64), (80, 50)));
        assert!(!c.free[[10, 20]] && c.free[[9, 20]] && c.free[[10, 19]] && !c.free[[39, 59]]);
        assert_eq!(c.known[[0, 10, 20]], photo(40, 30)[[0, 0, 0]]);
        let corner = Canvas::expand(photo(40, 30), (80, 50), Anchor::BottomRight, true, vec![]);
        assert_eq!(corner.unwrap().output, (80, 64));
        assert!(Canvas::expand(photo(40, 30), (40, 30), Anchor::Center, false, vec![]).is_err());
        assert!(Canvas::expand(photo(40, 30), (30, 60), Anchor::Center, false, vec![]).is_err());
    }
}
