//! Delivers the site's webhooks from the outbox the decisions fill
//! (`adpipe_store` writes an event in the transaction of each decision):
//! at least once, in the order they happened, retried with backoff until
//! the receiver answers 2xx, never in the way of deciding. Each attempt is
//! signed as Standard Webhooks says (`adpipe_notify::webhook`): the
//! delivery id is its `webhook-id` on every retry, and each attempt carries
//! its own `webhook-timestamp`, so a retry long after the event is still
//! fresh to the receiver while a copy of an earlier attempt is not.

use std::time::Duration;

use adpipe_notify::WebhookSender;
use adpipe_store::{Database, WebhookDelivery};
use tokio_util::sync::CancellationToken;

use crate::{pause, record_sent};

const BATCH: u32 = 16;
/// A delivery being sent is held this long before another worker may try.
const LEASE: Duration = Duration::from_secs(60);
const IDLE_POLL: Duration = Duration::from_millis(500);

/// 1 s, 2 s, 4 s … up to 5 minutes.
pub(crate) fn retry_delay(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 10) as u32 - 1;
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(300))
}

pub async fn run(db: Database, sender: WebhookSender, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let deliveries = match db.claim_webhooks(BATCH, LEASE).await {
            Ok(deliveries) => deliveries,
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "database").increment(1);
                tracing::warn!(%error, "cannot look for webhooks to deliver; retrying in 2 s");
                if !pause(Duration::from_secs(2), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        if deliveries.is_empty() {
            if !pause(IDLE_POLL, &shutdown).await {
                break;
            }
            continue;
        }
        // One at a time, in order: a receiver sees an ad's events as they
        // happened (its review, then its decision), unless one needs a retry.
        for delivery in &deliveries {
            deliver(&db, &sender, delivery).await;
        }
    }
}

async fn deliver(db: &Database, sender: &WebhookSender, delivery: &WebhookDelivery) {
    match sender
        .send(&delivery.delivery_id, &delivery.event, &delivery.body)
        .await
    {
        Ok(()) => {
            metrics::counter!("adpipe_webhook_deliveries_total", "event" => delivery.event.clone())
                .increment(1);
            tracing::info!(id = %delivery.ad_id, delivery = %delivery.delivery_id, event = %delivery.event, "webhook delivered");
            // Not recorded, it is delivered again after the lease, under the
            // same webhook-id (receivers drop it); holding on spares them that.
            record_sent("a webhook delivery", LEASE / 2, || {
                db.webhook_delivered(&delivery.delivery_id)
            })
            .await;
        }
        Err(error) => {
            metrics::counter!("adpipe_webhook_failures_total").increment(1);
            let retry = retry_delay(delivery.attempts);
            tracing::warn!(id = %delivery.ad_id, delivery = %delivery.delivery_id, %error, retry_in_s = retry.as_secs(), "webhook not delivered; will retry");
            if let Err(error) = db
                .webhook_failed(&delivery.delivery_id, retry, &error.to_string())
                .await
            {
                tracing::warn!(delivery = %delivery.delivery_id, %error, "could not schedule a webhook's retry");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_retries_back_off_up_to_five_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(3), Duration::from_secs(4));
        assert_eq!(retry_delay(99), Duration::from_secs(300));
    }
}
