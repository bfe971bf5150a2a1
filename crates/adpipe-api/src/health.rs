//! `/healthz`: the process answers. `/readyz`: it can do its job — the
//! database, the image store and (with RabbitMQ) the broker answer, and
//! the model is loaded where this process runs a worker —
//! so a load balancer or compose healthcheck sends traffic only then.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

/// The process answers (liveness).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive.", body = crate::schemas::Health))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process can do its job (readiness): the database, the image store
/// and the queue answer.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = crate::schemas::Readiness),
        (status = 503, description = "A dependency is down; `checks` says which.", body = crate::schemas::Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await.map_err(|error| error.to_string());
    let blobs = state.blobs.ping().await.map_err(|error| error.to_string());
    let queue = state.queue.check().await.map_err(|error| error.to_string());
    let ready = database.is_ok() && blobs.is_ok() && queue.is_ok();
    let show = |check: Result<String, String>| match check {
        Ok(detail) => json!({"ok": true, "detail": detail}),
        Err(error) => json!({"ok": false, "error": error}),
    };
    let mut checks = json!({
        "database": show(database.map(|()| "answers".to_owned())),
        "blobs": show(blobs.map(|()| state.blobs.description().to_owned())),
        "queue": show(queue),
    });
    // The model is loaded before the server listens, so where there is one
    // it is ready; an API-only process has none to report.
    if let Some(model) = &state.model {
        checks["model"] = show(Ok(format!("{model} loaded")));
    }
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": checks
        })),
    )
}
