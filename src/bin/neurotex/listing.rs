//! `neurotex providers` and `neurotex models`: what this installation has, as lines for people
//! or (`--json`) one object for programs.

use std::path::PathBuf;

use neurotex::manifest::{default_models_dir, ModelSet, Padding, VariantKind};
use neurotex::runtime::{self, Provider};
use serde_json::json;

const GPU_HINT: &str = "not in this build (install onnxruntime-gpu: see README, section GPU)";

pub fn providers(as_json: bool) -> neurotex::Result<()> {
    let rt = runtime::init()?;
    let mut available = Vec::new();
    for p in Provider::ALL {
        available.push((p, p.is_compiled_in()?));
    }
    if as_json {
        let list: Vec<_> = available
            .iter()
            .map(|(p, ok)| json!({"name": p.name(), "onnxruntime_name": p.ort_name(), "available": ok}))
            .collect();
        let object = json!({
            "onnxruntime": {"version": rt.version, "library": rt.library},
            "providers": list,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&object).expect("serialises")
        );
        return Ok(());
    }
    println!(
        "ONNX Runtime {} loaded from {}",
        rt.version,
        rt.library.display()
    );
    for (p, ok) in available {
        let status = if ok { "available" } else { GPU_HINT };
        println!("  {:<9} {:<26} {status}", p.name(), p.ort_name());
    }
    Ok(())
}

pub fn models(dir: Option<PathBuf>, as_json: bool) -> neurotex::Result<()> {
    let set = ModelSet::open(&dir.unwrap_or_else(default_models_dir))?;
    if as_json {
        return print_models_json(&set);
    }
    println!("{}", set.dir.display());
    for (name, b) in &set.manifest.backbones {
        println!("  backbone {name}: {} ({})", b.network, b.weights.source);
    }
    for (name, v) in &set.manifest.variants {
        let used_by = match v.kind() {
            VariantKind::Plain => "synth",
            VariantKind::Regions => "fill, expand, synth --guide-*",
            VariantKind::Content => "style",
        };
        println!(
            "\n{name} ({used_by}): --loss {} --backbone {}{}: {}",
            v.statistic,
            v.backbone,
            match v.padding {
                Padding::Circular => " --tile",
                Padding::Reflect => " --padding reflect",
                Padding::Zero => "",
            },
            v.description
        );
        if v.content.is_some() {
            println!("  plus a content term c / (2 N M) sum (F - F_content)^2 at any layer");
        }
        println!("  layers: {}", v.layers.join(", "));
        println!(
            "  grad models: {} (truncated after each layer)",
            v.grad.len()
        );
        if v.step_inputs.is_empty() {
            println!("  per-step inputs: none");
        } else {
            let first = &v.step_inputs[0];
            println!(
                "  per-step inputs: {} ({}, one per layer, e.g. {} {:?})",
                v.step_inputs.len(),
                first.kind,
                first.name,
                first.shape
            );
        }
        for (name, o) in &v.options {
            let values: Vec<&str> = o.values.keys().map(String::as_str).collect();
            println!(
                "  option --{name}: {} (default {})",
                values.join(", "),
                o.default
            );
        }
    }
    Ok(())
}

fn print_models_json(set: &ModelSet) -> neurotex::Result<()> {
    let backbones: serde_json::Map<_, _> = set
        .manifest
        .backbones
        .iter()
        .map(|(name, b)| {
            let value = json!({"network": b.network, "layers": b.layers, "weights_source": b.weights.source});
            (name.clone(), value)
        })
        .collect();
    let variants: Vec<_> = set
        .manifest
        .variants
        .iter()
        .map(|(name, v)| {
            let options: serde_json::Map<_, _> = v
                .options
                .iter()
                .map(|(o, spec)| {
                    let values: Vec<&String> = spec.values.keys().collect();
                    (
                        o.clone(),
                        json!({"values": values, "default": spec.default}),
                    )
                })
                .collect();
            json!({
                "name": name,
                "statistic": v.statistic,
                "backbone": v.backbone,
                "padding": v.padding.name(),
                "description": v.description,
                "layers": v.layers,
                "grad_models": v.grad.len(),
                "step_inputs": v.step_inputs.len(),
                "options": options,
            })
        })
        .collect();
    let object = json!({
        "models": set.dir,
        "manifest_format": set.manifest.format,
        "backbones": backbones,
        "variants": variants,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&object).expect("serialises")
    );
    Ok(())
}
