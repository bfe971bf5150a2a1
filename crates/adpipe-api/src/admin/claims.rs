//! Claims: a moderator who opens an ad in review holds it for a while
//! (`ADPIPE_CLAIM_SECS`, 10 minutes by default) so that two people never
//! work on the same ad. The queue shows who holds what, a decision by
//! anyone else is refused (409 `claimed`), and a claim ends when it runs
//! out, when it is released, or when the ad is decided.

use adpipe_auth::Permission;
use adpipe_core::AdId;
use adpipe_store::ClaimOutcome;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;

use crate::auth::Caller;
use crate::auth::audit::{entry, record};
use crate::error::database_error;
use crate::status::parse_id;
use crate::{ApiError, AppState, ErrorCode};

/// A claim held.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Claimed {
    /// The account holding the ad.
    claimed_by: String,
    /// When the claim runs out: RFC 3339, UTC.
    until: String,
    until_ms: i64,
}

/// 409 `claimed`: who holds the ad, and until when.
pub(crate) fn held_by_other(id: AdId, by: &str, until: i64) -> ApiError {
    ApiError::new(
        ErrorCode::Claimed,
        format!(
            "{by} holds ad {id} until {}; take another ad, or wait",
            adpipe_core::time::rfc3339_millis(until)
        ),
    )
}

/// Claim an ad in review (again, to extend one's own claim).
#[utoipa::path(
    post,
    path = "/admin/ads/{id}/claim",
    operation_id = "claim",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Held by the caller until `until`.", body = Claimed),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: the caller's role does not decide; `cross_site_request`.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 409, description = "`claimed`: another moderator holds it; `not_in_review`: only an ad in review is claimed.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn claim(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Claimed>, ApiError> {
    let id = parse_id(&id)?;
    match state
        .db
        .claim_review(id, &caller.name, state.config.claim_for)
        .await
        .map_err(database_error)?
    {
        ClaimOutcome::Held { until } => {
            record(
                &state,
                entry(&caller, "ad.claimed", Some(format!("ad:{id}"))),
            )
            .await;
            Ok(Json(Claimed {
                claimed_by: caller.name,
                until: adpipe_core::time::rfc3339_millis(until),
                until_ms: until,
            }))
        }
        ClaimOutcome::HeldByOther { by, until } => Err(held_by_other(id, &by, until)),
        ClaimOutcome::NotInReview(status) => Err(ApiError::new(
            ErrorCode::NotInReview,
            format!(
                "ad {id} is {}: only an ad in review is claimed",
                status.as_str()
            ),
        )),
        ClaimOutcome::NotFound => Err(ApiError::not_found(format!("there is no ad with ID {id}"))),
    }
}

/// Release one's claim (admins: anyone's).
#[utoipa::path(
    delete,
    path = "/admin/ads/{id}/claim",
    operation_id = "release_claim",
    tag = "admin",
    params(("id" = String, Path, format = Uuid, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The ad id (a UUID)")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Released (or there was no claim of the caller's to release)."),
        (status = 400, description = "`invalid_id`.", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`, `cross_site_request`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let anyone = caller.allows(Permission::ManageAccounts);
    if state
        .db
        .release_claim(id, &caller.name, anyone)
        .await
        .map_err(database_error)?
    {
        record(
            &state,
            entry(&caller, "ad.released", Some(format!("ad:{id}"))),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}
