//! The ads table, on SQLite (default, a file in the data dir, WAL) or
//! PostgreSQL, through sqlx's `Any` driver so one set of queries serves
//! both. Times are Unix milliseconds.
//!
//! The table is also the built-in queue: a worker claims pending ads by
//! setting a lease, and an ad whose lease ran out (its worker died) is
//! claimed again. Decisions are recorded only on pending rows, so a
//! redelivered ad is decided exactly once.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adpipe_core::policy::TextReading;
use adpipe_core::{AdId, AdText, Email, Status, Tag, TextInImage};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

mod accounts;
mod ads;
mod appeals;
mod audit;
mod claims;
mod decisions;
mod embeddings;
mod history;
mod listing;
mod models;
mod moderation;
mod outbox;
mod sessions;
mod shadow;
mod webhooks;

pub use accounts::{
    Account, AccountChange, AccountWithHash, NewAccount, TokenCreated, TokenHolder, TokenInfo,
};
pub use appeals::{APPELLANT, Appealed};
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use embeddings::{
    DecidedEmbedding, PersonDecided, Unembedded, decode_embedding, encode_embedding,
};
pub use history::HistoryEntry;
pub use listing::AdFilter;
pub use models::{DeployAction, DeployError, Deployment, ModelVersion, promoted_stack};
pub use moderation::{ClaimOutcome, Moderated, Moderation};
pub use shadow::{ShadowAgreement, ShadowRow, shadow_report};
pub use webhooks::WebhookDelivery;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL, redacted.
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row for ad {id}: {message}")]
    Corrupt { id: String, message: String },
}

impl DbError {
    /// The server could not be reached or is not accepting connections
    /// yet (refused, cut, timed out, starting up or shutting down): worth
    /// another try, unlike a wrong password or a missing database.
    pub fn is_unreachable(&self) -> bool {
        let sqlx_error = match self {
            DbError::Sqlx(error) => error,
            DbError::Migrate(sqlx::migrate::MigrateError::Execute(error)) => error,
            _ => return false,
        };
        match sqlx_error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut => true,
            // PostgreSQL's connection exceptions (class 08) and operator
            // interventions (57P01 shutting down, 57P03 starting up).
            sqlx::Error::Database(database) => database
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
            _ => false,
        }
    }

    /// The database could not write because its disk is full: SQLite's
    /// SQLITE_FULL, PostgreSQL's `disk_full` (53100), or ENOSPC underneath.
    /// The statement was rolled back; it passes once space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(database)) => {
                matches!(database.code().as_deref(), Some("13" | "53100"))
            }
            DbError::Sqlx(other) => crate::caused_by_full_disk(other),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What the API stores when an ad is submitted: the text and address as
/// validated at the door. Rows read back hold them as plain text, as they
/// were stored (a rule tightened later must not make old ads unreadable).
#[derive(Debug, Clone)]
pub struct NewAd {
    pub id: AdId,
    pub text: AdText,
    pub email: Email,
    pub image_key: String,
    pub content_type: String,
}

/// One row of the ads table.
#[derive(Debug, Clone, PartialEq)]
pub struct AdRecord {
    pub id: AdId,
    pub text: String,
    pub email: String,
    pub image_key: String,
    pub content_type: String,
    pub status: Status,
    pub category: Option<String>,
    pub tags: Vec<Tag>,
    pub model: Option<String>,
    pub policy: Option<String>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub notified_at: Option<i64>,
    /// Emails tried so far (sent or failed).
    pub notify_attempts: i64,
    /// The best category's score behind the last automatic decision.
    pub score: Option<f64>,
    /// In review: what the model would have decided alone.
    pub suggestion: Option<Status>,
    /// In review: since when.
    pub review_since: Option<i64>,
    /// What the ad's text said, when the policy read it.
    pub text_reading: Option<TextReading>,
    /// The text read in its photo, when the policy reads it (empty when
    /// nothing was read, or the policy does not read photos).
    pub text_in_image: Vec<TextInImage>,
    /// The moderator looking at it (an account name), and until when; an
    /// expired claim is no claim.
    pub claimed_by: Option<String>,
    pub claimed_until: Option<i64>,
    /// The key of its appeal link (shown only in the rejection email);
    /// `None` for ads stored before appeals existed.
    pub appeal_secret: Option<String>,
    /// The submitter's appeal of a rejection, and when it came.
    pub appeal_text: Option<String>,
    pub appealed_at: Option<i64>,
}

impl AdRecord {
    /// Who holds it at `now`, if anyone.
    pub fn claim_at(&self, now: i64) -> Option<(&str, i64)> {
        match (&self.claimed_by, self.claimed_until) {
            (Some(by), Some(until)) if until > now => Some((by.as_str(), until)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// Whether decisions queue webhook deliveries (a site URL is set).
    webhooks: bool,
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

pub(super) const COLUMNS: &str = "id, text, email, image_key, content_type, status, category, tags, model, \
                       policy, reason, attempts, created_at, decided_at, notified_at, \
                       notify_attempts, score, suggestion, review_since, text_reading, \
                       text_in_image, claimed_by, claimed_until, appeal_secret, appeal_text, appealed_at";

impl Database {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            // The URL may hold a password: the error is shown to people.
            return Err(DbError::UnsupportedUrl(adpipe_core::redact_url(url)));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') && !url.contains(":memory:") => {
                format!("{url}?mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_release(|connection, _| Box::pin(settled_transaction(connection)));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|connection, _| {
                Box::pin(async move {
                    // Readers never wait for the writer in WAL mode; a writer
                    // waits up to 5 s for another instead of failing at once.
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                    connection.execute("PRAGMA busy_timeout = 5000").await?;
                    connection.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        let database = Self {
            pool,
            backend,
            webhooks: false,
        };
        database.migrate().await?;
        Ok(database)
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Decisions recorded through this handle queue webhook deliveries
    /// (only where a receiver is configured: otherwise they would pile up).
    pub fn with_webhooks(mut self, enabled: bool) -> Self {
        self.webhooks = enabled;
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether a connection handed back to the pool holds no transaction, so
/// the next user starts from a clean slate; one that does is closed (which
/// rolls back whatever it still holds) instead of being pooled.
///
/// A dropped transaction queues its rollback, and sqlx counts a
/// connection's depth by the statements it sent, not by what the server
/// did. SQLite rolls a whole transaction back by itself when a statement or
/// the COMMIT fails with SQLITE_FULL or SQLITE_IOERR: the queued ROLLBACK
/// then fails ("no transaction is active") and the count stays at one. On
/// that connection the next `begin` sends `SAVEPOINT` (which opens a real
/// transaction), its rollback sends `ROLLBACK TO` (which does not end it),
/// and from then on the connection holds the write lock for good: every
/// other connection waits out its busy timeout ("database is locked"), and
/// its own writes are never committed. Closing such a connection is the
/// one way back that does not depend on what the server did.
async fn settled_transaction(connection: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !connection.is_in_transaction() {
        return Ok(true);
    }
    // The rollback a dropped transaction queued runs first.
    connection.ping().await?;
    if connection.is_in_transaction() {
        tracing::warn!(
            "a pooled database connection was left in a transaction after an error \
             (a full disk, say): closed instead of reused"
        );
        return Ok(false);
    }
    Ok(true)
}

pub(super) fn record(row: &AnyRow) -> Result<AdRecord, DbError> {
    let id: String = row.try_get("id")?;
    let corrupt = |message: String| DbError::Corrupt {
        id: id.clone(),
        message,
    };
    let status: String = row.try_get("status")?;
    let tags: Option<String> = row.try_get("tags")?;
    let suggestion: Option<String> = row.try_get("suggestion")?;
    let text_reading: Option<String> = row.try_get("text_reading")?;
    let text_in_image: Option<String> = row.try_get("text_in_image")?;
    let tags = match tags {
        Some(json) => serde_json::from_str(&json).map_err(|error| corrupt(error.to_string()))?,
        None => Vec::new(),
    };
    Ok(AdRecord {
        id: id
            .parse()
            .map_err(|error: adpipe_core::InvalidAdId| corrupt(error.to_string()))?,
        text: row.try_get("text")?,
        email: row.try_get("email")?,
        image_key: row.try_get("image_key")?,
        content_type: row.try_get("content_type")?,
        status: Status::from_str(&status).map_err(corrupt)?,
        category: row.try_get("category")?,
        tags,
        model: row.try_get("model")?,
        policy: row.try_get("policy")?,
        reason: row.try_get("reason")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
        notified_at: row.try_get("notified_at")?,
        notify_attempts: row.try_get("notify_attempts")?,
        score: row.try_get("score")?,
        suggestion: suggestion
            .as_deref()
            .map(Status::from_str)
            .transpose()
            .map_err(corrupt)?,
        review_since: row.try_get("review_since")?,
        text_reading: text_reading
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|error| corrupt(error.to_string()))?,
        text_in_image: match text_in_image {
            Some(json) => {
                serde_json::from_str(&json).map_err(|error| corrupt(error.to_string()))?
            }
            None => Vec::new(),
        },
        claimed_by: row.try_get("claimed_by")?,
        claimed_until: row.try_get("claimed_until")?,
        appeal_secret: row.try_get("appeal_secret")?,
        appeal_text: row.try_get("appeal_text")?,
        appealed_at: row.try_get("appealed_at")?,
    })
}

/// `$first, $first+1, …` for `count` values.
pub(super) fn numbered_params(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}
