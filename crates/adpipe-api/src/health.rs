//! `/healthz`: the process answers. `/readyz`: it can do its job — the
//! database, the image store and (with RabbitMQ) the broker answer —
//! so a load balancer or compose healthcheck sends traffic only then.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{AppState, Enqueue};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await.map_err(|error| error.to_string());
    let blobs = state.blobs.ping().await.map_err(|error| error.to_string());
    let queue = match &state.enqueue {
        Enqueue::Embedded(_) => Ok("built-in".to_owned()),
        Enqueue::Amqp(publisher) => publisher
            .depth()
            .await
            .map(|depth| format!("rabbitmq, {depth} waiting"))
            .map_err(|error| error.to_string()),
    };
    let ready = database.is_ok() && blobs.is_ok() && queue.is_ok();
    let show = |check: Result<String, String>| match check {
        Ok(detail) => json!({"ok": true, "detail": detail}),
        Err(error) => json!({"ok": false, "error": error}),
    };
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": {
                "database": show(database.map(|()| "answers".to_owned())),
                "blobs": show(blobs.map(|()| state.blobs.description().to_owned())),
                "queue": show(queue),
            }
        })),
    )
}
