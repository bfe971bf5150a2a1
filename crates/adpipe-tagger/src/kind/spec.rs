//! What a kind's module implements ([`KindSpec`]), and the one way a
//! `model.toml` is read as a given kind: [`read`], [`parse`], and
//! [`load_for`], which reads and loads. The kinds' modules import this;
//! it imports none of them ([`crate::kind::check`] is the one match over
//! every kind).

use std::path::Path;

pub use adpipe_core::ModelKind;

use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::spec::SpecError;

/// A kind's `model.toml`, parsed and checked: what the kind's module
/// implements.
pub trait KindSpec: Sized {
    /// The `kind` its files name.
    const KIND: ModelKind;
    /// The model, loaded and ready to run.
    type Loaded;

    /// The kind's fields of `file` (whose kind is [`KindSpec::KIND`]),
    /// checked, with the paths they name resolved.
    fn from_toml(file: &ModelToml) -> Result<Self, SpecError>;

    /// Loads the model: its ONNX session, checked against the description,
    /// and whatever else it reads (labels, tokenizer).
    fn load(self, config: &TaggerConfig) -> Result<Self::Loaded, LoadError>;

    /// Whether a file of `kind` reads as this kind: its own, or (for the
    /// image classifier) a kind that stands in for it.
    fn accepts(kind: ModelKind) -> bool {
        kind == Self::KIND
    }
}

/// What a load that is not for a named slot calls the model in errors.
const ANY_SLOT: &str = "the model loaded here";

/// Reads the model.toml at `path` as kind `S`; a file of another kind is
/// an error that names both kinds.
pub fn read<S: KindSpec>(path: &Path) -> Result<S, SpecError> {
    read_for(path, ANY_SLOT)
}

/// [`read`] for a slot (`role`, in a sentence: "the policy's `[text]`
/// model"), which an error about the kind names.
pub fn read_for<S: KindSpec>(path: &Path, role: &str) -> Result<S, SpecError> {
    as_kind(&ModelToml::read(path)?, role)
}

/// [`read`] of text that came from `path`.
pub fn parse<S: KindSpec>(text: &str, path: &Path) -> Result<S, SpecError> {
    as_kind(&ModelToml::parse(text, path)?, ANY_SLOT)
}

/// Reads the model.toml at `path` as kind `S` and loads the model, for the
/// slot `role` names.
pub fn load_for<S: KindSpec>(
    path: &Path,
    role: &str,
    config: &TaggerConfig,
) -> Result<S::Loaded, LoadError> {
    read_for::<S>(path, role)?.load(config)
}

fn as_kind<S: KindSpec>(file: &ModelToml, role: &str) -> Result<S, SpecError> {
    if !S::accepts(file.kind()) {
        file.expect(S::KIND, role)?;
    }
    S::from_toml(file)
}
