//! `neurotex style` on real photos: with no content term it is texture synthesis, a large
//! content weight keeps the content's edges, a small one gives the style room; `--match-colors`
//! keeps the content's colours; bad weights and layers are refused before any work.

mod common;

use std::path::Path;

use common::cli::*;
use common::*;
use image::RgbImage;

const QUICK: [&str; 8] = [
    "--size",
    "64",
    "--scales",
    "1",
    "--iters",
    "12",
    "--tolerance",
    "0",
];

#[test]
fn with_no_content_term_style_transfer_is_texture_synthesis() {
    let dir = scratch("style-zero");
    let (texture, styled) = (dir.join("t.png"), dir.join("s.png"));
    let (t_rec, s_rec) = (dir.join("t.json"), dir.join("s.json"));
    let pebbles = example("pebbles.png");
    let noise = ["--init", "noise"];
    let synth = [
        &["synth", s(&pebbles), "-o", s(&texture)][..],
        &QUICK,
        &noise,
    ];
    succeeds(
        &dir,
        &[&synth.concat()[..], &["--record", s(&t_rec)]].concat(),
    );
    let astronaut = example("astronaut.png");
    let style = [
        &["style", s(&astronaut), "--style", s(&pebbles)][..],
        &[
            "--content-weight",
            "0",
            "-o",
            s(&styled),
            "--record",
            s(&s_rec),
        ],
        &QUICK,
        &noise,
    ];
    succeeds(&dir, &style.concat());
    // The same start, the same loss at every iteration (other graphs: float rounding).
    let (a, b) = (iteration_losses(&t_rec), iteration_losses(&s_rec));
    assert_eq!(a.len(), b.len());
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!((x - y).abs() <= 1e-3 * x.abs(), "iteration {k}: {x} vs {y}");
    }
    let r = read_json(&s_rec);
    assert_eq!(r["style"]["content_weight"], 0.0);
    assert_eq!(r["style"]["content_layers"], serde_json::json!(["relu4_2"]));
    common::schema::assert_conforms("run-record.schema.json", &r);
}

/// Pearson correlation of two images' gradient magnitudes (grey, central differences).
fn edge_correlation(a: &RgbImage, b: &RgbImage) -> f64 {
    let edges = |im: &RgbImage| -> Vec<f64> {
        let grey = |x: u32, y: u32| {
            let p = im.get_pixel(x, y);
            0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
        };
        let (w, h) = im.dimensions();
        let mut out = Vec::new();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let gx = grey(x + 1, y) - grey(x - 1, y);
                let gy = grey(x, y + 1) - grey(x, y - 1);
                out.push((gx * gx + gy * gy).sqrt());
            }
        }
        out
    };
    let (ea, eb) = (edges(a), edges(b));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(&ea), mean(&eb));
    let cov: f64 = ea.iter().zip(&eb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    cov / (var(&ea, ma) * var(&eb, mb)).sqrt()
}

/// An image at 64x64, where the content term (relu4_2: 1/8 of the side) decides the shapes.
fn at_64(image: &RgbImage) -> RgbImage {
    image::imageops::resize(image, 64, 64, image::imageops::FilterType::Triangle)
}

#[test]
fn the_content_weight_decides_how_much_of_the_content_stays() {
    let dir = scratch("style-weight");
    let astronaut = example("astronaut.png");
    let leaves = example("maple_leaves.png");
    let content = at_64(&image::open(&astronaut).unwrap().to_rgb8());
    let run = |weight: &str| {
        let out = dir.join(format!("w{weight}.png"));
        let args = [
            &["style", s(&astronaut), "--style", s(&leaves), "-o", s(&out)][..],
            &["--content-weight", weight, "--size", "128"],
            &["--iters", "60", "--scales", "2"],
        ];
        succeeds(&dir, &args.concat());
        at_64(&image::open(&out).unwrap().to_rgb8())
    };
    // Both start from the content: a weak content term lets the leaves' edges replace its
    // edges, a strong one keeps them (measured 0.63 and 0.32).
    let strong = edge_correlation(&run("1e5"), &content);
    let weak = edge_correlation(&run("1"), &content);
    assert!(
        strong > 0.45 && strong > weak + 0.15,
        "edge correlation with the content: weight 1e5 {strong}, weight 1 {weak}"
    );
}

#[test]
fn match_colors_keeps_the_contents_colours() {
    let dir = scratch("style-colours");
    let (astronaut, leaves) = (example("astronaut.png"), example("maple_leaves.png"));
    let out = dir.join("o.png");
    let args = [
        &["style", s(&astronaut), "--style", s(&leaves), "-o", s(&out)][..],
        &["--match-colors"],
        &QUICK,
    ];
    succeeds(&dir, &args.concat());
    let mean_blue = |im: &RgbImage| {
        im.pixels().map(|p| p[2] as f64).sum::<f64>() / (im.width() * im.height()) as f64
    };
    let small = |p: &Path| {
        image::imageops::resize(
            &image::open(p).unwrap().to_rgb8(),
            64,
            64,
            image::imageops::FilterType::Triangle,
        )
    };
    let (result, content, style) = (small(&out), small(&astronaut), small(&leaves));
    // Maple leaves have almost no blue; the astronaut photo has plenty.
    let (r, c, st) = (mean_blue(&result), mean_blue(&content), mean_blue(&style));
    assert!(
        (r - c).abs() < 5.0 && (r - st).abs() > 20.0,
        "blue: result {r}, content {c}, style {st}"
    );
}

#[test]
fn a_style_transfer_resumes_with_its_content_and_weights() {
    let dir = scratch("style-resume");
    let content = dir.join("content.png");
    std::fs::copy(example("astronaut.png"), &content).unwrap();
    let (out, record) = (dir.join("o.png"), dir.join("o.json"));
    let leaves = example("maple_leaves.png");
    let args = [
        &["style", s(&content), "--style", s(&leaves)][..],
        &[
            "-o",
            s(&out),
            "--record",
            s(&record),
            "--content-weight",
            "3e4",
        ],
        &["--size", "64", "--scales", "1", "--iters", "6"],
    ];
    succeeds(&dir, &args.concat());
    succeeds(&dir, &["synth", "--resume", s(&record), "--iters", "12"]);
    let r = read_json(&record);
    assert_eq!(r["resumed_after_iterations"], 6);
    assert_eq!(r["style"]["content_weight"], 3e4);
    // The content term is still there: the loss goes on from where it was.
    let segment = &r["segments"][0];
    let before = segment["best_loss"].as_f64().unwrap();
    let start = r["initial_loss"].as_f64().unwrap();
    assert!(
        (start - before).abs() < 0.05 * before,
        "resumed at {start} after {before}"
    );
    // Another content image under the same name: refused.
    std::fs::copy(example("pebbles.png"), &content).unwrap();
    fails_with(
        &["synth", "--resume", s(&record), "--iters", "18"],
        &["content.png changed since the run started"],
    );
}

#[test]
fn every_statistic_transfers_a_style() {
    let dir = scratch("style-statistics");
    let (astronaut, leaves) = (example("astronaut.png"), example("maple_leaves.png"));
    for statistic in ["gram", "sorted", "sliced"] {
        let (out, record) = (dir.join(format!("{statistic}.png")), dir.join("r.json"));
        let args = [
            &[
                "style",
                s(&astronaut),
                "--style",
                s(&leaves),
                "--loss",
                statistic,
            ][..],
            &["-o", s(&out), "--record", s(&record), "--overwrite"],
            &QUICK,
        ];
        succeeds(&dir, &args.concat());
        let r = read_json(&record);
        let (start, best) = (
            r["initial_loss"].as_f64().unwrap(),
            r["best_loss"].as_f64().unwrap(),
        );
        assert!(best < 0.5 * start, "{statistic}: loss {start} -> {best}");
    }
}

#[test]
fn bad_style_settings_are_refused_before_any_work() {
    let (astronaut, leaves) = (example("astronaut.png"), example("maple_leaves.png"));
    let style = |extra: &[&str], expect: &[&str]| {
        let args = [
            &[
                "style",
                s(&astronaut),
                "--style",
                s(&leaves),
                "-o",
                "/tmp/never.png",
            ][..],
            extra,
        ];
        fails_with(&args.concat(), expect);
    };
    style(
        &["--content-weight", "-1"],
        &["--content-weight -1", "from 0 to"],
    );
    style(&["--style-weight", "nan"], &["--style-weight NaN"]);
    style(
        &["--content-weight", "0", "--style-weight", "0"],
        &["both 0"],
    );
    style(
        &["--layers", "shallow", "--content-layers", "relu4_2"],
        &["relu4_2 is deeper than the style layers reach"],
    );
    style(&["--content-layers", "relu9_9"], &["relu9_9"]);
    style(
        &["--backbone", "vgg19"],
        &["no gram models with a content term"],
    );
    let missing = Path::new("/nonexistent/content.png");
    fails_with(
        &[
            "style",
            s(missing),
            "--style",
            s(&leaves),
            "-o",
            "/tmp/never.png",
        ],
        &["content.png"],
    );
    fails_with(
        &[
            "synth",
            s(&leaves),
            "-o",
            "/tmp/never.png",
            "--init",
            "content",
        ],
        &["--init content", "neurotex style"],
    );
    assert!(!Path::new("/tmp/never.png").exists());
}
