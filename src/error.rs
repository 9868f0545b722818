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

    #[error("ONNX Runtime could not be loaded from {path}: {reason}\n  installed: reinstall (`make install` from a checkout, or unpack a release: its share/neurotex/onnxruntime/ holds it); in a checkout: run `make setup`; or point NEUROTEX_ORT_DYLIB at libonnxruntime.so. Searched: {}", crate::data::searched())]
    RuntimeLoad { path: PathBuf, reason: String },

    #[error("models not usable in {dir}: {reason}\n  installed: reinstall (`make install`, or unpack a release: its share/neurotex/models/); in a checkout: run `make setup` (scripts/setup.sh) to export them; or point NEUROTEX_MODELS or --models at a models folder. Searched: {}", crate::data::searched())]
    Models { dir: PathBuf, reason: String },

    #[error("unknown statistic '{name}': the manifest has {available}")]
    UnknownVariant { name: String, available: String },

    /// ONNX Runtime's own error, kept whole (its code and message) as the source.
    #[error("ONNX Runtime: {source}")]
    Runtime {
        #[source]
        source: ort::Error,
    },

    #[error("optimiser: {0}")]
    Optimiser(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl<T> From<ort::Error<T>> for Error {
    /// An allocation that failed is told apart: that is a size the machine cannot hold, not a
    /// fault of the models. Any other error is kept as the source (an error that carries a
    /// recoverable builder is rebuilt with its code and message).
    fn from(e: ort::Error<T>) -> Self {
        let message = e.to_string();
        if is_allocation_failure(&message) {
            return out_of_memory(&message);
        }
        Error::Runtime {
            source: ort::Error::new_with_code(e.code(), message),
        }
    }
}

/// Whether ONNX Runtime's message says an allocation failed.
fn is_allocation_failure(message: &str) -> bool {
    let lower = message.to_lowercase();
    [
        "failed to allocate",
        "bad_alloc",
        "bad allocation",
        "out of memory",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

fn out_of_memory(message: &str) -> Error {
    Error::OutOfMemory(format!(
        "ONNX Runtime could not allocate what this size needs ({message}); choose a smaller \
         --size or --exemplar-scale, or close other programs"
    ))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_that_failed_in_onnx_runtime_is_told_apart() {
        let message = "Non-zero status code returned while running Conv node. Failed to \
                       allocate memory for requested buffer of size 17179869184";
        assert!(is_allocation_failure(message));
        assert!(!is_allocation_failure("Invalid input name: x"));
        let text = out_of_memory(message).to_string();
        assert!(
            text.contains("17179869184") && text.contains("smaller --size"),
            "{text}"
        );
    }
}
