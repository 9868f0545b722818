//! `synth --resume RUN.json`: continue a recorded run (a texture, fill, expansion, guided run
//! or style transfer) with the options `--resume` takes.

use std::path::Path;

use neurotex::interrupt::Interrupts;
use neurotex::manifest::default_models_dir;
use neurotex::resume::{ResumeChanges, RESUME_OPTIONS};
use neurotex::Batch;

use super::summary::Summary;
use super::terminal::Terminal;
use super::{run_batch, SynthArgs};

/// `synth --resume RUN.json`: the options it takes applied, any other refused with a list.
pub fn resume(
    record: &Path,
    args: &SynthArgs,
    given: &[(String, String)],
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    let was_given = |id: &str| given.iter().any(|(g, _)| g == id);
    let refused: Vec<&str> = given
        .iter()
        .filter(|(id, _)| id != "resume" && id != "json" && !RESUME_OPTIONS.contains(&id.as_str()))
        .map(|(_, flag)| flag.as_str())
        .collect();
    if !refused.is_empty() {
        return Err(neurotex::Error::InvalidSetting(format!(
            "--resume continues the recorded run with its own settings: {} cannot change there \
             (--resume takes --iters, --record, --threads, --provider, --precision, \
             --overwrite, --models, --json); start a new run from its image to change them",
            refused.join(", ")
        )));
    }
    let runtime = &args.settings.runtime;
    let changes = ResumeChanges {
        iterations: was_given("iterations").then_some(args.settings.iterations),
        record: args.record.clone(),
        threads: was_given("threads").then_some(runtime.threads),
        provider: was_given("provider").then_some(runtime.provider),
        precision: was_given("precision").then_some(runtime.precision),
        overwrite: args.overwrite,
    };
    let models = runtime.models.clone().unwrap_or_else(default_models_dir);
    let run =
        neurotex::resume::resume(record, &models, &changes)?.cancel_flag(interrupts.cancel.clone());
    run_batch(Batch::new(run, 1)?, false, args.json, term, summary)
}
