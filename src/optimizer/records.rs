//! What the optimiser takes and reports: its settings, a round's place in the run, the stop
//! reasons, the progress after each iteration and the records of every evaluation, iteration
//! and round.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use super::Curvature;
use crate::error::{Error, Result};

/// Why the optimisation stopped.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason", content = "detail")]
pub enum StopReason {
    /// The iteration budget was used up.
    MaxIterations,
    /// The evaluation budget was used up.
    MaxEvaluations,
    /// The loss fell by less than the relative tolerance over the last `TOLERANCE_WINDOW` iterations.
    Converged,
    /// Ctrl-C (or the library's cancel flag).
    Interrupted,
    /// The line search could not find a lower point: a local minimum, to f32 precision.
    LineSearch(String),
    /// The loss or gradient was NaN or infinite (at the given evaluation of the run). The
    /// synthesis restarts the solver from the best image so far, a few times at most.
    NonFinite(usize),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::MaxIterations => write!(f, "iteration budget reached"),
            StopReason::MaxEvaluations => write!(f, "evaluation budget reached"),
            StopReason::Converged => write!(f, "converged (relative loss change below tolerance)"),
            StopReason::Interrupted => write!(f, "interrupted; the best image so far was kept"),
            StopReason::LineSearch(m) => write!(f, "line search made no progress ({m})"),
            StopReason::NonFinite(n) => write!(
                f,
                "the loss or gradient was not finite at evaluation {n}; kept the best image"
            ),
        }
    }
}

/// Iterations over which the relative-loss tolerance is measured: one L-BFGS step can be tiny
/// while the next is large, so a single-step test would stop too early.
pub const TOLERANCE_WINDOW: usize = 10;

/// The optimiser, with its settings. Every one uses More-Thuente line search (argmin's
/// Hager-Zhang fails in f32) and drives the same memoised cost/gradient bridge.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Solver {
    /// L-BFGS (Gatys et al.'s choice) with `history` correction pairs.
    Lbfgs { history: usize },
    /// Nonlinear conjugate gradient, Polak-Ribière+ beta (β = max(0, β_PR), which restarts
    /// along the steepest descent when PR would go uphill), line search with c2 = 0.1.
    /// (Powell's orthogonality restart was tried: with this line search it restarted at every
    /// iteration, making CG identical to steepest descent.)
    Cg,
    /// Steepest descent with line search.
    Sd,
}

impl Solver {
    pub const NAMES: [&'static str; 3] = ["lbfgs", "cg", "sd"];

    /// `lbfgs`, `cg` or `sd`; `history` is L-BFGS's memory.
    pub fn parse(name: &str, history: usize) -> Result<Solver> {
        match name.trim() {
            "lbfgs" => Ok(Solver::Lbfgs { history }),
            "cg" => Ok(Solver::Cg),
            "sd" => Ok(Solver::Sd),
            other => Err(Error::InvalidSetting(format!(
                "unknown solver '{other}': choose {}",
                Solver::NAMES.join(", ")
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Solver::Lbfgs { .. } => "lbfgs",
            Solver::Cg => "cg",
            Solver::Sd => "sd",
        }
    }
}

/// Settings of one optimisation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OptimizerSettings {
    pub solver: Solver,
    pub max_iterations: usize,
    /// Stop after this many evaluations in all (None: no limit).
    pub max_evaluations: Option<usize>,
    /// Stop when the loss fell by less than this fraction over the last TOLERANCE_WINDOW iterations.
    pub tolerance: f64,
}

/// One round of optimisation: the whole run for statistics without per-step inputs; for those
/// with (e.g. sliced), a run between two redraws, each starting a fresh L-BFGS, since a changed
/// objective invalidates its curvature pairs; each pass at the start of the last scale
/// (src/passes.rs), the next one starting from the curvature it learned (`Curvature`).
#[derive(Debug, Clone)]
pub struct Round {
    pub index: usize,
    /// Coarse-to-fine scale (0 = coarsest; always 0 in a single-scale run).
    pub scale: usize,
    /// Iterations done before this round.
    pub first_iteration: usize,
    /// Iterations this round may take.
    pub iterations: usize,
    /// Evaluations done before this round.
    pub first_evaluation: usize,
    /// Of those, the ones at this scale (progress counts evaluations per scale).
    pub scale_evaluations: usize,
    /// When the whole synthesis started: times are reported from here.
    pub clock: Instant,
    /// For progress and ETA: when this scale started, its iteration budget; the work done at
    /// this scale before this round, what one iteration of this round costs, and the work
    /// planned after it (this scale's later rounds and the scales still to come), all in full
    /// iterations of this scale (a pass's iteration costs less, a scale twice as large 4x).
    pub scale_started: Instant,
    pub scale_budget: usize,
    pub work_before: f64,
    pub cost: f64,
    pub later_work: f64,
    /// In one of the passes at the start of the last scale (src/passes.rs): the deepest layer
    /// the loss covers. Such losses leave deeper layers out: not comparable with the full loss.
    pub pass: Option<String>,
}

impl Round {
    /// A round that is a whole optimisation of `iterations` iterations, starting now.
    pub fn whole(iterations: usize) -> Round {
        let now = Instant::now();
        Round {
            index: 0,
            scale: 0,
            first_iteration: 0,
            iterations,
            first_evaluation: 0,
            scale_evaluations: 0,
            clock: now,
            scale_started: now,
            scale_budget: iterations,
            work_before: 0.0,
            cost: 1.0,
            later_work: 0.0,
            pass: None,
        }
    }
}

/// One graph evaluation, as recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvaluationRecord {
    pub round: usize,
    pub scale: usize,
    pub loss: f32,
    /// The weighted loss of each layer matched, in the run's layer order (a pass's: the first
    /// of them, those its loss covers).
    pub layer_losses: Vec<f32>,
    /// Seconds since the optimisation started.
    pub t: f64,
    /// Seconds spent in ONNX Runtime for this evaluation.
    pub seconds: f64,
    /// Resident memory of the process after it (for soak checks: it must stay flat).
    pub resident_bytes: Option<u64>,
    /// A pass's evaluation: the deepest layer its loss covers (see `Round::pass`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
}

/// One round, as recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundRecord {
    pub round: usize,
    pub scale: usize,
    /// A pass's round: the deepest layer its loss covers (see `Round::pass`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    pub iterations: usize,
    pub evaluations: usize,
    /// L-BFGS correction pairs it started with, handed on by the round before (0: a fresh
    /// solver).
    pub carried_pairs: usize,
    pub stop: StopReason,
}

/// One L-BFGS iteration, as recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IterationRecord {
    pub round: usize,
    pub scale: usize,
    pub iteration: usize,
    pub loss: f32,
    pub evaluations: usize,
    pub t: f64,
    /// A pass's iteration: the deepest layer its loss covers (see `Round::pass`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
}

/// What a progress callback sees after each iteration.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Coarse-to-fine scale (0 = coarsest).
    pub scale: usize,
    /// The round (scale, pass or redraw) this iteration belongs to, counted over the run.
    pub round: usize,
    /// Evaluations so far in the whole run.
    pub run_evaluations: usize,
    /// Iteration within the current scale, and that scale's budget.
    pub iteration: usize,
    pub max_iterations: usize,
    pub loss: f32,
    pub best_loss: f32,
    /// Evaluations at this scale so far (all its rounds).
    pub evaluations: usize,
    pub elapsed: f64,
    pub seconds_per_iteration: f64,
    /// Seconds still to go (None: not known yet, at the first iteration of a scale).
    pub eta: Option<f64>,
    /// In a pass: the deepest layer the loss covers (see `Round::pass`).
    pub pass: Option<String>,
}

/// Called after each iteration with the progress and the current image (x, in \[0,1\]).
/// Shared (one callback serves every round) and `'static` because argmin's observers are.
pub type IterationCallback = Rc<RefCell<dyn FnMut(&Progress, &[f32]) -> Result<()>>>;

/// How a round ended: it ran (it made at least its first evaluation), or it stopped before
/// that (Ctrl-C, or the evaluation budget used up exactly where it began), with nothing to keep.
pub enum RoundOutcome {
    Ran(Box<OptimizationOutcome>),
    NotStarted(StopReason),
}

impl RoundOutcome {
    /// The same outcome with its best image mapped (e.g. free pixels put back on a canvas).
    pub fn map_image(self, f: impl FnOnce(&[f32]) -> Vec<f32>) -> RoundOutcome {
        match self {
            RoundOutcome::Ran(mut outcome) => {
                outcome.best_image = f(&outcome.best_image);
                RoundOutcome::Ran(outcome)
            }
            other => other,
        }
    }

    /// The round's outcome, if it ran.
    pub fn ran(self) -> Option<OptimizationOutcome> {
        match self {
            RoundOutcome::Ran(outcome) => Some(*outcome),
            RoundOutcome::NotStarted(_) => None,
        }
    }
}

/// The result of an optimisation round.
pub struct OptimizationOutcome {
    /// The image with the lowest loss seen, \[3,H,W\] row-major in \[0,1\].
    pub best_image: Vec<f32>,
    pub best_loss: f32,
    pub initial_loss: f32,
    pub stop: StopReason,
    pub evaluations: Vec<EvaluationRecord>,
    pub iterations: Vec<IterationRecord>,
    /// Evaluations (numbered over the run) whose loss or gradient was NaN or infinite.
    pub non_finite: Vec<usize>,
    /// The rounds that made it (one, until rounds are merged).
    pub rounds: Vec<RoundRecord>,
    /// L-BFGS's curvature pairs at the end of the round, for the next to start from (None for
    /// the other solvers, and after a stop of ours, which argmin sees as an error).
    pub curvature: Option<Curvature>,
}
