//! Admin endpoints, mounted only when an admin token is configured: list
//! and find ads, send one back to the model, delete one with its image, and
//! the moderators' work ([`moderation`]: the review queue, decisions,
//! history). Every request needs `Authorization: Bearer <token>`.

mod decision;
pub(crate) mod moderation;

use std::str::FromStr;

use adpipe_core::{AdId, Status, Tag};
use adpipe_store::AdRecord;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware, routing};
use serde::{Deserialize, Serialize};

use crate::status::parse_id;
use crate::{ApiError, AppState};

use moderation::{decide, history, image, reviews};

const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/ads", routing::get(list))
        .route("/admin/ads/{id}", routing::get(get).delete(delete))
        .route("/admin/ads/{id}/review", routing::post(review))
        .route("/admin/ads/{id}/decision", routing::post(decide))
        .route("/admin/ads/{id}/history", routing::get(history))
        .route("/admin/ads/{id}/image", routing::get(image))
        .route("/admin/reviews", routing::get(reviews))
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

/// A page size as asked, or 400 when the document's bounds (1 to 500)
/// do not hold: a client asking for more should know it gets less.
fn page_limit(limit: Option<u64>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=u64::from(MAX_PAGE)).contains(&limit) => Ok(limit as u32),
        Some(_) => Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be between 1 and 500",
        )),
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let expected = state.config.admin_token.as_deref().unwrap_or_default();
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if expected.is_empty() || !same_secret(given.as_bytes(), expected.as_bytes()) {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin endpoints need Authorization: Bearer <ADPIPE_ADMIN_TOKEN>",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"adpipe admin\""),
        );
        return response;
    }
    next.run(request).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only ads with this status.
    #[param(value_type = Option<crate::schemas::StatusName>)]
    status: Option<String>,
    /// Only ads submitted from this address (not case-sensitive).
    email: Option<String>,
    /// The `next` of the previous page.
    #[param(format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    before: Option<String>,
    /// Ads per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// Everything stored about an ad (times in milliseconds since the epoch).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminAd {
    #[schema(value_type = String, format = Uuid)]
    id: AdId,
    #[schema(value_type = crate::schemas::StatusName)]
    status: &'static str,
    text: String,
    email: String,
    content_type: String,
    category: Option<String>,
    #[schema(value_type = Vec<crate::schemas::TagSchema>)]
    tags: Vec<Tag>,
    model: Option<String>,
    policy: Option<String>,
    reason: Option<String>,
    attempts: i64,
    created_at_ms: i64,
    decided_at_ms: Option<i64>,
    notified_at_ms: Option<i64>,
    /// The model's score for its best category (0 to 1).
    score: Option<f64>,
    /// In review: what the model would have decided alone.
    suggestion: Option<&'static str>,
    /// In review: since when.
    review_since_ms: Option<i64>,
    /// What its text said, when the policy reads texts.
    #[schema(value_type = Option<crate::schemas::TextReadingSchema>)]
    text_reading: Option<adpipe_core::policy::TextReading>,
}

impl From<AdRecord> for AdminAd {
    fn from(ad: AdRecord) -> Self {
        Self {
            id: ad.id,
            status: ad.status.as_str(),
            text: ad.text,
            email: ad.email,
            content_type: ad.content_type,
            category: ad.category,
            tags: ad.tags,
            model: ad.model,
            policy: ad.policy,
            reason: ad.reason,
            attempts: ad.attempts,
            created_at_ms: ad.created_at,
            decided_at_ms: ad.decided_at,
            notified_at_ms: ad.notified_at,
            score: ad.score,
            suggestion: ad.suggestion.map(Status::as_str),
            review_since_ms: ad.review_since,
            text_reading: ad.text_reading,
        }
    }
}

/// One page of ads, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AdminPage)]
pub struct Page {
    ads: Vec<AdminAd>,
    /// Pass as `before` for the next page; null on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    next: Option<AdId>,
}

fn database_error(error: adpipe_store::DbError) -> ApiError {
    tracing::error!(%error, "admin: database error");
    ApiError::unavailable(
        "database_unavailable",
        "the database is unavailable; please try again shortly",
    )
}

/// List ads, newest first, optionally by status and by submitter.
#[utoipa::path(
    get,
    path = "/admin/ads",
    tag = "admin",
    params(ListQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of ads.", body = Page),
        (status = 400, description = "`invalid_status`, `invalid_id` (before), `invalid_limit`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(Status::from_str)
        .transpose()
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_status",
                "status must be pending, in_review, approved, rejected or failed",
            )
        })?;
    let before = query.before.as_deref().map(parse_id).transpose()?;
    let limit = page_limit(query.limit)?;
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|email| !email.is_empty());
    let ads = state
        .db
        .list_ads(status, email, before, limit)
        .await
        .map_err(database_error)?;
    let next = (ads.len() == limit as usize)
        .then(|| ads.last().map(|ad| ad.id))
        .flatten();
    Ok(Json(Page {
        ads: ads.into_iter().map(AdminAd::from).collect(),
        next,
    }))
}

/// Everything stored about one ad.
#[utoipa::path(
    get,
    path = "/admin/ads/{id}",
    operation_id = "admin_get",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The ad.", body = AdminAd),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AdminAd>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(AdminAd::from(crate::status::find(&state, id).await?)))
}

/// Send an ad back to the model (its decision is cleared; the submitter
/// hears the new outcome). Its decision history is kept.
#[utoipa::path(
    post,
    path = "/admin/ads/{id}/review",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 202, description = "Pending again and queued.", body = crate::submit::Submitted),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = parse_id(&id)?;
    if !state
        .db
        .reset_for_review(id)
        .await
        .map_err(database_error)?
    {
        return Err(ApiError::not_found(format!("there is no ad with ID {id}")));
    }
    state.queue.enqueue(id).await;
    tracing::info!(%id, "admin: ad sent back for review");
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "id": id,
            "status": "pending",
            "message": "The ad is back in the review queue",
        })),
    ))
}

/// Delete an ad and its image.
#[utoipa::path(
    delete,
    path = "/admin/ads/{id}",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted, image included."),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`, `storage_unavailable` (nothing deleted).", body = crate::error::Body),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let ad = state
        .db
        .get_ad(id)
        .await
        .map_err(database_error)?
        .ok_or_else(|| ApiError::not_found(format!("there is no ad with ID {id}")))?;
    // The image first: a row without its image is visible to nobody, an
    // image without its row would be an orphan no one can find.
    state.blobs.delete(&ad.image_key).await.map_err(|error| {
        tracing::error!(%id, %error, "admin: could not delete an image");
        ApiError::unavailable(
            "storage_unavailable",
            "the image store is unavailable; nothing was deleted",
        )
    })?;
    state.db.delete_ad(id).await.map_err(database_error)?;
    tracing::info!(%id, "admin: ad deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn tokens_must_match_exactly() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3cretX", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
        assert!(!same_secret(b"S3cret", b"s3cret"));
    }
}
