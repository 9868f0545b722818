//! models/manifest.json: everything the Rust side knows about a statistic variant.
//!
//! The exporter (scripts/export_models.py) writes one entry per variant: the stats model (image
//! -> one statistic tensor per layer), and grad models truncated after each layer (image,
//! targets, layer weights, per-step inputs -> loss, layer_losses, grad). Rust wires the stats
//! outputs to the grad inputs by name, so a new statistic needs no Rust change.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MODELS_ENV: &str = "NEUROTEX_MODELS";

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub network: String,
    pub weights: WeightsFile,
    pub image_input: ImageInput,
    pub variants: BTreeMap<String, Variant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WeightsFile {
    pub file: String,
    pub sha256: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageInput {
    /// Height and width must be multiples of this (the pooling stages).
    pub size_multiple: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    pub description: String,
    /// Every layer the variant was exported for, in network order.
    pub layers: Vec<String>,
    pub channels: BTreeMap<String, usize>,
    /// Downsampling of each layer relative to the image (M_l = H W / scale_l²).
    pub scale: BTreeMap<String, u32>,
    pub stats: StatsModel,
    /// Grad models, each covering the layers up to its deepest one.
    pub grad: Vec<GradModel>,
    /// Inputs the host draws and feeds at each step (e.g. random projection directions).
    #[serde(default)]
    pub step_inputs: Vec<StepInputSpec>,
    /// Graph inputs with named values (e.g. the Gram normalisation), keyed by option name.
    #[serde(default)]
    pub options: BTreeMap<String, OptionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StepInputSpec {
    pub name: String,
    pub layer: String,
    /// How the host draws it; see `step_inputs::draw`.
    pub kind: String,
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OptionSpec {
    /// The graph input that takes the chosen value.
    pub input: String,
    pub default: String,
    pub values: BTreeMap<String, Vec<f32>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatsModel {
    pub file: String,
    pub sha256: String,
    pub input: String,
    #[serde(default)]
    pub step_inputs: Vec<String>,
    /// Layer name -> output name.
    pub outputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GradModel {
    pub file: String,
    pub sha256: String,
    pub layers: Vec<String>,
    pub image_input: String,
    pub layer_weights_input: String,
    /// Layer name -> input name of the target statistic.
    pub target_inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub step_inputs: Vec<String>,
    pub outputs: GradOutputs,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GradOutputs {
    pub loss: String,
    pub layer_losses: String,
    pub grad: String,
}

/// A models folder whose manifest parsed and whose files exist.
#[derive(Debug, Clone)]
pub struct ModelSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// $NEUROTEX_MODELS, else ./models, else the models folder of this checkout.
pub fn default_models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os(MODELS_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("models");
    if local.join(MANIFEST_FILE).exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

impl ModelSet {
    pub fn open(dir: &Path) -> Result<Self> {
        let err = |reason: String| Error::Models {
            dir: dir.to_path_buf(),
            reason,
        };
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "{} is not a neurotex manifest: {e}",
                path.display()
            ))
        })?;
        if manifest.format != 1 {
            return Err(err(format!(
                "manifest format {} is not supported (expected 1)",
                manifest.format
            )));
        }
        let set = ModelSet {
            dir: dir.to_path_buf(),
            manifest,
        };
        for file in set.all_files() {
            if !set.dir.join(file).is_file() {
                return Err(err(format!("{file} is missing")));
            }
        }
        Ok(set)
    }

    fn all_files(&self) -> Vec<&str> {
        let mut files = vec![self.manifest.weights.file.as_str()];
        for v in self.manifest.variants.values() {
            files.push(&v.stats.file);
            files.extend(v.grad.iter().map(|g| g.file.as_str()));
        }
        files
    }

    pub fn variant(&self, name: &str) -> Result<&Variant> {
        self.manifest
            .variants
            .get(name)
            .ok_or_else(|| Error::UnknownVariant {
                name: name.to_string(),
                available: self
                    .manifest
                    .variants
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Check a file against its recorded sha256, so that a stale or foreign model is refused
    /// with a clear message instead of producing wrong textures.
    pub fn verify(&self, file: &str, expected: &str) -> Result<PathBuf> {
        let path = self.dir.join(file);
        let actual = sha256_file(&path)?;
        if actual != expected {
            return Err(Error::Models {
                dir: self.dir.clone(),
                reason: format!(
                    "{file} does not match the manifest (sha256 {actual}, expected {expected})"
                ),
            });
        }
        Ok(path)
    }

    /// Verify the shared weights file once.
    pub fn verify_weights(&self) -> Result<()> {
        self.verify(&self.manifest.weights.file, &self.manifest.weights.sha256)
            .map(|_| ())
    }
}

impl Variant {
    /// The smallest grad model whose layers include every requested layer: the evaluation cost
    /// follows the deepest layer actually used.
    pub fn grad_model_for(&self, layers: &[String]) -> Option<&GradModel> {
        self.grad
            .iter()
            .filter(|g| layers.iter().all(|l| g.layers.contains(l)))
            .min_by_key(|g| g.layers.len())
    }
}

/// Values of a variant's options as the graph takes them: (graph input, value).
pub type OptionInputs = Vec<(String, Vec<f32>)>;

/// The graph inputs of a variant's options at their defaults.
pub fn default_option_inputs(variant: &Variant) -> OptionInputs {
    variant
        .options
        .values()
        .map(|o| (o.input.clone(), o.values[&o.default].clone()))
        .collect()
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
