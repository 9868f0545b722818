//! The optimiser on a cheap analytic loss (no ONNX Runtime): carrying L-BFGS's curvature from one
//! round to the next, as the passes at the start of the last scale do.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::quadratic::Quadratic;
use neurotex::optimizer::{
    optimize, Curvature, IterationCallback, OptimizationOutcome, OptimizerSettings, Round, Solver,
};

const PIXELS: usize = 3 * 16 * 16;
const HISTORY: usize = 5;

fn settings() -> OptimizerSettings {
    OptimizerSettings {
        solver: Solver::Lbfgs { history: HISTORY },
        max_iterations: 100,
        max_evaluations: None,
        tolerance: 0.0,
    }
}

/// `iterations` iterations from `start`, numbered from `first_iteration`.
fn round(
    start: &[f32],
    first_iteration: usize,
    iterations: usize,
    carried: Option<Curvature>,
) -> OptimizationOutcome {
    let round = Round {
        first_iteration,
        ..Round::whole(iterations)
    };
    let callback: IterationCallback = Rc::new(RefCell::new(|_: &_, _: &[f32]| Ok(())));
    optimize(
        &mut Quadratic::new(PIXELS),
        start,
        &settings(),
        round,
        carried,
        Arc::new(AtomicBool::new(false)),
        callback,
    )
    .expect("optimisation")
    .ran()
    .expect("the round ran")
}

fn losses(outcome: &OptimizationOutcome) -> Vec<f32> {
    outcome.iterations.iter().map(|i| i.loss).collect()
}

/// The largest relative difference between two loss curves, iteration by iteration.
fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()))
        .fold(0.0, f32::max)
}

#[test]
fn a_round_resumed_with_carried_curvature_goes_on_as_if_never_stopped() {
    let start: Vec<f32> = (0..PIXELS)
        .map(|i| 0.5 + 0.3 * (i as f32 * 0.37).sin())
        .collect();
    let whole = losses(&round(&start, 0, 30, None));
    assert_eq!(whole.len(), 30);

    // Stopped after 12 iterations (more than the history, so that the resumed solver holds a
    // full history and must drop its oldest pair at once), then 18 more.
    let mut first = round(&start, 0, 12, None);
    let curvature = first
        .curvature
        .take()
        .expect("L-BFGS hands its curvature on");
    assert_eq!(curvature.pairs(), HISTORY);
    let resumed = round(&first.best_image, 12, 18, Some(curvature));
    let numbers: Vec<usize> = resumed.iterations.iter().map(|i| i.iteration).collect();
    assert_eq!(numbers, (13..=30).collect::<Vec<_>>());
    assert_eq!(
        resumed.curvature.as_ref().map(Curvature::pairs),
        Some(HISTORY)
    );
    let carried: Vec<f32> = losses(&first).into_iter().chain(losses(&resumed)).collect();

    // The same 18 iterations from a fresh solver: a steepest-descent first step.
    let fresh: Vec<f32> = losses(&first)
        .into_iter()
        .chain(losses(&round(&first.best_image, 12, 18, None)))
        .collect();

    let (off_carried, off_fresh) = (
        largest_difference(&whole, &carried),
        largest_difference(&whole, &fresh),
    );
    println!("largest relative difference from the uninterrupted run: carried {off_carried:.2e}, fresh {off_fresh:.2e}");
    // The image passes through [0,1] and back to logits between the rounds: rounding only.
    assert!(off_carried < 1e-3, "carried: {off_carried}");
    assert!(off_fresh > 100.0 * off_carried, "fresh: {off_fresh}");
}

#[test]
fn a_round_shorter_than_the_history_hands_on_only_the_pairs_it_made() {
    let start = vec![0.3; PIXELS];
    let mut first = round(&start, 0, 3, None);
    let curvature = first.curvature.take().unwrap();
    assert_eq!(curvature.pairs(), 3);
    let whole = losses(&round(&start, 0, 9, None));
    let resumed = round(&first.best_image, 3, 6, Some(curvature));
    assert_eq!(resumed.curvature.as_ref().unwrap().pairs(), HISTORY);
    let carried: Vec<f32> = losses(&first).into_iter().chain(losses(&resumed)).collect();
    assert!(largest_difference(&whole, &carried) < 1e-3);
}
