//! Policies: data that turns a classifier's probabilities into a category and
//! a decision. A policy is written in TOML (see `models/policies/`), checked
//! against the label set of the model it will judge (`bind`), and then
//! applied to one probability vector at a time.
//!
//! A category's score is the sum of the probabilities of its labels; the
//! ad's category is the best-scoring one. The policy's band turns that score
//! into one of three outcomes: approved at `approve_at` or more, rejected
//! below `review_at`, and in between a person decides (`in_review`).
//! `min_score = x` is the band without a middle (both are x). Gates (an NSFW
//! classifier, say) compose with any policy: a gate whose label reaches its
//! threshold rejects the ad whatever the policy says, and one in its own
//! review band sends an ad the policy would approve to a person.

use serde::{Deserialize, Serialize};

use crate::ad::Status;
use crate::tags::Labels;

mod decision;
mod gate;
mod models;
mod text;
mod text_in_image;
mod text_rules;

pub use decision::{DecidedBy, Decision, moderator_label, short_version};
pub use gate::{BoundGate, Gate};
pub use text::{Disagreement, TextReading, TextScores, TextSection};
pub use text_in_image::TextInImageSection;
pub use text_rules::{ContactKind, RuleAction, RuleMatch, TextRule, TextRules, normalize};

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
    /// Approved at or above, rejected below: `approve_at` and `review_at`
    /// in one (a policy without a review band). Exclusive with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f32>,
    /// An ad whose best category scores at least this is approved (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_at: Option<f32>,
    /// Below this it is rejected; between this and `approve_at` a person
    /// decides. Defaults to `approve_at` (no band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_at: Option<f32>,
    /// The share of automatic approvals that also goes to a person, picked
    /// at random, for quality control (0..=1, default 0).
    #[serde(default)]
    pub review_sample: f32,
    /// Said to the submitter, before the details, when no category is good
    /// enough; e.g. "We only publish ads for vehicles."
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    /// Words, patterns and contact details in the ad's text that reject
    /// it, send it to a person, or are allowed ([`TextRule`]).
    #[serde(default, rename = "text_rule", skip_serializing_if = "Vec::is_empty")]
    pub text_rules: Vec<TextRule>,
    /// Reads what the text says is sold and checks it against the photo
    /// ([`TextSection`]); every category then lists `text` prototypes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextSection>,
    /// Reads the text in the photo and checks it with the text rules
    /// ([`TextInImageSection`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_in_image: Option<TextInImageSection>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    /// The model's labels whose probabilities make the category's score.
    /// None listed: the label of the category's own name, as a trained
    /// head's categories are (`adpipe train`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// A few short texts that describe what the category sells, compared
    /// with the ad's text when the policy has a [text] section.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
}

impl Policy {
    /// `source_name` (usually the file path) is only used in error messages.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, PolicyError> {
        let mut policy: Policy = toml::from_str(text).map_err(|error| PolicyError::Syntax {
            source_name: source_name.to_owned(),
            message: error.to_string(),
        })?;
        for category in &mut policy.categories {
            if category.labels.is_empty() {
                category.labels = vec![category.name.clone()];
            }
        }
        policy.validate(source_name)?;
        Ok(policy)
    }

    fn validate(&self, source_name: &str) -> Result<(), PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            source_name: source_name.to_owned(),
            message,
        };
        let unit = |name: &str, value: Option<f32>| match value {
            Some(value) if !(0.0..=1.0).contains(&value) => Err(invalid(format!(
                "{name} must be between 0 and 1, not {value}"
            ))),
            _ => Ok(()),
        };
        unit("min_score", self.min_score)?;
        unit("approve_at", self.approve_at)?;
        unit("review_at", self.review_at)?;
        unit("review_sample", Some(self.review_sample))?;
        match (self.min_score, self.approve_at, self.review_at) {
            (Some(_), None, None) => {}
            (Some(_), _, _) => {
                return Err(invalid(
                    "min_score means approve_at = review_at = min_score: give either min_score \
                     or approve_at and review_at, not both"
                        .into(),
                ));
            }
            (None, None, _) => {
                return Err(invalid(
                    "a policy needs approve_at (and review_at for a review band), or min_score"
                        .into(),
                ));
            }
            (None, Some(approve_at), Some(review_at)) if review_at > approve_at => {
                return Err(invalid(format!(
                    "review_at ({review_at}) must not be above approve_at ({approve_at})"
                )));
            }
            (None, Some(_), _) => {}
        }
        if self.categories.is_empty() {
            return Err(invalid("a policy needs at least one [[category]]".into()));
        }
        TextRules::compile(&self.text_rules).map_err(invalid)?;
        text::validate(self).map_err(invalid)?;
        if let Some(section) = &self.text_in_image {
            text_in_image::validate(section).map_err(invalid)?;
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
        let text_rules =
            TextRules::compile(&self.text_rules).map_err(|message| PolicyError::Invalid {
                source_name: self.name.clone(),
                message,
            })?;
        Ok(BoundPolicy {
            policy: self.clone(),
            categories,
            text_rules,
        })
    }

    /// Where scores are approved, reviewed and rejected.
    pub fn band(&self) -> Band {
        let approve_at = self.approve_at.or(self.min_score).unwrap_or(1.0);
        Band {
            approve_at,
            review_at: self.review_at.or(self.min_score).unwrap_or(approve_at),
        }
    }

    /// The names of its categories, in file order.
    pub fn category_names(&self) -> impl Iterator<Item = &str> {
        self.categories
            .iter()
            .map(|category| category.name.as_str())
    }
}

/// A policy's (or a gate's) two thresholds: a score at or above
/// `approve_at` is sure enough to approve, one below `review_at` sure
/// enough to reject, and one in between goes to a person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub approve_at: f32,
    pub review_at: f32,
}

/// Where a score falls in a [`Band`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Review,
    Reject,
}

impl Band {
    pub fn verdict(&self, score: f32) -> Verdict {
        if score >= self.approve_at {
            Verdict::Approve
        } else if score >= self.review_at {
            Verdict::Review
        } else {
            Verdict::Reject
        }
    }

    /// What the model would decide alone for a score in the band: the
    /// nearer side (the upper half leans to approving).
    pub fn leaning(&self, score: f32) -> Status {
        if score >= (self.approve_at + self.review_at) / 2.0 {
            Status::Approved
        } else {
            Status::Rejected
        }
    }
}

/// A policy whose labels are resolved against one model's label set.
#[derive(Debug, Clone)]
pub struct BoundPolicy {
    policy: Policy,
    categories: Vec<(String, Vec<usize>)>,
    text_rules: TextRules,
}

impl BoundPolicy {
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn name(&self) -> &str {
        &self.policy.name
    }

    /// The policy's text rules, compiled.
    pub fn text_rules(&self) -> &TextRules {
        &self.text_rules
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

    /// Every category's score from the photo, in file order.
    fn photo_scores(&self, probabilities: &[f32]) -> Vec<f32> {
        self.categories
            .iter()
            .map(|(_, indices)| {
                indices
                    .iter()
                    .filter_map(|&index| probabilities.get(index))
                    .sum::<f32>()
                    .min(1.0)
            })
            .collect()
    }

    /// `top_label` (the model's most probable label and its probability) is
    /// only used to tell a rejected submitter what the image looked like.
    pub fn decide(&self, probabilities: &[f32], top_label: Option<(&str, f32)>) -> Decision {
        self.decide_with_text(probabilities, top_label, None)
    }

    /// What `text` says in this policy's words (category names), for the
    /// record; `None` for a policy that does not read texts.
    pub fn text_reading(&self, text: &TextScores) -> Option<TextReading> {
        let section = self.policy.text.as_ref()?;
        let names: Vec<&str> = self
            .categories
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        Some(TextReading::new(section, &names, text))
    }

    /// As [`BoundPolicy::decide`], with what the ad's text says when the
    /// policy reads it (`[text]`); without that section `text` is ignored.
    pub fn decide_with_text(
        &self,
        probabilities: &[f32],
        top_label: Option<(&str, f32)>,
        text: Option<&TextScores>,
    ) -> Decision {
        let photo = self.photo_scores(probabilities);
        let reading = self.policy.text.as_ref().zip(text);
        let scores = match reading {
            Some((section, text)) => text::combine(section, &photo, text),
            None => photo,
        };
        // The first of the best on ties: file order.
        let (best_index, score) = scores.iter().copied().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |best, (index, score)| {
                if score > best.1 { (index, score) } else { best }
            },
        );
        let best = self.categories[best_index].0.as_str();
        let decision = self.decide_score(best, score, top_label);
        match reading {
            Some((section, text)) => {
                let names: Vec<&str> = self
                    .categories
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect();
                text::check_agreement(section, &names, text, decision)
            }
            None => decision,
        }
    }

    fn decide_score(&self, best: &str, score: f32, top_label: Option<(&str, f32)>) -> Decision {
        let band = self.policy.band();
        let looks_like = top_label
            .map(|(label, confidence)| {
                format!(" It looks most like: {label} ({}).", percent(confidence))
            })
            .unwrap_or_default();
        match band.verdict(score) {
            Verdict::Approve => Decision {
                status: Status::Approved,
                category: Some(best.to_owned()),
                score,
                reason: None,
                suggestion: None,
                text: None,
                text_in_image: Vec::new(),
            },
            Verdict::Review => Decision {
                status: Status::InReview,
                category: Some(best.to_owned()),
                score,
                reason: Some(format!(
                    "The model is not sure: the closest category, {best}, scored {}, between \
                     {} (rejected below) and {} (approved from).{looks_like}",
                    percent(score),
                    percent(band.review_at),
                    percent(band.approve_at)
                )),
                suggestion: Some(band.leaning(score)),
                text: None,
                text_in_image: Vec::new(),
            },
            Verdict::Reject => {
                let mut reason = match &self.policy.reject_reason {
                    Some(intro) => format!("{} ", intro.trim_end()),
                    None => String::new(),
                };
                reason.push_str(&format!(
                    "The image does not clearly show anything we accept: the closest category, \
                     {best}, scored {}, and {} is needed.{looks_like}",
                    percent(score),
                    percent(band.approve_at)
                ));
                Decision {
                    status: Status::Rejected,
                    category: None,
                    score,
                    reason: Some(reason),
                    suggestion: None,
                    text: None,
                    text_in_image: Vec::new(),
                }
            }
        }
    }
}

fn percent(value: f32) -> String {
    format!("{:.0}%", value * 100.0)
}

/// Gates first (the first veto wins), then the policy; a gate in doubt
/// sends what the policy would publish to a person.
pub fn decide(
    policy: &BoundPolicy,
    probabilities: &[f32],
    top_label: Option<(&str, f32)>,
    gates: &[(&BoundGate, &[f32])],
) -> Decision {
    judge(policy, probabilities, top_label, None, gates)
}

/// [`decide`] with what the ad's text says ([`TextScores`]), for a policy
/// that reads it.
pub fn judge(
    policy: &BoundPolicy,
    probabilities: &[f32],
    top_label: Option<(&str, f32)>,
    text: Option<&TextScores>,
    gates: &[(&BoundGate, &[f32])],
) -> Decision {
    let decision = match gates
        .iter()
        .find_map(|(gate, gate_probabilities)| gate.veto(gate_probabilities))
    {
        Some(veto) => veto,
        None => gates.iter().fold(
            policy.decide_with_text(probabilities, top_label, text),
            |decision, (gate, gate_probabilities)| gate.doubt(gate_probabilities, decision),
        ),
    };
    Decision {
        text: text.and_then(|scores| policy.text_reading(scores)),
        ..decision
    }
}

#[cfg(test)]
mod tests;
