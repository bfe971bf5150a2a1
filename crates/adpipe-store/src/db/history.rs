//! The decision history: every decision about an ad, automatic or a
//! person's, appended in the transaction that records it and never
//! changed (the tables' triggers refuse updates, and deletes other than
//! the ad's own). Each entry that changes what the site should know also
//! queues a webhook delivery ([`super::webhooks`]).

use adpipe_core::{AdId, Status};
use sqlx::{Any, Row, Transaction};

use super::{Database, DbError};

/// One decision as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub at: i64,
    /// `model:<model>@<policy>` or `moderator:<name>`.
    pub by: String,
    pub outcome: Status,
    pub category: Option<String>,
    /// The model's score; none for a person's decision.
    pub score: Option<f64>,
    pub reason: Option<String>,
    pub model: Option<String>,
    pub policy: Option<String>,
    /// A moderator's internal note: for moderators only, never sent to
    /// the submitter or the site.
    pub note: Option<String>,
}

/// A history row about to be written.
pub(super) struct Entry<'a> {
    pub ad_id: AdId,
    pub at: i64,
    pub by: String,
    pub outcome: Status,
    pub category: Option<&'a str>,
    pub score: Option<f64>,
    pub reason: Option<&'a str>,
    pub model: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub note: Option<&'a str>,
}

impl Database {
    /// Appends `entry` to the history and, with `tell_site` and webhooks
    /// on, queues the event for the site, inside the caller's transaction.
    pub(super) async fn append(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &Entry<'_>,
        tell_site: bool,
    ) -> Result<(), DbError> {
        // A missing score is written as a literal NULL, not bound: sqlx's
        // `Any` driver binds a NULL double as a PostgreSQL `real`, and the
        // statement, cached with that type, then refuses the next score.
        const WITH_SCORE: &str = "INSERT INTO decisions (ad_id, at, decided_by, outcome, \
             category, reason, model, policy, note, score) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        const WITHOUT_SCORE: &str = "INSERT INTO decisions (ad_id, at, decided_by, outcome, \
             category, reason, model, policy, note, score) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)";
        let query = sqlx::query(if entry.score.is_some() {
            WITH_SCORE
        } else {
            WITHOUT_SCORE
        })
        .bind(entry.ad_id.to_string())
        .bind(entry.at)
        .bind(entry.by.as_str())
        .bind(entry.outcome.as_str())
        .bind(entry.category)
        .bind(entry.reason)
        .bind(entry.model)
        .bind(entry.policy)
        .bind(entry.note);
        let query = match entry.score {
            Some(score) => query.bind(score),
            None => query,
        };
        query.execute(&mut **tx).await?;
        if tell_site && self.webhooks {
            self.queue_webhook(tx, entry).await?;
        }
        Ok(())
    }

    /// An ad's decisions, oldest first (empty for an unknown ad).
    pub async fn history(&self, id: AdId) -> Result<Vec<HistoryEntry>, DbError> {
        let rows = sqlx::query(
            "SELECT at, decided_by, outcome, category, score, reason, model, policy, note \
             FROM decisions WHERE ad_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                Ok(HistoryEntry {
                    at: row.try_get("at")?,
                    by: row.try_get("decided_by")?,
                    outcome: outcome.parse().map_err(|message| DbError::Corrupt {
                        id: id.to_string(),
                        message,
                    })?,
                    category: row.try_get("category")?,
                    score: row.try_get("score")?,
                    reason: row.try_get("reason")?,
                    model: row.try_get("model")?,
                    policy: row.try_get("policy")?,
                    note: row.try_get("note")?,
                })
            })
            .collect()
    }
}
