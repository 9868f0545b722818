//! Bad exemplars, damaged model folders and a missing ONNX Runtime: each a clear error from
//! `build()` (or the CLI) before any optimisation, never a panic.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use neurotex::manifest::Padding;
use neurotex::{EdgePadding, Synthesis};

/// `build()` must fail and its message contain every `expect`. Zero padding: the damaged
/// folders below damage the `gram` variant.
fn build_fails(exemplar: &Path, models: Option<&Path>, expect: &[&str]) {
    let mut b = Synthesis::builder()
        .exemplar(exemplar)
        .size(32, 32)
        .padding(EdgePadding::Zero);
    if let Some(m) = models {
        b = b.models_dir(m);
    }
    let e = b.build().err().expect("build must fail").to_string();
    for x in expect {
        assert!(e.contains(x), "expected '{x}' in: {e}");
    }
}

fn build_ok(exemplar: &Path) -> Vec<String> {
    let s = Synthesis::builder()
        .exemplar(exemplar)
        .size(32, 32)
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", exemplar.display()));
    s.notices().to_vec()
}

/// CRC-32 (PNG's), to write a valid header by hand.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG claiming `w` x `h` RGB: signature, IHDR, an empty IDAT and IEND (no pixel data).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", vec![]), (b"IEND", vec![])] {
        png.extend((data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

#[test]
fn exemplar_formats_and_sizes() {
    let dir = scratch("rel-images");
    let pebbles = image::open(example("pebbles.png")).unwrap();
    // 16-bit, grayscale and RGBA are accepted (converted, with a notice where it matters).
    let p16 = dir.join("p16.png");
    pebbles.to_rgb16().save(&p16).unwrap();
    assert!(build_ok(&p16).is_empty());
    let gray = dir.join("gray.png");
    pebbles.to_luma8().save(&gray).unwrap();
    assert!(build_ok(&gray)[0].contains("grayscale"));
    let rgba = dir.join("rgba.png");
    pebbles.to_rgba8().save(&rgba).unwrap();
    assert!(build_ok(&rgba)[0].contains("alpha"));

    // Too small for the network, and a 1x1 image.
    for side in [1, 8] {
        let small = dir.join(format!("small{side}.png"));
        pebbles
            .resize_exact(side, side, image::imageops::FilterType::Triangle)
            .save(&small)
            .unwrap();
        build_fails(&small, None, &["too small", "16x16"]);
    }
    // A header claiming 50000x50000: refused from the header, without allocating 7.5 GB.
    let huge = dir.join("huge.png");
    std::fs::write(&huge, png_header(50_000, 50_000)).unwrap();
    build_fails(&huge, None, &["50000x50000", "too large", "resize"]);
    // A header claiming 0x0 is not a valid PNG.
    let empty = dir.join("empty.png");
    std::fs::write(&empty, png_header(0, 0)).unwrap();
    build_fails(&empty, None, &["empty.png"]);
}

/// A models folder with links to the real files, a manifest edited by `edit`, and `extra`
/// files written in place of links.
fn damaged_models(
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
    extra: &[(&str, &[u8])],
) -> std::path::PathBuf {
    let dir = scratch(name);
    let src = repo().join("models");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap();
        if file == "manifest.json" || extra.iter().any(|(n, _)| file == *n) {
            continue;
        }
        if path.extension().is_some_and(|e| e == "bin") {
            std::fs::copy(&path, dir.join(file)).unwrap(); // ONNX Runtime refuses linked data
        } else {
            std::os::unix::fs::symlink(&path, dir.join(file)).unwrap();
        }
    }
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("manifest.json")).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    for (file, bytes) in extra {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    dir
}

#[test]
fn damaged_model_folders_are_refused_with_what_to_do() {
    let pebbles = example("pebbles.png");
    // Not JSON.
    let dir = damaged_models("rel-notjson", |_| {}, &[]);
    std::fs::write(dir.join("manifest.json"), "{ not json").unwrap();
    build_fails(
        &pebbles,
        Some(&dir),
        &["not a neurotex manifest", "make setup"],
    );
    // A missing field.
    let dir = damaged_models(
        "rel-field",
        |m| {
            m["variants"]["gram"]
                .as_object_mut()
                .unwrap()
                .remove("grad");
        },
        &[],
    );
    build_fails(&pebbles, Some(&dir), &["missing field `grad`"]);
    // A model file replaced (tampered or stale): its checksum no longer matches.
    let stats = std::fs::read(repo().join("models/sorted.stats.onnx")).unwrap();
    let dir = damaged_models("rel-tampered", |_| {}, &[("gram.stats.onnx", &stats)]);
    build_fails(
        &pebbles,
        Some(&dir),
        &["gram.stats.onnx does not match the manifest", "make setup"],
    );
    // A model whose inputs are not what the manifest says.
    let dir = damaged_models(
        "rel-inputs",
        |m| m["variants"]["gram"]["stats"]["input"] = "picture".into(),
        &[],
    );
    build_fails(
        &pebbles,
        Some(&dir),
        &["no input 'picture'", "different exports", "make setup"],
    );
    // The same for an output of the grad model.
    let dir = damaged_models(
        "rel-outputs",
        |m| {
            for model in m["variants"]["gram"]["grad"].as_array_mut().unwrap() {
                model["outputs"]["grad"] = "gradient".into();
            }
        },
        &[],
    );
    build_fails(
        &pebbles,
        Some(&dir),
        &["no output 'gradient'", "make setup"],
    );
    // A model whose external data points outside the models folder is refused (ONNX Runtime
    // checks it; we rely on that and test it): a model must not make us read other files.
    let model = std::fs::read(repo().join("models/gram.stats.onnx")).unwrap();
    let escaped = replace_bytes(&model, b"vgg16.weights.bin", b"../../../../etc/x");
    let digest = sha256_hex(&escaped);
    let dir = damaged_models(
        "rel-escape",
        |m| m["variants"]["gram"]["stats"]["sha256"] = digest.into(),
        &[("gram.stats.onnx", &escaped)],
    );
    build_fails(&pebbles, Some(&dir), &["escapes model directory"]);
}

fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "same length keeps the protobuf valid");
    let mut out = data.to_vec();
    let mut i = 0;
    let mut n = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        i += 1;
    }
    assert!(n > 0);
    out
}

fn sha256_hex(data: &[u8]) -> String {
    let path = scratch("rel-sha").join("f");
    std::fs::write(&path, data).unwrap();
    neurotex::manifest::sha256_file(&path).unwrap()
}

#[test]
fn a_missing_or_wrong_onnx_runtime_library_says_how_to_install_it() {
    let run = |lib: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_neurotex"))
            .args(["providers"])
            .env("NEUROTEX_ORT_DYLIB", lib)
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{lib} accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run("/nonexistent/libonnxruntime.so");
    assert!(
        e.contains("/nonexistent/libonnxruntime.so") && e.contains("make setup"),
        "{e}"
    );
    // A shared library that is not ONNX Runtime.
    let e = run("/lib/x86_64-linux-gnu/libz.so.1");
    assert!(e.contains("libz.so.1") && e.contains("make setup"), "{e}");
    // An ONNX Runtime too old for the API level neurotex uses (setup unpacks 1.30.0 for this).
    let old = repo().join(".cache/onnxruntime-too-old/libonnxruntime.so");
    assert!(
        old.exists(),
        "run `make setup`: it unpacks {}",
        old.display()
    );
    let e = run(old.to_str().unwrap());
    assert!(
        e.contains("expected version >= '1.31")
            && e.contains("got '1.30.0'")
            && e.contains("make setup"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn a_manifest_naming_files_outside_its_folder_is_refused() {
    let text = std::fs::read_to_string(
        repo().join("tests/fuzz_regressions/manifest_parse/seed_escaping_file.json"),
    )
    .unwrap();
    let e = neurotex::manifest::Manifest::parse(&text).unwrap_err();
    assert!(
        e.contains("../../etc/passwd") && e.contains("plain name"),
        "{e}"
    );
    let ok = std::fs::read_to_string(
        repo().join("tests/fuzz_regressions/manifest_parse/seed_gram_only.json"),
    )
    .unwrap();
    assert!(neurotex::manifest::Manifest::parse(&ok).is_ok());
}

#[test]
#[ignore = "needs root (mounts a tmpfs): `make test` runs it as root"]
fn a_full_disk_is_an_error_that_leaves_no_partial_file_and_rescues_the_result() {
    let dir = scratch("rel-full");
    let mnt = dir.join("tiny");
    std::fs::create_dir_all(&mnt).unwrap();
    // A 16 kB disk: the write probe fits, a 128x128 texture (about 45 kB as PNG) does not.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "cannot mount a tmpfs here: run this test as root");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mnt);
    let out = mnt.join("full.png");
    let run = Command::new(env!("CARGO_BIN_EXE_neurotex"))
        .args(["synth", example("pebbles.png").to_str().unwrap(), "-o"])
        .arg(&out)
        .args(["--size", "128", "--scales", "1", "--iters", "2"])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&mnt).unwrap().collect();
    assert!(left.is_empty(), "files left on the full disk: {left:?}");
    // The result was kept elsewhere, and the message says where.
    let rescued = stderr
        .split("saved to ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no rescue path in: {stderr}"));
    let image = neurotex::image_io::load_rgb(Path::new(rescued))
        .unwrap()
        .image;
    assert_eq!(image.dim(), (3, 128, 128));
    std::fs::remove_file(rescued).unwrap();
}

#[test]
fn writers_racing_for_one_output_never_leave_a_corrupt_file() {
    // Threads of one process (a library user) write the same path at once: each write is a
    // private temporary file renamed into place, so the path always holds one writer's complete
    // image; whole processes (two shells) cannot: the second refuses. No temporary file or
    // claim is left behind.
    let dir = scratch("rel-race");
    let out = dir.join("same.png");
    let image = |k: usize| {
        ndarray::Array3::from_shape_fn((3, 96, 96), |(c, y, x)| {
            ((k * 37 + c * 11 + y * 3 + x) % 256) as f32 / 255.0
        })
    };
    std::thread::scope(|s| {
        for k in 0..8 {
            let (out, image) = (&out, image(k));
            s.spawn(move || {
                for _ in 0..10 {
                    neurotex::image_io::save_png(&image, out).unwrap();
                }
            });
        }
    });
    let written = neurotex::image_io::load_rgb(&out).unwrap().image;
    let quantised = |k: usize| image(k).mapv(|v| (v * 255.0).round() / 255.0);
    assert!(
        (0..8).any(|k| written
            .iter()
            .zip(quantised(k).iter())
            .all(|(a, b)| (a - b).abs() < 1e-6)),
        "the output is none of the images written"
    );

    let runs: Vec<_> = (0..2)
        .map(|seed| {
            Command::new(env!("CARGO_BIN_EXE_neurotex"))
                .args(["synth", example("pebbles.png").to_str().unwrap(), "-o"])
                .arg(&out)
                .args([
                    "--size",
                    "64",
                    "--scales",
                    "1",
                    "--iters",
                    "3",
                    "--overwrite",
                ])
                .args(["--seed", &seed.to_string()])
                .current_dir(repo())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Two processes on one output: one claims it, the other refuses at once (unless the first
    // had already finished); never both at the same time.
    let mut finished = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            finished += 1;
        } else {
            assert!(
                stderr.contains("being written by another neurotex run"),
                "{stderr}"
            );
        }
    }
    assert!(finished >= 1);
    let written = neurotex::image_io::load_rgb(&out).unwrap().image;
    assert_eq!(written.dim(), (3, 64, 64));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "same.png")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
#[ignore = "needs root (runs neurotex as another user): `make test` runs it as root"]
fn an_exemplar_the_user_may_not_read_says_so() {
    // Root reads any file, so run as `nobody` (setpriv, util-linux) on a file with mode 000.
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("neurotex-perm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let secret = dir.join("secret.png");
    std::fs::copy(example("pebbles.png"), &secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let as_nobody = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_neurotex"))
        .arg("synth")
        .arg(&secret)
        .arg("-o")
        .arg(dir.join("out.png"))
        .output();
    let out = as_nobody.expect("setpriv (util-linux) runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("setpriv:"),
        "cannot run as another user here: run this test as root"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("secret.png")
            && stderr.contains("Permission denied")
            && stderr.contains("chmod"),
        "{stderr}"
    );
    assert!(!dir.join("out.png").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_models_folder_without_reflect_graphs_falls_back_with_a_notice() {
    // Exported before reflect padding (or by hand): `--padding auto` runs zero-padded graphs,
    // and a tileable output's exemplar wraps around like the output; each says why.
    let dir = damaged_models(
        "models-without-reflect",
        |m| {
            let variants = m["variants"].as_object_mut().unwrap();
            variants.retain(|_, v| v["padding"] != "reflect");
        },
        &[],
    );
    let run = |tile: bool| {
        let synthesis = Synthesis::builder()
            .exemplar(example("pebbles.png"))
            .models_dir(&dir)
            .size(64, 64)
            .scales(1)
            .iterations(2)
            .tile(tile)
            .build()
            .unwrap();
        let notices = synthesis.notices().join("\n");
        let record = synthesis.run().unwrap().record;
        (record.padding, record.exemplar_padding, notices)
    };
    let (output, exemplar, notices) = run(false);
    assert_eq!((output, exemplar), (Padding::Zero, Padding::Zero));
    assert!(
        notices.contains("zero padding: the models folder has no reflect-padded gram models"),
        "{notices}"
    );
    let (output, exemplar, notices) = run(true);
    assert_eq!((output, exemplar), (Padding::Circular, Padding::Circular));
    assert!(
        notices.contains("the exemplar wraps around like the output"),
        "{notices}"
    );
}
