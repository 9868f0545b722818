//! Running a synthesis: scale by scale (coarse to fine), round by round (the passes, redraws of
//! per-step inputs, restarts after a NaN), evaluation by evaluation (src/optimizer.rs), with
//! events out, snapshots and checkpoints (src/checkpoint.rs) on the way, and the result, its
//! preview and the record written through the claimed outputs at the end.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ndarray::Array3;

use super::{sibling_path, Event, Outcome, Stage, Synthesis, MAX_RESTARTS};
use crate::canvas::{FreePixels, StageCanvas};
use crate::checkpoint::Checkpoints;
use crate::error::{Error, Result};
use crate::metrics;
use crate::objective::{statistics_distance, LayerStatistics, Objective, ObjectiveSpec};
use crate::optimizer::{
    self, IterationCallback, OptimizationOutcome, Progress, Round, RoundOutcome, StopReason,
};
use crate::outputs::FileKind;
use crate::passes::{self, Pass};
use crate::step_inputs;
use crate::upsample::Upsampling;

impl Synthesis {
    /// Run without a progress display.
    pub fn run(self) -> Result<Outcome> {
        self.run_with_progress(|_| {})
    }

    /// Run, calling `progress` after every L-BFGS iteration.
    pub fn run_with_progress(
        self,
        mut progress: impl FnMut(&Progress) + 'static,
    ) -> Result<Outcome> {
        self.run_with_events(move |event| {
            if let Event::Iteration(p) = event {
                progress(p)
            }
        })
    }

    /// Run, calling `events` after every L-BFGS iteration and before each upsampling.
    pub fn run_with_events(self, events: impl FnMut(Event) + 'static) -> Result<Outcome> {
        let (size, needs) = (self.size, self.needs);
        self.run_events(events)
            .map_err(|e| crate::memory::explain(e, size, &needs))
    }

    fn run_events(mut self, events: impl FnMut(Event) + 'static) -> Result<Outcome> {
        let events = Rc::new(RefCell::new(events));
        let iteration_events = events.clone();
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let start = self.start_image();
        let logged_before = self.outputs.log().len();
        let warned_before = self.outputs.warnings().len();
        let template = self.record_template()?;
        let mut checkpoints = Checkpoints {
            outputs: self.outputs.clone(),
            output: self.builder.output.clone(),
            snapshot_every: self.builder.settings.snapshot_every,
            resumed_after: self.builder.resumed_after,
            sizes: self.scale_sizes(),
            tile: self.builder.settings.tile,
            encoding: self.encoding,
            record: self
                .builder
                .record
                .clone()
                .map(|path| (path, template.clone())),
            interval: Duration::from_secs_f64(self.builder.checkpoint_seconds),
            last: Instant::now(),
            iterations: Vec::new(),
            written_sha: None,
            crop: self.output_window(),
        };
        let callback: IterationCallback =
            Rc::new(RefCell::new(move |p: &Progress, x: &[f32]| -> Result<()> {
                (iteration_events.borrow_mut())(Event::Iteration(p));
                checkpoints.after_iteration(p, x);
                Ok(())
            }));
        let optimizer_settings = self.optimizer_settings();
        // Statistics with per-step inputs are optimised in rounds, redrawing them in between;
        // the others in one round per scale (after the passes, at the last), as long as the
        // scale's budget (a coarse one's may exceed --iters).
        let redraw = !self.step.is_empty();
        let per_round = if redraw {
            self.builder.settings.redraw_every
        } else {
            usize::MAX
        };
        let clock = Instant::now();
        let last_scale_passes = self.passes_of_last_scale();
        let stages = std::mem::take(&mut self.stages);
        let mut x = match &self.builder.start {
            Some(image) => image.iter().copied().collect(),
            None => {
                let at = stages[0].size;
                let (w, h) = (at.width as usize, at.height as usize);
                let start = self.start_at(&stages[0].exemplar, (w, h));
                let noise = start.into_raw_vec_and_offset().0;
                match &stages[0].canvas {
                    Some(canvas) => canvas.start(&noise),
                    None => noise,
                }
            }
        };
        let mut rounds: Vec<OptimizationOutcome> = Vec::new();
        let mut notices = Vec::new();
        // The image the last scale's passes started from (upsampled, or the spectrum start):
        // the run reports its full loss as that scale's start (a pass's own loss leaves layers
        // out), evaluated after the optimisation, so that it does not delay it.
        let mut pass_start = None;
        let mut stopped_between_rounds = None;
        let mut reached = 0;
        let mut restarts = 0;
        'scales: for (scale, stage) in stages.iter().enumerate() {
            reached = scale;
            let (sw, sh) = (stage.size.width as usize, stage.size.height as usize);
            if scale > 0 {
                (events.borrow_mut())(Event::Upsampling {
                    to_scale: scale,
                    from: stages[scale - 1].size,
                    to: stage.size,
                    method: self.builder.settings.upsampling,
                });
                x = self.carry_up(
                    self.builder.settings.upsampling,
                    x,
                    &stages[scale - 1],
                    stage,
                );
            }
            self.objective.set_size(sw, sh);
            stage.bind(&mut self.objective)?;
            let budget = self.plan.scales[scale].budget;
            // Later scales' iterations cost 4x per doubling of the side; the last scale's
            // passes less.
            let later_scales = self.plan.later_work(scale);
            let scale_started = Instant::now();
            let mut done = 0;
            // Work done at this scale, in full iterations (a pass's count by its cost).
            let mut work_done = 0.0;
            // L-BFGS's curvature pairs, handed from each pass to the next round at this size:
            // the next pass's loss holds the same terms and more, so what the solver learned
            // about the shape of the shallow terms still holds, and a fresh solver would spend
            // its first iterations (a steepest-descent step, 2-6 evaluations of line search)
            // learning it again. Pebbles, 256², 3 scales: cost to the target 65.6 -> 61.3
            // full evaluations, final loss 8.59e4 -> 8.12e4 (docs/coarse_to_fine.md,
            // "Carried curvature").
            let mut curvature = None;
            // The passes run first at the last scale, one round each.
            let mut passes = if scale + 1 == stages.len() {
                last_scale_passes.clone()
            } else {
                Vec::new()
            }
            .into_iter();
            while done < budget {
                let index = rounds.len();
                if index > 0 && redraw {
                    self.step = step_inputs::draw_all(
                        &self.variant.step_inputs,
                        self.builder.settings.seed,
                        index as u64,
                    )?;
                    self.objective.set_step_inputs(&self.step)?;
                }
                if done == 0 || redraw {
                    self.targets = stage.targets(&mut self.statistics, &self.step)?;
                    self.objective.set_targets(&self.targets)?;
                }
                let pass = passes.next();
                let iterations = pass
                    .as_ref()
                    .map_or(per_round.min(budget - done), |p| p.iterations);
                let later_work = self
                    .plan
                    .work_of(passes.as_slice(), budget.saturating_sub(done + iterations))
                    + later_scales;
                let round_cost = pass.as_ref().map_or(1.0, |p| self.plan.cost_of(p));
                let mut pass_objective = match &pass {
                    Some(p) => Some(self.pass_objective(p, stage)?),
                    None => None,
                };
                if pass.is_some() && done == 0 {
                    pass_start = Some(x.clone());
                }
                let round = Round {
                    index,
                    scale,
                    first_iteration: done,
                    first_evaluation: rounds.iter().map(|r| r.evaluations.len()).sum(),
                    scale_evaluations: rounds
                        .iter()
                        .flat_map(|r| &r.evaluations)
                        .filter(|e| e.scale == scale)
                        .count(),
                    iterations,
                    clock,
                    scale_started,
                    scale_budget: budget,
                    work_before: work_done,
                    cost: round_cost,
                    later_work,
                    pass: pass.as_ref().map(|p| p.ends_at.clone()),
                };
                let objective = pass_objective.as_mut().unwrap_or(&mut self.objective);
                let cancel = self.builder.cancel.clone();
                let outcome = match &stage.canvas {
                    None => optimizer::optimize(
                        objective,
                        &x,
                        &optimizer_settings,
                        round,
                        curvature.take(),
                        cancel,
                        callback.clone(),
                    )?,
                    // Only the free pixels are optimised: the solver's vector holds them alone,
                    // and what it reports is put back on the canvas.
                    Some(canvas) => optimizer::optimize(
                        &mut FreePixels::new(objective, canvas),
                        &canvas.gather(&x),
                        &optimizer_settings,
                        round,
                        curvature.take(),
                        cancel,
                        on_canvas(callback.clone(), canvas),
                    )?
                    .map_image(|free| canvas.full_image(free)),
                };
                let mut result = match outcome {
                    RoundOutcome::Ran(result) => *result,
                    // Before anything was evaluated: nothing to write.
                    RoundOutcome::NotStarted(StopReason::Interrupted) if rounds.is_empty() => {
                        return Err(Error::Interrupted { during: "set-up" })
                    }
                    // Ctrl-C between two rounds (e.g. during an upsampling search, 13 s at
                    // 1024²), or the evaluation budget used up exactly at a round's start: the
                    // run ends with what the rounds before made, as if stopped inside one.
                    RoundOutcome::NotStarted(reason) if !rounds.is_empty() => {
                        stopped_between_rounds = Some(reason);
                        break 'scales;
                    }
                    RoundOutcome::NotStarted(reason) => {
                        return Err(Error::Optimiser(format!(
                            "stopped before the first evaluation: {reason}"
                        )))
                    }
                };
                // Not across a redraw of the step inputs: the objective itself changes there.
                curvature = result.curvature.take().filter(|_| !redraw);
                let done_before = done;
                done = result
                    .iterations
                    .last()
                    .map_or(done, |i| i.iteration)
                    .max(done + 1);
                work_done += (done - done_before) as f64 * round_cost;
                x.clone_from(&result.best_image);
                // One round only: its session (and memory) goes before the next objective runs
                // at this size, so that the two never hold their buffers at once.
                drop(pass_objective);
                let stop = result.stop.clone();
                rounds.push(result);
                if matches!(stop, StopReason::Interrupted | StopReason::MaxEvaluations) {
                    break 'scales;
                }
                if let StopReason::NonFinite(_) = stop {
                    curvature = None;
                    // A fresh solver from the best image (x): its curvature pairs may hold the
                    // fault. Repeated faults end the run with the best image.
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        break 'scales;
                    }
                    continue;
                }
                if !redraw && pass.is_none() {
                    break;
                }
            }
        }
        // Interrupted before the last scale: carry what there is up to the full size, at once.
        let last_scale = stages.len() - 1;
        if reached < last_scale {
            x = self.carry_up(
                Upsampling::Bilinear,
                x,
                &stages[reached],
                &stages[last_scale],
            );
        }
        let full_canvas = stages[last_scale].canvas.clone();
        if let Some(canvas) = &full_canvas {
            // Carried up from a coarse scale: the photo's pixels are put back.
            x = canvas.full_image(&canvas.gather(&x));
        }
        self.objective
            .set_size(self.size.width as usize, self.size.height as usize);
        stages[last_scale].bind(&mut self.objective)?;
        self.stages = stages;
        if self.stages.len() > 1 {
            // Distances are reported at full size, against the full exemplar.
            self.targets = self.stages[last_scale].targets(&mut self.statistics, &self.step)?;
        }
        let mut result = merge_rounds(rounds);
        if let Some(reason) = stopped_between_rounds {
            result.stop = reason;
        }
        if result
            .evaluations
            .last()
            .is_some_and(|e| e.scale != last_scale)
        {
            // Nothing ran at full size (stopped during a coarse scale or where the last one
            // begins): the image written is the carried-up one, and the losses the coarse
            // scales measured are of another image against another exemplar. Its full loss is
            // both the start and the result.
            let full = self.stages[last_scale].size;
            self.objective
                .set_size(full.width as usize, full.height as usize);
            self.objective.set_targets(&self.targets)?;
            let loss = self.objective.evaluate(&x, 1)?.loss[0];
            (result.initial_loss, result.best_loss) = (loss, loss);
        } else {
            // Stopped during a pass (Ctrl-C, --max-evals): its loss leaves layers out, so the
            // run reports the full loss of the pass's best image, which is the image it writes.
            if result.evaluations.last().is_some_and(|e| e.pass.is_some()) {
                result.best_loss = self.objective.evaluate(&x, 1)?.loss[0];
            }
            if let Some(image) = pass_start {
                result.initial_loss = self.objective.evaluate(&image, 1)?.loss[0];
                // The passes leave layers out, so they can make the full loss worse; where the
                // start was already as good as it gets (a flat exemplar's spectrum start is that
                // flat colour), nothing later beats it, and the run keeps it.
                if result.initial_loss < result.best_loss {
                    notices.push(format!(
                        "no later image beat the start (full loss {:.4e} against {:.4e}): the \
                         start is kept",
                        result.initial_loss, result.best_loss
                    ));
                    result.best_loss = result.initial_loss;
                    x = image;
                }
            }
        }
        let mut image = Array3::from_shape_vec((3, h, w), x).expect("image size");
        if self.builder.settings.match_colors && full_canvas.is_none() {
            // A style transfer keeps the content's colours (Gatys et al. 2017); a texture
            // takes the exemplar's.
            let colours = match &self.builder.style {
                Some(style) => style.content_at(w, h),
                None => self.exemplar.clone(),
            };
            image = metrics::match_colors(&image, &colours);
        }
        let canvas_image = image.clone();
        if let Some(window) = self.output_window() {
            image = window.crop(&image);
        }
        // The result first: nothing after it may cost it.
        let written = self
            .builder
            .output
            .as_ref()
            .map(|out| self.outputs.write_result_image(out, &image, &self.encoding));
        if let Some(out) = self
            .builder
            .output
            .as_ref()
            .filter(|_| self.builder.settings.tile)
        {
            let preview = metrics::tile(&image, 2, 2);
            let path = sibling_path(out, "2x2");
            self.outputs
                .write_side_image(&path, &preview, FileKind::TiledPreview);
        }
        let layers = Some(self.layers.as_slice());
        let chosen_targets: LayerStatistics = self
            .targets
            .iter()
            .filter(|(l, _)| self.layers.contains(l))
            .cloned()
            .collect();
        let last = self.stages.last().expect("at least one scale");
        let regions = last.output_regions();
        let mut distance = |img: &crate::image_io::Planar| -> Result<f64> {
            let stats = self
                .statistics
                .compute_over(img, regions, layers, &self.step)?;
            Ok(statistics_distance(&stats, &chosen_targets))
        };
        let start_distance = distance(&start)?;
        let final_distance = distance(&canvas_image)?;

        let mut record = template.finish(
            &result,
            (start_distance, final_distance),
            clock.elapsed().as_secs_f64(),
            self.upsampling_seconds,
        );
        record.output_sha256 = written.as_ref().and_then(|w| w.as_ref().ok().cloned());
        if let Some(path) = &self.builder.record {
            if let Err(e) = self.outputs.write_result_text(path, &record.to_json()) {
                self.outputs.warn(e.to_string());
            }
        }
        if let Some(Err(e)) = written {
            return Err(e);
        }
        Ok(Outcome {
            files: self.outputs.log()[logged_before..].to_vec(),
            warnings: self.outputs.warnings()[warned_before..].to_vec(),
            notices,
            image,
            initial_loss: result.initial_loss,
            best_loss: result.best_loss,
            stop: result.stop,
            start_distance,
            final_distance,
            record,
        })
    }

    /// The chosen layers a pass matches, with their weights.
    pub(super) fn pass_layers(&self, pass: &Pass) -> (Vec<String>, Vec<f32>) {
        self.layers
            .iter()
            .zip(&self.weights)
            .filter(|(l, _)| passes::matches(&self.variant.layers, &pass.ends_at, l))
            .map(|(l, w)| (l.clone(), *w))
            .unzip()
    }

    /// A pass's objective: the chosen layers up to where it ends, with their weights, in the
    /// grad model that ends there.
    fn pass_objective(&self, pass: &Pass, stage: &Stage) -> Result<Objective> {
        let (layers, weights) = self.pass_layers(pass);
        let size = stage.size;
        let mut objective = Objective::new(&ObjectiveSpec {
            models: &self.models,
            variant: &self.variant,
            layers: &layers,
            weights: &weights,
            settings: &self.option_inputs,
            targets: &self.targets,
            step: &self.step,
            size: (size.width as usize, size.height as usize),
            session: self.session,
        })?;
        stage.bind(&mut objective)?;
        Ok(objective)
    }

    /// The image `x` ([3,H,W] row-major) at scale `from` carried up to scale `to`, wrapping
    /// around the edges for tileable output.
    fn carry_up(&mut self, method: Upsampling, x: Vec<f32>, from: &Stage, to: &Stage) -> Vec<f32> {
        let started = Instant::now();
        let (w, h) = (from.size.width as usize, from.size.height as usize);
        let coarse = Array3::from_shape_vec((3, h, w), x).expect("image size");
        let size = (to.size.width, to.size.height);
        let tile = self.builder.settings.tile;
        let up = method.carry_up(&coarse, &from.exemplar, &to.exemplar, size, tile);
        self.upsampling_seconds += started.elapsed().as_secs_f64();
        up.into_raw_vec_and_offset().0
    }
}

/// The iteration callback of a canvas's free pixels: it hands on the whole image.
fn on_canvas(callback: IterationCallback, canvas: &StageCanvas) -> IterationCallback {
    let canvas = canvas.clone();
    Rc::new(RefCell::new(move |p: &Progress, free: &[f32]| {
        (callback.borrow_mut())(p, &canvas.full_image(free))
    }))
}

/// One outcome for the whole run: every round's records, the starting loss of the first round at
/// the last scale reached, and the last round's best (losses of different rounds use different
/// directions or scales: not comparable).
fn merge_rounds(rounds: Vec<OptimizationOutcome>) -> OptimizationOutcome {
    let last_scale = rounds
        .last()
        .and_then(|r| r.evaluations.first())
        .map_or(0, |e| e.scale);
    // (After a pass the run replaces this with the full loss of the image the pass started from.)
    let initial_loss = rounds
        .iter()
        .find(|r| r.evaluations.first().is_some_and(|e| e.scale == last_scale))
        .map_or(f32::NAN, |r| r.initial_loss);
    let mut evaluations = Vec::new();
    let mut iterations = Vec::new();
    let mut non_finite = Vec::new();
    let mut round_records = Vec::new();
    let mut last = None;
    for mut r in rounds {
        evaluations.append(&mut r.evaluations);
        iterations.append(&mut r.iterations);
        non_finite.append(&mut r.non_finite);
        round_records.append(&mut r.rounds);
        last = Some(r);
    }
    let last = last.expect("at least one round");
    OptimizationOutcome {
        initial_loss,
        evaluations,
        iterations,
        non_finite,
        rounds: round_records,
        ..last
    }
}
