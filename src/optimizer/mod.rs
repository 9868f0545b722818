//! The host side of the optimisation: argmin's L-BFGS over the pixels, driven by one graph run
//! per point, with the stop rules (iterations, relative-loss tolerance, Ctrl-C) and the
//! bookkeeping (loss after every evaluation, best image so far, progress, snapshots).
//!
//! Pixel range. The optimiser works on unconstrained logits u, and the image is x = sigmoid(u),
//! so every point L-BFGS visits (line-search trials included) is a valid image in (0, 1) and no
//! penalty weight has to be tuned against a loss whose scale changes by orders of magnitude with
//! the layers and statistic chosen. Projection (clamping) was rejected because it breaks the
//! curvature pairs L-BFGS relies on; a penalty lets pixels wander outside until it dominates.
//! The price is a gradient damped by x(1-x) near saturated pixels, which textures rarely have.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::Solver as ArgminSolver;
use argmin::core::{CostFunction, Executor, Gradient, IterState, State, TerminationReason, KV};
use argmin::solver::conjugategradient::{beta::PolakRibierePlus, NonlinearConjugateGradient};
use argmin::solver::gradientdescent::SteepestDescent;
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use crate::error::{Error, Result};
use crate::objective::{Evaluation, Objective};
use crate::pixels::{self, Pixels};

mod records;

pub use records::{
    EvaluationRecord, IterationCallback, IterationRecord, OptimizationOutcome, OptimizerSettings,
    Progress, Round, RoundOutcome, RoundRecord, Solver, StopReason, TOLERANCE_WINDOW,
};

/// What the optimiser minimises: the loss, per-layer losses and gradient of one image
/// (\[3,H,W\] row-major in \[0,1\]). The ONNX grad model in a synthesis; a cheap analytic function
/// in the optimiser's benchmark (benches/optimizer.rs), which times the host side alone.
pub trait ImageLoss {
    fn evaluate_image(&mut self, image: &[f32]) -> Result<Evaluation>;
}

impl ImageLoss for Objective {
    fn evaluate_image(&mut self, image: &[f32]) -> Result<Evaluation> {
        self.evaluate(image, 1)
    }
}

/// L-BFGS as this program runs it.
type Lbfgs = LBFGS<MoreThuenteLineSearch<Pixels, Pixels, f32>, Pixels, Pixels, f32>;

/// What L-BFGS learned about the loss's curvature in one round, for the next round at the same
/// size to start from (src/synthesis.rs carries it from one pass to the next): its correction
/// pairs, how many (at most its history), and the number the solver's loss was divided by when
/// they were measured. The next round divides by the same number: with another, every pair's
/// curvature would be off by the ratio of the two, and so would its first step.
pub struct Curvature {
    solver: Lbfgs,
    pairs: usize,
    scale: f32,
}

impl Curvature {
    /// The correction pairs it holds (at most the solver's history).
    pub fn pairs(&self) -> usize {
        self.pairs
    }
}

/// State shared by the cost bridge (called by the solver) and the observer (called after each
/// iteration). Both live inside argmin's executor, hence the shared, locked cell.
struct Shared {
    round: Round,
    evaluations: Vec<EvaluationRecord>,
    iterations: Vec<IterationRecord>,
    best: Option<(f32, Vec<f32>)>,
    /// The loss of the starting image: the solver sees loss / initial_loss, so that its first
    /// line search starts at a sensible step whatever the loss's scale. (A round resumed with
    /// carried curvature keeps the scale of the round it came from.)
    scale: f32,
    stop: Option<StopReason>,
    fatal: Option<Error>,
}

struct Memo {
    u: Pixels,
    cost: f32,
    grad_u: Pixels,
}

/// argmin's problem: cost and gradient at u from ONE graph run, memoised per u because argmin
/// asks for them separately.
struct Bridge<'a> {
    objective: RefCell<&'a mut dyn ImageLoss>,
    memo: RefCell<Option<Memo>>,
    shared: Arc<Mutex<Shared>>,
    cancel: Arc<AtomicBool>,
    /// Evaluations this round may still make.
    evaluation_budget: usize,
}

fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + (-u).exp())
}

/// The logit of x, with x kept away from 0 and 1 so that u stays finite.
pub fn logit(x: f32) -> f32 {
    let x = x.clamp(1e-3, 1.0 - 1e-3);
    (x / (1.0 - x)).ln()
}

pub fn to_image(u: &[f32]) -> Vec<f32> {
    pixels::map(u, sigmoid)
}

impl Bridge<'_> {
    fn evaluate(&self, u: &Pixels) -> std::result::Result<(), argmin::core::Error> {
        if let Some(m) = self.memo.borrow().as_ref() {
            if &m.u == u {
                return Ok(());
            }
        }
        if self.cancel.load(Ordering::SeqCst) {
            self.shared.lock().unwrap().stop = Some(StopReason::Interrupted);
            return Err(argmin::core::Error::msg("interrupted"));
        }
        if self.shared.lock().unwrap().evaluations.len() >= self.evaluation_budget {
            self.shared.lock().unwrap().stop = Some(StopReason::MaxEvaluations);
            return Err(argmin::core::Error::msg("evaluation budget reached"));
        }
        let x = to_image(&u.0);
        let t0 = Instant::now();
        let eval = match self.objective.borrow_mut().evaluate_image(&x) {
            Ok(e) => e,
            Err(e) => {
                let msg = e.to_string();
                self.shared.lock().unwrap().fatal = Some(e);
                return Err(argmin::core::Error::msg(msg));
            }
        };
        let seconds = t0.elapsed().as_secs_f64();
        let loss = eval.loss[0];
        // NaN or Inf must never reach the solver's state (it would poison every later point),
        // the best image or an output: end the round here; the caller restarts from the best.
        let finite = loss.is_finite() && eval.grad.iter().all(|g| g.is_finite());
        let mut shared = self.shared.lock().unwrap();
        if shared.scale == 0.0 {
            shared.scale = if loss.is_finite() && loss > 0.0 {
                loss
            } else {
                1.0
            };
        }
        let scale = shared.scale;
        let round = shared.round.clone();
        let t = round.clock.elapsed().as_secs_f64();
        shared.evaluations.push(EvaluationRecord {
            round: round.index,
            scale: round.scale,
            loss,
            layer_losses: eval.layer_losses,
            t,
            seconds,
            resident_bytes: crate::memory::resident_bytes(),
            pass: round.pass.clone(),
        });
        if !finite {
            let at = round.first_evaluation + shared.evaluations.len();
            shared.stop = Some(StopReason::NonFinite(at));
            return Err(argmin::core::Error::msg("non-finite loss or gradient"));
        }
        if shared.best.as_ref().is_none_or(|(b, _)| loss < *b) {
            shared.best = Some((loss, x.clone()));
        }
        drop(shared);
        // Chain rule through x = sigmoid(u): d/du = d/dx * x (1 - x).
        let grad_u = pixels::zip_map(&eval.grad, &x, |g, x| g * x * (1.0 - x) / scale);
        *self.memo.borrow_mut() = Some(Memo {
            u: u.clone(),
            cost: loss / scale,
            grad_u: Pixels(grad_u),
        });
        Ok(())
    }
}

impl CostFunction for Bridge<'_> {
    type Param = Pixels;
    type Output = f32;
    fn cost(&self, u: &Pixels) -> std::result::Result<f32, argmin::core::Error> {
        self.evaluate(u)?;
        Ok(self.memo.borrow().as_ref().unwrap().cost)
    }
}

impl Gradient for Bridge<'_> {
    type Param = Pixels;
    type Gradient = Pixels;
    fn gradient(&self, u: &Pixels) -> std::result::Result<Pixels, argmin::core::Error> {
        self.evaluate(u)?;
        Ok(self.memo.borrow().as_ref().unwrap().grad_u.clone())
    }
}

/// After each iteration: record, report progress, apply the tolerance rule.
struct Watcher {
    shared: Arc<Mutex<Shared>>,
    carried_pairs: u64,
    settings: OptimizerSettings,
    callback: IterationCallback,
}

/// The state every gradient solver here shares.
type SolverState = IterState<Pixels, Pixels, (), (), (), f32>;

/// What every solver's run has in common: start, budget and observer (which knows how many
/// curvature pairs a resumed L-BFGS brings).
struct Run {
    u0: Pixels,
    iterations: u64,
    watcher: Watcher,
}

impl Run {
    /// Run `solver` to its end; keep only the termination reason (dropping the executor's
    /// copies of the shared state).
    fn with<S>(
        self,
        bridge: Bridge<'_>,
        solver: S,
    ) -> std::result::Result<(Option<TerminationReason>, S), argmin::core::Error>
    where
        S: for<'b> ArgminSolver<Bridge<'b>, SolverState>,
    {
        let Run {
            u0,
            iterations,
            watcher,
        } = self;
        let carried_pairs = watcher.carried_pairs;
        // argmin's L-BFGS drops its oldest pair only from iteration `history` on, counted from
        // the run's start: a resumed run starts its count at the pairs it brings, so that it
        // holds `history` pairs, not up to twice as many. argmin skips the solver's `init` for
        // a run that does not start at iteration 0, so the start's cost and gradient are given.
        let start = if carried_pairs > 0 {
            Some((bridge.cost(&u0)?, bridge.gradient(&u0)?))
        } else {
            None
        };
        Executor::new(bridge, solver)
            .configure(|s| {
                let mut s = s.param(u0).max_iters(iterations + carried_pairs);
                if let Some((cost, gradient)) = start {
                    s = s.cost(cost).gradient(gradient);
                    (0..carried_pairs).for_each(|_| s.increment_iter());
                }
                s
            })
            .add_observer(watcher, ObserverMode::Always)
            .ctrlc(false)
            .run()
            .map(|r| (r.state.get_termination_reason().cloned(), r.solver))
    }
}

impl Observe<SolverState> for Watcher {
    fn observe_iter(
        &mut self,
        state: &SolverState,
        _kv: &KV,
    ) -> std::result::Result<(), argmin::core::Error> {
        // After a failed line search L-BFGS ends the run with no parameter: nothing to report.
        let Some(u) = state.get_param() else {
            return Ok(());
        };
        let mut shared = self.shared.lock().unwrap();
        let round = shared.round.clone();
        // argmin counts from 0 within a round (from the pairs carried in, when resumed).
        let iteration =
            round.first_iteration + (state.get_iter() - self.carried_pairs) as usize + 1;
        let elapsed = round.clock.elapsed().as_secs_f64();
        let loss = state.get_cost() * shared.scale;
        let evaluations = shared.evaluations.len();
        shared.iterations.push(IterationRecord {
            round: round.index,
            scale: round.scale,
            iteration,
            loss,
            evaluations,
            t: elapsed,
            pass: round.pass.clone(),
        });
        let round_started = shared.iterations[0].t;
        let best_loss = shared.best.as_ref().map_or(loss, |(b, _)| *b);
        let converged =
            self.settings.tolerance > 0.0 && shared.iterations.len() > TOLERANCE_WINDOW && {
                let then = shared.iterations[shared.iterations.len() - 1 - TOLERANCE_WINDOW].loss;
                ((then - loss) as f64) < self.settings.tolerance * (then as f64).abs()
            };
        drop(shared);
        // `iteration` counts within the scale, so time it from the scale's start; the ETA
        // weighs iterations by their cost, so that a cheap pass does not make it read low.
        let scale_seconds = round.scale_started.elapsed().as_secs_f64();
        let per_iteration = scale_seconds / iteration as f64;
        let in_round = (iteration - round.first_iteration) as f64;
        let work_done = round.work_before + in_round * round.cost;
        let work_left =
            (round.iterations as f64 - in_round).max(0.0) * round.cost + round.later_work;
        // Seconds per full iteration for the ETA: measured from the end of this round's first
        // iteration, so that one-time costs (upsampling, opening a session, a fresh solver's
        // first line search: 1.9 s for the first iteration of pebbles' last scale, 0.3 s for
        // the next ones) do not make it read several times too long. At a round's first
        // iteration, the scale's average so far; at a scale's first, nothing yet.
        let rate = if in_round > 1.0 {
            Some((elapsed - round_started) / ((in_round - 1.0) * round.cost))
        } else {
            (round.first_iteration > 0).then(|| scale_seconds / work_done)
        };
        let progress = Progress {
            scale: round.scale,
            round: round.index,
            run_evaluations: round.first_evaluation + evaluations,
            iteration,
            max_iterations: round.scale_budget,
            loss,
            best_loss,
            evaluations: round.scale_evaluations + evaluations,
            elapsed,
            seconds_per_iteration: per_iteration,
            eta: rate.map(|rate| rate * work_left),
            pass: round.pass.clone(),
        };
        let image = to_image(&u.0);
        if let Err(e) = (self.callback.borrow_mut())(&progress, &image) {
            let msg = e.to_string();
            self.shared.lock().unwrap().fatal = Some(e);
            return Err(argmin::core::Error::msg(msg));
        }
        if converged {
            self.shared.lock().unwrap().stop = Some(StopReason::Converged);
            return Err(argmin::core::Error::msg("converged"));
        }
        Ok(())
    }
}

/// Minimise the objective from `start` (an image in \[0,1\], \[3,H,W\] row-major) for one round.
pub fn optimize(
    objective: &mut dyn ImageLoss,
    start: &[f32],
    settings: &OptimizerSettings,
    round: Round,
    carried: Option<Curvature>,
    cancel: Arc<AtomicBool>,
    callback: IterationCallback,
) -> Result<RoundOutcome> {
    let (first_evaluation, iterations) = (round.first_evaluation, round.iterations as u64);
    let shared = Arc::new(Mutex::new(Shared {
        round,
        evaluations: Vec::new(),
        iterations: Vec::new(),
        best: None,
        scale: carried.as_ref().map_or(0.0, |c| c.scale),
        stop: None,
        fatal: None,
    }));
    let bridge = Bridge {
        objective: RefCell::new(objective),
        memo: RefCell::new(None),
        shared: shared.clone(),
        cancel,
        evaluation_budget: settings
            .max_evaluations
            .map_or(usize::MAX, |m| m.saturating_sub(first_evaluation)),
    };
    let u0 = Pixels(pixels::map(start, logit));
    let carried = carried.filter(|_| matches!(settings.solver, Solver::Lbfgs { .. }));
    let carried_pairs = carried.as_ref().map_or(0, |c| c.pairs) as u64;
    let watcher = Watcher {
        shared: shared.clone(),
        carried_pairs,
        settings: settings.clone(),
        callback,
    };
    let linesearch = MoreThuenteLineSearch::new();
    let run = Run {
        u0,
        iterations,
        watcher,
    };
    // Our own stop rules apply (relative tolerance over a window, budgets); argmin's absolute
    // tolerances would depend on the loss's scale, so they are switched off.
    let mut curvature_solver = None;
    let result = match settings.solver {
        Solver::Lbfgs { history } => {
            let solver = match carried {
                Some(c) => c.solver,
                None => LBFGS::new(linesearch, history)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(|e| Error::Optimiser(e.to_string()))?,
            };
            run.with(bridge, solver).map(|(reason, solver)| {
                curvature_solver = Some((solver, history));
                reason
            })
        }
        Solver::Cg => run
            .with(
                bridge,
                NonlinearConjugateGradient::new(
                    // CG needs a stricter curvature condition than quasi-Newton methods (c2 = 0.1
                    // rather than 0.9): with a loose line search its directions lose conjugacy.
                    linesearch
                        .with_c(1e-4, 0.1)
                        .map_err(|e| Error::Optimiser(e.to_string()))?,
                    PolakRibierePlus::new(),
                ),
            )
            .map(|(reason, _)| reason),
        Solver::Sd => run
            .with(bridge, SteepestDescent::new(linesearch))
            .map(|(reason, _)| reason),
    };

    let mut shared = Arc::try_unwrap(shared)
        .ok()
        .expect("executor dropped")
        .into_inner()
        .unwrap();
    let round = &shared.round;
    if let Some(fatal) = shared.fatal.take() {
        return Err(fatal);
    }
    // Our own reasons first: an interrupt or a tolerance stop surfaces in argmin as an error or
    // as a line search that "failed" because the cost function refused to continue.
    let stop = match (shared.stop.take(), result) {
        (Some(reason), _) => reason,
        (None, Ok(Some(TerminationReason::SolverExit(msg)))) => StopReason::LineSearch(msg),
        (None, Ok(_)) => StopReason::MaxIterations,
        (None, Err(e)) => StopReason::LineSearch(e.to_string()),
    };
    let Some((best_loss, best_image)) = shared.best.take() else {
        return match stop {
            StopReason::NonFinite(_) => Err(Error::Optimiser(
                "the loss or gradient is NaN or infinite at the starting image: if you gave \
                 large --layer-weights, scale them down; otherwise the models may be damaged: \
                 export them again with `make setup`"
                    .to_string(),
            )),
            _ => Ok(RoundOutcome::NotStarted(stop)),
        };
    };
    // One pair per completed iteration, up to the history.
    let curvature = curvature_solver.map(|(solver, history)| Curvature {
        solver,
        pairs: (carried_pairs as usize + shared.iterations.len()).min(history),
        scale: shared.scale,
    });
    let non_finite = match stop {
        StopReason::NonFinite(n) => vec![n],
        _ => Vec::new(),
    };
    let rounds = vec![RoundRecord {
        round: round.index,
        scale: round.scale,
        pass: round.pass.clone(),
        iterations: shared.iterations.len(),
        evaluations: shared.evaluations.len(),
        carried_pairs: carried_pairs as usize,
        stop: stop.clone(),
    }];
    Ok(RoundOutcome::Ran(Box::new(OptimizationOutcome {
        non_finite,
        rounds,
        best_image,
        best_loss,
        initial_loss: shared.evaluations.first().map_or(f32::NAN, |e| e.loss),
        stop,
        evaluations: shared.evaluations,
        iterations: shared.iterations,
        curvature,
    })))
}
