//! Text in photos (issue 34): PP-OCR's text detector
//! (`kind = "ocr_detector"`, [`detector`]) and recogniser
//! (`kind = "ocr_recognizer"`, [`recognizer`]), and the pipeline that runs
//! them, [`OcrReader`]: the detector's probability map becomes text boxes
//! ([`boxes`], [`geometry`]), each box is cut out straight ([`raster`]) and
//! read by the recogniser ([`ctc`]), the lines in reading order
//! ([`frame`]). It reproduces `scripts/ocr-reference.py` (its default pure
//! geometry); `tests/ocr.rs` compares the two on the fixtures.

pub mod boxes;
pub mod ctc;
pub mod detector;
pub mod frame;
pub mod geometry;
pub mod raster;
mod reader;
pub mod recognizer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType, ValueType};

pub use detector::DetectorSpec;
pub use reader::{OcrReader, TextBox};
pub use recognizer::RecognizerSpec;

use crate::classifier::{ModelError, cpu_session};
use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::runtime;
use crate::spec::Device;

/// What both OCR specs tell their loader: the graph, where it was
/// described, and which of its outlets to read.
#[derive(Debug, Clone)]
pub struct OcrGraph {
    pub name: String,
    /// The model.toml it came from.
    pub source: PathBuf,
    pub model_path: PathBuf,
    pub device: Device,
    /// `[input] name`; none: the graph's first input.
    pub input_name: Option<String>,
    /// `[output] name`; none: the graph's first output.
    pub output_name: Option<String>,
}

impl OcrGraph {
    /// From a model.toml's common keys: `name` (else the folder's name,
    /// else `fallback_name`), `file` and `device`; no outlet names yet.
    pub(crate) fn read(
        toml: &ModelToml,
        (name, fallback_name): (Option<String>, &str),
        file: PathBuf,
        device: Device,
    ) -> Self {
        Self {
            name: toml.name_or_folder(name, fallback_name),
            source: toml.path().to_owned(),
            model_path: toml.resolve(file),
            device,
            input_name: None,
            output_name: None,
        }
    }

    /// With the input and output `[input]` and `[output]` name.
    pub(crate) fn outlets(self, input: &Option<String>, output: &Option<String>) -> Self {
        Self {
            input_name: input.clone(),
            output_name: output.clone(),
            ..self
        }
    }
}

/// What an OCR model's spec tells its loader.
pub trait OcrSpec {
    fn graph(&self) -> &OcrGraph;
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
            .field("model", &self.spec.graph().name)
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
        let graph = spec.graph();
        let model_error = |message: String| ModelError::Load {
            path: graph.model_path.display().to_string(),
            message,
        };
        if !graph.model_path.is_file() {
            return Err(model_error("no such file".into()).into());
        }
        if config.session.device.unwrap_or(graph.device) == Device::Cuda {
            tracing::warn!(model = %graph.name, "the OCR models run on the CPU");
        }
        let runtime = runtime::runtime(&config.runtime)?;
        let session = cpu_session(&runtime, &config.session, &graph.model_path)
            .map_err(|error| model_error(error.to_string()))?;
        let mismatch = |message: String| ModelError::Mismatch {
            model: graph.model_path.display().to_string(),
            source_file: graph.source.display().to_string(),
            message,
        };
        let input =
            find(session.inputs(), graph.input_name.as_deref(), "input").map_err(mismatch)?;
        let output =
            find(session.outputs(), graph.output_name.as_deref(), "output").map_err(mismatch)?;
        float_tensor(input)
            .and_then(|()| float_tensor(output))
            .and_then(|()| spec.check(input, output))
            .map_err(mismatch)?;
        let (input, output) = (input.name().to_owned(), output.name().to_owned());
        tracing::info!(model = %graph.name, "OCR model loaded");
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
