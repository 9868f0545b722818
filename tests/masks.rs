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
    assert_eq!(r["regions"]["kind"], "fill");
    assert_eq!(r["regions"]["output_size"], serde_json::json!([120, 88]));
    let inputs = r["regions"]["inputs"].to_string();
    assert!(
        inputs.contains("photo.png") && inputs.contains("holes.png"),
        "{inputs}"
    );
    common::schema::assert_conforms("run-record.schema.json", &r);
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

    // Resumed for 20 more iterations: the same holes, the photo's pixels still exact, the loss
    // going on from where it was.
    let more = ["synth", "--resume", s(&record), "--iters", "60"];
    succeeds(&dir, &more);
    let resumed = read_json(&record);
    assert_eq!(resumed["resumed_after_iterations"], 40);
    let again = resumed["best_loss"].as_f64().unwrap();
    assert!(again <= best * 1.01, "resumed loss {again} after {best}");
    let filled = image::open(&out).unwrap().to_rgb8();
    for (x, y, p) in filled.enumerate_pixels() {
        if !holes(x, y) {
            assert_eq!(
                p,
                photo.get_pixel(x, y),
                "kept pixel ({x},{y}) changed on resume"
            );
        }
    }
    // A mask that changed since would fill other holes than the image holds: refused.
    mask(&dir, "holes", (120, 88), |x, y| holes(x, y) || x > 100);
    let more = ["synth", "--resume", s(&record), "--iters", "80"];
    fails_with(&more, &["holes.png changed since the run started"]);
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
fn an_interrupted_expansion_or_guided_synthesis_resumes_on_its_own_inputs() {
    let dir = scratch("canvas-resume");
    let (photo_path, photo) = photo(&dir);
    let (out, record) = (dir.join("wider.png"), dir.join("wider.json"));
    let few = ["--iters", "8", "--scales", "1", "--record", s(&record)];
    let expand = ["expand", s(&photo_path), "--by", "12", "--anchor", "right"];
    succeeds(&dir, &[&expand[..], &["-o", s(&out)], &few].concat());
    let r = read_json(&record);
    // Right: flush with the right edge, centred vertically.
    assert_eq!(r["regions"]["photo_at"], serde_json::json!([24, 12]));
    common::schema::assert_conforms("run-record.schema.json", &r);
    succeeds(&dir, &["synth", "--resume", s(&record), "--iters", "16"]);
    assert_eq!(read_json(&record)["resumed_after_iterations"], 8);
    let wider = image::open(&out).unwrap().to_rgb8();
    assert_eq!(wider.dimensions(), (144, 112));
    for (x, y, p) in photo.enumerate_pixels() {
        assert_eq!(
            p,
            wider.get_pixel(x + 24, y + 12),
            "photo pixel ({x},{y}) changed"
        );
    }

    let [exemplar, ge, go, _] = guided_inputs(&dir);
    let (out, record) = (dir.join("guided.png"), dir.join("guided.json"));
    let few = ["--iters", "8", "--scales", "1", "--record", s(&record)];
    let guided = ["--guide-exemplar", s(&ge), "--guide-output", s(&go)];
    succeeds(
        &dir,
        &[&["synth", s(&exemplar), "-o", s(&out)][..], &guided, &few].concat(),
    );
    succeeds(&dir, &["synth", "--resume", s(&record), "--iters", "16"]);
    let r = read_json(&record);
    assert_eq!(r["resumed_after_iterations"], 8);
    assert_eq!(r["regions"]["kind"], "guided");
    // The output guide swapped for another: refused.
    std::fs::copy(&ge, &go).unwrap();
    let more = ["synth", "--resume", s(&record), "--iters", "24"];
    fails_with(&more, &["out.guide.png changed since the run started"]);
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

/// A 64x64 exemplar, pebbles on the left and grass on the right, its guide (red | blue), and an
/// output guide with the sides swapped.
fn guided_inputs(dir: &Path) -> [PathBuf; 4] {
    let half = |name: &str| {
        let full = image::open(example(name)).unwrap().to_rgb8();
        image::imageops::resize(&full, 64, 64, image::imageops::FilterType::Triangle)
    };
    let (pebbles, grass) = (half("pebbles.png"), half("grass_meadow.png"));
    let exemplar = RgbImage::from_fn(64, 64, |x, y| {
        if x < 32 {
            *pebbles.get_pixel(x + 16, y)
        } else {
            *grass.get_pixel(x - 16, y)
        }
    });
    let paths = ["ex.png", "ex.guide.png", "out.guide.png", "bad.guide.png"].map(|n| dir.join(n));
    exemplar.save(&paths[0]).unwrap();
    let (red, blue, green) = (Rgb([255, 0, 0]), Rgb([0, 0, 255]), Rgb([0, 255, 0]));
    let split =
        |left, right| RgbImage::from_fn(64, 64, move |x, _| if x < 32 { left } else { right });
    split(red, blue).save(&paths[1]).unwrap();
    split(blue, red).save(&paths[2]).unwrap();
    split(blue, green).save(&paths[3]).unwrap();
    paths
}

/// Mean (red - green) of the columns `xs`: high on pebbles, low on grass.
fn redness(image: &RgbImage, xs: std::ops::Range<u32>) -> f64 {
    let mut sum = 0.0;
    for x in xs.clone() {
        for y in 0..image.height() {
            let p = image.get_pixel(x, y);
            sum += p[0] as f64 - p[1] as f64;
        }
    }
    sum / (xs.len() as f64 * image.height() as f64)
}

#[test]
fn guided_synthesis_puts_each_texture_where_its_colour_is() {
    let dir = scratch("guided");
    let [exemplar, ge, go, _] = guided_inputs(&dir);
    let out = dir.join("guided.png");
    let args = [
        &["synth", s(&exemplar), "-o", s(&out)][..],
        &["--guide-exemplar", s(&ge), "--guide-output", s(&go)],
        &QUICK,
    ]
    .concat();
    succeeds(&dir, &args);
    let result = image::open(&out).unwrap().to_rgb8();
    let source = image::open(&exemplar).unwrap().to_rgb8();
    let (pebbles, grass) = (redness(&source, 0..32), redness(&source, 32..64));
    // The output guide swaps the sides: grass on the left, pebbles on the right (the 4 columns
    // next to the boundary left out).
    let (left, right) = (redness(&result, 0..28), redness(&result, 36..64));
    assert!(pebbles - grass > 30.0, "exemplar halves {pebbles} {grass}");
    assert!(
        (left - grass).abs() < (left - pebbles).abs()
            && (right - pebbles).abs() < (right - grass).abs(),
        "left {left} right {right} (pebbles {pebbles}, grass {grass})"
    );
}

#[test]
fn bad_guides_are_refused() {
    let dir = scratch("guided-bad");
    let [exemplar, ge, go, bad] = guided_inputs(&dir);
    let out = dir.join("o.png");
    let guided = |ge: &Path, go: &Path, extra: &[&str], expect: &[&str]| {
        let args = [
            &[
                "synth",
                s(&exemplar),
                "-o",
                s(&out),
                "--guide-exemplar",
                s(ge),
            ][..],
            &["--guide-output", s(go)],
            extra,
        ]
        .concat();
        fails_with(&args, expect);
    };
    guided(&ge, &bad, &[], &["#00ff00", "not in the exemplar's guide"]);
    guided(
        &go,
        &ge,
        &["--size", "64x48"],
        &["64x64", "leave --size out"],
    );
    let small = dir.join("small.guide.png");
    RgbImage::new(32, 32).save(&small).unwrap();
    guided(&small, &go, &[], &["32x32", "same size"]);
    let many = dir.join("many.guide.png");
    RgbImage::from_fn(64, 64, |x, _| Rgb([(x * 4) as u8, 0, 0]))
        .save(&many)
        .unwrap();
    guided(&many, &go, &[], &["64 colours, at most 8"]);
    fails_with(
        &[
            "synth",
            s(&exemplar),
            "-o",
            s(&out),
            "--guide-exemplar",
            s(&ge),
        ],
        &["--guide-output"],
    );
    assert!(!out.exists());
}
