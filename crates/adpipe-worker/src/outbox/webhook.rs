//! Tells the site through its webhook: each event (an ad decided, sent to
//! a person, appealed) is a row the decision writes in its own
//! transaction, delivered in the order they happened, retried until the
//! receiver answers 2xx. Each attempt is signed as Standard Webhooks says
//! (`adpipe_notify::webhook`): the delivery id is its `webhook-id` on every
//! retry, and each attempt carries its own `webhook-timestamp`, so a retry
//! long after the event is still fresh to the receiver while a copy of an
//! earlier attempt is not.

use std::time::Duration;

use adpipe_notify::{WebhookError, WebhookSender};
use adpipe_store::{Database, DbError, WebhookDelivery};

use super::{Channel, SendFailure, Settings};

pub struct WebhookChannel {
    sender: WebhookSender,
}

impl WebhookChannel {
    pub fn new(sender: WebhookSender) -> Self {
        Self { sender }
    }
}

impl Channel for WebhookChannel {
    type Item = WebhookDelivery;
    const NAME: &'static str = "webhook";
    // A receiver sees an ad's events as they happened (its review, then
    // its decision), unless one needs a retry.
    const IN_ORDER: bool = true;
    const SETTINGS: Settings = Settings {
        batch: 16,
        lease: Duration::from_secs(60),
        idle_poll: Duration::from_millis(500),
    };

    async fn claim(
        &self,
        db: &Database,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<WebhookDelivery>, DbError> {
        db.claim_webhooks(limit, lease).await
    }

    async fn send(&self, delivery: &WebhookDelivery) -> Result<(), SendFailure> {
        self.sender
            .send(&delivery.delivery_id, &delivery.event, &delivery.body)
            .await
            .map_err(|error| SendFailure {
                receiver_refused: !matches!(error, WebhookError::Config(_)),
                message: error.to_string(),
            })
    }

    async fn delivered(&self, db: &Database, delivery: &WebhookDelivery) -> Result<(), DbError> {
        db.webhook_delivered(&delivery.delivery_id).await
    }

    async fn failed(
        &self,
        db: &Database,
        delivery: &WebhookDelivery,
        retry: Duration,
        failure: &SendFailure,
    ) -> Result<(), DbError> {
        db.webhook_failed(&delivery.delivery_id, retry, &failure.message)
            .await
    }

    fn attempts(delivery: &WebhookDelivery) -> i64 {
        delivery.attempts
    }

    /// 1 s, 2 s, 4 s … up to 5 minutes.
    fn retry_delay(attempts: i64) -> Duration {
        let exponent = attempts.clamp(1, 10) as u32 - 1;
        Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(300))
    }

    fn span(delivery: &WebhookDelivery) -> tracing::Span {
        tracing::info_span!("webhook", ad_id = %delivery.ad_id, delivery = %delivery.delivery_id)
    }

    fn count_delivered(&self, delivery: &WebhookDelivery) {
        metrics::counter!("adpipe_webhook_deliveries_total", "event" => delivery.event.clone())
            .increment(1);
        tracing::info!(id = %delivery.ad_id, delivery = %delivery.delivery_id, event = %delivery.event, "webhook delivered");
    }

    fn count_failed(&self, delivery: &WebhookDelivery, failure: &SendFailure, retry: Duration) {
        metrics::counter!("adpipe_webhook_failures_total").increment(1);
        tracing::warn!(id = %delivery.ad_id, delivery = %delivery.delivery_id, error = %failure.message, retry_in_s = retry.as_secs(), "webhook not delivered; will retry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_retries_back_off_up_to_five_minutes() {
        assert_eq!(WebhookChannel::retry_delay(1), Duration::from_secs(1));
        assert_eq!(WebhookChannel::retry_delay(3), Duration::from_secs(4));
        assert_eq!(WebhookChannel::retry_delay(99), Duration::from_secs(300));
    }
}
