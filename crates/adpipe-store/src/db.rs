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

use adpipe_core::{AdId, Status, Tag};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row for ad {id}: {message}")]
    Corrupt { id: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What the API stores when an ad is submitted.
#[derive(Debug, Clone)]
pub struct NewAd {
    pub id: AdId,
    pub text: String,
    pub email: String,
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
}

/// What the worker concluded about one ad.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub category: Option<String>,
    pub tags: Vec<Tag>,
    pub model: String,
    pub policy: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

const COLUMNS: &str = "id, text, email, image_key, content_type, status, category, tags, model, \
                       policy, reason, attempts, created_at, decided_at, notified_at, \
                       notify_attempts";

impl Database {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl(url.to_owned()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') && !url.contains(":memory:") => {
                format!("{url}?mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10));
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
        let database = Self { pool, backend };
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

    pub async fn insert_ad(&self, ad: &NewAd) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO ads (id, text, email, image_key, content_type, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
        )
        .bind(ad.id.to_string())
        .bind(&ad.text)
        .bind(&ad.email)
        .bind(&ad.image_key)
        .bind(&ad.content_type)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_ad(&self, id: AdId) -> Result<Option<AdRecord>, DbError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| record(&row)).transpose()
    }

    /// Takes up to `limit` pending ads nobody holds, oldest first, and holds
    /// them for `lease`. An ad whose worker died is taken again once its
    /// lease has run out.
    pub async fn claim_pending(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        let mut ads = self
            .claim(
                "lease_until = $1, attempts = attempts + 1",
                "status = 'pending' AND (lease_until IS NULL OR lease_until <= $2) \
                 ORDER BY created_at",
                limit,
                lease,
            )
            .await?;
        ads.sort_by_key(|ad| ad.created_at);
        Ok(ads)
    }

    /// Holds the given ads (ids a RabbitMQ consumer received) for `lease`,
    /// returning those still pending. A redelivered id whose ad is decided
    /// or gone comes back absent, and the caller just acks it.
    pub async fn claim_ids(&self, ids: &[AdId], lease: Duration) -> Result<Vec<AdRecord>, DbError> {
        self.claim_listed(ids, lease, false).await
    }

    /// Holds the listed pending ads for `lease`, oldest first; with
    /// `only_unheld`, not those a worker holds now.
    async fn claim_listed(
        &self,
        ids: &[AdId],
        lease: Duration,
        only_unheld: bool,
    ) -> Result<Vec<AdRecord>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_millis();
        // A lease ending after this does not stop the claim.
        let lease_ended_by = if only_unheld { now } else { i64::MAX };
        let sql = format!(
            "UPDATE ads SET lease_until = $1, attempts = attempts + 1 \
             WHERE status = 'pending' AND (lease_until IS NULL OR lease_until <= $2) \
             AND id IN ({}) RETURNING {COLUMNS}",
            numbered_params(3, ids.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(lease_ended_by);
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut ads = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        ads.sort_by_key(|ad| ad.created_at);
        Ok(ads)
    }

    /// Pending ads that nobody holds, for the RabbitMQ sweep: those whose
    /// lease ran out (handed back for a retry, or their worker died), and,
    /// with `never_held_older_than`, those no worker ever took that were
    /// created before that age (their message was lost, e.g. a failed
    /// publish). Held for `lease` so two sweepers do not both re-publish.
    pub async fn claim_stale(
        &self,
        limit: u32,
        never_held_older_than: Option<Duration>,
        lease: Duration,
    ) -> Result<Vec<AdId>, DbError> {
        let never_held = match never_held_older_than {
            Some(age) => format!(
                "OR (lease_until IS NULL AND created_at <= {})",
                now_millis() - age.as_millis() as i64
            ),
            None => String::new(),
        };
        let ads = self
            .claim(
                "lease_until = $1",
                &format!(
                    "status = 'pending' AND (lease_until <= $2 {never_held}) ORDER BY created_at"
                ),
                limit,
                lease,
            )
            .await?;
        Ok(ads.into_iter().map(|ad| ad.id).collect())
    }

    /// The one claiming mechanism of both queues (ads to decide, emails to
    /// send): mark up to `limit` due rows as held until now + `lease` and
    /// return them. `$1` is the hold's end and `$2` now, in `set` and `due`.
    async fn claim(
        &self,
        set: &str,
        due: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        let now = now_millis();
        // PostgreSQL: concurrent workers skip each other's rows instead of
        // queueing behind them. SQLite has one writer at a time anyway.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE ads SET {set} WHERE id IN (\
                 SELECT id FROM ads WHERE {due} LIMIT $3 {lock}) \
             RETURNING {COLUMNS}"
        ))
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Hands a claimed ad back to the queue, to be tried again after
    /// `retry_after` (a transient failure such as the blob store being down).
    pub async fn release(&self, id: AdId, retry_after: Duration) -> Result<(), DbError> {
        sqlx::query("UPDATE ads SET lease_until = $1 WHERE id = $2 AND status = 'pending'")
            .bind(now_millis() + retry_after.as_millis() as i64)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the decision if the ad is still pending. Returns false when
    /// it was already decided (a redelivery), so the caller sends no second
    /// email.
    pub async fn record_outcome(&self, id: AdId, outcome: &Outcome) -> Result<bool, DbError> {
        let tags = serde_json::to_string(&outcome.tags).expect("tags serialise");
        let now = now_millis();
        let result = sqlx::query(
            "UPDATE ads SET status = $1, category = $2, tags = $3, model = $4, policy = $5, \
             reason = $6, decided_at = $7, lease_until = NULL, notify_after = $7 \
             WHERE id = $8 AND status = 'pending'",
        )
        .bind(outcome.status.as_str())
        .bind(outcome.category.as_deref())
        .bind(tags)
        .bind(&outcome.model)
        .bind(&outcome.policy)
        .bind(outcome.reason.as_deref())
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Decided ads whose email has not gone out and is due, held for
    /// `lease` so two workers do not send the same email.
    pub async fn claim_notifications(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        self.claim(
            "notify_after = $1, notify_attempts = notify_attempts + 1",
            "decided_at IS NOT NULL AND notified_at IS NULL AND notify_after <= $2 \
             ORDER BY decided_at",
            limit,
            lease,
        )
        .await
    }

    pub async fn mark_notified(&self, id: AdId) -> Result<(), DbError> {
        sqlx::query("UPDATE ads SET notified_at = $1, notify_after = NULL WHERE id = $2")
            .bind(now_millis())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The email could not be sent; try again after `retry_after`.
    pub async fn notification_failed(
        &self,
        id: AdId,
        retry_after: Duration,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE ads SET notify_after = $1 WHERE id = $2 AND notified_at IS NULL")
            .bind(now_millis() + retry_after.as_millis() as i64)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of ads, newest first, optionally of one status. `before` is
    /// the last id of the previous page (ids are UUIDv7, so they sort by
    /// creation time).
    pub async fn list_ads(
        &self,
        status: Option<Status>,
        before: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<AdRecord>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ads WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(status.map(Status::as_str))
        .bind(before.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Puts a decided ad back in the queue to be judged again (after a
    /// model or policy change); its submitter hears the new outcome.
    /// Returns false for an unknown ad.
    pub async fn reset_for_review(&self, id: AdId) -> Result<bool, DbError> {
        let result = sqlx::query(
            "UPDATE ads SET status = 'pending', category = NULL, tags = NULL, reason = NULL, \
             decided_at = NULL, notified_at = NULL, notify_after = NULL, notify_attempts = 0, \
             lease_until = NULL, attempts = 0 WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes the row; returns whether there was one.
    pub async fn delete_ad(&self, id: AdId) -> Result<bool, DbError> {
        let result = sqlx::query("DELETE FROM ads WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// How many ads are in each status.
    pub async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, DbError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM ads GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                let count: i64 = row.try_get("n")?;
                let status = Status::from_str(&status).map_err(|message| DbError::Corrupt {
                    id: String::new(),
                    message,
                })?;
                Ok((status, count))
            })
            .collect()
    }
}

fn record(row: &AnyRow) -> Result<AdRecord, DbError> {
    let id: String = row.try_get("id")?;
    let corrupt = |message: String| DbError::Corrupt {
        id: id.clone(),
        message,
    };
    let status: String = row.try_get("status")?;
    let tags: Option<String> = row.try_get("tags")?;
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
    })
}

/// Which ads `adpipe retag` looks at: every condition that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct AdFilter {
    /// Empty: every status.
    pub statuses: Vec<Status>,
    /// Created at or after this time (Unix milliseconds).
    pub created_from: Option<i64>,
    /// Created before this time (Unix milliseconds).
    pub created_before: Option<i64>,
}

impl AdFilter {
    /// The conditions as SQL. Only statuses (fixed words) and numbers are
    /// written into it, nothing a user typed.
    fn sql(&self) -> String {
        let mut conditions = vec!["1 = 1".to_owned()];
        if !self.statuses.is_empty() {
            let statuses = self
                .statuses
                .iter()
                .map(|status| format!("'{}'", status.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(format!("status IN ({statuses})"));
        }
        if let Some(from) = self.created_from {
            conditions.push(format!("created_at >= {from}"));
        }
        if let Some(before) = self.created_before {
            conditions.push(format!("created_at < {before}"));
        }
        conditions.join(" AND ")
    }
}

/// `$first, $first+1, …` for `count` values.
fn numbered_params(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Judging stored ads again (`adpipe retag`) beside running workers: the
/// workers' pending ads are taken only the way a worker takes them, and a
/// new decision is written only over the row as it was read.
impl Database {
    /// How many ads the filter matches.
    pub async fn count_ads(&self, filter: &AdFilter) -> Result<i64, DbError> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM ads WHERE {}",
            filter.sql()
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// One page of the ads the filter matches, oldest first: those after
    /// `after` (the last id of the previous page; ids are UUIDv7, so they
    /// sort by creation time). A keyset, not an offset: rows that change or
    /// vanish between pages neither repeat nor hide others.
    pub async fn ads_after(
        &self,
        filter: &AdFilter,
        after: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<AdRecord>, DbError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM ads WHERE {} AND id > $1 ORDER BY id LIMIT $2",
                    filter.sql()
                ))
                .bind(after.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM ads WHERE {} ORDER BY id LIMIT $1",
                    filter.sql()
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(record).collect()
    }

    /// Holds those of the given ads that are pending and that no worker
    /// holds, for `lease`, as a worker of the built-in queue would (unlike
    /// [`Database::claim_ids`], a lease is respected). The rest come back
    /// absent: a worker has them, or they were decided meanwhile.
    pub async fn claim_pending_ids(
        &self,
        ids: &[AdId],
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        self.claim_listed(ids, lease, true).await
    }

    /// Records a new decision for an ad if its row is still as `seen` (same
    /// status, same decision time): a second retag, a worker, an admin's
    /// review or a delete in between make it return false and write
    /// nothing. A pending ad (held with [`Database::claim_pending_ids`]) is
    /// recorded as the worker records it, its email due.
    ///
    /// `renotify`: the submitter hears the new outcome; an ad already
    /// emailed is made due again. One whose email has not gone out yet is
    /// left as it is: that email reads the row when it is sent, so it
    /// carries the new outcome, and a second one would be a duplicate.
    pub async fn record_redecision(
        &self,
        seen: &AdRecord,
        outcome: &Outcome,
        renotify: bool,
    ) -> Result<bool, DbError> {
        if seen.status == Status::Pending {
            return self.record_outcome(seen.id, outcome).await;
        }
        // Later than the decision it replaces, even on a clock that stepped.
        let decided_at = now_millis().max(seen.decided_at.map_or(0, |at| at + 1));
        let same = match self.backend {
            Backend::Sqlite => "IS",
            Backend::Postgres => "IS NOT DISTINCT FROM",
        };
        // SET reads the row as it was: `notified_at` here is the old one.
        let notify = if renotify {
            ", notify_after = CASE WHEN notified_at IS NULL THEN notify_after ELSE $11 END, \
             notify_attempts = CASE WHEN notified_at IS NULL THEN notify_attempts ELSE 0 END, \
             notified_at = NULL"
        } else {
            ""
        };
        let tags = serde_json::to_string(&outcome.tags).expect("tags serialise");
        let result = sqlx::query(&format!(
            "UPDATE ads SET status = $1, category = $2, tags = $3, model = $4, policy = $5, \
             reason = $6, decided_at = $7 {notify} \
             WHERE id = $8 AND status = $9 AND decided_at {same} $10"
        ))
        .bind(outcome.status.as_str())
        .bind(outcome.category.as_deref())
        .bind(tags)
        .bind(&outcome.model)
        .bind(&outcome.policy)
        .bind(outcome.reason.as_deref())
        .bind(decided_at)
        .bind(seen.id.to_string())
        .bind(seen.status.as_str())
        .bind(seen.decided_at)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// [`Database::claim_notifications`] for the given ads only: those
    /// whose email is due, held for `lease` so no worker sends it too.
    pub async fn claim_notifications_of(
        &self,
        ids: &[AdId],
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE ads SET notify_after = $1, notify_attempts = notify_attempts + 1 \
             WHERE decided_at IS NOT NULL AND notified_at IS NULL AND notify_after <= $2 \
             AND id IN ({}) RETURNING {COLUMNS}",
            numbered_params(3, ids.len())
        );
        let now = now_millis();
        let mut query = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now);
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(record).collect()
    }
}
