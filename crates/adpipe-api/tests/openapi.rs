//! `/openapi.json` is a valid OpenAPI document (checked by the
//! openapi-spec-validator package, as API tooling would), and it describes
//! the router that serves it: every operation it lists exists, and every
//! error code the API can answer with is listed.

mod support;

use std::process::Command;

use adpipe_api::ApiConfig;
use adpipe_core::AdId;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use support::{Setup, TestApp};
use tower::ServiceExt;

/// The app with admin endpoints and `/metrics`: every route exists.
async fn router() -> TestApp {
    let defaults = Setup::default();
    TestApp::in_process(Setup {
        config: ApiConfig {
            admin_token: Some("token".into()),
            ..defaults.config
        },
        metrics: Some(adpipe_api::metrics::install_recorder().expect("metrics recorder")),
        ..defaults
    })
    .await
}

async fn call(router: &axum::Router, method: Method, uri: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer token")
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    (status, body.to_vec())
}

async fn document(router: &axum::Router) -> Value {
    let (status, body) = call(router, Method::GET, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).expect("/openapi.json is JSON")
}

#[tokio::test]
async fn the_document_passes_an_openapi_validator() {
    let app = router().await;
    let (router, dir) = (&app.router, &app.dir);
    let document = document(router).await;
    assert!(
        document["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{}",
        document["openapi"]
    );
    let path = dir.join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&document).expect("JSON")).expect("write");
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .expect("python3 runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !said.contains("No module named"),
        "the validator is missing: python3 -m pip install openapi-spec-validator \
         (scripts/test.sh does)\n{said}"
    );
    assert!(output.status.success(), "the validator refused it:\n{said}");
    eprintln!("openapi-spec-validator: {}", said.trim());
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = router().await;
    let router = &app.router;
    let document = document(router).await;
    let paths = document["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("a method");
            let uri = path.replace("{id}", &AdId::new().to_string());
            let (status, body) = call(router, method.clone(), &uri).await;
            let body = String::from_utf8_lossy(&body);
            // An unknown ad is a 404 too, but not the router's own.
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
                || body.contains("there is nothing at this address");
            assert!(
                !unrouted,
                "{method} {path} is documented but not served: {status} {body}"
            );
            assert!(status.as_u16() < 500, "{method} {path}: {status} {body}");
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} operations");
}

#[tokio::test]
async fn every_error_code_is_in_the_document() {
    let app = router().await;
    let router = &app.router;
    let document = document(router).await;
    let listed: Vec<&str> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let described = document["components"]["schemas"]["ErrorCode"]["description"]
        .as_str()
        .expect("ErrorCode description");
    for code in adpipe_api::ErrorCode::ALL {
        let (name, status) = (code.as_str(), code.status().as_u16());
        assert!(listed.contains(&name), "{name} is not documented");
        assert!(
            described.contains(&format!("- `{name}` ({status}): ")),
            "{name} is not documented with its status {status}"
        );
    }
    // The error body of a real refusal uses a documented code.
    let (status, body) = call(router, Method::GET, "/ads/not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert!(listed.contains(&body["error"]["code"].as_str().expect("code")));
}
