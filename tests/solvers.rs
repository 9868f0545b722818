//! Every solver drives the same objective through the same bridge and stop rules.

mod common;

use common::*;
use neurotex::optimizer::{Solver, StopReason};
use neurotex::Synthesis;

#[test]
fn each_solver_lowers_the_loss_10x_and_is_recorded() {
    for solver in [Solver::Lbfgs { history: 10 }, Solver::Cg, Solver::Sd] {
        let dir = scratch(&format!("solver-{}", solver.name()));
        let record = dir.join("run.json");
        let outcome = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .size(64, 64)
            .solver(solver)
            .iterations(10_000)
            .max_evaluations(200)
            .tolerance(0.0)
            .record(&record)
            .build()
            .unwrap()
            .run()
            .unwrap();
        let ratio = outcome.initial_loss / outcome.best_loss;
        println!(
            "{}: {ratio:.0}x in {} evaluations",
            solver.name(),
            outcome.record.evaluations.len()
        );
        assert!(ratio >= 10.0, "{}: only {ratio}x", solver.name());
        assert_eq!(outcome.stop, StopReason::MaxEvaluations);
        assert_eq!(outcome.record.evaluations.len(), 200);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
        assert_eq!(json["optimizer"]["solver"]["name"], solver.name());
        assert_eq!(json["optimizer"]["max_evaluations"], 200);
        if let Solver::Lbfgs { history } = solver {
            assert_eq!(json["optimizer"]["solver"]["history"], history);
        }
    }
    assert!(Solver::parse("adam", 5)
        .unwrap_err()
        .to_string()
        .contains("lbfgs, cg, sd"));
}
