//! Prometheus metrics: the process-wide recorder, the `/metrics` handler,
//! and the middleware that counts and times every request.
//!
//! Series are recorded through the `metrics` facade wherever the work
//! happens (the worker records its own); this module renders them in the
//! Prometheus text format. Gauges of the whole system (ads per status, the
//! queue's depth) are computed when Prometheus scrapes.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use adpipe_core::Status;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
/// What renders `/metrics`: handed from [`install_recorder`] to the routers.
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::AppState;

/// Request latency: 5 ms … 30 s.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// One run of the model over a batch: 10 ms … 60 s.
const TAGGING_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// From the SMTP server's acceptance to the committed "sent" mark: 1 ms …
/// the mark's patience (60 s).
const EMAIL_UNRECORDED_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0, 60.0,
];
/// Time an ad waits for a person: a minute … a week.
const REVIEW_WAIT_BUCKETS: &[f64] = &[
    60.0,
    300.0,
    900.0,
    3600.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
    86_400.0,
    3.0 * 86_400.0,
    7.0 * 86_400.0,
];
/// Histograms are drained this often even when nobody scrapes, so their
/// samples do not pile up.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle) and starts its upkeep thread.
pub fn install_recorder() -> Result<PrometheusHandle, String> {
    HANDLE.get_or_init(install).clone()
}

fn install() -> Result<PrometheusHandle, String> {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in [
        ("adpipe_http_request_duration_seconds", HTTP_BUCKETS),
        ("adpipe_tagging_duration_seconds", TAGGING_BUCKETS),
        ("adpipe_batch_size", BATCH_BUCKETS),
        ("adpipe_review_wait_seconds", REVIEW_WAIT_BUCKETS),
        ("adpipe_email_unrecorded_seconds", EMAIL_UNRECORDED_BUCKETS),
    ] {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.into()), buckets)
            .map_err(|error| error.to_string())?;
    }
    let handle = builder
        .install_recorder()
        .map_err(|error| format!("cannot install the metrics recorder: {error}"))?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        })
        .map_err(|error| format!("cannot start the metrics upkeep thread: {error}"))?;
    Ok(handle)
}

/// The `# HELP` lines.
fn describe() {
    describe_counter!(
        "adpipe_http_requests_total",
        "HTTP requests answered, by route template, method and status code."
    );
    describe_histogram!(
        "adpipe_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (to the response head), by route template."
    );
    describe_counter!(
        "adpipe_ads_submitted_total",
        "Ads accepted by POST /ads (answered 202)."
    );
    describe_gauge!(
        "adpipe_ads",
        "Ads in the database, by status (computed at scrape time)."
    );
    describe_gauge!(
        "adpipe_queue_depth",
        "Ads waiting in the queue: RabbitMQ's ready messages, or pending ads with the built-in queue."
    );
    describe_histogram!(
        "adpipe_tagging_duration_seconds",
        Unit::Seconds,
        "Time to classify one batch of images."
    );
    describe_histogram!("adpipe_batch_size", "Ads taken per worker batch.");
    describe_counter!(
        "adpipe_ads_decided_total",
        "Decisions recorded by the worker, by status."
    );
    describe_gauge!(
        "adpipe_review_queue_depth",
        "Ads waiting for a person (status in_review; computed at scrape time)."
    );
    describe_histogram!(
        "adpipe_review_wait_seconds",
        Unit::Seconds,
        "Time an ad spent in review before a moderator decided it."
    );
    describe_counter!(
        "adpipe_decisions_total",
        "Decisions recorded, by who decided (model or moderator) and outcome."
    );
    describe_counter!(
        "adpipe_webhook_deliveries_total",
        "Webhook deliveries the receiver took (2xx), by event."
    );
    describe_counter!(
        "adpipe_webhook_failures_total",
        "Webhook deliveries that failed (retried later)."
    );
    describe_counter!(
        "adpipe_emails_sent_total",
        "Emails the SMTP server accepted."
    );
    describe_histogram!(
        "adpipe_email_unrecorded_seconds",
        Unit::Seconds,
        "From the SMTP server's acceptance of an email to its committed 'sent' mark: a crash \
         in this window sends the email again (same Message-ID)."
    );
    describe_counter!(
        "adpipe_email_failures_total",
        "Emails the SMTP server did not take (retried later)."
    );
    describe_counter!(
        "adpipe_worker_errors_total",
        "Worker troubles, by kind: database, record, retry, message."
    );
}

/// `GET /metrics` of the API: the gauges of the whole system, then every series.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = state.metrics.clone() else {
        return crate::ApiError::not_found("metrics are not enabled").into_response();
    };
    update_gauges(&state).await;
    render(&handle)
}

async fn update_gauges(state: &AppState) {
    let counts = match state.db.count_by_status().await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot count the ads");
            return;
        }
    };
    let count = |status: Status| {
        counts
            .iter()
            .find(|(seen, _)| *seen == status)
            .map_or(0, |(_, n)| *n)
    };
    for status in Status::ALL {
        metrics::gauge!("adpipe_ads", "status" => status.as_str()).set(count(status) as f64);
    }
    metrics::gauge!("adpipe_review_queue_depth").set(count(Status::InReview) as f64);
    match state.queue.depth().await {
        Ok(depth) => metrics::gauge!("adpipe_queue_depth").set(depth as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot read the queue's depth"),
    }
}

fn render(handle: &PrometheusHandle) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// A router with only `GET /metrics` and `GET /healthz`, for a process
/// that serves no API (`adpipe worker` with `ADPIPE_METRICS_ADDR`).
pub fn standalone_router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || async move { render(&handle) }))
        .route("/healthz", get(alive))
}

/// The API's `GET /metrics` (with the gauges counted at scrape time) and
/// `GET /healthz` on a listener of their own (`ADPIPE_METRICS_ADDR`), so
/// the public port need not serve them: `state` must carry the recorder,
/// and the public router is then built from a state without it.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(alive))
        .with_state(state)
}

async fn alive() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Counts and times every request by its route template (`/ads/{id}`, never
/// the raw path, so ids do not become labels); requests no route matched
/// are `route="unmatched"`.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    metrics::histogram!("adpipe_http_request_duration_seconds", "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    if route == "/ads" && method == "POST" && status == StatusCode::ACCEPTED {
        metrics::counter!("adpipe_ads_submitted_total").increment(1);
    }
    metrics::counter!(
        "adpipe_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    response
}

/// Methods outside the standard ones are `other`: a client cannot mint labels.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}
