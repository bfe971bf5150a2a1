//! `POST /ads/{id}/appeal`: the submitter of a rejected ad asks, once, for
//! a person to look again. No account: the link of the rejection email
//! carries the ad's appeal secret, which the request must send back (the
//! id alone, which the public status page answers to, is not enough). The
//! ad goes back to the review queue marked as appealed, with the text;
//! the answer is the moderator's decision, emailed as any other.
//! Rate-limited per client address like `POST /ads` (the same buckets).

use adpipe_core::AdId;
use adpipe_store::{APPELLANT, Appealed, AuditEntry};
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::status::parse_id;
use crate::{ApiError, AppState, ClientAddr, ErrorCode};

/// The longest appeal, in characters (as sent, before trimming).
pub(crate) const MAX_APPEAL_CHARS: usize = 2000;
/// The longest body read: the text as JSON escapes (`\uXXXX`, 6 bytes a
/// character) and the secret, with room to spare.
const MAX_BODY_BYTES: usize = 32 * 1024;

/// An appeal, as the rejection email's link lets the submitter send it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    /// The key in the link of the rejection email (`appeal=` in its
    /// address): 32 lowercase hexadecimal characters.
    #[schema(
        min_length = 32,
        max_length = 32,
        pattern = "^[0-9a-f]{32}$",
        example = "3f0c9a5e1b7d4c2a8e6f0b1d3c5a7e9f"
    )]
    secret: String,
    /// Why a person should look again: at most 2000 characters, not only
    /// spaces, no control characters but line breaks and tabs; trimmed.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$",
        example = "It is a vintage car, not a toy: the photo shows it at a show."
    )]
    text: String,
}

/// The answer to an appeal taken.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealAccepted {
    #[schema(value_type = String, format = Uuid)]
    pub id: AdId,
    /// Always `in_review`: a person decides again.
    #[schema(value_type = String, example = "in_review")]
    pub status: &'static str,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidAppeal, message)
}

/// Whether `text` is what the document's pattern and lengths allow: at
/// most [`MAX_APPEAL_CHARS`] as sent, something besides spaces, no control
/// characters but line breaks and tabs. Its trimmed text if so.
pub(crate) fn checked_text(text: &str) -> Option<&str> {
    let controls = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    let trimmed = text.trim();
    (!controls && !trimmed.is_empty() && text.chars().count() <= MAX_APPEAL_CHARS)
        .then_some(trimmed)
}

/// Whether `secret` has the shape of an appeal secret (UUIDv4, simple).
pub(crate) fn well_formed_secret(secret: &str) -> bool {
    secret.len() == 32
        && secret
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Appeal a rejection, once, with the secret of the rejection email's link.
#[utoipa::path(
    post,
    path = "/ads/{id}/appeal",
    operation_id = "appeal",
    tag = "ads",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    request_body = AppealRequest,
    responses(
        (status = 202, description = "Taken: the ad is back in review, marked as appealed. No email now; the moderator's decision is emailed as the answer.", body = AppealAccepted),
        (status = 400, description = "`invalid_id`; `invalid_json` (not a JSON object with exactly `secret` and `text`, strings); `invalid_appeal` (a secret not of 32 lowercase hex characters, an empty or too long text, control characters).", body = crate::error::Body),
        (status = 403, description = "`appeal_secret_wrong`: not the secret of this ad's rejection email.", body = crate::error::Body),
        (status = 404, description = "No such ad: `not_found`.", body = crate::error::Body),
        (status = 409, description = "`appeal_not_allowed`: the ad is not rejected (pending, in review, approved, failed), or was appealed already (one appeal per ad).", body = crate::error::Body),
        (status = 413, description = "`payload_too_large`: a body over 32 KiB.", body = crate::error::Body),
        (status = 429, description = "`rate_limited`: too many submissions and appeals from this address; see Retry-After.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "appeal", skip_all, fields(ad_id = tracing::field::Empty))]
pub async fn appeal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<AppealAccepted>), ApiError> {
    let id = parse_id(&id)?;
    tracing::Span::current().record("ad_id", tracing::field::display(id));
    let address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(address)| address.to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(256).collect::<String>());
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                "an appeal's body is at most 32 KiB",
            )
        })?;
    let form: AppealRequest = crate::auth::json_body(&body, r#"{"secret", "text"}"#)?;
    if !well_formed_secret(&form.secret) {
        return Err(invalid(
            "secret is the 32 lowercase hexadecimal characters after appeal= in the link of \
             the rejection email",
        ));
    }
    let Some(text) = checked_text(&form.text) else {
        return Err(invalid(
            "text is 1 to 2000 characters, not only spaces, without control characters but \
             line breaks and tabs",
        ));
    };
    let audit = AuditEntry::new(APPELLANT, "ad.appealed")
        .target(format!("ad:{id}"))
        .client(address.as_deref(), user_agent.as_deref());
    let appealed = state
        .db
        .record_appeal(id, &form.secret, text, &audit)
        .await
        .map_err(|error| {
            tracing::error!(%id, %error, "could not record an appeal");
            ApiError::new(
                ErrorCode::DatabaseUnavailable,
                "the database is unavailable; nothing was stored; please try again shortly",
            )
        })?;
    match appealed {
        Appealed::Accepted(_) => {
            tracing::info!(%id, "appeal taken: the ad is back in review");
            Ok((
                StatusCode::ACCEPTED,
                Json(AppealAccepted {
                    id,
                    status: "in_review",
                    message: "Your appeal was received: a person will look at your ad again, \
                              and you will get the answer by email."
                        .into(),
                }),
            ))
        }
        Appealed::NotFound => Err(ApiError::not_found(format!("there is no ad with ID {id}"))),
        Appealed::WrongSecret => {
            // Logged for whoever watches for guessing; the audit log keeps
            // what was done, not what was refused.
            tracing::warn!(%id, address = address.as_deref().unwrap_or("-"), "appeal with a wrong secret");
            Err(ApiError::new(
                ErrorCode::AppealSecretWrong,
                "this is not the appeal link of this ad; use the link in its rejection email",
            ))
        }
        Appealed::AlreadyAppealed => Err(ApiError::new(
            ErrorCode::AppealNotAllowed,
            "this ad was appealed already; an ad can be appealed once, and the answer comes \
             by email",
        )),
        Appealed::NotAllowed(status) => Err(ApiError::new(
            ErrorCode::AppealNotAllowed,
            format!(
                "only a rejected ad can be appealed; this one is {}",
                status.as_str()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appeal_text_is_what_the_document_allows() {
        assert_eq!(
            checked_text("  Please look again.\n"),
            Some("Please look again.")
        );
        assert_eq!(
            checked_text("Line one\r\n\tline two"),
            Some("Line one\r\n\tline two")
        );
        for refused in ["", "   ", "\n\t", "a\u{0}b", "bell\u{7}", "c1\u{85}"] {
            assert_eq!(checked_text(refused), None, "{refused:?}");
        }
        let longest = "é".repeat(MAX_APPEAL_CHARS);
        assert!(checked_text(&longest).is_some());
        assert_eq!(checked_text(&format!("{longest}x")), None);
        // Counted as sent: spaces around count too, as the pattern's
        // maxLength does.
        assert_eq!(checked_text(&format!(" {longest}")), None);
    }

    #[test]
    fn a_secret_is_32_lowercase_hex_characters() {
        assert!(well_formed_secret("0123456789abcdef0123456789abcdef"));
        for refused in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef-123456789abcdef",
        ] {
            assert!(!well_formed_secret(refused), "{refused}");
        }
    }
}
