//! Quality at any size (issue 24): the measure (`neurotex measure`) and what it guards: no frame
//! along the edges of outputs larger than their exemplar, no speckle.

mod common;

use common::cli::*;
use common::*;
use serde_json::Value;

fn measured(args: &[&str]) -> Vec<Value> {
    let out = neurotex(&[&["measure", "--json"][..], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["images"].as_array().unwrap().clone()
}

#[test]
fn the_measure_sees_the_frame_of_zero_padding_and_none_on_the_exemplar() {
    let pebbles = example("pebbles.png");
    // docs/results/pebbles_512x256.png: the default before reflect padding (zero padding, a
    // frame), kept as the README's "before" picture.
    let framed = repo().join("docs/results/pebbles_512x256.png");
    let rows = measured(&["-e", s(&pebbles), s(&framed)]);
    let (exemplar, before) = (&rows[0]["measures"], &rows[1]["measures"]);
    assert_eq!(rows[0]["gram_distance"], 0.0);
    assert_eq!(exemplar["top_octave"], 1.0);
    for key in ["detail", "saturation"] {
        let ratio = exemplar["border"][key].as_f64().unwrap();
        assert!((ratio - 1.0).abs() < 0.05, "the exemplar's {key}: {ratio}");
        let ratio = before["border"][key].as_f64().unwrap();
        assert!(
            ratio > 1.1,
            "the zero-padded 512x256 result's {key}: {ratio}"
        );
    }
    assert_eq!(
        (rows[1]["width"].as_u64(), rows[1]["height"].as_u64()),
        (Some(512), Some(256))
    );
    // Through a reflect-padded network the exemplar is still at distance 0, and the zero-padded
    // result, whose edges were tuned to the zero-padded network's statistics, is further away.
    let reflect = measured(&["--gram-padding", "reflect", "-e", s(&pebbles), s(&framed)]);
    assert_eq!(reflect[0]["gram_distance"], 0.0);
    let (zero_meter, reflect_meter) = (
        rows[1]["gram_distance"].as_f64().unwrap(),
        reflect[1]["gram_distance"].as_f64().unwrap(),
    );
    assert!(
        reflect_meter > 1.2 * zero_meter,
        "zero meter {zero_meter}, reflect meter {reflect_meter}"
    );
}

#[test]
fn the_measure_tells_which_side_a_band_differs_on() {
    // Bark's photo has an orange, calm strip along its left side and a busy right side (its
    // results repeat them: docs/quality.md); mirrored left to right, the sides swap.
    let dir = scratch("quality-sides");
    let bark = example("bark_tree.png");
    let mirrored = dir.join("bark_mirrored.png");
    image::imageops::flip_horizontal(&image::open(&bark).unwrap().to_rgb8())
        .save(&mirrored)
        .unwrap();
    let rows = measured(&["-e", s(&bark), s(&bark), s(&mirrored)]);
    let side = |row: usize, side: &str, key: &str| {
        rows[row]["measures"]["border"][side][key].as_f64().unwrap()
    };
    let (photo, flipped) = (1, 2);
    assert!(side(photo, "left", "saturation") > 1.5, "{}", rows[photo]);
    assert!(side(photo, "left", "detail") < 0.8, "{}", rows[photo]);
    assert!(side(photo, "right", "detail") > 1.5, "{}", rows[photo]);
    assert!((side(photo, "top", "saturation") - 1.0).abs() < 0.1);
    for key in ["detail", "saturation"] {
        assert!((side(photo, "left", key) - side(flipped, "right", key)).abs() < 1e-9);
        assert!((side(photo, "right", key) - side(flipped, "left", key)).abs() < 1e-9);
    }
    // The whole band lies between its sides.
    let whole = rows[photo]["measures"]["border"]["detail"]
        .as_f64()
        .unwrap();
    assert!(side(photo, "left", "detail") < whole && whole < side(photo, "right", "detail"));
    let out = neurotex(&["measure", "--sides", "-e", s(&bark), s(&bark)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| detail L / R / T / B |"), "{text}");
    assert!(text.contains("| 0.67 / 1.75 / 1.00 / 0.87 |"), "{text}");
}

/// The pebbles photo shrunk to 64² (2x2 box filter twice): an exemplar a quarter of the size of
/// the output below, where a frame shows at once.
fn small_pebbles(dir: &std::path::Path) -> std::path::PathBuf {
    let photo = image::open(example("pebbles.png")).unwrap().to_rgb8();
    let small = image::imageops::resize(&photo, 64, 64, image::imageops::FilterType::Triangle);
    let path = dir.join("pebbles64.png");
    small.save(&path).unwrap();
    path
}

#[test]
fn the_default_padding_grows_no_frame_where_zero_padding_does() {
    let dir = scratch("quality-frame");
    let exemplar = small_pebbles(&dir);
    let run = |padding: &str| {
        let out = dir.join(format!("{padding}.png"));
        let args = [
            "--size",
            "256x128",
            "--iters",
            "80",
            "--padding",
            padding,
            // What the padding alone does, no margin to cut a frame off.
            "--margin",
            "off",
            "-q",
        ];
        succeeds(
            &dir,
            &[&["synth", s(&exemplar), "-o", s(&out)][..], &args].concat(),
        );
        let rows = measured(&["-e", s(&exemplar), s(&out)]);
        let border = &rows[1]["measures"]["border"];
        (
            border["detail"].as_f64().unwrap(),
            border["saturation"].as_f64().unwrap(),
        )
    };
    // Measured once: zero 1.24 / 1.46, reflect 1.00 / 1.09.
    let zero = run("zero");
    let default = run("auto");
    assert!(
        zero.0 > 1.15 && zero.1 > 1.25,
        "zero padding frames it: {zero:?}"
    );
    for (name, ratio) in [("detail", default.0), ("saturation", default.1)] {
        assert!(
            (ratio - 1.0).abs() < 0.12,
            "the default's band {name}: {ratio} ({default:?})"
        );
    }
}

#[test]
fn a_margin_is_drawn_around_a_large_output_and_cropped_off() {
    let dir = scratch("quality-margin");
    let exemplar = small_pebbles(&dir);
    let run = |name: &str, size: &str, extra: &[&str]| {
        let (out, record) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.json")),
        );
        let args = [
            &["synth", s(&exemplar), "-o", s(&out), "--size", size][..],
            &["--iters", "3", "--scales", "2", "--record", s(&record)],
            extra,
        ]
        .concat();
        let stderr = succeeds(&dir, &args);
        let png = image::open(&out).unwrap();
        ((png.width(), png.height()), read_json(&record), stderr)
    };
    // 128² from 64²: the output's edges half the exemplar's share of its pixels, two scales: 8
    // pixels per side at the coarsest scale, 16 at the full size.
    let (written, r, said) = run("auto", "128", &[]);
    assert_eq!(written, (128, 128));
    assert_eq!(r["margin"], 16);
    assert_eq!(r["size"], serde_json::json!({"width": 160, "height": 160}));
    assert_eq!(
        r["scales"][0],
        serde_json::json!({"width": 80, "height": 80})
    );
    assert_eq!(r["settings"]["margin"], "auto");
    assert!(
        said.contains("drawn 160x160 with a margin of 16 pixels"),
        "{said}"
    );
    common::schema::assert_conforms("run-record.schema.json", &r);
    // More edge than that (128x64: three quarters of the exemplar's share): none; a number is
    // rounded to whole 8s, with a notice.
    let (written, r, _) = run("under", "128x64", &[]);
    assert_eq!(
        (written, &r["margin"], &r["size"]["width"]),
        ((128, 64), &0.into(), &128.into())
    );
    let (written, r, said) = run("given", "64", &["--margin", "12"]);
    assert_eq!(
        (written, &r["margin"], &r["size"]["width"]),
        ((64, 64), &16.into(), &96.into())
    );
    assert!(said.contains("--margin 12 rounded to 16"), "{said}");
    // Resumed, the run draws the margin again around the image it wrote.
    let record = dir.join("given.json");
    let more = ["synth", "--resume", s(&record), "--iters", "5"];
    succeeds(&dir, &more);
    let r = read_json(&record);
    assert_eq!(
        (&r["margin"], &r["size"]["width"]),
        (&16.into(), &96.into())
    );
    assert_eq!(image::open(dir.join("given.png")).unwrap().width(), 64);
}

#[test]
fn a_margin_where_none_applies_is_refused_before_any_work() {
    let dir = scratch("quality-margin-bad");
    let out = dir.join("o.png");
    let pebbles = example("pebbles.png");
    let (p, o) = (s(&pebbles), s(&out));
    fails_with(
        &tiny(p, o, &["--margin", "wide"]),
        &["write auto, off, or pixels"],
    );
    fails_with(
        &tiny(p, o, &["--margin", "16", "--tile"]),
        &["--margin 16", "--tile"],
    );
    assert!(!out.exists());
}

#[test]
fn the_edge_fade_weighs_the_edges_and_flat_weights_change_nothing() {
    let dir = scratch("quality-fade");
    let pebbles = example("pebbles.png");
    let run = |name: &str, fade: &str| {
        let (out, record) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.json")),
        );
        let extra = [
            "--record",
            s(&record),
            "--init",
            "noise",
            "--edge-fade",
            fade,
        ];
        let args = run_64(s(&pebbles), s(&out), "8", &extra);
        succeeds(&dir, &args);
        let r = read_json(&record);
        (iteration_losses(&record), r)
    };
    let (p, plain) = run("plain", "off");
    let (f, flat) = run("flat", "0,0");
    let (faded_losses, faded) = run("faded", "16,32");
    assert_eq!(plain["edge_fade"], Value::Null);
    assert_eq!(flat["edge_fade"], serde_json::json!([0, 0]));
    assert_eq!(faded["edge_fade"], serde_json::json!([16, 32]));
    assert_eq!(faded["settings"]["edge_fade"], "16,32");
    common::schema::assert_conforms("run-record.schema.json", &faded);
    // The fade runs the models over regions; weights of one everywhere are the plain Gram.
    let models = |r: &Value| r["models"].to_string();
    assert!(models(&faded).contains("gram.regions.reflect.grad"));
    assert!(!models(&plain).contains("regions"));
    assert_eq!(p.len(), f.len());
    for (k, (a, b)) in p.iter().zip(&f).enumerate() {
        assert!((a - b).abs() <= 1e-3 * a, "iteration {k}: {a} vs {b}");
    }
    // Faded weights are a different loss (from noise, whose statistics are the same
    // everywhere, it starts close: 0.2% apart), and it falls.
    let faded = faded_losses;
    let apart = (faded.iter().zip(&p))
        .map(|(a, b)| (a - b).abs() / b)
        .fold(0.0, f64::max);
    assert!(apart > 1e-2, "at most {apart} apart: {faded:?} vs {p:?}");
    assert!(faded.last().unwrap() < &(0.5 * faded[0]), "{faded:?}");
}

#[test]
fn an_edge_fade_where_it_cannot_apply_is_refused_before_any_work() {
    let dir = scratch("quality-fade-bad");
    let out = dir.join("o.png");
    let pebbles = example("pebbles.png");
    let (p, o) = (s(&pebbles), s(&out));
    fails_with(
        &tiny(p, o, &["--edge-fade", "16,x"]),
        &["write auto, off, or OUTPUT,EXEMPLAR"],
    );
    fails_with(&tiny(p, o, &["--edge-fade", "500"]), &["from 0 to 128"]);
    fails_with(
        &tiny(p, o, &["--edge-fade", "16", "--tile"]),
        &["--edge-fade 16,16", "no edges"],
    );
    fails_with(
        &tiny(p, o, &["--edge-fade", "0,48", "--loss", "sorted"]),
        &["no sorted models over regions"],
    );
    fails_with(
        &[
            "style",
            s(&example("astronaut.png")),
            "--style",
            s(&pebbles),
            "-o",
            s(&out),
            "--edge-fade",
            "8",
        ],
        &["--edge-fade 8,8", "style transfer"],
    );
    assert!(!out.exists());
}

#[test]
fn a_tileable_output_takes_its_exemplars_statistics_as_a_photos() {
    // The output wraps around; its exemplar is mirrored at its edges (`--padding auto`) or
    // zero-padded (`--padding zero`), never wrapped: a wrapped exemplar shows the network a
    // seam between its opposite edges, which the result repeats as straight lines. Its edges
    // fade (`--edge-fade auto`), which no output without edges could reproduce.
    let dir = scratch("quality-tile-exemplar");
    let pebbles = example("pebbles.png");
    let run = |name: &str, extra: &[&str]| {
        let (out, record) = (
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.json")),
        );
        let extra = [&["--record", s(&record)][..], extra].concat();
        succeeds(&dir, &run_64(s(&pebbles), s(&out), "4", &extra));
        let r = read_json(&record);
        common::schema::assert_conforms("run-record.schema.json", &r);
        let text = |key: &str| r[key].as_str().unwrap_or("null").to_string();
        let models: Vec<String> = (r["models"].as_array().unwrap().iter())
            .map(|m| m["file"].as_str().unwrap().to_string())
            .collect();
        (
            [text("padding"), text("exemplar_padding")],
            r["edge_fade"].clone(),
            models,
        )
    };
    let has = |models: &[String], file: &str| models.iter().any(|m| m == file);
    let (paddings, fade, models) = run("auto", &["--tile"]);
    assert_eq!(paddings, ["circular", "reflect"]);
    assert_eq!(fade, serde_json::json!([0, 32]));
    assert!(
        has(&models, "gram.regions.reflect.stats.onnx"),
        "{models:?}"
    );
    assert!(models
        .iter()
        .all(|m| !m.contains(".stats.") || !m.contains("tile")));
    assert!(models
        .iter()
        .any(|m| m.starts_with("gram.regions.tile.grad")));
    let (paddings, fade, models) = run("zero", &["--tile", "--padding", "zero"]);
    assert_eq!(paddings, ["circular", "zero"]);
    assert_eq!(fade, serde_json::json!([0, 32]));
    assert!(has(&models, "gram.regions.stats.onnx"), "{models:?}");
    let (paddings, fade, models) = run("off", &["--tile", "--edge-fade", "off"]);
    assert_eq!(paddings, ["circular", "reflect"]);
    assert_eq!(fade, Value::Null);
    assert!(has(&models, "gram.reflect.stats.onnx"), "{models:?}");
    // Without --tile, `auto` fades nothing: the output's edges are the exemplar's.
    let (paddings, fade, models) = run("plain", &[]);
    assert_eq!(paddings, ["reflect", "reflect"]);
    assert_eq!(fade, Value::Null);
    assert!(has(&models, "gram.reflect.stats.onnx"), "{models:?}");
}
