//! The scales of a run, coarsest first: each one's output size, exemplar, and, for a fill, an
//! expansion or guided synthesis, its canvas and the regions its statistics are taken over; a
//! style transfer's content features, a blend's other exemplars. And what the builder decides
//! from the kind of run (its size, its variant, its content layers).

use super::SynthesisBuilder;
use crate::blend::{self, Blend};
use crate::canvas::{Canvas, StageCanvas};
use crate::edge_fade::{self, EdgeFade};
use crate::error::{Error, Result};
use crate::image_io::{self, Planar};
use crate::manifest::{ModelSet, Padding, Variant, VariantKind};
use crate::margin::Window;
use crate::objective::{ContentTarget, LayerStatistics, Objective, RegionMaps, Statistics};
use crate::plan::{self, Paddings, ScalePlan};
use crate::regions::{Guides, StageRegions};
use crate::settings::{EdgePadding, Size};
use crate::step_inputs::StepValues;
use crate::style::StyleTransfer;

/// One scale of a coarse-to-fine run.
pub struct Stage {
    pub size: Size,
    pub exemplar: Planar,
    /// A fill's or an expansion's canvas at this scale.
    pub canvas: Option<StageCanvas>,
    /// The regions of the output and the exemplar (variants over regions).
    pub regions: Option<StageRegions>,
    /// Style transfer: the content image's features at this scale (set once the stats model
    /// is open).
    pub content: Option<ContentTarget>,
    /// Several exemplars: the first's weight, and the others at this scale with theirs.
    pub blend: Option<(f32, Vec<(Planar, f32)>)>,
    /// The edge fade's (output, exemplar) ramps, pixels (src/edge_fade.rs); None: off.
    pub edge_fade: Option<(u32, u32)>,
}

impl Stage {
    /// Each scale's stage: the exemplar resized once here (a fill's exemplar is the photo on
    /// its canvas), the canvas and the regions at that scale.
    /// `blend` comes with the factor the exemplars are taken at (`--exemplar-scale`).
    pub(crate) fn plan(
        scales: &[ScalePlan],
        exemplar: &Planar,
        canvas: Option<&Canvas>,
        guides: Option<&Guides>,
        blend: Option<(&Blend, f64)>,
        edge_fade: Option<(u32, u32)>,
    ) -> Vec<Stage> {
        let (_, eh, ew) = exemplar.dim();
        scales
            .iter()
            .map(|s| {
                let (w, h) = (s.size.width as usize, s.size.height as usize);
                let (canvas, regions) = match canvas.map(|c| c.at(w, h)) {
                    Some((canvas, regions)) => (Some(canvas), Some(regions)),
                    None => (None, None),
                };
                let (sw, sh) = (s.exemplar.0 as usize, s.exemplar.1 as usize);
                let regions = regions.or_else(|| guides.map(|g| g.at((w, h), (sw, sh))));
                let regions = regions
                    .or_else(|| edge_fade.map(|r| edge_fade::stage_regions(r, (w, h), (sw, sh))));
                let photo = canvas
                    .as_ref()
                    .filter(|_| regions.as_ref().is_some_and(|r| r.exemplar.is_some()));
                let exemplar = match photo {
                    Some(canvas) => canvas.known.clone(),
                    None if (sw, sh) == (ew, eh) => exemplar.clone(),
                    None => image_io::resize(exemplar, s.exemplar.0, s.exemplar.1),
                };
                let blend = blend
                    .map(|(b, scale)| (b.first_weight, b.scaled(scale * sw as f64 / ew as f64)));
                Stage {
                    size: s.size,
                    exemplar,
                    canvas,
                    regions,
                    content: None,
                    blend,
                    edge_fade,
                }
            })
            .collect()
    }

    /// The exemplar's statistics at this scale (over its regions, where it has some).
    pub(crate) fn targets(
        &self,
        statistics: &mut Statistics,
        step: &StepValues,
    ) -> Result<LayerStatistics> {
        let regions = self.regions.as_ref().and_then(|r| r.exemplar.as_ref());
        let first = statistics.compute_over(&self.exemplar, regions, None, step)?;
        let Some((weight, others)) = &self.blend else {
            return Ok(first);
        };
        let mut mixed = blend::scaled(first, *weight);
        for (image, weight) in others {
            // Each exemplar's edges fade as the first's do.
            let (_, h, w) = image.dim();
            let faded = self
                .edge_fade
                .map(|(_, ramp)| edge_fade::edge_weights(w, h, ramp));
            let stats = statistics.compute_over(image, faded.as_ref(), None, step)?;
            blend::add_weighted(&mut mixed, &stats, *weight);
        }
        Ok(mixed)
    }

    /// The output's regions at this scale.
    pub(crate) fn output_regions(&self) -> Option<&RegionMaps> {
        self.regions.as_ref().map(|r| &r.output)
    }

    /// Give `objective` (set to this scale's size) what this scale has besides the targets:
    /// the output's regions, the content term's targets.
    pub(crate) fn bind(&self, objective: &mut Objective) -> Result<()> {
        if let Some(regions) = self.output_regions() {
            objective.set_regions(regions)?;
        }
        if let Some(content) = &self.content {
            objective.set_content(content)?;
        }
        Ok(())
    }
}

impl SynthesisBuilder {
    // The kind of run: a texture by default; these make it a fill or expansion, a guided
    // synthesis, a style transfer, a blend.

    /// Fill or expand a photo (`Canvas::fill`, `Canvas::expand`) instead of making a texture:
    /// the output has the canvas's size, and its kept pixels are the photo's, exactly. The
    /// exemplar is the photo for a fill from its own pixels; set it too.
    pub fn canvas(mut self, canvas: Canvas) -> Self {
        self.canvas = Some(canvas);
        self
    }

    /// Guided synthesis (`Guides::load`): the output has the output guide's size.
    pub fn guides(mut self, guides: Guides) -> Self {
        self.guides = Some(guides);
        self
    }

    /// Style transfer (`StyleTransfer::load`): the output keeps the content image's features
    /// and takes the exemplar's statistics (its style); it has the content's size by default,
    /// and starts from the content (`--init auto`).
    pub fn style(mut self, style: StyleTransfer) -> Self {
        self.style = Some(style);
        self
    }

    /// Blend the exemplar's statistics with those of more exemplars (`Blend::load`): a texture
    /// between them, or several styles.
    pub fn blend(mut self, blend: Blend) -> Self {
        self.blend = Some(blend);
        self
    }

    /// The output's size: a canvas's (whole tiles, cropped at the end), an output guide's (as
    /// `--size` would be, rounded to a multiple of 16), or the settings' (the exemplar's by
    /// default).
    pub(super) fn planned_size(
        &self,
        exemplar: (u32, u32),
        multiple: u32,
        notices: &mut Vec<String>,
    ) -> Result<Size> {
        if let Some(canvas) = &self.canvas {
            let (width, height) = canvas.size();
            return Ok(Size {
                width: width as u32,
                height: height as u32,
            });
        }
        let mut settings = self.settings.clone();
        if let (Some(style), None) = (&self.style, settings.size) {
            // Style transfer: the content's size by default.
            let (width, height) = style.content_size();
            settings.size = Some(Size { width, height });
        }
        if let Some(guides) = &self.guides {
            let (width, height) = guides.output_size();
            let guide = Size { width, height };
            if settings.size.is_some_and(|s| s != guide) {
                return Err(Error::InvalidSetting(format!(
                    "the output guide is {guide}: the output takes its size (leave --size out, \
                     or resize the guide)"
                )));
            }
            settings.size = Some(guide);
        }
        plan::output_size(&settings, exemplar, multiple, notices)
    }

    /// A texture from an exemplar alone: no fill or expansion, guides or style transfer, whose
    /// photo, guides or content decide more than the exemplar does.
    fn is_texture(&self) -> bool {
        self.canvas.is_none() && self.guides.is_none() && self.style.is_none()
    }

    /// The image the run draws: the output with `--margin` around it (src/margin.rs), and the
    /// output's window in it (None without a margin).
    pub(super) fn drawn_size(
        &self,
        output: Size,
        exemplar: (u32, u32),
        notices: &mut Vec<String>,
    ) -> Result<(Size, Option<Window>)> {
        let plain = !self.settings.tile && self.is_texture();
        let scales = plan::scale_count(&self.settings, output, exemplar, self.start.is_some());
        let margin = (self.settings.margin).resolve(output, exemplar, scales, plain, notices)?;
        if margin == 0 {
            return Ok((output, None));
        }
        let grown = |side: u32| side as u64 + 2 * margin as u64;
        let drawn = Size::checked(grown(output.width), grown(output.height))?;
        let window = Window {
            x: margin as usize,
            y: margin as usize,
            width: output.width as usize,
            height: output.height as usize,
        };
        Ok((drawn, Some(window)))
    }

    /// The content term's layers (style transfer; none otherwise), which the main grad model
    /// must reach: its forward pass ends at the deepest style layer.
    pub(super) fn content_layers(
        &self,
        variant: &Variant,
        style: &[String],
    ) -> Result<Vec<String>> {
        let Some(transfer) = &self.style else {
            if self.settings.init == crate::init::Init::Content {
                return Err(Error::InvalidSetting(
                    "--init content starts from a content image: it is for `neurotex style`".into(),
                ));
            }
            return Ok(Vec::new());
        };
        transfer.validate()?;
        let chosen = crate::layers::parse_layers(&transfer.content_layers, &variant.layers)?;
        let model = variant
            .grad_model_for(style)
            .expect("checked with the layers");
        let reached = model.content_inputs.keys().collect::<Vec<_>>();
        if let Some(deep) = chosen.iter().find(|l| !reached.contains(l)) {
            return Err(Error::InvalidSetting(format!(
                "the content layer {deep} is deeper than the style layers reach ({}): add a \
                 deeper style layer to --layers, or choose a shallower --content-layers",
                style.last().expect("at least one layer")
            )));
        }
        Ok(chosen)
    }

    /// The edge fade's (output, exemplar) ramps for this run, None: off (`auto`: the exemplar's
    /// where the output's graphs pad circularly and its exemplar's do not, --tile). Refused
    /// where it cannot apply, before any work.
    pub(super) fn edge_fade_ramps(
        &self,
        paddings: Paddings,
        models: &ModelSet,
    ) -> Result<Option<(u32, u32)>> {
        let (padding, exemplar_padding) = (paddings.output, paddings.exemplar);
        let fade = self.settings.edge_fade;
        let (statistic, backbone) = (&self.settings.statistic, &self.settings.backbone);
        let over_regions = models
            .find_where(statistic, backbone, padding, VariantKind::Regions)
            .is_ok();
        let wraps = padding == Padding::Circular && exemplar_padding != Padding::Circular;
        let Some(ramps) = fade.ramps(!wraps) else {
            return Ok(None);
        };
        if fade == EdgeFade::Auto {
            // Only where it applies, never refused.
            return Ok(Some(ramps).filter(|_| self.is_texture() && over_regions));
        }
        let refuse = |why: String| {
            Err(Error::InvalidSetting(format!(
                "--edge-fade {fade}: {why}; leave it out, or give off"
            )))
        };
        let kind_of_run = if self.canvas.is_some() {
            Some("a fill or an expansion keeps the photo's edges")
        } else if self.guides.is_some() {
            Some("guided synthesis is not built with it")
        } else if self.style.is_some() {
            Some("style transfer is not built with it")
        } else if padding == Padding::Circular && ramps.0 > 0 {
            // Its exemplar has (plan::paddings): 0,EXEMPLAR fades those.
            Some("a tileable texture (--tile) has no edges: give 0 as OUTPUT")
        } else {
            None
        };
        if let Some(why) = kind_of_run {
            return refuse(why.into());
        }
        if !over_regions {
            return refuse(format!(
                "the models folder has no {statistic} models over regions for {backbone} with \
                 {} padding (gram has them on vgg16: `neurotex models`)",
                padding.name()
            ));
        }
        Ok(Some(ramps))
    }

    /// The variants of the run's grad graphs and of its exemplar's statistics graph, with
    /// `paddings`. A models folder without reflect-padded ones for this statistic (exported
    /// before them, or by hand): `--padding auto` falls back, with a notice, to zero padding for
    /// the output, and to the output's padding for a tileable output's exemplar.
    pub(super) fn variants(
        &self,
        models: &ModelSet,
        paddings: Paddings,
        kind: VariantKind,
        notices: &mut Vec<String>,
    ) -> Result<(Variant, Variant)> {
        let (statistic, backbone) = (&self.settings.statistic, &self.settings.backbone);
        let find = |padding| models.find_where(statistic, backbone, padding, kind);
        let missing = |padding| {
            self.settings.padding == EdgePadding::Auto
                && padding == Padding::Reflect
                && find(padding).is_err()
        };
        let export = format!(
            "the models folder has no reflect-padded {statistic} models for {backbone} (export \
             them again with `make setup`)"
        );
        let output = if missing(paddings.output) {
            notices.push(format!("zero padding: {export}"));
            Padding::Zero
        } else {
            paddings.output
        };
        let exemplar = if paddings.exemplar == paddings.output {
            output
        } else if missing(paddings.exemplar) {
            notices.push(format!(
                "the exemplar wraps around like the output: {export}"
            ));
            output
        } else {
            paddings.exemplar
        };
        Ok((find(output)?.clone(), find(exemplar)?.clone()))
    }

    /// Which variant of the statistic the run needs: over regions for a canvas, guides or an
    /// edge fade, with a content term for a style transfer.
    pub(super) fn variant_kind(&self, edge_fade: bool) -> Result<VariantKind> {
        let masked = self.canvas.is_some() || self.guides.is_some();
        let not_yet = |what: &str| {
            Err(Error::InvalidSetting(format!(
                "{what} with a mask or guides is not built yet: run them apart"
            )))
        };
        if masked && self.style.is_some() {
            return not_yet("style transfer");
        }
        if masked && self.blend.is_some() {
            return not_yet("several exemplars");
        }
        Ok(match (&self.style, masked || edge_fade) {
            (Some(_), _) => VariantKind::Content,
            (None, true) => VariantKind::Regions,
            (None, false) => VariantKind::Plain,
        })
    }

    /// The sha256s of a canvas's or the guides' files, for the record (`--resume` checks them).
    pub(super) fn region_inputs_sha256(&self) -> Result<Vec<String>> {
        let canvas = self.canvas.as_ref().map(|c| &c.inputs);
        let inputs = canvas.or(self.guides.as_ref().map(|g| &g.inputs));
        (inputs.into_iter().flatten())
            .map(|path| {
                crate::outputs::file_sha256(path).map_err(|e| Error::ImageRead {
                    path: path.clone(),
                    reason: format!("cannot read it again: {e}"),
                })
            })
            .collect()
    }

    /// Notices for `--shallow-first` and `--skip-deepest` given to a run without passes.
    pub(super) fn passes_without_effect(&self) -> Vec<String> {
        let start = match (&self.start, &self.style) {
            (Some(_), _) => "a given image",
            (None, Some(_)) => "its content image",
            (None, None) => "white noise",
        };
        [
            ("--shallow-first", self.settings.shallow_first),
            ("--skip-deepest", self.settings.skip_deepest),
        ]
        .into_iter()
        .filter_map(|(flag, n)| n.filter(|&n| n > 0).map(|n| (flag, n)))
        .map(|(flag, n)| {
            format!(
                "{flag} {n} has no effect: it shortens the start of the last scale of \
                 coarse-to-fine or of a start from the exemplar's spectrum, and this run is \
                 single-scale from {start}"
            )
        })
        .collect()
    }
}
