//! Kinds of model, one module each, behind one enum ([`ModelKind`]): a
//! `model.toml` names its kind (the image classifier when it names none),
//! and the kind's module says what else the file holds, checks it, and
//! loads the model ([`KindSpec`]).
//!
//! | kind | module | spec | loaded |
//! | --- | --- | --- | --- |
//! | `image_classifier` | [`crate::image_classifier`] | [`crate::ModelSpec`] | [`crate::Model`] |
//! | `text_embedder` | [`crate::text`] | [`crate::TextModelSpec`] | [`crate::TextEmbedder`] |
//! | `ocr_detector` | [`crate::ocr::detector`] | [`crate::ocr::DetectorSpec`] | [`crate::ocr::OcrModel`] |
//! | `ocr_recognizer` | [`crate::ocr::recognizer`] | [`crate::ocr::RecognizerSpec`] | [`crate::ocr::OcrModel`] |
//! | `image_head` | [`crate::image_head`] | [`crate::ModelSpec`] (its backbone's, the head applied) | [`crate::Model`] |
//!
//! A new kind is its module (its spec type implementing [`KindSpec`]), its
//! variant of [`ModelKind`] (in adpipe-core, beside the policies that ask
//! for it) and its arm in [`check`]. A policy that needs it says so in
//! `Policy::required_models`, and the moderator's arm for it says what its
//! output feeds.
//!
//! The trait, and the reading of a file as a kind, are in [`spec`], which
//! the kinds' modules import; this module imports them, for the one match
//! over every kind ([`check`]).

pub mod spec;

use std::path::Path;

pub use spec::{KindSpec, ModelKind, load_for, parse, read, read_for};

use crate::image_classifier::ModelSpec;
use crate::model_toml::ModelToml;
use crate::ocr::{DetectorSpec, RecognizerSpec};
use crate::spec::SpecError;
use crate::text::TextModelSpec;

/// Reads any model.toml and checks it as its kind says, loading nothing:
/// its kind, or what is wrong with it.
pub fn check(path: &Path) -> Result<ModelKind, SpecError> {
    let file = ModelToml::read(path)?;
    match file.kind() {
        ModelKind::ImageClassifier | ModelKind::ImageHead => ModelSpec::from_toml(&file).map(drop),
        ModelKind::TextEmbedder => TextModelSpec::from_toml(&file).map(drop),
        ModelKind::OcrDetector => DetectorSpec::from_toml(&file).map(drop),
        ModelKind::OcrRecognizer => RecognizerSpec::from_toml(&file).map(drop),
    }?;
    Ok(file.kind())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    fn models() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
    }

    #[test]
    fn every_shipped_model_toml_reads_as_its_kind() {
        let expected = BTreeMap::from([
            ("efficientnet-lite0", ModelKind::ImageClassifier),
            ("efficientnet-lite0-int8", ModelKind::ImageClassifier),
            ("open-nsfw", ModelKind::ImageClassifier),
            ("minilm-l6", ModelKind::TextEmbedder),
            ("minilm-l6-static", ModelKind::TextEmbedder),
            ("ppocr-det", ModelKind::OcrDetector),
            ("ppocr-rec", ModelKind::OcrRecognizer),
            ("tools-head", ModelKind::ImageHead),
        ]);
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(models()).expect("models/") {
            let path = entry.expect("entry").path().join("model.toml");
            if !path.is_file() {
                continue;
            }
            let name = path.parent().unwrap().file_name().unwrap();
            let name = name.to_string_lossy().into_owned();
            let kind = check(&path).unwrap_or_else(|error| panic!("{error}"));
            found.insert(name, kind);
        }
        let found: BTreeMap<&str, ModelKind> = found
            .iter()
            .map(|(name, kind)| (name.as_str(), *kind))
            .collect();
        // A new model folder is listed above with its kind.
        assert_eq!(found, expected);
    }

    #[test]
    fn a_model_toml_read_as_another_kind_names_the_slot_and_both_kinds() {
        let text_model = models().join("minilm-l6/model.toml");
        let error = read_for::<ModelSpec>(&text_model, "the model (--model, ADPIPE_MODEL)")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("minilm-l6/model.toml describes a text embedder"),
            "{error}"
        );
        assert!(
            error.contains("the model (--model, ADPIPE_MODEL) must be an image classifier"),
            "{error}"
        );
        let image_model = models().join("efficientnet-lite0/model.toml");
        let error = read_for::<TextModelSpec>(&image_model, "the policy's [text] model")
            .unwrap_err()
            .to_string();
        assert!(error.contains("describes an image classifier"), "{error}");
        assert!(error.contains("must be a text embedder"), "{error}");
        let error = read::<RecognizerSpec>(&models().join("ppocr-det/model.toml")).unwrap_err();
        assert!(error.to_string().contains("OCR text detector"), "{error}");
    }
}
