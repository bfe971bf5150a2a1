//! One ONNX Runtime session for one model: checks that the graph matches its
//! model.toml, runs batches, and turns raw outputs into per-image
//! probabilities (softmax / sigmoid, then the views max-merged per label).

use std::sync::{Arc, Mutex};

use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::SessionBuilder;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::image_classifier::spec::{ModelSpec, OutputKind};
use crate::image_head::Head;
use crate::runtime::Runtime;
pub(crate) use crate::session::cpu_session;
use crate::session::with_cuda;
pub use crate::session::{Execution, ModelError, SessionConfig};
use crate::spec::{Device, Layout};

pub struct Classifier {
    // `Session::run` takes `&mut self`; one batch at a time is what one
    // set of intra-op threads can serve anyway.
    session: Mutex<Session>,
    input_name: String,
    output_name: String,
    input_shape: [usize; 3],
    /// Values per image the classifier returns: labels, or features.
    classes: usize,
    /// Values per row of the graph's output: `classes`, or the features a
    /// head reads.
    row_width: usize,
    head: Option<Arc<Head>>,
    /// Where each image's feature vector comes from, when the model has
    /// one ([`Classifier::infer_keeping_embeddings`]).
    embedding: Option<EmbeddingOutput>,
    views: usize,
    kind: OutputKind,
    execution: Execution,
}

#[derive(Debug, Clone)]
enum EmbeddingOutput {
    /// The output the scores are computed from is the feature vector
    /// itself: a head reads its backbone's embedding.
    Scored,
    /// A second output of the graph (model.toml's `[output] embedding`),
    /// `width` values per view.
    Named { name: String, width: usize },
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("input", &self.input_name)
            .field("output", &self.output_name)
            .field("classes", &self.classes)
            .field("execution", &self.execution)
            .finish()
    }
}

impl Classifier {
    pub fn load(
        spec: &ModelSpec,
        runtime: &Runtime,
        config: &SessionConfig,
    ) -> Result<Self, ModelError> {
        let path = spec.model_path.display().to_string();
        let load_error = |error: ort::Error| ModelError::Load {
            path: path.clone(),
            message: error.to_string(),
        };
        if !spec.model_path.is_file() {
            return Err(ModelError::Load {
                path: path.clone(),
                message:
                    "no such file (models that are not committed are fetched by scripts/setup.sh)"
                        .into(),
            });
        }
        let base = || -> Result<SessionBuilder, ort::Error> {
            let mut builder = Session::builder(runtime.environment())?
                .with_optimization_level(config.optimization)?
                .with_inter_threads(1)?
                .with_intra_op_spinning(config.spinning)?;
            ep::CPU::default()
                .with_arena_allocator(config.memory_arena)
                .register(&mut builder)?;
            if config.intra_threads > 0 {
                builder = builder.with_intra_threads(config.intra_threads)?;
            }
            Ok(builder)
        };
        let device = config.device.unwrap_or(spec.device);
        let (mut builder, execution) = match device {
            Device::Cpu => (base().map_err(load_error)?, Execution::Cpu),
            Device::Cuda => with_cuda(base().map_err(load_error)?, spec.cuda_device_id)
                .or_else(|error| {
                    tracing::warn!(
                        model = %spec.name,
                        %error,
                        "CUDA is not available; running on the CPU instead"
                    );
                    base().map(|builder| (builder, Execution::Cpu))
                })
                .map_err(load_error)?,
        };
        let session = builder
            .commit_from_file(&spec.model_path)
            .map_err(load_error)?;
        let classifier = Self::check(spec, session, execution)?;
        tracing::info!(
            model = %spec.name,
            execution = execution.as_str(),
            classes = classifier.classes,
            "model loaded"
        );
        Ok(classifier)
    }

    /// Matches the graph's input and output against model.toml, so a wrong
    /// description fails at load time with a message, not mid-batch.
    fn check(spec: &ModelSpec, session: Session, execution: Execution) -> Result<Self, ModelError> {
        let mismatch = |message: String| ModelError::Mismatch {
            model: spec.model_path.display().to_string(),
            source_file: spec.source.display().to_string(),
            message,
        };
        let names = |outlets: &[ort::value::Outlet]| {
            outlets
                .iter()
                .map(|o| o.name().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let input = match &spec.input.name {
            Some(name) => session
                .inputs()
                .iter()
                .find(|i| i.name() == name)
                .ok_or_else(|| {
                    mismatch(format!(
                        "it has no input named {name:?} (it has: {})",
                        names(session.inputs())
                    ))
                })?,
            None => session
                .inputs()
                .first()
                .ok_or_else(|| mismatch("it has no inputs".into()))?,
        };
        let (h, w) = (spec.input.height as i64, spec.input.width as i64);
        let expected: [i64; 3] = match spec.input.layout {
            Layout::NCHW => [3, h, w],
            Layout::NHWC => [h, w, 3],
        };
        match input.dtype() {
            ValueType::Tensor { ty, shape, .. } => {
                if *ty != TensorElementType::Float32 {
                    return Err(mismatch(format!(
                        "input {:?} takes {ty:?}; adpipe feeds float32",
                        input.name()
                    )));
                }
                let dims: &[i64] = shape;
                let fits = dims.len() == 4
                    && dims[1..]
                        .iter()
                        .zip(expected)
                        .all(|(&actual, wanted)| actual < 0 || actual == wanted);
                if !fits {
                    return Err(mismatch(format!(
                        "input {:?} has shape {dims:?}, but the description says {:?} {}×{} \
                         (expected [batch, {}, {}, {}])",
                        input.name(),
                        spec.input.layout,
                        spec.input.width,
                        spec.input.height,
                        expected[0],
                        expected[1],
                        expected[2]
                    )));
                }
            }
            other => {
                return Err(mismatch(format!(
                    "input {:?} is not a tensor: {other:?}",
                    input.name()
                )));
            }
        }
        let output = match &spec.output.name {
            Some(name) => session
                .outputs()
                .iter()
                .find(|o| o.name() == name)
                .ok_or_else(|| {
                    mismatch(format!(
                        "it has no output named {name:?} (it has: {})",
                        names(session.outputs())
                    ))
                })?,
            None => session
                .outputs()
                .first()
                .ok_or_else(|| mismatch("it has no outputs".into()))?,
        };
        let dims: Vec<i64> = match output.dtype() {
            ValueType::Tensor { shape, .. } => shape.to_vec(),
            _ => Vec::new(),
        };
        let width = (dims.len() == 2 && dims[1] >= 0).then(|| dims[1] as usize);
        let (classes, row_width) = match (&spec.head, spec.output.kind) {
            (Some(head), _) => {
                if width.is_some_and(|width| width != head.features) {
                    return Err(mismatch(format!(
                        "output {:?} has shape {dims:?}, but the head reads {} features",
                        output.name(),
                        head.features
                    )));
                }
                (head.classes(), head.features)
            }
            (None, OutputKind::Features) => {
                let width = width.ok_or_else(|| {
                    mismatch(format!(
                        "embedding output {:?} has shape {dims:?}, not [batch, features]",
                        output.name()
                    ))
                })?;
                (width, width)
            }
            (None, _) => {
                let classes = spec.labels.len();
                if dims.len() != 2 || width.is_some_and(|width| width != classes) {
                    return Err(mismatch(format!(
                        "output {:?} has shape {dims:?}, but the labels file has {classes} labels",
                        output.name()
                    )));
                }
                (classes, classes)
            }
        };
        let embedding = match (&spec.head, spec.output.kind, &spec.output.embedding) {
            (Some(_), _, _) => Some(EmbeddingOutput::Scored),
            // Its scores are the features already.
            (None, OutputKind::Features, _) => None,
            (None, _, Some(name)) => {
                let outlet = session
                    .outputs()
                    .iter()
                    .find(|o| o.name() == name)
                    .ok_or_else(|| {
                        mismatch(format!(
                            "it has no embedding output named {name:?} (it has: {})",
                            names(session.outputs())
                        ))
                    })?;
                let dims: Vec<i64> = match outlet.dtype() {
                    ValueType::Tensor { shape, .. } => shape.to_vec(),
                    _ => Vec::new(),
                };
                match dims.as_slice() {
                    [_, width] if *width > 0 => Some(EmbeddingOutput::Named {
                        name: name.clone(),
                        width: *width as usize,
                    }),
                    _ => {
                        return Err(mismatch(format!(
                            "embedding output {name:?} has shape {dims:?}, not [batch, features]"
                        )));
                    }
                }
            }
            (None, _, None) => None,
        };
        Ok(Self {
            input_name: input.name().to_owned(),
            output_name: output.name().to_owned(),
            input_shape: expected.map(|d| d as usize),
            classes,
            row_width,
            head: spec.head.clone(),
            embedding,
            views: spec.preprocess.views.len(),
            kind: spec.output.kind,
            execution,
            session: Mutex::new(session),
        })
    }

    pub fn execution(&self) -> Execution {
        self.execution
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Values in one image's feature vector, when the model has one.
    pub fn embedding_width(&self) -> Option<usize> {
        self.embedding.as_ref().map(|embedding| match embedding {
            EmbeddingOutput::Scored => self.row_width,
            EmbeddingOutput::Named { width, .. } => *width,
        })
    }

    /// Two runs on every batch size from `images` down to one, on blank
    /// images, the results thrown away. ONNX Runtime plans a batch's
    /// memory as one block per input shape, from that shape's second run
    /// on, and its arena keeps what it once held: warmed up on one full
    /// batch only, a worker grew by 15 MiB in a step minutes later, when a
    /// backlog first brought full batches twice in a row (tests/chaos.rs).
    /// Run here, every shape the worker will give has its block planned and
    /// carved out at start, and the first real batch is not the slow one.
    pub fn warm_up(&self, images: usize) -> Result<(), ModelError> {
        let [a, b, c] = self.input_shape;
        let per_image = self.views * a * b * c;
        let blank = vec![0f32; images * per_image];
        for batch in (1..=images).rev() {
            for _ in 0..2 {
                self.infer(&blank[..batch * per_image], batch)?;
            }
        }
        Ok(())
    }

    /// `input` holds `images` images, each with all its views; returns
    /// `images × classes` probabilities, row per image.
    pub fn infer(&self, input: &[f32], images: usize) -> Result<Vec<f32>, ModelError> {
        self.run(input, images, false).map(|(scores, _)| scores)
    }

    /// [`Classifier::infer`], and `images × width` feature values (each
    /// image's views averaged) when the model has an embedding: the same
    /// run computes them, so keeping them costs a copy.
    pub fn infer_keeping_embeddings(
        &self,
        input: &[f32],
        images: usize,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), ModelError> {
        self.run(input, images, true)
    }

    fn run(
        &self,
        input: &[f32],
        images: usize,
        keep_embeddings: bool,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), ModelError> {
        if images == 0 {
            return Ok((Vec::new(), None));
        }
        let rows = images * self.views;
        let [a, b, c] = self.input_shape;
        assert_eq!(input.len(), rows * a * b * c, "input holds {images} images");
        let tensor = TensorRef::from_array_view(([rows, a, b, c], input))
            .map_err(|error| ModelError::Inference(error.to_string()))?;
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|error| ModelError::Inference(error.to_string()))?;
        let (shape, raw) = outputs[self.output_name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|error| ModelError::Inference(error.to_string()))?;
        if raw.len() != rows * self.row_width {
            return Err(ModelError::Inference(format!(
                "output has shape {:?}; expected [{rows}, {}]",
                &**shape, self.row_width
            )));
        }
        let embeddings = match (keep_embeddings, &self.embedding) {
            (true, Some(EmbeddingOutput::Scored)) => {
                Some(average_views(raw, images, self.row_width, self.views))
            }
            (true, Some(EmbeddingOutput::Named { name, width })) => {
                let (shape, features) = outputs[name.as_str()]
                    .try_extract_tensor::<f32>()
                    .map_err(|error| ModelError::Inference(error.to_string()))?;
                if features.len() != rows * width {
                    return Err(ModelError::Inference(format!(
                        "embedding output has shape {:?}; expected [{rows}, {width}]",
                        &**shape
                    )));
                }
                Some(average_views(features, images, *width, self.views))
            }
            _ => None,
        };
        Ok((self.postprocess(raw, images), embeddings))
    }

    fn postprocess(&self, raw: &[f32], images: usize) -> Vec<f32> {
        if self.kind == OutputKind::Features {
            return average_views(raw, images, self.row_width, self.views);
        }
        let mut merged = vec![f32::NEG_INFINITY; images * self.classes];
        let mut row_buffer = vec![0f32; self.classes];
        for (row_index, row) in raw.chunks_exact(self.row_width).enumerate() {
            match &self.head {
                Some(head) => head.logits(row, &mut row_buffer),
                None => row_buffer.copy_from_slice(row),
            }
            match self.kind {
                OutputKind::Logits => softmax(&mut row_buffer),
                OutputKind::Sigmoid => row_buffer
                    .iter_mut()
                    .for_each(|x| *x = 1.0 / (1.0 + (-*x).exp())),
                OutputKind::Probabilities | OutputKind::Features => {}
            }
            let image = row_index / self.views;
            let target = &mut merged[image * self.classes..(image + 1) * self.classes];
            for (slot, value) in target.iter_mut().zip(&row_buffer) {
                *slot = slot.max(*value);
            }
        }
        merged
    }
}

/// A feature vector per image from `width`-wide rows, `views` rows per
/// image: the mean of its views' vectors (a max per feature would mix views
/// into a vector no view has).
fn average_views(raw: &[f32], images: usize, width: usize, views: usize) -> Vec<f32> {
    let mut merged = vec![0f32; images * width];
    for (row_index, row) in raw.chunks_exact(width).enumerate() {
        let image = row_index / views;
        let target = &mut merged[image * width..(image + 1) * width];
        for (slot, value) in target.iter_mut().zip(row) {
            *slot += value / views as f32;
        }
    }
    merged
}

pub(crate) fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for value in values.iter_mut() {
        *value = (*value - max).exp();
        sum += *value;
    }
    for value in values.iter_mut() {
        *value /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let mut values = [1000.0, 1001.0, 1002.0];
        softmax(&mut values);
        assert!((values.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(values[2] > values[1] && values[1] > values[0]);
    }
}
