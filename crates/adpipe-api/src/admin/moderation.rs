//! What a moderator works with: the ads waiting for a person, the decision
//! on one (a conditional update: of two moderators, one wins and the other
//! hears 409), an ad's decision history, and the image of any ad.

use adpipe_core::policy::TextReading;
use adpipe_core::{AdId, Status, Tag, TextInImage};
use adpipe_store::{HistoryEntry, Moderated};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::decision::{DecisionRequest, checked};
use super::view::{AdminAd, Appeal, Claim};
use crate::auth::Caller;
use crate::auth::audit::{entry, record};
use crate::error::database_error;
use crate::paging::page_limit;
use crate::status::{find, image_of, parse_id};
use crate::{ApiError, AppState, ErrorCode};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// The `next` of the previous page.
    #[param(format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    after: Option<String>,
    /// Ads per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// What the model made of an ad in review: for moderators only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// What the model would have decided alone: `approved` or `rejected`.
    outcome: Option<&'static str>,
    /// Its best category (preselected for an approval).
    category: Option<String>,
    /// That category's score, 0 to 1.
    score: Option<f64>,
    /// Why it went to a person.
    reason: Option<String>,
}

/// An ad waiting for a person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    #[schema(value_type = String, format = Uuid)]
    id: AdId,
    text: String,
    email: String,
    created_at_ms: i64,
    review_since_ms: Option<i64>,
    /// Seconds since it went to review.
    waiting_s: i64,
    /// Its image (needs the bearer token, like every admin endpoint).
    image_url: String,
    #[schema(value_type = Vec<crate::schemas::TagSchema>)]
    tags: Vec<Tag>,
    suggestion: Suggestion,
    /// What its text said, when the policy reads texts.
    #[schema(value_type = Option<crate::schemas::TextReadingSchema>)]
    text_reading: Option<TextReading>,
    /// The text read in its photo, when the policy reads photos; empty
    /// when nothing was read.
    #[schema(value_type = Vec<crate::schemas::TextInImageSchema>)]
    text_in_image: Vec<TextInImage>,
    /// Who is looking at it now (a claim), if anyone: "next" skips it.
    claim: Option<Claim>,
    /// The submitter's appeal, when the ad is back in review because of one.
    appeal: Option<Appeal>,
}

/// One page of the review queue, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    ads: Vec<ReviewItem>,
    /// Pass as `after` for the next page; null on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    next: Option<AdId>,
    /// The categories an ad may be approved under (the policy's).
    categories: Vec<String>,
    /// Ads in review in all.
    total: i64,
}

/// The ads waiting for a person, oldest first.
#[utoipa::path(
    get,
    path = "/admin/reviews",
    tag = "admin",
    params(ReviewQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of the review queue.", body = ReviewPage),
        (status = 400, description = "`invalid_id` (after), `invalid_limit`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn reviews(
    State(state): State<AppState>,
    Query(query): Query<ReviewQuery>,
) -> Result<Json<ReviewPage>, ApiError> {
    let after = query.after.as_deref().map(parse_id).transpose()?;
    let limit = page_limit(query.limit)?;
    let ads = state
        .db
        .in_review(after, limit)
        .await
        .map_err(database_error)?;
    let total = state.db.count_in_review().await.map_err(database_error)?;
    let next = (ads.len() == limit as usize)
        .then(|| ads.last().map(|ad| ad.id))
        .flatten();
    let now = adpipe_store::now_millis();
    let ads = ads
        .into_iter()
        .map(|ad| ReviewItem {
            claim: Claim::of(&ad, now),
            appeal: Appeal::of(&ad),
            id: ad.id,
            image_url: format!("/admin/ads/{}/image", ad.id),
            waiting_s: (now - ad.review_since.unwrap_or(ad.created_at)).max(0) / 1000,
            review_since_ms: ad.review_since,
            created_at_ms: ad.created_at,
            suggestion: Suggestion {
                outcome: ad.suggestion.map(Status::as_str),
                category: ad.category,
                score: ad.score,
                reason: ad.reason,
            },
            text: ad.text,
            email: ad.email,
            tags: ad.tags,
            text_reading: ad.text_reading,
            text_in_image: ad.text_in_image,
        })
        .collect();
    Ok(Json(ReviewPage {
        ads,
        next,
        categories: state.config.categories.clone(),
        total,
    }))
}

/// Decide an ad in review (or, with `override`, overturn a final decision).
#[utoipa::path(
    post,
    path = "/admin/ads/{id}/decision",
    operation_id = "decide",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    request_body = DecisionRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Recorded: the ad as it is now. The submitter's email and the site's webhook follow.", body = AdminAd),
        (status = 400, description = "`invalid_id`, `invalid_decision`, `unknown_category`, `invalid_json`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: the caller's role does not decide; `cross_site_request`.", body = crate::error::Body),
        (status = 409, description = "`not_in_review`: the ad is not waiting for a person (a colleague decided it first, or it was never sent to review); `override` overturns a final decision. `claimed`: another moderator holds it.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    request: Result<Json<DecisionRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AdminAd>, ApiError> {
    let id = parse_id(&id)?;
    let Json(request) = request.map_err(|rejection| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                "the body must be a JSON decision: {}",
                rejection.body_text()
            ),
        )
    })?;
    let moderation = checked(&request, &state.config.categories, &caller.name)?;
    match state
        .db
        .record_moderation(id, &moderation)
        .await
        .map_err(database_error)?
    {
        Moderated::Decided { ad, waited_ms } => {
            let outcome = moderation.outcome.as_str();
            metrics::counter!("adpipe_decisions_total", "decided_by" => "moderator", "outcome" => outcome)
                .increment(1);
            if let Some(waited) = waited_ms {
                metrics::histogram!("adpipe_review_wait_seconds").record(waited as f64 / 1000.0);
            }
            let action = if moderation.overrides {
                "ad.overridden"
            } else {
                "ad.decided"
            };
            record(
                &state,
                entry(&caller, action, Some(format!("ad:{id}"))).detail(
                    serde_json::json!({ "outcome": outcome, "category": moderation.category }),
                ),
            )
            .await;
            tracing::info!(%id, outcome, moderator = moderation.moderator, overrides = moderation.overrides, "admin: moderator decided");
            Ok(Json(AdminAd::from(*ad)))
        }
        Moderated::Refused(status) => Err(ApiError::new(
            ErrorCode::NotInReview,
            if moderation.overrides {
                format!(
                    "ad {id} is {}: only an ad in review or decided can be decided by a person",
                    status.as_str()
                )
            } else {
                format!(
                    "ad {id} is {}, not in review: someone decided it first, or it never went \
                     to review (send \"override\": true to overturn a final decision)",
                    status.as_str()
                )
            },
        )),
        Moderated::Claimed { by, until } => Err(super::claims::held_by_other(id, &by, until)),
        Moderated::NotFound => Err(ApiError::not_found(format!("there is no ad with ID {id}"))),
    }
}

/// One decision of an ad's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryItem {
    at_ms: i64,
    /// RFC 3339, UTC.
    at: String,
    /// `model:<model>@<policy>` or `moderator:<name>`.
    by: String,
    #[schema(value_type = crate::schemas::StatusName)]
    outcome: &'static str,
    category: Option<String>,
    /// The model's score; null for a person's decision.
    score: Option<f64>,
    reason: Option<String>,
    model: Option<String>,
    policy: Option<String>,
    /// A moderator's internal note (never shown to the submitter).
    note: Option<String>,
}

impl From<HistoryEntry> for HistoryItem {
    fn from(entry: HistoryEntry) -> Self {
        Self {
            at_ms: entry.at,
            at: adpipe_core::time::rfc3339_millis(entry.at),
            by: entry.by,
            outcome: entry.outcome.as_str(),
            category: entry.category,
            score: entry.score,
            reason: entry.reason,
            model: entry.model,
            policy: entry.policy,
            note: entry.note,
        }
    }
}

/// An ad's decisions, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    decisions: Vec<HistoryItem>,
}

/// Every decision made about an ad, oldest first: the model's, retags,
/// moderators' and overrides.
#[utoipa::path(
    get,
    path = "/admin/ads/{id}/history",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The decisions, oldest first.", body = History),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<History>, ApiError> {
    let id = parse_id(&id)?;
    find(&state, id).await?;
    let decisions = state.db.history(id).await.map_err(database_error)?;
    Ok(Json(History {
        decisions: decisions.into_iter().map(HistoryItem::from).collect(),
    }))
}

/// The image of any ad, whatever its status (for moderators).
#[utoipa::path(
    get,
    path = "/admin/ads/{id}/image",
    operation_id = "admin_image",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The image bytes.",
            content(
                (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                (Vec<u8> = "image/gif"), (Vec<u8> = "image/bmp"),
            )),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`, `storage_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn image(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let ad = find(&state, id).await?;
    image_of(&state, &ad).await
}
