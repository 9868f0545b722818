//! Where neurotex finds its data (the exported models and the ONNX Runtime library), so that the
//! same binary works installed (`make install`), unpacked from a release (`make dist`), or in its
//! checkout, from any working folder. Nothing of the build is compiled in.
//!
//! The places, in order (the first that has the file wins):
//! 1. beside the executable, `<exe>/../share/neurotex/` (an installed or unpacked release);
//! 2. `$NEUROTEX_HOME/`;
//! 3. the XDG data folder, `$XDG_DATA_HOME/neurotex/` or `~/.local/share/neurotex/`;
//! 4. the working folder, `./` (a checkout, where `make setup` puts them);
//! 5. the checkout the executable was built in, `<exe>/../../` (`target/release/neurotex`).
//!
//! Within a place the models are `models/manifest.json` and the library
//! `onnxruntime/libonnxruntime.so` (a checkout keeps it in `.cache/onnxruntime/`).
//! `$NEUROTEX_MODELS` and `$NEUROTEX_ORT_DYLIB` (or `$ORT_DYLIB_PATH`) name them directly.

use std::path::{Path, PathBuf};

/// Environment variable naming a data folder (models/, onnxruntime/).
pub const HOME_ENV: &str = "NEUROTEX_HOME";

/// The models, relative to a data folder.
pub const MODELS: &str = "models";

/// The ONNX Runtime library, relative to an installed data folder and to a checkout.
pub const LIBRARY_INSTALLED: &str = "onnxruntime/libonnxruntime.so";
pub const LIBRARY_CHECKOUT: &str = ".cache/onnxruntime/libonnxruntime.so";

/// The data folders, in the order they are searched.
pub fn places() -> Vec<PathBuf> {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|e| std::fs::canonicalize(e).ok());
    // `levels` folders up from the executable's, then `below`.
    let beside_exe = |levels: usize, below: &str| {
        let mut dir = exe.as_deref()?.parent()?;
        for _ in 0..levels {
            dir = dir.parent()?;
        }
        Some(dir.join(below))
    };
    let env_dir = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let xdg = env_dir("XDG_DATA_HOME")
        .or_else(|| env_dir("HOME").map(|h| h.join(".local/share")))
        .map(|d| d.join("neurotex"));
    [
        beside_exe(1, "share/neurotex"),
        env_dir(HOME_ENV),
        xdg,
        Some(PathBuf::from(".")),
        beside_exe(2, ""),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The first place holding `relative` (any of `relatives`), or None.
fn find(relatives: &[&str]) -> Option<PathBuf> {
    places()
        .iter()
        .flat_map(|place| relatives.iter().map(move |r| place.join(r)))
        .find(|p| p.exists())
}

/// The models folder: `$NEUROTEX_MODELS`, else the first place with `models/manifest.json`,
/// else `./models` (whose absence the error then names, with where else was looked).
pub fn models_dir(models_env: &str, manifest: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(models_env).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    find(&[&format!("{MODELS}/{manifest}")])
        .and_then(|m| m.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(MODELS))
}

/// The ONNX Runtime library: the first place that has one, else the checkout's path (whose
/// absence the error then names).
pub fn library() -> PathBuf {
    find(&[LIBRARY_INSTALLED, LIBRARY_CHECKOUT]).unwrap_or_else(|| PathBuf::from(LIBRARY_CHECKOUT))
}

/// Where to look, for messages: "<exe>/../share/neurotex, $NEUROTEX_HOME, ...", each as an
/// absolute path (`./` is the working folder's).
pub fn searched() -> String {
    places()
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
