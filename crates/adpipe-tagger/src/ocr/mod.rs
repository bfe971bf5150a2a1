//! Text in photos (issue 34): PP-OCR's text detector
//! (`kind = "ocr_detector"`, [`detector`]) and recogniser
//! (`kind = "ocr_recognizer"`, [`recognizer`]). Their model.toml files are
//! read and checked, and their sessions load and are checked against the
//! graphs; no pipeline runs them yet (`scripts/ocr-reference.py` is the
//! reference the pipeline will follow).

pub mod detector;
pub mod recognizer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType, ValueType};

pub use detector::DetectorSpec;
pub use recognizer::RecognizerSpec;

use crate::classifier::{ModelError, cpu_session};
use crate::load::{LoadError, TaggerConfig};
use crate::runtime;
use crate::spec::Device;

/// What an OCR model's spec tells its loader.
pub trait OcrSpec {
    fn name(&self) -> &str;
    /// The model.toml it came from.
    fn source(&self) -> &Path;
    fn model_path(&self) -> &Path;
    fn device(&self) -> Device;
    fn input_name(&self) -> Option<&str>;
    fn output_name(&self) -> Option<&str>;
    /// Checks the graph's input and output against the description.
    fn check(&self, input: &Outlet, output: &Outlet) -> Result<(), String>;
}

/// An OCR model with its session, checked against its description: the
/// detector's or the recogniser's ([`OcrModel::spec`]).
pub struct OcrModel<S> {
    spec: S,
    input: String,
    output: String,
    // `Session::run` takes `&mut self`.
    session: Mutex<Session>,
}

impl<S: OcrSpec> std::fmt::Debug for OcrModel<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrModel")
            .field("model", &self.spec.name())
            .field("input", &self.input)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

impl<S: OcrSpec> OcrModel<S> {
    pub fn spec(&self) -> &S {
        &self.spec
    }

    /// The graph's image input.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// The graph's output the spec reads.
    pub fn output_name(&self) -> &str {
        &self.output
    }

    /// The session, for the pipeline to run.
    pub fn session(&self) -> &Mutex<Session> {
        &self.session
    }

    /// Loads the graph on the CPU and checks its input and output.
    pub(crate) fn load(spec: S, config: &TaggerConfig) -> Result<Self, LoadError> {
        let model_error = |message: String| ModelError::Load {
            path: spec.model_path().display().to_string(),
            message,
        };
        if !spec.model_path().is_file() {
            return Err(model_error("no such file".into()).into());
        }
        if config.session.device.unwrap_or(spec.device()) == Device::Cuda {
            tracing::warn!(model = %spec.name(), "the OCR models run on the CPU");
        }
        let runtime = runtime::runtime(&config.runtime)?;
        let session = cpu_session(&runtime, &config.session, spec.model_path())
            .map_err(|error| model_error(error.to_string()))?;
        let mismatch = |message: String| ModelError::Mismatch {
            model: spec.model_path().display().to_string(),
            source_file: spec.source().display().to_string(),
            message,
        };
        let input = find(session.inputs(), spec.input_name(), "input").map_err(mismatch)?;
        let output = find(session.outputs(), spec.output_name(), "output").map_err(mismatch)?;
        float_tensor(input)
            .and_then(|()| float_tensor(output))
            .and_then(|()| spec.check(input, output))
            .map_err(mismatch)?;
        let (input, output) = (input.name().to_owned(), output.name().to_owned());
        tracing::info!(model = %spec.name(), "OCR model loaded");
        Ok(Self {
            spec,
            input,
            output,
            session: Mutex::new(session),
        })
    }
}

/// The outlet named `name`, or the first one.
fn find<'a>(outlets: &'a [Outlet], name: Option<&str>, what: &str) -> Result<&'a Outlet, String> {
    let names = || {
        outlets
            .iter()
            .map(|o| o.name().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => outlets
            .iter()
            .find(|o| o.name() == name)
            .ok_or_else(|| format!("it has no {what} named {name:?} (it has: {})", names())),
        None => outlets.first().ok_or_else(|| format!("it has no {what}s")),
    }
}

fn float_tensor(outlet: &Outlet) -> Result<(), String> {
    match outlet.dtype() {
        ValueType::Tensor { ty, .. } if *ty == TensorElementType::Float32 => Ok(()),
        other => Err(format!(
            "{:?} is {other:?}; adpipe reads float32 tensors",
            outlet.name()
        )),
    }
}

/// The outlet's dimensions (-1 where dynamic).
pub(crate) fn dims(outlet: &Outlet) -> &[i64] {
    match outlet.dtype() {
        ValueType::Tensor { shape, .. } => {
            let dims: &[i64] = shape;
            dims
        }
        _ => &[],
    }
}

/// A dimension the graph fixes to something else than `wanted`.
pub(crate) fn fixed_to_other(actual: i64, wanted: usize) -> bool {
    actual >= 0 && actual as usize != wanted
}

/// `relative`, resolved against `folder`: a folder stands for its
/// model.toml.
pub(crate) fn model_toml_in(folder: &Path, relative: &Path) -> PathBuf {
    let path = folder.join(relative);
    if path.is_dir() {
        path.join("model.toml")
    } else {
        path
    }
}

/// A value that must lie in `range`, else the message says which and where.
pub(crate) fn within<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    low: T,
    high: T,
) -> Result<(), String> {
    if value >= low && value <= high {
        Ok(())
    } else {
        Err(format!(
            "{key} must be between {low} and {high}, not {value}"
        ))
    }
}
