//! Several exemplars at once: `--mix 1,0` is the first exemplar alone, bit for bit; an even
//! blend lands between the two; no exemplar is ever written; bad weights are refused.

mod common;

use std::path::Path;

use common::cli::*;
use common::*;

const QUICK: [&str; 8] = [
    "--size",
    "64",
    "--scales",
    "1",
    "--tolerance",
    "0",
    "--init",
    "noise",
];

/// Mean green minus red of an image: high on grass, low on maple leaves.
fn greenness(path: &Path) -> f64 {
    let image = image::open(path).unwrap().to_rgb8();
    let n = (image.width() * image.height()) as f64;
    image
        .pixels()
        .map(|p| p[1] as f64 - p[0] as f64)
        .sum::<f64>()
        / n
}

#[test]
fn a_blend_weighted_one_and_zero_is_the_first_exemplar_alone() {
    let dir = scratch("blend-one-zero");
    let (leaves, grass) = (example("maple_leaves.png"), example("grass_meadow.png"));
    let run = |name: &str, exemplars: &[&str], extra: &[&str]| {
        let (out, record) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.json")),
        );
        let args = [
            &["synth"][..],
            exemplars,
            &["-o", s(&out), "--record", s(&record)],
            &QUICK,
            extra,
        ];
        succeeds(&dir, &args.concat());
        (out, record)
    };
    let (alone, alone_rec) = run("alone", &[s(&leaves)], &["--iters", "10"]);
    let (mixed, mixed_rec) = run(
        "mixed",
        &[s(&leaves), s(&grass)],
        &["--mix", "1,0", "--iters", "10"],
    );
    assert_eq!(iteration_losses(&alone_rec), iteration_losses(&mixed_rec));
    assert_eq!(
        std::fs::read(&alone).unwrap(),
        std::fs::read(&mixed).unwrap()
    );
    let r = read_json(&mixed_rec);
    assert_eq!(r["blend"]["first_weight"], 1.0);
    assert_eq!(r["blend"]["others"][0]["weight"], 0.0);
    common::schema::assert_conforms("run-record.schema.json", &r);
    // Resumed, it blends the same exemplars with the same weights.
    succeeds(&dir, &["synth", "--resume", s(&mixed_rec), "--iters", "14"]);
    let r = read_json(&mixed_rec);
    assert_eq!(r["resumed_after_iterations"], 10);
    assert_eq!(r["blend"]["others"][0]["weight"], 0.0);
    assert!(r["blend"]["others"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("grass_meadow.png"));

    // An even blend: between the two in colour, and apart from both.
    let (even, _) = run("even", &[s(&leaves), s(&grass)], &["--iters", "40"]);
    let (only_grass, _) = run("grass", &[s(&grass)], &["--iters", "40"]);
    let (only_leaves, _) = run("leaves", &[s(&leaves)], &["--iters", "40"]);
    let (g, e, l) = (
        greenness(&only_grass),
        greenness(&even),
        greenness(&only_leaves),
    );
    assert!(
        l + 0.2 * (g - l) < e && e < g - 0.2 * (g - l),
        "green - red: leaves {l}, even blend {e}, grass {g}"
    );
}

#[test]
fn exemplars_are_never_written_and_bad_weights_are_refused() {
    let dir = scratch("blend-bad");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    std::fs::copy(example("pebbles.png"), &a).unwrap();
    std::fs::copy(example("grass_meadow.png"), &b).unwrap();
    let before = std::fs::read(&b).unwrap();
    let synth = |extra: &[&str], expect: &[&str]| {
        fails_with(&[&["synth", s(&a), s(&b)][..], extra].concat(), expect);
    };
    synth(&["-o", s(&b), "--overwrite"], &["never overwritten"]);
    synth(
        &["-o", "/tmp/never.png", "--mix", "1"],
        &["1 weights for 2 exemplars"],
    );
    synth(&["-o", "/tmp/never.png", "--mix", "1,-2"], &["0 or more"]);
    synth(&["-o", "/tmp/never.png", "--mix", "0,0"], &["all 0"]);
    let missing = dir.join("missing.png");
    fails_with(
        &["synth", s(&a), s(&missing), "-o", "/tmp/never.png"],
        &["missing.png"],
    );
    let style = [
        "style",
        s(&a),
        "--style",
        s(&b),
        "--style",
        s(&a),
        "-o",
        s(&b),
    ];
    fails_with(&style, &["never overwritten"]);
    assert_eq!(std::fs::read(&b).unwrap(), before);
    assert!(!Path::new("/tmp/never.png").exists());
}
