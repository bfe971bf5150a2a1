//! The audit log: who did what to whom, from where. Every sign-in (failed
//! ones too), account and token change, decision, retag and deletion is
//! appended; the database refuses to change or delete a row, and the API
//! only reads it (`GET /admin/audit`, admins).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use adpipe_store::AuditEntry;

use super::Caller;
use crate::error::database_error;
use crate::{ApiError, AppState, ErrorCode};

/// What `caller` did, to append: who, from where, with which browser.
pub(crate) fn entry(caller: &Caller, action: &str, target: Option<String>) -> AuditEntry {
    let address = caller.address.map(|address| address.to_string());
    let entry = AuditEntry::new(caller.actor(), action)
        .client(address.as_deref(), caller.user_agent.as_deref());
    match target {
        Some(target) => entry.target(target),
        None => entry,
    }
}

/// Appends `entry`, for actions the store does not record with their own
/// change (sign-ins, decisions, retags, deletions). The action has
/// happened already: a database that refuses the record is logged loudly,
/// and the answer stands.
pub(crate) async fn record(state: &AppState, entry: AuditEntry) {
    if let Err(error) = state.db.append_audit(&entry).await {
        metrics::counter!("adpipe_audit_failures_total").increment(1);
        tracing::error!(%error, actor = %entry.actor, action = %entry.action, "could not append to the audit log");
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor (`account:ana`, `token:ana/nightly`, `bootstrap`).
    actor: Option<String>,
    /// Only this action (`ad.decided`, `session.sign_in_failed`, ...).
    action: Option<String>,
    /// Only entries at or after this time (milliseconds since the epoch).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// The `next` of the previous page.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// Entries per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    seq: i64,
    at_ms: i64,
    /// RFC 3339, UTC.
    at: String,
    actor: String,
    action: String,
    target: Option<String>,
    /// What changed, when the action has details (a role, a token's name).
    #[schema(value_type = Option<Object>)]
    detail: Option<serde_json::Value>,
    address: Option<String>,
    user_agent: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditItem>,
    /// Pass as `before` for the next page; null on the last one.
    next: Option<i64>,
}

/// The audit log, newest first (admins).
#[utoipa::path(
    get,
    path = "/admin/audit",
    operation_id = "audit",
    tag = "accounts",
    params(AuditQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of entries.", body = AuditPage),
        (status = 400, description = "`invalid_limit`.", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: admins only.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = crate::paging::page_limit(query.limit)?;
    if query.before.is_some_and(|before| before < 1) || query.since.is_some_and(|at| at < 0) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "before is a positive sequence number and since a time in milliseconds",
        ));
    }
    let rows = state
        .db
        .audit(&adpipe_store::AuditFilter {
            actor: query.actor.as_deref(),
            action: query.action.as_deref(),
            since: query.since,
            before_seq: query.before,
            limit,
        })
        .await
        .map_err(database_error)?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|row| row.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: rows
            .into_iter()
            .map(|row| AuditItem {
                seq: row.seq,
                at_ms: row.at,
                at: adpipe_core::time::rfc3339_millis(row.at),
                actor: row.actor,
                action: row.action,
                target: row.target,
                detail: row.detail,
                address: row.address,
                user_agent: row.user_agent,
            })
            .collect(),
        next,
    }))
}
