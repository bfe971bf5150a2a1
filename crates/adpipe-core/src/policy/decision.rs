//! What was decided about one ad and by whom: the one decision type from
//! the policy to the row, and the steps that change a decision after the
//! models (text rules, the review sample).

use serde::{Deserialize, Serialize};

use super::{RuleAction, RuleMatch, TextReading, TextRules, percent};
use crate::TextInImage;
use crate::ad::Status;

/// What was decided about one ad: made by a policy (or a gate), or by the
/// worker when the image cannot be processed, and recorded as it is. The
/// one decision type from the policy to the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `approved`, `rejected` or `in_review` from a policy; `failed` when
    /// the image could not be judged.
    pub status: Status,
    /// The ad's category: set when approved, and when in review (the
    /// model's best category, the one a moderator is offered first).
    pub category: Option<String>,
    /// The best category's score (0..=1), whatever the outcome.
    pub score: f32,
    /// Why the ad was not approved, in words for the submitter; in review,
    /// why it went to a person (for moderators only).
    pub reason: Option<String>,
    /// In review: what the model would have decided alone (`approved` or
    /// `rejected`), shown to moderators, never to the submitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Status>,
    /// What the ad's text said, when the policy read it (shown to
    /// moderators beside the photo's tags, never to the submitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextReading>,
    /// The text read in the photo, when the policy reads it
    /// (`[text_in_image]`): evidence for moderators, never shown to the
    /// submitter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text_in_image: Vec<TextInImage>,
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
            suggestion: None,
            text: None,
            text_in_image: Vec::new(),
        }
    }

    /// Sends an automatic approval to a person instead, for quality
    /// control, when `point` (the ad's [`crate::AdId::sample_point`]) falls
    /// within `share`. Anything else is returned as it is.
    pub fn sampled_for_review(self, share: f32, point: f64) -> Decision {
        if self.status != Status::Approved || point >= f64::from(share) {
            return self;
        }
        Decision {
            status: Status::InReview,
            reason: Some(format!(
                "Picked at random for quality control ({} of automatic approvals are checked by \
                 a person).",
                percent(share)
            )),
            suggestion: Some(Status::Approved),
            ..self
        }
    }
}

impl Decision {
    /// Applies the policy's text rules to what the models decided: a
    /// rejecting rule rejects whatever the photo showed, a reviewing rule
    /// sends an ad that would be published (or is already waiting) to a
    /// person, and neither makes a rejected ad any better.
    pub fn with_text_rules(self, rules: &TextRules, text: &str) -> Decision {
        match rules.check(text) {
            Some(found) => self.with_rule_match(found, "Text rule"),
            None => self,
        }
    }

    /// What a text rule's match does; `rule_kind` introduces the rule in a
    /// moderator's reason ("Text rule", "Text in the photo, rule").
    pub(super) fn with_rule_match(self, found: RuleMatch, rule_kind: &str) -> Decision {
        let quoted = format!("(found: \"{}\")", found.found);
        match found.action {
            RuleAction::Allow => self,
            RuleAction::Reject if self.status != Status::Rejected => Decision {
                status: Status::Rejected,
                category: None,
                reason: Some(format!("{} {quoted}", found.reason.trim_end())),
                suggestion: None,
                ..self
            },
            RuleAction::Review if matches!(self.status, Status::Approved | Status::InReview) => {
                let rule = format!(
                    "{rule_kind} `{}`: {} {quoted}",
                    found.rule,
                    found.reason.trim_end()
                );
                let reason = match (self.status, self.reason) {
                    (Status::InReview, Some(earlier)) => format!("{rule} {earlier}"),
                    _ => rule,
                };
                Decision {
                    status: Status::InReview,
                    reason: Some(reason),
                    suggestion: Some(Status::Rejected),
                    ..self
                }
            }
            _ => self,
        }
    }
}

/// Who made a decision: a model judged by a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedBy {
    pub model: String,
    pub policy: String,
}

impl DecidedBy {
    /// As the decision history and webhooks name it: `model:<model>@<policy>`.
    pub fn label(&self) -> String {
        format!("model:{}@{}", self.model, self.policy)
    }
}

/// How a model version (`adpipe models`: the SHA-256 of its files, hex) is
/// shown and named in decision histories: its first 12 digits.
pub fn short_version(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

/// How the decision history and webhooks name a person's decision.
pub fn moderator_label(name: &str) -> String {
    format!("moderator:{name}")
}
