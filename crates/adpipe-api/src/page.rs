//! The web pages: `/` (submit an ad, watch it until it is decided, look an
//! ad up by id), `/docs` (the OpenAPI document at `/openapi.json`,
//! rendered in the browser by Swagger UI) and `/admin` (the moderators'
//! console, where the team signs in with name and password), with their files under
//! `/assets/`. Plain HTML, CSS and JavaScript modules embedded in the
//! binary, and Swagger UI's published files (`assets/vendor/swagger-ui/`,
//! with its PROVENANCE.md): nothing is built or fetched at run time, and
//! nothing comes from another origin, so the pages work air-gapped and
//! under a strict Content-Security-Policy.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ApiError;

mod assets;

use assets::{ADMIN_HTML, Asset, DOCS_HTML, INDEX_HTML};

/// Scripts, styles and everything else from this origin only, as files:
/// no inline script or style, no other host. Images may also be `blob:`
/// (the preview of the photo being sent) or `data:`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/`, `/docs`, `/admin` and `/assets/{*file}`; stateless, so it merges
/// into any router. The console is served to anyone (it holds no data;
/// what it shows comes from the API, after signing in).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/docs", get(docs))
        .route("/admin", get(admin))
        .route("/assets/{*file}", get(file))
}

async fn admin(request: HeaderMap) -> Response {
    serve(&ADMIN_HTML, &request)
}

async fn index(request: HeaderMap) -> Response {
    serve(&INDEX_HTML, &request)
}

async fn docs(request: HeaderMap) -> Response {
    serve(&DOCS_HTML, &request)
}

/// `name` is the rest of the path after `/assets/` (percent-decoded, so
/// `vendor/swagger-ui/LICENSE`), matched exactly.
async fn file(Path(name): Path<String>, request: HeaderMap) -> Result<Response, ApiError> {
    assets::find(&name)
        .map(|asset| serve(asset, &request))
        .ok_or_else(|| {
            let shown: String = name.chars().take(64).collect();
            ApiError::not_found(format!("there is no asset {shown:?}"))
        })
}

/// The file with its type and the security headers; `304 Not Modified`
/// when the browser already holds these bytes. `no-cache` makes browsers
/// ask each time (a cheap 304), so a new binary's pages are never mixed
/// with an old binary's scripts.
fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = asset.etag();
    let cached = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag);
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = asset.body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    protect(headers, CONTENT_SECURITY_POLICY);
    response
}

/// What every HTML page adpipe serves is sent with: its content security
/// policy, no content sniffing, no referrer to other sites, no framing.
pub(crate) fn protect(headers: &mut axum::http::HeaderMap, policy: &'static str) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    use super::assets::FILES;
    use super::*;

    async fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        routes::<()>()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    async fn body(response: Response) -> Vec<u8> {
        let bytes = to_bytes(response.into_body(), 4 << 20).await.expect("body");
        bytes.to_vec()
    }

    /// The type a file must be served with, by its name.
    fn type_of(name: &str) -> &'static str {
        let base = name.rsplit('/').next().expect("a name");
        match base.rsplit_once('.').map(|(_, extension)| extension) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            // LICENSE, NOTICE, swagger-ui-bundle.js.LICENSE.txt
            Some("txt") | None => "text/plain; charset=utf-8",
            Some(other) => panic!("{name}: which type for .{other}?"),
        }
    }

    #[tokio::test]
    async fn pages_and_files_come_with_their_type_and_the_security_headers() {
        let pages = [
            ("/", &INDEX_HTML),
            ("/docs", &DOCS_HTML),
            ("/admin", &ADMIN_HTML),
        ]
        .map(|(path, asset)| (path.to_owned(), "text/html; charset=utf-8", asset));
        let files = FILES
            .iter()
            .map(|(name, asset)| (format!("/assets/{name}"), type_of(name), asset));
        for (path, content_type, asset) in pages.into_iter().chain(files) {
            let response = get(&path, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            let csp = headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ASCII");
            assert!(csp.starts_with("default-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
            assert!(headers.contains_key(header::ETAG), "{path}");
            let bytes = body(response).await;
            assert!(!bytes.is_empty() && bytes == asset.body, "{path}");
        }
    }

    #[tokio::test]
    async fn a_browser_holding_the_file_gets_304() {
        for path in [
            "/assets/app.js",
            "/assets/vendor/swagger-ui/swagger-ui-bundle.js",
            "/docs",
        ] {
            let etag = get(path, None).await.headers()[header::ETAG]
                .to_str()
                .expect("ASCII")
                .to_owned();
            let again = get(path, None).await;
            assert_eq!(again.headers()[header::ETAG], etag.as_str(), "{path}");
            let response = get(path, Some(&etag)).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(response.headers()[header::ETAG], etag.as_str());
            assert!(body(response).await.is_empty());
            let other = get(path, Some("\"0000000000000000\"")).await;
            assert_eq!(other.status(), StatusCode::OK, "{path}");
        }
    }

    /// Only the names in the list, exactly: no path is resolved, so
    /// nothing outside it can be reached.
    #[tokio::test]
    async fn an_unknown_file_is_a_json_404() {
        for path in [
            "/assets/nope.js",
            "/assets/..%2fCargo.toml",
            "/assets/./app.js",
            "/assets/vendor/nope.js",
            "/assets/vendor/swagger-ui/../../app.js",
            "/assets/vendor/swagger-ui/PROVENANCE.md",
            "/assets/index.html",
        ] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            let text = String::from_utf8(body(response).await).expect("UTF-8");
            assert!(text.contains("\"not_found\""), "{path}");
        }
    }
}
