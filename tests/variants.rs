//! Statistic variants through the library: chosen from the manifest alone, options validated,
//! sliced runs in rounds with redrawn directions.

mod common;

use common::*;
use neurotex::init::Init;
use neurotex::{LayerWeights, Synthesis};

#[test]
fn rust_selects_a_variant_from_the_manifest_alone() {
    // A models folder whose manifest names the Gram pair "my-stat" and nothing else: neurotex
    // must run it by that name, knowing nothing else about it.
    let dir = scratch("manifest-only");
    let src = repo().join("models");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "onnx" || e == "bin") {
            std::os::unix::fs::symlink(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("manifest.json")).unwrap()).unwrap();
    let mut gram = manifest["variants"]["gram"].clone();
    gram["statistic"] = "my-stat".into();
    manifest["variants"] = serde_json::json!({ "my-variant": gram });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();

    let outcome = Synthesis::builder()
        .exemplar(example("wooden_fence.png"))
        .models_dir(&dir)
        .statistic("my-stat")
        .size(32, 32)
        .iterations(5)
        .build()
        .unwrap()
        .run()
        .unwrap();
    assert!(outcome.best_loss < outcome.initial_loss);
    assert_eq!(outcome.record.settings.statistic, "my-stat");
    let missing = Synthesis::builder()
        .exemplar(example("wooden_fence.png"))
        .models_dir(&dir)
        .statistic("gram")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(
        missing.contains("unknown statistic 'gram'") && missing.contains("my-stat"),
        "{missing}"
    );
}

#[test]
fn options_are_checked_against_the_variant() {
    let build = |statistic: &str, norm: &str| {
        Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .statistic(statistic)
            .option("gram-norm", norm)
            .size(32, 32)
            .build()
            .err()
            .map(|e| e.to_string())
    };
    let e = build("sorted", "paper").unwrap();
    assert!(
        e.contains("--gram-norm does not apply to the sorted statistic"),
        "{e}"
    );
    let e = build("gram", "half").unwrap();
    assert!(e.contains("no-n2") && e.contains("paper"), "{e}");
    assert!(build("gram", "no-m2").is_none());
}

#[test]
fn sorted_and_sliced_lower_the_loss_and_sliced_redraws_its_directions() {
    for (statistic, weights) in [
        ("sorted", LayerWeights::Shrink),
        ("sliced", LayerWeights::Grow),
    ] {
        let outcome = Synthesis::builder()
            .exemplar(example("maple_leaves.png"))
            .statistic(statistic)
            .layer_weights(weights)
            .size(48, 48)
            .iterations(30)
            .tolerance(0.0)
            .redraw_every(10)
            // From white noise: no passes, so the rounds are the redraws alone.
            .init(Init::Noise)
            .build()
            .unwrap()
            .run()
            .unwrap();
        let rounds: Vec<usize> = outcome.record.evaluations.iter().map(|e| e.round).collect();
        println!(
            "{statistic}: loss {:e} -> {:e}, distance {:.3} -> {:.3}, rounds {:?}",
            outcome.initial_loss,
            outcome.best_loss,
            outcome.start_distance,
            outcome.final_distance,
            rounds.last()
        );
        assert!(
            outcome.best_loss < 0.1 * outcome.initial_loss,
            "{statistic}"
        );
        assert!(
            outcome.final_distance < outcome.start_distance,
            "{statistic}"
        );
        if statistic == "sliced" {
            assert_eq!(rounds.last(), Some(&2), "30 iterations, redrawn every 10");
            assert_eq!(outcome.record.redraw_every, Some(10));
        } else {
            assert!(
                rounds.iter().all(|r| *r == 0),
                "sorted has no step inputs: one round"
            );
            assert_eq!(outcome.record.redraw_every, None);
        }
    }
}
