//! Console sessions: `POST /admin/session` signs a person in with name and
//! password and sets the `adpipe_session` cookie (HttpOnly, SameSite=Strict,
//! Secure when the public URL is https); `DELETE /admin/session` signs out;
//! `GET /admin/me` says who is signed in; `POST /admin/me/password`
//! changes one's password and ends every session of the account.
//!
//! Guessing is slowed per account and per address: after a few failures in
//! a window, both answer 429 with Retry-After for a while. An unknown name
//! gets exactly the answer of a wrong password, after a password check of
//! the same cost.

use std::time::Duration;

use adpipe_auth::Role;
use adpipe_store::AuditEntry;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::audit::{entry, record};
use super::{Caller, SESSION_COOKIE, Via, cookie, same_site};
use crate::error::database_error;
use crate::{ApiError, AppState, ClientAddr, ErrorCode};

/// Failures in [`FAILURE_WINDOW`] before a name or an address is locked.
const FAILURES_BEFORE_LOCK: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
const LOCK_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(example = "ana", max_length = 64)]
    name: String,
    #[schema(max_length = 1024)]
    password: String,
}

/// Who is signed in (or whose token this is).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    name: String,
    #[schema(value_type = super::RoleName, example = "moderator")]
    role: &'static str,
    /// `session`, `token` or `bootstrap`.
    via: &'static str,
    /// What the role may do, as the console shows it.
    may: Vec<&'static str>,
}

impl From<&Caller> for Me {
    fn from(caller: &Caller) -> Self {
        Me {
            name: caller.name.clone(),
            role: caller.role.as_str(),
            via: match caller.via {
                Via::Bootstrap => "bootstrap",
                Via::Token(_) => "token",
                Via::Session(_) => "session",
            },
            may: adpipe_auth::Permission::ALL
                .iter()
                .filter(|permission| caller.role.allows(**permission))
                .map(|permission| permission.as_str())
                .collect(),
        }
    }
}

fn sign_in_failed() -> ApiError {
    ApiError::new(ErrorCode::SignInFailed, "wrong name or password")
}

fn locked(wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError::new(
        ErrorCode::SignInLocked,
        format!("too many failed sign-ins; try again in {seconds} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn session_cookie(state: &AppState, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    ))
    .expect("a session cookie is ASCII")
}

/// Sign in to the console: a session cookie for `name`.
#[utoipa::path(
    post,
    path = "/admin/session",
    operation_id = "sign_in",
    tag = "accounts",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in: the `adpipe_session` cookie is set (HttpOnly, SameSite=Strict).", body = Me),
        (status = 400, description = "`invalid_json`.", body = crate::error::Body),
        (status = 401, description = "`sign_in_failed`: wrong name or password (the same answer for a name that does not exist).", body = crate::error::Body),
        (status = 403, description = "`cross_site_request`: the request came from another site.", body = crate::error::Body),
        (status = 429, description = "`sign_in_locked`: too many failures for this name or address; see Retry-After.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    if same_site(&headers, &state.config.public_url) == Some(false) {
        return Err(ApiError::new(
            ErrorCode::CrossSiteRequest,
            "signing in must happen on this site",
        ));
    }
    let address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(address)| *address);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(256).collect::<String>());
    let body = axum::body::to_bytes(request.into_body(), 8 * 1024)
        .await
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "the body is too large"))?;
    let form: SignIn = super::json_body(&body, r#"{"name", "password"}"#)?;
    let name = form.name.trim().to_lowercase();
    let name: String = name.chars().take(64).collect();
    let name_key = format!("name:{name}");
    let address_key = address.map(|address| format!("address:{address}"));
    for key in std::iter::once(&name_key).chain(address_key.as_ref()) {
        if let Some(wait) = state.db.sign_in_locked(key).await.map_err(database_error)? {
            return Ok(locked(wait));
        }
    }
    let account = state
        .db
        .account_by_name(&name)
        .await
        .map_err(database_error)?;
    let password = form.password;
    // Hashing takes tens of milliseconds of CPU: off the async threads.
    let (account, verified) = tokio::task::spawn_blocking(move || match account {
        Some(account) => {
            let verified = adpipe_auth::verify_password(&password, &account.password_hash);
            (Some(account), verified)
        }
        None => {
            adpipe_auth::verify_dummy(&password);
            (None, false)
        }
    })
    .await
    .map_err(|_| ApiError::new(ErrorCode::InternalError, "the password check failed"))?;
    let account = match account {
        Some(account) if verified && !account.account.disabled => account.account,
        _ => {
            for key in std::iter::once(&name_key).chain(address_key.as_ref()) {
                state
                    .db
                    .sign_in_failed(key, FAILURE_WINDOW, FAILURES_BEFORE_LOCK, LOCK_FOR)
                    .await
                    .map_err(database_error)?;
            }
            let shown_address = address.map(|address| address.to_string());
            record(
                &state,
                AuditEntry::new(format!("anonymous:{name}"), "session.sign_in_failed")
                    .target(format!("account:{name}"))
                    .client(shown_address.as_deref(), user_agent.as_deref()),
            )
            .await;
            return Err(sign_in_failed());
        }
    };
    let role: Role = account
        .role
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "the account's role is unknown"))?;
    state
        .db
        .sign_in_succeeded(&name_key)
        .await
        .map_err(database_error)?;
    // A fresh id at every sign-in; the one the browser held (if any) ends.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.db.end_session(&adpipe_auth::hash_secret(old)).await;
    }
    let (session, hash) = adpipe_auth::new_secret(adpipe_auth::SESSION_PREFIX);
    let created = state
        .db
        .create_session(
            &hash,
            &account.name,
            address.map(|address| address.to_string()).as_deref(),
            user_agent.as_deref(),
        )
        .await
        .map_err(database_error)?;
    if !created {
        // Disabled between the check and now.
        return Err(sign_in_failed());
    }
    let caller = Caller {
        name: account.name.clone(),
        role,
        via: Via::Session(hash),
        address,
        user_agent,
    };
    record(&state, entry(&caller, "session.signed_in", None)).await;
    tracing::info!(account = %caller.name, "admin: signed in");
    let mut response = Json(Me::from(&caller)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, &session, state.config.session_max),
    );
    Ok(response)
}

/// Sign out: this session ends and its cookie is cleared.
#[utoipa::path(
    delete,
    path = "/admin/session",
    operation_id = "sign_out",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Signed out."),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`cross_site_request`.", body = crate::error::Body),
    )
)]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    if let Via::Session(hash) = &caller.via {
        state.db.end_session(hash).await.map_err(database_error)?;
        record(&state, entry(&caller, "session.signed_out", None)).await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, "", Duration::ZERO),
    );
    Ok(response)
}

/// Who is asking, with their role.
#[utoipa::path(
    get,
    path = "/admin/me",
    operation_id = "me",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
    )
)]
pub(crate) async fn me(Extension(caller): Extension<Caller>) -> Json<Me> {
    Json(Me::from(&caller))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    current: String,
    /// At least 12 characters, not only spaces.
    #[schema(min_length = 12, max_length = 1024, pattern = r"[^\s]")]
    new: String,
}

/// Change one's own password; every session of the account ends (sign in
/// again).
#[utoipa::path(
    post,
    path = "/admin/me/password",
    operation_id = "change_password",
    tag = "accounts",
    request_body = PasswordChange,
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Changed; every session of the account ended."),
        (status = 400, description = "`invalid_json`, `invalid_account` (the new password is too short).", body = crate::error::Body),
        (status = 401, description = "`unauthorized`, `sign_in_failed` (the current password is wrong).", body = crate::error::Body),
        (status = 403, description = "`forbidden`: the bootstrap token has no password.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if !caller.has_account() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the bootstrap token has no password; sign in with an account",
        ));
    }
    let change: PasswordChange = super::json_body(&body, r#"{"current", "new"}"#)?;
    adpipe_auth::check_new_password(&change.new)
        .map_err(|error| ApiError::new(ErrorCode::InvalidAccount, error.to_string()))?;
    let account = state
        .db
        .account_by_name(&caller.name)
        .await
        .map_err(database_error)?
        .ok_or_else(sign_in_failed)?;
    let new = change.new;
    let hashed = tokio::task::spawn_blocking(move || {
        adpipe_auth::verify_password(&change.current, &account.password_hash)
            .then(|| adpipe_auth::hash_password(&new))
    })
    .await
    .map_err(|_| ApiError::new(ErrorCode::InternalError, "the password check failed"))?;
    let hash = hashed
        .ok_or_else(sign_in_failed)?
        .map_err(|error| ApiError::new(ErrorCode::InternalError, error.to_string()))?;
    let audit = entry(&caller, "account.password_changed", None);
    state
        .db
        .set_password(&caller.name, &hash, &audit)
        .await
        .map_err(database_error)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, "", Duration::ZERO),
    );
    Ok(response)
}
