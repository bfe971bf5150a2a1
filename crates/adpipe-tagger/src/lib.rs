//! Runs the local ONNX models that read an ad, each described by a
//! `model.toml` so it can be swapped in without recompiling. The file's
//! `kind` says what it describes, and each kind has its module ([`kind`]):
//! the image classifier ([`image_classifier`]), the sentence-embedding
//! model that reads the ad's text ([`text`]), and the OCR models ([`ocr`]).
//!
//! bytes → [`adpipe_image::decode`] (untrusted input, limits, orientation) →
//! [`preprocess`] (views, resize, normalise) → [`classifier`] (ONNX Runtime)
//! → probabilities; [`Tagger`] batches and overlaps these, and
//! [`Moderator`] adds the policy and its gates.

pub mod classifier;
mod decoding;
pub mod head_judge;
pub mod image_classifier;
pub mod image_head;
pub mod kind;
mod load;
mod model_thread;
pub mod model_toml;
pub mod moderator;
pub mod ocr;
pub mod photo_text;
pub mod preprocess;
pub mod runtime;
mod session;
pub mod spec;
pub mod tagger;
pub mod text;

pub use adpipe_image::{DecodeError, DecodeLimits, ImageFormat, ImageInfo, RgbImage};
pub use classifier::{Classifier, Execution, ModelError, SessionConfig};
pub use decoding::{ImageBytes, PreparedBatch};
pub use head_judge::{HeadJudge, HeadJudgeError};
pub use image_classifier::{ModelSpec, View};
pub use image_head::Head;
pub use kind::{KindSpec, ModelKind};
pub use load::{LoadError, TaggerConfig};
pub use model_toml::ModelToml;
pub use moderator::{AssessedBatch, Assessment, Moderator, ModeratorError};
/// Graph optimisation levels for [`SessionConfig::optimization`].
pub use ort::session::builder::GraphOptimizationLevel;
pub use photo_text::{Photo, PhotoText};
pub use preprocess::Preprocessor;
pub use runtime::{Runtime, RuntimeError, RuntimeOptions};
pub use spec::{Device, SpecError};
pub use tagger::{ItemError, Model, Outputs, Tagger};
pub use text::{TextEmbedder, TextModelSpec};
