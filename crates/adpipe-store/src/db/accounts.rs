//! Accounts and their API tokens. The store keeps what adpipe-auth
//! computes (a role's name, an Argon2id PHC string, a token's SHA-256)
//! and hashes nothing itself.
//!
//! Every change writes its audit record in its own transaction, and only
//! when something changed. The last enabled admin can be neither demoted
//! nor disabled: the guard is part of the update itself, and on
//! PostgreSQL the table is locked against other such changes first (two
//! admins demoting each other at once must not both succeed).

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::audit::AuditEntry;
use super::{Backend, Database, DbError, now_millis};

/// An account about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAccount<'a> {
    /// As adpipe-auth's `valid_account_name` made it.
    pub name: &'a str,
    /// `viewer`, `moderator` or `admin`.
    pub role: &'a str,
    /// adpipe-auth's `hash_password`.
    pub password_hash: &'a str,
}

/// One account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// As adpipe-auth's `valid_account_name` made it (lowercase).
    pub name: String,
    /// `viewer`, `moderator` or `admin` (adpipe-auth's `Role`).
    pub role: String,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub disabled: bool,
}

/// An account with what a sign-in checks the password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWithHash {
    pub account: Account,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
}

/// What became of a change of role or of a disable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Done: the account as it is now.
    Changed(Account),
    NotFound,
    /// Refused: it would leave no enabled admin.
    LastAdmin,
}

/// An API token as its owner and admins see it: never the secret, nor
/// its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    /// The owner's name.
    pub account: String,
    pub name: String,
    pub created_at: i64,
    /// Updated at most once a minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What became of a new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCreated {
    Created(TokenInfo),
    /// The account has a live token of that name.
    NameTaken,
    NoAccount,
}

/// Who a request's token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub account: Account,
    pub token_id: String,
    pub token_name: String,
}

const ACCOUNT_COLUMNS: &str = "id, name, role, created_at, password_changed_at, disabled_at";
/// The same, of `accounts AS a` in a join.
pub(super) const JOINED_ACCOUNT_COLUMNS: &str =
    "a.id, a.name, a.role, a.created_at, a.password_changed_at, a.disabled_at";
/// The row being changed is the last enabled admin.
const LAST_ADMIN: &str = "role = 'admin' AND disabled_at IS NULL AND NOT EXISTS (\
     SELECT 1 FROM accounts AS other WHERE other.role = 'admin' \
     AND other.disabled_at IS NULL AND other.id <> accounts.id)";
const TOKEN_COLUMNS: &str = "t.id, a.name AS account, t.name, t.created_at, t.last_used_at, \
     t.revoked_at";
/// A token's last use is written at most this often (reads stay reads).
const TOKEN_USE_EVERY: Duration = Duration::from_secs(60);

pub(super) fn read_account(row: &AnyRow) -> Result<Account, DbError> {
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        created_at: row.try_get("created_at")?,
        password_changed_at: row.try_get("password_changed_at")?,
        disabled: disabled_at.is_some(),
    })
}

fn token(row: &AnyRow) -> Result<TokenInfo, DbError> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        account: row.try_get("account")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// `duration` in milliseconds, saturating.
pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Database {
    /// A new account; `None` when the name is taken.
    pub async fn create_account(
        &self,
        new: &NewAccount<'_>,
        audit: &AuditEntry,
    ) -> Result<Option<Account>, DbError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO accounts (id, name, role, password_hash, created_at, \
             password_changed_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (name) DO NOTHING RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(new.name)
        .bind(new.role)
        .bind(new.password_hash)
        .bind(now_millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account = read_account(&row)?;
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(account))
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_account).collect()
    }

    /// An account and its password hash, disabled or not.
    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountWithHash>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AccountWithHash {
                account: read_account(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    /// Gives `name` the role `role`, unless that demotes the last enabled
    /// admin.
    pub async fn set_role(
        &self,
        name: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.guarded_change().await?;
        let row = sqlx::query(&format!(
            "UPDATE accounts SET role = $1 WHERE name = $2 \
             AND NOT ($1 <> 'admin' AND {LAST_ADMIN}) RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(role)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        self.finish_change(tx, row, name, audit).await
    }

    /// Disables (`true`) or enables an account. Disabling ends its
    /// sessions, and its tokens stop working (they are kept, not
    /// revoked: enabling it again brings them back), unless it is the last
    /// enabled admin.
    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        audit: &AuditEntry,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.guarded_change().await?;
        let row = if disabled {
            sqlx::query(&format!(
                "UPDATE accounts SET disabled_at = COALESCE(disabled_at, $1) WHERE name = $2 \
                 AND NOT ({LAST_ADMIN}) RETURNING {ACCOUNT_COLUMNS}"
            ))
            .bind(now_millis())
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
        } else {
            sqlx::query(&format!(
                "UPDATE accounts SET disabled_at = NULL WHERE name = $1 \
                 RETURNING {ACCOUNT_COLUMNS}"
            ))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
        };
        if let Some(row) = &row
            && disabled
        {
            let id: String = row.try_get("id")?;
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        self.finish_change(tx, row, name, audit).await
    }

    /// Sets a new password hash and ends the account's sessions (a
    /// password change signs everyone out). False for an unknown account.
    pub async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2 \
             WHERE name = $3 RETURNING id",
        )
        .bind(password_hash)
        .bind(now_millis())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let id: String = row.try_get("id")?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A transaction for a change that may take away an admin. On
    /// PostgreSQL it holds a lock that such changes (not readers) wait for,
    /// so that each one's guard sees the others' outcome; SQLite has one
    /// writer at a time anyway, and the guarded update is the first
    /// statement, so the transaction holds the write lock from there on.
    async fn guarded_change(&self) -> Result<Transaction<'static, Any>, DbError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Commits a guarded change that returned `row` (with its audit
    /// record), or tells why there was none.
    async fn finish_change(
        &self,
        mut tx: Transaction<'static, Any>,
        row: Option<AnyRow>,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<AccountChange, DbError> {
        let Some(row) = row else {
            let exists = sqlx::query("SELECT id FROM accounts WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Ok(if exists {
                AccountChange::LastAdmin
            } else {
                AccountChange::NotFound
            });
        };
        let account = read_account(&row)?;
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(AccountChange::Changed(account))
    }

    /// A new token named `token_name` for `account_name`, stored as
    /// `token_hash` (adpipe-auth's `hash_secret`).
    pub async fn create_token(
        &self,
        account_name: &str,
        token_name: &str,
        token_hash: &str,
        audit: &AuditEntry,
    ) -> Result<TokenCreated, DbError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        // Any unique index refuses it: the live name (token hashes of
        // 256-bit secrets do not collide).
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, token_hash, created_at) \
             SELECT $1, id, $2, $3, $4 FROM accounts WHERE name = $5 \
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(token_name)
        .bind(token_hash)
        .bind(now)
        .bind(account_name)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            let exists = sqlx::query("SELECT id FROM accounts WHERE name = $1")
                .bind(account_name)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Ok(if exists {
                TokenCreated::NameTaken
            } else {
                TokenCreated::NoAccount
            });
        }
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(TokenCreated::Created(TokenInfo {
            id,
            account: account_name.to_owned(),
            name: token_name.to_owned(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        }))
    }

    /// The tokens of `owner`, or (`None`, for admins) of every account;
    /// revoked ones included, newest first.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<TokenInfo>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens AS t JOIN accounts AS a \
             ON a.id = t.account_id WHERE ($1 IS NULL OR a.name = $1) \
             ORDER BY t.created_at DESC, t.id DESC"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes a live token: of `owner` only, or (`None`, an admin) of
    /// anyone. False when there is no such live token (of that owner).
    pub async fn revoke_token(
        &self,
        id: &str,
        owner: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             AND ($3 IS NULL OR account_id IN (SELECT id FROM accounts WHERE name = $3))",
        )
        .bind(now_millis())
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Who the token with this hash speaks for: none when it is unknown,
    /// revoked, or its account is disabled. Notes its use (at most once a
    /// minute).
    pub async fn account_for_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<TokenHolder>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {JOINED_ACCOUNT_COLUMNS}, t.id AS token_id, t.name AS token_name, \
             t.last_used_at FROM api_tokens AS t JOIN accounts AS a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let holder = TokenHolder {
            account: read_account(&row)?,
            token_id: row.try_get("token_id")?,
            token_name: row.try_get("token_name")?,
        };
        let last_used_at: Option<i64> = row.try_get("last_used_at")?;
        let now = now_millis();
        if last_used_at.is_none_or(|at| now.saturating_sub(at) >= millis(TOKEN_USE_EVERY)) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(holder.token_id.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(holder))
    }
}
