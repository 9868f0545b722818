//! The plan of a run, from the settings and the exemplar's size alone: the output size, the
//! coarse-to-fine scales (sizes, exemplar sizes, iteration budgets), the passes at the start of
//! the last scale and what each costs. Pure: no model, no image, no file; unit-tested below.

use crate::error::{Error, Result};
use crate::init::Init;
use crate::manifest::Padding;
use crate::passes::{self, Pass};
use crate::settings::{EdgePadding, Settings, Size};

/// Smallest side of the coarsest scale that `auto_scales` goes down to: below it the deepest
/// layers see a handful of positions and the coarse result says little about the fine one.
pub const AUTO_COARSEST_SIDE: u32 = 64;

/// Most scales chosen automatically (measurements: docs/coarse_to_fine.md).
pub const AUTO_MAX_SCALES: usize = 3;

/// One scale of a coarse-to-fine run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalePlan {
    /// The output size at this scale.
    pub size: Size,
    /// The exemplar's size at this scale (after --exemplar-scale, halved per coarser scale).
    pub exemplar: (u32, u32),
    /// Iterations at this scale.
    pub budget: usize,
}

/// Everything a run will do, before it does it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// Coarsest first; the last is the full size and exemplar.
    pub scales: Vec<ScalePlan>,
    /// The passes at the start of the last scale (none where it has none).
    pub passes: Vec<Pass>,
    /// What one iteration of each pass costs against one on all chosen layers (same order).
    pub pass_costs: Vec<f64>,
}

impl RunPlan {
    /// The plan for `scales` (see `plan_scales`): the passes for the chosen layers of a network
    /// whose layers are `network`, `cost` telling what an evaluation in a graph that ends at a
    /// layer costs against one on all chosen layers.
    pub fn new(
        settings: &Settings,
        scales: Vec<ScalePlan>,
        from_image: bool,
        network: &[String],
        chosen: &[String],
        cost: impl Fn(&str) -> f64,
    ) -> RunPlan {
        let passes = if last_scale_has_passes(settings, scales.len(), from_image) {
            passes::plan(
                network,
                chosen,
                shallow_budget(settings),
                skip_deepest_budget(settings),
            )
        } else {
            Vec::new()
        };
        let pass_costs = passes.iter().map(|p| cost(&p.ends_at)).collect();
        RunPlan {
            scales,
            passes,
            pass_costs,
        }
    }

    /// The full output size.
    pub fn size(&self) -> Size {
        self.scales.last().expect("at least one scale").size
    }

    pub fn sizes(&self) -> Vec<Size> {
        self.scales.iter().map(|s| s.size).collect()
    }

    pub fn is_last(&self, scale: usize) -> bool {
        scale + 1 == self.scales.len()
    }

    /// What one iteration of `pass` costs against one on all chosen layers.
    pub fn cost_of(&self, pass: &Pass) -> f64 {
        self.passes
            .iter()
            .zip(&self.pass_costs)
            .find(|(p, _)| *p == pass)
            .map_or(1.0, |(_, c)| *c)
    }

    /// The work of `iterations` iterations at one scale that start with `passes`, in full
    /// iterations: the passes' weighted by their cost, the rest (if any) on all layers.
    pub fn work_of(&self, passes: &[Pass], iterations: usize) -> f64 {
        let in_passes: usize = passes.iter().map(|p| p.iterations).sum();
        let passes_work: f64 = passes
            .iter()
            .map(|p| p.iterations as f64 * self.cost_of(p))
            .sum();
        passes_work + iterations.saturating_sub(in_passes) as f64
    }

    /// The work of the scales after `scale`, in iterations of `scale`: each doubling of the side
    /// costs 4x, and the last scale's passes less.
    pub fn later_work(&self, scale: usize) -> f64 {
        (scale + 1..self.scales.len())
            .map(|k| {
                let budget = self.scales[k].budget;
                let work = if self.is_last(k) {
                    self.work_of(&self.passes, budget)
                } else {
                    budget as f64
                };
                work * 4f64.powi((k - scale) as i32)
            })
            .sum()
    }
}

/// The exemplar's size after --exemplar-scale.
pub fn scaled_exemplar(settings: &Settings, width: u32, height: u32) -> (u32, u32) {
    let scaled = |v: u32| ((v as f64 * settings.exemplar_scale as f64).round() as u32).max(1);
    (scaled(width), scaled(height))
}

/// The output size: as asked (default: the exemplar's, unscaled), rounded to the network's
/// multiple, with a notice when rounded.
pub fn output_size(
    settings: &Settings,
    exemplar: (u32, u32),
    multiple: u32,
    notices: &mut Vec<String>,
) -> Result<Size> {
    let requested = match settings.size {
        Some(s) => Size::checked(s.width as u64, s.height as u64)?,
        None => Size {
            width: exemplar.0,
            height: exemplar.1,
        },
    };
    let size = requested.rounded_to(multiple);
    if size != requested {
        notices.push(format!(
            "size {requested} rounded to {size}: the network needs multiples of {multiple}"
        ));
    }
    Ok(size)
}

/// The default number of scales: as many as keep the coarsest output and exemplar at least
/// AUTO_COARSEST_SIDE on their smaller side, up to AUTO_MAX_SCALES.
pub fn auto_scales(size: Size, exemplar: (u32, u32)) -> usize {
    let smallest = size.width.min(size.height).min(exemplar.0).min(exemplar.1);
    (1..=AUTO_MAX_SCALES)
        .take_while(|n| smallest >> (n - 1) >= AUTO_COARSEST_SIDE)
        .last()
        .unwrap_or(1)
}

/// The paddings of a run: its grad graphs' (the output's) and the exemplar's statistics'. The
/// output's is circular with --tile, else `edge_padding` over every scale's output and
/// exemplar; the exemplar's is the same but for a tileable output's, which is no torus:
/// circular padding would show the network the photo's opposite edges side by side, a seam
/// the result then repeats as straight lines (docs/beyond_the_paper.md, "Tileable textures").
/// It gets `edge_padding` over every scale's exemplar.
pub fn paddings(
    settings: &Settings,
    scales: &[ScalePlan],
    multiple: u32,
    notices: &mut Vec<String>,
) -> Result<Paddings> {
    if settings.tile {
        let sides = scales.iter().flat_map(|s| [s.exemplar.0, s.exemplar.1]);
        return Ok(Paddings {
            output: Padding::Circular,
            exemplar: edge_padding(settings.padding, sides, multiple, notices)?,
        });
    }
    let sides = scales
        .iter()
        .flat_map(|s| [s.size.width, s.size.height, s.exemplar.0, s.exemplar.1]);
    let both = edge_padding(settings.padding, sides, multiple, notices)?;
    Ok(Paddings {
        output: both,
        exemplar: both,
    })
}

/// What `paddings` chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paddings {
    /// The grad graphs', the output's.
    pub output: Padding,
    /// The statistics graph's, the exemplar's.
    pub exemplar: Padding,
}

/// --padding resolved for images whose smallest side at any scale is the least of `sides`:
/// `auto` is reflect where it fits. Reflect mirrors each map at its edges, which needs maps at
/// least 2 wide: the deepest block's maps are 1/`multiple` of the image, so every side must be
/// at least 2 × `multiple`; asked for explicitly below that, it is refused, and `auto` falls
/// back to zero with a notice.
fn edge_padding(
    padding: EdgePadding,
    sides: impl Iterator<Item = u32>,
    multiple: u32,
    notices: &mut Vec<String>,
) -> Result<Padding> {
    let least = 2 * multiple;
    let smallest = sides.min().unwrap_or(least);
    Ok(match padding {
        EdgePadding::Zero => Padding::Zero,
        EdgePadding::Reflect | EdgePadding::Auto if smallest >= least => Padding::Reflect,
        EdgePadding::Auto => {
            notices.push(format!(
                "zero padding: reflect padding needs at least {least} pixels per side at every \
                 scale and this run has {smallest} (its edges may grow a frame)"
            ));
            Padding::Zero
        }
        EdgePadding::Reflect => {
            return Err(Error::InvalidSetting(format!(
                "--padding reflect needs at least {least} pixels per side at every scale, output \
                 and exemplar (the deepest maps must be 2 wide to mirror), and this run has \
                 {smallest}: use a larger --size or --exemplar-scale, fewer --scales, or \
                 --padding zero"
            )))
        }
    })
}

/// Sizes, exemplar sizes and budgets of each scale, coarsest first, for an output of `size` from
/// an exemplar of `exemplar` (after --exemplar-scale). Each scale halves the output and the
/// exemplar, so that structures keep their size relative to the image at every scale. A run
/// from a given image (`from_image`, a resumed run) is single-scale.
pub fn plan_scales(
    settings: &Settings,
    size: Size,
    exemplar: (u32, u32),
    multiple: u32,
    from_image: bool,
) -> Result<Vec<ScalePlan>> {
    let n = scale_count(settings, size, exemplar, from_image);
    (0..n)
        .map(|k| {
            let factor = 1u32 << (n - 1 - k);
            let budget = scale_budget(settings, k, n);
            if factor == 1 {
                return Ok(ScalePlan {
                    size,
                    exemplar,
                    budget,
                });
            }
            let (sw, sh) = (exemplar.0 / factor, exemplar.1 / factor);
            let at = Size {
                width: size.width / factor,
                height: size.height / factor,
            };
            if at.width.min(at.height).min(sw).min(sh) < 2 * multiple {
                return Err(Error::InvalidSetting(format!(
                    "--scales {n}: at the coarsest scale the output would be {at} and the \
                     exemplar {sw}x{sh}, below the {m}x{m} the network needs; use fewer scales",
                    m = 2 * multiple
                )));
            }
            Ok(ScalePlan {
                size: at.rounded_to(multiple),
                exemplar: (sw, sh),
                budget,
            })
        })
        .collect()
}

/// How many coarse-to-fine scales: --scales, else `auto_scales`; one from a given image.
pub fn scale_count(
    settings: &Settings,
    size: Size,
    exemplar: (u32, u32),
    from_image: bool,
) -> usize {
    match (from_image, settings.scales) {
        (true, _) => 1,
        (false, Some(n)) => n,
        (false, None) => auto_scales(size, exemplar),
    }
}

/// Iterations of scale `k` of `n`: the full size gets `--iters`, coarse ones their own budget.
pub fn scale_budget(settings: &Settings, k: usize, n: usize) -> usize {
    if k + 1 == n {
        settings.iterations
    } else {
        coarse_budget(settings)
    }
}

/// Iterations of each coarse scale (default: a quarter of `--iters`: a coarse evaluation costs
/// a quarter of the next scale's, and the coarse result only has to fix the large-scale
/// arrangement).
pub fn coarse_budget(settings: &Settings) -> usize {
    settings
        .coarse_iterations
        .unwrap_or((settings.iterations / 4).max(1))
}

/// Whether the last of `scales` scales starts with the passes (src/passes.rs). They pay where
/// the start already has the exemplar's coarse statistics and lacks its fine detail: an
/// upsampled coarse result, or random-phase noise with the exemplar's spectrum, whose deepest
/// terms start as low (pebbles, 256²: relu5_1's term 15, as after the coarse scales). Not from
/// white noise (the paper's single-scale method, which the comparisons start from) nor from a
/// given image (a resumed run goes on as it was).
pub fn last_scale_has_passes(settings: &Settings, scales: usize, from_image: bool) -> bool {
    scales > 1 || (!from_image && settings.init.resolve(scales) == Init::Spectrum)
}

/// Iterations of the shallow pass at the start of the last scale.
pub fn shallow_budget(settings: &Settings) -> usize {
    settings.shallow_first.unwrap_or(settings.iterations / 4)
}

/// Iterations of the pass without the deepest block, after the shallow pass. By default a third
/// of the iterations, but always leaving one for all layers.
pub fn skip_deepest_budget(settings: &Settings) -> usize {
    settings.skip_deepest.unwrap_or_else(|| {
        (settings.iterations / 3).min(
            settings
                .iterations
                .saturating_sub(shallow_budget(settings) + 1),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::PassKind;

    fn square(n: u32) -> Size {
        Size {
            width: n,
            height: n,
        }
    }

    fn vgg16() -> Vec<String> {
        crate::layers::tests::vgg()
    }

    fn per_block() -> Vec<String> {
        ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn reflect_padding_needs_two_deepest_map_pixels_at_every_scale() {
        let mut s = Settings::default();
        let padding = |s: &Settings, side: u32, notices: &mut Vec<String>| {
            let scales = plan_scales(s, square(side), (side, side), 16, false).unwrap();
            paddings(s, &scales, 16, notices).map(|p| p.output)
        };
        let mut notices = Vec::new();
        assert_eq!(
            padding(&s, 256, &mut notices).unwrap(),
            Padding::Reflect,
            "auto"
        );
        assert!(notices.is_empty());
        assert_eq!(
            padding(&s, 16, &mut notices).unwrap(),
            Padding::Zero,
            "auto, too small"
        );
        assert!(notices[0].contains("zero padding"), "{notices:?}");
        assert_eq!(
            notices.len(),
            1,
            "said once for output and exemplar: {notices:?}"
        );
        s.padding = EdgePadding::Reflect;
        let e = padding(&s, 16, &mut notices).unwrap_err().to_string();
        assert!(
            e.contains("at least 32") && e.contains("--padding zero"),
            "{e}"
        );
        // A tileable output wraps around at any size (its exemplar: the next test).
        (s.tile, s.padding) = (true, EdgePadding::Zero);
        assert_eq!(padding(&s, 16, &mut notices).unwrap(), Padding::Circular);
    }

    #[test]
    fn a_tileable_outputs_exemplar_is_padded_as_a_photo_not_a_torus() {
        let mut s = Settings {
            tile: true,
            ..Settings::default()
        };
        let padding = |s: &Settings, output: u32, exemplar: u32| {
            let scales = plan_scales(s, square(output), (exemplar, exemplar), 16, false).unwrap();
            let mut notices = Vec::new();
            let padded = paddings(s, &scales, 16, &mut notices).map_err(|e| e.to_string());
            let exemplar = padded.clone().map(|p| p.exemplar);
            (padded.map(|p| p.output), exemplar, notices)
        };
        // The output wraps around at any size; the exemplar is mirrored where it is large enough
        // at every scale (64 pixels at the coarsest of 256), whatever the output's size.
        for output in [256, 16] {
            let (output, exemplar, notices) = padding(&s, output, 256);
            assert_eq!(
                (output, exemplar),
                (Ok(Padding::Circular), Ok(Padding::Reflect))
            );
            assert!(notices.is_empty(), "{notices:?}");
        }
        let (_, exemplar, notices) = padding(&s, 64, 16);
        assert_eq!(exemplar, Ok(Padding::Zero));
        assert!(notices[0].contains("zero padding"), "{notices:?}");
        s.padding = EdgePadding::Zero;
        assert_eq!(padding(&s, 256, 256).1, Ok(Padding::Zero));
        s.padding = EdgePadding::Reflect;
        assert!(padding(&s, 256, 16).1.unwrap_err().contains("at least 32"));
        // Without --tile both are the same.
        s.tile = false;
        let (output, exemplar, _) = padding(&s, 256, 256);
        assert_eq!(
            (output, exemplar),
            (Ok(Padding::Reflect), Ok(Padding::Reflect))
        );
    }

    #[test]
    fn scales_are_chosen_from_the_smaller_of_output_and_exemplar() {
        assert_eq!(auto_scales(square(256), (256, 256)), 3);
        assert_eq!(auto_scales(square(1024), (256, 256)), 3);
        assert_eq!(auto_scales(square(128), (256, 256)), 2);
        assert_eq!(auto_scales(square(64), (256, 256)), 1);
        assert_eq!(auto_scales(square(512), (100, 100)), 1);
    }

    #[test]
    fn each_coarser_scale_halves_output_and_exemplar_with_a_quarter_of_the_iterations() {
        let s = Settings::default();
        let scales = plan_scales(&s, square(256), (300, 256), 16, false).unwrap();
        let sizes: Vec<Size> = scales.iter().map(|p| p.size).collect();
        assert_eq!(sizes, [square(64), square(128), square(256)]);
        assert_eq!(scales[0].exemplar, (75, 64));
        assert_eq!(scales[2].exemplar, (300, 256));
        // The smaller side of the exemplar counts too: 200 / 4 < 64.
        assert_eq!(
            plan_scales(&s, square(256), (300, 200), 16, false)
                .unwrap()
                .len(),
            2
        );
        let budgets: Vec<usize> = scales.iter().map(|p| p.budget).collect();
        assert_eq!(budgets, [75, 75, 300]);
        // A resumed run (from an image) is single-scale.
        assert_eq!(
            plan_scales(&s, square(256), (256, 256), 16, true)
                .unwrap()
                .len(),
            1
        );
        // Too many scales for the size: refused with what the coarsest would be.
        let five = Settings {
            scales: Some(5),
            ..Settings::default()
        };
        let e = plan_scales(&five, square(256), (256, 256), 16, false).unwrap_err();
        assert!(e.to_string().contains("16x16"), "{e}");
    }

    #[test]
    fn the_last_scale_starts_with_the_passes_only_after_coarse_scales_or_the_spectrum() {
        let s = Settings::default();
        let plan = |s: &Settings, n: usize, from_image: bool| {
            let scales = vec![
                ScalePlan {
                    size: square(64),
                    exemplar: (64, 64),
                    budget: 10
                };
                n
            ];
            RunPlan::new(s, scales, from_image, &vgg16(), &per_block(), |end| {
                if end == "relu3_1" {
                    0.4
                } else {
                    0.7
                }
            })
        };
        let three = plan(&s, 3, false);
        let kinds: Vec<PassKind> = three.passes.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [PassKind::Shallow, PassKind::SkipDeepest]);
        assert_eq!(three.passes[0].iterations, 75);
        assert_eq!(three.passes[1].iterations, 100);
        assert_eq!(three.passes[1].ends_at, "relu4_1");
        let noise = Settings {
            init: Init::Noise,
            ..Settings::default()
        };
        assert!(
            plan(&noise, 1, false).passes.is_empty(),
            "white noise: none"
        );
        assert_eq!(
            plan(&s, 1, false).passes.len(),
            2,
            "auto: the spectrum, single-scale"
        );
        let spectrum = Settings {
            init: Init::Spectrum,
            ..Settings::default()
        };
        assert_eq!(plan(&spectrum, 1, false).passes.len(), 2);
        assert!(plan(&spectrum, 1, true).passes.is_empty(), "from an image");

        // Work: the passes' iterations at their cost, the rest at full cost; later scales 4x
        // per doubling.
        let work = three.work_of(&three.passes, 300);
        assert!((work - (75.0 * 0.4 + 100.0 * 0.7 + 125.0)).abs() < 1e-9);
        // Scale 2 (budget 10 here, all in the passes) seen from scale 1: 4x its work.
        let later = three.later_work(1);
        let last = three.work_of(&three.passes, 10);
        assert!((later - 4.0 * last).abs() < 1e-9, "{later}");
    }

    #[test]
    fn budgets_follow_the_iterations_unless_given() {
        let s = Settings {
            iterations: 9,
            ..Settings::default()
        };
        assert_eq!(shallow_budget(&s), 2);
        assert_eq!(skip_deepest_budget(&s), 3);
        assert_eq!(coarse_budget(&s), 2);
        let tiny = Settings {
            iterations: 2,
            ..Settings::default()
        };
        assert_eq!(
            skip_deepest_budget(&tiny),
            0,
            "one iteration left for all layers"
        );
        assert_eq!(coarse_budget(&tiny), 1);
    }

    #[test]
    fn sizes_round_to_the_network_step_with_a_notice() {
        let mut notices = Vec::new();
        let s = Settings {
            size: Some(Size {
                width: 100,
                height: 1,
            }),
            ..Settings::default()
        };
        assert_eq!(
            output_size(&s, (256, 256), 16, &mut notices).unwrap(),
            Size {
                width: 96,
                height: 16
            }
        );
        assert!(notices[0].contains("rounded"));
        let scaled = Settings {
            exemplar_scale: 0.5,
            ..Settings::default()
        };
        assert_eq!(scaled_exemplar(&scaled, 301, 200), (151, 100));
    }
}
