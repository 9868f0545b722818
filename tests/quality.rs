//! Quality at any size (issue 24): the measure (`neurotex measure`) and what it guards: no frame
//! along the edges of outputs larger than their exemplar, no speckle.

mod common;

use common::cli::*;
use common::*;
use serde_json::Value;

fn measured(args: &[&str]) -> Vec<Value> {
    let out = neurotex(&[&["measure", "--json"][..], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["images"].as_array().unwrap().clone()
}

#[test]
fn the_measure_sees_the_frame_of_zero_padding_and_none_on_the_exemplar() {
    let pebbles = example("pebbles.png");
    // docs/results/pebbles_512x256.png: the default before reflect padding (zero padding, a
    // frame), kept as the README's "before" picture.
    let framed = repo().join("docs/results/pebbles_512x256.png");
    let rows = measured(&["-e", s(&pebbles), s(&framed)]);
    let (exemplar, before) = (&rows[0]["measures"], &rows[1]["measures"]);
    assert_eq!(rows[0]["gram_distance"], 0.0);
    assert_eq!(exemplar["top_octave"], 1.0);
    for key in ["detail", "saturation"] {
        let ratio = exemplar["border"][key].as_f64().unwrap();
        assert!((ratio - 1.0).abs() < 0.05, "the exemplar's {key}: {ratio}");
        let ratio = before["border"][key].as_f64().unwrap();
        assert!(
            ratio > 1.1,
            "the zero-padded 512x256 result's {key}: {ratio}"
        );
    }
    assert_eq!(
        (rows[1]["width"].as_u64(), rows[1]["height"].as_u64()),
        (Some(512), Some(256))
    );
    // Through a reflect-padded network the exemplar is still at distance 0, and the zero-padded
    // result, whose edges were tuned to the zero-padded network's statistics, is further away.
    let reflect = measured(&["--gram-padding", "reflect", "-e", s(&pebbles), s(&framed)]);
    assert_eq!(reflect[0]["gram_distance"], 0.0);
    let (zero_meter, reflect_meter) = (
        rows[1]["gram_distance"].as_f64().unwrap(),
        reflect[1]["gram_distance"].as_f64().unwrap(),
    );
    assert!(
        reflect_meter > 1.2 * zero_meter,
        "zero meter {zero_meter}, reflect meter {reflect_meter}"
    );
}

/// The pebbles photo shrunk to 64² (2x2 box filter twice): an exemplar a quarter of the size of
/// the output below, where a frame shows at once.
fn small_pebbles(dir: &std::path::Path) -> std::path::PathBuf {
    let photo = image::open(example("pebbles.png")).unwrap().to_rgb8();
    let small = image::imageops::resize(&photo, 64, 64, image::imageops::FilterType::Triangle);
    let path = dir.join("pebbles64.png");
    small.save(&path).unwrap();
    path
}

#[test]
fn the_default_grows_no_frame_where_zero_padding_does() {
    let dir = scratch("quality-frame");
    let exemplar = small_pebbles(&dir);
    let run = |padding: &str| {
        let out = dir.join(format!("{padding}.png"));
        let args = [
            "--size",
            "256x128",
            "--iters",
            "80",
            "--padding",
            padding,
            "-q",
        ];
        succeeds(
            &dir,
            &[&["synth", s(&exemplar), "-o", s(&out)][..], &args].concat(),
        );
        let rows = measured(&["-e", s(&exemplar), s(&out)]);
        let border = &rows[1]["measures"]["border"];
        (
            border["detail"].as_f64().unwrap(),
            border["saturation"].as_f64().unwrap(),
        )
    };
    // Measured once: zero 1.24 / 1.46, reflect 1.00 / 1.09.
    let zero = run("zero");
    let default = run("auto");
    assert!(
        zero.0 > 1.15 && zero.1 > 1.25,
        "zero padding frames it: {zero:?}"
    );
    for (name, ratio) in [("detail", default.0), ("saturation", default.1)] {
        assert!(
            (ratio - 1.0).abs() < 0.12,
            "the default's band {name}: {ratio} ({default:?})"
        );
    }
}
