//! Gates: a second classifier's veto (or doubt) over any policy.

use serde::{Deserialize, Serialize};

use super::{Band, Decision, PolicyError, Verdict, percent};
use crate::ad::Status;
use crate::tags::Labels;

/// A veto from a second classifier, e.g. "reject when open_nsfw says `nsfw`
/// with at least 0.8". Written in its own TOML file so it composes with any
/// policy.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub name: String,
    /// The model.toml of the classifier that feeds this gate, relative to
    /// the gate's own file.
    pub model: String,
    pub label: String,
    /// At or above: the ad is rejected.
    pub threshold: f32,
    /// At or above (and below `threshold`): a person decides an ad the
    /// policy would approve. Defaults to `threshold` (no band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_at: Option<f32>,
    pub reason: String,
}

impl Gate {
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, PolicyError> {
        let gate: Gate = toml::from_str(text).map_err(|error| PolicyError::Syntax {
            source_name: source_name.to_owned(),
            message: error.to_string(),
        })?;
        if !(0.0..=1.0).contains(&gate.threshold) {
            return Err(PolicyError::Invalid {
                source_name: source_name.to_owned(),
                message: format!("threshold must be between 0 and 1, not {}", gate.threshold),
            });
        }
        if let Some(review_at) = gate.review_at
            && !(0.0..=gate.threshold).contains(&review_at)
        {
            return Err(PolicyError::Invalid {
                source_name: source_name.to_owned(),
                message: format!(
                    "review_at must be between 0 and the threshold ({}), not {review_at}",
                    gate.threshold
                ),
            });
        }
        Ok(gate)
    }

    pub fn bind(&self, labels: &Labels, model_name: &str) -> Result<BoundGate, PolicyError> {
        let indices: Vec<usize> = labels.indices_of(&self.label).collect();
        if indices.is_empty() {
            return Err(PolicyError::UnknownLabels {
                policy: self.name.clone(),
                model: model_name.to_owned(),
                unknown: vec![format!("{:?}", self.label)],
            });
        }
        Ok(BoundGate {
            gate: self.clone(),
            indices,
        })
    }
}

#[derive(Debug, Clone)]
pub struct BoundGate {
    gate: Gate,
    indices: Vec<usize>,
}

impl BoundGate {
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    pub fn score(&self, probabilities: &[f32]) -> f32 {
        self.indices
            .iter()
            .filter_map(|&index| probabilities.get(index))
            .sum::<f32>()
            .min(1.0)
    }

    /// Its band, the other way round: "approve" here means the gate's
    /// label is surely present, i.e. the ad is rejected.
    fn band(&self) -> Band {
        Band {
            approve_at: self.gate.threshold,
            review_at: self.gate.review_at.unwrap_or(self.gate.threshold),
        }
    }

    fn reason(&self, score: f32) -> String {
        format!(
            "{} ({} check: {}, limit {}).",
            self.gate.reason.trim_end_matches('.'),
            self.gate.name,
            percent(score),
            percent(self.gate.threshold)
        )
    }

    /// The rejection this gate imposes on the image, if any.
    pub fn veto(&self, probabilities: &[f32]) -> Option<Decision> {
        let score = self.score(probabilities);
        (self.band().verdict(score) == Verdict::Approve).then(|| Decision {
            status: Status::Rejected,
            category: None,
            score,
            reason: Some(self.reason(score)),
            suggestion: None,
            text: None,
            text_in_image: Vec::new(),
        })
    }

    /// Sends `decision` to a person when this gate is unsure about the
    /// image (its score in the gate's review band) and the ad would
    /// otherwise be published. A rejection stands as it is.
    pub(super) fn doubt(&self, probabilities: &[f32], decision: Decision) -> Decision {
        let score = self.score(probabilities);
        if self.band().verdict(score) != Verdict::Review || decision.status == Status::Rejected {
            return decision;
        }
        Decision {
            status: Status::InReview,
            reason: Some(format!("Unsure: {}", self.reason(score))),
            suggestion: Some(Status::Rejected),
            ..decision
        }
    }
}
