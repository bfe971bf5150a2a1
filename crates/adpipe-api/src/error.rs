//! Every error the API answers: an HTTP status, a stable machine-readable
//! code and a sentence for people, as `{"error": {"code", "message"}}`.
//!
//! The code is an [`ErrorCode`], and the code decides the status: the one
//! table below pairs each code with its status and its meaning, and the
//! OpenAPI document lists that table, so a code cannot be sent with a
//! status other than its own nor go undocumented.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Builds [`ErrorCode`] from one row per code: the variant, the string
/// clients see, the HTTP status and what it means.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident, $meaning:literal;)+) => {
        /// Every code the API answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order the documentation lists them.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// What clients see in `error.code`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status this code is always sent with.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }

            /// What the code means, for the API documentation.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }
        }
    };
}

error_codes! {
    BadRequest = "bad_request", BAD_REQUEST, "The request is malformed (a header, the URL or the body); also the rarer 4xx that layers raise, with their own status.";
    InvalidId = "invalid_id", BAD_REQUEST, "The ad id is not a UUID.";
    InvalidStatus = "invalid_status", BAD_REQUEST, "The status filter is not pending, in_review, approved, rejected or failed.";
    InvalidLimit = "invalid_limit", BAD_REQUEST, "The page size is not between 1 and 500.";
    InvalidJson = "invalid_json", BAD_REQUEST, "The body is not the JSON object this operation takes.";
    InvalidDecision = "invalid_decision", BAD_REQUEST, "A moderator's decision is incomplete: outcome, moderator, an approval's category.";
    UnknownCategory = "unknown_category", BAD_REQUEST, "The category is not one of the policy's.";
    MalformedMultipart = "malformed_multipart", BAD_REQUEST, "The multipart body cannot be parsed.";
    IncompleteBody = "incomplete_body", BAD_REQUEST, "The body ended before its declared end, or went on after the form.";
    MissingField = "missing_field", BAD_REQUEST, "One of the fields text, email, image is missing.";
    DuplicateField = "duplicate_field", BAD_REQUEST, "A field was sent twice.";
    UnknownField = "unknown_field", BAD_REQUEST, "A field other than text, email and image was sent.";
    InvalidText = "invalid_text", BAD_REQUEST, "The text is empty, longer than 5000 characters or holds control characters.";
    TextTooLong = "text_too_long", BAD_REQUEST, "A text field is far longer than any valid value.";
    InvalidUtf8 = "invalid_utf8", BAD_REQUEST, "A text field is not valid UTF-8.";
    InvalidEmail = "invalid_email", BAD_REQUEST, "The email address is not a valid address.";
    ImageEmpty = "image_empty", BAD_REQUEST, "The image file is empty.";
    ImageCorrupt = "image_corrupt", BAD_REQUEST, "The image is truncated or corrupt.";
    InvalidAppeal = "invalid_appeal", BAD_REQUEST, "An appeal is {\"secret\", \"text\"}: the text 1 to 2000 characters, without control characters but line breaks.";
    InvalidAccount = "invalid_account", BAD_REQUEST, "An account's name, role or new password, or a token's name, is not acceptable.";
    Unauthorized = "unauthorized", UNAUTHORIZED, "Admin endpoints need a console session or Authorization: Bearer <token> (an account's API token, or ADPIPE_ADMIN_TOKEN).";
    SignInFailed = "sign_in_failed", UNAUTHORIZED, "Wrong name or password (the same answer whether the name exists or not).";
    Forbidden = "forbidden", FORBIDDEN, "The caller's role may not do this (viewer < moderator < admin), or nobody may (one's own role).";
    AppealSecretWrong = "appeal_secret_wrong", FORBIDDEN, "The appeal's secret is not the one in the rejection email.";
    CrossSiteRequest = "cross_site_request", FORBIDDEN, "A signed-in browser's change came from another site (its Origin header).";
    ImageNotPublic = "image_not_public", FORBIDDEN, "The ad is not approved, so its image is not public (yet).";
    NotFound = "not_found", NOT_FOUND, "No ad with this id, or nothing at this address.";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "This method is not allowed on this address.";
    AccountExists = "account_exists", CONFLICT, "There is already an account with this name.";
    LastAdmin = "last_admin", CONFLICT, "The change would leave no enabled admin.";
    Claimed = "claimed", CONFLICT, "Another moderator holds the ad (a claim); wait for it to be released or to expire.";
    AppealNotAllowed = "appeal_not_allowed", CONFLICT, "Only a rejected ad can be appealed, once.";
    NotInReview = "not_in_review", CONFLICT, "The ad is not waiting for a person: someone decided it first (send override to overturn a final decision).";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT, "The request (its body, say) took longer than the deadline.";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, "The request body is larger than the server accepts.";
    ImageTooManyBytes = "image_too_many_bytes", PAYLOAD_TOO_LARGE, "The image file is larger than ADPIPE_MAX_IMAGE_BYTES.";
    ImageTooLarge = "image_too_large", PAYLOAD_TOO_LARGE, "The image has more pixels or a larger side than allowed (decompression bombs).";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The body's content type is not accepted here.";
    ExpectedMultipart = "expected_multipart", UNSUPPORTED_MEDIA_TYPE, "POST /ads needs a multipart/form-data body with a boundary.";
    ImageUnsupportedType = "image_unsupported_type", UNSUPPORTED_MEDIA_TYPE, "The image is not JPEG, PNG, WebP, GIF or BMP (judged by its bytes).";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Too many submissions from this address; see Retry-After.";
    SignInLocked = "sign_in_locked", TOO_MANY_REQUESTS, "Too many failed sign-ins for this name or address; see Retry-After.";
    InternalError = "internal_error", INTERNAL_SERVER_ERROR, "An unexpected error; nothing was stored.";
    DatabaseUnavailable = "database_unavailable", SERVICE_UNAVAILABLE, "The database is unavailable; nothing was stored; retry later.";
    StorageUnavailable = "storage_unavailable", SERVICE_UNAVAILABLE, "The image store is unavailable; nothing was stored; retry later.";
    StorageFull = "storage_full", SERVICE_UNAVAILABLE, "The disk under the image store or the database is full; nothing was stored; retry later.";
}

impl ErrorCode {
    /// The code for an error response a layer (the router, a body limit,
    /// an extractor) produced with `status` and no JSON body.
    fn for_layer_status(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            status if status.is_server_error() => ErrorCode::InternalError,
            _ => ErrorCode::BadRequest,
        }
    }
}

/// An error answer. Its status comes from its code (see
/// [`ErrorCode::status`]); only a layer's own 4xx or 5xx, dressed in JSON
/// by [`ApiError::from_layer`], keeps the status the layer chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    status: StatusCode,
    message: String,
}

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
    #[schema(value_type = schema::ErrorCode)]
    code: &'static str,
    /// A sentence for people, saying what to do.
    message: String,
}

/// The OpenAPI document's `ErrorCode` schema: every code, with its
/// status and meaning. A type of its own (named like the enum, as the
/// document calls it) because the enum's values are not serialized.
pub(crate) mod schema {
    pub(crate) struct ErrorCode;

    impl utoipa::PartialSchema for ErrorCode {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            let codes = super::ErrorCode::ALL;
            let description = codes
                .iter()
                .map(|code| {
                    format!(
                        "- `{}` ({}): {}",
                        code.as_str(),
                        code.status().as_u16(),
                        code.meaning()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .enum_values(Some(codes.iter().map(|code| code.as_str())))
                .description(Some(description))
                .into()
        }
    }

    impl utoipa::ToSchema for ErrorCode {}
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: code.status(),
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A layer's plain-text (or empty) error response as JSON: the code
    /// that names its status, and the status it had.
    pub(crate) fn from_layer(status: StatusCode, message: impl Into<String>) -> Self {
        let code = ErrorCode::for_layer_status(status);
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            code.status()
        };
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A database that failed under a request: logged, and 503 for the
/// client (who may retry).
pub(crate) fn database_error(error: adpipe_store::DbError) -> ApiError {
    tracing::error!(%error, "database error");
    ApiError::new(
        ErrorCode::DatabaseUnavailable,
        "the database is unavailable; please try again shortly",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(Body {
            error: Detail {
                code: self.code.as_str(),
                message: self.message,
            },
        });
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // A full disk waits for an operator, not for a restart.
            let seconds = if self.code == ErrorCode::StorageFull {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_is_sent_with_its_own_status() {
        for &code in ErrorCode::ALL {
            let response = ApiError::new(code, "why").into_response();
            assert_eq!(response.status(), code.status(), "{code:?}");
            assert!(
                code.status().is_client_error() || code.status().is_server_error(),
                "{code:?} is not an error status"
            );
        }
    }

    #[test]
    fn codes_are_unique_snake_case_and_documented() {
        let mut seen = HashSet::new();
        for &code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is listed twice");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{text} is not snake_case"
            );
            assert!(code.meaning().ends_with('.'), "{text} has no meaning");
        }
    }

    #[test]
    fn a_layers_status_keeps_its_family_code() {
        let error = ApiError::from_layer(StatusCode::NOT_FOUND, "gone");
        assert_eq!(
            (error.code(), error.status()),
            (ErrorCode::NotFound, StatusCode::NOT_FOUND)
        );
        // A rarer 4xx (Length Required, say) stays what the layer said.
        let error = ApiError::from_layer(StatusCode::LENGTH_REQUIRED, "length");
        assert_eq!(
            (error.code(), error.status()),
            (ErrorCode::BadRequest, StatusCode::LENGTH_REQUIRED)
        );
        let error = ApiError::from_layer(StatusCode::BAD_GATEWAY, "upstream");
        assert_eq!(
            (error.code(), error.status()),
            (ErrorCode::InternalError, StatusCode::BAD_GATEWAY)
        );
    }
}
