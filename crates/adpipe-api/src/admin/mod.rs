//! Admin endpoints: list and find ads, send one back to the model, delete
//! one with its image, the moderators' work ([`moderation`]: the review
//! queue, decisions, history), the model versions ([`models`]) and the
//! team itself (`crate::auth`: sessions, accounts, tokens, the audit log).
//! Every request names its
//! caller (a session, an account's token or the bootstrap token) and each
//! route needs a permission of the caller's role.

pub(crate) mod claims;
mod decision;
pub(crate) mod models;
pub(crate) mod moderation;
mod view;

use std::str::FromStr;

use adpipe_core::{AdId, Status};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json, Router, middleware, routing};
use serde::{Deserialize, Serialize};

use adpipe_auth::Permission;

use crate::auth::Caller;
use crate::auth::audit::{entry, record};
use crate::error::database_error;
use crate::paging::page_limit;
use crate::status::parse_id;
use crate::{ApiError, AppState, ErrorCode};

use moderation::{decide, history, image, reviews};
pub use view::AdminAd;

pub fn routes(state: AppState) -> Router<AppState> {
    use crate::auth::{accounts, audit, authenticate, require, session};
    let may = |permission| middleware::from_fn_with_state(permission, require);
    let signed_in = Router::new()
        .route(
            "/admin/ads",
            routing::get(list).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/ads/{id}",
            routing::get(get)
                .route_layer(may(Permission::Read))
                .merge(routing::delete(delete).route_layer(may(Permission::Retag))),
        )
        .route(
            "/admin/ads/{id}/review",
            routing::post(review).route_layer(may(Permission::Retag)),
        )
        .route(
            "/admin/ads/{id}/claim",
            routing::post(claims::claim)
                .delete(claims::release)
                .route_layer(may(Permission::Decide)),
        )
        .route(
            "/admin/ads/{id}/decision",
            routing::post(decide).route_layer(may(Permission::Decide)),
        )
        .route(
            "/admin/ads/{id}/history",
            routing::get(history).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/ads/{id}/image",
            routing::get(image).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/reviews",
            routing::get(reviews).route_layer(may(Permission::Read)),
        )
        .route("/admin/me", routing::get(session::me))
        .route(
            "/admin/me/password",
            routing::post(session::change_password),
        )
        .route(
            "/admin/users",
            routing::get(accounts::list)
                .post(accounts::add)
                .route_layer(may(Permission::ManageAccounts)),
        )
        .route(
            "/admin/users/{name}",
            routing::patch(accounts::change).route_layer(may(Permission::ManageAccounts)),
        )
        .route(
            "/admin/tokens",
            routing::get(accounts::list_tokens).post(accounts::add_token),
        )
        .route(
            "/admin/tokens/{id}",
            routing::delete(accounts::revoke_token),
        )
        .route(
            "/admin/models",
            routing::get(models::list).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/models/shadow",
            routing::get(models::shadow).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/models/{version}/report.html",
            routing::get(models::report).route_layer(may(Permission::Read)),
        )
        .route(
            "/admin/audit",
            routing::get(audit::list).route_layer(may(Permission::ReadAudit)),
        );
    // Signing in needs nobody; signing out needs the session it ends.
    let session_route = routing::post(session::sign_in).merge(
        routing::delete(session::sign_out)
            .route_layer(middleware::from_fn_with_state(state.clone(), authenticate)),
    );
    signed_in
        .route_layer(middleware::from_fn_with_state(state, authenticate))
        .route("/admin/session", session_route)
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

/// One page of ads, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AdminPage)]
pub struct Page {
    ads: Vec<AdminAd>,
    /// Pass as `before` for the next page; null on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    next: Option<AdId>,
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
            ApiError::new(
                ErrorCode::InvalidStatus,
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
    Extension(caller): Extension<Caller>,
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
    record(
        &state,
        entry(&caller, "ad.retagged", Some(format!("ad:{id}"))),
    )
    .await;
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
    Extension(caller): Extension<Caller>,
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
        ApiError::new(
            ErrorCode::StorageUnavailable,
            "the image store is unavailable; nothing was deleted",
        )
    })?;
    state.db.delete_ad(id).await.map_err(database_error)?;
    record(
        &state,
        entry(&caller, "ad.deleted", Some(format!("ad:{id}"))),
    )
    .await;
    tracing::info!(%id, "admin: ad deleted");
    Ok(StatusCode::NO_CONTENT)
}
