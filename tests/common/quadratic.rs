//! A cheap analytic loss for the optimiser's tests and benchmark (benches/optimizer.rs).

use neurotex::objective::Evaluation;
use neurotex::optimizer::ImageLoss;

/// ½ Σ c_i (x_i − t_i)² with curvatures c_i spread over [1, 100]: ill-conditioned enough that
/// L-BFGS keeps taking full iterations, and one pass over the pixels per evaluation.
pub struct Quadratic {
    curvature: Vec<f32>,
    target: Vec<f32>,
}

impl Quadratic {
    pub fn new(pixels: usize) -> Self {
        let golden = 0.618_034_f64;
        Quadratic {
            curvature: (0..pixels)
                .map(|i| 1.0 + 99.0 * ((i as f64 * golden).fract() as f32))
                .collect(),
            target: (0..pixels)
                .map(|i| 0.5 + 0.3 * (i as f32 * 0.01).sin())
                .collect(),
        }
    }
}

impl ImageLoss for Quadratic {
    fn evaluate_image(&mut self, image: &[f32]) -> neurotex::Result<Evaluation> {
        let mut loss = 0.0f64;
        let grad = image
            .iter()
            .zip(&self.curvature)
            .zip(&self.target)
            .map(|((x, c), t)| {
                let d = x - t;
                loss += 0.5 * (c * d * d) as f64;
                c * d
            })
            .collect();
        Ok(Evaluation {
            loss: vec![loss as f32],
            layer_losses: vec![loss as f32],
            grad,
        })
    }
}
