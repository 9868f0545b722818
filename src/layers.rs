//! Layer selection and per-layer weights: parsing what the user asked for into what the
//! objective needs. Layer names are validated against the manifest; the named presets are rules
//! over VGG's `relu<block>_<conv>` names, so they hold for VGG-16 and VGG-19 alike.

use crate::error::{Error, Result};
use crate::manifest::Variant;

/// Whether a layer (block, conv index in block) belongs to a preset.
pub type LayerRule = fn(u32, u32) -> bool;

/// Named layer sets, as studied in the literature (see README), each a rule on (block, conv).
pub const PRESETS: &[(&str, LayerRule)] = &[
    ("all", |_, _| true),
    ("per-block", |_, conv| conv == 1),
    ("shallow", |block, _| block <= 2),
    ("deep", |block, _| block >= 4),
];

/// The preset used when the user names none: one layer per block, which the reference study
/// found as good as all 13 layers at a lower cost.
pub const DEFAULT_PRESET: &str = "per-block";

/// (block, conv) of a layer named `relu<block>_<conv>`.
pub(crate) fn block_and_conv(name: &str) -> Option<(u32, u32)> {
    let (block, conv) = name.strip_prefix("relu")?.split_once('_')?;
    Some((block.parse().ok()?, conv.parse().ok()?))
}

/// Resolve a comma-separated list of layer names and/or presets against the layers a model
/// offers. The result is in network order, without duplicates.
pub fn parse_layers(spec: &str, available: &[String]) -> Result<Vec<String>> {
    let mut chosen = parse_layers_as_written(spec, available)?;
    chosen.sort_by_key(|n| available.iter().position(|a| a == n));
    Ok(chosen)
}

/// As `parse_layers`, in the order written (a preset's layers in network order where it
/// stands): explicit weights pair with this order.
pub fn parse_layers_as_written(spec: &str, available: &[String]) -> Result<Vec<String>> {
    let mut chosen: Vec<String> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let names: Vec<String> = match PRESETS.iter().find(|(p, _)| *p == item) {
            Some((_, rule)) => available
                .iter()
                .filter(|l| block_and_conv(l).is_some_and(|(b, c)| rule(b, c)))
                .cloned()
                .collect(),
            None => vec![item.to_string()],
        };
        for name in names {
            if !available.contains(&name) {
                return Err(Error::UnknownLayer {
                    name,
                    valid: available.join(", "),
                    presets: preset_names(),
                });
            }
            if !chosen.contains(&name) {
                chosen.push(name);
            }
        }
    }
    if chosen.is_empty() {
        return Err(Error::UnknownLayer {
            name: spec.to_string(),
            valid: available.join(", "),
            presets: preset_names(),
        });
    }
    Ok(chosen)
}

/// Layers (with their weights) sorted into network order, the order the graphs take them in.
pub fn in_network_order(
    layers: Vec<String>,
    weights: Vec<f32>,
    available: &[String],
) -> (Vec<String>, Vec<f32>) {
    let mut pairs: Vec<(String, f32)> = layers.into_iter().zip(weights).collect();
    pairs.sort_by_key(|(l, _)| available.iter().position(|a| a == l));
    pairs.into_iter().unzip()
}

fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the per-layer weights w_l are chosen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerWeights {
    /// w_l = 1 for every chosen layer.
    Uniform,
    /// Growing with depth, w_l ∝ 1/M_l (M_l positions of layer l): w_l = s_l², with s_l the
    /// layer's downsampling (1, 2, 4, 8, 16 for blocks 1-5), so relu1_x weigh 1 and relu5_x 256.
    Grow,
    /// Shrinking with depth, w_l ∝ 1/N_l (N_l channels): w_l = 64 / N_l, so relu1_x weigh 1,
    /// relu2_x 0.5, relu3_x 0.25, relu4_x and relu5_x 0.125.
    Shrink,
    /// One explicit, finite, non-negative number per chosen layer, in the order the layers are
    /// written (`--layers relu5_1,relu1_1 --layer-weights 10,1`: relu5_1 weighs 10).
    Explicit(Vec<f32>),
}

/// Largest explicit weight: a Gram term reaches ~1e9 on noise at the default normalisation,
/// and float32 ends at 3.4e38.
pub const MAX_LAYER_WEIGHT: f32 = 1e6;

/// The names accepted besides explicit lists.
pub const WEIGHTING_NAMES: &[&str] = &["uniform", "grow", "shrink"];

impl LayerWeights {
    /// `uniform`, `grow`, `shrink`, or a comma-separated list of numbers.
    pub fn parse(spec: &str) -> Result<Self> {
        match spec.trim() {
            "uniform" => return Ok(LayerWeights::Uniform),
            "grow" => return Ok(LayerWeights::Grow),
            "shrink" => return Ok(LayerWeights::Shrink),
            _ => {}
        }
        let values = spec
            .split(',')
            .map(|s| {
                s.trim().parse::<f32>().map_err(|_| {
                    Error::InvalidLayerWeights(format!(
                        "'{}' is not a number (give uniform, grow, shrink, or numbers like 1,0.5,0.25)",
                        s.trim()
                    ))
                })
            })
            .collect::<Result<Vec<f32>>>()?;
        Ok(LayerWeights::Explicit(values))
    }

    /// The weights of the chosen layers; validates explicit lists.
    pub fn resolve(&self, layers: &[String], variant: &Variant) -> Result<Vec<f32>> {
        let per_layer = |f: &dyn Fn(&str) -> Option<f32>| {
            layers
                .iter()
                .map(|l| {
                    f(l).ok_or_else(|| {
                        Error::InvalidLayerWeights(format!("the manifest has no size for {l}"))
                    })
                })
                .collect::<Result<Vec<f32>>>()
        };
        match self {
            LayerWeights::Uniform => Ok(vec![1.0; layers.len()]),
            LayerWeights::Grow => per_layer(&|l| variant.scale.get(l).map(|s| (s * s) as f32)),
            LayerWeights::Shrink => {
                per_layer(&|l| variant.channels.get(l).map(|n| 64.0 / *n as f32))
            }
            LayerWeights::Explicit(values) => {
                if values.len() != layers.len() {
                    return Err(Error::InvalidLayerWeights(format!(
                        "{} weights given for {} layers ({}): give one per layer",
                        values.len(),
                        layers.len(),
                        layers.join(", ")
                    )));
                }
                if let Some(bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
                    return Err(Error::InvalidLayerWeights(format!(
                        "{bad} is not a finite, non-negative weight"
                    )));
                }
                if let Some(big) = values.iter().find(|v| **v > MAX_LAYER_WEIGHT) {
                    return Err(Error::InvalidLayerWeights(format!(
                        "{big} is larger than {MAX_LAYER_WEIGHT:e}: the loss would overflow float32 \
                         arithmetic; only the weights' ratios matter, so scale them all down"
                    )));
                }
                if values.iter().all(|v| *v == 0.0) {
                    return Err(Error::InvalidLayerWeights(
                        "all weights are zero: nothing would be optimised".into(),
                    ));
                }
                Ok(values.clone())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// VGG-16's (blocks of 2, 2, 3, 3, 3 convs) or VGG-19's (2, 2, 4, 4, 4) layer names.
    fn vgg_with(convs: [u32; 5]) -> Vec<String> {
        (1..=5)
            .flat_map(|b| (1..=convs[b as usize - 1]).map(move |c| format!("relu{b}_{c}")))
            .collect()
    }

    pub(crate) fn vgg() -> Vec<String> {
        vgg_with([2, 2, 3, 3, 3])
    }

    #[test]
    fn presets_and_names_resolve_in_network_order() {
        let l = parse_layers("relu3_1,shallow", &vgg()).unwrap();
        assert_eq!(l, ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1"]);
        assert_eq!(parse_layers("per-block", &vgg()).unwrap().len(), 5);
        assert_eq!(parse_layers("all", &vgg()).unwrap().len(), 13);
        assert_eq!(parse_layers("deep", &vgg()).unwrap().len(), 6);
    }

    #[test]
    fn presets_follow_the_network() {
        let vgg19 = vgg_with([2, 2, 4, 4, 4]);
        assert_eq!(parse_layers("all", &vgg19).unwrap().len(), 16);
        assert_eq!(
            parse_layers("per-block", &vgg19).unwrap(),
            ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        );
        assert_eq!(parse_layers("deep", &vgg19).unwrap().len(), 8);
        assert!(parse_layers("relu3_4", &vgg()).is_err());
    }

    #[test]
    fn unknown_layer_names_the_valid_ones() {
        let e = parse_layers("relu9_9", &vgg()).unwrap_err().to_string();
        assert!(e.contains("relu9_9") && e.contains("relu5_3") && e.contains("per-block"));
        assert!(parse_layers(" , ", &vgg()).is_err());
    }

    pub(crate) fn variant() -> Variant {
        let channels = [
            64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
        ];
        let scale = [1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 16, 16, 16];
        let map = |values: [u32; 13]| -> serde_json::Map<String, serde_json::Value> {
            vgg()
                .into_iter()
                .zip(values)
                .map(|(l, v)| (l, v.into()))
                .collect()
        };
        // What the exporter writes: the forward convolutions' multiply-adds up to each layer.
        let mut inputs = 3.0;
        let mut total = 0.0;
        let macs: serde_json::Map<String, serde_json::Value> = vgg()
            .into_iter()
            .zip(channels.iter().zip(scale))
            .map(|(l, (&c, s))| {
                total += 9.0 * inputs * c as f64 / (s * s) as f64;
                inputs = c as f64;
                (l, total.into())
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "statistic": "test", "backbone": "vgg16", "padding": "zero",
            "description": "test", "layers": vgg(),
            "channels": map(channels), "scale": map(scale),
            "conv_macs_per_pixel": macs,
            "stats": {"file": "s", "sha256": "", "input": "image", "outputs": {}},
            "grad": [],
        }))
        .unwrap()
    }

    #[test]
    fn weights_must_match_the_layers() {
        let v = variant();
        let layers = parse_layers("relu1_1,relu2_1", &vgg()).unwrap();
        let resolve = |spec: &str| LayerWeights::parse(spec).unwrap().resolve(&layers, &v);
        assert_eq!(resolve("uniform").unwrap(), [1.0, 1.0]);
        assert_eq!(resolve("2, 0.5").unwrap(), [2.0, 0.5]);
        assert!(resolve("1,2,3").is_err());
        assert!(resolve("1,-1").is_err());
        assert!(resolve("0,0").is_err());
        assert!(LayerWeights::parse("a,b").is_err());
    }

    #[test]
    fn grow_and_shrink_follow_positions_and_channels() {
        let v = variant();
        let layers = parse_layers("per-block", &vgg()).unwrap();
        let grow = LayerWeights::Grow.resolve(&layers, &v).unwrap();
        let shrink = LayerWeights::Shrink.resolve(&layers, &v).unwrap();
        assert_eq!(grow, [1.0, 4.0, 16.0, 64.0, 256.0], "∝ 1/M_l");
        assert_eq!(shrink, [1.0, 0.5, 0.25, 0.125, 0.125], "∝ 1/N_l");
    }
}
