//! Accounts and API tokens over HTTP. Admins list, add, disable, enable
//! accounts, change their roles and reset their passwords (`/admin/users`);
//! anyone signed in makes, lists and revokes their own tokens, and admins
//! anyone's (`/admin/tokens`). Nobody changes their own role or disables
//! themselves, and the last enabled admin stays one.

use adpipe_auth::{Permission, Role};
use adpipe_store::{AccountChange, NewAccount};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::audit::entry;
use super::{BOOTSTRAP_NAME, Caller, json_body};
use crate::error::database_error;
use crate::{ApiError, AppState, ErrorCode};

/// An account, as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    name: String,
    #[schema(value_type = super::RoleName, example = "moderator")]
    role: String,
    disabled: bool,
    created_at_ms: i64,
    password_changed_at_ms: i64,
}

impl From<adpipe_store::Account> for User {
    fn from(account: adpipe_store::Account) -> Self {
        Self {
            name: account.name,
            role: account.role,
            disabled: account.disabled,
            created_at_ms: account.created_at,
            password_changed_at_ms: account.password_changed_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Users {
    users: Vec<User>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1 to 64 of a-z, 0-9, `.`, `_`, `-`, starting with a letter or a
    /// digit (capitals are lower-cased).
    #[schema(example = "ana", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    name: String,
    #[schema(value_type = super::RoleName, example = "moderator")]
    role: String,
    /// At least 12 characters, not only spaces; left out, one is generated
    /// and answered once.
    #[schema(min_length = 12, max_length = 1024, pattern = r"[^\s]")]
    password: Option<String>,
}

/// An account just made or reset, with the password when adpipe chose it
/// (shown this once, stored only as a hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[schema(value_type = Option<super::RoleName>, example = "viewer")]
    role: Option<String>,
    disabled: Option<bool>,
    /// `true`: a new password is generated, answered once, and every
    /// session of the account ends.
    #[serde(default)]
    reset_password: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidAccount, message)
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse()
        .map_err(|_| invalid("role must be admin, moderator or viewer"))
}

fn account_name(name: &str) -> Result<String, ApiError> {
    if name.trim() != name {
        return Err(invalid("an account name has no spaces around it"));
    }
    let name = adpipe_auth::valid_account_name(name).map_err(|error| invalid(error.to_string()))?;
    if name == BOOTSTRAP_NAME {
        // Taken, as it were, by the bootstrap token.
        return Err(ApiError::new(
            ErrorCode::AccountExists,
            "\"bootstrap\" names the bootstrap token; choose another name",
        ));
    }
    Ok(name)
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || adpipe_auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "hashing the password failed"))?
        .map_err(|error| ApiError::new(ErrorCode::InternalError, error.to_string()))
}

/// Every account (admins).
#[utoipa::path(
    get,
    path = "/admin/users",
    operation_id = "list_users",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The accounts, by name.", body = Users),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: admins only.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Users>, ApiError> {
    let accounts = state.db.accounts().await.map_err(database_error)?;
    Ok(Json(Users {
        users: accounts.into_iter().map(User::from).collect(),
    }))
}

/// Add an account (admins).
#[utoipa::path(
    post,
    path = "/admin/users",
    operation_id = "add_user",
    tag = "accounts",
    request_body = NewUser,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Added; `password` is answered when it was generated.", body = Created),
        (status = 400, description = "`invalid_json`, `invalid_account`.", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`, `cross_site_request`.", body = crate::error::Body),
        (status = 409, description = "`account_exists`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let new: NewUser = json_body(&body, r#"{"name", "role", "password"?}"#)?;
    let name = account_name(&new.name)?;
    let role = parse_role(&new.role)?;
    let (password, generated) = match new.password {
        Some(password) => {
            adpipe_auth::check_new_password(&password)
                .map_err(|error| invalid(error.to_string()))?;
            (password, false)
        }
        None => (adpipe_auth::generate_password(), true),
    };
    let password_hash = hash(password.clone()).await?;
    let audit = entry(&caller, "account.created", Some(format!("account:{name}")))
        .detail(serde_json::json!({ "role": role.as_str() }));
    let account = match state
        .db
        .create_account(
            &NewAccount {
                name: &name,
                role: role.as_str(),
                password_hash: &password_hash,
            },
            &audit,
        )
        .await
        .map_err(database_error)?
    {
        Some(account) => account,
        None => {
            return Err(ApiError::new(
                ErrorCode::AccountExists,
                format!("there is already an account named {name:?}"),
            ));
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(Created {
            user: User::from(account),
            password: generated.then_some(password),
        }),
    ))
}

/// Change an account's role, disable or enable it, or reset its password
/// (admins; not one's own role, not oneself disabled, never the last
/// enabled admin).
#[utoipa::path(
    patch,
    path = "/admin/users/{name}",
    operation_id = "change_user",
    tag = "accounts",
    params(("name" = String, Path, description = "The account's name")),
    request_body = UserChange,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The account as it is now; `password` when it was reset.", body = Created),
        (status = 400, description = "`invalid_json`, `invalid_account`.", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: admins only, and not one's own role or account.", body = crate::error::Body),
        (status = 404, description = "`not_found`.", body = crate::error::Body),
        (status = 409, description = "`last_admin`: the change would leave no enabled admin.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Created>, ApiError> {
    let change: UserChange = json_body(&body, r#"{"role"?, "disabled"?, "reset_password"?}"#)?;
    let name = name.trim().to_lowercase();
    let role = change.role.as_deref().map(parse_role).transpose()?;
    if caller.has_account() && caller.name == name && (role.is_some() || change.disabled.is_some())
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "nobody changes their own role or disables themselves; ask another admin",
        ));
    }
    let target = Some(format!("account:{name}"));
    if let Some(role) = role {
        let audit = entry(&caller, "account.role_changed", target.clone())
            .detail(serde_json::json!({ "role": role.as_str() }));
        let outcome = state
            .db
            .set_role(&name, role.as_str(), &audit)
            .await
            .map_err(database_error)?;
        refused(&outcome, &name)?;
    }
    if let Some(disabled) = change.disabled {
        let action = if disabled {
            "account.disabled"
        } else {
            "account.enabled"
        };
        let outcome = state
            .db
            .set_disabled(&name, disabled, &entry(&caller, action, target.clone()))
            .await
            .map_err(database_error)?;
        refused(&outcome, &name)?;
    }
    let mut password = None;
    if change.reset_password {
        let generated = adpipe_auth::generate_password();
        let hashed = hash(generated.clone()).await?;
        let audit = entry(&caller, "account.password_reset", target);
        if !state
            .db
            .set_password(&name, &hashed, &audit)
            .await
            .map_err(database_error)?
        {
            return Err(ApiError::not_found(format!("there is no account {name:?}")));
        }
        password = Some(generated);
    }
    let account = state
        .db
        .accounts()
        .await
        .map_err(database_error)?
        .into_iter()
        .find(|account| account.name == name)
        .ok_or_else(|| ApiError::not_found(format!("there is no account {name:?}")))?;
    Ok(Json(Created {
        user: User::from(account),
        password,
    }))
}

fn refused(outcome: &AccountChange, name: &str) -> Result<(), ApiError> {
    match outcome {
        AccountChange::NotFound => {
            Err(ApiError::not_found(format!("there is no account {name:?}")))
        }
        AccountChange::LastAdmin => Err(ApiError::new(
            ErrorCode::LastAdmin,
            format!("{name:?} is the last enabled admin; make another admin first"),
        )),
        _ => Ok(()),
    }
}

/// A token, never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Token {
    id: String,
    name: String,
    /// The account it acts as.
    account: String,
    created_at_ms: i64,
    last_used_at_ms: Option<i64>,
    revoked_at_ms: Option<i64>,
}

impl From<adpipe_store::TokenInfo> for Token {
    fn from(token: adpipe_store::TokenInfo) -> Self {
        Self {
            id: token.id,
            name: token.name,
            account: token.account,
            created_at_ms: token.created_at,
            last_used_at_ms: token.last_used_at,
            revoked_at_ms: token.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    tokens: Vec<Token>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, e.g. `nightly-export`: 1 to 64 characters, not
    /// only spaces, no control characters.
    #[schema(
        example = "nightly-export",
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    name: String,
}

/// A new token: `token` is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    id: String,
    name: String,
    /// Send as `Authorization: Bearer <token>`; it is stored only as a hash.
    token: String,
}

/// Make an API token for one's own account (it acts with the account's
/// role).
#[utoipa::path(
    post,
    path = "/admin/tokens",
    operation_id = "add_token",
    tag = "accounts",
    request_body = NewToken,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Made; the token is shown this once.", body = TokenCreated),
        (status = 400, description = "`invalid_json`, `invalid_account` (the name).", body = crate::error::Body),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 403, description = "`forbidden`: the bootstrap token has no account to own tokens.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn add_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    if !caller.has_account() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the bootstrap token has no account to own tokens; make an account first",
        ));
    }
    let new: NewToken = json_body(&body, r#"{"name"}"#)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(invalid(
            "a token's name is 1 to 64 characters without control characters",
        ));
    }
    let (token, token_hash) = adpipe_auth::new_secret(adpipe_auth::TOKEN_PREFIX);
    let audit = entry(
        &caller,
        "token.created",
        Some(format!("account:{}", caller.name)),
    )
    .detail(serde_json::json!({ "name": name }));
    let info = match state
        .db
        .create_token(&caller.name, name, &token_hash, &audit)
        .await
        .map_err(database_error)?
    {
        adpipe_store::TokenCreated::Created(info) => info,
        adpipe_store::TokenCreated::NameTaken => {
            return Err(invalid(format!(
                "you already have a token named {name:?}; revoke it or choose another name"
            )));
        }
        adpipe_store::TokenCreated::NoAccount => {
            return Err(ApiError::not_found("your account is gone"));
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: info.id,
            name: info.name,
            token,
        }),
    ))
}

/// One's own tokens; an admin's call lists everyone's.
#[utoipa::path(
    get,
    path = "/admin/tokens",
    operation_id = "list_tokens",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The tokens (never their secrets), newest first.", body = Tokens),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Tokens>, ApiError> {
    let owner = (!caller.allows(Permission::ManageAccounts)).then_some(caller.name.as_str());
    let tokens = state.db.tokens(owner).await.map_err(database_error)?;
    Ok(Json(Tokens {
        tokens: tokens.into_iter().map(Token::from).collect(),
    }))
}

/// Revoke a token: one's own, or (admins) anyone's.
#[utoipa::path(
    delete,
    path = "/admin/tokens/{id}",
    operation_id = "revoke_token",
    tag = "accounts",
    params(("id" = String, Path, description = "The token's id")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "`unauthorized`.", body = crate::error::Body),
        (status = 404, description = "`not_found`: no such token of yours.", body = crate::error::Body),
        (status = 503, description = "`database_unavailable`.", body = crate::error::Body),
    )
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = (!caller.allows(Permission::ManageAccounts)).then_some(caller.name.as_str());
    let audit = entry(&caller, "token.revoked", Some(format!("token:{id}")));
    if !state
        .db
        .revoke_token(&id, owner, &audit)
        .await
        .map_err(database_error)?
    {
        return Err(ApiError::not_found("there is no such token of yours"));
    }
    Ok(StatusCode::NO_CONTENT)
}
