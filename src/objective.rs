//! The objective: exemplar statistics from the stats model, and loss + gradient from the grad
//! model, wired together through the manifest. Nothing here knows which statistic it runs.

use std::borrow::Cow;

use ndarray::ArrayD;
use ort::memory::Allocator;
use ort::session::{IoBinding, OutputSelector, RunOptions, Session, SessionInputValue};
use ort::value::{Tensor, TensorRef};

use crate::error::{Error, Result};
use crate::image_io::Planar;
use crate::manifest::{GradModel, ModelSet, Variant};
use crate::runtime::{open_session, SessionOptions};
use crate::step_inputs::StepValues;

/// One statistic tensor per layer, in network order.
pub type LayerStatistics = Vec<(String, ArrayD<f32>)>;

/// Per-pixel weight maps of K regions, [K, H, W], for the variants whose statistics are taken
/// over regions (src/canvas.rs): the graphs pool them to each layer as the network pools.
pub type RegionMaps = ndarray::Array3<f32>;

/// The region maps as the graphs take them, [K,1,H,W]: `maps`, or one region of all ones (the
/// whole image) where none are given.
fn region_tensor(maps: Option<&RegionMaps>, width: usize, height: usize) -> Result<Tensor<f32>> {
    let maps = maps.map_or_else(|| RegionMaps::ones((1, height, width)), |m| m.clone());
    let (k, h, w) = maps.dim();
    if (h, w) != (height, width) {
        return Err(Error::Optimiser(format!(
            "region maps of {w}x{h} for an image of {width}x{height}"
        )));
    }
    let data = maps.as_standard_layout().into_owned();
    Ok(Tensor::from_array((
        [k, 1, h, w],
        data.into_raw_vec_and_offset().0,
    ))?)
}

/// The stats model of a variant: image -> one statistic per layer.
pub struct Statistics {
    session: Session,
    input: String,
    /// The region maps' input, for variants over regions.
    regions_input: Option<String>,
    step_inputs: Vec<String>,
    /// (layer, output name), in network order.
    outputs: Vec<(String, String)>,
    /// Layer -> output of its features (variants with a content term).
    feature_outputs: std::collections::BTreeMap<String, String>,
}

/// The step values a model takes, as ONNX Runtime tensors, in the model's order.
fn step_tensors(names: &[String], values: &StepValues) -> Result<Vec<(String, Tensor<f32>)>> {
    names
        .iter()
        .map(|name| {
            let (_, v) = values.iter().find(|(n, _)| n == name).ok_or_else(|| {
                Error::Optimiser(format!("no value drawn for the step input {name}"))
            })?;
            Ok((name.clone(), Tensor::from_array(v.clone())?))
        })
        .collect()
}

/// Open a model and check that it has every input and output the manifest names: a model from
/// another export then fails here, saying what to do, instead of mid-run with ONNX Runtime's
/// own message.
fn open_checked(
    models: &ModelSet,
    path: &std::path::Path,
    options: SessionOptions,
    inputs: &[&str],
    outputs: &[&str],
) -> Result<Session> {
    let session = open_session(path, options)?;
    let has_in: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
    let has_out: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    let missing: Vec<String> = inputs
        .iter()
        .filter(|n| !has_in.iter().any(|h| h == *n))
        .map(|n| format!("input '{n}'"))
        .chain(
            outputs
                .iter()
                .filter(|n| !has_out.iter().any(|h| h == *n))
                .map(|n| format!("output '{n}'")),
        )
        .collect();
    if missing.is_empty() {
        return Ok(session);
    }
    Err(Error::Models {
        dir: models.dir.clone(),
        reason: format!(
            "{} has no {} although the manifest names it (it has inputs {}): the model and the \
             manifest come from different exports",
            path.display(),
            missing.join(", "),
            has_in.join(", ")
        ),
    })
}

impl Statistics {
    pub fn open(models: &ModelSet, variant: &Variant, options: SessionOptions) -> Result<Self> {
        let path = models.verify(&variant.stats.file, &variant.stats.sha256)?;
        let outputs = variant
            .layers
            .iter()
            .filter_map(|l| variant.stats.outputs.get(l).map(|o| (l.clone(), o.clone())))
            .collect();
        let output_names: Vec<&str> = variant.stats.outputs.values().map(String::as_str).collect();
        let regions_input = variant.regions.as_ref().map(|r| r.input.clone());
        let input_names: Vec<&str> = std::iter::once(variant.stats.input.as_str())
            .chain(variant.stats.step_inputs.iter().map(String::as_str))
            .chain(regions_input.as_deref())
            .collect();
        Ok(Statistics {
            session: open_checked(models, &path, options, &input_names, &output_names)?,
            input: variant.stats.input.clone(),
            regions_input,
            step_inputs: variant.stats.step_inputs.clone(),
            outputs,
            feature_outputs: variant.stats.feature_outputs.clone(),
        })
    }

    /// Statistics of one image, for the given layers (all the model has when `layers` is None).
    /// `step` holds the variant's per-step inputs (empty for variants without any).
    pub fn compute(
        &mut self,
        image: &Planar,
        layers: Option<&[String]>,
        step: &StepValues,
    ) -> Result<LayerStatistics> {
        self.compute_over(image, None, layers, step)
    }

    /// The same, over weighted regions of the image (variants over regions; without `regions`
    /// one region, the whole image). A variant without regions takes none.
    pub fn compute_over(
        &mut self,
        image: &Planar,
        regions: Option<&RegionMaps>,
        layers: Option<&[String]>,
        step: &StepValues,
    ) -> Result<LayerStatistics> {
        let data = image.as_standard_layout();
        let step = step_tensors(&self.step_inputs, step)?;
        let names = (self.input.as_str(), self.regions_input.as_deref());
        let inputs = stats_inputs(names, &data, regions, &step)?;
        let outputs = self.session.run(inputs)?;
        self.outputs
            .iter()
            .filter(|(layer, _)| layers.is_none_or(|ls| ls.contains(layer)))
            .map(|(layer, name)| {
                let value = outputs[name.as_str()].try_extract_array::<f32>()?;
                Ok((layer.clone(), value.to_owned()))
            })
            .collect()
    }

    /// The features of one image at `layers` (variants with a content term): the content
    /// term's targets. Only those outputs are fetched.
    /// `step` holds the variant's per-step inputs, which the model takes whatever it outputs.
    pub fn features(
        &mut self,
        image: &Planar,
        layers: &[String],
        step: &StepValues,
    ) -> Result<LayerStatistics> {
        let names = (layers.iter())
            .map(|l| {
                self.feature_outputs.get(l).cloned().ok_or_else(|| {
                    Error::Optimiser(format!("the stats model gives no features for {l}"))
                })
            })
            .collect::<Result<Vec<String>>>()?;
        let selector = (names.iter()).fold(OutputSelector::no_default(), |s, n| s.with(n));
        let options = RunOptions::new()?.with_outputs(selector);
        let data = image.as_standard_layout();
        let step = step_tensors(&self.step_inputs, step)?;
        let model = (self.input.as_str(), self.regions_input.as_deref());
        let inputs = stats_inputs(model, &data, None, &step)?;
        let outputs = self.session.run_with_options(inputs, &options)?;
        (layers.iter().zip(&names))
            .map(|(layer, name)| {
                let value = outputs[name.as_str()].try_extract_array::<f32>()?;
                Ok((layer.clone(), value.to_owned()))
            })
            .collect()
    }
}

/// A stats model's inputs by name: the image (standard layout), its regions (where the model
/// takes some), the step values.
fn stats_inputs<'a>(
    (image_input, regions_input): (&'a str, Option<&'a str>),
    image: &'a ndarray::CowArray<'a, f32, ndarray::Ix3>,
    regions: Option<&RegionMaps>,
    step: &'a [(String, Tensor<f32>)],
) -> Result<Vec<(Cow<'a, str>, SessionInputValue<'a>)>> {
    let (_, h, w) = image.dim();
    let input = TensorRef::from_array_view((
        [1usize, 3, h, w],
        image.as_slice().expect("standard layout"),
    ))?;
    let mut inputs: Vec<(Cow<str>, SessionInputValue)> =
        vec![(Cow::Borrowed(image_input), input.into())];
    inputs.extend(
        step.iter()
            .map(|(n, v)| (Cow::Borrowed(n.as_str()), v.into())),
    );
    if let Some(name) = regions_input {
        let maps = region_tensor(regions, w, h)?;
        inputs.push((Cow::Borrowed(name), maps.into()));
    } else if regions.is_some() {
        return Err(Error::Optimiser(
            "region maps given to a statistic taken over the whole image".into(),
        ));
    }
    Ok(inputs)
}

/// The Gram distance the study and `neurotex measure` report, one scale for results of any
/// statistic, padding or layers: VGG-16's Gram matrices on the per-block layers, by
/// `statistics_distance`, with zero padding (the network as trained) unless asked otherwise:
/// on the whole image each padding's meter tends to favour results made with the same padding
/// (docs/quality.md).
pub struct GramMeter {
    statistics: Statistics,
    layers: Vec<String>,
}

impl GramMeter {
    pub fn open(
        models: &ModelSet,
        padding: crate::manifest::Padding,
        session: SessionOptions,
    ) -> Result<GramMeter> {
        let gram = models.find("gram", "vgg16", padding)?;
        Ok(GramMeter {
            layers: crate::layers::parse_layers("per-block", &gram.layers)?,
            statistics: Statistics::open(models, gram, session)?,
        })
    }

    /// An exemplar's statistics, to measure images against.
    pub fn target(&mut self, exemplar: &Planar) -> Result<LayerStatistics> {
        self.statistics
            .compute(exemplar, Some(&self.layers), &Vec::new())
    }

    pub fn distance(&mut self, image: &Planar, target: &LayerStatistics) -> Result<f64> {
        let stats = self
            .statistics
            .compute(image, Some(&self.layers), &Vec::new())?;
        Ok(statistics_distance(&stats, target))
    }
}

/// Relative squared distance between two sets of layer statistics, averaged over layers:
/// mean_l ‖S_l − T_l‖² / ‖T_l‖². Zero when they are equal; 1 when S is all zeros. Statistics
/// whose last axis differs in length (sorted values of images of different sizes) are compared
/// as quantile functions: T is resampled to S's length, as the grad graphs do.
pub fn statistics_distance(stats: &LayerStatistics, target: &LayerStatistics) -> f64 {
    let mut total = 0.0;
    for ((_, s), (_, t)) in stats.iter().zip(target) {
        let t = resample_last_axis(t, *s.shape().last().unwrap_or(&1));
        let num: f64 = s
            .iter()
            .zip(t.iter())
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        let den: f64 = t.iter().map(|b| (*b as f64).powi(2)).sum();
        total += num / den.max(f64::MIN_POSITIVE);
    }
    total / stats.len().max(1) as f64
}

/// Linear interpolation of each row (last axis) from K to `m` values, at positions
/// (k + 0.5) K / m − 0.5: the same quantile resampling as the exported sorted/sliced graphs.
pub(crate) fn resample_last_axis(t: &ArrayD<f32>, m: usize) -> ArrayD<f32> {
    let k = *t.shape().last().unwrap_or(&1);
    if k == m || k == 0 {
        return t.clone();
    }
    let rows = t.len() / k;
    let flat = t.as_standard_layout();
    let flat = flat.as_slice().expect("standard layout");
    let mut out = Vec::with_capacity(rows * m);
    for row in flat.chunks(k) {
        for j in 0..m {
            let pos = ((j as f64 + 0.5) * k as f64 / m as f64 - 0.5).clamp(0.0, (k - 1) as f64);
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(k - 1);
            let frac = (pos - lo as f64) as f32;
            out.push(row[lo] + (row[hi] - row[lo]) * frac);
        }
    }
    let mut shape = t.shape().to_vec();
    *shape.last_mut().expect("non-scalar") = m;
    ArrayD::from_shape_vec(shape, out).expect("resampled shape")
}

/// Loss and gradient of a batch of images.
pub struct Evaluation {
    /// Loss per image, \[B\].
    pub loss: Vec<f32>,
    /// Weighted loss per image and per layer asked for (`Objective::new`'s `layers`, in that
    /// order), [B, L] row-major.
    pub layer_losses: Vec<f32>,
    /// d loss / d image, [B, 3, H, W] row-major, with respect to the \[0,1\] RGB input.
    pub grad: Vec<f32>,
}

/// The grad model of a variant, loaded with the exemplar's statistics and the layer weights.
///
/// Runs through ONNX Runtime's IO binding. The layer weights, options, targets (the exemplar's
/// statistics: 7 MB for all 13 Gram layers) and step inputs are bound when they are set and stay
/// bound between runs: a GPU provider copies them to the device once, not at every evaluation.
/// The image and the outputs live in tensors allocated once per shape and reused.
pub struct Objective {
    session: Session,
    model: GradModel,
    binding: IoBinding,
    /// The image input, [batch, 3, H, W] as last evaluated (the binding holds the outputs').
    image: Option<Tensor<f32>>,
    /// For each layer asked for, its column in the model's layer losses.
    columns: Vec<usize>,
    height: usize,
    width: usize,
    /// For variants over regions: the maps' input, and the size of the maps bound (None: none
    /// bound yet, or of another size; `evaluate` then binds one region of all ones).
    regions_input: Option<String>,
    regions_bound: Option<(usize, usize)>,
    /// For variants with a content term: the weights' input, and (layer, input) of the content
    /// features for every layer the model's forward pass computes, in network order.
    content: Option<(String, Vec<(String, String)>)>,
}

/// A content image's features at the layers of the content term, and the term's weight at each
/// (style transfer): the objective then also pulls the image's features towards them.
#[derive(Debug, Clone, Default)]
pub struct ContentTarget {
    pub features: LayerStatistics,
    pub weights: Vec<(String, f32)>,
}

/// What an objective is opened with, by name.
pub struct ObjectiveSpec<'a> {
    pub models: &'a ModelSet,
    pub variant: &'a Variant,
    /// The layers matched, and one weight for each.
    pub layers: &'a [String],
    pub weights: &'a [f32],
    /// The values of the variant's options, as (graph input, value).
    pub settings: &'a [(String, Vec<f32>)],
    pub targets: &'a LayerStatistics,
    pub step: &'a StepValues,
    /// Width and height of the image.
    pub size: (usize, usize),
    pub session: SessionOptions,
}

impl Objective {
    /// The grad model chosen is the shallowest one that covers every layer of `spec`; its other
    /// layers get weight 0.
    pub fn new(spec: &ObjectiveSpec) -> Result<Self> {
        let ObjectiveSpec {
            models,
            variant,
            layers,
            weights,
            settings,
            targets,
            step,
            size: (width, height),
            session: options,
        } = *spec;
        let model = variant
            .grad_model_for(layers)
            .ok_or_else(|| Error::Models {
                dir: models.dir.clone(),
                reason: format!("no grad model covers the layers {}", layers.join(", ")),
            })?;
        let path = models.verify(&model.file, &model.sha256)?;
        let columns: Vec<usize> = layers
            .iter()
            .map(|l| model.layers.iter().position(|m| m == l).expect("covered"))
            .collect();
        // The model's other layers (if any) get weight 0.
        let mut model_weights = vec![0.0f32; model.layers.len()];
        for (&column, &weight) in columns.iter().zip(weights) {
            model_weights[column] = weight;
        }
        let input_names: Vec<&str> = [&model.image_input, &model.layer_weights_input]
            .into_iter()
            .chain(model.target_inputs.values())
            .chain(&model.step_inputs)
            .chain(settings.iter().map(|(name, _)| name))
            .chain(variant.regions.iter().map(|r| &r.input))
            .chain(variant.content.iter().map(|c| &c.weights_input))
            .chain(model.content_inputs.values())
            .map(String::as_str)
            .collect();
        let o = &model.outputs;
        let output_names = [o.loss.as_str(), o.layer_losses.as_str(), o.grad.as_str()];
        let session = open_checked(models, &path, options, &input_names, &output_names)?;
        let mut binding = session.create_binding()?;
        binding.bind_input(
            &model.layer_weights_input,
            &Tensor::from_array(([model_weights.len()], model_weights))?,
        )?;
        for (input, value) in settings {
            binding.bind_input(input, &Tensor::from_array(([value.len()], value.clone()))?)?;
        }
        let mut objective = Objective {
            session,
            model: model.clone(),
            binding,
            image: None,
            columns,
            height,
            width,
            regions_input: variant.regions.as_ref().map(|r| r.input.clone()),
            regions_bound: None,
            content: variant.content.as_ref().map(|c| {
                let layers = (variant.layers.iter())
                    .filter_map(|l| model.content_inputs.get(l).map(|i| (l.clone(), i.clone())))
                    .collect();
                (c.weights_input.clone(), layers)
            }),
        };
        objective.set_targets(targets)?;
        objective.set_step_inputs(step)?;
        if objective.content.is_some() {
            // No content term until one is set: the plain statistic's loss.
            objective.set_content(&ContentTarget::default())?;
        }
        Ok(objective)
    }

    /// Replace the target statistics (e.g. after the step inputs they depend on were redrawn).
    pub fn set_targets(&mut self, targets: &LayerStatistics) -> Result<()> {
        for layer in &self.model.layers {
            let (_, target) = targets.iter().find(|(l, _)| l == layer).ok_or_else(|| {
                Error::Optimiser(format!("the stats model gives no statistic for {layer}"))
            })?;
            self.binding.bind_input(
                &self.model.target_inputs[layer],
                &Tensor::from_array(target.clone())?,
            )?;
        }
        Ok(())
    }

    /// Replace the per-step inputs.
    pub fn set_step_inputs(&mut self, step: &StepValues) -> Result<()> {
        for (name, value) in step_tensors(&self.model.step_inputs, step)? {
            self.binding.bind_input(name, &value)?;
        }
        Ok(())
    }

    /// The region maps the output's statistics are taken over (variants over regions), at the
    /// size evaluated from now on (set it after `set_size`).
    pub fn set_regions(&mut self, maps: &RegionMaps) -> Result<()> {
        let Some(name) = &self.regions_input else {
            return Err(Error::Optimiser(
                "region maps given to a statistic taken over the whole image".into(),
            ));
        };
        let tensor = region_tensor(Some(maps), self.width, self.height)?;
        self.binding.bind_input(name, &tensor)?;
        self.regions_bound = Some((self.width, self.height));
        Ok(())
    }

    /// The content term's targets and weights (variants with a content term). Layers beyond
    /// this model's forward pass (a shallow pass's model) are left out.
    pub fn set_content(&mut self, target: &ContentTarget) -> Result<()> {
        let Some((weights_input, layers)) = &self.content else {
            return Err(Error::Optimiser(
                "a content image given to a statistic without a content term".into(),
            ));
        };
        let mut weights = Vec::with_capacity(layers.len());
        for (layer, input) in layers {
            let weight = (target.weights.iter())
                .find(|(l, _)| l == layer)
                .map_or(0.0, |&(_, w)| w);
            let value = if weight == 0.0 {
                // Broadcast by the graph: no term, and no feature map to copy.
                Tensor::from_array(([1usize, 1, 1, 1], vec![0.0f32]))?
            } else {
                let (_, features) = (target.features.iter())
                    .find(|(l, _)| l == layer)
                    .ok_or_else(|| {
                        Error::Optimiser(format!(
                            "no content features for {layer}, which has a content weight"
                        ))
                    })?;
                Tensor::from_array(features.clone())?
            };
            self.binding.bind_input(input, &value)?;
            weights.push(weight);
        }
        self.binding.bind_input(
            weights_input,
            &Tensor::from_array(([weights.len()], weights))?,
        )?;
        Ok(())
    }

    /// The grad model's file name (in the models folder).
    pub fn model_file(&self) -> &str {
        &self.model.file
    }

    /// Evaluate images of another size from now on (the graphs take any multiple of 16).
    pub fn set_size(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
    }

    pub fn pixels(&self) -> usize {
        3 * self.height * self.width
    }

    /// Loss and gradient for `batch` images stored one after another in `images`.
    pub fn evaluate(&mut self, images: &[f32], batch: usize) -> Result<Evaluation> {
        assert_eq!(images.len(), batch * self.pixels(), "image buffer size");
        let shape = [batch, 3, self.height, self.width];
        let o = &self.model.outputs;
        if self
            .image
            .as_ref()
            .is_none_or(|t| t.shape().iter().map(|&d| d as usize).ne(shape))
        {
            // A new size (coarse-to-fine) or batch: tensors for it, reused until the next.
            let cpu = Allocator::default();
            let layers = self.model.layers.len();
            self.binding
                .bind_output(&o.loss, Tensor::<f32>::new(&cpu, [batch])?)?;
            self.binding
                .bind_output(&o.layer_losses, Tensor::<f32>::new(&cpu, [batch, layers])?)?;
            self.binding
                .bind_output(&o.grad, Tensor::<f32>::new(&cpu, shape)?)?;
            self.image = Some(Tensor::new(&cpu, shape)?);
        }
        if let Some(name) = &self.regions_input {
            if self.regions_bound != Some((self.width, self.height)) {
                let ones = region_tensor(None, self.width, self.height)?;
                self.binding.bind_input(name, &ones)?;
                self.regions_bound = Some((self.width, self.height));
            }
        }
        let image = self.image.as_mut().expect("allocated above");
        image.extract_tensor_mut().1.copy_from_slice(images);
        // Bound again at every run: a GPU provider copies the image when it is bound. The
        // synchronisations are no-ops on the CPU; on a GPU they wait for those copies.
        self.binding.bind_input(&self.model.image_input, image)?;
        self.binding.synchronize_inputs()?;
        let outputs = self.session.run_binding(&self.binding)?;
        self.binding.synchronize_outputs()?;
        let take = |name: &str| -> Result<Vec<f32>> {
            Ok(outputs[name].try_extract_tensor::<f32>()?.1.to_vec())
        };
        let model_losses = take(&self.model.outputs.layer_losses)?;
        let layer_losses = model_losses
            .chunks(self.model.layers.len())
            .flat_map(|row| self.columns.iter().map(|&c| row[c]))
            .collect();
        Ok(Evaluation {
            loss: take(&self.model.outputs.loss)?,
            layer_losses,
            grad: take(&self.model.outputs.grad)?,
        })
    }
}
