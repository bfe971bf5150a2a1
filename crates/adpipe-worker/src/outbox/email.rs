//! Emails decided ads' submitters. What is owed lives on the ad's row, not
//! in a queue of messages: an email tells of the ad's decision as it is
//! when sent, so a decision made again before its email went out (a
//! moderator, `adpipe retag`) replaces the email owed instead of adding a
//! second one, and one sent about an old decision leaves the new one owed
//! (`Database::mark_notified`). `notified_at` stays empty until the SMTP
//! server took the email, so an outage delays emails but loses none.

use std::time::Duration;

use adpipe_notify::{Mailer, Notice, NotifyError};
use adpipe_store::{AdRecord, Database, DbError};

use super::{Channel, SendFailure, Settings};

pub struct EmailChannel {
    mailer: Mailer,
    /// Base of the link in emails.
    public_url: String,
}

impl EmailChannel {
    pub fn new(mailer: Mailer, public_url: String) -> Self {
        Self { mailer, public_url }
    }
}

impl Channel for EmailChannel {
    type Item = AdRecord;
    const NAME: &'static str = "email";
    // A submitter's emails do not depend on one another.
    const IN_ORDER: bool = false;
    const SETTINGS: Settings = Settings {
        batch: 16,
        lease: Duration::from_secs(120),
        idle_poll: Duration::from_secs(2),
    };

    async fn claim(
        &self,
        db: &Database,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<AdRecord>, DbError> {
        db.claim_notifications(limit, lease).await
    }

    async fn send(&self, ad: &AdRecord) -> Result<(), SendFailure> {
        let notice = Notice {
            id: ad.id,
            to: &ad.email,
            status: ad.status,
            category: ad.category.as_deref(),
            reason: ad.reason.as_deref(),
            decided_at: ad.decided_at.unwrap_or_default(),
            public_url: &self.public_url,
            // One appeal per ad: the link while none came, the answer after.
            appeal_secret: ad
                .appeal_secret
                .as_deref()
                .filter(|_| ad.appealed_at.is_none()),
            after_appeal: ad.appealed_at.is_some(),
        };
        self.mailer
            .send(&notice)
            .await
            .map_err(|error| SendFailure {
                receiver_refused: matches!(error, NotifyError::Send(_)),
                message: error.to_string(),
            })
    }

    async fn delivered(&self, db: &Database, ad: &AdRecord) -> Result<(), DbError> {
        if !db.mark_notified(ad.id, ad.decided_at).await? {
            tracing::info!(id = %ad.id, "decided again while its email was sent; the new outcome is due");
        }
        Ok(())
    }

    async fn failed(
        &self,
        db: &Database,
        ad: &AdRecord,
        retry: Duration,
        _failure: &SendFailure,
    ) -> Result<(), DbError> {
        db.notification_failed(ad.id, retry).await
    }

    fn attempts(ad: &AdRecord) -> i64 {
        ad.notify_attempts
    }

    /// 10 s, 20 s, 40 s … up to 10 minutes.
    fn retry_delay(attempts: i64) -> Duration {
        let exponent = attempts.clamp(1, 7) as u32 - 1;
        (Duration::from_secs(10) * 2u32.pow(exponent)).min(Duration::from_secs(600))
    }

    fn span(ad: &AdRecord) -> tracing::Span {
        tracing::info_span!("ad", ad_id = %ad.id)
    }

    fn count_delivered(&self, ad: &AdRecord) {
        metrics::counter!("adpipe_emails_sent_total").increment(1);
        tracing::info!(id = %ad.id, status = ad.status.as_str(), "email sent");
    }

    fn count_failed(&self, ad: &AdRecord, failure: &SendFailure, retry: Duration) {
        metrics::counter!("adpipe_email_failures_total").increment(1);
        tracing::warn!(id = %ad.id, error = %failure.message, retry_in_s = retry.as_secs(), "email not sent; will retry");
    }

    fn unrecorded_for(&self, window: Duration) {
        metrics::histogram!("adpipe_email_unrecorded_seconds").record(window.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_retries_back_off_up_to_ten_minutes() {
        assert_eq!(EmailChannel::retry_delay(1), Duration::from_secs(10));
        assert_eq!(EmailChannel::retry_delay(2), Duration::from_secs(20));
        assert_eq!(EmailChannel::retry_delay(40), Duration::from_secs(600));
    }
}
