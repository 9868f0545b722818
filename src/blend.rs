//! Several exemplars at once (`neurotex synth A B --mix 0.3,0.7`, `neurotex style --style A
//! --style B`): the targets are the weighted mean of the exemplars' statistics. For Gram
//! matrices that is the statistics of a texture between them; for sorted features (quantile
//! functions, resampled to one length) it is their 1-D Wasserstein barycentre per channel.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::objective::{resample_last_axis, LayerStatistics};

/// Most exemplars blended.
pub const MAX_EXEMPLARS: usize = 8;

/// The exemplars after the first, each with its weight, and the first's weight; the weights
/// sum to 1.
#[derive(Debug, Clone)]
pub struct Blend {
    pub first_weight: f32,
    pub others: Vec<BlendExemplar>,
}

/// An exemplar blended with the first.
#[derive(Debug, Clone)]
pub struct BlendExemplar {
    pub path: PathBuf,
    pub image: Planar,
    /// The sha256 of its file, for the record (`--resume` checks it).
    pub sha256: String,
    pub weight: f32,
}

impl Blend {
    /// The exemplars after the first read from `paths`, with `mix` (one weight per exemplar,
    /// the first's included; empty: equal weights), normalised to sum to 1.
    pub fn load(paths: &[PathBuf], mix: &[f32]) -> Result<Blend> {
        let count = paths.len() + 1;
        if count > MAX_EXEMPLARS {
            return Err(Error::InvalidSetting(format!(
                "{count} exemplars: at most {MAX_EXEMPLARS} are blended"
            )));
        }
        let weights = normalised_weights(mix, count)?;
        let others = (paths.iter().zip(&weights[1..]))
            .map(|(path, &weight)| {
                let loaded = image_io::load_rgb(path)?;
                Ok(BlendExemplar {
                    path: path.clone(),
                    image: loaded.image,
                    sha256: loaded.sha256,
                    weight,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Blend {
            first_weight: weights[0],
            others,
        })
    }

    /// The others at the scale the first exemplar is taken at: `factor` of their own size.
    pub fn scaled(&self, factor: f64) -> Vec<(Planar, f32)> {
        (self.others.iter())
            .map(|o| {
                let (_, h, w) = o.image.dim();
                let side = |v: usize| ((v as f64 * factor).round() as u32).max(16);
                let image = if factor == 1.0 {
                    o.image.clone()
                } else {
                    image_io::resize(&o.image, side(w), side(h))
                };
                (image, o.weight)
            })
            .collect()
    }

    pub fn paths(&self) -> Vec<&Path> {
        self.others.iter().map(|o| o.path.as_path()).collect()
    }
}

/// `mix` checked (finite, not negative, not all zero, one per exemplar) and divided by its sum;
/// equal weights where it is empty.
pub fn normalised_weights(mix: &[f32], count: usize) -> Result<Vec<f32>> {
    if mix.is_empty() {
        return Ok(vec![1.0 / count as f32; count]);
    }
    if mix.len() != count {
        return Err(Error::InvalidSetting(format!(
            "--mix has {} weights for {count} exemplars: give one per exemplar, in order",
            mix.len()
        )));
    }
    if let Some(w) = mix.iter().find(|w| !w.is_finite() || **w < 0.0) {
        return Err(Error::InvalidSetting(format!(
            "--mix weight {w}: the weights are numbers of 0 or more"
        )));
    }
    let sum: f32 = mix.iter().sum();
    if sum <= 0.0 {
        return Err(Error::InvalidSetting(
            "--mix weights are all 0: give at least one exemplar a weight".into(),
        ));
    }
    Ok(mix.iter().map(|w| w / sum).collect())
}

/// `total` + `weight` · `stats`, layer by layer; a statistic of another length along its last
/// axis (sorted features of an exemplar of another size) is resampled to `total`'s first.
pub fn add_weighted(total: &mut LayerStatistics, stats: &LayerStatistics, weight: f32) {
    for ((_, t), (_, s)) in total.iter_mut().zip(stats) {
        let s: ArrayD<f32> = match t.shape().last() {
            Some(&m) if s.shape().last() != Some(&m) => resample_last_axis(s, m),
            _ => s.clone(),
        };
        t.zip_mut_with(&s, |a, b| *a += weight * b);
    }
}

/// `stats` times `weight`.
pub fn scaled(stats: LayerStatistics, weight: f32) -> LayerStatistics {
    stats
        .into_iter()
        .map(|(layer, s)| (layer, s.mapv(|v| v * weight)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_checked_and_normalised() {
        assert_eq!(normalised_weights(&[], 4).unwrap(), vec![0.25; 4]);
        assert_eq!(
            normalised_weights(&[3.0, 1.0], 2).unwrap(),
            vec![0.75, 0.25]
        );
        assert_eq!(normalised_weights(&[1.0, 0.0], 2).unwrap(), vec![1.0, 0.0]);
        let err = |mix: &[f32]| normalised_weights(mix, 2).unwrap_err().to_string();
        assert!(err(&[1.0]).contains("one per exemplar"));
        assert!(err(&[1.0, -1.0]).contains("0 or more"));
        assert!(err(&[f32::NAN, 1.0]).contains("0 or more"));
        assert!(err(&[0.0, 0.0]).contains("all 0"));
    }

    #[test]
    fn statistics_of_other_lengths_are_resampled_before_the_mean() {
        let a = vec![(
            "l".to_string(),
            ArrayD::from_shape_vec(vec![1, 1, 2], vec![0.0, 2.0]).unwrap(),
        )];
        let b = vec![(
            "l".to_string(),
            ArrayD::from_shape_vec(vec![1, 1, 4], vec![4.0, 4.0, 6.0, 6.0]).unwrap(),
        )];
        let mut total = scaled(a, 0.5);
        add_weighted(&mut total, &b, 0.5);
        assert_eq!(total[0].1.as_slice().unwrap(), &[2.0, 4.0]);
    }
}
