//! The host side of one synthesis iteration, without ONNX Runtime: argmin's L-BFGS and our
//! bridge (sigmoid parametrisation, memo, best image, records) driven by a cheap analytic loss
//! with the same number of pixels as a real run. On a GPU the graph takes ~20 ms at 1024², so
//! this host work is what a user waits for there (benches/results/gpu-h200-*.json).
//!
//! `cargo bench --bench optimizer` (or `make bench-optimizer`); prints a table and writes
//! benches/results/optimizer.json.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use neurotex::optimizer::{optimize, OptimizerSettings, Round, Solver};

#[path = "../tests/common/quadratic.rs"]
mod quadratic;
use quadratic::Quadratic;

#[derive(serde::Serialize)]
struct Row {
    size: usize,
    history: usize,
    iterations: usize,
    evaluations: usize,
    seconds_per_iteration: f64,
    /// Of which in the analytic loss itself (stands in for the graph).
    loss_seconds_per_iteration: f64,
}

fn main() {
    let iterations = 30;
    let mut rows = Vec::new();
    println!("| size | history | s/iteration (host) | of which loss | evaluations/iteration |");
    println!("|---|---|---|---|---|");
    for size in [256usize, 512, 1024] {
        for history in [5usize, 20] {
            let pixels = 3 * size * size;
            let mut loss = Quadratic::new(pixels);
            let start: Vec<f32> = (0..pixels)
                .map(|i| 0.5 + 0.1 * ((i as f32 * 0.37).sin()))
                .collect();
            let settings = OptimizerSettings {
                solver: Solver::Lbfgs { history },
                max_iterations: iterations,
                max_evaluations: None,
                tolerance: 0.0,
            };
            let clock = Instant::now();
            let round = Round::whole(iterations);
            let callback: neurotex::optimizer::IterationCallback =
                Rc::new(RefCell::new(|_: &_, _: &[f32]| Ok(())));
            let outcome = optimize(
                &mut loss,
                &start,
                &settings,
                round,
                None,
                Arc::new(AtomicBool::new(false)),
                callback,
            )
            .expect("optimisation")
            .ran()
            .expect("the round ran");
            let seconds = clock.elapsed().as_secs_f64();
            let done = outcome.iterations.len().max(1);
            let in_loss: f64 = outcome.evaluations.iter().map(|e| e.seconds).sum();
            let row = Row {
                size,
                history,
                iterations: done,
                evaluations: outcome.evaluations.len(),
                seconds_per_iteration: seconds / done as f64,
                loss_seconds_per_iteration: in_loss / done as f64,
            };
            println!(
                "| {}² | {} | {:.4} | {:.4} | {:.2} |",
                size,
                history,
                row.seconds_per_iteration,
                row.loss_seconds_per_iteration,
                row.evaluations as f64 / done as f64
            );
            rows.push(row);
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/results/optimizer.json"
    );
    std::fs::write(path, serde_json::to_string_pretty(&rows).unwrap()).expect("write results");
    println!("written {path}");
}
