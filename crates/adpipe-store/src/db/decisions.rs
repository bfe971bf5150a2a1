//! Decisions: recorded only over the row as it was when judged, so a
//! redelivery, a second retag or a colleague's decision in between writes
//! nothing. Each one recorded appends to the decision history, and owes the
//! site a webhook, in the same transaction.

use adpipe_core::{AdId, DecidedBy, Decision, Embedding, Status, Tag};

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::embeddings::encode_embedding;
use super::history::Entry;
use super::{AdRecord, Backend, Database, DbError, now_millis};

/// The columns a decision writes, as `$1` to `$12` (see [`bind_decision`]).
const DECISION_COLUMNS: &str = "status = $1, category = $2, tags = $3, model = $4, policy = $5, \
     reason = $6, score = $7, suggestion = $8, review_since = $9, decided_at = $10, \
     text_reading = $11, text_in_image = $12, lease_until = NULL";

/// When a decision counts as made: now for a final one (or a failure); an
/// ad in review is not decided yet (so its email is not due), it waits
/// for a person since now.
fn times(decision: &Decision, decided_at: i64) -> (Option<i64>, Option<i64>) {
    if decision.status == Status::InReview {
        (Some(now_millis()), None)
    } else {
        (None, Some(decided_at))
    }
}

/// Binds a decision, the tags it rests on and who made it to `$1`–`$12`.
fn bind_decision<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    decision: &'q Decision,
    tags: &[Tag],
    by: &'q DecidedBy,
    decided_at: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    let (review_since, decided_at) = times(decision, decided_at);
    query
        .bind(decision.status.as_str())
        .bind(decision.category.as_deref())
        .bind(serde_json::to_string(tags).expect("tags serialise"))
        .bind(by.model.as_str())
        .bind(by.policy.as_str())
        .bind(decision.reason.as_deref())
        .bind(f64::from(decision.score))
        .bind(decision.suggestion.map(Status::as_str))
        .bind(review_since)
        .bind(decided_at)
        .bind(
            decision
                .text
                .as_ref()
                .map(|reading| serde_json::to_string(reading).expect("a reading serialises")),
        )
        // NULL when nothing was read, as for an ad judged before photos
        // were read: one way to say "none".
        .bind((!decision.text_in_image.is_empty()).then(|| {
            serde_json::to_string(&decision.text_in_image).expect("text in the photo serialises")
        }))
}

/// The history row of an automatic decision.
fn model_entry<'a>(id: AdId, decision: &'a Decision, by: &'a DecidedBy, at: i64) -> Entry<'a> {
    Entry {
        ad_id: id,
        at,
        by: by.label(),
        outcome: decision.status,
        category: decision.category.as_deref(),
        score: Some(f64::from(decision.score)),
        reason: decision.reason.as_deref(),
        model: Some(&by.model),
        policy: Some(&by.policy),
        note: None,
    }
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
        self.record_judgement(id, decision, tags, by, None).await
    }

    /// [`Database::record_decision`], keeping the photo's feature vector
    /// (when the model has one) in the same write: the worker's way.
    pub async fn record_judgement(
        &self,
        id: AdId,
        decision: &Decision,
        tags: &[Tag],
        by: &DecidedBy,
        embedding: Option<&Embedding>,
    ) -> Result<bool, DbError> {
        let now = now_millis();
        let sql = format!(
            "UPDATE ads SET {DECISION_COLUMNS}, notify_after = $10, \
             embedding = COALESCE($14, embedding), \
             embedding_model = COALESCE($15, embedding_model) \
             WHERE id = $13 AND status = 'pending'"
        );
        let mut tx = self.pool.begin().await?;
        let result = bind_decision(sqlx::query(&sql), decision, tags, by, now)
            .bind(id.to_string())
            .bind(embedding.map(|embedding| encode_embedding(&embedding.vector)))
            .bind(embedding.map(|embedding| embedding.model.as_str()))
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        let entry = model_entry(id, decision, by, now);
        self.append(&mut tx, &entry, true).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a new decision for an ad if its row is still as `seen` (same
    /// status, same decision time): a second retag, a worker, a
    /// moderator's decision or a delete in between make it return false
    /// and write nothing. A pending ad (held with
    /// [`Database::claim_pending_ids`]) is recorded as the worker records
    /// it, its email due.
    ///
    /// `renotify`: the submitter hears the new outcome; an ad already
    /// emailed is made due again. One whose email has not gone out yet is
    /// left as it is: that email reads the row when it is sent, so it
    /// carries the new outcome, and a second one would be a duplicate. An
    /// ad that was in review has never been emailed: its final outcome is
    /// always due. One sent to review waits for a person, email held.
    /// An appealed ad in review is the submitter's request for a person:
    /// the model never answers it (false, nothing written).
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
        let notify = if decision.status == Status::InReview {
            ", notify_after = NULL"
        } else if renotify || seen.status == Status::InReview {
            ", notify_after = CASE WHEN notified_at IS NULL AND notify_after IS NOT NULL \
             THEN notify_after ELSE $10 END, \
             notify_attempts = CASE WHEN notified_at IS NULL THEN notify_attempts ELSE 0 END, \
             notified_at = NULL"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE ads SET {DECISION_COLUMNS} {notify} \
             WHERE id = $13 AND status = $14 AND decided_at {same} $15 \
             AND NOT (status = 'in_review' AND appealed_at IS NOT NULL)"
        );
        let mut tx = self.pool.begin().await?;
        let result = bind_decision(sqlx::query(&sql), decision, tags, by, decided_at)
            .bind(seen.id.to_string())
            .bind(seen.status.as_str())
            .bind(seen.decided_at)
            .execute(&mut *tx)
            .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        // The site hears of a change, not of the same outcome again.
        let changed = decision.status != seen.status || decision.category != seen.category;
        let entry = model_entry(seen.id, decision, by, decided_at);
        self.append(&mut tx, &entry, changed).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts a decided ad back in the queue to be judged again (after a
    /// model or policy change); its submitter hears the new outcome.
    /// Returns false for an unknown ad.
    pub async fn reset_for_review(&self, id: AdId) -> Result<bool, DbError> {
        let result = sqlx::query(
            "UPDATE ads SET status = 'pending', category = NULL, tags = NULL, reason = NULL, \
             score = NULL, suggestion = NULL, review_since = NULL, text_reading = NULL, \
             text_in_image = NULL, decided_at = NULL, notified_at = NULL, notify_after = NULL, \
             notify_attempts = 0, lease_until = NULL, attempts = 0 WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
