//! The installed tool: `scripts/install.sh PREFIX` (what `make install` and `make dist` run) puts
//! the binary, the models and ONNX Runtime under PREFIX, and the installed binary synthesises
//! from `/` with an empty environment: no checkout, no build path, no variable, no Python.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn canonical(p: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_installed_binary_runs_from_anywhere_with_an_empty_environment() {
    let dir = scratch("install");
    let prefix = dir.join("prefix");
    let installed = Command::new("bash")
        .arg(repo().join("scripts/install.sh"))
        .arg(&prefix)
        .arg(env!("CARGO_BIN_EXE_neurotex"))
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let share = prefix.join("share/neurotex");
    for part in [
        "models/manifest.json",
        "onnxruntime/libonnxruntime.so",
        "CREDITS.md",
    ] {
        assert!(share.join(part).exists(), "{part} not installed");
    }
    let completion = prefix.join("share/bash-completion/completions/neurotex");
    let bash = std::fs::read_to_string(&completion).unwrap();
    assert!(
        bash.contains("_neurotex") && bash.contains("--snapshot-every"),
        "{bash}"
    );
    let man = std::fs::read_to_string(prefix.join("share/man/man1/neurotex.1")).unwrap();
    assert!(man.contains(".TH"), "{man}");
    assert!(prefix.join("share/zsh/site-functions/_neurotex").exists());
    assert!(prefix
        .join("share/fish/vendor_completions.d/neurotex.fish")
        .exists());
    let exe = prefix.join("bin/neurotex");
    let photo = dir.join("photo.png");
    std::fs::copy(example("pebbles.png"), &photo).unwrap();
    let out = dir.join("out/texture.png");
    let from_root = |args: &[&str]| {
        Command::new(&exe)
            .env_clear()
            .current_dir("/")
            .args(args)
            .output()
            .unwrap()
    };
    let run = from_root(&[
        "synth",
        photo.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--size",
        "32",
        "--iters",
        "2",
        "--scales",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        neurotex::image_io::load_rgb(&out).unwrap().image.dim(),
        (3, 32, 32)
    );
    // The installed data, not the checkout's.
    let models = from_root(&["models"]);
    let listed = String::from_utf8_lossy(&models.stdout);
    let first = listed.lines().next().unwrap_or_default();
    assert_eq!(
        canonical(Path::new(first)),
        canonical(&share.join("models"))
    );
    let providers = String::from_utf8_lossy(&from_root(&["providers"]).stdout).into_owned();
    let library = canonical(&share.join("onnxruntime/libonnxruntime.so"));
    assert!(
        providers.contains(share.join("onnxruntime").to_str().unwrap())
            || providers.contains(library.to_str().unwrap()),
        "{providers}"
    );
    // With the installed models moved away it fails, saying where it looked and how to set
    // up: it never falls back on the checkout's models (whose path it has no way to know).
    let away = share.join("models.away");
    std::fs::rename(share.join("models"), &away).unwrap();
    let run = from_root(&["synth", photo.to_str().unwrap(), "-o", "/tmp/never.png"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("installed: reinstall"), "{stderr}");
    let searched: Vec<&str> = stderr
        .split("Searched: ")
        .nth(1)
        .expect("the places searched")
        .trim()
        .split(", ")
        .collect();
    assert!(searched.contains(&share.to_str().unwrap()), "{searched:?}");
    let checkout = canonical(&repo());
    assert!(
        !searched
            .iter()
            .any(|p| std::fs::canonicalize(p).ok() == Some(checkout.clone())),
        "{searched:?}"
    );
    std::fs::rename(&away, share.join("models")).unwrap();
    // 200 MB of models: not left in target/.
    std::fs::remove_dir_all(&dir).unwrap();
}
