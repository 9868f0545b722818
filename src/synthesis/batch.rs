//! Several syntheses of one exemplar that differ only in their seed (`--count`): every file of
//! every run checked and claimed before the first starts, the runs one after another, and a
//! contact sheet of their results.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::{sibling_path, Outcome, SynthesisBuilder};
use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::outputs::{FileKind, OutputPlan, Outputs, PlannedFile};

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
            self.outputs.write_side_png(sheet, &image, FileKind::Sheet);
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
    let exemplar = first.exemplar.as_deref().expect("scale_count checked it");
    let owned = first
        .continuation
        .as_ref()
        .map_or(&[][..], |c| c.owned.as_slice());
    OutputPlan::check(files, &[exemplar], first.overwrite, owned)?.claim()
}
