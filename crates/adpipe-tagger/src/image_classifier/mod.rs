//! The image classifier (`kind = "image_classifier"`, the kind of a
//! model.toml that names none): an image in, a probability per label out.
//! Its fields are in [`spec`]; the session is a [`crate::Classifier`] fed
//! by a [`crate::Preprocessor`], together a [`crate::Model`] that the
//! [`crate::Tagger`] batches.

pub mod spec;

pub use spec::{InputSpec, ModelSpec, OutputKind, OutputSpec, PreprocessSpec, View};

use crate::kind::{KindSpec, ModelKind};
use crate::model_toml::ModelToml;
use crate::spec::SpecError;
use crate::tagger::{LoadError, Model, TaggerConfig};

impl KindSpec for ModelSpec {
    const KIND: ModelKind = ModelKind::ImageClassifier;
    type Loaded = Model;

    fn from_toml(file: &ModelToml) -> Result<Self, SpecError> {
        ModelSpec::from_file(file)
    }

    fn load(self, config: &TaggerConfig) -> Result<Model, LoadError> {
        Model::load(self, config)
    }
}
