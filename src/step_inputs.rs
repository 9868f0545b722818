//! Per-step inputs that the host draws for a variant (declared in the manifest), e.g. the random
//! projection directions of the sliced Wasserstein statistic. Reproducible from a seed.

use ndarray::{Array2, ArrayD};
use ndarray_linalg::QR;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::manifest::StepInputSpec;

/// Drawn values, by input name.
pub type StepValues = Vec<(String, ArrayD<f32>)>;

/// Draw every step input of a variant. `round` selects a fresh, reproducible draw.
pub fn draw_all(specs: &[StepInputSpec], seed: u64, round: u64) -> Result<StepValues> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            // One stream per (seed, round, input), so adding a layer does not change the others.
            let stream = seed ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((i as u64) << 48);
            Ok((spec.name.clone(), draw(spec, stream)?))
        })
        .collect()
}

/// Draw one step input.
///
/// `random-orthonormal` [n, n]: a Haar-random rotation, its rows n orthonormal directions. QR of
/// a Gaussian matrix, with the signs of R's diagonal moved into Q so that the distribution is
/// uniform over rotations (plain QR would bias it).
pub fn draw(spec: &StepInputSpec, seed: u64) -> Result<ArrayD<f32>> {
    match (spec.kind.as_str(), spec.shape.as_slice()) {
        ("random-orthonormal", &[n, m]) if n == m && n > 0 => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let gaussian =
                Array2::<f64>::from_shape_simple_fn((n, n), || StandardNormal.sample(&mut rng));
            let (q, r) = gaussian.qr().map_err(|e| {
                Error::Optimiser(format!("QR of the random directions failed: {e}"))
            })?;
            let signs: Vec<f64> = (0..n).map(|i| r[[i, i]].signum()).collect();
            let q = Array2::from_shape_fn((n, n), |(i, j)| q[[i, j]] * signs[j]);
            // Rows of Qᵀ are the directions.
            Ok(q.t().mapv(|v| v as f32).into_dyn())
        }
        (kind, shape) => Err(Error::Models {
            dir: ".".into(),
            reason: format!(
                "step input {} has kind '{kind}' with shape {shape:?}, which this neurotex \
                 cannot draw (known: random-orthonormal [n, n]); update neurotex or re-export",
                spec.name
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> StepInputSpec {
        StepInputSpec {
            name: "directions_x".into(),
            layer: "x".into(),
            kind: "random-orthonormal".into(),
            shape: vec![n, n],
        }
    }

    #[test]
    fn directions_are_orthonormal_and_reproducible() {
        let p = draw(&spec(64), 3).unwrap();
        let p = p.into_dimensionality::<ndarray::Ix2>().unwrap();
        let ppt = p.dot(&p.t());
        for i in 0..64 {
            for j in 0..64 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (ppt[[i, j]] - want).abs() < 1e-5,
                    "P Pᵀ[{i},{j}] = {}",
                    ppt[[i, j]]
                );
            }
        }
        assert_eq!(draw(&spec(64), 3).unwrap(), p.clone().into_dyn());
        assert_ne!(draw(&spec(64), 4).unwrap(), p.into_dyn());
        let a = draw_all(&[spec(8)], 1, 0).unwrap();
        let b = draw_all(&[spec(8)], 1, 1).unwrap();
        assert_ne!(a[0].1, b[0].1, "each round redraws");
    }

    #[test]
    fn unknown_kinds_are_refused() {
        let mut s = spec(4);
        s.kind = "gaussian".into();
        assert!(draw(&s, 0).unwrap_err().to_string().contains("gaussian"));
    }
}
