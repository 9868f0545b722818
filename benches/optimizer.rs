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

use neurotex::objective::Evaluation;
use neurotex::optimizer::{optimize, ImageLoss, OptimizerSettings, Round, Solver};

/// ½ Σ c_i (x_i − t_i)² with curvatures c_i spread over [1, 100]: ill-conditioned enough that
/// L-BFGS keeps taking full iterations, and one pass over the pixels per evaluation.
struct Quadratic {
    curvature: Vec<f32>,
    target: Vec<f32>,
}

impl Quadratic {
    fn new(pixels: usize) -> Self {
        let golden = 0.618_034_f64;
        Quadratic {
            curvature: (0..pixels)
                .map(|i| 1.0 + 99.0 * ((i as f64 * golden).fract() as f32))
                .collect(),
            target: (0..pixels)
                .map(|i| 0.5 + 0.3 * (i as f32 * 0.01).sin())
                .collect(),
        }
    }
}

impl ImageLoss for Quadratic {
    fn evaluate_image(&mut self, image: &[f32]) -> neurotex::Result<Evaluation> {
        let mut loss = 0.0f64;
        let grad = image
            .iter()
            .zip(&self.curvature)
            .zip(&self.target)
            .map(|((x, c), t)| {
                let d = x - t;
                loss += 0.5 * (c * d * d) as f64;
                c * d
            })
            .collect();
        Ok(Evaluation {
            loss: vec![loss as f32],
            layer_losses: vec![loss as f32],
            grad,
        })
    }
}

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
            let round = Round {
                index: 0,
                scale: 0,
                first_iteration: 0,
                iterations,
                first_evaluation: 0,
                scale_evaluations: 0,
                clock,
                scale_started: clock,
                scale_budget: iterations,
                work_before: 0.0,
                cost: 1.0,
                later_work: 0.0,
                pass: None,
            };
            let callback: neurotex::optimizer::IterationCallback =
                Rc::new(RefCell::new(|_: &_, _: &[f32]| Ok(())));
            let outcome = optimize(
                &mut loss,
                &start,
                &settings,
                round,
                Arc::new(AtomicBool::new(false)),
                callback,
            )
            .expect("optimisation");
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
