//! Emails decided ads' submitters. Driven by the database, not by the
//! decision: an ad is decided and recorded first, and its email goes out
//! whenever the SMTP server takes it (`notified_at` stays empty until then),
//! so an SMTP outage delays emails but never loses a decision.

use std::sync::Arc;
use std::time::Duration;

use adpipe_notify::{Mailer, Notice, NotifyError};
use adpipe_store::{AdRecord, Database};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{pause, record_sent};

/// Emails claimed and sent at once (by the mail loop and `adpipe retag`).
pub(crate) const BATCH: u32 = 16;
/// An email being sent is held this long before another worker may try it.
pub(crate) const LEASE: Duration = Duration::from_secs(120);
const IDLE_POLL: Duration = Duration::from_secs(2);

/// 10 s, 20 s, 40 s … up to 10 minutes.
pub(crate) fn retry_delay(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 7) as u32 - 1;
    (Duration::from_secs(10) * 2u32.pow(exponent)).min(Duration::from_secs(600))
}

pub async fn run(
    db: Database,
    mailer: Mailer,
    public_url: String,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let ads = match db.claim_notifications(BATCH, LEASE).await {
            Ok(ads) => ads,
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "database").increment(1);
                tracing::warn!(%error, "cannot look for emails to send; retrying in 2 s");
                if !pause(IDLE_POLL, &shutdown).await {
                    break;
                }
                continue;
            }
        };
        if ads.is_empty() {
            tokio::select! {
                () = wakeup.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                () = shutdown.cancelled() => break,
            }
            continue;
        }
        // Emails in hand are finished even when shutting down: they are
        // claimed, and would otherwise wait for their lease to run out.
        futures_util::future::join_all(ads.iter().map(|ad| {
            send_one(
                &db,
                &mailer,
                &public_url,
                ad,
                retry_delay(ad.notify_attempts),
            )
            .instrument(tracing::info_span!("ad", ad_id = %ad.id))
        }))
        .await;
    }
}

/// What became of one claimed email.
pub(crate) enum Sent {
    Yes,
    /// The SMTP server did not take it (down, or it refused).
    Refused,
    /// Not sendable as it is (e.g. the address).
    No,
}

/// Sends one claimed email and marks it sent, or schedules its retry in
/// `retry`. Shared by the mail loop and `adpipe retag`.
pub(crate) async fn send_one(
    db: &Database,
    mailer: &Mailer,
    public_url: &str,
    ad: &AdRecord,
    retry: Duration,
) -> Sent {
    let notice = Notice {
        id: ad.id,
        to: &ad.email,
        status: ad.status,
        category: ad.category.as_deref(),
        reason: ad.reason.as_deref(),
        decided_at: ad.decided_at.unwrap_or_default(),
        public_url,
        // One appeal per ad: the link while none came, the answer after.
        appeal_secret: ad
            .appeal_secret
            .as_deref()
            .filter(|_| ad.appealed_at.is_none()),
        after_appeal: ad.appealed_at.is_some(),
    };
    match mailer.send(&notice).await {
        Ok(()) => {
            metrics::counter!("adpipe_emails_sent_total").increment(1);
            tracing::info!(id = %ad.id, status = ad.status.as_str(), "email sent");
            // Sent but not marked would mean a second email after the lease:
            // the mark is the next thing this task does, and how long it
            // takes is the window in which a crash sends the email twice.
            let accepted = tokio::time::Instant::now();
            let marked = record_sent("that an email was sent", LEASE / 2, || {
                db.mark_notified(ad.id, ad.decided_at)
            })
            .await;
            metrics::histogram!("adpipe_email_unrecorded_seconds")
                .record(accepted.elapsed().as_secs_f64());
            if marked == Some(false) {
                tracing::info!(id = %ad.id, "decided again while its email was sent; the new outcome is due");
            }
            Sent::Yes
        }
        Err(error) => {
            metrics::counter!("adpipe_email_failures_total").increment(1);
            tracing::warn!(id = %ad.id, %error, retry_in_s = retry.as_secs(), "email not sent; will retry");
            if let Err(error) = db.notification_failed(ad.id, retry).await {
                tracing::warn!(id = %ad.id, %error, "could not schedule the email's retry");
            }
            match error {
                NotifyError::Send(_) => Sent::Refused,
                _ => Sent::No,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_retries_back_off_up_to_ten_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(10));
        assert_eq!(retry_delay(2), Duration::from_secs(20));
        assert_eq!(retry_delay(40), Duration::from_secs(600));
    }
}
