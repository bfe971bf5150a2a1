//! The web pages: `/` (submit an ad, watch it until it is decided, look an
//! ad up by id), `/docs` (the OpenAPI document at `/openapi.json`,
//! rendered in the browser) and `/admin` (the moderators' console, which
//! signs in with the admin token), with their files under `/assets/`. Plain
//! HTML, CSS and JavaScript embedded in the binary: nothing is built or
//! fetched at run time, and nothing comes from another origin, so the pages
//! work air-gapped and under a strict Content-Security-Policy.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ApiError;

/// Scripts, styles and everything else from this origin only, as files:
/// no inline script or style, no other host. Images may also be `blob:`
/// (the preview of the photo being sent) or `data:`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// An embedded file and the validator of its bytes.
struct Asset {
    content_type: &'static str,
    body: &'static [u8],
    hash: u64,
}

/// FNV-1a, at compile time: the ETag changes exactly when the file does.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut index = 0;
    while index < bytes.len() {
        hash ^= bytes[index] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        index += 1;
    }
    hash
}

macro_rules! asset {
    ($file:literal, $content_type:literal) => {{
        const BODY: &[u8] = include_bytes!(concat!("../assets/", $file));
        Asset {
            content_type: $content_type,
            body: BODY,
            hash: fnv1a(BODY),
        }
    }};
}

const INDEX_HTML: Asset = asset!("index.html", "text/html; charset=utf-8");
const DOCS_HTML: Asset = asset!("docs.html", "text/html; charset=utf-8");
const ADMIN_HTML: Asset = asset!("admin.html", "text/html; charset=utf-8");

/// What `/assets/{file}` serves; any other name is a 404.
const FILES: &[(&str, Asset)] = &[
    ("app.js", asset!("app.js", "text/javascript; charset=utf-8")),
    // The console's modules: admin.js imports the others.
    (
        "admin.js",
        asset!("admin.js", "text/javascript; charset=utf-8"),
    ),
    (
        "admin-api.js",
        asset!("admin-api.js", "text/javascript; charset=utf-8"),
    ),
    (
        "admin-view.js",
        asset!("admin-view.js", "text/javascript; charset=utf-8"),
    ),
    (
        "admin-queue.js",
        asset!("admin-queue.js", "text/javascript; charset=utf-8"),
    ),
    (
        "admin-search.js",
        asset!("admin-search.js", "text/javascript; charset=utf-8"),
    ),
    ("admin.css", asset!("admin.css", "text/css; charset=utf-8")),
    (
        "docs.js",
        asset!("docs.js", "text/javascript; charset=utf-8"),
    ),
    ("style.css", asset!("style.css", "text/css; charset=utf-8")),
    ("favicon.svg", asset!("favicon.svg", "image/svg+xml")),
];

/// `/`, `/docs`, `/admin` and `/assets/{file}`; stateless, so it merges
/// into any router. The console is served even without an admin token
/// (it holds no data; signing in then fails with the API's 401).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/docs", get(docs))
        .route("/admin", get(admin))
        .route("/assets/{file}", get(file))
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

async fn file(Path(name): Path<String>, request: HeaderMap) -> Result<Response, ApiError> {
    FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, asset)| serve(asset, &request))
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
    let etag = format!("\"{:016x}\"", asset.hash);
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
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
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
    response
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

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

    async fn text(response: Response) -> String {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn pages_and_files_come_with_their_type_and_the_security_headers() {
        for (path, content_type) in [
            ("/", "text/html; charset=utf-8"),
            ("/docs", "text/html; charset=utf-8"),
            ("/admin", "text/html; charset=utf-8"),
            ("/assets/app.js", "text/javascript; charset=utf-8"),
            ("/assets/admin.js", "text/javascript; charset=utf-8"),
            ("/assets/admin-api.js", "text/javascript; charset=utf-8"),
            ("/assets/admin-view.js", "text/javascript; charset=utf-8"),
            ("/assets/admin-queue.js", "text/javascript; charset=utf-8"),
            ("/assets/admin-search.js", "text/javascript; charset=utf-8"),
            ("/assets/admin.css", "text/css; charset=utf-8"),
            ("/assets/docs.js", "text/javascript; charset=utf-8"),
            ("/assets/style.css", "text/css; charset=utf-8"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ] {
            let response = get(path, None).await;
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
            assert!(!text(response).await.is_empty(), "{path}");
        }
    }

    #[tokio::test]
    async fn a_browser_holding_the_file_gets_304() {
        let etag = get("/assets/app.js", None).await.headers()[header::ETAG]
            .to_str()
            .expect("ASCII")
            .to_owned();
        let response = get("/assets/app.js", Some(&etag)).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert!(text(response).await.is_empty());
        let other = get("/assets/app.js", Some("\"0000000000000000\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn an_unknown_file_is_a_json_404() {
        for path in ["/assets/nope.js", "/assets/..%2fCargo.toml"] {
            let response = get(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(text(response).await.contains("\"not_found\""), "{path}");
        }
    }

    /// A module the console imports that is not served would stop the
    /// whole page: every `from "./x.js"` names a served file.
    #[test]
    fn every_imported_module_is_served() {
        let names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        for (name, asset) in FILES.iter().filter(|(name, _)| name.ends_with(".js")) {
            let script = std::str::from_utf8(asset.body).expect("UTF-8");
            for (index, _) in script.match_indices("from \"./") {
                let start = index + "from \"./".len();
                let file = &script[start..start + script[start..].find('"').expect("quote")];
                assert!(
                    names.contains(&file),
                    "{name} imports {file}, which is not served"
                );
            }
            for line in script.lines().map(str::trim_start) {
                if line.starts_with("import ") || line.starts_with("} from ") {
                    assert!(
                        !line.contains(" from \"") || line.contains(" from \"./"),
                        "{name}: an import from elsewhere than this server: {line}"
                    );
                }
            }
        }
    }

    /// What the Content-Security-Policy would block, and what an
    /// air-gapped browser could not load, must not be in the pages.
    #[test]
    fn the_pages_need_nothing_inline_and_nothing_from_elsewhere() {
        let names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        for asset in [&INDEX_HTML, &DOCS_HTML, &ADMIN_HTML] {
            let html = std::str::from_utf8(asset.body).expect("UTF-8");
            for (index, _) in html.match_indices("<script") {
                let tag = &html[index..index + html[index..].find('>').expect("tag end")];
                assert!(tag.contains(" src=\"assets/"), "inline script: {tag}");
            }
            assert!(!html.contains("<style"), "inline style element");
            assert!(!html.contains(" style=\""), "inline style attribute");
            for (index, _) in html.match_indices(" on") {
                let rest = &html[index + 3..];
                let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
                assert!(
                    name == 0 || !rest[name..].starts_with('='),
                    "inline event handler: {}",
                    &html[index..index + 3 + name]
                );
            }
            for attribute in ["src=\"", "href=\""] {
                for (index, _) in html.match_indices(attribute) {
                    let start = index + attribute.len();
                    let url = &html[start..start + html[start..].find('"').expect("quote")];
                    assert!(
                        !url.contains("//") && !url.starts_with('/'),
                        "not a relative link to this server: {url}"
                    );
                    if let Some(file) = url.strip_prefix("assets/") {
                        assert!(names.contains(&file), "{url} is not served");
                    }
                }
            }
        }
        for (name, asset) in FILES {
            let text = std::str::from_utf8(asset.body).expect("UTF-8");
            assert!(
                !text.contains("http://") || *name == "favicon.svg",
                "{name}"
            );
            assert!(!text.contains("https://"), "{name} names another host");
            assert!(!text.contains("@import"), "{name}");
        }
    }
}
