//! adpipe's HTTP API: `POST /ads` stores an ad and queues it for review,
//! `GET /ads/{id}` tells where it stands, `GET /ads/{id}/image` serves the
//! image of an approved ad. The API never tags; it validates, stores and
//! enqueues, so it stays fast however slow the model is.

mod admin;
mod appeal;
mod auth;
mod client;
mod error;
mod health;
mod limits;
pub mod metrics;
mod openapi;
mod page;
mod paging;
mod schemas;
mod status;
mod submit;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adpipe_image::DecodeLimits;
use adpipe_queue::Queue;
use adpipe_store::{Blobs, Database};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use auth::{Caller, Via};
pub use client::{ClientAddr, TrustedProxies};
pub use error::{ApiError, ErrorCode};
pub use limits::RateLimiter;
pub use openapi::{ApiDoc, document as openapi_document};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The largest image accepted, in bytes.
    pub max_image_bytes: usize,
    /// Pixel limits, checked from the image header before anything is stored.
    pub decode_limits: DecodeLimits,
    /// Base of the absolute links the API hands out (`image_url`).
    pub public_url: String,
    /// A request that takes longer (e.g. a body trickling in) is cut off.
    pub request_timeout: Duration,
    /// The bootstrap token: an admin without an account (deployments that
    /// predate accounts); `None`: only accounts sign in.
    pub admin_token: Option<String>,
    /// A console session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after signing in, whatever happens.
    pub session_max: Duration,
    /// How long opening an ad in review holds it for its moderator.
    pub claim_for: Duration,
    /// Submissions per minute and client address (0: no limit), and how
    /// many may come at once.
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    /// Requests handled at once; more wait their turn.
    pub max_concurrent_requests: usize,
    /// The policy's categories: those a moderator may approve an ad under.
    pub categories: Vec<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the
    /// client; empty: the socket's peer is the client.
    pub trusted_proxies: TrustedProxies,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_image_bytes: 10 * 1024 * 1024,
            decode_limits: DecodeLimits::default(),
            public_url: "http://127.0.0.1:8080".into(),
            request_timeout: Duration::from_secs(30),
            admin_token: None,
            session_idle: Duration::from_secs(60 * 60),
            session_max: Duration::from_secs(12 * 60 * 60),
            claim_for: Duration::from_secs(10 * 60),
            // What `adpipe serve` runs with: generous for a person, a brake
            // on a script.
            rate_limit_per_minute: 120,
            rate_limit_burst: 30,
            max_concurrent_requests: 1024,
            categories: Vec::new(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Database,
    pub blobs: Blobs,
    /// Where stored ads wait for a worker.
    pub queue: Queue,
    pub config: Arc<ApiConfig>,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Renders `GET /metrics`; `None`: no such route.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The model a worker in this process loaded (`adpipe serve`), shown by
    /// `/readyz`; `None` where no worker runs (`adpipe api`).
    pub model: Option<Arc<str>>,
    /// `/openapi.json`, made once for this configuration.
    pub openapi: Arc<str>,
}

impl AppState {
    pub fn new(db: Database, blobs: Blobs, queue: Queue, config: ApiConfig) -> Self {
        let rate_limiter = (config.rate_limit_per_minute > 0).then(|| {
            Arc::new(RateLimiter::new(
                config.rate_limit_per_minute,
                config.rate_limit_burst,
            ))
        });
        let openapi = serde_json::to_string_pretty(&openapi::document(&config.categories))
            .expect("the OpenAPI document serialises");
        Self {
            db,
            blobs,
            queue,
            config: Arc::new(config),
            rate_limiter,
            metrics: None,
            model: None,
            openapi: openapi.into(),
        }
    }

    /// Serves `GET /metrics` from this recorder's handle.
    pub fn with_metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Readiness also reports this loaded model.
    pub fn with_model(mut self, description: impl Into<Arc<str>>) -> Self {
        self.model = Some(description.into());
        self
    }
}

/// The multipart envelope (field names, boundaries, text and email) on top
/// of the image.
pub(crate) const ENVELOPE_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_image_bytes + ENVELOPE_BYTES;
    let submit = post(submit::submit).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limits::rate_limit,
    ));
    // Appeals are limited like submissions, from the same buckets.
    let appeal = post(appeal::appeal).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        limits::rate_limit,
    ));
    let mut router = Router::new()
        .route("/ads", submit)
        .route("/ads/{id}", get(status::status))
        .route("/ads/{id}/appeal", appeal)
        .route("/ads/{id}/image", get(status::image))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::openapi_json));
    router = router.merge(admin::routes(state.clone()));
    router = router.merge(page::routes());
    if state.metrics.is_some() {
        router = router.route("/metrics", get(metrics::metrics));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::deadline,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            state.config.max_concurrent_requests.max(1),
        ))
        .layer(axum::middleware::from_fn(limits::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::identify,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("there is nothing at this address; see POST /ads and GET /ads/{id}")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this method is not allowed here",
    )
}

/// What one server process accepts at the connection level.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// A client has this long to send a request's headers (slowloris), also
    /// when an idle kept-alive connection is reused.
    pub header_read_timeout: Duration,
    /// After shutdown begins, in-flight requests get this long to finish.
    pub drain_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
/// hyper directly rather than `axum::serve`, which has no header timeout
/// and no connection limit.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // The peer's address: the client, or the proxy that names it
        // (`client::identify`).
        let service = hyper::service::service_fn(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                app.clone().oneshot(request)
            },
        );
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the drain timeout were cut off");
    }
    Ok(())
}
