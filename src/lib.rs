//! neurotex: neural texture synthesis (Gatys, Ecker & Bethge 2015) with the VGG-16 loss and its
//! input gradient computed in ONNX graphs that run in ONNX Runtime, and L-BFGS on the host.
//!
//! A synthesis is built from [`Settings`] (every option, the command line's defaults) and the
//! files it reads and writes, validated in `build()` before any long computation, and run with
//! events ([`Event`]) for a progress display; its [`Outcome`] holds the image, the losses, the
//! files written and the run record.
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
//!
//! From an image in memory, with settings as the command line would give them, to an image:
//!
//! ```no_run
//! let photo = image::open("examples/textures/bark_tree.png").expect("a photo");
//! let settings = neurotex::Settings {
//!     iterations: 50,
//!     tile: true,
//!     ..neurotex::Settings::default()
//! };
//! let outcome = neurotex::Synthesis::builder()
//!     .settings(settings)
//!     .exemplar_image(&photo)
//!     .size(128, 128)
//!     .build()?
//!     .run()?;
//! let texture: image::RgbImage = outcome.rgb_image();
//! # Ok::<(), neurotex::Error>(())
//! ```

// What a user of the library needs.
pub use blend::Blend;
pub use canvas::{Anchor, Canvas};
pub use edge_fade::EdgeFade;
pub use error::{Error, Result};
pub use init::Init;
pub use layers::LayerWeights;
pub use margin::Margin;
pub use optimizer::{Progress, Solver, StopReason};
pub use outputs::Written;
pub use regions::Guides;
pub use runtime::{Precision, Provider};
pub use settings::{EdgePadding, Quality, RuntimeSettings, Settings, Size, SolverKind};
pub use style::StyleTransfer;
pub use synthesis::{Batch, Event, Outcome, Synthesis, SynthesisBuilder};
pub use upsample::Upsampling;

pub mod blend;
pub mod canvas;
pub mod edge_fade;
pub mod error;
pub mod margin;
pub mod regions;
pub mod settings;
pub mod style;
pub mod synthesis;

// The other commands.
pub mod bench;
pub mod study;

// The parts the API is made of: public for the command line, the integration tests, the
// benchmarks and the fuzzers, which prove them one by one; not a stable API.
mod checkpoint;
#[doc(hidden)]
pub mod data;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod image_io;
#[doc(hidden)]
pub mod init;
#[doc(hidden)]
pub mod interrupt;
#[doc(hidden)]
pub mod layers;
#[doc(hidden)]
pub mod manifest;
#[doc(hidden)]
pub mod memory;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod objective;
#[doc(hidden)]
pub mod optimizer;
#[doc(hidden)]
pub mod outputs;
#[doc(hidden)]
pub mod passes;
#[doc(hidden)]
pub mod pixels;
#[doc(hidden)]
pub mod plan;
#[doc(hidden)]
pub mod record;
#[doc(hidden)]
pub mod resume;
#[doc(hidden)]
pub mod runtime;
#[doc(hidden)]
pub mod sheet;
#[doc(hidden)]
pub mod step_inputs;
#[doc(hidden)]
pub mod upsample;
