//! Image input and output. Images live in memory as planar RGB float32 [3, H, W] in [0, 1], the
//! convention of the models' image input.

use image::RgbImage;
use ndarray::Array3;

mod read;
mod write;

pub use read::*;
pub use write::*;

/// Planar RGB image, [3, height, width], values in [0, 1].
pub type Planar = Array3<f32>;

pub fn from_rgb8(rgb: &RgbImage) -> Planar {
    let (w, h) = rgb.dimensions();
    Array3::from_shape_fn((3, h as usize, w as usize), |(c, y, x)| {
        rgb.get_pixel(x as u32, y as u32)[c] as f32 / 255.0
    })
}

/// 16-bit RGB, rounded to the nearest of 65536 levels.
pub fn to_rgb16(image: &Planar) -> image::ImageBuffer<image::Rgb<u16>, Vec<u16>> {
    let (_, h, w) = image.dim();
    image::ImageBuffer::from_fn(w as u32, h as u32, |x, y| {
        let px = |c| (image[[c, y as usize, x as usize]].clamp(0.0, 1.0) * 65535.0).round() as u16;
        image::Rgb([px(0), px(1), px(2)])
    })
}

pub fn to_rgb8(image: &Planar) -> RgbImage {
    let (_, h, w) = image.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let px = |c| (image[[c, y as usize, x as usize]].clamp(0.0, 1.0) * 255.0).round() as u8;
        image::Rgb([px(0), px(1), px(2)])
    })
}

/// Resize with a Lanczos filter in float precision, clamped to [0, 1] (Lanczos overshoots at
/// edges). Used for the exemplar (--exemplar-scale, coarse scales) and to carry a coarse-scale
/// result up to the next scale, where 8-bit rounding would add noise to the optimised pixels.
pub fn resize(image: &Planar, width: u32, height: u32) -> Planar {
    let (_, h, w) = image.dim();
    let src = image::Rgb32FImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        image::Rgb([image[[0, y, x]], image[[1, y, x]], image[[2, y, x]]])
    });
    let out = image::imageops::resize(&src, width, height, image::imageops::FilterType::Lanczos3);
    Array3::from_shape_fn((3, height as usize, width as usize), |(c, y, x)| {
        out.get_pixel(x as u32, y as u32)[c].clamp(0.0, 1.0)
    })
}

/// One output row or column of a bilinear resize: its two source neighbours and the weight of
/// the second.
type Tap = (usize, usize, f32);

/// Index `k` of a row or column of `n` samples, possibly outside it: wrapped around (`wrap`:
/// periodic) or the nearest edge sample.
pub(crate) fn edge_index(k: isize, n: usize, wrap: bool) -> usize {
    if wrap {
        k.rem_euclid(n as isize) as usize
    } else {
        k.clamp(0, n as isize - 1) as usize
    }
}

/// The taps of a bilinear resize from `from` to `to` samples (pixel centres aligned); `wrap`
/// treats the signal as periodic, otherwise edges are repeated.
fn bilinear_taps(from: usize, to: usize, wrap: bool) -> Vec<Tap> {
    let at = |k: isize| edge_index(k, from, wrap);
    (0..to)
        .map(|i| {
            let p = (i as f32 + 0.5) * from as f32 / to as f32 - 0.5;
            let lo = p.floor();
            (at(lo as isize), at(lo as isize + 1), p - lo)
        })
        .collect()
}

/// Bilinear resize, optionally treating the image as periodic (`wrap`: a tileable texture's
/// right edge neighbours its left). Used to carry a coarse-scale result up to the next scale:
/// unlike Lanczos it never overshoots, so no pixel is pushed to 0 or 1, where the solver's
/// sigmoid parametrisation would all but freeze it.
pub fn upsample(image: &Planar, width: u32, height: u32, wrap: bool) -> Planar {
    let (_, h, w) = image.dim();
    let rows = bilinear_taps(h, height as usize, wrap);
    let cols = bilinear_taps(w, width as usize, wrap);
    Array3::from_shape_fn((3, height as usize, width as usize), |(c, y, x)| {
        let (y0, y1, fy) = rows[y];
        let (x0, x1, fx) = cols[x];
        let top = image[[c, y0, x0]] * (1.0 - fx) + image[[c, y0, x1]] * fx;
        let bottom = image[[c, y1, x0]] * (1.0 - fx) + image[[c, y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// Place images side by side on one PNG (a contact sheet), with a gap between them.
pub fn contact_sheet(images: &[&Planar], gap: usize) -> Planar {
    let h = images.iter().map(|i| i.dim().1).max().unwrap_or(0);
    let w: usize =
        images.iter().map(|i| i.dim().2).sum::<usize>() + gap * images.len().saturating_sub(1);
    let mut sheet = Array3::from_elem((3, h, w), 1.0f32);
    let mut x0 = 0;
    for img in images {
        let (_, ih, iw) = img.dim();
        sheet
            .slice_mut(ndarray::s![.., ..ih, x0..x0 + iw])
            .assign(img);
        x0 += iw + gap;
    }
    sheet
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    #[test]
    fn png_round_trip_is_exact_at_8_bits() {
        let dir = std::env::temp_dir().join(format!("neurotex-io-{}", std::process::id()));
        let img = Array3::from_shape_fn((3, 5, 7), |(c, y, x)| {
            ((c * 35 + y * 7 + x) % 256) as f32 / 255.0
        });
        let path = dir.join("sub/rt.png");
        save_png(&img, &path).unwrap();
        let back = load_rgb(&path).unwrap();
        assert!(back.notices.is_empty());
        assert_eq!(back.image, img);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn jpeg_grayscale_and_rgba_are_read_as_rgb_with_notices() {
        let dir = std::env::temp_dir().join(format!("neurotex-fmt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let gray = image::GrayImage::from_fn(20, 10, |x, _| image::Luma([(x * 12) as u8]));
        let jpg = dir.join("gray.JPG");
        gray.save_with_format(&jpg, image::ImageFormat::Jpeg)
            .unwrap();
        let loaded = load_rgb(&jpg).unwrap();
        assert_eq!(loaded.image.dim(), (3, 10, 20));
        assert!(loaded.notices[0].contains("grayscale"));
        // R = G = B after conversion.
        assert_eq!(
            loaded.image.index_axis(ndarray::Axis(0), 0),
            loaded.image.index_axis(ndarray::Axis(0), 2)
        );

        let rgba = image::RgbaImage::from_pixel(8, 8, image::Rgba([255, 0, 0, 128]));
        let png = dir.join("rgba.png");
        rgba.save(&png).unwrap();
        let loaded = load_rgb(&png).unwrap();
        assert!(loaded.notices.iter().any(|n| n.contains("alpha")));
        assert_eq!(loaded.image[[0, 3, 3]], 1.0);
        assert_eq!(loaded.image[[1, 3, 3]], 0.0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn upsample_interpolates_without_overshoot_and_wraps_when_asked() {
        // A column edge: 0 on the left half, 1 on the right.
        let img = Array3::from_shape_fn((3, 2, 4), |(_, _, x)| if x < 2 { 0.0f32 } else { 1.0 });
        let up = upsample(&img, 8, 4, false);
        assert!(up.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(up[[0, 0, 0]], 0.0); // clamped edge: the left border stays dark
        assert_eq!(up[[0, 0, 7]], 1.0);
        // Wrapped: the left border blends with the right edge, as on a torus.
        let wrapped = upsample(&img, 8, 4, true);
        assert_eq!(wrapped[[0, 0, 0]], 0.25);
        assert_eq!(wrapped[[0, 0, 7]], 0.75);
        // Same-size upsampling is the identity.
        assert_eq!(upsample(&img, 4, 2, true), img);
    }

    #[test]
    fn contact_sheet_places_images_side_by_side() {
        let a = Array3::from_elem((3, 4, 2), 0.0f32);
        let b = Array3::from_elem((3, 2, 3), 0.5f32);
        let sheet = contact_sheet(&[&a, &b], 1);
        assert_eq!(sheet.dim(), (3, 4, 6));
        assert_eq!(sheet[[0, 0, 0]], 0.0);
        assert_eq!(sheet[[0, 0, 2]], 1.0, "gap is white");
        assert_eq!(sheet[[0, 1, 3]], 0.5);
        assert_eq!(sheet[[0, 3, 4]], 1.0, "below a shorter image is white");
    }

    #[test]
    fn unreadable_inputs_are_clear_errors() {
        let missing = load_rgb(Path::new("/nonexistent/x.png"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("no such file"), "{missing}");
        let dir = std::env::temp_dir().join(format!("neurotex-bad-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.png");
        fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        assert!(load_rgb(&bad).is_err());
        assert!(check_writable(&dir).is_err(), "a folder is not a file");
        fs::remove_dir_all(dir).unwrap();
    }
}
