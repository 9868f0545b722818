//! `neurotex fill` and `neurotex expand` on a real photo: every kept pixel is the photo's, bit for
//! bit; the holes get texture whose statistics approach the photo's; bad masks and sizes are
//! refused before any work, and neither the photo nor the mask is ever written.

mod common;

use std::path::{Path, PathBuf};

use common::cli::*;
use common::*;
use image::{Rgb, RgbImage};

/// Pebbles cropped to 120x88 (not multiples of 16: the canvas pads, the output is cropped back).
fn photo(dir: &Path) -> (PathBuf, RgbImage) {
    let full = image::open(example("pebbles.png")).unwrap().to_rgb8();
    let crop = image::imageops::crop_imm(&full, 30, 50, 120, 88).to_image();
    let path = dir.join("photo.png");
    crop.save(&path).unwrap();
    (path, crop)
}

/// A mask `name`.png of width x height, white where `hole` says.
fn mask(
    dir: &Path,
    name: &str,
    (width, height): (u32, u32),
    hole: impl Fn(u32, u32) -> bool,
) -> PathBuf {
    let path = dir.join(format!("{name}.png"));
    RgbImage::from_fn(width, height, |x, y| {
        if hole(x, y) {
            Rgb([255; 3])
        } else {
            Rgb([0; 3])
        }
    })
    .save(&path)
    .unwrap();
    path
}

/// A 30x20 hole inside, and one that touches the left edge.
fn holes(x: u32, y: u32) -> bool {
    ((60..90).contains(&x) && (30..50).contains(&y)) || (x < 12 && (60..80).contains(&y))
}

const QUICK: [&str; 6] = ["--iters", "40", "--scales", "1", "--tolerance", "0"];

#[test]
fn fill_keeps_every_other_pixel_and_matches_the_photo_in_the_holes() {
    let dir = scratch("canvas-fill");
    let (photo_path, photo) = photo(&dir);
    let mask_path = mask(&dir, "holes", (120, 88), holes);
    let (out, record) = (dir.join("filled.png"), dir.join("filled.json"));
    let args = [
        &[
            "fill",
            s(&photo_path),
            "--mask",
            s(&mask_path),
            "-o",
            s(&out),
        ][..],
        &["--record", s(&record)],
        &QUICK,
    ]
    .concat();
    succeeds(&dir, &args);
    let filled = image::open(&out).unwrap().to_rgb8();
    assert_eq!(filled.dimensions(), (120, 88));
    let mut hole_values = Vec::new();
    for (x, y, p) in filled.enumerate_pixels() {
        if holes(x, y) {
            hole_values.push(p[1] as f64);
        } else {
            assert_eq!(p, photo.get_pixel(x, y), "kept pixel ({x},{y}) changed");
        }
    }
    // Texture in the holes, not the flat colour they start from.
    let mean = hole_values.iter().sum::<f64>() / hole_values.len() as f64;
    let var = hole_values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / mean.max(1.0);
    assert!(var / hole_values.len() as f64 > 5.0, "flat holes: {var}");
    let r = read_json(&record);
    let (start, best) = (
        r["initial_loss"].as_f64().unwrap(),
        r["best_loss"].as_f64().unwrap(),
    );
    assert!(best < start / 5.0, "loss {start} -> {best}");
    let (d0, d1) = (
        r["start_distance"].as_f64().unwrap(),
        r["final_distance"].as_f64().unwrap(),
    );
    // Over the holes and their context against the photo's kept pixels: deep layers see only a
    // few positions of either (8x6 at relu5_1), which no fill matches exactly.
    assert!(d1 < 0.8 * d0, "statistic distance {d0} -> {d1}");
}

#[test]
fn expand_keeps_the_photo_at_its_anchor() {
    let dir = scratch("canvas-expand");
    let (photo_path, photo) = photo(&dir);
    let out = dir.join("wider.png");
    let args = [
        &[
            "expand",
            s(&photo_path),
            "--size",
            "150x96",
            "--anchor",
            "top-left",
        ][..],
        &["-o", s(&out)],
        &QUICK,
    ]
    .concat();
    succeeds(&dir, &args);
    let wider = image::open(&out).unwrap().to_rgb8();
    assert_eq!(wider.dimensions(), (150, 96));
    for (x, y, p) in photo.enumerate_pixels() {
        assert_eq!(p, wider.get_pixel(x, y), "photo pixel ({x},{y}) changed");
    }
    let border: Vec<u8> = (0..96).map(|y| wider.get_pixel(140, y)[0]).collect();
    let spread = border.iter().max().unwrap() - border.iter().min().unwrap();
    assert!(spread > 40, "flat border: {border:?}");
}

#[test]
fn bad_masks_and_sizes_are_refused_and_nothing_is_written() {
    let dir = scratch("canvas-bad");
    let (photo_path, _) = photo(&dir);
    let before = std::fs::read(&photo_path).unwrap();
    let good = mask(&dir, "good", (120, 88), holes);
    let wrong_size = mask(&dir, "wrong_size", (100, 88), holes);
    let empty = mask(&dir, "empty", (120, 88), |_, _| false);
    let full = mask(&dir, "full", (120, 88), |_, _| true);
    let out = dir.join("o.png");
    let fill = |m: &Path, extra: &[&str], expect: &[&str]| {
        let args = [
            &["fill", s(&photo_path), "--mask", s(m), "-o", s(&out)][..],
            extra,
        ]
        .concat();
        fails_with(&args, expect);
    };
    fill(&wrong_size, &[], &["100x88", "120x88", "same size"]);
    fill(&empty, &[], &["no white pixel"]);
    fill(&full, &[], &["white everywhere", "neurotex synth"]);
    fill(&good, &["--size", "64"], &["--size", "expand"]);
    fill(&good, &["--tile"], &["--tile"]);
    fill(&good, &["--match-colors"], &["--match-colors"]);
    fill(Path::new("/no/such/mask.png"), &[], &["/no/such/mask.png"]);
    // The photo and the mask are inputs: never an output, not even with --overwrite.
    let onto = |target: &Path| {
        let args = [
            "fill",
            s(&photo_path),
            "--mask",
            s(&good),
            "-o",
            s(target),
            "--overwrite",
        ];
        fails_with(&args, &[s(target)]);
    };
    onto(&photo_path);
    onto(&good);
    let expand = |extra: &[&str], expect: &[&str]| {
        fails_with(
            &[&["expand", s(&photo_path), "-o", s(&out)][..], extra].concat(),
            expect,
        );
    };
    expand(&[], &["--by", "--size"]);
    expand(&["--size", "100x100"], &["larger than the photo"]);
    assert!(!out.exists(), "an output was written");
    assert_eq!(
        std::fs::read(&photo_path).unwrap(),
        before,
        "the photo changed"
    );
}
