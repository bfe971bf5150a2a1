//! Console sessions, kept server-side (the cookie holds a random id, this
//! table its SHA-256) with an idle and an absolute expiry, and the
//! sign-in slowdown: failures counted per key (an account name, a client
//! address) in the database, which every API replica shares.

use std::time::Duration;

use sqlx::Row;

use super::accounts::{Account, JOINED_ACCOUNT_COLUMNS, millis, read_account};
use super::{Database, DbError, now_millis};

/// A session's last use is written at most this often (and at most every
/// quarter of its idle time), so that a busy console does not write on
/// every request.
const SESSION_TOUCH_EVERY: Duration = Duration::from_secs(30);

impl Database {
    /// A new session of an enabled account, stored as `id_hash`
    /// (adpipe-auth's `hash_secret` of the cookie's id). False when the
    /// account is unknown or disabled.
    pub async fn create_session(
        &self,
        id_hash: &str,
        account_name: &str,
        address: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<bool, DbError> {
        let result = sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, address, \
             user_agent) SELECT $1, id, $2, $2, $3, $4 FROM accounts \
             WHERE name = $5 AND disabled_at IS NULL",
        )
        .bind(id_hash)
        .bind(now_millis())
        .bind(address)
        .bind(user_agent)
        .bind(account_name)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The account of a live session: none when the session is unknown,
    /// has been idle longer than `idle`, is older than `absolute`, or its
    /// account is disabled. An expired session is deleted.
    pub async fn session_account(
        &self,
        id_hash: &str,
        idle: Duration,
        absolute: Duration,
    ) -> Result<Option<Account>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {JOINED_ACCOUNT_COLUMNS}, s.created_at AS session_created_at, \
             s.last_seen_at FROM sessions AS s JOIN accounts AS a ON a.id = s.account_id \
             WHERE s.id_hash = $1"
        ))
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account = read_account(&row)?;
        let created_at: i64 = row.try_get("session_created_at")?;
        let last_seen_at: i64 = row.try_get("last_seen_at")?;
        let now = now_millis();
        let idle_for = now.saturating_sub(last_seen_at);
        if account.disabled
            || idle_for > millis(idle)
            || now.saturating_sub(created_at) > millis(absolute)
        {
            self.end_session(id_hash).await?;
            return Ok(None);
        }
        if idle_for >= millis(SESSION_TOUCH_EVERY.min(idle / 4)) {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(account))
    }

    /// Signs a session out. False when there was none.
    pub async fn end_session(&self, id_hash: &str) -> Result<bool, DbError> {
        let result = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Signs an account out everywhere; how many sessions ended.
    pub async fn end_sessions_of(&self, account_name: &str) -> Result<u64, DbError> {
        let result = sqlx::query(
            "DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE name = $1)",
        )
        .bind(account_name)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Deletes the sessions that have expired; how many.
    pub async fn prune_sessions(&self, idle: Duration, absolute: Duration) -> Result<u64, DbError> {
        let now = now_millis();
        let result = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(now.saturating_sub(millis(idle)))
            .bind(now.saturating_sub(millis(absolute)))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// How much longer `key` is locked out of signing in, if it is.
    pub async fn sign_in_locked(&self, key: &str) -> Result<Option<Duration>, DbError> {
        let row = sqlx::query("SELECT locked_until FROM sign_in_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let locked_until: Option<i64> = match row {
            Some(row) => row.try_get("locked_until")?,
            None => None,
        };
        Ok(remaining(locked_until, now_millis()))
    }

    /// Counts a failed sign-in of `key`. The count starts again once
    /// `window` has passed since its first failure; the `lock_after`th
    /// failure within one window locks the key for `lock_for`, returned,
    /// and the count starts again.
    pub async fn sign_in_failed(
        &self,
        key: &str,
        window: Duration,
        lock_after: u32,
        lock_for: Duration,
    ) -> Result<Option<Duration>, DbError> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO sign_in_failures (key, failures, window_started_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN sign_in_failures.window_started_at <= $3 THEN 1 \
                 ELSE sign_in_failures.failures + 1 END, \
             window_started_at = CASE WHEN sign_in_failures.window_started_at <= $3 THEN $2 \
                 ELSE sign_in_failures.window_started_at END \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(now.saturating_sub(millis(window)))
        .fetch_one(&mut *tx)
        .await?;
        let failures: i64 = row.try_get("failures")?;
        if failures < i64::from(lock_after.max(1)) {
            tx.commit().await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE sign_in_failures SET failures = 0, window_started_at = $1, \
             locked_until = $2 WHERE key = $3",
        )
        .bind(now)
        .bind(now.saturating_add(millis(lock_for)))
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(lock_for))
    }

    /// A successful sign-in of `key`: its failures are forgotten.
    pub async fn sign_in_succeeded(&self, key: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the failures of keys neither locked nor failing for
    /// `older_than`; how many keys.
    pub async fn prune_sign_in_failures(&self, older_than: Duration) -> Result<u64, DbError> {
        let now = now_millis();
        let result = sqlx::query(
            "DELETE FROM sign_in_failures WHERE window_started_at < $1 \
             AND (locked_until IS NULL OR locked_until < $2)",
        )
        .bind(now.saturating_sub(millis(older_than)))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

/// The time left until `until`, if it is later than `now`.
fn remaining(until: Option<i64>, now: i64) -> Option<Duration> {
    until
        .filter(|&until| until > now)
        .and_then(|until| u64::try_from(until - now).ok())
        .map(Duration::from_millis)
}
