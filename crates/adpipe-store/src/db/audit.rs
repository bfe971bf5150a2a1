//! The audit log: who did what to which account, token or ad, from where.
//! Append-only: the tables' triggers refuse every update and delete (and,
//! on PostgreSQL, a truncate), so not even adpipe's own SQL can edit it.
//! A change to an account or a token writes its record in the same
//! transaction ([`Database::append_audit_in`]); other actions append
//! theirs after the fact ([`Database::append_audit`]).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

use super::{Database, DbError, now_millis};

/// A record about to be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditEntry {
    /// `account:<name>`, `token:<account>/<token name>`, `bootstrap` or
    /// `cli:<user>` (adpipe-auth's `Actor::label`).
    pub actor: String,
    /// `account.created`, `account.role_changed`, `token.revoked`,
    /// `session.signed_in`, `ad.decided`, …
    pub action: String,
    /// What it was done to: `account:<name>`, `token:<id>`, `ad:<id>`.
    pub target: Option<String>,
    /// Anything else worth keeping (the new role, a token's name), as JSON.
    pub detail: Option<serde_json::Value>,
    /// The client's address (after trusted proxies) and user agent.
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

impl AuditEntry {
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            ..Self::default()
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Where the request came from.
    pub fn client(mut self, address: Option<&str>, user_agent: Option<&str>) -> Self {
        self.address = address.map(str::to_owned);
        self.user_agent = user_agent.map(str::to_owned);
        self
    }
}

/// A record as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The log's order (a later record has a higher one).
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Which records [`Database::audit`] returns: every condition set must
/// hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFilter<'a> {
    /// Exactly this actor (`account:ana`).
    pub actor: Option<&'a str>,
    /// Exactly this action (`account.disabled`).
    pub action: Option<&'a str>,
    /// At or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// The next page: records before this `seq` (the last one of the
    /// previous page).
    pub before_seq: Option<i64>,
    /// At most this many records.
    pub limit: u32,
}

impl Default for AuditFilter<'_> {
    fn default() -> Self {
        Self {
            actor: None,
            action: None,
            since: None,
            before_seq: None,
            limit: 100,
        }
    }
}

const INSERT: &str = "INSERT INTO audit_log (at, actor, action, target, detail, address, \
     user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)";

impl Database {
    /// Appends `entry` to the audit log, now.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), DbError> {
        bind_entry(entry).execute(&self.pool).await?;
        Ok(())
    }

    /// Appends `entry` inside the caller's transaction: the action and its
    /// record are committed together, or neither is.
    pub(crate) async fn append_audit_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &AuditEntry,
    ) -> Result<(), DbError> {
        bind_entry(entry).execute(&mut **tx).await?;
        Ok(())
    }

    /// The records the filter matches, newest first.
    pub async fn audit(&self, filter: &AuditFilter<'_>) -> Result<Vec<AuditRecord>, DbError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, detail, address, user_agent FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
             AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR seq < $4) \
             ORDER BY seq DESC LIMIT $5",
        )
        .bind(filter.actor)
        .bind(filter.action)
        .bind(filter.since)
        .bind(filter.before_seq)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_record).collect()
    }
}

/// The insert of `entry`, stamped now.
fn bind_entry(entry: &AuditEntry) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(INSERT)
        .bind(now_millis())
        .bind(entry.actor.as_str())
        .bind(entry.action.as_str())
        .bind(entry.target.as_deref())
        .bind(entry.detail.as_ref().map(serde_json::Value::to_string))
        .bind(entry.address.as_deref())
        .bind(entry.user_agent.as_deref())
}

fn audit_record(row: &AnyRow) -> Result<AuditRecord, DbError> {
    let seq: i64 = row.try_get("seq")?;
    let detail: Option<String> = row.try_get("detail")?;
    Ok(AuditRecord {
        seq,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: detail
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|error| DbError::Corrupt {
                id: format!("audit record {seq}"),
                message: error.to_string(),
            })?,
        address: row.try_get("address")?,
        user_agent: row.try_get("user_agent")?,
    })
}
