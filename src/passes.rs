//! The passes at the start of the last coarse-to-fine scale: rounds that match only some of the
//! chosen layers, in a graph that stops at the deepest of them, before all layers run.
//!
//! Why. Right after upsampling, the full-size loss is dominated by relu2_1 and relu3_1 (the
//! upsampled image lacks, or has pasted, fine detail), and a graph that ends at relu3_1 costs
//! ~40% of one that ends at relu5_1 (its convolutions are 14.6 of 37.8 GFLOP at 256²): the
//! shallow pass. After it, the deepest block's statistics were already fixed by the coarse
//! scales and barely move (pebbles, per-block layers: relu5_1's term is ~20 of a loss of ~1e5),
//! while its convolutions (conv4_2, conv4_3, conv5_1) are 29% of every evaluation: the second
//! pass leaves that block out. All layers run last, so that the result's loss is the full one.

use crate::layers::block_and_conv;
use crate::manifest::Variant;

/// The deepest layer of the shallow pass.
pub const SHALLOW_DEPTH: &str = "relu3_1";

/// Which of the two passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassKind {
    /// The chosen layers up to SHALLOW_DEPTH (`--shallow-first`).
    Shallow,
    /// The chosen layers but those of the deepest block (`--skip-deepest`).
    SkipDeepest,
}

/// One pass: the chosen layers up to `ends_at` (network order), for `iterations` iterations.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pass {
    pub kind: PassKind,
    pub ends_at: String,
    pub iterations: usize,
}

/// The passes for the chosen layers (in network order, `network` being all of the variant's):
/// the shallow pass (layers up to SHALLOW_DEPTH) for `shallow` iterations, then the pass
/// without the deepest block for `skip_deepest` iterations. A pass is left out when its budget
/// is 0, when it would match every chosen layer or none, or (the second) when it would end no
/// deeper than SHALLOW_DEPTH, i.e. add nothing to the shallow pass.
pub fn plan(
    network: &[String],
    chosen: &[String],
    shallow: usize,
    skip_deepest: usize,
) -> Vec<Pass> {
    let depth = |l: &str| depth(network, l);
    let shallow_cut = depth(SHALLOW_DEPTH);
    let deepest_before = |keep: &dyn Fn(&String) -> bool| -> Option<String> {
        let kept: Vec<&String> = chosen.iter().filter(|l| keep(l)).collect();
        (!kept.is_empty() && kept.len() < chosen.len()).then(|| kept.last().unwrap().to_string())
    };
    let mut passes = Vec::new();
    if shallow > 0 {
        let up_to_cut = |l: &String| depth(l).zip(shallow_cut).is_some_and(|(d, c)| d <= c);
        if let Some(ends_at) = deepest_before(&up_to_cut) {
            passes.push(Pass {
                kind: PassKind::Shallow,
                ends_at,
                iterations: shallow,
            });
        }
    }
    let deepest_block = chosen
        .last()
        .and_then(|l| block_and_conv(l))
        .map(|(b, _)| b);
    if skip_deepest > 0 {
        let above_block = |l: &String| block_and_conv(l).map(|(b, _)| b) < deepest_block;
        if let Some(ends_at) = deepest_before(&above_block)
            .filter(|e| depth(e).zip(shallow_cut).is_some_and(|(d, c)| d > c))
        {
            passes.push(Pass {
                kind: PassKind::SkipDeepest,
                ends_at,
                iterations: skip_deepest,
            });
        }
    }
    passes
}

/// What an evaluation in a graph that ends at `ends_at` costs against one that ends at
/// `deepest`: the ratio of their 3x3 convolutions' multiply-adds (0.39 for relu3_1 against
/// relu5_1, 0.71 for relu4_1; the measured times agree within a few percent). For the ETA.
pub fn relative_cost(variant: &Variant, ends_at: &str, deepest: &str) -> f64 {
    let full = variant.macs_up_to(deepest);
    if full > 0.0 {
        variant.macs_up_to(ends_at) / full
    } else {
        1.0
    }
}

/// Whether a pass that ends at `ends_at` matches `layer`.
pub fn matches(network: &[String], ends_at: &str, layer: &str) -> bool {
    depth(network, layer)
        .zip(depth(network, ends_at))
        .is_some_and(|(d, e)| d <= e)
}

/// Position of a layer in the network (None: not one of its layers).
fn depth(network: &[String], layer: &str) -> Option<usize> {
    network.iter().position(|n| n == layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::parse_layers;
    use crate::layers::tests::{variant, vgg as vgg16};

    fn ends(preset: &str, shallow: usize, skip: usize) -> Vec<(String, usize)> {
        let net = vgg16();
        let chosen = parse_layers(preset, &net).unwrap();
        plan(&net, &chosen, shallow, skip)
            .into_iter()
            .map(|p| (p.ends_at, p.iterations))
            .collect()
    }

    #[test]
    fn passes_follow_the_chosen_layers() {
        let s = |v: &[(&str, usize)]| -> Vec<(String, usize)> {
            v.iter().map(|(e, n)| (e.to_string(), *n)).collect()
        };
        assert_eq!(
            ends("per-block", 10, 20),
            s(&[("relu3_1", 10), ("relu4_1", 20)])
        );
        assert_eq!(ends("all", 10, 20), s(&[("relu3_1", 10), ("relu4_3", 20)]));
        // Blocks 4 and 5 only: nothing up to relu3_1; the pass without block 5 ends at relu4_3.
        assert_eq!(ends("deep", 10, 20), s(&[("relu4_3", 20)]));
        // Blocks 1 and 2: every layer is shallow, and leaving block 2 out would end above relu3_1.
        assert_eq!(ends("shallow", 10, 20), s(&[]));
        // Up to relu4_1: without block 4 the pass would be the shallow one again.
        assert_eq!(
            ends("relu1_1,relu3_1,relu4_1", 10, 20),
            s(&[("relu3_1", 10)])
        );
        assert_eq!(ends("per-block", 0, 20), s(&[("relu4_1", 20)]));
        assert_eq!(ends("per-block", 10, 0), s(&[("relu3_1", 10)]));
    }

    #[test]
    fn relative_costs_are_the_convolutions_shares() {
        let v = variant();
        let share = |end| relative_cost(&v, end, "relu5_1");
        // Multiply-adds per pixel up to relu3_1: 9 (3·64 + 64·64 + (64·128 + 128·128)/4 +
        // 128·256/16) = 112 320, of 287 424 up to relu5_1.
        assert!((share("relu3_1") - 112_320.0 / 287_424.0).abs() < 1e-9);
        assert!((share("relu4_1") - 0.711).abs() < 1e-3);
        assert_eq!(share("relu5_1"), 1.0);
    }

    #[test]
    fn a_pass_matches_the_layers_up_to_its_end() {
        let net = vgg16();
        assert!(matches(&net, "relu4_1", "relu3_3"));
        assert!(matches(&net, "relu4_1", "relu4_1"));
        assert!(!matches(&net, "relu4_1", "relu4_2"));
        assert!(!matches(&net, "relu4_1", "relu9_9"));
    }
}
