//! `Settings`: every option of a synthesis run, in one type. The CLI's `synth` takes it as it is
//! (clap derives the arguments from it, defaults included), the builder holds it, the run record
//! embeds it whole and `--resume` reads it back whole. Adding an option is one field here, with
//! its doc line and its argument attribute.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, FromArgMatches};
use serde::{Deserialize, Serialize};

use crate::edge_fade::EdgeFade;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::layers::LayerWeights;
use crate::margin::Margin;
use crate::optimizer::Solver;
use crate::runtime::{Precision, Provider};
use crate::upsample::Upsampling;

mod encoding;
mod size;

pub use encoding::EncodingSettings;
pub use size::{Size, MAX_SIDE};

/// Most iterations per scale accepted (days of work at 256²; also bounds the snapshot names a
/// run plans).
pub const MAX_ITERATIONS: usize = 1_000_000;

/// Most L-BFGS correction pairs accepted.
pub const MAX_HISTORY: usize = 1_000;

/// Most coarse-to-fine scales accepted.
pub const MAX_SCALES: usize = 5;

/// The optimiser, by name (L-BFGS's memory is `Settings::history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SolverKind {
    /// L-BFGS (Gatys et al.'s choice).
    Lbfgs,
    /// Nonlinear conjugate gradient, Polak-Ribière+.
    Cg,
    /// Steepest descent.
    Sd,
}

/// A quality preset: the iteration budget, stopping tolerance and L-BFGS memory together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Quality {
    /// A third of normal's budget, a looser tolerance: a quick look.
    Draft,
    /// The defaults.
    Normal,
    /// Twice normal's budget, a tighter tolerance, more L-BFGS memory.
    Best,
}

impl Quality {
    /// (iterations, tolerance, history) of the preset, by the ids of their settings.
    pub fn values(self) -> (usize, f64, usize) {
        match self {
            Quality::Draft => (90, 3e-3, 20),
            Quality::Normal => (300, 1e-3, 20),
            Quality::Best => (600, 3e-4, 40),
        }
    }

    fn before_the_choice() -> Quality {
        Quality::Normal
    }
}

/// How the network's convolutions treat the image's edges (without --tile, which wraps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EdgePadding {
    /// Reflect where every scale is large enough (at least 32 pixels per side), else zero.
    Auto,
    /// Zeros beyond the edges (the network as trained, the paper's): outputs larger than the
    /// exemplar grow a frame of extra detail and colour along their edges.
    Zero,
    /// The image mirrored at its edges: no frame (docs/quality.md).
    Reflect,
}

impl EdgePadding {
    /// What records from before the choice existed used.
    fn before_the_choice() -> EdgePadding {
        EdgePadding::Zero
    }
}

/// Where and how the graphs run: shared by `synth`, `study` and `bench`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Args)]
pub struct RuntimeSettings {
    /// Execution provider: cpu, cuda or tensorrt.
    #[arg(long, default_value = "cpu", value_parser = parse_provider)]
    pub provider: Provider,
    /// ONNX Runtime threads (0: all cores; at most the number of cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Arithmetic: fp32, or fp16 (TensorRT only: it builds half-precision kernels).
    #[arg(long, default_value = "fp32", value_parser = parse_precision)]
    pub precision: Precision,
    /// Models folder [default: $NEUROTEX_MODELS, else models/ in the first of
    /// <exe>/../share/neurotex, $NEUROTEX_HOME, ~/.local/share/neurotex, ./, the checkout]
    #[arg(long)]
    #[serde(skip)]
    pub models: Option<PathBuf>,
}

/// Every option of a synthesis run (the files it reads and writes are the builder's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Args)]
pub struct Settings {
    /// Output size, WIDTHxHEIGHT or N for a square [default: the exemplar's, rounded to a
    /// multiple of 16].
    #[arg(short, long, value_parser = parse_size)]
    pub size: Option<Size>,
    /// Quality preset: draft (90 iterations, tolerance 3e-3), normal (300, 1e-3) or best (600,
    /// 3e-4, --history 40); --iters, --tolerance and --history given alongside win.
    #[arg(long, value_enum, default_value_t = Quality::Normal)]
    #[serde(default = "Quality::before_the_choice")]
    pub quality: Quality,
    /// Maximum L-BFGS iterations (at most 1000000) [default: the --quality preset's]
    #[arg(long = "iters", default_value_t = 300)]
    pub iterations: usize,
    /// Stop when the loss fell by less than this fraction over the last 10 iterations (0:
    /// never) [default: the --quality preset's]
    #[arg(long, default_value_t = 1e-3)]
    pub tolerance: f64,
    /// Optimiser; all with More-Thuente line search.
    #[arg(long, value_enum, default_value_t = SolverKind::Lbfgs)]
    pub solver: SolverKind,
    /// L-BFGS memory (correction pairs, 1 to 1000; each holds two image-sized vectors)
    /// [default: the --quality preset's]
    #[arg(long, default_value_t = 20)]
    pub history: usize,
    /// Stop after this many evaluations (loss + gradient) in all.
    #[arg(long = "max-evals", value_name = "N")]
    pub max_evaluations: Option<usize>,
    /// Layers: relu names (relu1_1 .. relu5_3) and/or presets: all, per-block, shallow, deep.
    #[arg(long, default_value = crate::layers::DEFAULT_PRESET)]
    pub layers: String,
    /// Per-layer weights: uniform; grow (∝ 1/M_l: 1,4,16,64,256 by block); shrink (∝ 1/N_l:
    /// 1,0.5,0.25,0.125,0.125 by block); or one number (0 to 1e6) per chosen layer, in the
    /// order --layers names them.
    #[arg(long, default_value = "uniform", value_parser = parse_weights)]
    pub layer_weights: LayerWeights,
    /// Statistic to match: gram, sorted (per-channel sorted features, 1-D Earth Mover's), sliced
    /// (sliced Wasserstein); `neurotex models` lists what the models folder has.
    #[arg(long = "loss", default_value = "gram")]
    pub statistic: String,
    /// An option of the statistic, as the manifest declares it (`neurotex models` lists them),
    /// e.g. --option gram-norm=no-n2; repeatable.
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Gram normalisation, short for --option gram-norm=NORM: paper 1/(4N²M²), no-n2 (drop
    /// N²), no-m2 (drop M²), none (drop both).
    #[arg(long, value_name = "NORM")]
    #[serde(skip)]
    pub gram_norm: Option<String>,
    /// Network whose features are matched: vgg16, or vgg19 (the one Gatys et al. used).
    #[arg(long, default_value = "vgg16")]
    pub backbone: String,
    /// Make the texture tile seamlessly (circular padding: opposite edges are neighbours) and
    /// write OUT.2x2.png, the result repeated 2x2.
    #[arg(long)]
    pub tile: bool,
    /// The convolutions' padding at the image's edges (with --tile: the exemplar's; the output
    /// wraps around): reflect (mirrored: no frame), zero (the network as trained, the paper's:
    /// outputs larger than the exemplar grow a frame), or auto: reflect where every scale has at
    /// least 32 pixels per side, else zero.
    #[arg(long, value_enum, default_value_t = EdgePadding::Auto)]
    #[serde(default = "EdgePadding::before_the_choice")]
    pub padding: EdgePadding,
    /// Gram statistics of a texture: feature positions near the edges count less, their weight
    /// rising linearly over OUTPUT pixels from the output's edges and EXEMPLAR pixels from the
    /// exemplar's (one number: both); auto: 0,32 with --tile (the output has no edges, its
    /// exemplar has), else off; off: every position counts the same (the paper's). An output
    /// ramp leaves the edges smoother (docs/quality.md).
    #[arg(long, default_value = "auto", value_parser = parse_edge_fade, value_name = "auto|off|OUTPUT,EXEMPLAR")]
    #[serde(default = "EdgeFade::before_the_choice")]
    pub edge_fade: EdgeFade,
    /// Pixels drawn around the output on each side and cropped off, so that any frame a large
    /// output grows along its edges falls outside it: auto (8 at the coarsest scale, doubled per
    /// finer scale: 32 at 512² and 1024² from 256², where the output's edges are at most half
    /// the exemplar's share of its pixels; else none), off, or a number (docs/quality.md).
    #[arg(long, default_value = "auto", value_parser = parse_margin, value_name = "auto|off|N")]
    #[serde(default = "Margin::before_the_choice")]
    pub margin: Margin,
    /// Coarse-to-fine scales: start at 1/2^(N-1) of the size, upsample, continue. 1:
    /// single-scale. [default: as many (up to 3) as keep the coarsest side at least 64 pixels]
    #[arg(long, value_name = "N")]
    pub scales: Option<usize>,
    /// Iterations of each coarse scale (--iters applies to the full size) [default: --iters / 4].
    #[arg(long = "coarse-iters", value_name = "N")]
    pub coarse_iterations: Option<usize>,
    /// Coarse-to-fine or --init spectrum: the first N iterations at the full size match only
    /// the layers up to relu3_1, in a graph that stops there (~40% of an evaluation's cost),
    /// fixing the fine detail the start lacks before all layers run. 0: none. [default:
    /// --iters / 4]
    #[arg(long, value_name = "N")]
    pub shallow_first: Option<usize>,
    /// Coarse-to-fine or --init spectrum: after the shallow pass, N iterations at the full size
    /// match every layer but those of the deepest block (whose statistics the start already
    /// has), in a graph that stops before it (~70% of an evaluation's cost with the default
    /// layers). 0: none. [default: --iters / 3]
    #[arg(long, value_name = "N")]
    pub skip_deepest: Option<usize>,
    /// Coarse-to-fine: how each coarse result is carried up to the next scale: example (detail
    /// from the exemplar, placed by matching 5x5 neighbourhoods at the coarse scale: the next
    /// scale starts much closer) or bilinear.
    #[arg(long = "upsample", value_enum, default_value_t = Upsampling::Example, value_name = "METHOD")]
    pub upsampling: Upsampling,
    /// Resize the exemplar by F before taking its statistics (F < 1: smaller structures).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub exemplar_scale: f32,
    /// Match the result's colour histograms to the exemplar's after optimising.
    #[arg(long)]
    pub match_colors: bool,
    /// Start from: noise (uniform white noise, Gatys et al.), spectrum (random-phase noise
    /// with the exemplar's colours and power spectrum: a head start on fine-grained textures,
    /// and no colour speckle single-scale), or auto: spectrum single-scale, noise for
    /// coarse-to-fine.
    #[arg(long, value_enum, default_value_t = Init::Auto, value_name = "START")]
    pub init: Init,
    /// sliced: redraw the random directions (and restart L-BFGS) every R iterations.
    #[arg(long, default_value_t = 50, value_name = "R")]
    pub redraw_every: usize,
    /// Seed of the starting noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write OUTPUT-stem.iterNNNN.png every K iterations (0: never).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub snapshot_every: usize,
    #[command(flatten)]
    pub runtime: RuntimeSettings,
    /// Records written before the output formats came have none: their defaults.
    #[command(flatten)]
    #[serde(default)]
    pub encoding: EncodingSettings,
}

impl Default for Settings {
    /// The defaults are the command line's: one source for both.
    fn default() -> Self {
        let command = Settings::augment_args(clap::Command::new("neurotex").no_binary_name(true));
        let matches = command
            .try_get_matches_from(Vec::<String>::new())
            .expect("every setting has a default");
        Settings::from_arg_matches(&matches).expect("defaults parse")
    }
}

impl Settings {
    /// The optimiser these settings choose.
    pub fn solver(&self) -> Solver {
        match self.solver {
            SolverKind::Lbfgs => Solver::Lbfgs {
                history: self.history,
            },
            SolverKind::Cg => Solver::Cg,
            SolverKind::Sd => Solver::Sd,
        }
    }

    /// Set the optimiser (and L-BFGS's memory).
    pub fn set_solver(&mut self, solver: Solver) {
        self.solver = match solver {
            Solver::Lbfgs { history } => {
                self.history = history;
                SolverKind::Lbfgs
            }
            Solver::Cg => SolverKind::Cg,
            Solver::Sd => SolverKind::Sd,
        };
    }

    /// Apply a quality preset: its iterations, tolerance and history, except those `given`
    /// (by their setting's id: iterations, tolerance, history), which the user set.
    pub fn apply_quality(&mut self, quality: Quality, given: impl Fn(&str) -> bool) {
        let (iterations, tolerance, history) = quality.values();
        self.quality = quality;
        if !given("iterations") {
            self.iterations = iterations;
        }
        if !given("tolerance") {
            self.tolerance = tolerance;
        }
        if !given("history") {
            self.history = history;
        }
    }

    /// The statistic's options as chosen (`--option`, `--gram-norm`), by name.
    pub fn statistic_options(&self) -> BTreeMap<String, String> {
        let mut options: BTreeMap<String, String> = self.options.iter().cloned().collect();
        if let Some(norm) = &self.gram_norm {
            options.insert("gram-norm".into(), norm.clone());
        }
        options
    }

    /// The settings that need nothing loaded to be checked: first, so that a typo fails at
    /// once. Every bound is checked without overflow.
    pub fn validate(&self) -> Result<()> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let shallow = crate::plan::shallow_budget(self);
        let checks: [(bool, &'static str, String, String); 14] = [
            (
                (1..=MAX_ITERATIONS).contains(&self.iterations),
                "--iters",
                self.iterations.to_string(),
                format!("between 1 and {MAX_ITERATIONS}"),
            ),
            (
                self.solver != SolverKind::Lbfgs || (1..=MAX_HISTORY).contains(&self.history),
                "--history",
                self.history.to_string(),
                format!(
                    "between 1 and {MAX_HISTORY} (L-BFGS gains little beyond ~50 pairs; each \
                     costs two image-sized vectors)"
                ),
            ),
            (
                self.runtime.threads <= cores,
                "--threads",
                self.runtime.threads.to_string(),
                format!(
                    "at most this machine's {cores} cores (more threads than cores only slow \
                     ONNX Runtime down; 0: all cores)"
                ),
            ),
            (
                self.max_evaluations != Some(0),
                "--max-evals",
                "0".into(),
                "at least 1".into(),
            ),
            (
                (0.0..1.0).contains(&self.tolerance),
                "tolerance",
                self.tolerance.to_string(),
                "in [0, 1)".into(),
            ),
            (
                self.exemplar_scale > 0.0 && self.exemplar_scale <= 8.0,
                "--exemplar-scale",
                self.exemplar_scale.to_string(),
                "in (0, 8]".into(),
            ),
            (
                self.shallow_first.is_none_or(|n| n < self.iterations),
                "--shallow-first",
                format!("{}", self.shallow_first.unwrap_or(0)),
                format!("fewer than --iters {}", self.iterations),
            ),
            (
                self.skip_deepest
                    .is_none_or(|n| n.checked_add(shallow).is_some_and(|b| b < self.iterations)),
                "--skip-deepest",
                format!("{}", self.skip_deepest.unwrap_or(0)),
                format!(
                    "fewer than --iters {} less the shallow pass's {shallow} iterations: all \
                     layers need some",
                    self.iterations
                ),
            ),
            (
                self.coarse_iterations
                    .is_none_or(|n| (1..=MAX_ITERATIONS).contains(&n)),
                "--coarse-iters",
                format!("{}", self.coarse_iterations.unwrap_or(0)),
                format!("between 1 and {MAX_ITERATIONS}"),
            ),
            (
                self.scales.is_none_or(|n| (1..=MAX_SCALES).contains(&n)),
                "--scales",
                format!("{}", self.scales.unwrap_or(0)),
                format!("between 1 and {MAX_SCALES}"),
            ),
            (
                self.redraw_every > 0,
                "--redraw-every",
                "0".into(),
                "at least 1".into(),
            ),
            (
                matches!(self.encoding.bit_depth, 8 | 16),
                "--bit-depth",
                self.encoding.bit_depth.to_string(),
                "8 or 16".into(),
            ),
            (
                (1..=100).contains(&self.encoding.jpeg_quality),
                "--jpeg-quality",
                self.encoding.jpeg_quality.to_string(),
                "between 1 and 100".into(),
            ),
            (
                self.snapshot_every <= MAX_ITERATIONS,
                "--snapshot-every",
                self.snapshot_every.to_string(),
                format!("at most {MAX_ITERATIONS} (0: never)"),
            ),
        ];
        match checks.into_iter().find(|(ok, ..)| !ok) {
            Some((_, option, value, allowed)) => Err(Error::OutOfRange {
                option,
                value,
                allowed,
            }),
            None => Ok(()),
        }
    }
}

pub fn parse_size(s: &str) -> std::result::Result<Size, String> {
    Size::parse(s).map_err(|e| e.to_string())
}

fn parse_edge_fade(s: &str) -> std::result::Result<EdgeFade, String> {
    s.parse()
}

fn parse_margin(s: &str) -> std::result::Result<Margin, String> {
    s.parse()
}

fn parse_weights(s: &str) -> std::result::Result<LayerWeights, String> {
    LayerWeights::parse(s).map_err(|e| e.to_string())
}

pub fn parse_provider(s: &str) -> std::result::Result<Provider, String> {
    s.parse::<Provider>().map_err(|e| e.to_string())
}

pub fn parse_precision(s: &str) -> std::result::Result<Precision, String> {
    s.parse::<Precision>().map_err(|e| e.to_string())
}

fn parse_option(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!(
            "'{s}': write it as KEY=VALUE, e.g. gram-norm=no-n2"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_command_lines() {
        let s = Settings::default();
        assert_eq!(s.iterations, 300);
        assert_eq!(s.solver(), Solver::Lbfgs { history: 20 });
        assert_eq!(s.layers, "per-block");
        assert_eq!(s.upsampling, Upsampling::Example);
        assert_eq!(s.runtime.provider, Provider::Cpu);
        assert_eq!(s.encoding, EncodingSettings::default());
        let normal = Quality::Normal.values();
        assert_eq!(
            (s.iterations, s.tolerance, s.history),
            normal,
            "normal is the default"
        );
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_quality_preset_sets_what_was_not_given() {
        let mut s = Settings::default();
        s.apply_quality(Quality::Draft, |id| id == "iterations");
        assert_eq!(
            (s.iterations, s.tolerance),
            (300, 3e-3),
            "--iters given: kept"
        );
        s.apply_quality(Quality::Best, |_| false);
        assert_eq!(
            (s.iterations, s.tolerance, s.history),
            Quality::Best.values()
        );
        assert_eq!(s.quality, Quality::Best);
    }

    #[test]
    fn settings_survive_the_record() {
        let mut s = Settings {
            size: Some(Size {
                width: 96,
                height: 64,
            }),
            layer_weights: LayerWeights::Explicit(vec![1.0, 0.5]),
            options: vec![("gram-norm".into(), "no-n2".into())],
            init: Init::Spectrum,
            ..Settings::default()
        };
        s.set_solver(Solver::Cg);
        let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn numbers_out_of_range_are_refused_without_overflow() {
        let with = |f: &dyn Fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.validate().unwrap_err().to_string()
        };
        assert!(with(&|s| s.history = usize::MAX).contains("--history"));
        assert!(with(&|s| s.skip_deepest = Some(usize::MAX)).contains("--skip-deepest"));
        assert!(with(&|s| s.iterations = 0).contains("--iters 0"));
        assert!(with(&|s| s.runtime.threads = 100_000).contains("cores"));
        assert!(with(&|s| s.scales = Some(9)).contains("--scales"));
        assert!(with(&|s| s.encoding.jpeg_quality = 0).contains("--jpeg-quality"));
        assert!(with(&|s| s.encoding.bit_depth = 12).contains("--bit-depth"));
    }
}
