//! The neurotex command line: a thin layer over the library. Stderr carries what is going on
//! (src/bin/neurotex/terminal.rs); stdout only results: the paths written, a `--json` summary
//! (summary.rs), an image with `-o -`, listings (listing.rs).

mod canvas;
mod listing;
mod measure;
mod resume;
mod style;
mod summary;
mod terminal;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use neurotex::bench::{self, BenchSettings};
use neurotex::image_io::{self, Encoding};
use neurotex::interrupt::Interrupts;
use neurotex::optimizer::StopReason;
use neurotex::regions::MAX_GUIDE_COLOURS;
use neurotex::runtime::Provider;
use neurotex::settings::{parse_provider, parse_size, Settings};
use neurotex::{Batch, Blend, Guides, Outcome, Size, Synthesis, SynthesisBuilder};
use summary::Summary;
use terminal::{Terminal, Verbosity};

const SYNTH_EXAMPLES: &str = "\
Examples:
  neurotex synth examples/textures/pebbles.png -o out/pebbles.png
  neurotex synth bark.jpg -o out/bark.png --size 384x256 --iters 500 --seed 7
  neurotex synth pebbles.png -o out/shallow.png --layers shallow --snapshot-every 50
  neurotex synth pebbles.png -o out/w.png --layers relu1_1,relu3_1,relu5_1 --layer-weights 1,0.5,2
  neurotex synth pebbles.png -o out/p.png --record out/p.json --provider cuda
  neurotex synth --resume out/p.json          (continue p.json's run after a Ctrl-C)
  neurotex synth pebbles.png -o out/s.png --loss sliced --redraw-every 25
  neurotex synth pebbles.png -o out/n.png --gram-norm no-n2 --layer-weights grow
  neurotex synth pebbles.png -o out/cg.png --solver cg --max-evals 200
  neurotex synth pebbles.png -o out/big.png --size 512x256 --exemplar-scale 0.5 --match-colors
  neurotex synth pebbles.png -o out/tile.png --tile        (also writes out/tile.2x2.png)
  neurotex synth pebbles.png -o out/many.png --count 4     (out/many.seed0..3.png, out/many.sheet.png)
  neurotex synth pebbles.png -o out/big.png --size 1024 --scales 4
  neurotex synth pebbles.png -o out/gatys.png --backbone vgg19 --layers per-block
  neurotex synth pebbles.png -o out/smooth.tif --bit-depth 16      (16-bit TIFF; or .png)
  cat photo.jpg | neurotex synth - -o - --format webp > texture.webp
  neurotex synth pebbles.png -o out/p.png --json -q              (one JSON summary on stdout)
  neurotex synth examples/guided/two_textures.png -o out/guided.png \
    --guide-exemplar examples/guided/two_textures.guide.png \
    --guide-output examples/guided/wave.guide.png      (each colour's texture where it is painted)
  neurotex synth pebbles.png grass_meadow.png --mix 0.7,0.3 -o out/between.png   (a blend)

Exit status: 0 done, 1 error, 2 usage, 130 stopped by Ctrl-C (SIGINT), 143 by SIGTERM, 129 by
SIGHUP (after writing the best image so far and the record).";

const STUDY_EXAMPLES: &str = "\
Examples:
  neurotex study examples/textures/pebbles.png examples/textures/astronaut.png -o out/study
  neurotex study examples/textures/*.png -o out/quick --size 64 --iters 20
  neurotex study bark.png -o out/layers --axes layers,statistic
  neurotex study pebbles.png -o out/solvers --axes solver --max-evals 300";

const BENCH_EXAMPLES: &str = "\
Examples:
  neurotex bench
  neurotex bench --sizes 256 --layers all --min-evals 5 --json out/bench.json
  neurotex bench --sizes 128,256 --layers all --batch 1,2,4
  neurotex bench --backbone vgg19 --tile --loss sorted";

#[derive(Parser)]
#[command(
    name = "neurotex",
    version,
    about = "Neural texture synthesis: a texture that looks like your photo, at the size you need",
    long_about = "Neural texture synthesis (Gatys, Ecker & Bethge 2015): starts from noise and \
                  optimises the pixels until the statistics of ImageNet VGG-16 (or VGG-19) \
                  features match those of an exemplar photo. Loss and gradient run in ONNX Runtime.",
    after_help = "Run `neurotex <command> --help` for the options and examples of each command."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Nothing on stderr but errors (no progress, notices or closing lines).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more: a progress line for every iteration, and the set-up in detail.
    #[arg(short, long, global = true)]
    verbose: bool,
}

// `allow_negative_numbers`: `--iters -3` reaches the value parser, which names the option and
// what it takes, instead of clap calling -3 an unknown option.
#[derive(Subcommand)]
enum Command {
    /// Synthesise a texture from an exemplar photo.
    #[command(after_help = SYNTH_EXAMPLES, allow_negative_numbers = true)]
    // Boxed: the synth options are by far the largest variant.
    Synth(Box<SynthArgs>),
    /// Fill holes in a photo (white in the mask) with texture synthesised from the rest of it;
    /// every other pixel stays the photo's.
    #[command(after_help = canvas::FILL_EXAMPLES, allow_negative_numbers = true)]
    Fill(Box<canvas::FillArgs>),
    /// Extend a photo past its edges with texture synthesised from it; the photo is kept.
    #[command(after_help = canvas::EXPAND_EXAMPLES, allow_negative_numbers = true)]
    Expand(Box<canvas::ExpandArgs>),
    /// Redraw a content image in the style of another (Gatys et al. 2016): the content's
    /// features, the style's statistics.
    #[command(after_help = style::STYLE_EXAMPLES, allow_negative_numbers = true)]
    Style(Box<style::StyleArgs>),
    /// Show which execution providers the loaded ONNX Runtime offers, and where it came from.
    #[command(after_help = "Examples:\n  neurotex providers\n  neurotex providers --json")]
    Providers {
        /// Print one JSON object (runtime version and library, each provider's status).
        #[arg(long)]
        json: bool,
    },
    /// List the statistic variants in the models folder, their layers and per-step inputs.
    #[command(after_help = "Examples:\n  neurotex models\n  neurotex models --models DIR --json")]
    Models {
        /// Models folder [default: as `neurotex synth --models`]
        #[arg(long)]
        models: Option<PathBuf>,
        /// Print one JSON object (backbones, variants, layers, options).
        #[arg(long)]
        json: bool,
    },
    /// Run the method study: normalisation, layers, statistic and weights axes on each exemplar;
    /// write labelled contact sheets and a Markdown + JSON table.
    #[command(after_help = STUDY_EXAMPLES, allow_negative_numbers = true)]
    Study(StudyArgs),
    /// Measure images against their exemplar: the border band against the interior (a frame),
    /// the finest octave's power against the exemplar's (speckle, blur), colour and spectrum
    /// distances.
    #[command(
        after_help = "Examples:\n  neurotex measure -e examples/textures/pebbles.png out/pebbles.png\n  neurotex measure -e pebbles.png out/*.png --json\n  neurotex measure -e bark.png out/bark_wide.png --sides"
    )]
    Measure(measure::MeasureArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(
        after_help = "Example:\n  neurotex completions bash > ~/.local/share/bash-completion/completions/neurotex"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    #[command(after_help = "Example:\n  neurotex man > ~/.local/share/man/man1/neurotex.1")]
    Man,
    /// Time one evaluation (loss + gradient) per size and layer set; print s/eval and GFLOP/s.
    #[command(after_help = BENCH_EXAMPLES, allow_negative_numbers = true)]
    Bench(BenchSettings),
}

#[derive(Args)]
struct SynthArgs {
    /// The exemplar photo: PNG, JPEG, WebP, TIFF, TGA or BMP, 8 or 16 bits (grayscale and
    /// alpha are converted); - reads it from stdin. Several (up to 8): their statistics are
    /// blended, a texture between them (--mix).
    #[arg(required_unless_present = "resume", num_args = 1..)]
    exemplars: Vec<PathBuf>,
    /// With several exemplars: their weights, in order, e.g. 0.3,0.7 (divided by their sum)
    /// [default: equal]
    #[arg(long, value_delimiter = ',', value_name = "W,W,..")]
    mix: Vec<f32>,
    /// Output image: .png, .jpg/.jpeg, .webp (lossless) or .tif/.tiff; its folder is created,
    /// any other extension is refused before any work. - writes it to stdout (PNG, or
    /// --format), everything else going to stderr.
    #[arg(short, long, required_unless_present = "resume")]
    output: Option<PathBuf>,
    /// Continue the run recorded in RUN.json (interrupted with Ctrl-C, or killed: with a record
    /// a run checkpoints every 30 s and at every snapshot) from the image it wrote, with the
    /// exemplar, parameters and models it used (a fill's, an expansion's or a guided run's
    /// photo, mask and guides too), for the iterations it had left; works from any
    /// folder. Only --iters (more: extend the run), --record (write the new record elsewhere),
    /// --threads, --provider, --precision, --overwrite and --models may be given with it.
    #[arg(long, value_name = "RUN.json", conflicts_with_all = ["exemplars", "output"])]
    resume: Option<PathBuf>,
    /// Make N textures (1 to 1000), from seeds SEED..SEED+N-1: OUTPUT-stem.seedK.png each, and
    /// OUTPUT-stem.sheet.png with all of them side by side.
    #[arg(short = 'n', long, default_value_t = 1, value_name = "N")]
    count: usize,
    /// Write a JSON run record (settings, checksums, loss per evaluation, timings); the record
    /// and the image are also checkpointed every 30 s and at every snapshot, so that --resume
    /// can continue a run that was killed.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Replace existing files the run writes (output, record, snapshots, previews). Only
    /// regular files are replaced: a symbolic link, pipe, device or folder is refused. The
    /// exemplar is never written, with or without it.
    #[arg(long)]
    overwrite: bool,
    /// Print one JSON object on stdout at the end: files written, losses, times, why each run
    /// stopped, the exit status (docs/json.md).
    #[arg(long)]
    json: bool,
    /// Guided synthesis: a map of the exemplar's regions in flat colours (up to 8), the
    /// exemplar's size; with --guide-output.
    #[arg(long, value_name = "MAP.png", requires = "guide_output")]
    guide_exemplar: Option<PathBuf>,
    /// Guided synthesis: where each region goes in the output, in the same colours; the
    /// output takes its size. Each region gets the texture of the exemplar's same-coloured one.
    #[arg(long, value_name = "MAP.png", requires = "guide_exemplar")]
    guide_output: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Args)]
struct StudyArgs {
    /// Exemplar photos (textures and, to see the method scramble them, non-textures).
    #[arg(required = true)]
    exemplars: Vec<PathBuf>,
    /// Output folder (cells/, sheet_<axis>.png, sheet_all.png, study.md, study.json).
    #[arg(short, long)]
    output: PathBuf,
    /// Output size of every cell.
    #[arg(long, default_value = "256", value_parser = parse_size)]
    size: Size,
    /// Iterations of every cell (a fixed budget: no early stop).
    #[arg(long, default_value_t = 200)]
    iters: usize,
    /// Evaluations (loss + gradient) of every cell: the fair budget across solvers.
    #[arg(long, value_name = "N")]
    max_evals: Option<usize>,
    /// Seed of the starting noise, the same for every cell.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Axes to run: normalisation, layers, statistic, weights, solver.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "normalisation,layers,statistic,weights,solver"
    )]
    axes: Vec<String>,
    /// Execution provider: cpu, cuda or tensorrt.
    #[arg(long, default_value = "cpu", value_parser = parse_provider)]
    provider: Provider,
    /// ONNX Runtime threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Replace the results of an earlier study in the same folder.
    #[arg(long)]
    overwrite: bool,
    /// Models folder.
    #[arg(long)]
    models: Option<PathBuf>,
}

fn main() -> ExitCode {
    let started = Instant::now();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let term = Terminal::new(verbosity);
    let interrupts = Interrupts::install(
        "stopping after the current evaluation, then writing what there is",
        verbosity != Verbosity::Quiet,
    );
    let mut summary = Summary::new("synth");
    let mut json = false;
    let result = match cli.command {
        Command::Synth(mut args) => {
            json = args.json;
            apply_quality(&matches, "synth", &mut args.settings);
            let given = given_options(&matches, "synth");
            synth(*args, &given, &interrupts, &term, &mut summary)
        }
        Command::Fill(mut args) => {
            summary = Summary::new("fill");
            json = args.common().prepare(&matches, "fill");
            canvas::fill(*args, &interrupts, &term, &mut summary)
        }
        Command::Expand(mut args) => {
            summary = Summary::new("expand");
            json = args.common().prepare(&matches, "expand");
            canvas::expand(*args, &interrupts, &term, &mut summary)
        }
        Command::Style(mut args) => {
            summary = Summary::new("style");
            json = args.common().prepare(&matches, "style");
            style::style(*args, &interrupts, &term, &mut summary)
        }
        Command::Providers { json } => listing::providers(json),
        Command::Models { models, json } => listing::models(models, json),
        Command::Study(args) => run_study(args, &interrupts, &term),
        Command::Bench(args) => run_bench(args),
        Command::Measure(args) => measure::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "neurotex",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| neurotex::Error::Io {
                path: "stdout".into(),
                source: e,
            }),
    };
    if let Err(e) = &result {
        eprintln!("error: {e}");
    }
    // Exit status: 0 done, 1 error, 2 usage (clap), 128 + the signal that stopped the run
    // (130 SIGINT, 143 SIGTERM, 129 SIGHUP), after what it had was written.
    let status = match (interrupts.exit_status(), &result) {
        (Some(status), _) => status,
        (None, Ok(())) => 0,
        (None, Err(_)) => 1,
    };
    if json {
        summary.finish(status, interrupts.signal(), result.err(), started);
        println!("{}", summary.to_json());
    }
    ExitCode::from(status)
}

/// A `--quality` preset given on the command line sets what was not given itself.
fn apply_quality(matches: &clap::ArgMatches, command: &str, settings: &mut Settings) {
    let given = given_options(matches, command);
    let was_given = |id: &str| given.iter().any(|(g, _)| g == id);
    if was_given("quality") {
        let quality = settings.quality;
        settings.apply_quality(quality, was_given);
    }
}

/// The options of `command` given on the command line (not defaults): (id, --long-name).
fn given_options(matches: &clap::ArgMatches, command: &str) -> Vec<(String, String)> {
    let Some(m) = matches.subcommand_matches(command) else {
        return Vec::new();
    };
    let cli = Cli::command();
    let Some(sub) = cli.find_subcommand(command) else {
        return Vec::new();
    };
    sub.get_arguments()
        .filter(|a| m.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| {
            let id = a.get_id().as_str().to_string();
            let flag = a.get_long().map_or(id.clone(), |l| format!("--{l}"));
            (id, flag)
        })
        .collect()
}

/// `-o -`: the image goes to stdout, so nothing else may, and no file is named after it.
fn check_stdout_output(args: &SynthArgs) -> neurotex::Result<()> {
    let refuse = |why: &str| Err(neurotex::Error::InvalidSetting(format!("-o - {why}")));
    if args.json {
        return refuse("and --json both write to stdout: choose one");
    }
    if args.count > 1 {
        return refuse("writes one image to stdout: --count needs an output file name");
    }
    if args.settings.snapshot_every > 0 {
        return refuse("has no file to name snapshots after: give an output file name");
    }
    if std::io::stdout().is_terminal() {
        return refuse(
            "writes the image to stdout, which is a terminal: redirect it (> texture.png) or \
             pipe it on",
        );
    }
    Ok(())
}

fn synth(
    args: SynthArgs,
    given: &[(String, String)],
    interrupts: &Interrupts,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    if let Some(record) = &args.resume {
        return resume::resume(record, &args, given, interrupts, term, summary);
    }
    // clap requires both unless --resume is given.
    let (Some((exemplar, others)), Some(output)) = (args.exemplars.split_first(), &args.output)
    else {
        unreachable!("clap checks the exemplar and output");
    };
    let mut builder = Synthesis::builder()
        .settings(args.settings.clone())
        .exemplar(exemplar)
        .overwrite(args.overwrite)
        .cancel_flag(interrupts.cancel.clone());
    let to_stdout = output.as_os_str() == "-";
    if to_stdout {
        check_stdout_output(&args)?;
        if args.settings.tile {
            term.notices(&["the tiled 2x2 preview is not written with -o -".into()]);
        }
    } else {
        builder = builder.output(output);
    }
    if let Some(record) = &args.record {
        builder = builder.record(record);
    }
    if !others.is_empty() || !args.mix.is_empty() {
        builder = builder.blend(Blend::load(others, &args.mix)?);
    }
    if let (Some(ge), Some(go)) = (&args.guide_exemplar, &args.guide_output) {
        let size = image_io::dimensions(exemplar)?;
        builder = builder.guides(Guides::load(ge, go, size, MAX_GUIDE_COLOURS)?);
    }
    // Every file of every run is checked and claimed before the first run starts.
    let batch = Batch::new(builder, args.count)?;
    run_batch(batch, to_stdout, args.json, term, summary)
}

/// Run a batch with a progress display, then list the files written (also after an error).
fn run_batch(
    mut batch: Batch,
    to_stdout: bool,
    json: bool,
    term: &Terminal,
    summary: &mut Summary,
) -> neurotex::Result<()> {
    term.notices(&batch.outputs().notices());
    let count = batch.len();
    let overall = term.batch_bar(count);
    let result = batch.run(|k, run| {
        if count > 1 && overall.is_none() {
            term.say(&format!("[{}/{count}] seed {}", k + 1, run.seed_value()));
        }
        let outcome = synth_one(run, to_stdout, json, term)?;
        summary.runs.push(summary::RunSummary::of(&outcome));
        if let Some(bar) = &overall {
            bar.inc(1);
        }
        Ok(outcome)
    });
    if let Some(bar) = overall {
        bar.abandon();
    }
    summary.files(batch.outputs());
    summary::report_files(batch.outputs(), term);
    result.map(|_| ())
}

/// Build and run one synthesis with a progress display; with `to_stdout`, write its image there.
fn synth_one(
    builder: SynthesisBuilder,
    to_stdout: bool,
    json: bool,
    term: &Terminal,
) -> neurotex::Result<Outcome> {
    let output = builder.output_path().map(Path::to_path_buf);
    let record = builder.record_path().map(Path::to_path_buf);
    let encoding = builder.encoding()?;
    let synthesis = builder.build()?;
    term.notices(synthesis.notices());
    let sizes = synthesis.scale_sizes();
    term.say(&format!("synthesising {}", synthesis.describe()));
    term.detail(&format!(
        "set-up took {:.1} s (models, provider, the exemplar's statistics)",
        synthesis.setup_seconds()
    ));
    let outcome = synthesis.run_with_events(term.progress(sizes.clone()))?;
    term.notices(&outcome.notices);
    term.say(&format!(
        "{}: {} | loss{} {:.4e} -> {:.4e} ({:.0}x lower) | {} evaluations in {:.1} s",
        if outcome.stop == StopReason::Interrupted {
            "stopped"
        } else {
            "done"
        },
        outcome.stop,
        if sizes.len() > 1 {
            " at full size (from the upsampled coarse result)"
        } else {
            ""
        },
        outcome.initial_loss,
        outcome.best_loss,
        outcome.initial_loss / outcome.best_loss,
        outcome.record.evaluations.len(),
        outcome.record.optimize_seconds
    ));
    term.say(&format!(
        "statistic distance to the exemplar: noise {:.3} -> result {:.4}",
        outcome.start_distance, outcome.final_distance
    ));
    if let Some(record) = record.filter(|_| outcome.stop == StopReason::Interrupted) {
        term.say(&format!(
            "continue it with: neurotex synth --resume {}",
            record.display()
        ));
    }
    if to_stdout {
        write_stdout(&outcome, &encoding)?;
    } else if let Some(out) = output.filter(|_| !json) {
        term.result(&out.display().to_string());
    }
    Ok(outcome)
}

/// The result, encoded, on stdout (`-o -`).
fn write_stdout(outcome: &Outcome, encoding: &Encoding) -> neurotex::Result<()> {
    let bytes = image_io::encode(&outcome.image, encoding, Path::new("stdout"))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| neurotex::Error::Io {
            path: "stdout".into(),
            source: e,
        })
}

fn run_study(args: StudyArgs, interrupts: &Interrupts, term: &Terminal) -> neurotex::Result<()> {
    let cancel = interrupts.cancel.clone();
    let report = neurotex::study::run_study(
        neurotex::study::StudySettings {
            exemplars: args.exemplars,
            out_dir: args.output,
            size: args.size,
            iterations: args.iters,
            max_evaluations: args.max_evals,
            seed: args.seed,
            axes: args.axes,
            provider: args.provider,
            threads: args.threads,
            models_dir: args.models,
            overwrite: args.overwrite,
            cancel,
        },
        |line| term.say(line),
    )?;
    for sheet in &report.sheets {
        println!("{}", sheet.display());
    }
    println!("{}", report.table.display());
    Ok(())
}

fn run_bench(args: BenchSettings) -> neurotex::Result<()> {
    let table_row = |row: &bench::BenchRow, reference: Option<f64>| {
        format!(
            "| {} | {} | {}² | {} | {:.3} | {:.1} | {} | {} | {} |",
            row.layer_set,
            row.deepest_layer,
            row.size,
            row.batch,
            row.seconds_per_evaluation,
            row.gflops,
            reference.map_or("-".into(), |g| format!("{:.0}%", 100.0 * row.gflops / g)),
            row.peak_rss_bytes
                .map_or("-".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0)),
            row.evaluations
        )
    };
    bench::run(&args, |event| match event {
        bench::BenchEvent::Started { title, reference } => {
            println!("{title}");
            if let Some(g) = reference {
                println!("yardstick: one 256->256 3x3 conv at 64x64 runs at {g:.1} GFLOP/s");
            }
            println!(
                "| layers | deepest | size | batch | s/eval per image | conv GFLOP/s | vs yardstick | peak RSS | evals |"
            );
            println!("|---|---|---|---|---|---|---|---|---|");
        }
        bench::BenchEvent::Row { row, reference } => println!("{}", table_row(row, reference)),
    })?;
    Ok(())
}
