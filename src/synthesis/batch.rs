//! The files of runs: every file a run may write (`planned_files`), checked and claimed before
//! any work, for one run or for several syntheses of one exemplar that differ only in their
//! seed (`--count`, a `Batch`: the runs one after another, and a contact sheet of their results).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::{sibling_path, snapshot_path_at, Outcome, SynthesisBuilder};

/// Most textures one `--count` makes.
pub const MAX_COUNT: usize = 1_000;
use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::outputs::{FileKind, OutputPlan, Outputs, PlannedFile};
use crate::plan;

/// Runs that share an exemplar and settings but their seed, and their claimed files.
pub struct Batch {
    runs: Vec<SynthesisBuilder>,
    sheet: Option<PathBuf>,
    outputs: Outputs,
}

impl Batch {
    /// `count` runs of `builder` from seeds SEED, SEED+1, ... (one: the builder itself, its
    /// paths unchanged), with a contact sheet `OUT.sheet.png` for more than one; every file
    /// they may write is checked and claimed here.
    pub fn new(builder: SynthesisBuilder, count: usize) -> Result<Batch> {
        let runs = builder.variations(count)?;
        let sheet = builder
            .output
            .as_deref()
            .filter(|_| count > 1)
            .map(|o| sibling_path(o, "sheet"));
        let outputs = claim_batch(&runs, sheet.as_deref())?;
        Ok(Batch {
            runs,
            sheet,
            outputs,
        })
    }

    /// The claimed files, and what has been written so far.
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Build and run each synthesis with `run` (the caller's: it may show progress), in seed
    /// order, until one fails or the cancel flag is set; then write the contact sheet of what
    /// was made (a side file: a failure to write it is a warning). The first error, if any, is
    /// returned after the sheet.
    pub fn run(
        &mut self,
        mut run: impl FnMut(usize, SynthesisBuilder) -> Result<Outcome>,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        let mut failed = None;
        for (k, builder) in std::mem::take(&mut self.runs).into_iter().enumerate() {
            let cancel = builder.cancel.clone();
            match run(k, builder.claimed_outputs(self.outputs.clone())) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if cancel.load(Ordering::SeqCst) {
                break;
            }
        }
        if let Some(sheet) = self.sheet.as_deref().filter(|_| !outcomes.is_empty()) {
            let images: Vec<&Planar> = outcomes.iter().map(|o| &o.image).collect();
            let image = image_io::contact_sheet(&images, 8);
            self.outputs
                .write_side_image(sheet, &image, FileKind::Sheet);
        }
        failed.map_or(Ok(outcomes), Err)
    }
}

/// Check and claim every file of a batch of runs (`SynthesisBuilder::variations`) and its
/// contact sheet at once, before the first run starts: a later run's file that exists must not
/// be found after the first run's minutes of work. Each run then writes through the returned
/// `Outputs`.
fn claim_batch(runs: &[SynthesisBuilder], sheet: Option<&Path>) -> Result<Outputs> {
    let first = runs
        .first()
        .ok_or_else(|| Error::InvalidSetting("no run to plan".into()))?;
    first.settings.validate()?;
    let scales = first.scale_count()?;
    let mut files: Vec<PlannedFile> = runs.iter().flat_map(|r| r.planned_files(scales)).collect();
    files.extend(sheet.map(|s| PlannedFile::new(s, FileKind::Sheet)));
    first.check_and_claim(files)
}

impl SynthesisBuilder {
    /// Every file a run of `scales` scales may write: the output, every snapshot at every
    /// scale, the tiled preview, the record.
    pub fn planned_files(&self, scales: usize) -> Vec<PlannedFile> {
        let mut files = Vec::new();
        if let Some(out) = &self.output {
            files.push(PlannedFile::new(out, FileKind::Output));
            let every = self.settings.snapshot_every;
            for k in (0..scales).filter(|_| every > 0) {
                let last = k + 1 == scales;
                // A resumed run numbers its snapshots on from where the run it resumes stopped.
                let first = if last { self.resumed_after } else { 0 };
                let coarse = (!last).then_some(k);
                files.extend(
                    (every..=plan::scale_budget(&self.settings, k, scales))
                        .step_by(every)
                        .map(|i| snapshot_path_at(out, coarse, first + i))
                        .map(|p| PlannedFile::new(p, FileKind::Snapshot)),
                );
            }
            if self.settings.tile {
                files.push(PlannedFile::new(
                    sibling_path(out, "2x2"),
                    FileKind::TiledPreview,
                ));
            }
        }
        if let Some(record) = &self.record {
            files.push(PlannedFile::new(record, FileKind::Record));
        }
        files
    }

    /// Check and claim this run's files (src/outputs).
    /// `count` syntheses that differ only in their seed (seed, seed + 1, ...), each writing
    /// its own files: `out/x.png` -> `out/x.seed7.png` (and the record likewise). One alone
    /// keeps its paths. They run one after another: batching seeds through one graph run was
    /// measured no faster per image on the CPU provider (docs/performance.md, "Batching").
    pub fn variations(&self, count: usize) -> Result<Vec<SynthesisBuilder>> {
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(Error::InvalidSetting(format!(
                "--count {count} must be between 1 and {MAX_COUNT}"
            )));
        }
        if self.settings.seed.checked_add(count as u64 - 1).is_none() {
            return Err(Error::InvalidSetting(format!(
                "--seed {} with --count {count}: the seeds would pass {}; choose a smaller seed",
                self.settings.seed,
                u64::MAX
            )));
        }
        if count == 1 {
            return Ok(vec![self.clone()]);
        }
        Ok((0..count as u64)
            .map(|k| {
                let seed = self.settings.seed + k;
                let tag = |p: &PathBuf| {
                    let ext = p.extension().map_or("png".into(), |e| e.to_string_lossy());
                    sibling_path(p, &format!("seed{seed}")).with_extension(ext.as_ref())
                };
                let mut run = SynthesisBuilder {
                    output: self.output.as_ref().map(tag),
                    record: self.record.as_ref().map(tag),
                    ..self.clone()
                };
                run.settings.seed = seed;
                run
            })
            .collect())
    }

    pub(super) fn claim_outputs(&self, scales: usize) -> Result<Outputs> {
        self.check_and_claim(self.planned_files(scales))
    }

    /// Check `files` (never the exemplar; the run's own replaceable without --overwrite) and
    /// claim them.
    fn check_and_claim(&self, files: Vec<PlannedFile>) -> Result<Outputs> {
        // Every file the run reads: the exemplars, a canvas's photo and mask, the guides, a
        // style transfer's content.
        let inputs: Vec<&Path> = (self.exemplar.iter())
            .chain(self.canvas.iter().flat_map(|c| &c.inputs))
            .chain(self.guides.iter().flat_map(|g| &g.inputs))
            .chain(
                self.blend
                    .iter()
                    .flat_map(|b| b.others.iter().map(|o| &o.path)),
            )
            .chain(self.style.iter().flat_map(|s| &s.content_path))
            .map(PathBuf::as_path)
            .collect();
        let owned = self
            .continuation
            .as_ref()
            .map_or(&[][..], |c| c.owned.as_slice());
        let plan = OutputPlan::check(files, &inputs, self.overwrite, owned)?;
        // The output's format can hold what was asked (16 bits, --format), before any claim.
        self.encoding()?;
        plan.claim()
    }

    /// The number of scales a run of these settings will have, from the exemplar's header
    /// alone (for planning a batch's files before any run is built).
    pub(super) fn scale_count(&self) -> Result<usize> {
        if self.start.is_some() {
            return Ok(1);
        }
        let multiple = self.models()?.manifest.image_input.size_multiple;
        let (ew, eh) = self.exemplar_dimensions()?;
        let scaled = plan::scaled_exemplar(&self.settings, ew, eh);
        let size = plan::output_size(&self.settings, (ew, eh), multiple, &mut Vec::new())?;
        Ok(plan::plan_scales(&self.settings, size, scaled, multiple, false)?.len())
    }
}
