//! What loading a model takes and what can go wrong, for every kind: the
//! settings each kind's loader is given ([`TaggerConfig`]) and its error
//! ([`LoadError`]).

use crate::classifier::{ModelError, SessionConfig};
use crate::runtime::{RuntimeError, RuntimeOptions};
use crate::spec::SpecError;
use adpipe_image::DecodeLimits;

/// How to load and run the models.
#[derive(Debug, Clone)]
pub struct TaggerConfig {
    pub runtime: RuntimeOptions,
    pub session: SessionConfig,
    /// Threads that decode and resize while the model runs.
    pub preprocess_threads: usize,
    pub limits: DecodeLimits,
}

impl Default for TaggerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            runtime: RuntimeOptions::default(),
            session: SessionConfig::default(),
            preprocess_threads: cores,
            limits: DecodeLimits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Model(#[from] ModelError),
}
