//! The optimiser's parameter and gradient vector: the pixels (as logits), with the vector
//! algebra argmin's solvers need (argmin-math's traits).
//!
//! Why not argmin-math's own `Vec<f32>` backend: its dot product is one sequential f32 sum (a
//! chain of dependent additions the compiler may not reorder: 3.4 ms for 3.1 M values here,
//! against 1.9 ms in 16 lanes on one core and 0.9-1.2 ms on two) and every operation runs on
//! one core. At 1024² (3.1 M values) L-BFGS with 20 pairs spent 0.39 s per
//! iteration on the host that way (benches/optimizer.rs), 20x the graph's time on an H200. Here
//! the dot product accumulates in 16 independent lanes (vectorised) and every operation splits
//! the vector into chunks spread over the cores. Chunks are summed in a fixed order, so the
//! result does not depend on the number of threads: runs stay reproducible.

use argmin_math::{
    ArgminAdd, ArgminDot, ArgminL1Norm, ArgminL2Norm, ArgminMinMax, ArgminMul, ArgminScaledAdd,
    ArgminSignum, ArgminSub, ArgminZeroLike,
};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Values per parallel task: ~30 µs of work at memory speed, so the cost of handing a task to
/// a thread is small, while 256² (196 608 values) still gives 6 tasks.
const CHUNK: usize = 1 << 15;

/// Pixels (or their gradient), \[3,H,W\] row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Pixels(pub Vec<f32>);

/// `f` applied to every value, in parallel.
pub fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    zip_map(a, a, |a, _| f(a))
}

/// `f` applied to every pair of values, in parallel.
pub fn zip_map(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "vector lengths");
    // Written once without zeroing first: a memset of the output was 14% of L-BFGS's host time.
    let mut out = Vec::with_capacity(a.len());
    out.spare_capacity_mut()[..a.len()]
        .par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(out, (a, b))| fill(out, a, b, &f));
    // SAFETY: every one of the a.len() values was written by `fill` above.
    unsafe { out.set_len(a.len()) };
    out
}

/// One chunk of `zip_map`: a plain loop over slices of equal length, which the compiler
/// vectorises once `f` is inlined (hence `inline(always)`: through rayon's closures it was not).
#[inline(always)]
fn fill(out: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32], f: &impl Fn(f32, f32) -> f32) {
    let n = out.len().min(a.len()).min(b.len());
    let (out, a, b) = (&mut out[..n], &a[..n], &b[..n]);
    for i in 0..n {
        out[i].write(f(a[i], b[i]));
    }
}

/// Σ f(a_i, b_i), in f64 across chunks (summed in chunk order: independent of the threads).
fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> f64 {
    assert_eq!(a.len(), b.len(), "vector lengths");
    let partials: Vec<f64> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(a, b)| chunk_sum(a, b, &f))
        .collect();
    partials.iter().sum()
}

/// One chunk of `sum_pairs`, in 16 independent accumulators: the additions vectorise instead
/// of each waiting on the last. 2048 values per lane at most, so f32 is precise enough.
#[inline(always)]
fn chunk_sum(a: &[f32], b: &[f32], f: &impl Fn(f32, f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; 16];
    let whole = a.len().min(b.len()) / 16 * 16;
    for (a, b) in a[..whole].chunks_exact(16).zip(b[..whole].chunks_exact(16)) {
        for k in 0..16 {
            lanes[k] += f(a[k], b[k]);
        }
    }
    let rest: f32 = a[whole..]
        .iter()
        .zip(&b[whole..])
        .map(|(&a, &b)| f(a, b))
        .sum();
    lanes.iter().map(|&l| l as f64).sum::<f64>() + rest as f64
}

impl ArgminDot<Pixels, f32> for Pixels {
    fn dot(&self, other: &Pixels) -> f32 {
        sum_pairs(&self.0, &other.0, |a, b| a * b) as f32
    }
}

impl ArgminL2Norm<f32> for Pixels {
    fn l2_norm(&self) -> f32 {
        sum_pairs(&self.0, &self.0, |a, b| a * b).sqrt() as f32
    }
}

impl ArgminL1Norm<f32> for Pixels {
    fn l1_norm(&self) -> f32 {
        sum_pairs(&self.0, &self.0, |a, _| a.abs()) as f32
    }
}

impl ArgminAdd<Pixels, Pixels> for Pixels {
    fn add(&self, other: &Pixels) -> Pixels {
        Pixels(zip_map(&self.0, &other.0, |a, b| a + b))
    }
}

impl ArgminSub<Pixels, Pixels> for Pixels {
    fn sub(&self, other: &Pixels) -> Pixels {
        Pixels(zip_map(&self.0, &other.0, |a, b| a - b))
    }
}

impl ArgminMul<Pixels, Pixels> for Pixels {
    fn mul(&self, other: &Pixels) -> Pixels {
        Pixels(zip_map(&self.0, &other.0, |a, b| a * b))
    }
}

impl ArgminAdd<f32, Pixels> for Pixels {
    fn add(&self, other: &f32) -> Pixels {
        Pixels(map(&self.0, |a| a + other))
    }
}

impl ArgminSub<f32, Pixels> for Pixels {
    fn sub(&self, other: &f32) -> Pixels {
        Pixels(map(&self.0, |a| a - other))
    }
}

impl ArgminMul<f32, Pixels> for Pixels {
    fn mul(&self, other: &f32) -> Pixels {
        Pixels(map(&self.0, |a| a * other))
    }
}

impl ArgminScaledAdd<Pixels, f32, Pixels> for Pixels {
    fn scaled_add(&self, factor: &f32, vec: &Pixels) -> Pixels {
        Pixels(zip_map(&self.0, &vec.0, |a, b| a + factor * b))
    }
}

// What follows is only used by L-BFGS's L1 (OWL-QN) option, which neurotex does not enable;
// argmin's trait bounds ask for it anyway.

impl ArgminSignum for Pixels {
    fn signum(self) -> Pixels {
        Pixels(map(&self.0, f32::signum))
    }
}

impl ArgminZeroLike for Pixels {
    fn zero_like(&self) -> Pixels {
        Pixels(vec![0.0; self.0.len()])
    }
}

impl ArgminMinMax for Pixels {
    fn min(x: &Pixels, y: &Pixels) -> Pixels {
        Pixels(zip_map(&x.0, &y.0, f32::min))
    }
    fn max(x: &Pixels, y: &Pixels) -> Pixels {
        Pixels(zip_map(&x.0, &y.0, f32::max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that are not exactly representable sums, over several chunks plus a ragged end.
    fn vectors(n: usize) -> (Pixels, Pixels) {
        let a = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let b = (0..n)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 3.0)
            .collect();
        (Pixels(a), Pixels(b))
    }

    #[test]
    fn dot_and_norms_match_a_double_precision_sum() {
        for n in [1, 15, 16, 17, CHUNK - 1, CHUNK, 3 * CHUNK + 5] {
            let (a, b) = vectors(n);
            let exact: f64 =
                a.0.iter()
                    .zip(&b.0)
                    .map(|(&x, &y)| x as f64 * y as f64)
                    .sum();
            let norm: f64 = a.0.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            let l1: f64 = a.0.iter().map(|&x| x.abs() as f64).sum();
            let close =
                |got: f32, want: f64| (got as f64 - want).abs() <= 1e-5 * want.abs().max(1.0);
            assert!(
                close(a.dot(&b), exact),
                "n={n}: dot {} vs {exact}",
                a.dot(&b)
            );
            assert!(
                close(a.l2_norm(), norm),
                "n={n}: l2 {} vs {norm}",
                a.l2_norm()
            );
            assert!(close(a.l1_norm(), l1), "n={n}: l1 {} vs {l1}", a.l1_norm());
        }
    }

    #[test]
    fn the_dot_product_does_not_depend_on_the_number_of_threads() {
        let (a, b) = vectors(5 * CHUNK + 3);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let d1 = one.install(|| a.dot(&b));
        let d3 = three.install(|| a.dot(&b));
        assert_eq!(d1.to_bits(), d3.to_bits());
    }

    #[test]
    fn elementwise_operations_match_their_definitions() {
        let (a, b) = vectors(2 * CHUNK + 9);
        let each =
            |p: &Pixels, f: &dyn Fn(usize) -> f32| p.0.iter().enumerate().all(|(i, &v)| v == f(i));
        assert!(each(&a.add(&b), &|i| a.0[i] + b.0[i]));
        assert!(each(&a.sub(&b), &|i| a.0[i] - b.0[i]));
        assert!(each(&ArgminMul::<Pixels, Pixels>::mul(&a, &b), &|i| a.0[i]
            * b.0[i]));
        assert!(each(&ArgminMul::<f32, Pixels>::mul(&a, &-2.5), &|i| a.0[i]
            * -2.5));
        assert!(each(&ArgminAdd::<f32, Pixels>::add(&a, &0.5), &|i| a.0[i] + 0.5));
        assert!(each(&ArgminSub::<f32, Pixels>::sub(&a, &0.5), &|i| a.0[i] - 0.5));
        assert!(each(&a.scaled_add(&0.25, &b), &|i| a.0[i] + 0.25 * b.0[i]));
        assert!(each(&Pixels::max(&a, &b), &|i| a.0[i].max(b.0[i])));
        assert!(each(&Pixels::min(&a, &b), &|i| a.0[i].min(b.0[i])));
        assert!(each(&a.clone().signum(), &|i| a.0[i].signum()));
        assert!(each(&a.zero_like(), &|_| 0.0));
        assert_eq!(a.add(&b).0.len(), a.0.len());
    }
}
