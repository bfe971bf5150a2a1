//! The one way a `model.toml` is read: the file, its TOML, its `kind` (the
//! image classifier when it names none), and then the kind's own fields,
//! deserialized without `kind` so that each kind's struct can still refuse
//! keys it does not know. Errors name the file, and TOML errors keep their
//! line and column.

use std::path::{Path, PathBuf};

use adpipe_core::UnknownModelKind;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, Deserializer};

use crate::spec::{ModelKind, SpecError};

/// A model.toml, read and its kind known.
#[derive(Debug, Clone)]
pub struct ModelToml {
    path: PathBuf,
    text: String,
    kind: ModelKind,
}

impl ModelToml {
    pub fn read(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(text, path)
    }

    /// `path` is where the text came from: names in it are relative to its
    /// folder, and errors name it.
    pub fn parse(text: impl Into<String>, path: &Path) -> Result<Self, SpecError> {
        let mut file = Self {
            path: path.to_owned(),
            text: text.into(),
            kind: ModelKind::default(),
        };
        let table = file.table()?;
        if let Some(kind) = table.get_ref().get("kind") {
            let Some(name) = kind.get_ref().as_str() else {
                return Err(file.invalid(format!(
                    "kind must be a string, one of {}",
                    ModelKind::known_names()
                )));
            };
            let kind: Result<ModelKind, UnknownModelKind> = name.parse();
            file.kind = kind.map_err(|error| file.invalid(error.to_string()))?;
        }
        Ok(file)
    }

    /// What the file describes.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The model.toml itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder that names in the file are relative to.
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// A path the file names, resolved against its folder.
    pub fn resolve(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.folder().join(relative)
    }

    /// The model's `name`, or else its folder's, or else `fallback`.
    pub fn name_or_folder(&self, name: Option<String>, fallback: &str) -> String {
        name.unwrap_or_else(|| {
            self.folder()
                .file_name()
                .map_or_else(|| fallback.into(), |name| name.to_string_lossy().into())
        })
    }

    /// The file's fields but `kind`, as the kind's own struct `T`.
    pub fn fields<T: DeserializeOwned>(&self) -> Result<T, SpecError> {
        let mut table = self.table()?;
        table.get_mut().remove("kind");
        T::deserialize(Deserializer::from(table)).map_err(|mut error| {
            error.set_input(Some(&self.text));
            self.syntax(error)
        })
    }

    /// An error about this file.
    pub fn invalid(&self, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Fails, naming both kinds and `role` (the slot the model is loaded
    /// for), unless the file describes `expected`.
    pub fn expect(&self, expected: ModelKind, role: &str) -> Result<(), SpecError> {
        if self.kind == expected {
            return Ok(());
        }
        Err(SpecError::WrongKind {
            path: self.path.clone(),
            found: self.kind,
            expected,
            role: role.to_owned(),
        })
    }

    fn table(&self) -> Result<toml::Spanned<DeTable<'_>>, SpecError> {
        DeTable::parse(&self.text).map_err(|mut error| {
            error.set_input(Some(&self.text));
            self.syntax(error)
        })
    }

    fn syntax(&self, error: toml::de::Error) -> SpecError {
        SpecError::Syntax {
            path: self.path.clone(),
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn parse(text: &str) -> Result<ModelToml, String> {
        ModelToml::parse(text, Path::new("models/m/model.toml")).map_err(|e| e.to_string())
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields {
        file: String,
    }

    #[test]
    fn no_kind_is_an_image_classifier_and_each_kind_reads_by_name() {
        assert_eq!(
            parse("file = 'm.onnx'").unwrap().kind(),
            ModelKind::ImageClassifier
        );
        for kind in ModelKind::ALL {
            let file = parse(&format!("kind = '{kind}'\nfile = 'm.onnx'")).unwrap();
            assert_eq!(file.kind(), kind);
        }
        assert_eq!(
            parse("kind = 'text-embedding'").unwrap().kind(),
            ModelKind::TextEmbedder
        );
    }

    #[test]
    fn an_unknown_kind_names_the_file_and_the_known_kinds() {
        let error = parse("kind = 'ocr'\nfile = 'm.onnx'").unwrap_err();
        assert!(error.starts_with("models/m/model.toml: "), "{error}");
        assert!(error.contains("\"ocr\""), "{error}");
        assert!(
            error.contains(
                "image_classifier, text_embedder, ocr_detector, ocr_recognizer, image_head"
            ),
            "{error}"
        );
        let error = parse("kind = 3").unwrap_err();
        assert!(error.contains("kind must be a string"), "{error}");
    }

    #[test]
    fn the_kinds_fields_are_read_without_kind_and_unknown_keys_still_refused() {
        let file = parse("kind = 'text_embedder'\nfile = 'm.onnx'").unwrap();
        assert_eq!(file.fields::<Fields>().unwrap().file, "m.onnx");
        let file = parse("file = 'm.onnx'\nfiel = 'typo'").unwrap();
        let error = file.fields::<Fields>().unwrap_err().to_string();
        assert!(error.contains("unknown field `fiel`"), "{error}");
        assert!(error.contains("line 2"), "{error}");
        let error = parse("file = ").unwrap_err();
        assert!(error.contains("not a valid model description"), "{error}");
    }

    #[test]
    fn names_are_relative_to_the_files_folder() {
        let file = parse("file = 'm.onnx'").unwrap();
        assert_eq!(file.resolve("m.onnx"), Path::new("models/m/m.onnx"));
        assert_eq!(file.name_or_folder(None, "model"), "m");
        assert_eq!(file.name_or_folder(Some("x".into()), "model"), "x");
        assert!(file.expect(ModelKind::ImageClassifier, "it").is_ok());
        let wrong = file.expect(ModelKind::TextEmbedder, "the policy's [text] model");
        assert!(matches!(wrong, Err(SpecError::WrongKind { .. })));
    }
}
