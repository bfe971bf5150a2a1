//! The lease queue: pending rows are claimed by setting `lease_until`,
//! and a row whose lease ran out (its worker died, or it was handed back
//! for a retry) can be claimed again. The same claim serves the email
//! outbox ([`super::outbox`]).

use std::time::Duration;

use adpipe_core::AdId;

use super::{AdRecord, Backend, COLUMNS, Database, DbError, now_millis, numbered_params, record};

impl Database {
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

    /// The one claiming mechanism of both queues (ads to decide, emails to
    /// send): mark up to `limit` due rows as held until now + `lease` and
    /// return them. `$1` is the hold's end and `$2` now, in `set` and `due`.
    pub(super) async fn claim(
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
}
