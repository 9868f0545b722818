//! The study: the same exemplars synthesised over a grid of method choices (normalisation,
//! layers, statistic, layer weights, solver), with fixed seed and budget, and compared on
//! distances that do not depend on the statistic optimised. Writes labelled contact sheets and a
//! Markdown + JSON table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::layers::LayerWeights;
use crate::manifest::{default_models_dir, Manifest, ModelSet, Padding};
use crate::metrics::{color_distance, spectrum_distance};
use crate::objective::GramMeter;
use crate::optimizer::Solver;
use crate::runtime::{Provider, SessionOptions};
use crate::settings::{Settings, Size};
use crate::sheet::{labelled_sheet, stack, Tile};
use crate::synthesis::Synthesis;

/// One choice of method: what a cell of the study runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Method {
    pub statistic: String,
    pub layers: String,
    pub weights: String,
    /// The statistic's options set (the others at their manifest default), as (name, value).
    pub options: Vec<(String, String)>,
    pub solver: String,
}

impl Method {
    /// The reference method every axis varies one choice of: the default statistic (Gram), one
    /// layer per block, uniform weights, the statistic's options at their defaults (for Gram
    /// the paper's normalisation), L-BFGS.
    pub fn baseline() -> Self {
        let defaults = Settings::default();
        Method {
            statistic: defaults.statistic,
            layers: defaults.layers,
            weights: "uniform".into(),
            options: Vec::new(),
            solver: "lbfgs".into(),
        }
    }

    /// A short file-name-safe key.
    pub fn key(&self) -> String {
        let options: Vec<String> = self.options.iter().map(|(_, v)| v.clone()).collect();
        let options = if options.is_empty() {
            "-".to_string()
        } else {
            options.join("+")
        };
        format!(
            "{}_{}_{}_{}_{}",
            self.statistic, self.layers, self.weights, options, self.solver
        )
    }
}

/// One axis of the study: a name and its (caption, method) cells.
pub struct Axis {
    pub name: &'static str,
    pub cells: Vec<(String, Method)>,
}

/// Every axis the study knows, each varying one choice of the baseline. The statistics and
/// their options are the manifest's (the VGG-16, zero-padded variants): a new statistic or
/// option exported is a new cell, with no change here.
pub fn axes(manifest: &Manifest) -> Vec<Axis> {
    let base = Method::baseline;
    let vary = |f: &dyn Fn(&mut Method, &str), values: &[String]| -> Vec<(String, Method)> {
        values
            .iter()
            .map(|v| {
                let mut m = base();
                f(&mut m, v);
                (v.to_string(), m)
            })
            .collect()
    };
    let plain = |v: &&crate::manifest::Variant| v.backbone == "vgg16" && v.padding == Padding::Zero;
    let mut statistics: Vec<String> = Vec::new();
    for v in manifest.variants.values().filter(plain) {
        if !statistics.contains(&v.statistic) {
            statistics.push(v.statistic.clone());
        }
    }
    // The baseline statistic's options, each value (its default first).
    let baseline_variant = manifest
        .variants
        .values()
        .filter(plain)
        .find(|v| v.statistic == base().statistic);
    let option_cells: Vec<(String, Method)> = baseline_variant
        .into_iter()
        .flat_map(|v| v.options.iter())
        .flat_map(|(name, spec)| {
            let others = spec.values.keys().filter(|k| **k != spec.default);
            std::iter::once(&spec.default).chain(others).map(|value| {
                // The default is the baseline itself (one cell, shared by every axis).
                let mut m = base();
                if *value != spec.default {
                    m.options = vec![(name.clone(), value.clone())];
                }
                (value.clone(), m)
            })
        })
        .collect();
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let presets: Vec<&str> = crate::layers::PRESETS.iter().map(|(p, _)| *p).collect();
    vec![
        Axis {
            name: "normalisation",
            cells: option_cells,
        },
        Axis {
            name: "layers",
            cells: vary(&|m, v| m.layers = v.into(), &names(&presets)),
        },
        Axis {
            name: "statistic",
            cells: vary(&|m, v| m.statistic = v.into(), &statistics),
        },
        Axis {
            name: "weights",
            cells: vary(
                &|m, v| m.weights = v.into(),
                &names(crate::layers::WEIGHTING_NAMES),
            ),
        },
        Axis {
            name: "solver",
            cells: vary(&|m, v| m.solver = v.into(), &names(&Solver::NAMES)),
        },
    ]
}

/// What the study runs with.
#[derive(Debug, Clone, Serialize)]
pub struct StudySettings {
    pub exemplars: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub size: Size,
    pub iterations: usize,
    /// Evaluation budget of every cell (the fair budget when solvers are compared).
    pub max_evaluations: Option<usize>,
    pub seed: u64,
    pub axes: Vec<String>,
    pub provider: Provider,
    pub threads: usize,
    pub models_dir: Option<PathBuf>,
    pub overwrite: bool,
    #[serde(skip)]
    pub cancel: Arc<AtomicBool>,
}

/// One measured cell.
#[derive(Debug, Clone, Serialize)]
pub struct CellResult {
    pub exemplar: String,
    pub method: Method,
    pub image: PathBuf,
    pub final_loss: f32,
    pub initial_loss: f32,
    pub evaluations: usize,
    pub seconds: f64,
    /// Colour-histogram distance (mean per-channel Earth Mover's, intensity units).
    pub color_distance: f64,
    /// Power-spectrum distance (mean |Δ log10 power| over radial bands, decades).
    pub spectrum_distance: f64,
    /// Gram-statistic distance on one layer per block (the same measure for every cell).
    pub gram_distance: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    pub settings: StudySettings,
    pub cells: Vec<CellResult>,
    pub sheets: Vec<PathBuf>,
    pub table: PathBuf,
}

/// Run the study. `log` receives one line per cell as it starts and ends.
pub fn run_study(settings: StudySettings, mut log: impl FnMut(&str)) -> Result<StudyReport> {
    let models = ModelSet::open(
        &settings
            .models_dir
            .clone()
            .unwrap_or_else(default_models_dir),
    )?;
    let all_axes = axes(&models.manifest);
    let chosen: Vec<&Axis> = settings
        .axes
        .iter()
        .map(|name| {
            all_axes.iter().find(|a| a.name == name).ok_or_else(|| {
                Error::InvalidSetting(format!(
                    "unknown study axis '{name}': choose from {}",
                    all_axes
                        .iter()
                        .map(|a| a.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    if settings.exemplars.is_empty() {
        return Err(Error::InvalidSetting("give at least one exemplar".into()));
    }
    // Everything a user can get wrong, before the first (long) cell.
    let exemplars: Vec<(String, Planar)> = settings
        .exemplars
        .iter()
        .map(|p| {
            let img = image_io::load_rgb(p)?.image;
            Ok((stem(p), img))
        })
        .collect::<Result<_>>()?;
    let table = settings.out_dir.join("study.md");
    if table.exists() && !settings.overwrite {
        return Err(Error::OutputExists {
            path: table,
            kind: "study table".into(),
        });
    }
    image_io::check_writable(&table)?;
    let session = SessionOptions::new(settings.provider, settings.threads);
    let mut gram = GramMeter::open(&models, Padding::Zero, session)?;

    // Each distinct method once per exemplar, however many axes it appears on.
    let mut methods: Vec<&Method> = chosen
        .iter()
        .flat_map(|a| a.cells.iter().map(|(_, m)| m))
        .collect();
    methods.sort();
    methods.dedup();
    let mut results: BTreeMap<(String, String), CellResult> = BTreeMap::new();
    let total = methods.len() * exemplars.len();
    for ((name, exemplar), path) in exemplars.iter().zip(&settings.exemplars) {
        let target = gram.target(exemplar)?;
        for method in &methods {
            let n = results.len() + 1;
            log(&format!("[{n}/{total}] {name}: {}", method.key()));
            let image_path = settings
                .out_dir
                .join("cells")
                .join(name)
                .join(format!("{}.png", method.key()));
            let mut builder = Synthesis::builder()
                .exemplar(path)
                .output(&image_path)
                .overwrite(true)
                .size(settings.size.width, settings.size.height)
                .iterations(settings.iterations)
                .tolerance(0.0) // a fixed budget for every cell
                // The method as published: single-scale, from white noise, zero padding.
                .scales(1)
                .init(crate::init::Init::Noise)
                .padding(crate::settings::EdgePadding::Zero)
                .seed(settings.seed)
                .statistic(&method.statistic)
                .layers(&method.layers)
                .layer_weights(LayerWeights::parse(&method.weights)?)
                .solver(Solver::parse(&method.solver, 20)?)
                .provider(settings.provider)
                .threads(settings.threads)
                .models_dir(&models.dir)
                .cancel_flag(settings.cancel.clone());
            for (name, value) in &method.options {
                builder = builder.option(name, value);
            }
            if let Some(n) = settings.max_evaluations {
                builder = builder.max_evaluations(n);
            }
            let outcome = builder.build()?.run()?;
            let cell = CellResult {
                exemplar: name.clone(),
                method: (*method).clone(),
                image: image_path,
                final_loss: outcome.best_loss,
                initial_loss: outcome.initial_loss,
                evaluations: outcome.record.evaluations.len(),
                seconds: outcome.record.optimize_seconds,
                color_distance: color_distance(&outcome.image, exemplar),
                spectrum_distance: spectrum_distance(&outcome.image, exemplar),
                gram_distance: gram.distance(&outcome.image, &target)?,
            };
            log(&format!(
                "    loss {:.3e}, colour {:.4}, spectrum {:.3}, gram {:.4}, {:.1} s",
                cell.final_loss,
                cell.color_distance,
                cell.spectrum_distance,
                cell.gram_distance,
                cell.seconds
            ));
            results.insert((name.clone(), method.key()), cell);
        }
    }

    // Sheets: one per axis (a row per exemplar: the exemplar, then each cell), and all combined.
    let tile = settings.size.width.max(settings.size.height).clamp(96, 256) as usize;
    let mut sheets = Vec::new();
    let mut images = Vec::new();
    for axis in &chosen {
        let rows: Vec<(String, Vec<Tile>)> = exemplars
            .iter()
            .map(|(name, exemplar)| {
                let mut tiles = vec![Tile {
                    caption: "exemplar".into(),
                    image: exemplar.clone(),
                }];
                for (caption, method) in &axis.cells {
                    let cell = &results[&(name.clone(), method.key())];
                    tiles.push(Tile {
                        caption: caption.clone(),
                        image: image_io::load_rgb(&cell.image)?.image,
                    });
                }
                Ok((name.clone(), tiles))
            })
            .collect::<Result<_>>()?;
        let budget = match settings.max_evaluations {
            Some(n) => format!("{n} evals"),
            None => format!("{} iter", settings.iterations),
        };
        let subtitle = format!(
            "{}x{}, {budget}, seed {}",
            settings.size.width, settings.size.height, settings.seed
        );
        let sheet = labelled_sheet(axis.name, &subtitle, &rows, tile);
        let path = settings.out_dir.join(format!("sheet_{}.png", axis.name));
        image_io::save_png(&sheet, &path)?;
        sheets.push(path);
        images.push(sheet);
    }
    let combined = settings.out_dir.join("sheet_all.png");
    image_io::save_png(&stack(&images), &combined)?;
    sheets.push(combined);

    let cells: Vec<CellResult> = results.into_values().collect();
    let report = StudyReport {
        table: table.clone(),
        sheets,
        cells,
        settings,
    };
    write_tables(&report, &chosen)?;
    Ok(report)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "exemplar".into(), |s| s.to_string_lossy().into_owned())
}

fn write_tables(report: &StudyReport, axes: &[&Axis]) -> Result<()> {
    let s = &report.settings;
    let mut md = format!(
        "# neurotex study\n\n{}x{}, at most {} iterations and {} evaluations per cell, seed {}, provider {}.\n\n\
         Distances to the exemplar, the same measure for every cell (lower is closer):\n\
         colour = mean per-channel Earth Mover's distance of the colour histograms (intensity\n\
         units); spectrum = mean |Δ log10 power| over radial frequency bands (decades);\n\
         gram = Gram-statistic distance on relu1_1..relu5_1 (relative). The final loss is in\n\
         each statistic's own units: compare it within a statistic only.\n",
        s.size.width,
        s.size.height,
        s.iterations,
        s.max_evaluations.map_or("unlimited".to_string(), |n| n.to_string()),
        s.seed,
        s.provider
    );
    for (name, _) in report
        .cells
        .iter()
        .map(|c| (&c.exemplar, ()))
        .collect::<BTreeMap<_, _>>()
    {
        md.push_str(&format!("\n## {name}\n"));
        for axis in axes {
            md.push_str(&format!(
                "\n### {}\n\n| {} | final loss | evaluations | seconds | colour | spectrum | gram |\n|---|---|---|---|---|---|---|\n",
                axis.name, axis.name
            ));
            for (caption, method) in &axis.cells {
                if let Some(c) = report
                    .cells
                    .iter()
                    .find(|c| &c.exemplar == name && c.method == *method)
                {
                    md.push_str(&format!(
                        "| {caption} | {:.3e} | {} | {:.1} | {:.4} | {:.3} | {:.4} |\n",
                        c.final_loss,
                        c.evaluations,
                        c.seconds,
                        c.color_distance,
                        c.spectrum_distance,
                        c.gram_distance
                    ));
                }
            }
        }
    }
    image_io::write_atomically(&report.table, |tmp| {
        std::fs::write(tmp, md).map_err(|e| e.to_string())
    })?;
    let json = serde_json::to_string_pretty(report).expect("report serialises");
    image_io::write_atomically(&report.settings.out_dir.join("study.json"), |tmp| {
        std::fs::write(tmp, json).map_err(|e| e.to_string())
    })
}
