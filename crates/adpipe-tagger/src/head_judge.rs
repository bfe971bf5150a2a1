//! A trained head judged on kept embeddings, with no photo decoded and no
//! backbone run: how `adpipe models promote` measures a candidate on the
//! ads people decided, and how a shadow candidate runs beside the live
//! model at the cost of its head alone (the live model's run already made
//! the embedding).

use std::path::Path;

use adpipe_core::{BoundPolicy, Decision, Policy};

use crate::image_classifier::ModelSpec;
use crate::spec::SpecError;

#[derive(Debug, thiserror::Error)]
pub enum HeadJudgeError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cannot read the policy {path}: {source}")]
    Policy {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Bind(#[from] adpipe_core::PolicyError),
}

/// A head and the policy that judges its probabilities.
#[derive(Debug)]
pub struct HeadJudge {
    spec: ModelSpec,
    policy: BoundPolicy,
}

impl HeadJudge {
    /// The head at `model_toml` judged by `policy`; `None` when the model
    /// is not a head (it cannot run on an embedding alone).
    pub fn load(model_toml: &Path, policy: &Path) -> Result<Option<Self>, HeadJudgeError> {
        let spec = ModelSpec::load(model_toml)?;
        if spec.head.is_none() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(policy).map_err(|source| HeadJudgeError::Policy {
            path: policy.display().to_string(),
            source,
        })?;
        let policy = Policy::from_toml(&text, &policy.display().to_string())?
            .bind(&spec.labels, &spec.name)?;
        Ok(Some(Self { spec, policy }))
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The model whose embeddings it reads (its backbone's name).
    pub fn embedding_model(&self) -> &str {
        self.spec.embedding_model()
    }

    /// What it decides for one embedding of its backbone (`None` for a
    /// vector of another length).
    pub fn decide(&self, vector: &[f32]) -> Option<Decision> {
        let head = self.spec.head.as_ref()?;
        if vector.len() != head.features {
            return None;
        }
        let mut probabilities = vec![0.0; head.classes()];
        head.logits(vector, &mut probabilities);
        crate::classifier::softmax(&mut probabilities);
        Some(self.policy.decide(&probabilities, None))
    }
}
