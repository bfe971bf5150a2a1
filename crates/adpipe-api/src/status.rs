//! `GET /ads/{id}` and `GET /ads/{id}/image`: what anyone holding an id may
//! know. Only approved ads show their text and image.

use std::str::FromStr;

use adpipe_core::{AdId, Status, Tag};
use adpipe_store::{AdRecord, BlobError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::{ApiError, AppState, ErrorCode};

/// Where an ad stands. Only approved ads show their text, tags and image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdStatus {
    #[schema(value_type = String, format = Uuid)]
    pub id: AdId,
    #[schema(value_type = crate::schemas::StatusName)]
    pub status: &'static str,
    /// For people: "Your ad is in the review queue", "A person is checking
    /// your ad", "Your appeal is being reviewed", "Your ad was not
    /// approved", "Your ad was approved", "Your ad could not be processed".
    pub message: String,
    /// Why a rejected or failed ad was not approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Approved ads: the ad's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Approved ads: the category the first tag maps to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Approved ads: the classifier's top labels, most confident first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::schemas::TagSchema>>)]
    pub tags: Option<Vec<Tag>>,
    /// Approved ads: absolute link to the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Where its appeal stands: `open` (rejected; the rejection email
    /// holds the link to appeal, once), `pending` (a person is looking
    /// again), `answered` (the answer was emailed). Absent when appeals do
    /// not concern the ad. The link's secret is never shown here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<AppealState>,
    /// For people: what `appeal` means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_message: Option<String>,
}

pub(crate) fn parse_id(text: &str) -> Result<AdId, ApiError> {
    AdId::from_str(text).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidId,
            "an ad id is a UUID like 0190a5e8-7c1e-7cc0-9c6e-5a7d3f0b1c2d",
        )
    })
}

pub(crate) async fn find(state: &AppState, id: AdId) -> Result<AdRecord, ApiError> {
    state
        .db
        .get_ad(id)
        .await
        .map_err(|error| {
            tracing::error!(%id, %error, "could not read an ad");
            ApiError::new(
                ErrorCode::DatabaseUnavailable,
                "the database is unavailable; please try again shortly",
            )
        })?
        .ok_or_else(|| ApiError::not_found(format!("there is no ad with ID {id}")))
}

/// The status of an ad.
#[utoipa::path(
    get,
    path = "/ads/{id}",
    tag = "ads",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID) from `POST /ads`")),
    responses(
        (status = 200, description = "Pending, in review (a person decides), approved, rejected or failed; with `appeal` where a rejection may be, or was, appealed.", body = AdStatus),
        (status = 400, description = "Not a UUID: `invalid_id`.", body = crate::error::Body),
        (status = 404, description = "No such ad: `not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "ad", skip_all, fields(ad_id = tracing::field::Empty))]
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AdStatus>, ApiError> {
    let id = parse_id(&id)?;
    tracing::Span::current().record("ad_id", tracing::field::display(id));
    let ad = find(&state, id).await?;
    let mut answer = AdStatus {
        id,
        status: ad.status.as_str(),
        message: String::new(),
        reason: None,
        text: None,
        category: None,
        tags: None,
        image_url: None,
        appeal: None,
        appeal_message: None,
    };
    // Whether it may be appealed, never how: the id is not the secret.
    let appeal = AppealState::of(&ad);
    answer.appeal = appeal;
    answer.appeal_message = appeal.map(|state| state.message().to_owned());
    match ad.status {
        Status::Pending => answer.message = "Your ad is in the review queue".into(),
        Status::InReview if ad.appealed_at.is_some() => {
            answer.message = "Your appeal is being reviewed".into();
        }
        // The model's leaning is for moderators only.
        Status::InReview => answer.message = "A person is checking your ad".into(),
        Status::Rejected => {
            answer.message = "Your ad was not approved".into();
            answer.reason = ad.reason;
        }
        Status::Failed => {
            answer.message = "Your ad could not be processed".into();
            answer.reason = ad.reason;
        }
        Status::Approved => {
            answer.message = "Your ad was approved".into();
            answer.text = Some(ad.text);
            answer.category = ad.category;
            answer.tags = Some(ad.tags);
            answer.image_url = Some(format!(
                "{}/ads/{id}/image",
                state.config.public_url.trim_end_matches('/')
            ));
        }
    }
    Ok(Json(answer))
}

/// The image of an approved ad, with its content type.
#[utoipa::path(
    get,
    path = "/ads/{id}/image",
    tag = "ads",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    responses(
        (status = 200, description = "The image bytes.",
            content(
                (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                (Vec<u8> = "image/gif"), (Vec<u8> = "image/bmp"),
            )),
        (status = 400, description = "Not a UUID: `invalid_id`.", body = crate::error::Body),
        (status = 403, description = "The ad is not approved (pending, in review, rejected or failed): `image_not_public`.", body = crate::error::Body),
        (status = 404, description = "No such ad, or its image is gone: `not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`, `storage_unavailable`.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "ad", skip_all, fields(ad_id = tracing::field::Empty))]
pub async fn image(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    tracing::Span::current().record("ad_id", tracing::field::display(id));
    let ad = find(&state, id).await?;
    if ad.status != Status::Approved {
        // The ad exists (its status is public to whoever holds the id); its
        // image is not published, or not yet.
        return Err(ApiError::new(
            ErrorCode::ImageNotPublic,
            format!(
                "ad {id} is {}: only approved ads show their image",
                ad.status.as_str()
            ),
        ));
    }
    image_of(&state, &ad).await
}

/// The stored image of `ad`, served so that a browser never runs it.
pub(crate) async fn image_of(state: &AppState, ad: &AdRecord) -> Result<Response, ApiError> {
    let id = ad.id;
    let bytes = state
        .blobs
        .get(&ad.image_key)
        .await
        .map_err(|error| match error {
            BlobError::NotFound(_) => ApiError::not_found(format!("the image of ad {id} is gone")),
            other => {
                tracing::error!(%id, error = %other, "could not read an image");
                ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "the image store is unavailable; please try again shortly",
                )
            }
        })?;
    let content_type = HeaderValue::from_str(&ad.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// Whether a status answer should say the ad may be appealed, is being
/// appealed, or was: what `GET /ads/{id}` shows (never the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealState {
    /// Rejected, and open to one appeal through the link of the rejection
    /// email.
    Open,
    /// Appealed: a person is looking at it again.
    Pending,
    /// Appealed and decided again: the answer was emailed.
    Answered,
}

impl AppealState {
    /// Of an ad as stored; `None` when appeals do not concern it.
    pub(crate) fn of(ad: &adpipe_store::AdRecord) -> Option<Self> {
        use adpipe_core::Status;
        match (ad.status, ad.appealed_at) {
            (Status::InReview, Some(_)) => Some(Self::Pending),
            (Status::Approved | Status::Rejected, Some(_)) => Some(Self::Answered),
            (Status::Rejected, None) if ad.appeal_secret.is_some() => Some(Self::Open),
            _ => None,
        }
    }

    /// Said to the submitter.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Open => {
                "You may appeal this decision once: the rejection email holds the link to do so"
            }
            Self::Pending => "Your appeal is being reviewed",
            Self::Answered => "Your appeal was answered by email",
        }
    }
}
