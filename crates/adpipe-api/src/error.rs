//! Every error the API answers: an HTTP status, a stable machine-readable
//! code and a sentence for people, as `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// Every code the API answers with, its usual HTTP status and what it
/// means (`bad_request` also stands for the rarer 4xx that layers raise).
/// The OpenAPI document lists them; a code missing here fails the tests
/// (see `ApiError::new`), so the document cannot fall behind the code.
#[rustfmt::skip]
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("bad_request", 400, "The request is malformed (a header, the URL or the body)."),
    ("invalid_id", 400, "The ad id is not a UUID."),
    ("invalid_status", 400, "The status filter is not pending, in_review, approved, rejected or failed."),
    ("invalid_limit", 400, "The page size is not between 1 and 500."),
    ("invalid_json", 400, "The body is not the JSON object this operation takes."),
    ("invalid_decision", 400, "A moderator's decision is incomplete: outcome, moderator, an approval's category."),
    ("unknown_category", 400, "The category is not one of the policy's."),
    ("expected_multipart", 400, "POST /ads needs a multipart/form-data body with a boundary."),
    ("malformed_multipart", 400, "The multipart body cannot be parsed."),
    ("incomplete_body", 400, "The body ended before its declared end, or went on after the form."),
    ("missing_field", 400, "One of the fields text, email, image is missing."),
    ("duplicate_field", 400, "A field was sent twice."),
    ("unknown_field", 400, "A field other than text, email and image was sent."),
    ("invalid_text", 400, "The text is empty, longer than 5000 characters or holds control characters."),
    ("text_too_long", 400, "A text field is far longer than any valid value."),
    ("invalid_utf8", 400, "A text field is not valid UTF-8."),
    ("invalid_email", 400, "The email address is not a valid address."),
    ("image_empty", 400, "The image file is empty."),
    ("image_corrupt", 400, "The image is truncated or corrupt."),
    ("unauthorized", 401, "Admin endpoints need Authorization: Bearer <ADPIPE_ADMIN_TOKEN>."),
    ("image_not_public", 403, "The ad is not approved, so its image is not public (yet)."),
    ("not_found", 404, "No ad with this id, or nothing at this address."),
    ("method_not_allowed", 405, "This method is not allowed on this address."),
    ("not_in_review", 409, "The ad is not waiting for a person: someone decided it first (send override to overturn a final decision)."),
    ("request_timeout", 408, "The request (its body, say) took longer than the deadline."),
    ("payload_too_large", 413, "The request body is larger than the server accepts."),
    ("image_too_many_bytes", 413, "The image file is larger than ADPIPE_MAX_IMAGE_BYTES."),
    ("image_too_large", 413, "The image has more pixels or a larger side than allowed (decompression bombs)."),
    ("unsupported_media_type", 415, "The body's content type is not accepted here."),
    ("image_unsupported_type", 415, "The image is not JPEG, PNG, WebP, GIF or BMP (judged by its bytes)."),
    ("rate_limited", 429, "Too many submissions from this address; see Retry-After."),
    ("internal_error", 500, "An unexpected error; nothing was stored."),
    ("database_unavailable", 503, "The database is unavailable; nothing was stored; retry later."),
    ("storage_unavailable", 503, "The image store is unavailable; nothing was stored; retry later."),
    ("storage_full", 503, "The disk under the image store or the database is full; nothing was stored; retry later."),
];

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub(crate) struct Body {
    error: Detail,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub(crate) struct Detail {
    /// Stable and machine-readable: one of the `ErrorCode` values.
    #[schema(value_type = ErrorCode)]
    code: &'static str,
    /// A sentence for people, saying what to do.
    message: String,
}

/// The codes of `ErrorDetail.code`, with their HTTP status.
pub(crate) struct ErrorCode;

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let description = ERROR_CODES
            .iter()
            .map(|(code, status, meaning)| format!("- `{code}` ({status}): {meaning}"))
            .collect::<Vec<_>>()
            .join("\n");
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ERROR_CODES.iter().map(|(code, ..)| *code)))
            .description(Some(description))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            ERROR_CODES.iter().any(|(known, ..)| *known == code),
            "error code {code} is missing from ERROR_CODES"
        );
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A service adpipe depends on is down: the client may retry later.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(Body {
            error: Detail {
                code: self.code,
                message: self.message,
            },
        });
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // A full disk waits for an operator, not for a restart.
            let seconds = if self.code == "storage_full" {
                "60"
            } else {
                "5"
            };
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(seconds),
            );
        }
        response
    }
}
