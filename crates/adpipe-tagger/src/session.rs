//! ONNX Runtime sessions, whatever the model kind: their settings, where
//! they run (the CPU, or CUDA with a fallback), and how they fail.

use std::path::Path;

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};

use crate::runtime::Runtime;
use crate::spec::Device;

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// ONNX Runtime intra-op threads; 0 lets it use one per core.
    pub intra_threads: usize,
    /// Idle intra-op threads spin for the next op: a little faster when
    /// inference has the cores to itself, wasteful when preprocessing runs
    /// beside it.
    pub spinning: bool,
    /// ONNX Runtime's CPU memory arena: tensors of one run are carved out of
    /// blocks kept from the last run instead of fresh allocations.
    pub memory_arena: bool,
    /// How far ONNX Runtime rewrites the graph when loading it (constant
    /// folding, operator fusion, layout changes); `All` is fastest.
    pub optimization: GraphOptimizationLevel,
    /// Overrides the model's `device`.
    pub device: Option<Device>,
}

/// The settings `cargo bench --bench tagging -- session` found fastest on
/// EfficientNet-Lite0 (BENCHMARKS.md).
impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            intra_threads: 0,
            spinning: false,
            memory_arena: true,
            optimization: GraphOptimizationLevel::All,
            device: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot load model {path}: {message}")]
    Load { path: String, message: String },
    #[error("model {model} does not match its description {source_file}: {message}")]
    Mismatch {
        model: String,
        source_file: String,
        message: String,
    },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Which execution provider a session really runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    Cpu,
    Cuda,
}

impl Execution {
    pub fn as_str(self) -> &'static str {
        match self {
            Execution::Cpu => "cpu",
            Execution::Cuda => "cuda",
        }
    }
}

/// A session on the CPU alone, with ONNX Runtime's own CPU defaults, for
/// the kinds that run nowhere else (the text embedder, OCR): one code path
/// keeps their results identical on every machine.
pub(crate) fn cpu_session(
    runtime: &Runtime,
    config: &SessionConfig,
    model: &Path,
) -> Result<Session, ort::Error> {
    let mut builder = Session::builder(runtime.environment())?
        .with_optimization_level(config.optimization)?
        .with_inter_threads(1)?
        .with_intra_op_spinning(config.spinning)?;
    if config.intra_threads > 0 {
        builder = builder.with_intra_threads(config.intra_threads)?;
    }
    builder.commit_from_file(model)
}

pub(crate) fn with_cuda(
    builder: SessionBuilder,
    device_id: i32,
) -> Result<(SessionBuilder, Execution), ort::Error> {
    let cuda = ep::CUDA::default().with_device_id(device_id);
    let mut builder = builder;
    cuda.register(&mut builder)?;
    Ok((builder, Execution::Cuda))
}
