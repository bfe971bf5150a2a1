//! The webhook outbox: each event the site should hear of (an ad decided,
//! an ad sent to a person, an ad appealed) is a row written with the
//! decision itself, and delivered like an email: claimed with a lease,
//! retried with backoff until the receiver answers 2xx, across restarts.
//! The delivery id is the row's key, so every retry of one delivery
//! carries the same one.

use std::time::Duration;

use adpipe_core::{AdId, Status};
use sqlx::{Any, Row, Transaction};

use super::history::Entry;
use super::{Backend, Database, DbError, now_millis};

/// One delivery owed to the site.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub delivery_id: String,
    pub ad_id: AdId,
    pub event: String,
    /// The exact JSON to send (and to sign).
    pub body: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// `ad.in_review` when a person is to decide, else `ad.decided`.
fn event_name(outcome: Status) -> &'static str {
    match outcome {
        Status::InReview => "ad.in_review",
        _ => "ad.decided",
    }
}

impl Database {
    /// Queues the event of `entry` for the site.
    pub(super) async fn queue_webhook(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &Entry<'_>,
    ) -> Result<(), DbError> {
        self.queue_event(tx, entry, event_name(entry.outcome)).await
    }

    /// Queues `entry` for the site as `event` (one its outcome does not
    /// name, such as `ad.appealed`), in the body every event has.
    pub(super) async fn queue_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &Entry<'_>,
        event: &str,
    ) -> Result<(), DbError> {
        // An ad in review: the model's leaning is for moderators only.
        let (category, reason) = if entry.outcome == Status::InReview {
            (None, None)
        } else {
            (entry.category, entry.reason)
        };
        let body = serde_json::json!({
            "event": event,
            "id": entry.ad_id,
            "status": entry.outcome.as_str(),
            "category": category,
            "reason": reason,
            "decided_by": entry.by,
            "decided_at": adpipe_core::time::rfc3339_millis(entry.at),
        })
        .to_string();
        sqlx::query(
            "INSERT INTO webhooks (delivery_id, ad_id, event, body, created_at, deliver_after) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(entry.ad_id.to_string())
        .bind(event)
        .bind(body)
        .bind(now_millis())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Deliveries due now, oldest first, held for `lease` so that two
    /// workers do not both send one.
    pub async fn claim_webhooks(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<WebhookDelivery>, DbError> {
        let now = now_millis();
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE webhooks SET deliver_after = $1, attempts = attempts + 1 \
             WHERE delivery_id IN (SELECT delivery_id FROM webhooks \
                 WHERE delivered_at IS NULL AND deliver_after <= $2 \
                 ORDER BY created_at LIMIT $3 {lock}) \
             RETURNING delivery_id, ad_id, event, body, attempts, created_at"
        ))
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = rows
            .iter()
            .map(|row| {
                let ad_id: String = row.try_get("ad_id")?;
                let created_at: i64 = row.try_get("created_at")?;
                let delivery = WebhookDelivery {
                    delivery_id: row.try_get("delivery_id")?,
                    ad_id: ad_id.parse().map_err(|error: adpipe_core::InvalidAdId| {
                        DbError::Corrupt {
                            id: ad_id.clone(),
                            message: error.to_string(),
                        }
                    })?,
                    event: row.try_get("event")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get("attempts")?,
                };
                Ok((created_at, delivery))
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        // RETURNING has no order: the site hears of events as they happened.
        deliveries.sort_by(|a, b| (a.0, &a.1.delivery_id).cmp(&(b.0, &b.1.delivery_id)));
        Ok(deliveries
            .into_iter()
            .map(|(_, delivery)| delivery)
            .collect())
    }

    /// The receiver took it.
    pub async fn webhook_delivered(&self, delivery_id: &str) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE webhooks SET delivered_at = $1, last_error = NULL WHERE delivery_id = $2",
        )
        .bind(now_millis())
        .bind(delivery_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// It did not: try again after `retry_after`.
    pub async fn webhook_failed(
        &self,
        delivery_id: &str,
        retry_after: Duration,
        error: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE webhooks SET deliver_after = $1, last_error = $2 \
             WHERE delivery_id = $3 AND delivered_at IS NULL",
        )
        .bind(now_millis() + retry_after.as_millis() as i64)
        .bind(error)
        .bind(delivery_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deliveries not yet taken by the receiver.
    pub async fn webhooks_undelivered(&self) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhooks WHERE delivered_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
