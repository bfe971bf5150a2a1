//! `GET /admin/models`: the model versions stored (`adpipe models add`),
//! which one the workers run, and every promotion and rollback with who
//! made it; `GET /admin/models/shadow`: how a candidate run in shadow
//! compares with the live model and the moderators. Changing the live model is an admin's command-line step
//! (`adpipe models promote|rollback`), where the candidate is first
//! measured on the ads people decided.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use adpipe_store::{promoted_stack, shadow_report};

use crate::error::database_error;
use crate::{ApiError, AppState, ErrorCode};

/// A stored model version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersionItem {
    /// The SHA-256 of its files, hex: the same files are the same version.
    version: String,
    /// Its first 12 digits, as decision histories name it
    /// (`model:<name>:<short>@<policy>`).
    short: String,
    name: String,
    /// `image_classifier` or `image_head` (a head trained by `adpipe train`).
    kind: String,
    /// Its files' paths (a head's backbone under `backbone/`).
    files: Vec<String>,
    added_by: String,
    /// RFC 3339, UTC.
    added_at: String,
    /// Whether the workers run it now.
    live: bool,
}

/// A promotion or rollback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentItem {
    seq: i64,
    /// `promote` or `rollback`.
    action: String,
    /// The version live from then on; null: the model the workers were
    /// configured with (`ADPIPE_MODEL`).
    version: Option<String>,
    /// Promoted although it did worse on the ads people decided, or could
    /// not be compared (`--force`).
    forced: bool,
    /// `cli:<name>`.
    by: String,
    /// RFC 3339, UTC.
    at: String,
}

/// The model versions and which one runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelsPage {
    /// The version the workers run; null: the configured model.
    live: Option<String>,
    /// Newest first.
    versions: Vec<ModelVersionItem>,
    /// Newest first.
    deployments: Vec<DeploymentItem>,
}

/// The model versions, the live one, and who promoted or rolled back what.
#[utoipa::path(
    get,
    path = "/admin/models",
    operation_id = "models",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The versions and their history.", body = ModelsPage),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<ModelsPage>, ApiError> {
    let versions = state.db.model_versions().await.map_err(database_error)?;
    let deployments = state.db.deployments().await.map_err(database_error)?;
    let live = promoted_stack(&deployments).pop().flatten();
    Ok(Json(ModelsPage {
        versions: versions
            .into_iter()
            .map(|version| ModelVersionItem {
                short: adpipe_core::short_version(&version.version).to_owned(),
                live: live.as_deref() == Some(version.version.as_str()),
                version: version.version,
                name: version.name,
                kind: version.kind,
                files: version.files,
                added_by: version.added_by,
                added_at: adpipe_core::time::rfc3339_millis(version.added_at),
            })
            .collect(),
        deployments: deployments
            .into_iter()
            .rev()
            .map(|deployment| DeploymentItem {
                seq: deployment.seq,
                action: deployment.action.as_str().to_owned(),
                version: deployment.version,
                forced: deployment.forced,
                by: deployment.by,
                at: adpipe_core::time::rfc3339_millis(deployment.at),
            })
            .collect(),
        live,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShadowQuery {
    /// A version, or its first digits; default: the one running in shadow
    /// now, else the last one that ran.
    #[param(pattern = "^[0-9a-f]{1,64}$")]
    version: Option<String>,
}

/// How the shadow candidate and the live model compare on one category of
/// the ads' outcome now (the category when approved, `rejected`,
/// `in_review`; the last row, `all`, sums them).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShadowCategory {
    category: String,
    ads: u64,
    /// The shadow would have decided as the live model did.
    agrees_with_live: u64,
    /// Of these ads, those whose outcome a person decided...
    decided_by_people: u64,
    /// ...where the live model's decision was the person's...
    live_agrees_with_people: u64,
    /// ...where the shadow's would have been...
    shadow_agrees_with_people: u64,
    /// ...and those each left to people.
    live_left_to_people: u64,
    shadow_left_to_people: u64,
}

/// A shadow run's verdicts beside the live model's and the moderators'.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShadowReport {
    /// Null when no model has run in shadow.
    version: Option<String>,
    short: Option<String>,
    /// Its name, when it was added with `adpipe models add`.
    name: Option<String>,
    /// Whether it runs in shadow now (set by an admin; a worker's
    /// `ADPIPE_SHADOW_MODEL` is not known here).
    running: bool,
    categories: Vec<ShadowCategory>,
}

/// What a shadow candidate would have decided, per category, beside the
/// live model and the moderators.
#[utoipa::path(
    get,
    path = "/admin/models/shadow",
    operation_id = "shadow_report",
    tag = "admin",
    params(ShadowQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The shadow report.", body = ShadowReport),
        (status = 400, description = "`bad_request`: the version is not hex, or the start of several.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`: no such version.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn shadow(
    State(state): State<AppState>,
    Query(query): Query<ShadowQuery>,
) -> Result<Json<ShadowReport>, ApiError> {
    let running = state.db.shadow_model().await.map_err(database_error)?;
    let shadowed = state.db.shadowed_versions().await.map_err(database_error)?;
    let versions = state.db.model_versions().await.map_err(database_error)?;
    let version = match query.version.as_deref() {
        Some(prefix) => {
            if prefix.is_empty()
                || prefix.len() > 64
                || !prefix
                    .bytes()
                    .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
            {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "version is a model version's hex digits (adpipe models list)",
                ));
            }
            let mut matching: Vec<&str> = shadowed
                .iter()
                .map(String::as_str)
                .chain(versions.iter().map(|version| version.version.as_str()))
                .filter(|version| version.starts_with(prefix))
                .collect();
            matching.sort_unstable();
            matching.dedup();
            match matching[..] {
                [one] => Some(one.to_owned()),
                [] => {
                    return Err(ApiError::new(
                        ErrorCode::NotFound,
                        "no model version starts with these digits",
                    ));
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::BadRequest,
                        "these digits start several versions: give more",
                    ));
                }
            }
        }
        None => running
            .as_ref()
            .map(|version| version.version.clone())
            .or_else(|| shadowed.first().cloned()),
    };
    let Some(version) = version else {
        return Ok(Json(ShadowReport {
            version: None,
            short: None,
            name: None,
            running: false,
            categories: Vec::new(),
        }));
    };
    let rows = state
        .db
        .shadow_rows(&version)
        .await
        .map_err(database_error)?;
    let categories = shadow_report(&rows)
        .into_iter()
        .map(|agreement| ShadowCategory {
            category: agreement.category,
            ads: agreement.ads,
            agrees_with_live: agreement.agrees_with_live,
            decided_by_people: agreement.decided_by_people,
            live_agrees_with_people: agreement.live_agrees_with_people,
            shadow_agrees_with_people: agreement.shadow_agrees_with_people,
            live_left_to_people: agreement.live_left_to_people,
            shadow_left_to_people: agreement.shadow_left_to_people,
        })
        .collect();
    Ok(Json(ShadowReport {
        short: Some(adpipe_core::short_version(&version).to_owned()),
        name: versions
            .iter()
            .find(|known| known.version == version)
            .map(|known| known.name.clone()),
        running: running.is_some_and(|running| running.version == version),
        version: Some(version),
        categories,
    }))
}

/// What a training report may load: its own inline styles and SVG charts,
/// nothing else, and no script at all; sandboxed, so it runs with no
/// access to the console's origin.
const REPORT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox";

/// A version's training report (`adpipe train` writes it as report.html:
/// self-contained, no script), as stored with the version.
#[utoipa::path(
    get,
    path = "/admin/models/{version}/report.html",
    operation_id = "model_report",
    tag = "admin",
    params(("version" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The whole version (adpipe models list)")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The report, HTML.", content_type = "text/html", body = String),
        (status = 400, description = "`bad_request`: not a version.", body = crate::error::Body),
        (status = 401, description = "Missing or wrong bearer token: `unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`: no such version, or it has no report.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`, `storage_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    if version.len() != 64
        || !version
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "a version is 64 lowercase hex digits (adpipe models list)",
        ));
    }
    let versions = state.db.model_versions().await.map_err(database_error)?;
    let known = versions.iter().any(|known| {
        known.version == version && known.files.iter().any(|file| file == "report.html")
    });
    if !known {
        return Err(ApiError::not_found(
            "no stored version with a training report has this name",
        ));
    }
    let bytes = adpipe_store::get_model_file(&state.blobs, &version, "report.html")
        .await
        .map_err(|error| match error {
            adpipe_store::BlobError::NotFound(_) => {
                ApiError::not_found("the report of this version is gone from the store")
            }
            error => {
                tracing::warn!(%error, "cannot read a model's report");
                ApiError::new(
                    ErrorCode::StorageUnavailable,
                    "the store of models is unavailable; retry later",
                )
            }
        })?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    crate::page::protect(headers, REPORT_POLICY);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}
