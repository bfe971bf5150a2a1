//! Decisions: recorded only over the row as it was when judged, so a
//! redelivery, a second retag or a colleague's decision in between writes
//! nothing.

use adpipe_core::{AdId, DecidedBy, Decision, Status, Tag};

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{AdRecord, Backend, Database, DbError, now_millis};

/// The columns a decision writes, as `$1` to `$6` (see [`bind_decision`]).
const DECISION_COLUMNS: &str =
    "status = $1, category = $2, tags = $3, model = $4, policy = $5, reason = $6";

/// Binds a decision, the tags it rests on and who made it to `$1`–`$6`.
fn bind_decision<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    decision: &'q Decision,
    tags: &[Tag],
    by: &'q DecidedBy,
) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(decision.status.as_str())
        .bind(decision.category.as_deref())
        .bind(serde_json::to_string(tags).expect("tags serialise"))
        .bind(by.model.as_str())
        .bind(by.policy.as_str())
        .bind(decision.reason.as_deref())
}

impl Database {
    /// Records the decision (with the tags it was made on, and who made it)
    /// if the ad is still pending. Returns false when it was already
    /// decided (a redelivery), so the caller sends no second email.
    pub async fn record_decision(
        &self,
        id: AdId,
        decision: &Decision,
        tags: &[Tag],
        by: &DecidedBy,
    ) -> Result<bool, DbError> {
        let sql = format!(
            "UPDATE ads SET {DECISION_COLUMNS}, decided_at = $7, lease_until = NULL, \
             notify_after = $7 WHERE id = $8 AND status = 'pending'"
        );
        let result = bind_decision(sqlx::query(&sql), decision, tags, by)
            .bind(now_millis())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
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
        decision: &Decision,
        tags: &[Tag],
        by: &DecidedBy,
        renotify: bool,
    ) -> Result<bool, DbError> {
        if seen.status == Status::Pending {
            return self.record_decision(seen.id, decision, tags, by).await;
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
        let sql = format!(
            "UPDATE ads SET {DECISION_COLUMNS}, decided_at = $7 {notify} \
             WHERE id = $8 AND status = $9 AND decided_at {same} $10"
        );
        let result = bind_decision(sqlx::query(&sql), decision, tags, by)
            .bind(decided_at)
            .bind(seen.id.to_string())
            .bind(seen.status.as_str())
            .bind(seen.decided_at)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
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
}
