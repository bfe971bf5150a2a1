//! What `adpipe retag` shares with the worker: judging stored ads with the
//! model and policy loaded now, in one batch as the worker does, and
//! sending the emails that became due, through the same claim → send →
//! record steps as the email channel's loop (`outbox`) (an email that fails stays due, and the
//! workers' mail loop retries it). Whether a judgement is written, and
//! how, is the caller's business: it compares with what was recorded.

use std::sync::Arc;

use adpipe_core::AdId;
use adpipe_notify::Mailer;
use adpipe_store::{AdRecord, Blobs, Database};
use adpipe_tagger::Moderator;

use crate::decide::Judgement;
use crate::outbox::{self, Channel, Delivery, EmailChannel};

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
    let channel = EmailChannel::new(mailer.clone(), public_url.to_owned());
    let settings = EmailChannel::SETTINGS;
    let mut tally = EmailTally::default();
    for chunk in ids.chunks(settings.batch as usize) {
        if tally.refused > 0 {
            tally.left += chunk.len();
            continue;
        }
        let ads = match db.claim_notifications_of(chunk, settings.lease).await {
            Ok(ads) => ads,
            Err(error) => {
                tracing::warn!(%error, "cannot take emails to send; the workers will send them");
                tally.left += chunk.len();
                continue;
            }
        };
        tally.left += chunk.len() - ads.len();
        let deliveries = futures_util::future::join_all(
            ads.iter()
                .map(|ad| outbox::deliver(db, &channel, settings, ad)),
        )
        .await;
        for delivery in deliveries {
            match delivery {
                Delivery::Delivered => tally.sent += 1,
                Delivery::Failed(failure) => {
                    tally.left += 1;
                    if failure.receiver_refused {
                        tally.refused += 1;
                    }
                }
            }
        }
    }
    tally
}
