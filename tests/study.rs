//! The study command at CI size: every axis, one texture and one non-texture.

mod common;

use std::process::Command;

use common::*;

#[test]
fn study_writes_sheets_and_tables_for_every_cell() {
    let dir = scratch("study");
    let out = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args([
            "study",
            example("bark_tree.png").to_str().unwrap(),
            example("taj_mahal.png").to_str().unwrap(),
        ])
        .args([
            "-o",
            dir.to_str().unwrap(),
            "--size",
            "32",
            "--iters",
            "3",
            "--max-evals",
            "4",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for axis in [
        "normalisation",
        "layers",
        "statistic",
        "weights",
        "solver",
        "all",
    ] {
        let sheet = neurotex::image_io::load_rgb(&dir.join(format!("sheet_{axis}.png"))).unwrap();
        let (_, h, w) = sheet.image.dim();
        assert!(h > 2 * 96 && w > 3 * 96, "{axis}: {w}x{h}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("study.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    // 4 + 4 + 3 + 3 + 3 cells, of which the baseline is on all five axes: 13 distinct, x2 photos.
    assert_eq!(cells.len(), 26);
    for c in cells {
        for key in [
            "color_distance",
            "spectrum_distance",
            "gram_distance",
            "final_loss",
            "seconds",
        ] {
            assert!(c[key].as_f64().unwrap().is_finite(), "{key} in {c}");
        }
        let evals = c["evaluations"].as_u64().unwrap();
        assert!(
            (3..=4).contains(&evals),
            "{evals} evaluations: the budget is 4"
        );
        assert!(std::path::Path::new(c["image"].as_str().unwrap()).exists());
    }
    let md = std::fs::read_to_string(dir.join("study.md")).unwrap();
    for needle in [
        "## bark_tree",
        "## taj_mahal",
        "| no-n2 |",
        "| deep |",
        "| sliced |",
        "| shrink |",
    ] {
        assert!(md.contains(needle), "{needle} missing from study.md");
    }
    // A second run into the same folder needs --overwrite.
    let again = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args([
            "study",
            example("bark_tree.png").to_str().unwrap(),
            "-o",
            dir.to_str().unwrap(),
        ])
        .args(["--size", "32", "--iters", "1", "--axes", "layers"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    let bad_axis = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args([
            "study",
            example("bark_tree.png").to_str().unwrap(),
            "-o",
            dir.join("x").to_str().unwrap(),
        ])
        .args(["--axes", "colour"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_axis.stderr).contains("unknown study axis 'colour'"));
}
