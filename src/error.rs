//! Typed errors. Every message says what went wrong and what to do next.

use std::path::PathBuf;

/// Everything that can go wrong in neurotex, with the information a user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read image {path}: {reason}")]
    ImageRead { path: PathBuf, reason: String },

    #[error("cannot write {path}: {reason}")]
    OutputNotWritable { path: PathBuf, reason: String },

    #[error("refusing to write the {kind} {path}: it is the input {input}, which is never overwritten; choose another output name with -o")]
    WouldOverwriteInput {
        path: PathBuf,
        kind: String,
        input: PathBuf,
    },

    #[error(
        "the {kind} {path} already exists: pass --overwrite to replace it, or choose another name"
    )]
    OutputExists { path: PathBuf, kind: String },

    #[error("the {first} and the {second} would both be {path}: give them different names")]
    OutputConflict {
        path: PathBuf,
        first: String,
        second: String,
    },

    #[error("{path} is being written by another neurotex run (process {pid}, started {seconds} s ago): wait for it to end, or choose another output name")]
    OutputBusy {
        path: PathBuf,
        pid: u32,
        seconds: u64,
    },

    #[error("{path} is a {what}: --overwrite replaces only regular files, never a link's target, a pipe or a device; remove it or choose another name")]
    NotARegularFile { path: PathBuf, what: &'static str },

    #[error("interrupted during {during}: nothing was written")]
    Interrupted { during: &'static str },

    #[error("out of memory: {0}")]
    OutOfMemory(String),

    #[error("invalid size {given}: {reason}")]
    InvalidSize { given: String, reason: String },

    #[error("unknown layer '{name}': valid layers are {valid} (or a preset: {presets})")]
    UnknownLayer {
        name: String,
        valid: String,
        presets: String,
    },

    #[error("invalid layer weights: {0}")]
    InvalidLayerWeights(String),

    #[error("invalid setting: {0}")]
    InvalidSetting(String),

    /// A number outside what the option accepts.
    #[error("{option} {value} must be {allowed}")]
    OutOfRange {
        option: &'static str,
        value: String,
        allowed: String,
    },

    #[error("unknown execution provider '{0}': choose cpu, cuda or tensorrt")]
    UnknownProvider(String),

    #[error("the {provider} execution provider is not available: {reason}")]
    ProviderUnavailable { provider: String, reason: String },

    #[error("ONNX Runtime could not be loaded from {path}: {reason}\n  run `make setup` (or scripts/setup.sh), or point NEUROTEX_ORT_DYLIB at libonnxruntime.so")]
    RuntimeLoad { path: PathBuf, reason: String },

    #[error("models not usable in {dir}: {reason}\n  run `make setup` (scripts/setup.sh) to install and export them")]
    Models { dir: PathBuf, reason: String },

    #[error("unknown statistic '{name}': the manifest has {available}")]
    UnknownVariant { name: String, available: String },

    #[error("ONNX Runtime: {0}")]
    Runtime(String),

    #[error("optimiser: {0}")]
    Optimiser(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl<T> From<ort::Error<T>> for Error {
    fn from(e: ort::Error<T>) -> Self {
        Error::from_runtime_message(e.to_string())
    }
}

impl Error {
    /// ONNX Runtime's own message, told apart when it is an allocation that failed: that is a
    /// size the machine cannot hold, not a fault of the models.
    pub fn from_runtime_message(message: String) -> Error {
        let lower = message.to_lowercase();
        let allocation = [
            "failed to allocate",
            "bad_alloc",
            "bad allocation",
            "out of memory",
        ]
        .iter()
        .any(|m| lower.contains(m));
        if allocation {
            Error::OutOfMemory(format!(
                "ONNX Runtime could not allocate what this size needs ({message}); choose a \
                 smaller --size or --exemplar-scale, or close other programs"
            ))
        } else {
            Error::Runtime(message)
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn an_allocation_that_failed_in_onnx_runtime_is_told_apart() {
        let oom = Error::from_runtime_message(
            "Non-zero status code returned while running Conv node. Failed to allocate memory \
             for requested buffer of size 17179869184"
                .into(),
        );
        let text = oom.to_string();
        assert!(matches!(oom, Error::OutOfMemory(_)), "{text}");
        assert!(
            text.contains("17179869184") && text.contains("smaller --size"),
            "{text}"
        );
        let other = Error::from_runtime_message("Invalid input name: x".into());
        assert!(matches!(other, Error::Runtime(_)));
    }
}
