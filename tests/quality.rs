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
}
