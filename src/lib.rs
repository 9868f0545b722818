//! neurotex: neural texture synthesis (Gatys, Ecker & Bethge 2015) with the VGG-16 loss and its
//! input gradient computed in ONNX graphs that run in ONNX Runtime, and L-BFGS on the host.
//!
//! ```no_run
//! let outcome = neurotex::Synthesis::builder()
//!     .exemplar("examples/textures/pebbles.png")
//!     .output("out/pebbles.png")
//!     .size(256, 256)
//!     .iterations(100)
//!     .build()?
//!     .run()?;
//! println!("loss {} -> {}", outcome.initial_loss, outcome.best_loss);
//! # Ok::<(), neurotex::Error>(())
//! ```

pub mod bench;
mod checkpoint;
pub mod error;
pub mod fuzzing;
pub mod image_io;
pub mod init;
pub mod interrupt;
pub mod layers;
pub mod manifest;
pub mod memory;
pub mod metrics;
pub mod objective;
pub mod optimizer;
pub mod outputs;
pub mod passes;
pub mod pixels;
pub mod plan;
pub mod record;
pub mod resume;
pub mod runtime;
pub mod settings;
pub mod sheet;
pub mod step_inputs;
pub mod study;
pub mod synthesis;
pub mod upsample;

pub use error::{Error, Result};
pub use layers::LayerWeights;
pub use outputs::Written;
pub use runtime::Provider;
pub use settings::{Settings, Size};
pub use synthesis::{Batch, Event, Outcome, Synthesis, SynthesisBuilder};
