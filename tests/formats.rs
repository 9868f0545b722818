//! Image formats and streams: the output's format follows its extension (PNG and TIFF in 8 or
//! 16 bits, JPEG at a chosen quality, lossless WebP), anything else is refused before any work;
//! exemplars in PNG, JPEG, WebP, TIFF, TGA and BMP, 8 or 16 bits; `-` reads the exemplar from
//! stdin and `-o -` writes the image to stdout.

mod common;

use std::fs;
use std::path::Path;

use common::cli::*;
use common::*;
use image::ImageFormat;
use neurotex::image_io::{self, Encoding, OutputFormat};

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

#[test]
fn every_exemplar_format_reads_the_same_pixels() {
    let dir = scratch("fmt-read");
    let png = image_io::load_rgb(&example("pebbles.png")).unwrap().image;
    let rgb = image_io::to_rgb8(&png);
    for (name, format) in [
        ("p.webp", ImageFormat::WebP),
        ("p.tif", ImageFormat::Tiff),
        ("p.tga", ImageFormat::Tga),
        ("p.bmp", ImageFormat::Bmp),
    ] {
        let path = dir.join(name);
        rgb.save_with_format(&path, format).unwrap();
        let loaded = image_io::load_rgb(&path).unwrap();
        assert_eq!(loaded.image, png, "{name}: lossless, the same pixels");
        let (w, h) = image_io::dimensions(&path).unwrap();
        assert_eq!(
            (w as usize, h as usize),
            (png.dim().2, png.dim().1),
            "{name}"
        );
    }
    // 16 bits keep their precision: a level between two 8-bit ones survives.
    let fine =
        image::ImageBuffer::from_fn(32, 16, |x, _| image::Rgb([x as u16 * 2047, 1000, 65535]));
    let path = dir.join("fine16.png");
    image::DynamicImage::ImageRgb16(fine).save(&path).unwrap();
    let loaded = image_io::load_rgb(&path).unwrap().image;
    assert_eq!(loaded[[1, 0, 0]], 1000.0 / 65535.0);
    assert_eq!(loaded[[0, 0, 3]], 3.0 * 2047.0 / 65535.0);
}

#[test]
fn every_output_format_encodes_what_it_should() {
    let img = random_image(48, 3);
    let path = Path::new("x");
    let at = |format, bit_depth| {
        let e = Encoding {
            format,
            bit_depth,
            jpeg_quality: 95,
        };
        image_io::encode(&img, &e, path).unwrap()
    };
    let rgb8 = image_io::to_rgb8(&img);
    // Lossless 8-bit formats hold exactly the rounded pixels.
    for format in [OutputFormat::Png, OutputFormat::Webp, OutputFormat::Tiff] {
        assert_eq!(decode(&at(format, 8)).to_rgb8(), rgb8, "{format:?}");
    }
    // 16 bits: the pixels to 1/65535, and more levels than 8 bits can hold.
    for format in [OutputFormat::Png, OutputFormat::Tiff] {
        let back = decode(&at(format, 16));
        assert_eq!(back.color(), image::ColorType::Rgb16, "{format:?}");
        let back = back.to_rgb16();
        let exact = img[[0, 5, 7]];
        assert!((back.get_pixel(7, 5)[0] as f32 / 65535.0 - exact).abs() <= 0.5 / 65535.0);
        assert!(
            back.pixels().any(|p| p[0] % 257 != 0),
            "{format:?}: real 16-bit levels"
        );
    }
    // JPEG: quality decides the size and the error.
    let (q95, q40) = (at(OutputFormat::Jpeg, 8), {
        let e = Encoding {
            format: OutputFormat::Jpeg,
            bit_depth: 8,
            jpeg_quality: 40,
        };
        image_io::encode(&img, &e, path).unwrap()
    });
    assert_eq!(&q95[..3], b"\xff\xd8\xff");
    assert!(q40.len() < q95.len(), "{} < {}", q40.len(), q95.len());
}

#[test]
fn the_cli_writes_the_format_its_extension_names_and_refuses_the_rest_up_front() {
    let dir = scratch("fmt-cli");
    let pebbles = example("pebbles.png");
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("o.gif")), &[]),
        &[
            ".gif is not a format neurotex writes",
            ".png",
            ".webp",
            ".tif",
        ],
    );
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("noext")), &[]),
        &["no extension"],
    );
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("o.jpg")), &["--bit-depth", "16"]),
        &["--bit-depth 16", "JPEG holds 8 bits", ".png or .tif"],
    );
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("o.png")), &["--format", "jpeg"]),
        &["--format jpeg disagrees", "o.png"],
    );
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("o.png")), &["--bit-depth", "12"]),
        &["8 or 16"],
    );
    fails_with(
        &tiny(s(&pebbles), s(&dir.join("o.jpg")), &["--jpeg-quality", "0"]),
        &["--jpeg-quality 0", "between 1 and 100"],
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "nothing written");

    // A TGA exemplar (known by its extension only) to a 16-bit TIFF with a checkpointed record,
    // and a tiled JPEG whose side files stay PNG.
    let tga = dir.join("pebbles.tga");
    image_io::to_rgb8(&image_io::load_rgb(&pebbles).unwrap().image)
        .save_with_format(&tga, ImageFormat::Tga)
        .unwrap();
    let tif = dir.join("o.tif");
    let record = dir.join("o.json");
    succeeds(
        &dir,
        &tiny(
            s(&tga),
            s(&tif),
            &["--bit-depth", "16", "--record", s(&record)],
        ),
    );
    let written = fs::read(&tif).unwrap();
    assert_eq!(&written[..4], b"II*\0", "TIFF bytes");
    assert_eq!(decode(&written).color(), image::ColorType::Rgb16);
    let sha = read_json(&record)["output_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sha, neurotex::outputs::sha256_hex(&written));
    let jpeg = dir.join("o.JPG");
    succeeds(
        &dir,
        &tiny(s(&pebbles), s(&jpeg), &["--tile", "--jpeg-quality", "80"]),
    );
    assert_eq!(
        &fs::read(&jpeg).unwrap()[..3],
        b"\xff\xd8\xff",
        "JPEG bytes"
    );
    assert_eq!(&fs::read(dir.join("o.2x2.png")).unwrap()[..4], b"\x89PNG");
    let webp = dir.join("o.webp");
    succeeds(&dir, &tiny(s(&pebbles), s(&webp), &[]));
    let bytes = fs::read(&webp).unwrap();
    assert_eq!((&bytes[..4], &bytes[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
}

#[test]
fn stdin_and_stdout_carry_the_images_and_nothing_else() {
    let dir = scratch("fmt-stdio");
    let photo = fs::read(example("pebbles.png")).unwrap();
    let record = dir.join("r.json");
    let args = tiny("-", "-", &["--record", s(&record)]);
    let run = neurotex_with_stdin(&dir, &args, &photo);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("iter") && stderr.contains("done:"),
        "progress on stderr"
    );
    let png = decode(&run.stdout);
    assert_eq!(
        (png.width(), png.height()),
        (64, 64),
        "stdout is exactly one PNG"
    );
    assert_eq!(&run.stdout[..4], b"\x89PNG");
    // The record names stdin as the exemplar, with the sha256 of the bytes piped in, and no
    // output file: there is none to resume from.
    let saved = read_json(&record);
    assert_eq!(saved["exemplar"], "-");
    assert_eq!(
        saved["exemplar_sha256"],
        neurotex::outputs::sha256_hex(&photo)
    );
    assert!(saved["output"].is_null());

    // --format for stdout.
    let run = neurotex_with_stdin(&dir, &tiny("-", "-", &["--format", "jpeg"]), &photo);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(&run.stdout[..3], b"\xff\xd8\xff");

    // From stdin to a file, then resumed with the same image piped in again; another image is
    // refused.
    let out = dir.join("o.png");
    let rec = dir.join("o.json");
    let first = neurotex_with_stdin(&dir, &tiny("-", s(&out), &["--record", s(&rec)]), &photo);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let resume = ["synth", "--resume", s(&rec), "--iters", "6"];
    let again = neurotex_with_stdin(&dir, &resume, &photo);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let other = fs::read(example("astronaut.png")).unwrap();
    let refused = neurotex_with_stdin(&dir, &resume, &other);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("not the image the run started from"),
        "{stderr}"
    );

    // What cannot go with -o -: each refused before any work.
    let pebbles = example("pebbles.png");
    for (extra, expect) in [
        (&["--json"][..], "both write to stdout"),
        (&["--count", "2"], "--count needs an output file"),
        (&["--snapshot-every", "2"], "snapshots"),
    ] {
        let run = neurotex_with_stdin(&dir, &tiny(s(&pebbles), "-", extra), b"");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && stderr.contains(expect),
            "{extra:?}: {stderr}"
        );
        assert!(!stderr.contains("synthesising"), "{stderr}");
    }
    // Nothing piped in, or not an image: a clear error.
    let run = neurotex_with_stdin(
        &dir,
        &tiny("-", s(&dir.join("n.png")), &[]),
        b"not an image",
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && stderr.contains("neurotex reads PNG, JPEG"),
        "{stderr}"
    );
}
