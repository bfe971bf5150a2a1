//! The kinds of model adpipe knows, and which of them a policy needs.
//!
//! A `model.toml` says what it describes with `kind`; without one it is an
//! image classifier, as every model.toml was before kinds existed. The
//! kinds live here, beside the policies, because a policy says which models
//! it needs ([`crate::Policy::required_models`]); loading them is the
//! tagger's job (`adpipe_tagger::kind`, a module per kind).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a `model.toml` describes (its `kind`, snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum ModelKind {
    /// An image in, a probability per label out (`labels.txt`). The kind of
    /// a model.toml that names none.
    #[default]
    ImageClassifier,
    /// A text in, one vector out (`tokenizer.json`, pooling).
    TextEmbedder,
    /// An image in, a per-pixel text probability map out (boxes of text).
    OcrDetector,
    /// A crop of one line of text in, its characters out (`dictionary`).
    OcrRecognizer,
    /// A classifier head trained here (`adpipe train`) on an image
    /// classifier's feature vector (its `backbone`): an image in, a
    /// probability per category out. Accepted wherever an image classifier is.
    ImageHead,
}

/// A `kind` that is none of [`ModelKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "kind = {found:?} is not a kind of model adpipe knows; the known kinds are {}",
    ModelKind::known_names()
)]
pub struct UnknownModelKind {
    pub found: String,
}

impl ModelKind {
    /// Every kind, in the order the known kinds are listed in errors.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::ImageClassifier,
        ModelKind::TextEmbedder,
        ModelKind::OcrDetector,
        ModelKind::OcrRecognizer,
        ModelKind::ImageHead,
    ];

    /// Every kind's name, for errors: "image_classifier, text_embedder, …".
    pub fn known_names() -> String {
        ModelKind::ALL.map(ModelKind::as_str).join(", ")
    }

    /// Its name in a model.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::ImageClassifier => "image_classifier",
            ModelKind::TextEmbedder => "text_embedder",
            ModelKind::OcrDetector => "ocr_detector",
            ModelKind::OcrRecognizer => "ocr_recognizer",
            ModelKind::ImageHead => "image_head",
        }
    }

    /// In a sentence: "an image classifier".
    pub fn describe(self) -> &'static str {
        match self {
            ModelKind::ImageClassifier => "an image classifier",
            ModelKind::TextEmbedder => "a text embedder",
            ModelKind::OcrDetector => "an OCR text detector",
            ModelKind::OcrRecognizer => "an OCR text recogniser",
            ModelKind::ImageHead => "a trained classifier head",
        }
    }

    /// Older spellings that keep working: the text model's model.toml said
    /// `kind = "text-embedding"` before there were other kinds.
    fn alias(name: &str) -> Option<Self> {
        match name {
            "text-embedding" => Some(ModelKind::TextEmbedder),
            _ => None,
        }
    }
}

impl FromStr for ModelKind {
    type Err = UnknownModelKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .or_else(|| ModelKind::alias(name))
            .ok_or_else(|| UnknownModelKind {
                found: name.to_owned(),
            })
    }
}

impl TryFrom<String> for ModelKind {
    type Error = UnknownModelKind;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl From<ModelKind> for &'static str {
    fn from(kind: ModelKind) -> Self {
        kind.as_str()
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model that a policy (or a gate) needs loaded, and where its
/// model.toml is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredModel {
    pub kind: ModelKind,
    pub source: ModelSource,
}

/// Where a required model's model.toml comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The deployment's model (`--model`, `ADPIPE_MODEL`): the one whose
    /// labels the policy's categories name.
    Configured,
    /// A model.toml named in the policy's (or gate's) own file, relative to
    /// that file; `role` says where, in a sentence ("the policy's `[text]`
    /// model").
    Named { role: String, path: String },
}

impl RequiredModel {
    /// The model in a sentence, for errors: "the model (--model,
    /// ADPIPE_MODEL)", "the policy's `[text]` model".
    pub fn role(&self) -> String {
        match &self.source {
            ModelSource::Configured => "the model (--model, ADPIPE_MODEL)".to_owned(),
            ModelSource::Named { role, .. } => role.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        #[serde(default)]
        kind: ModelKind,
    }

    fn kind_of(toml: &str) -> Result<ModelKind, String> {
        toml::from_str::<File>(toml)
            .map(|file| file.kind)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_file_without_a_kind_is_an_image_classifier() {
        assert_eq!(kind_of(""), Ok(ModelKind::ImageClassifier));
    }

    #[test]
    fn every_kind_parses_by_its_snake_case_name_and_prints_it_back() {
        for kind in ModelKind::ALL {
            assert_eq!(kind_of(&format!("kind = {:?}", kind.as_str())), Ok(kind));
            assert_eq!(kind.as_str().parse::<ModelKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            assert!(
                kind.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
        assert_eq!(kind_of("kind = 'ocr_detector'"), Ok(ModelKind::OcrDetector));
    }

    #[test]
    fn the_text_models_older_spelling_still_reads() {
        assert_eq!(
            kind_of("kind = 'text-embedding'"),
            Ok(ModelKind::TextEmbedder)
        );
    }

    #[test]
    fn an_unknown_kind_names_itself_and_the_known_kinds() {
        let error = kind_of("kind = 'image-classifier'").unwrap_err();
        assert!(error.contains("\"image-classifier\""), "{error}");
        assert!(
            error.contains(
                "image_classifier, text_embedder, ocr_detector, ocr_recognizer, image_head"
            ),
            "{error}"
        );
        assert!("OCR_DETECTOR".parse::<ModelKind>().is_err());
    }

    #[test]
    fn a_required_model_says_which_slot_it_fills() {
        let configured = RequiredModel {
            kind: ModelKind::ImageClassifier,
            source: ModelSource::Configured,
        };
        assert!(configured.role().contains("ADPIPE_MODEL"));
        let text = RequiredModel {
            kind: ModelKind::TextEmbedder,
            source: ModelSource::Named {
                role: "the policy's [text] model".into(),
                path: "../minilm-l6/model.toml".into(),
            },
        };
        assert_eq!(text.role(), "the policy's [text] model");
    }
}
