//! The email outbox: a decided ad whose `notified_at` is empty owes its
//! submitter an email; it is claimed with a lease like a pending ad, and
//! retried with backoff until the SMTP server takes it.

use std::time::Duration;

use adpipe_core::AdId;

use super::{AdRecord, COLUMNS, Database, DbError, now_millis, numbered_params, record};

impl Database {
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

    /// Marks the email of the decision made at `decided_at` as sent. When
    /// the ad was decided again meanwhile (`adpipe retag`, a moderator), the
    /// email that went out told of the old decision: the row stays unsent
    /// and is made due now, so the submitter hears the new one too. Returns
    /// whether the email sent was the one due.
    pub async fn mark_notified(&self, id: AdId, decided_at: Option<i64>) -> Result<bool, DbError> {
        let now = now_millis();
        let marked = sqlx::query(
            "UPDATE ads SET notified_at = $1, notify_after = NULL WHERE id = $2 AND decided_at = $3",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(decided_at)
        .execute(&self.pool)
        .await?;
        if marked.rows_affected() == 1 {
            return Ok(true);
        }
        sqlx::query("UPDATE ads SET notify_after = $1 WHERE id = $2 AND notified_at IS NULL")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(false)
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
}
