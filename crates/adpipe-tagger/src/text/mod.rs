//! Reads an ad's text with a local sentence-embedding model: the text is
//! tokenized by the model's own `tokenizer.json`, run through its ONNX
//! graph, and the per-token output is pooled into one unit vector, so two
//! texts (or a text and a policy's description of a category) compare by a
//! dot product. Described by a `model.toml` with `kind = "text_embedder"`
//! ([`spec`]), so the model can be swapped like the image classifiers.

pub mod spec;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;

use ort::session::{Session, SessionInputValue};
use ort::value::TensorRef;
use tokenizers::{Tokenizer, TruncationParams};

pub use spec::{Pooling, TextModelSpec};

use crate::classifier::{Execution, ModelError, SessionConfig, cpu_session};
use crate::kind::spec::{KindSpec, ModelKind};
use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::runtime::{self, RuntimeOptions};
use crate::spec::{Device, SpecError};

impl TextModelSpec {
    /// Reads a text embedder's model.toml; a file of another kind is an
    /// error that says so.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        crate::kind::spec::read(path)
    }

    /// `path` is where the text came from: names in it are relative to its
    /// folder.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SpecError> {
        crate::kind::spec::parse(text, path)
    }
}

impl KindSpec for TextModelSpec {
    const KIND: ModelKind = ModelKind::TextEmbedder;
    type Loaded = TextEmbedder;

    fn from_toml(file: &ModelToml) -> Result<Self, SpecError> {
        TextModelSpec::from_file(file)
    }

    fn load(self, config: &TaggerConfig) -> Result<TextEmbedder, LoadError> {
        TextEmbedder::from_spec(self, &config.runtime, &config.session)
    }
}

/// A loaded text model: tokenizer and ONNX Runtime session.
pub struct TextEmbedder {
    spec: TextModelSpec,
    tokenizer: Tokenizer,
    // `Session::run` takes `&mut self`.
    session: Mutex<Session>,
}

impl std::fmt::Debug for TextEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEmbedder")
            .field("model", &self.spec.name)
            .field("dimensions", &self.spec.output.dimensions)
            .finish()
    }
}

impl TextEmbedder {
    /// Loads `model.toml`, its tokenizer and its graph, and checks that the
    /// graph has the inputs and output the description names.
    pub fn load(
        path: &Path,
        runtime_options: &RuntimeOptions,
        config: &SessionConfig,
    ) -> Result<Self, LoadError> {
        Self::from_spec(TextModelSpec::load(path)?, runtime_options, config)
    }

    /// Loads the tokenizer and graph `spec` describes.
    pub fn from_spec(
        spec: TextModelSpec,
        runtime_options: &RuntimeOptions,
        config: &SessionConfig,
    ) -> Result<Self, LoadError> {
        let model_error = |message: String| ModelError::Load {
            path: spec.model_path.display().to_string(),
            message,
        };
        let mut tokenizer = Tokenizer::from_file(&spec.tokenizer_path).map_err(|error| {
            model_error(format!(
                "cannot read its tokenizer {}: {error}",
                spec.tokenizer_path.display()
            ))
        })?;
        // The file's own truncation and padding are those of whoever saved
        // it (all-MiniLM-L6-v2's pads every text to 128 tokens); the model's
        // description decides: cut at max_tokens, never pad a lone text.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.input.max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|error| model_error(format!("cannot set its truncation: {error}")))?;
        tokenizer.with_padding(None);
        if !spec.model_path.is_file() {
            return Err(model_error("no such file".into()).into());
        }
        if config.device.unwrap_or(spec.device) == Device::Cuda {
            // Sentence vectors are cheap next to images; one CPU code path
            // keeps them identical on every machine.
            tracing::warn!(model = %spec.name, "the text model runs on the CPU");
        }
        let runtime = runtime::runtime(runtime_options)?;
        let session = cpu_session(&runtime, config, &spec.model_path)
            .map_err(|error| model_error(error.to_string()))?;
        check_graph(&spec, &session)?;
        tracing::info!(
            model = %spec.name,
            execution = Execution::Cpu.as_str(),
            dimensions = spec.output.dimensions,
            "text model loaded"
        );
        Ok(Self {
            spec,
            tokenizer,
            session: Mutex::new(session),
        })
    }

    pub fn spec(&self) -> &TextModelSpec {
        &self.spec
    }

    pub fn dimensions(&self) -> usize {
        self.spec.output.dimensions
    }

    /// The token ids the model reads for `text` ([CLS] … [SEP], truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|error| ModelError::Inference(format!("cannot tokenize: {error}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One run on the longest input the model reads (`max_tokens`), its
    /// vector thrown away: ONNX Runtime's arena then holds what any ad's
    /// text needs, from the start ([`crate::Classifier::warm_up`]).
    pub fn warm_up(&self) -> Result<(), ModelError> {
        let longest = "word ".repeat(self.spec.input.max_tokens);
        self.embed(&longest).map(drop)
    }

    /// One vector per text, in order. Each text runs alone: a dynamically
    /// quantized model scales its activations over the whole input tensor,
    /// so a batch would make a text's vector (and a borderline decision)
    /// depend on which other ads it happened to be batched with.
    pub fn embed_all(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        texts.iter().map(|text| self.embed(text)).collect()
    }

    /// The text's vector: pooled as the description says, unit length when
    /// it asks for normalisation.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        let ids: Vec<i64> = self.token_ids(text)?.into_iter().map(i64::from).collect();
        let tokens = ids.len();
        let mask = vec![1i64; tokens];
        let zeros = vec![0i64; tokens];
        let input = &self.spec.input;
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (Cow::from(input.input_ids.as_str()), token_tensor(&ids)?),
            (
                Cow::from(input.attention_mask.as_str()),
                token_tensor(&mask)?,
            ),
        ];
        if let Some(name) = &input.token_type_ids {
            inputs.push((Cow::from(name.as_str()), token_tensor(&zeros)?));
        }
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session
            .run(inputs)
            .map_err(|error| ModelError::Inference(error.to_string()))?;
        let (shape, hidden) = outputs[self.spec.output.name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|error| ModelError::Inference(error.to_string()))?;
        let dimensions = self.spec.output.dimensions;
        if hidden.len() != tokens * dimensions {
            return Err(ModelError::Inference(format!(
                "output has shape {:?}; expected [1, {tokens}, {dimensions}]",
                &**shape
            )));
        }
        let mut vector = pool(hidden, dimensions, self.spec.output.pooling);
        if self.spec.output.normalize {
            normalize(&mut vector);
        }
        Ok(vector)
    }
}

/// One text's int64 [1, tokens] input.
fn token_tensor(values: &[i64]) -> Result<SessionInputValue<'_>, ModelError> {
    TensorRef::from_array_view(([1usize, values.len()], values))
        .map(SessionInputValue::from)
        .map_err(|error| ModelError::Inference(error.to_string()))
}

/// Pools one text's `tokens × dimensions` output (every token real: a lone
/// text has no padding) into one vector.
fn pool(hidden: &[f32], dimensions: usize, pooling: Pooling) -> Vec<f32> {
    match pooling {
        Pooling::Cls => hidden[..dimensions].to_vec(),
        Pooling::Mean => {
            let mut sum = vec![0f32; dimensions];
            let mut tokens = 0usize;
            for token in hidden.chunks_exact(dimensions) {
                sum.iter_mut().zip(token).for_each(|(s, v)| *s += v);
                tokens += 1;
            }
            let count = tokens.max(1) as f32;
            sum.iter_mut().for_each(|s| *s /= count);
            sum
        }
    }
}

/// Unit length (a zero vector stays zero), as sentence-transformers'
/// Normalize module does.
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    vector.iter_mut().for_each(|v| *v /= norm);
}

/// The dot product: cosine similarity of unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_graph(spec: &TextModelSpec, session: &Session) -> Result<(), ModelError> {
    let mismatch = |message: String| ModelError::Mismatch {
        model: spec.model_path.display().to_string(),
        source_file: spec.source.display().to_string(),
        message,
    };
    let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
    let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    let input = &spec.input;
    let named = [
        Some(&input.input_ids),
        Some(&input.attention_mask),
        input.token_type_ids.as_ref(),
    ];
    for name in named.into_iter().flatten() {
        if !inputs.contains(&name.as_str()) {
            return Err(mismatch(format!(
                "it has no input named {name:?} (it has: {})",
                inputs.join(", ")
            )));
        }
    }
    if let Some(extra) = inputs.iter().find(|name| {
        !named
            .into_iter()
            .flatten()
            .any(|wanted| wanted.as_str() == **name)
    }) {
        return Err(mismatch(format!(
            "its input {extra:?} is not described (name it in [input], e.g. token_type_ids)"
        )));
    }
    if !outputs.contains(&spec.output.name.as_str()) {
        return Err(mismatch(format!(
            "it has no output named {:?} (it has: {})",
            spec.output.name,
            outputs.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_averages_tokens_and_normalising_gives_unit_length() {
        let hidden = [1.0, 0.0, 3.0, 4.0];
        let mut pooled = pool(&hidden, 2, Pooling::Mean);
        assert_eq!(pooled, vec![2.0, 2.0]);
        normalize(&mut pooled);
        assert!((cosine(&pooled, &pooled) - 1.0).abs() < 1e-6);
        assert_eq!(pool(&hidden, 2, Pooling::Cls), vec![1.0, 0.0]);
    }
}
