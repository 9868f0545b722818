//! ONNX Runtime: finding and loading the shared library, execution providers, sessions.
//!
//! neurotex links ONNX Runtime dynamically (`ort`'s `load-dynamic`): the library comes from the
//! pinned `onnxruntime` wheel that scripts/setup.sh unpacks into .cache/onnxruntime/ (or from
//! `onnxruntime-gpu` for CUDA/TensorRT), never from a download at build time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::ep::{ExecutionProvider, CPU, CUDA};
use ort::session::{builder::GraphOptimizationLevel, Session};

use crate::error::{Error, Result};

/// Environment variable naming the ONNX Runtime shared library to load.
pub const DYLIB_ENV: &str = "NEUROTEX_ORT_DYLIB";

/// An execution provider the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Cpu,
    Cuda,
    TensorRt,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Cpu, Provider::Cuda, Provider::TensorRt];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
        }
    }

    /// ONNX Runtime's own name for the provider.
    pub fn ort_name(self) -> &'static str {
        match self {
            Provider::Cpu => CPU::NAME,
            Provider::Cuda => CUDA::NAME,
            Provider::TensorRt => ort::ep::TensorRT::NAME,
        }
    }

    /// Whether the loaded ONNX Runtime was built with this provider.
    pub fn is_compiled_in(self) -> Result<bool> {
        init()?;
        Ok(match self {
            Provider::Cpu => CPU::is_available()?,
            Provider::Cuda => CUDA::is_available()?,
            Provider::TensorRt => ort::ep::TensorRT::is_available()?,
        })
    }
}

impl std::str::FromStr for Provider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownProvider(s.to_string()))
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The loaded runtime: where it came from, and its process-wide environment.
pub struct Runtime {
    pub library: PathBuf,
    pub version: String,
    environment: Environment,
}

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The library to load: $NEUROTEX_ORT_DYLIB, else $ORT_DYLIB_PATH, else the first copy in
/// neurotex's data folders (src/data.rs: installed, $NEUROTEX_HOME, XDG, the checkout).
pub fn library_path() -> PathBuf {
    for var in [DYLIB_ENV, "ORT_DYLIB_PATH"] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
    }
    crate::data::library()
}

/// Load ONNX Runtime once per process. Safe to call many times.
pub fn init() -> Result<&'static Runtime> {
    let loaded = RUNTIME.get_or_init(|| {
        let library = library_path();
        if !library.exists() {
            return Err(format!("{}: no such file", library.display()));
        }
        let environment = ort::init_from(&library)
            .map_err(|e| e.to_string())?
            .with_name("neurotex")
            .build()
            .map_err(|e| e.to_string())?;
        // The build string has no version; the wheel's file name does (libonnxruntime.so.1.32.0).
        // (An ONNX Runtime older than ort's API level is refused by `ort::init_from` above with
        // both versions named; tests/reliability.rs checks that message.)
        let version = std::fs::canonicalize(&library)
            .ok()
            .and_then(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some(name.split_once(".so.")?.1.to_string())
            })
            .unwrap_or_else(|| "(version unknown)".to_string());
        Ok(Runtime {
            library,
            version,
            environment,
        })
    });
    loaded.as_ref().map_err(|reason| Error::RuntimeLoad {
        path: library_path(),
        reason: reason.clone(),
    })
}

/// Arithmetic precision of the graphs on the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 everywhere (the models as exported).
    #[default]
    Fp32,
    /// float16 kernels, built by TensorRT from the float32 graphs (inputs and outputs stay f32).
    Fp16,
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fp32" | "f32" => Ok(Precision::Fp32),
            "fp16" | "f16" => Ok(Precision::Fp16),
            _ => Err(Error::InvalidSetting(format!(
                "unknown precision '{s}': choose fp32 or fp16"
            ))),
        }
    }
}

/// Options for every session neurotex opens.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    pub provider: Provider,
    /// Intra-op threads; 0 lets ONNX Runtime use every core.
    pub threads: usize,
    pub precision: Precision,
}

impl SessionOptions {
    /// float32 on `provider` with `threads` intra-op threads (0: every core).
    pub fn new(provider: Provider, threads: usize) -> Self {
        SessionOptions {
            provider,
            threads,
            precision: Precision::Fp32,
        }
    }

    /// The provider must support the precision: fp16 only on TensorRT, which builds half
    /// precision kernels from our float32 graphs. (The CUDA provider runs graphs as they are
    /// typed; it would need float16 exports, which we do not ship. The CPU provider has no fast
    /// float16 convolutions.)
    pub fn check(&self) -> Result<()> {
        if self.precision == Precision::Fp16 && self.provider != Provider::TensorRt {
            return Err(Error::InvalidSetting(format!(
                "--precision fp16 needs --provider tensorrt (the {} provider runs the float32 \
                 models as they are)",
                self.provider
            )));
        }
        Ok(())
    }
}

/// Fail early, with what to install, when the provider cannot work here.
pub fn check_provider(provider: Provider) -> Result<()> {
    let runtime = init()?;
    if provider.is_compiled_in()? {
        return Ok(());
    }
    Err(Error::ProviderUnavailable {
        provider: provider.name().into(),
        reason: format!(
            "the ONNX Runtime loaded from {} (version {}) was built without {}.\n  \
             Install the GPU build (`pip download --no-deps onnxruntime-gpu==1.31.1`, unpack \
             onnxruntime/capi/libonnxruntime.so.* and its provider libraries), make CUDA 13 and \
             cuDNN 9 (and TensorRT 10 for tensorrt) loadable, and point {DYLIB_ENV} at it; \
             or use --provider cpu. See README, section 'GPU'.",
            runtime.library.display(),
            runtime.version,
            provider.ort_name()
        ),
    })
}

/// Open a model with full graph optimisation on the chosen provider. A provider that fails to
/// register is an error, never a silent fallback to the CPU.
pub fn open_session(model: &Path, options: SessionOptions) -> Result<Session> {
    options.check()?;
    let runtime = init()?;
    check_provider(options.provider)?;
    let mut builder = Session::builder(&runtime.environment)?
        // Level 3 lets ONNX Runtime rewrite Conv into its blocked NCHWc kernels and fold the
        // adjoint weights (transpose + flip of the stored kernels) once, at load.
        .with_optimization_level(GraphOptimizationLevel::All)?
        .with_intra_threads(options.threads)?
        // The memory-pattern planner is no faster with the arena on (1024², relu1_1: 0.603 vs
        // 0.612 s) and holds more (2.0 vs 1.1 GiB peak); with the arena off, as `ort` used to
        // leave it, it also grew resident memory run after run (scripts/soak.sh, docs/performance.md).
        .with_memory_pattern(false)?;
    let ep = match options.provider {
        // `ort`'s CPU provider disables ONNX Runtime's arena unless asked: without it every
        // run page-faulted its working memory afresh (1024², relu1_1 only: 450 000 faults and
        // 1.84 s per evaluation instead of none and 0.49 s; 512² and 1024²: 1.4x and 1.7x).
        Provider::Cpu => CPU::default().with_arena_allocator(true).build(),
        Provider::Cuda => CUDA::default().build().error_on_failure(),
        Provider::TensorRt => ort::ep::TensorRT::default()
            .with_fp16(options.precision == Precision::Fp16)
            .build()
            .error_on_failure(),
    };
    builder = builder
        .with_execution_providers([ep])
        .map_err(|e| Error::ProviderUnavailable {
            provider: options.provider.name().into(),
            reason: e.to_string(),
        })?;
    builder.commit_from_file(model).map_err(|e| {
        let msg = e.to_string();
        if options.provider != Provider::Cpu && msg.to_lowercase().contains("provider") {
            Error::ProviderUnavailable {
                provider: options.provider.name().into(),
                reason: msg,
            }
        } else {
            Error::Models {
                dir: model.parent().unwrap_or(Path::new(".")).to_path_buf(),
                reason: format!("{}: {msg}", model.display()),
            }
        }
    })
}
