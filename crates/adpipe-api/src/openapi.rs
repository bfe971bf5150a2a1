//! The OpenAPI 3.1 document at `/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` annotations and the response types, so it
//! changes with the code. It names the handlers; the handlers never name
//! it (the shapes they describe live in `schemas`).

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Body as ErrorBody, ErrorCode};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "adpipe",
        description = "Self-hostable, air-gapped ad moderation. Submit an ad (text, email, image) with `POST /ads`; a worker tags the image with a local ONNX classifier, a policy approves or rejects it and the submitter gets an email. Anyone holding the id may ask `GET /ads/{id}`. Every error is `{\"error\": {\"code\", \"message\"}}`; the codes are listed under `ErrorCode`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        crate::submit::submit,
        crate::status::status,
        crate::status::image,
        crate::admin::list,
        crate::admin::get,
        crate::admin::review,
        crate::admin::delete,
        crate::admin::moderation::reviews,
        crate::admin::moderation::decide,
        crate::admin::moderation::history,
        crate::admin::moderation::image,
        crate::health::healthz,
        crate::health::readyz,
        metrics,
        openapi_json,
        web_page,
        docs_page,
        admin_console,
    ),
    components(schemas(ErrorCode, ErrorBody)),
    modifiers(&AdminToken),
    tags(
        (name = "ads", description = "Submit an ad and follow it."),
        (name = "admin", description = "Moderation by operators. These endpoints exist only when `ADPIPE_ADMIN_TOKEN` is set, and need `Authorization: Bearer <token>`."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
        (name = "pages", description = "The web page and the API docs, for browsers."),
    )
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "admin_token",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// Prometheus metrics (`adpipe_*` series) in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain; version=0.0.4", body = String))
)]
#[allow(dead_code)]
fn metrics() {}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1.", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        document.as_str(),
    )
        .into_response()
}

/// The web page: submit an ad and watch it until it is decided.
#[utoipa::path(
    get,
    path = "/",
    tag = "pages",
    responses((status = 200, description = "HTML.", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn web_page() {}

/// This document, rendered for people.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "pages",
    responses((status = 200, description = "HTML.", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn docs_page() {}

/// The moderators' console: the review queue, decisions, history. It signs
/// in with the admin token (kept in the tab's session storage); the page
/// itself holds no data.
#[utoipa::path(
    get,
    path = "/admin",
    tag = "pages",
    responses((status = 200, description = "HTML.", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn admin_console() {}
