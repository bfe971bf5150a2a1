//! Who is asking, and whether their role allows it. Every `/admin` request
//! names its caller one of three ways: a console session (the
//! `adpipe_session` cookie, set by `POST /admin/session`), an account's API
//! token (`Authorization: Bearer adp_…`) or the bootstrap token
//! (`ADPIPE_ADMIN_TOKEN`, an admin without an account, kept so deployments
//! that predate accounts keep working). [`authenticate`] puts the
//! [`Caller`] in the request; [`require`] refuses a role that lacks a
//! permission, with 403.
//!
//! Cross-site requests: a session cookie is `SameSite=Strict`, and every
//! state-changing request that a cookie authenticates must also carry an
//! `Origin` naming this site (browsers always send it on such requests),
//! so a page elsewhere can neither ride a session nor sign a person in
//! under another account. Bearer tokens are never sent by a browser on its
//! own, so they need no such check.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod session;

use std::net::IpAddr;

use adpipe_auth::{Permission, Role};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState, ClientAddr, ErrorCode};

/// The console's session cookie.
pub(crate) const SESSION_COOKIE: &str = "adpipe_session";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `ADPIPE_ADMIN_TOKEN`: an admin with no account.
    Bootstrap,
    /// An account's API token, by its name.
    Token(String),
    /// A console session, by the hash of its id.
    Session(String),
}

/// Who sent an `/admin` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account's name; `bootstrap` for the bootstrap token.
    pub name: String,
    pub role: Role,
    pub via: Via,
    pub address: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The name the bootstrap token acts under, in the history and the audit
/// log. Account names cannot take it (see [`accounts`]).
pub const BOOTSTRAP_NAME: &str = "bootstrap";

impl Caller {
    /// Who did it, as the audit log writes it: `account:ana`,
    /// `token:ana/nightly-export`, `bootstrap`.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Bootstrap => BOOTSTRAP_NAME.to_owned(),
            Via::Token(token) => format!("token:{}/{token}", self.name),
            Via::Session(_) => format!("account:{}", self.name),
        }
    }

    /// Whether this caller has an account (the bootstrap token has none).
    pub fn has_account(&self) -> bool {
        self.via != Via::Bootstrap
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

/// A JSON object body as `T`: a JSON array (which serde would read
/// field by field) or any other value is refused like a malformed one.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shape: &str,
) -> Result<T, ApiError> {
    let refused = |why: String| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body must be the JSON object {shape}: {why}"),
        )
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value @ serde_json::Value::Object(_)) => {
            serde_json::from_value(value).map_err(|error| refused(error.to_string()))
        }
        Ok(_) => Err(refused("it is not an object".into())),
        Err(error) => Err(refused(error.to_string())),
    }
}

/// The roles, as the OpenAPI document lists them.
#[derive(utoipa::ToSchema)]
#[schema(as = Role)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum RoleName {
    Viewer,
    Moderator,
    Admin,
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

pub(crate) fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(ErrorCode::Unauthorized, message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"adpipe admin\""),
    );
    response
}

/// The value of one cookie of the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Whether a browser's request comes from this site: its `Origin` is the
/// public URL's origin or the host it was sent to. `None` when the request
/// names no origin (not a browser's cross-site request: scripts and
/// same-origin GETs).
pub(crate) fn same_site(headers: &HeaderMap, public_url: &str) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?.trim();
    if headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|site| site == "cross-site")
    {
        return Some(false);
    }
    let public = origin_of(public_url);
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let same_host = !host.is_empty()
        && (origin == format!("http://{host}") || origin == format!("https://{host}"));
    Some(origin == public || same_host)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |at| after_scheme + at);
    &url[..end]
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Names the caller of an `/admin` request, or answers 401. Routes that
/// need nobody (signing in) are mounted outside it.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(address)| *address);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(256).collect::<String>());
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let found = if let Some(given) = bearer {
        let bootstrap = state.config.admin_token.as_deref().unwrap_or_default();
        if !bootstrap.is_empty() && same_secret(given.as_bytes(), bootstrap.as_bytes()) {
            Ok(Some((
                BOOTSTRAP_NAME.to_owned(),
                Role::Admin,
                Via::Bootstrap,
            )))
        } else {
            state
                .db
                .account_for_token(&adpipe_auth::hash_secret(given))
                .await
                .map(|found| {
                    found.and_then(|holder| {
                        let role = holder.account.role.parse().ok()?;
                        Some((holder.account.name, role, Via::Token(holder.token_name)))
                    })
                })
        }
    } else if let Some(session) = cookie(request.headers(), SESSION_COOKIE) {
        if !is_safe(request.method())
            && same_site(request.headers(), &state.config.public_url) != Some(true)
        {
            return ApiError::new(
                ErrorCode::CrossSiteRequest,
                "a signed-in browser's change must come from this site (its Origin header)",
            )
            .into_response();
        }
        let hash = adpipe_auth::hash_secret(session);
        state
            .db
            .session_account(&hash, state.config.session_idle, state.config.session_max)
            .await
            .map(|found| {
                found.and_then(|account| {
                    let role = account.role.parse().ok()?;
                    Some((account.name, role, Via::Session(hash)))
                })
            })
    } else {
        return unauthorized(
            "admin endpoints need a console session (POST /admin/session) or \
             Authorization: Bearer <token>",
        );
    };
    match found {
        Ok(Some((name, role, via))) => {
            request.extensions_mut().insert(Caller {
                name,
                role,
                via,
                address,
                user_agent,
            });
            next.run(request).await
        }
        Ok(None) => unauthorized(
            "the token or session is not valid (wrong, revoked, expired, or its account is \
             disabled)",
        ),
        Err(error) => crate::error::database_error(error).into_response(),
    }
}

/// Lets through only callers whose role allows the permission it is
/// layered with: `middleware::from_fn_with_state(Permission::Decide, require)`.
pub(crate) async fn require(
    State(permission): State<Permission>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|caller| caller.allows(permission));
    if allowed {
        next.run(request).await
    } else {
        forbidden(permission).into_response()
    }
}

pub(crate) fn forbidden(permission: Permission) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "your role may not {}; ask an admin",
            permission.description()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; adpipe_session=ses_abc ; x=1"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("ses_abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn only_this_sites_origin_is_same_site() {
        let public = "https://ads.example.org/";
        let mut headers = HeaderMap::new();
        assert_eq!(
            same_site(&headers, public),
            None,
            "no Origin: not a browser"
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://ads.example.org"),
        );
        assert_eq!(same_site(&headers, public), Some(true));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(same_site(&headers, public), Some(false));
        // Reached by its own address (a laptop, a port-forward).
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert_eq!(same_site(&headers, public), Some(true));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert_eq!(same_site(&headers, public), Some(false));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
    }
}
