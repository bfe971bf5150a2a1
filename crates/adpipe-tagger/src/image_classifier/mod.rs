//! The image classifier (`kind = "image_classifier"`, the kind of a
//! model.toml that names none): an image in, a probability per label out.
//! Its fields are in [`spec`], the data that the session and the
//! preprocessing read; this module reads a file as this kind and loads it.
//! The session is a [`crate::Classifier`] fed by a [`crate::Preprocessor`],
//! together a [`crate::Model`] that the [`crate::Tagger`] batches. A
//! trained head ([`crate::image_head`]) reads as this kind too: its
//! backbone's spec with the head applied to the embedding output.

pub mod spec;

use std::path::Path;

pub use spec::{InputSpec, ModelSpec, OutputKind, OutputSpec, PreprocessSpec, View};

use crate::kind::spec::{KindSpec, ModelKind};
use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::spec::SpecError;
use crate::tagger::Model;

impl ModelSpec {
    /// Reads an image classifier's model.toml; a file of another kind is
    /// an error that says so.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        crate::kind::spec::read(path.as_ref())
    }

    /// `path` is where the text came from: relative `file` and `labels`
    /// are resolved against its folder.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SpecError> {
        crate::kind::spec::parse(text, path)
    }
}

impl KindSpec for ModelSpec {
    const KIND: ModelKind = ModelKind::ImageClassifier;
    type Loaded = Model;

    fn from_toml(file: &ModelToml) -> Result<Self, SpecError> {
        match file.kind() {
            ModelKind::ImageHead => crate::image_head::spec(file),
            _ => ModelSpec::from_file(file),
        }
    }

    fn accepts(kind: ModelKind) -> bool {
        crate::image_head::reads_as_image_classifier(kind)
    }

    fn load(self, config: &TaggerConfig) -> Result<Model, LoadError> {
        Model::load(self, config)
    }
}
