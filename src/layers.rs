//! Layer selection and per-layer weights: parsing what the user asked for into what the
//! objective needs. Layer names are validated against the manifest, not hard-coded here, except
//! for the named presets, which are VGG-16's own.

use crate::error::{Error, Result};

/// Named layer sets, as studied in the literature (see README).
pub const PRESETS: &[(&str, &[&str])] = &[
    (
        "all",
        &[
            "relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu4_1",
            "relu4_2", "relu4_3", "relu5_1", "relu5_2", "relu5_3",
        ],
    ),
    (
        "per-block",
        &["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
    ),
    ("shallow", &["relu1_1", "relu1_2", "relu2_1", "relu2_2"]),
    (
        "deep",
        &[
            "relu4_1", "relu4_2", "relu4_3", "relu5_1", "relu5_2", "relu5_3",
        ],
    ),
];

/// The preset used when the user names none: one layer per block, which the reference study
/// found as good as all 13 layers at a lower cost.
pub const DEFAULT_PRESET: &str = "per-block";

/// Resolve a comma-separated list of layer names and/or presets against the layers a model
/// offers. The result is in network order, without duplicates.
pub fn parse_layers(spec: &str, available: &[String]) -> Result<Vec<String>> {
    let mut chosen: Vec<String> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let names: Vec<String> = match PRESETS.iter().find(|(p, _)| *p == item) {
            Some((_, layers)) => layers.iter().map(|s| s.to_string()).collect(),
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
    chosen.sort_by_key(|n| available.iter().position(|a| a == n));
    Ok(chosen)
}

fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the per-layer weights w_l are chosen.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerWeights {
    /// w_l = 1 for every chosen layer.
    Uniform,
    /// One explicit, finite, non-negative number per chosen layer, in network order.
    Explicit(Vec<f32>),
}

impl LayerWeights {
    /// `uniform`, or a comma-separated list of numbers.
    pub fn parse(spec: &str) -> Result<Self> {
        if spec.trim() == "uniform" {
            return Ok(LayerWeights::Uniform);
        }
        let values = spec
            .split(',')
            .map(|s| {
                s.trim().parse::<f32>().map_err(|_| {
                    Error::InvalidLayerWeights(format!(
                        "'{}' is not a number (give `uniform` or numbers like 1,0.5,0.25)",
                        s.trim()
                    ))
                })
            })
            .collect::<Result<Vec<f32>>>()?;
        Ok(LayerWeights::Explicit(values))
    }

    /// The weights for `count` chosen layers; validates explicit lists.
    pub fn resolve(&self, layers: &[String]) -> Result<Vec<f32>> {
        match self {
            LayerWeights::Uniform => Ok(vec![1.0; layers.len()]),
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
mod tests {
    use super::*;

    fn vgg() -> Vec<String> {
        PRESETS[0].1.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn presets_and_names_resolve_in_network_order() {
        let l = parse_layers("relu3_1,shallow", &vgg()).unwrap();
        assert_eq!(l, ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1"]);
        assert_eq!(parse_layers("per-block", &vgg()).unwrap().len(), 5);
        assert_eq!(parse_layers("all", &vgg()).unwrap().len(), 13);
    }

    #[test]
    fn unknown_layer_names_the_valid_ones() {
        let e = parse_layers("relu9_9", &vgg()).unwrap_err().to_string();
        assert!(e.contains("relu9_9") && e.contains("relu5_3") && e.contains("per-block"));
        assert!(parse_layers(" , ", &vgg()).is_err());
    }

    #[test]
    fn weights_must_match_the_layers() {
        let layers = parse_layers("relu1_1,relu2_1", &vgg()).unwrap();
        assert_eq!(
            LayerWeights::parse("uniform")
                .unwrap()
                .resolve(&layers)
                .unwrap(),
            [1.0, 1.0]
        );
        let w = LayerWeights::parse("2, 0.5").unwrap();
        assert_eq!(w.resolve(&layers).unwrap(), [2.0, 0.5]);
        assert!(LayerWeights::parse("1,2,3")
            .unwrap()
            .resolve(&layers)
            .is_err());
        assert!(LayerWeights::parse("1,-1")
            .unwrap()
            .resolve(&layers)
            .is_err());
        assert!(LayerWeights::parse("0,0")
            .unwrap()
            .resolve(&layers)
            .is_err());
        assert!(LayerWeights::parse("a,b").is_err());
    }
}
