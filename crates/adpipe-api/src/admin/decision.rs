//! A moderator's decision as sent (`POST /admin/ads/{id}/decision`): its
//! two shapes, and the checks that turn it into a moderation to record
//! (a known category, a moderator's name, a reason fit to show).

use adpipe_core::Status;
use adpipe_store::Moderation;
use serde::Deserialize;

use crate::{ApiError, ErrorCode};

/// Longest moderator name and reason accepted.
const MAX_NAME_CHARS: usize = 100;
const MAX_REASON_CHARS: usize = 1000;
/// Said to the submitter when a moderator rejects without a reason.
const DEFAULT_REJECT_REASON: &str = "A moderator did not approve your ad.";

/// A moderator's decision: an approval in one of the policy's categories,
/// or a rejection with a reason for the submitter.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecisionRequest {
    /// Publish the ad.
    Approved(Approval),
    /// Do not publish it.
    Rejected(Rejection),
}

/// `"outcome": "approved"`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// One of the policy's categories (the document lists them).
    #[schema(example = "car")]
    category: String,
    /// Who decides comes from who is asking (the history shows
    /// `moderator:<account>`). Clients from before accounts may still send
    /// it, naming the caller's own account (400 otherwise); the document
    /// leaves it out, as nothing needs it.
    #[serde(default)]
    #[schema(ignore)]
    moderator: Option<String>,
    /// For moderators only: kept in the history and shown in the
    /// console, never sent to the submitter, the site's webhook or the
    /// public page. At most 1000 characters, no control characters but
    /// line breaks and tabs; empty or absent: no note.
    #[serde(default)]
    #[schema(
        nullable,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    note: Option<String>,
    /// Overturn a final decision (approved or rejected) too, not only an
    /// ad in review; the submitter is emailed the new outcome.
    #[serde(default, rename = "override")]
    overrides: bool,
    /// An approval gives the submitter no reason: absent, null or empty
    /// (accepted so a client may send the same four fields every time).
    #[serde(default)]
    #[schema(nullable, max_length = 0)]
    reason: Option<String>,
}

/// `"outcome": "rejected"`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// Said to the submitter: at most 1000 characters, no control
    /// characters but line breaks and tabs. Empty or absent: "A moderator
    /// did not approve your ad."
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    reason: Option<String>,
    /// Who decides comes from who is asking (the history shows
    /// `moderator:<account>`). Clients from before accounts may still send
    /// it, naming the caller's own account (400 otherwise); the document
    /// leaves it out, as nothing needs it.
    #[serde(default)]
    #[schema(ignore)]
    moderator: Option<String>,
    /// For moderators only: kept in the history and shown in the
    /// console, never sent to the submitter, the site's webhook or the
    /// public page. At most 1000 characters, no control characters but
    /// line breaks and tabs; empty or absent: no note.
    #[serde(default)]
    #[schema(
        nullable,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    note: Option<String>,
    /// Overturn a final decision (approved or rejected) too, not only an
    /// ad in review; the submitter is emailed the new outcome.
    #[serde(default, rename = "override")]
    overrides: bool,
    /// A rejected ad has no category: absent, null or empty (accepted so a
    /// client may send the same four fields every time).
    #[serde(default)]
    #[schema(nullable, max_length = 0)]
    category: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidDecision, message)
}

fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// The body may name the moderator only as the caller: the author of a
/// decision is whoever signed in, never what the body says.
fn moderator_name<'a>(named: Option<&str>, caller: &'a str) -> Result<&'a str, ApiError> {
    match named.map(str::trim) {
        None => Ok(caller),
        Some(name) if name.eq_ignore_ascii_case(caller) => Ok(caller),
        Some(_) if named.is_some_and(|name| name.chars().count() > MAX_NAME_CHARS) => Err(invalid(
            "moderator names the caller's own account (at most 100 characters), or is left out",
        )),
        Some(_) => Err(invalid(format!(
            "moderator must be your own account ({caller}) or left out: who decides comes from \
             who signed in"
        ))),
    }
}

/// The note as kept: trimmed, `None` when empty.
fn checked_note(note: Option<&str>) -> Result<Option<&str>, ApiError> {
    let note = note.unwrap_or_default();
    if note.chars().count() > MAX_REASON_CHARS || has_control(note) {
        return Err(invalid(
            "note must be at most 1000 characters, without control characters but line breaks \
             and tabs",
        ));
    }
    let note = note.trim();
    Ok((!note.is_empty()).then_some(note))
}

/// Checks a decision against the policy; the moderation to record.
pub(super) fn checked<'a>(
    request: &'a DecisionRequest,
    categories: &[String],
    caller: &'a str,
) -> Result<Moderation<'a>, ApiError> {
    match request {
        DecisionRequest::Approved(approval) => {
            let moderator = moderator_name(approval.moderator.as_deref(), caller)?;
            if approval
                .reason
                .as_deref()
                .is_some_and(|reason| !reason.is_empty())
            {
                return Err(invalid(
                    "an approval gives no reason (leave reason out, null or empty); a rejection \
                     does",
                ));
            }
            let category = approval.category.as_str();
            if !categories.iter().any(|known| known == category) {
                let shown: String = category.chars().take(64).collect();
                return Err(ApiError::new(
                    ErrorCode::UnknownCategory,
                    format!(
                        "the policy has no category {shown:?}; it has: {}",
                        categories.join(", ")
                    ),
                ));
            }
            Ok(Moderation {
                outcome: Status::Approved,
                category: Some(category),
                reason: None,
                moderator,
                overrides: approval.overrides,
                note: checked_note(approval.note.as_deref())?,
            })
        }
        DecisionRequest::Rejected(rejection) => {
            let moderator = moderator_name(rejection.moderator.as_deref(), caller)?;
            if rejection
                .category
                .as_deref()
                .is_some_and(|category| !category.is_empty())
            {
                return Err(invalid(
                    "a rejected ad has no category (leave category out, null or empty); an \
                     approval has one",
                ));
            }
            let reason = rejection.reason.as_deref().unwrap_or_default();
            if reason.chars().count() > MAX_REASON_CHARS || has_control(reason) {
                return Err(invalid(
                    "reason must be at most 1000 characters, without control characters but \
                     line breaks and tabs",
                ));
            }
            let reason = reason.trim();
            Ok(Moderation {
                outcome: Status::Rejected,
                category: None,
                reason: Some(if reason.is_empty() {
                    DEFAULT_REJECT_REASON
                } else {
                    reason
                }),
                moderator,
                overrides: rejection.overrides,
                note: checked_note(rejection.note.as_deref())?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> DecisionRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn decisions_are_checked_against_the_policy() {
        let categories = vec!["car".to_owned(), "boat".to_owned()];
        let ok = request(r#"{"outcome": "approved", "category": "car"}"#);
        let moderation = checked(&ok, &categories, "ana").unwrap();
        assert_eq!(moderation.outcome, Status::Approved);
        assert_eq!(moderation.category, Some("car"));
        assert_eq!(moderation.moderator, "ana");
        let rejected =
            request(r#"{"outcome": "rejected", "moderator": " ana ", "override": true}"#);
        let moderation = checked(&rejected, &categories, "ana").unwrap();
        assert_eq!(moderation.reason, Some(DEFAULT_REJECT_REASON));
        assert_eq!(moderation.moderator, "ana", "the caller's own name");
        assert!(moderation.overrides);
        let own_words = request(r#"{"outcome": "rejected", "reason": " Sold. "}"#);
        assert_eq!(
            checked(&own_words, &categories, "ana").unwrap().reason,
            Some("Sold.")
        );
        for (json, code) in [
            (
                r#"{"outcome": "approved", "category": "plane"}"#,
                "unknown_category",
            ),
            // The body cannot choose the author.
            (
                r#"{"outcome": "rejected", "moderator": "bob"}"#,
                "invalid_decision",
            ),
            (
                r#"{"outcome": "rejected", "moderator": " "}"#,
                "invalid_decision",
            ),
            (
                r#"{"outcome": "rejected", "reason": "a\u0000"}"#,
                "invalid_decision",
            ),
            (
                r#"{"outcome": "rejected", "category": "car"}"#,
                "invalid_decision",
            ),
            (
                r#"{"outcome": "approved", "category": "car", "reason": "Nice"}"#,
                "invalid_decision",
            ),
        ] {
            let error = checked(&request(json), &categories, "ana").unwrap_err();
            assert_eq!(error.code().as_str(), code, "{json}");
        }
        // All four fields, the unused ones null or empty, are a decision.
        for json in [
            r#"{"outcome": "approved", "category": "car", "reason": null, "moderator": "ana"}"#,
            r#"{"outcome": "rejected", "category": "", "reason": "Sold", "moderator": "ana"}"#,
        ] {
            assert!(
                checked(&request(json), &categories, "ana").is_ok(),
                "{json}"
            );
        }
        // What the shape forbids does not parse: 400 invalid_json.
        for json in [
            r#"{"outcome": "approved"}"#,
            r#"{"outcome": "maybe"}"#,
            r#"{"outcome": "approved", "category": "car", "extra": 1}"#,
        ] {
            assert!(
                serde_json::from_str::<DecisionRequest>(json).is_err(),
                "{json}"
            );
        }
    }
}
