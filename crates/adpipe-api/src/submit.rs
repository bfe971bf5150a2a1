//! `POST /ads`: validate everything first, then store the image, insert the
//! ad and enqueue it. Nothing is stored for a request that is refused, and
//! an image stored for an ad whose insert failed is removed again.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use adpipe_core::{AdId, AdText, Email};
use adpipe_image::{DecodeError, ImageInfo};
use adpipe_store::{BlobError, Blobs, NewAd};
use axum::Json;
use axum::body::{Body, BodyDataStream};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use multer::{Field, Multipart};
use serde::Serialize;
use tracing::Instrument;

use crate::{ApiError, AppState, ErrorCode};

/// Text is at most 5000 characters; four bytes each, plus room to trim.
const MAX_TEXT_BYTES: usize = 4 * AdText::MAX_CHARS + 1024;
const MAX_EMAIL_BYTES: usize = 1024;

/// The answer to an accepted submission.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// The ad's id (UUIDv7): keep it to ask for the status.
    #[schema(value_type = String, format = Uuid)]
    pub id: AdId,
    /// Always `pending`: the ad waits for the worker.
    #[schema(value_type = String, example = "pending")]
    pub status: &'static str,
    pub message: String,
}

struct Submission {
    text: AdText,
    email: Email,
    image: Bytes,
}

fn body_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "the request body is larger than the server accepts",
    )
}

/// Bytes after the closing boundary that are read and thrown away; a client
/// sending more is not sending a form.
const MAX_EPILOGUE_BYTES: usize = 64 * 1024;

/// How long the rest of a refused body is read before the answer goes out
/// (within the body limit, at a client's pace).
const DISCARD_WITHIN: Duration = Duration::from_secs(5);

/// The request body, shared by the multipart parser and the handler: once
/// the parser has seen the closing boundary, the handler reads on to the
/// end the client announced. The parser alone would stop at the boundary
/// and accept an upload whose connection then broke or stalled, storing an
/// ad for a client that never finished sending it (and never learns its id).
#[derive(Clone)]
struct CountedBody(Arc<Mutex<BodyState>>);

struct BodyState {
    stream: BodyDataStream,
    read: usize,
    limit: usize,
    over_limit: bool,
}

#[derive(Debug)]
struct OverLimit;

impl std::fmt::Display for OverLimit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the request body is larger than the server accepts")
    }
}

impl std::error::Error for OverLimit {}

impl CountedBody {
    fn new(body: Body, limit: usize) -> Self {
        CountedBody(Arc::new(Mutex::new(BodyState {
            stream: body.into_data_stream(),
            read: 0,
            limit,
            over_limit: false,
        })))
    }

    fn over_limit(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .over_limit
    }

    /// Reads the rest of a refused body into the void, within the body
    /// limit and `within`. A client that sends its whole body before it
    /// reads the answer (no `Expect: 100-continue`, as Python's http.client
    /// and requests do) then reads its JSON error; answering and closing
    /// while it still sends would give it a broken pipe instead.
    async fn discard_rest(&mut self, within: Duration) {
        let _ = tokio::time::timeout(within, async {
            while let Some(Ok(_)) = futures_util::StreamExt::next(self).await {}
        })
        .await;
    }

    /// Reads what follows the closing boundary up to the end of the body.
    async fn finish(&mut self) -> Result<(), ApiError> {
        let mut epilogue = 0;
        while let Some(chunk) = futures_util::StreamExt::next(self).await {
            let chunk = chunk.map_err(|error| {
                if self.over_limit() {
                    body_too_large()
                } else {
                    ApiError::new(
                        ErrorCode::IncompleteBody,
                        format!("the request body ended before its declared length: {error}"),
                    )
                }
            })?;
            epilogue += chunk.len();
            if epilogue > MAX_EPILOGUE_BYTES {
                return Err(ApiError::new(
                    ErrorCode::MalformedMultipart,
                    "too much data after the closing multipart boundary",
                ));
            }
        }
        Ok(())
    }
}

impl Stream for CountedBody {
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if state.over_limit {
            return Poll::Ready(Some(Err(Box::new(OverLimit))));
        }
        match Pin::new(&mut state.stream).poll_next(context) {
            Poll::Ready(Some(Ok(chunk))) => {
                state.read += chunk.len();
                if state.read > state.limit {
                    state.over_limit = true;
                    return Poll::Ready(Some(Err(Box::new(OverLimit))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Box::new(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn multipart_error(body: &CountedBody, error: multer::Error) -> ApiError {
    if body.over_limit() {
        body_too_large()
    } else {
        ApiError::new(
            ErrorCode::MalformedMultipart,
            format!("the multipart body could not be read: {error}"),
        )
    }
}

/// Reads a field, refusing it as soon as it passes `limit` bytes.
async fn read_limited(
    body: &CountedBody,
    mut field: Field<'static>,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<Bytes, ApiError> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|error| multipart_error(body, error))?
    {
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

async fn read_text_field(
    body: &CountedBody,
    field: Field<'static>,
    name: &str,
    limit: usize,
) -> Result<String, ApiError> {
    let bytes = read_limited(body, field, limit, || {
        ApiError::new(
            if name == "email" {
                ErrorCode::InvalidEmail
            } else {
                ErrorCode::TextTooLong
            },
            format!("the {name} field is too long"),
        )
    })
    .await?;
    String::from_utf8(bytes.into()).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidUtf8,
            format!("the {name} field is not valid UTF-8"),
        )
    })
}

fn duplicate(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::DuplicateField,
        format!("the {name} field was sent more than once"),
    )
}

fn missing(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::MissingField,
        format!("the {name} field is required (multipart fields: text, email, image)"),
    )
}

async fn read_submission(
    headers: &HeaderMap,
    body: Body,
    max_image_bytes: usize,
) -> Result<Submission, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|error| {
        ApiError::new(
            ErrorCode::ExpectedMultipart,
            format!(
                "send the ad as multipart/form-data with the fields text, email and image ({error})"
            ),
        )
    });
    let body_limit = max_image_bytes + crate::ENVELOPE_BYTES;
    if declared_over(headers, body_limit) {
        return Err(boundary.err().unwrap_or_else(body_too_large));
    }
    let mut body = CountedBody::new(body, body_limit);
    let form = match boundary {
        Ok(boundary) => read_form(body.clone(), boundary, max_image_bytes).await,
        Err(not_a_form) => Err(not_a_form),
    };
    if form.is_err() {
        body.discard_rest(DISCARD_WITHIN).await;
    }
    form
}

/// The body announces more than `limit` bytes: it is refused at once,
/// unread, since reading it up to the limit would still leave its client
/// sending.
fn declared_over(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// The body of a submission refused before the handler read it (over the
/// rate limit), read into the void as a refused form's rest is, so its
/// client reads the answer.
pub(crate) async fn discard_submission(headers: &HeaderMap, body: Body, max_image_bytes: usize) {
    let body_limit = max_image_bytes + crate::ENVELOPE_BYTES;
    if !declared_over(headers, body_limit) {
        CountedBody::new(body, body_limit)
            .discard_rest(DISCARD_WITHIN)
            .await;
    }
}

/// The fields of the form, then the rest of the body up to its end.
async fn read_form(
    mut body: CountedBody,
    boundary: String,
    max_image_bytes: usize,
) -> Result<Submission, ApiError> {
    let mut multipart = Multipart::new(body.clone(), boundary);
    let (mut text, mut email, mut image) = (None, None, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| multipart_error(&body, error))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "text" if text.is_some() => return Err(duplicate("text")),
            "email" if email.is_some() => return Err(duplicate("email")),
            "image" if image.is_some() => return Err(duplicate("image")),
            "text" => {
                let value = read_text_field(&body, field, "text", MAX_TEXT_BYTES).await?;
                text =
                    Some(AdText::parse(&value).map_err(|error| {
                        ApiError::new(ErrorCode::InvalidText, error.to_string())
                    })?);
            }
            "email" => {
                let value = read_text_field(&body, field, "email", MAX_EMAIL_BYTES).await?;
                email =
                    Some(Email::parse(&value).map_err(|error| {
                        ApiError::new(ErrorCode::InvalidEmail, error.to_string())
                    })?);
            }
            "image" => {
                image = Some(
                    read_limited(&body, field, max_image_bytes, || {
                        ApiError::new(
                            ErrorCode::ImageTooManyBytes,
                            format!(
                                "the image is larger than {} bytes ({} MiB)",
                                max_image_bytes,
                                max_image_bytes / 1024 / 1024
                            ),
                        )
                    })
                    .await?,
                );
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(ApiError::new(
                    ErrorCode::UnknownField,
                    format!("unknown field {shown:?}; the fields are text, email and image"),
                ));
            }
        }
    }
    drop(multipart);
    body.finish().await?;
    Ok(Submission {
        text: text.ok_or_else(|| missing("text"))?,
        email: email.ok_or_else(|| missing("email"))?,
        image: image.ok_or_else(|| missing("image"))?,
    })
}

fn image_error(error: DecodeError) -> ApiError {
    let code = match error {
        DecodeError::Empty => ErrorCode::ImageEmpty,
        DecodeError::Unsupported => ErrorCode::ImageUnsupportedType,
        DecodeError::TooLarge { .. } => ErrorCode::ImageTooLarge,
        // The API probes and never resizes, so it never meets Unprocessable.
        DecodeError::Corrupt { .. } | DecodeError::Unprocessable(_) => ErrorCode::ImageCorrupt,
    };
    ApiError::new(code, error.to_string())
}

/// Submit an ad: it is validated, stored and queued for review; the
/// submitter gets an email once it is decided.
#[utoipa::path(
    post,
    path = "/ads",
    tag = "ads",
    request_body(content = crate::schemas::SubmitForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored and queued; poll `Location`.", body = Submitted,
            headers(("Location" = String, description = "`/ads/{id}`"))),
        (status = 400, description = "A field is missing, duplicated, unknown or invalid, the body is malformed or cut off, or the image is corrupt: `expected_multipart`, `malformed_multipart`, `incomplete_body`, `missing_field`, `duplicate_field`, `unknown_field`, `invalid_text`, `text_too_long`, `invalid_email`, `image_empty`, `image_corrupt`.", body = crate::error::Body),
        (status = 408, description = "The body took longer than the deadline: `request_timeout`.", body = crate::error::Body),
        (status = 413, description = "Too many bytes or pixels: `payload_too_large`, `image_too_many_bytes`, `image_too_large`.", body = crate::error::Body),
        (status = 415, description = "Not an image adpipe reads (judged by its bytes): `image_unsupported_type`.", body = crate::error::Body),
        (status = 429, description = "Over the per-client rate: `rate_limited`.", body = crate::error::Body,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The database or image store is down, or its disk is full; nothing was stored: `database_unavailable`, `storage_unavailable`, `storage_full`.", body = crate::error::Body,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, HeaderMap, Json<Submitted>), ApiError> {
    let submission = read_submission(&headers, body, state.config.max_image_bytes).await?;
    // The type comes from the bytes, never from the file name or the
    // part's Content-Type, both of which the client chooses.
    let info =
        adpipe_image::probe(&submission.image, &state.config.decode_limits).map_err(image_error)?;

    let id = AdId::new();
    accept(&state, submission, info, id)
        .instrument(tracing::info_span!("ad", ad_id = %id))
        .await
}

/// The disk under the image store or the database is full: an operator has
/// to free space, so the client is told to come back later, not shortly.
fn storage_full() -> ApiError {
    ApiError::new(
        ErrorCode::StorageFull,
        "the server's storage is full; nothing was saved, please try again later",
    )
}

/// Stores a validated submission and queues it, in the span of its ad id so
/// every log line of the ad carries it.
async fn accept(
    state: &AppState,
    submission: Submission,
    info: ImageInfo,
    id: AdId,
) -> Result<(StatusCode, HeaderMap, Json<Submitted>), ApiError> {
    let image_key = Blobs::key_for(id, info.format.extension());
    state
        .blobs
        .put(&image_key, submission.image)
        .await
        .map_err(|error| {
            tracing::error!(%id, %error, "could not store an image");
            match error {
                BlobError::Full(_) => storage_full(),
                _ => ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "the image store is unavailable; nothing was saved, please try again shortly",
                ),
            }
        })?;
    let ad = NewAd {
        id,
        text: submission.text,
        email: submission.email,
        image_key: image_key.clone(),
        content_type: info.format.mime_type().to_owned(),
    };
    if let Err(error) = state.db.insert_ad(&ad).await {
        tracing::error!(%id, %error, "could not insert an ad");
        if let Err(error) = state.blobs.delete(&image_key).await {
            tracing::warn!(%id, %error, key = %image_key, "could not remove the image of a refused ad");
        }
        return Err(if error.is_storage_full() {
            storage_full()
        } else {
            ApiError::new(
                ErrorCode::DatabaseUnavailable,
                "the database is unavailable; nothing was saved, please try again shortly",
            )
        });
    }
    // A publish that fails leaves the ad pending: the sweep publishes it
    // again, so the submitter need not retry.
    state.queue.enqueue(id).await;
    tracing::info!(%id, content_type = %ad.content_type, "ad submitted");
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/ads/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::ACCEPTED,
        headers,
        Json(Submitted {
            id,
            status: "pending",
            message: format!(
                "Your ad was registered with ID {id}. It is in the review queue; you will get an email when it is decided."
            ),
        }),
    ))
}
