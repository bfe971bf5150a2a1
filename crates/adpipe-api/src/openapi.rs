//! The OpenAPI 3.1 document at `/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` annotations and the response types, so it
//! changes with the code. It names the handlers; the handlers never name
//! it (the shapes they describe live in `schemas`). What only the running
//! service knows (the policy's categories) is filled in by [`document`].

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Body as ErrorBody, schema::ErrorCode};

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
        crate::appeal::appeal,
        crate::status::image,
        crate::admin::list,
        crate::admin::get,
        crate::admin::review,
        crate::admin::delete,
        crate::admin::moderation::reviews,
        crate::admin::moderation::decide,
        crate::admin::claims::claim,
        crate::admin::claims::release,
        crate::admin::moderation::history,
        crate::admin::moderation::image,
        crate::admin::models::list,
        crate::admin::models::shadow,
        crate::admin::models::report,
        crate::auth::session::sign_in,
        crate::auth::session::sign_out,
        crate::auth::session::me,
        crate::auth::session::change_password,
        crate::auth::accounts::list,
        crate::auth::accounts::add,
        crate::auth::accounts::change,
        crate::auth::accounts::add_token,
        crate::auth::accounts::list_tokens,
        crate::auth::accounts::revoke_token,
        crate::auth::audit::list,
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
        (name = "admin", description = "Moderation by the team. Every call names its caller: a console session (`POST /admin/session`), an account's API token or the bootstrap `ADPIPE_ADMIN_TOKEN`, as `Authorization: Bearer <token>`; 401 without one. Roles: `viewer` reads, `moderator` also decides, `admin` also retags, deletes and manages accounts (403 otherwise)."),
        (name = "accounts", description = "The moderation team: sessions, accounts, API tokens and the audit log."),
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
pub(crate) async fn openapi_json(State(state): State<crate::AppState>) -> Response {
    let document = state.openapi.clone();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        document.to_string(),
    )
        .into_response()
}

/// The document for a service whose policy has `categories`: what
/// `/openapi.json` serves.
///
/// - An approval's `category` is one of them (an enum), so a client knows
///   what a moderator may pick, and a validator what the server refuses.
/// - A decision is an approval or a rejection, told apart by `outcome`.
///   utoipa writes that as `allOf` of the variant (which forbids other
///   properties) and the tag, which no object satisfies; the tag goes into
///   each variant instead.
/// - `POST /ads` takes no field but its three.
/// - `POST /ads` links its answer to `GET /ads/{id}`, where the ad is
///   followed; its image is public only once approved, so it is not
///   linked (a tool following links would expect it to exist).
pub fn document(categories: &[String]) -> serde_json::Value {
    let mut document =
        serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    if !categories.is_empty()
        && let Some(category) =
            document.pointer_mut("/components/schemas/Approval/properties/category")
    {
        category["enum"] = serde_json::json!(categories);
    }
    for (variant, outcome) in [("Approval", "approved"), ("Rejection", "rejected")] {
        if let Some(schema) = document.pointer_mut(&format!("/components/schemas/{variant}")) {
            schema["properties"]["outcome"] =
                serde_json::json!({"type": "string", "enum": [outcome]});
            match schema["required"].as_array_mut() {
                Some(required) => required.insert(0, "outcome".into()),
                None => schema["required"] = serde_json::json!(["outcome"]),
            }
        }
    }
    if let Some(decision) = document.pointer_mut("/components/schemas/DecisionRequest") {
        decision["oneOf"] = serde_json::json!([
            {"$ref": "#/components/schemas/Approval"},
            {"$ref": "#/components/schemas/Rejection"}
        ]);
    }
    // The server refuses any field but these three (400 unknown_field).
    if let Some(form) = document.pointer_mut("/components/schemas/SubmitForm") {
        form["additionalProperties"] = serde_json::json!(false);
    }
    if let Some(accepted) = document.pointer_mut("/paths/~1ads/post/responses/202") {
        accepted["links"] = serde_json::json!({
            "AdStatus": {
                "operationId": "status",
                "parameters": {"id": "$response.body#/id"},
                "description": "Where the ad is followed until it is decided. Its image \
                    (`GET /ads/{id}/image`) is public only once it is approved."
            }
        });
    }
    document
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

/// The moderators' console: the review queue, decisions, history. One
/// signs in with name and password (an HttpOnly session cookie); the page
/// itself holds no data.
#[utoipa::path(
    get,
    path = "/admin",
    tag = "pages",
    responses((status = 200, description = "HTML.", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn admin_console() {}
