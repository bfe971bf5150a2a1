//! Policies: data that turns a classifier's probabilities into a category and
//! a decision. A policy is written in TOML (see `models/policies/`), checked
//! against the label set of the model it will judge (`bind`), and then
//! applied to one probability vector at a time.
//!
//! A category's score is the sum of the probabilities of its labels; the
//! ad's category is the best-scoring one, and the ad is approved iff that
//! score reaches the policy's `min_score`. Gates (an NSFW classifier, say)
//! compose with any policy: a gate whose label reaches its threshold rejects
//! the ad whatever the policy says.

use serde::{Deserialize, Serialize};

use crate::ad::Status;
use crate::tags::Labels;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{source_name}: not a valid policy: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
    #[error(
        "policy `{policy}` names labels the model `{model}` does not have: {}. \
         Check the spelling against the model's labels file.",
        unknown.join(", ")
    )]
    UnknownLabels {
        policy: String,
        model: String,
        unknown: Vec<String>,
    },
}

/// A policy as written in its TOML file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An ad is approved iff its best category scores at least this (0..=1).
    pub min_score: f32,
    /// Said to the submitter, before the details, when no category is good
    /// enough; e.g. "We only publish ads for vehicles."
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    pub labels: Vec<String>,
}

impl Policy {
    /// `source_name` (usually the file path) is only used in error messages.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|error| PolicyError::Syntax {
            source_name: source_name.to_owned(),
            message: error.to_string(),
        })?;
        policy.validate(source_name)?;
        Ok(policy)
    }

    fn validate(&self, source_name: &str) -> Result<(), PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            source_name: source_name.to_owned(),
            message,
        };
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(invalid(format!(
                "min_score must be between 0 and 1, not {}",
                self.min_score
            )));
        }
        if self.categories.is_empty() {
            return Err(invalid("a policy needs at least one [[category]]".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for category in &self.categories {
            if category.name.trim().is_empty() {
                return Err(invalid("a category has an empty name".into()));
            }
            if !seen.insert(category.name.as_str()) {
                return Err(invalid(format!(
                    "category `{}` is defined twice",
                    category.name
                )));
            }
            if category.labels.is_empty() {
                return Err(invalid(format!(
                    "category `{}` lists no labels",
                    category.name
                )));
            }
        }
        Ok(())
    }

    /// Resolves every label name to its indices in `labels`. Fails, naming
    /// them, if any label is unknown to the model: a typo in a policy would
    /// otherwise silently never match.
    pub fn bind(&self, labels: &Labels, model_name: &str) -> Result<BoundPolicy, PolicyError> {
        let mut unknown = Vec::new();
        let categories = self
            .categories
            .iter()
            .map(|category| {
                let mut indices = Vec::new();
                for label in &category.labels {
                    let before = indices.len();
                    indices.extend(labels.indices_of(label));
                    if indices.len() == before {
                        unknown.push(format!("{:?}", label));
                    }
                }
                indices.sort_unstable();
                indices.dedup();
                (category.name.clone(), indices)
            })
            .collect();
        if !unknown.is_empty() {
            return Err(PolicyError::UnknownLabels {
                policy: self.name.clone(),
                model: model_name.to_owned(),
                unknown,
            });
        }
        Ok(BoundPolicy {
            policy: self.clone(),
            categories,
        })
    }
}

/// A policy whose labels are resolved against one model's label set.
#[derive(Debug, Clone)]
pub struct BoundPolicy {
    policy: Policy,
    categories: Vec<(String, Vec<usize>)>,
}

/// What was decided about one ad: made by a policy (or a gate), or by the
/// worker when the image cannot be processed, and recorded as it is. The
/// one decision type from the policy to the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `approved` or `rejected` from a policy; `failed` when the image
    /// could not be judged.
    pub status: Status,
    /// The ad's category; set only when approved.
    pub category: Option<String>,
    /// The best category's score (0..=1), whatever the outcome.
    pub score: f32,
    /// Why the ad was not approved, in words for the submitter.
    pub reason: Option<String>,
}

impl Decision {
    /// The ad could not be judged (its image is missing or does not
    /// decode); trying again would not help.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            category: None,
            score: 0.0,
            reason: Some(reason.into()),
        }
    }
}

/// Who made a decision: a model judged by a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedBy {
    pub model: String,
    pub policy: String,
}

impl BoundPolicy {
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn name(&self) -> &str {
        &self.policy.name
    }

    /// Every category with its score, best first (ties keep file order).
    pub fn category_scores(&self, probabilities: &[f32]) -> Vec<(&str, f32)> {
        let mut scores: Vec<(&str, f32)> = self
            .categories
            .iter()
            .map(|(name, indices)| {
                let score = indices
                    .iter()
                    .filter_map(|&index| probabilities.get(index))
                    .sum::<f32>()
                    .min(1.0);
                (name.as_str(), score)
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        scores
    }

    /// `top_label` (the model's most probable label and its probability) is
    /// only used to tell a rejected submitter what the image looked like.
    pub fn decide(&self, probabilities: &[f32], top_label: Option<(&str, f32)>) -> Decision {
        let scores = self.category_scores(probabilities);
        let (best, score) = scores[0];
        if score >= self.policy.min_score {
            return Decision {
                status: Status::Approved,
                category: Some(best.to_owned()),
                score,
                reason: None,
            };
        }
        let mut reason = match &self.policy.reject_reason {
            Some(intro) => format!("{} ", intro.trim_end()),
            None => String::new(),
        };
        reason.push_str(&format!(
            "The image does not clearly show anything we accept: the closest category, {best}, \
             scored {}, and {} is needed.",
            percent(score),
            percent(self.policy.min_score)
        ));
        if let Some((label, confidence)) = top_label {
            reason.push_str(&format!(
                " It looks most like: {label} ({}).",
                percent(confidence)
            ));
        }
        Decision {
            status: Status::Rejected,
            category: None,
            score,
            reason: Some(reason),
        }
    }
}

fn percent(value: f32) -> String {
    format!("{:.0}%", value * 100.0)
}

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
    pub threshold: f32,
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

    /// The rejection this gate imposes on the image, if any.
    pub fn veto(&self, probabilities: &[f32]) -> Option<Decision> {
        let score = self.score(probabilities);
        (score >= self.gate.threshold).then(|| Decision {
            status: Status::Rejected,
            category: None,
            score,
            reason: Some(format!(
                "{} ({} check: {}, limit {}).",
                self.gate.reason.trim_end_matches('.'),
                self.gate.name,
                percent(score),
                percent(self.gate.threshold)
            )),
        })
    }
}

/// Gates first (the first veto wins), then the policy.
pub fn decide(
    policy: &BoundPolicy,
    probabilities: &[f32],
    top_label: Option<(&str, f32)>,
    gates: &[(&BoundGate, &[f32])],
) -> Decision {
    gates
        .iter()
        .find_map(|(gate, gate_probabilities)| gate.veto(gate_probabilities))
        .unwrap_or_else(|| policy.decide(probabilities, top_label))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
        name = "vehicles"
        min_score = 0.3
        reject_reason = "We only publish ads for vehicles."

        [[category]]
        name = "car"
        labels = ["cab", "minivan"]

        [[category]]
        name = "boat"
        labels = ["canoe"]
    "#;

    fn labels() -> Labels {
        Labels::parse("cab\nminivan\ncanoe\nespresso").unwrap()
    }

    fn bound() -> BoundPolicy {
        Policy::from_toml(POLICY, "test.toml")
            .unwrap()
            .bind(&labels(), "test-model")
            .unwrap()
    }

    #[test]
    fn category_score_is_the_sum_of_its_labels() {
        let decision = bound().decide(&[0.2, 0.15, 0.25, 0.4], None);
        assert_eq!(decision.status, Status::Approved);
        assert_eq!(decision.category.as_deref(), Some("car"));
        assert!((decision.score - 0.35).abs() < 1e-6);
        assert_eq!(decision.reason, None);
    }

    #[test]
    fn below_min_score_is_rejected_with_a_readable_reason() {
        let decision = bound().decide(&[0.1, 0.1, 0.05, 0.75], Some(("espresso", 0.75)));
        assert_eq!(decision.status, Status::Rejected);
        assert_eq!(decision.category, None);
        let reason = decision.reason.unwrap();
        assert!(
            reason.starts_with("We only publish ads for vehicles."),
            "{reason}"
        );
        assert!(
            reason.contains("car, scored 20%, and 30% is needed"),
            "{reason}"
        );
        assert!(reason.contains("espresso (75%)"), "{reason}");
    }

    #[test]
    fn exactly_min_score_is_approved() {
        let decision = bound().decide(&[0.0, 0.0, 0.3, 0.7], None);
        assert_eq!(decision.status, Status::Approved);
        assert_eq!(decision.category.as_deref(), Some("boat"));
    }

    #[test]
    fn unknown_labels_are_named() {
        let policy = Policy::from_toml(POLICY, "test.toml").unwrap();
        let error = policy
            .bind(&Labels::parse("cab\ncanoe").unwrap(), "tiny")
            .unwrap_err();
        assert!(error.to_string().contains("\"minivan\""), "{error}");
    }

    #[test]
    fn invalid_policies_say_what_is_wrong() {
        let error = Policy::from_toml(
            "name = 'x'\nmin_score = 2\n[[category]]\nname='a'\nlabels=['b']",
            "p.toml",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("min_score must be between 0 and 1")
        );
        let error =
            Policy::from_toml("name = 'x'\nmin_score = 0.5\ncategory = []", "p.toml").unwrap_err();
        assert!(error.to_string().contains("at least one"));
        let error = Policy::from_toml("name = 'x'\nmin_scor = 0.5", "p.toml").unwrap_err();
        assert!(
            error.to_string().starts_with("p.toml: not a valid policy"),
            "{error}"
        );
    }

    #[test]
    fn a_gate_vetoes_at_or_above_its_threshold() {
        let gate = Gate::from_toml(
            "name = 'nsfw'\nmodel = 'm.toml'\nlabel = 'nsfw'\nthreshold = 0.8\nreason = 'Adult content is not allowed.'",
            "gate.toml",
        )
        .unwrap()
        .bind(&Labels::parse("sfw\nnsfw").unwrap(), "open-nsfw")
        .unwrap();
        assert!(gate.veto(&[0.21, 0.79]).is_none());
        let veto = gate.veto(&[0.2, 0.8]).unwrap();
        assert_eq!(veto.status, Status::Rejected);
        assert_eq!(
            veto.reason.as_deref(),
            Some("Adult content is not allowed (nsfw check: 80%, limit 80%).")
        );
    }
}
