//! What `adpipe retag` shares with the worker: judging stored ads with the
//! model and policy loaded now, in one batch as the worker does, and
//! sending the emails that became due, through the same claim → send →
//! mark steps as the mail loop (an email that fails stays due, and the
//! workers' mail loop retries it). Whether a judgement is written, and
//! how, is the caller's business: it compares with what was recorded.

use std::sync::Arc;

use adpipe_core::AdId;
use adpipe_notify::Mailer;
use adpipe_store::{AdRecord, Blobs, Database};
use adpipe_tagger::Moderator;

use crate::decide::Judgement;
use crate::mail;

/// Judges stored ads again with one model and policy.
pub struct Rejudge {
    blobs: Blobs,
    moderator: Arc<Moderator>,
}

impl Rejudge {
    pub fn new(blobs: Blobs, moderator: Arc<Moderator>) -> Self {
        Self { blobs, moderator }
    }

    pub fn model(&self) -> &str {
        self.moderator.model_name()
    }

    pub fn policy(&self) -> &str {
        self.moderator.policy().name()
    }

    /// Who the new decisions are recorded as made by.
    pub fn decided_by(&self) -> adpipe_core::DecidedBy {
        self.moderator.decided_by()
    }

    /// One judgement per ad, in order, exactly as a worker judges.
    pub async fn judge(&self, ads: &[AdRecord]) -> Vec<Judgement> {
        crate::decide::judge(&self.blobs, &self.moderator, ads).await
    }
}

/// What became of the emails [`send_due_emails`] was asked to send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailTally {
    pub sent: usize,
    /// Not sent now: the SMTP server refused or was down, the email was not
    /// due yet (backing off), or a worker's mail loop had taken it. They
    /// stay due: the workers' mail loop sends them.
    pub left: usize,
    /// Of those left, how many the SMTP server did not take (a bad
    /// address is not counted: it says nothing about the server).
    pub refused: usize,
}

/// Sends the due emails of the given ads now, each claimed first as the
/// mail loop claims it, so neither a worker nor a second retag sends it
/// too. Once the SMTP server refuses one, the rest are left (still due)
/// for the workers' mail loop and its backoff instead of each waiting
/// for a server that is down.
pub async fn send_due_emails(
    db: &Database,
    mailer: &Mailer,
    public_url: &str,
    ids: &[AdId],
) -> EmailTally {
    let mut tally = EmailTally::default();
    for chunk in ids.chunks(mail::BATCH as usize) {
        if tally.refused > 0 {
            tally.left += chunk.len();
            continue;
        }
        let ads = match db.claim_notifications_of(chunk, mail::LEASE).await {
            Ok(ads) => ads,
            Err(error) => {
                tracing::warn!(%error, "cannot take emails to send; the workers will send them");
                tally.left += chunk.len();
                continue;
            }
        };
        tally.left += chunk.len() - ads.len();
        let sent = futures_util::future::join_all(ads.iter().map(|ad| {
            tracing::Instrument::instrument(
                mail::send_one(
                    db,
                    mailer,
                    public_url,
                    ad,
                    mail::retry_delay(ad.notify_attempts),
                ),
                tracing::info_span!("ad", ad_id = %ad.id),
            )
        }))
        .await;
        for sent in sent {
            match sent {
                crate::mail::Sent::Yes => tally.sent += 1,
                crate::mail::Sent::Refused => {
                    tally.left += 1;
                    tally.refused += 1;
                }
                crate::mail::Sent::No => tally.left += 1,
            }
        }
    }
    tally
}
