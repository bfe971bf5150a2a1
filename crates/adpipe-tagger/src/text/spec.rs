//! A text model's `model.toml` (`kind = "text_embedder"`; the older
//! `"text-embedding"` still reads): the ONNX graph, its tokenizer and how its
//! per-token output becomes one vector per text. See
//! `models/minilm-l6/model.toml` for every key with its reason.
//!
//! ```toml
//! name = "minilm-l6"
//! kind = "text_embedder"
//! file = "model.onnx"            # relative to this file
//! tokenizer = "tokenizer.json"   # Hugging Face tokenizers format
//! device = "cpu"
//!
//! [input]
//! max_tokens = 256               # [CLS] and [SEP] included; longer texts are cut
//! input_ids = "input_ids"
//! attention_mask = "attention_mask"
//! token_type_ids = "token_type_ids"   # optional: fed all zeros when present
//! pad_id = 0
//!
//! [output]
//! name = "last_hidden_state"     # float32 [batch, sequence, dimensions]
//! dimensions = 384
//! pooling = "mean"               # over the tokens the attention mask keeps
//! normalize = true               # unit length, so cosine is a dot product
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use crate::model_toml::ModelToml;
use crate::spec::{Device, SpecError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The average of the token vectors the attention mask keeps, as
    /// sentence-transformers does for this family of models.
    Mean,
    /// The first token's vector ([CLS]).
    Cls,
}

/// A parsed and checked text model description; paths are absolute (or
/// relative to the working directory), resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct TextModelSpec {
    pub name: String,
    pub model_path: PathBuf,
    pub tokenizer_path: PathBuf,
    pub device: Device,
    pub input: TextInput,
    pub output: TextOutput,
    /// The model.toml it came from, for error messages.
    pub source: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    pub max_tokens: usize,
    #[serde(default = "input_ids")]
    pub input_ids: String,
    #[serde(default = "attention_mask")]
    pub attention_mask: String,
    #[serde(default)]
    pub token_type_ids: Option<String>,
    #[serde(default)]
    pub pad_id: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextOutput {
    pub name: String,
    pub dimensions: usize,
    pub pooling: Pooling,
    #[serde(default = "yes")]
    pub normalize: bool,
}

fn input_ids() -> String {
    "input_ids".into()
}

fn attention_mask() -> String {
    "attention_mask".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextModelFile {
    name: Option<String>,
    file: PathBuf,
    tokenizer: PathBuf,
    #[serde(default)]
    device: Device,
    input: TextInput,
    output: TextOutput,
}

impl TextModelSpec {
    /// The text embedder's fields of `toml`, checked, with the paths they
    /// name resolved.
    pub(crate) fn from_file(toml: &ModelToml) -> Result<Self, SpecError> {
        let file: TextModelFile = toml.fields()?;
        if !(2..=8192).contains(&file.input.max_tokens) {
            return Err(toml.invalid(format!(
                "input.max_tokens must be between 2 and 8192, not {}",
                file.input.max_tokens
            )));
        }
        if file.output.dimensions == 0 {
            return Err(toml.invalid("output.dimensions must be at least 1"));
        }
        Ok(Self {
            name: toml.name_or_folder(file.name, "text-model"),
            model_path: toml.resolve(file.file),
            tokenizer_path: toml.resolve(file.tokenizer),
            device: file.device,
            input: file.input,
            output: file.output,
            source: toml.path().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SPEC: &str = r#"
        name = "minilm"
        kind = "text_embedder"
        file = "model.onnx"
        tokenizer = "tokenizer.json"
        [input]
        max_tokens = 256
        token_type_ids = "token_type_ids"
        [output]
        name = "last_hidden_state"
        dimensions = 384
        pooling = "mean"
    "#;

    #[test]
    fn paths_are_relative_to_the_description() {
        let spec = TextModelSpec::parse(SPEC, Path::new("/models/minilm/model.toml")).unwrap();
        assert_eq!(spec.model_path, Path::new("/models/minilm/model.onnx"));
        assert_eq!(
            spec.tokenizer_path,
            Path::new("/models/minilm/tokenizer.json")
        );
        assert_eq!(spec.input.input_ids, "input_ids");
        assert!(spec.output.normalize);
    }

    #[test]
    fn an_image_model_description_is_refused_with_a_reason() {
        let text = SPEC.replace("text_embedder", "image_classifier");
        let error = TextModelSpec::parse(&text, Path::new("m.toml")).unwrap_err();
        assert!(
            error.to_string().contains("must be a text embedder"),
            "{error}"
        );
        let unknown = SPEC.replace("text_embedder", "text-embedder");
        let error = TextModelSpec::parse(&unknown, Path::new("m.toml")).unwrap_err();
        assert!(error.to_string().contains("text_embedder"), "{error}");
    }

    #[test]
    fn the_older_kind_still_reads() {
        let text = SPEC.replace("text_embedder", "text-embedding");
        assert!(TextModelSpec::parse(&text, Path::new("m.toml")).is_ok());
    }

    #[test]
    fn the_committed_text_model_description_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/minilm-l6/model.toml");
        let spec = TextModelSpec::load(&path).unwrap();
        assert_eq!(spec.output.dimensions, 384);
        assert_eq!(spec.input.max_tokens, 256);
        assert_eq!(spec.output.pooling, Pooling::Mean);
    }
}
