//! What the original method lacks: tileable output, coarse-to-fine, the VGG-19 backbone. Each
//! test proves the effect (against the same run without the feature), not only that it runs.

mod common;

use common::*;
use neurotex::init::Init;
use neurotex::manifest::Padding;
use neurotex::metrics::{seam_view, tile};
use neurotex::objective::{statistics_distance, Statistics};
use neurotex::optimizer::{EvaluationRecord, Solver, StopReason};
use neurotex::record::RunRecord;
use neurotex::synthesis::Outcome;
use neurotex::upsample::Upsampling;
use neurotex::EdgePadding;
use neurotex::{image_io::Planar, Event, Synthesis, SynthesisBuilder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Gram distance (zero-padded VGG-16, one layer per block) of an image to the exemplar.
fn gram_distance(image: &Planar, exemplar: &Planar) -> f64 {
    let models = models();
    let gram = models.find("gram", "vgg16", Padding::Zero).unwrap();
    let mut stats = Statistics::open(&models, gram, cpu()).unwrap();
    let layers: Vec<String> = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        .map(String::from)
        .to_vec();
    let target = stats.compute(exemplar, Some(&layers), &Vec::new()).unwrap();
    let got = stats.compute(image, Some(&layers), &Vec::new()).unwrap();
    statistics_distance(&got, &target)
}

/// Mean absolute difference between the last and the first column (and row), over the mean
/// difference between neighbouring columns (rows) inside: about 1 when the edges meet.
fn pixel_seam_ratio(image: &Planar) -> f64 {
    let (_, h, w) = image.dim();
    let diff = |a: (usize, usize), b: (usize, usize)| -> f64 {
        (0..3)
            .map(|c| (image[[c, a.0, a.1]] - image[[c, b.0, b.1]]).abs() as f64)
            .sum()
    };
    let mut inside = 0.0;
    let mut seam = 0.0;
    for y in 0..h {
        inside += (0..w - 1).map(|x| diff((y, x), (y, x + 1))).sum::<f64>() / (w - 1) as f64;
        seam += diff((y, w - 1), (y, 0));
    }
    for x in 0..w {
        inside += (0..h - 1).map(|y| diff((y, x), (y + 1, x))).sum::<f64>() / (h - 1) as f64;
        seam += diff((h - 1, x), (0, x));
    }
    seam / inside
}

#[test]
fn tileable_output_has_no_seams() {
    // The centre of the 2x2 tiling, where both seams cross, must be as good a texture as the
    // image itself. Measured at 128², 100 iterations, single-scale: tileable 1.21x the image's
    // distance, plain 2.12x (its opposite edges do not meet). Coarse-to-fine (the default at
    // 128²) must keep the edges meeting through the upsampling, pixel by pixel too.
    let run = |tile_it: bool, scales: usize| {
        let synthesis = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(128, 128)
            .scales(scales)
            .iterations(100)
            .tile(tile_it)
            // The plain result: the paper's network and start, whose opposite edges do not match.
            .padding(EdgePadding::Zero)
            .init(Init::Noise)
            .build()
            .unwrap();
        let exemplar = synthesis.exemplar().clone();
        let outcome = synthesis.run().unwrap();
        assert_eq!(outcome.record.settings.tile, tile_it);
        let whole = gram_distance(&outcome.image, &exemplar);
        let seams = gram_distance(&seam_view(&outcome.image), &exemplar);
        let pixels = pixel_seam_ratio(&outcome.image);
        println!(
            "tile {tile_it}, {scales} scales: distance {whole:.4}, across the seams {seams:.4}, \
             pixel seam ratio {pixels:.2}"
        );
        (seams / whole, pixels)
    };
    let (tiled, tiled_pixels) = run(true, 1);
    let (plain, _) = run(false, 1);
    let (tiled_c2f, tiled_c2f_pixels) = run(true, 2);
    assert!(tiled < 1.5, "tileable result shows its seams ({tiled:.2}x)");
    assert!(
        tiled_c2f < 1.5,
        "coarse-to-fine tileable result shows seams ({tiled_c2f:.2}x)"
    );
    assert!(
        plain > 1.6,
        "the plain result should show its seams ({plain:.2}x)"
    );
    for p in [tiled_pixels, tiled_c2f_pixels] {
        assert!(
            p < 1.5,
            "edge pixels do not meet: {p:.2}x the inner differences"
        );
    }
}

#[test]
fn tile_repeats_the_image() {
    let image = random_image(16, 3);
    let tiled = tile(&image, 2, 3);
    assert_eq!(tiled.dim(), (3, 48, 32));
    assert_eq!(tiled[[1, 5 + 32, 7 + 16]], image[[1, 5, 7]]);
    assert_eq!(seam_view(&image)[[2, 0, 0]], image[[2, 8, 8]]);
}

#[test]
fn coarse_to_fine_beats_single_scale_on_the_same_full_size_budget() {
    // Same seed and iterations at full size; coarse-to-fine first runs the same number at half
    // size (a quarter of the cost per evaluation), matching the half-size exemplar there.
    let run = |scales: usize| {
        let synthesis = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(128, 128)
            .scales(scales)
            .iterations(30)
            .coarse_iterations(30)
            .tolerance(0.0)
            .seed(2)
            // The paper's single-scale start, against which coarse-to-fine is measured.
            .init(Init::Noise)
            .build()
            .unwrap();
        let sizes: Vec<String> = synthesis
            .scale_sizes()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let outcome = synthesis.run().unwrap();
        let evals = &outcome.record.evaluations;
        let at_full = evals.iter().filter(|e| e.scale == scales - 1).count();
        assert!(at_full >= 30, "{at_full} evaluations at full size");
        assert!(evals.windows(2).all(|w| w[0].scale <= w[1].scale));
        // The loss of the first full-size image: noise, or the upsampled coarse result.
        (sizes, outcome.initial_loss, outcome.final_distance)
    };
    let (single_sizes, noise_loss, single) = run(1);
    let (multi_sizes, upsampled_loss, multi) = run(2);
    println!(
        "full-size start loss: noise {noise_loss:.3e}, upsampled coarse result \
         {upsampled_loss:.3e}; final distance: single-scale {single:.4}, coarse-to-fine {multi:.4}"
    );
    assert_eq!(single_sizes, ["128x128"]);
    assert_eq!(multi_sizes, ["64x64", "128x128"]);
    // The half-size result, matched to the half-size exemplar, is already a texture at full size.
    assert!(upsampled_loss < 0.5 * noise_loss);
    // Measured 0.0307 vs 0.0355.
    assert!(multi < single, "coarse-to-fine {multi} vs {single}");
}

#[test]
fn spectrum_start_is_closer_to_the_exemplar_and_stays_ahead() {
    // Same seed, size and iterations; only the starting image differs (without the passes,
    // which a spectrum start runs by default: see the next test).
    let run = |init: Init| {
        let outcome = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(128, 128)
            .scales(1)
            .iterations(20)
            .tolerance(0.0)
            .seed(2)
            .init(init)
            .shallow_first(0)
            .skip_deepest(0)
            .build()
            .unwrap()
            .run()
            .unwrap();
        assert_eq!(outcome.record.settings.init, init);
        (outcome.initial_loss, outcome.best_loss)
    };
    let (noise_start, noise_end) = run(Init::Noise);
    let (spectrum_start, spectrum_end) = run(Init::Spectrum);
    println!(
        "start loss: noise {noise_start:.3e}, spectrum {spectrum_start:.3e}; after 20 \
         iterations: {noise_end:.3e} vs {spectrum_end:.3e}"
    );
    // Measured (128², pebbles, seed 2): start 2.05e8 vs 1.43e9, after 20 iterations 2.2e6 vs
    // 6.8e6.
    assert!(spectrum_start < 0.25 * noise_start);
    assert!(spectrum_end < 0.7 * noise_end);
}

#[test]
fn a_spectrum_start_runs_the_passes_and_reports_its_full_loss() {
    // Single-scale from the exemplar's spectrum: like an upsampled coarse result, the start has
    // the exemplar's coarse statistics, so the run starts with the passes (40 iterations: 10 up
    // to relu3_1, 13 without block 5, 17 on all five layers).
    let run = |init: Init, passes: Option<usize>| {
        let mut builder = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(128, 128)
            .scales(1)
            .iterations(40)
            .tolerance(0.0)
            .seed(2)
            .init(init);
        if let Some(n) = passes {
            builder = builder.shallow_first(n).skip_deepest(n);
        }
        let synthesis = builder.build().unwrap();
        let notices = synthesis.notices().to_vec();
        (synthesis.run().unwrap(), notices)
    };
    let (with, notices) = run(Init::Spectrum, None);
    assert!(notices.is_empty(), "{notices:?}");
    let record = &with.record;
    assert_eq!(pass_plan(record), [("relu3_1", 10), ("relu4_1", 13)]);
    assert_eq!(record.shallow_first, Some(10));
    let rounds: Vec<Option<&str>> = record.rounds.iter().map(|r| r.pass.as_deref()).collect();
    assert_eq!(rounds, [Some("relu3_1"), Some("relu4_1"), None]);
    assert_eq!(record.evaluations[0].pass.as_deref(), Some("relu3_1"));
    // The start's loss is its full loss (the same image as the run without passes starts from;
    // the optimiser's first evaluation goes through the pixel parametrisation, hence 1e-3), not
    // the shallow pass's first, which leaves relu4_1 and relu5_1 out.
    let (without, _) = run(Init::Spectrum, Some(0));
    assert!(without.record.passes.is_empty());
    let relative = (with.initial_loss / without.initial_loss - 1.0).abs();
    assert!(
        relative < 1e-3,
        "{} vs {}",
        with.initial_loss,
        without.initial_loss
    );
    assert!(with.initial_loss > record.evaluations[0].loss);
    // Cheaper for the same iterations (the passes' graphs stop early) and not worse for it.
    let cost = |outcome: &Outcome| outcome.record.evaluations.iter().map(|e| e.seconds).sum();
    let (with_s, without_s): (f64, f64) = (cost(&with), cost(&without));
    println!(
        "spectrum start {:.3e}; after 40 iterations with the passes {:.3e} ({with_s:.1} s of \
         evaluations), without {:.3e} ({without_s:.1} s)",
        with.initial_loss, with.best_loss, without.best_loss
    );
    assert!(with.best_loss < 1.5 * without.best_loss);
    // From white noise (the paper's method), single-scale runs no passes, and says so when
    // they are asked for.
    let (noise, notices) = run(Init::Noise, Some(10));
    assert!(noise.record.passes.is_empty() && noise.record.shallow_first.is_none());
    assert!(noise.record.evaluations.iter().all(|e| e.pass.is_none()));
    assert!(
        notices
            .iter()
            .any(|n| n.contains("--shallow-first 10 has no effect") && n.contains("white noise")),
        "{notices:?}"
    );
}

#[test]
fn scales_are_chosen_from_the_size_and_checked() {
    let plan = |size: u32, scales: Option<usize>| {
        let mut b = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(size, size);
        if let Some(n) = scales {
            b = b.scales(n);
        }
        b.build()
            .map(|s| s.scale_sizes().iter().map(|s| s.width).collect::<Vec<_>>())
    };
    assert_eq!(plan(64, None).unwrap(), [64]);
    assert_eq!(plan(128, None).unwrap(), [64, 128]);
    // 512² from 256²: drawn with a margin of 8 pixels per side at the coarsest scale, doubled
    // at each finer one (src/margin.rs).
    assert_eq!(plan(512, None).unwrap(), [144, 288, 576]);
    assert_eq!(plan(512, Some(1)).unwrap(), [528]);
    for (n, expect) in [(0, "--scales"), (9, "--scales"), (4, "use fewer scales")] {
        let e = plan(128, Some(n)).err().unwrap().to_string();
        assert!(e.contains(expect), "{e}");
    }
}

#[test]
fn vgg19_backbone_synthesises_and_is_recorded() {
    let synthesis = Synthesis::builder()
        .exemplar(example("bark_tree.png"))
        .size(64, 64)
        .iterations(20)
        .backbone("vgg19")
        .layers("all")
        .build()
        .unwrap();
    assert_eq!(synthesis.layers().len(), 16, "VGG-19 has 16 conv layers");
    let outcome = synthesis.run().unwrap();
    assert!(outcome.best_loss < 0.1 * outcome.initial_loss);
    println!(
        "loss {:.3e} -> {:.3e}, distance {:.4} -> {:.4}",
        outcome.initial_loss, outcome.best_loss, outcome.start_distance, outcome.final_distance
    );
    // Measured: loss 1.37e10 -> 8.5e8, distance 4.22 -> 2.20 after 20 iterations (0.52). It was
    // below 0.5 before the optimiser's sums (src/pixels.rs) and the exported graphs changed in
    // rounding: at 64² with 16 layers the point reached after 20 iterations is that sensitive
    // (30 iterations: 0.46), so the bound leaves room.
    assert!(outcome.final_distance < 0.7 * outcome.start_distance);
    assert_eq!(outcome.record.settings.backbone, "vgg19");
    assert!(outcome
        .record
        .models
        .iter()
        .any(|m| m.file == "vgg19.weights.bin"));
    let e = Synthesis::builder()
        .exemplar(example("bark_tree.png"))
        .backbone("resnet50")
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("resnet50") && e.contains("vgg19"), "{e}");
}

/// Pebbles at 128², coarse-to-fine with 2 scales (20 iterations at 64²), seed 4, no early stop.
fn pebbles_two_scales(iterations: usize) -> SynthesisBuilder {
    Synthesis::builder()
        .exemplar(example("pebbles.png"))
        .size(128, 128)
        .scales(2)
        .iterations(iterations)
        .coarse_iterations(20)
        .tolerance(0.0)
        .seed(4)
}

#[test]
fn shallow_pass_lowers_the_full_loss_at_a_fraction_of_the_cost() {
    // Coarse-to-fine, 2 scales at 128²: the first 10 full-size iterations match only relu1_1,
    // relu2_1 and relu3_1 in the graph that ends at relu3_1, then all five layers run.
    let plain = pebbles_with_passes(0, 0);
    let outcome = pebbles_with_passes(10, 0);
    assert_eq!(outcome.record.shallow_first, Some(10));
    let full_size: Vec<_> = outcome
        .record
        .evaluations
        .iter()
        .filter(|e| e.scale == 1)
        .collect();
    let passes = full_size.iter().take_while(|e| e.pass.is_some()).count();
    assert!(passes >= 10, "{passes} shallow evaluations");
    assert!(full_size[..passes]
        .iter()
        .all(|e| e.pass.as_deref() == Some("relu3_1")));
    assert!(full_size[passes..].iter().all(|e| e.pass.is_none()));
    // One layer loss per layer matched: relu1_1, relu2_1 and relu3_1 in the pass, then all five.
    assert_eq!(full_size[0].layer_losses.len(), 3);
    assert_eq!(full_size[passes].layer_losses.len(), 5);
    let shallow_iterations = outcome
        .record
        .iterations
        .iter()
        .filter(|i| i.pass.is_some())
        .count();
    assert_eq!(shallow_iterations, 10);
    let cost = |shallow: bool| {
        let s: Vec<f64> = full_size
            .iter()
            .filter(|e| e.pass.is_some() == shallow)
            .map(|e| e.seconds)
            .collect();
        s.iter().sum::<f64>() / s.len() as f64
    };
    let after_pass = full_size[passes].loss;
    println!(
        "upsampled image's full loss {:.3e}, after the shallow pass {after_pass:.3e}; shallow \
         evaluation {:.3} s vs full {:.3} s; final distance {:.4} (without the pass {:.4})",
        outcome.initial_loss,
        cost(true),
        cost(false),
        outcome.final_distance,
        plain.final_distance
    );
    assert!(after_pass < 0.5 * outcome.initial_loss);
    assert!(outcome.final_distance < 1.25 * plain.final_distance);
    // The fraction: the pass's graph runs 39% of the full graph's convolutions (multiply-adds
    // from the manifest: what the plan and the ETA count; its seconds are printed above).
    let models = models();
    let share =
        neurotex::passes::relative_cost(models.variant("gram").unwrap(), "relu3_1", "relu5_1");
    assert!((0.35..0.45).contains(&share), "{share}");
    // A pass as long as the whole budget is refused before anything loads.
    refused_for_its_budget(Synthesis::builder().shallow_first(30));
}

#[test]
fn a_run_stopped_during_a_pass_reports_the_full_loss() {
    // 20 coarse iterations (~25 evaluations), then the shallow pass: stop 10 evaluations in.
    let outcome = pebbles_two_scales(30)
        .shallow_first(20)
        .max_evaluations(35)
        .build()
        .unwrap()
        .run()
        .unwrap();
    let record = &outcome.record;
    let last = record.evaluations.last().unwrap();
    assert_eq!(
        last.pass.as_deref(),
        Some("relu3_1"),
        "stopped in the shallow pass"
    );
    let pass_best = record
        .evaluations
        .iter()
        .filter(|e| e.pass.is_some())
        .map(|e| e.loss)
        .fold(f32::INFINITY, f32::min);
    // The full loss adds relu4_1's and relu5_1's terms to the pass's.
    assert!(
        outcome.best_loss > pass_best,
        "{} vs {pass_best}",
        outcome.best_loss
    );
    assert_eq!(record.best_loss, outcome.best_loss);
}

/// A run stopped exactly where the full size begins (after the coarse scale, before the first
/// full-size evaluation) ends like one stopped inside a round: the upsampled image, at full
/// size, with its full loss, and the reason it stopped.
fn stopped_where_the_full_size_begins(outcome: Outcome, coarse_evaluations: usize) {
    let record = &outcome.record;
    assert_eq!(record.evaluations.len(), coarse_evaluations);
    assert!(record.evaluations.iter().all(|e| e.scale == 0));
    assert_eq!(outcome.image.dim(), (3, 128, 128));
    // Nothing ran at full size: the image written is the upsampled one, whose full loss is
    // both the start and the result (not the coarse scale's loss).
    assert!(outcome.best_loss.is_finite());
    assert_eq!(outcome.best_loss, outcome.initial_loss);
    assert!(outcome.best_loss > record.evaluations.last().unwrap().loss);
}

#[test]
fn a_budget_or_ctrl_c_at_a_scale_boundary_keeps_the_upsampled_image() {
    let whole = pebbles_two_scales(2).build().unwrap().run().unwrap().record;
    // The coarse scale's budget (20) is its own, even above the full size's (2).
    let coarse_iterations = whole.iterations.iter().filter(|i| i.scale == 0).count();
    assert_eq!(coarse_iterations, 20);
    let coarse_evaluations = whole.evaluations.iter().filter(|e| e.scale == 0).count();

    // The evaluation budget used up by the coarse scale, to the evaluation.
    let outcome = pebbles_two_scales(2)
        .max_evaluations(coarse_evaluations)
        .build()
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(outcome.stop, StopReason::MaxEvaluations);
    stopped_where_the_full_size_begins(outcome, coarse_evaluations);

    // Ctrl-C at the coarse scale's last iteration: the next thing to run is the upsampling
    // search (13 s at 1024²), then the full size's first evaluation, which sees it.
    let outcome = pebbles_interrupted_at_coarse_iteration(coarse_iterations);
    assert_eq!(outcome.stop, StopReason::Interrupted);
    stopped_where_the_full_size_begins(outcome, coarse_evaluations);
}

/// `pebbles_two_scales(2)` with Ctrl-C pressed at iteration `at` of the coarse scale.
fn pebbles_interrupted_at_coarse_iteration(at: usize) -> Outcome {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    pebbles_two_scales(2)
        .cancel_flag(cancel)
        .build()
        .unwrap()
        .run_with_progress(move |p| {
            if p.scale == 0 && p.iteration == at {
                flag.store(true, Ordering::SeqCst);
            }
        })
        .unwrap()
}

#[test]
fn ctrl_c_during_a_coarse_scale_reports_the_full_loss_of_the_image_it_writes() {
    let outcome = pebbles_interrupted_at_coarse_iteration(5);
    assert_eq!(outcome.stop, StopReason::Interrupted);
    let record = &outcome.record;
    assert!(record.evaluations.iter().all(|e| e.scale == 0));
    // The coarse result, carried up to the full size, is what the run writes...
    assert_eq!(outcome.image.dim(), (3, 128, 128));
    assert_eq!(outcome.best_loss, outcome.initial_loss);
    // ...and the loss it reports is that image's at full size against the full exemplar (a
    // run started from it measures the same), not the 64² scale's loss.
    let measured = Synthesis::builder()
        .exemplar(example("pebbles.png"))
        .size(128, 128)
        .scales(1)
        .seed(4)
        .max_evaluations(1)
        .start_from(outcome.image.clone(), 0)
        .build()
        .unwrap()
        .run()
        .unwrap()
        .initial_loss;
    let relative = (outcome.best_loss - measured).abs() / measured;
    assert!(relative < 1e-3, "{} vs {measured}", outcome.best_loss);
    let coarse_best = record
        .evaluations
        .iter()
        .map(|e| e.loss)
        .fold(f32::INFINITY, f32::min);
    assert!(
        outcome.best_loss > 2.0 * coarse_best,
        "{} vs {coarse_best}",
        outcome.best_loss
    );
}

/// Coarse-to-fine, 2 scales at 128², 30 iterations at full size, starting with the passes.
fn pebbles_with_passes(shallow_first: usize, skip_deepest: usize) -> Outcome {
    pebbles_two_scales(30)
        .shallow_first(shallow_first)
        .skip_deepest(skip_deepest)
        .build()
        .unwrap()
        .run()
        .unwrap()
}

/// The passes a run recorded: where each ended, and its iterations.
fn pass_plan(record: &RunRecord) -> Vec<(&str, usize)> {
    record
        .passes
        .iter()
        .map(|p| (p.ends_at.as_str(), p.iterations))
        .collect()
}

/// Passes that leave no iteration of 30 for all layers are refused before anything loads.
fn refused_for_its_budget(builder: SynthesisBuilder) {
    let err = builder
        .exemplar(example("pebbles.png"))
        .iterations(30)
        .build()
        .err()
        .expect("passes as long as the budget");
    assert!(err.to_string().contains("fewer than --iters"), "{err}");
}

#[test]
fn the_pass_without_the_deepest_block_runs_between_the_shallow_pass_and_all_layers() {
    // Coarse-to-fine, 2 scales at 128²: 8 iterations up to relu3_1, 10 without block 5 (up to
    // relu4_1), the remaining 12 on all five layers.
    let plain = pebbles_with_passes(8, 0);
    let outcome = pebbles_with_passes(8, 10);
    let record = &outcome.record;
    assert_eq!(record.skip_deepest, Some(10));
    assert_eq!(pass_plan(record), [("relu3_1", 8), ("relu4_1", 10)]);
    // The record names every model the run loaded, the passes' truncated ones included.
    let files: Vec<&str> = record.models.iter().map(|m| m.file.as_str()).collect();
    for file in [
        "gram.reflect.grad.blocks_upto_relu3_1.onnx",
        "gram.reflect.grad.blocks_upto_relu4_1.onnx",
    ] {
        assert!(files.contains(&file), "{file} not in {files:?}");
    }
    let full_size: Vec<_> = record.evaluations.iter().filter(|e| e.scale == 1).collect();
    fn in_pass<'a>(
        evaluations: &[&'a EvaluationRecord],
        end: Option<&str>,
    ) -> Vec<&'a EvaluationRecord> {
        evaluations
            .iter()
            .filter(|e| e.pass.as_deref() == end)
            .copied()
            .collect()
    }
    // In network order: the shallow pass, the pass without block 5, then all layers, each in
    // the graph that ends at its deepest layer (3, 4 and 5 layer losses: one per layer matched).
    let order: Vec<Option<&str>> = full_size.iter().map(|e| e.pass.as_deref()).collect();
    let first = |end| order.iter().position(|&o| o == end).unwrap();
    let last = |end| order.iter().rposition(|&o| o == end).unwrap();
    assert!(last(Some("relu3_1")) < first(Some("relu4_1")));
    assert!(last(Some("relu4_1")) < first(None));
    let losses_per_evaluation = |end| -> Vec<usize> {
        let mut n: Vec<usize> = in_pass(&full_size, end)
            .iter()
            .map(|e| e.layer_losses.len())
            .collect();
        n.dedup();
        n
    };
    assert_eq!(losses_per_evaluation(Some("relu3_1")), [3]);
    assert_eq!(losses_per_evaluation(Some("relu4_1")), [4]);
    assert_eq!(losses_per_evaluation(None), [5]);
    let pass_iterations = record
        .iterations
        .iter()
        .filter(|i| i.pass.as_deref() == Some("relu4_1"))
        .count();
    assert_eq!(pass_iterations, 10);
    // Each round after the first at full size starts from the curvature pairs L-BFGS learned
    // before it at that size (one per iteration, up to its history); the coarse scale's don't
    // carry over (another size).
    let history = match record.optimizer.solver {
        Solver::Lbfgs { history } => history,
        other => panic!("{other:?}"),
    };
    let last_scale: Vec<_> = record.rounds.iter().filter(|r| r.scale == 1).collect();
    let passes: Vec<Option<&str>> = last_scale.iter().map(|r| r.pass.as_deref()).collect();
    assert_eq!(passes, [Some("relu3_1"), Some("relu4_1"), None]);
    let mut before = 0;
    for round in &last_scale {
        assert_eq!(round.carried_pairs, before.min(history), "{round:?}");
        before += round.iterations;
    }
    assert!(record
        .rounds
        .iter()
        .all(|r| r.scale == 1 || r.carried_pairs == 0));
    // The premise: the deepest block's term (relu5_1, the last layer loss) is a small part of
    // the full loss when all layers come back, so leaving it out for a while cost little.
    let back = &full_size[first(None)];
    let relu5_1 = *back.layer_losses.last().unwrap();
    let mean_seconds = |end| {
        let s: Vec<f64> = in_pass(&full_size, end).iter().map(|e| e.seconds).collect();
        s.iter().sum::<f64>() / s.len() as f64
    };
    println!(
        "all layers back at {:.3e} (relu5_1 {relu5_1:.3e}); final loss {:.3e} vs {:.3e} \
         without the pass, distance {:.4} vs {:.4}; s/evaluation relu3_1 {:.3}, relu4_1 {:.3}, \
         all {:.3}",
        back.loss,
        outcome.best_loss,
        plain.best_loss,
        outcome.final_distance,
        plain.final_distance,
        mean_seconds(Some("relu3_1")),
        mean_seconds(Some("relu4_1")),
        mean_seconds(None),
    );
    assert!(relu5_1 < 0.05 * back.loss);
    assert!(outcome.final_distance < 1.25 * plain.final_distance);
    refused_for_its_budget(Synthesis::builder().shallow_first(10).skip_deepest(20));
}

#[test]
fn example_upsampling_starts_the_next_scale_closer_than_bilinear() {
    // Coarse-to-fine, 2 scales at 128², no shallow pass: the same coarse result carried up
    // either way (the coarse scale does not depend on it), then 20 iterations at full size.
    let run = |upsampling: Upsampling| {
        pebbles_two_scales(20)
            .shallow_first(0)
            .skip_deepest(0)
            .upsampling(upsampling)
            .build()
            .unwrap()
            .run()
            .unwrap()
    };
    let bilinear = run(Upsampling::Bilinear);
    let example = run(Upsampling::Example);
    assert_eq!(example.record.settings.upsampling, Upsampling::Example);
    assert_eq!(bilinear.record.settings.upsampling, Upsampling::Bilinear);
    let full_size = |o: &Outcome| -> Vec<f32> {
        o.record
            .evaluations
            .iter()
            .filter(|e| e.scale == 1)
            .map(|e| e.loss)
            .collect()
    };
    let (b, e) = (full_size(&bilinear), full_size(&example));
    let coarse_end = |o: &Outcome| o.record.evaluations.iter().filter(|e| e.scale == 0).count();
    assert_eq!(coarse_end(&bilinear), coarse_end(&example));
    let best = |v: &[f32]| v.iter().cloned().fold(f32::INFINITY, f32::min);
    println!(
        "full-size loss at the start: bilinear {:.3e}, example {:.3e}; after 20 iterations: \
         {:.3e}, {:.3e}; final distance {:.4}, {:.4}",
        b[0],
        e[0],
        best(&b),
        best(&e),
        bilinear.final_distance,
        example.final_distance
    );
    assert!(e[0] < b[0], "start: example {} vs bilinear {}", e[0], b[0]);
    assert!(
        best(&e) < best(&b),
        "end: example {} vs bilinear {}",
        best(&e),
        best(&b)
    );
}

#[test]
fn upsampling_is_announced_and_the_eta_is_unknown_only_at_a_scales_first_iteration() {
    // Pebbles at 128², 2 scales, with the passes at the last one (3 rounds there): the ETA is
    // measured from a round's first iteration, so at a scale's first there is nothing yet.
    // Each upsampling is announced before it runs (after the coarse scale's last iteration).
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let upsamplings = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let (record, announced) = (seen.clone(), upsamplings.clone());
    pebbles_two_scales(16)
        .coarse_iterations(6)
        .build()
        .unwrap()
        .run_with_events(move |event| match event {
            Event::Iteration(p) => record.borrow_mut().push((p.scale, p.iteration, p.eta)),
            Event::Upsampling {
                to_scale, from, to, ..
            } => announced.borrow_mut().push((
                to_scale,
                (from.width, to.width),
                record.borrow().len(),
            )),
        })
        .unwrap();
    assert_eq!(*upsamplings.borrow(), [(1, (64, 128), 6)]);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 6 + 16, "one progress call per iteration");
    for &(scale, iteration, eta) in seen.iter() {
        match eta {
            None => assert_eq!(
                iteration, 1,
                "no ETA at scale {scale}, iteration {iteration}"
            ),
            Some(eta) => assert!(eta.is_finite() && eta >= 0.0, "{eta}"),
        }
    }
    let unknown: Vec<usize> = seen
        .iter()
        .filter(|(_, _, eta)| eta.is_none())
        .map(|&(scale, _, _)| scale)
        .collect();
    assert_eq!(
        unknown,
        [0, 1],
        "unknown exactly at each scale's first iteration"
    );
    // The ETA falls as the run goes on and is 0 after its last iteration.
    let last_scale: Vec<f64> = seen
        .iter()
        .filter(|s| s.0 == 1)
        .filter_map(|s| s.2)
        .collect();
    assert!(last_scale.first().unwrap() > last_scale.last().unwrap());
    assert_eq!(*last_scale.last().unwrap(), 0.0);
}
