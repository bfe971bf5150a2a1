//! What `adpipe retag` shares with the worker: judging stored ads with the
//! model and policy loaded now, in one batch as the worker does, and
//! sending the emails that became due, through the same claim → send →
//! mark steps as the mail loop (an email that fails stays due, and the
//! workers' mail loop retries it). Whether a judgement is written, and
//! how, is the caller's business: it compares with what was recorded.

use std::sync::Arc;
use std::time::Duration;

use adpipe_core::{AdId, Status};
use adpipe_notify::{Mailer, Notice, NotifyError};
use adpipe_store::{AdRecord, BlobError, Blobs, Database, Outcome};
use adpipe_tagger::{Assessment, Moderator};
use bytes::Bytes;

/// The mail loop's: an email being sent is held this long.
const EMAIL_LEASE: Duration = Duration::from_secs(120);
/// The mail loop's first retry delay; its own backoff takes over from there.
const EMAIL_RETRY: Duration = Duration::from_secs(10);
/// Emails sent at once.
const EMAIL_BATCH: usize = 16;

/// What the model and policy make of one stored ad now.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// Judged: approved or rejected.
    Decided(Outcome),
    /// The image is missing from the store or does not decode: the outcome
    /// the worker records for such an ad (`failed`, with its reason).
    Unreadable(Outcome),
    /// Passing trouble (the image store or the model failed): nothing to
    /// record; it may work later.
    Unavailable(String),
}

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

    fn outcome(&self, assessment: Assessment) -> Outcome {
        Outcome {
            status: Status::from(assessment.decision.verdict),
            category: assessment.decision.category,
            tags: assessment.tags,
            model: self.model().to_owned(),
            policy: self.policy().to_owned(),
            reason: assessment.decision.reason,
        }
    }

    fn failure(&self, reason: String) -> Outcome {
        Outcome {
            status: Status::Failed,
            category: None,
            tags: Vec::new(),
            model: self.model().to_owned(),
            policy: self.policy().to_owned(),
            reason: Some(reason),
        }
    }

    /// One judgement per ad, in order: the images fetched together and
    /// classified in one run of the model.
    pub async fn judge(&self, ads: &[AdRecord]) -> Vec<Judgement> {
        if ads.is_empty() {
            return Vec::new();
        }
        let fetched =
            futures_util::future::join_all(ads.iter().map(|ad| self.blobs.get(&ad.image_key)))
                .await;
        let mut judgements: Vec<Option<Judgement>> = Vec::with_capacity(ads.len());
        let mut images: Vec<(usize, Bytes)> = Vec::with_capacity(ads.len());
        for (index, blob) in fetched.into_iter().enumerate() {
            judgements.push(match blob {
                Ok(bytes) => {
                    images.push((index, bytes));
                    None
                }
                // The worker's wording, so a retagged ad reads like any other.
                Err(BlobError::NotFound(_)) => Some(Judgement::Unreadable(
                    self.failure("The image of this ad is missing from the store.".into()),
                )),
                Err(error) => Some(Judgement::Unavailable(format!(
                    "the image store failed: {error}"
                ))),
            });
        }
        if !images.is_empty() {
            let moderator = self.moderator.clone();
            let (indices, bytes): (Vec<usize>, Vec<Bytes>) = images.into_iter().unzip();
            // The model runs on its own threads; keep it off the async ones.
            let results = tokio::task::spawn_blocking(move || {
                let slices: Vec<&[u8]> = bytes.iter().map(|image| image.as_ref()).collect();
                moderator.assess(&slices)
            })
            .await;
            match results {
                Ok(Ok(assessments)) => {
                    for (index, assessment) in indices.into_iter().zip(assessments) {
                        judgements[index] = Some(match assessment {
                            Ok(assessment) => Judgement::Decided(self.outcome(assessment)),
                            Err(error) => Judgement::Unreadable(self.failure(format!(
                                "The image could not be read: {}.",
                                error.to_string().trim_end_matches('.')
                            ))),
                        });
                    }
                }
                Ok(Err(error)) => {
                    for index in indices {
                        judgements[index] = Some(Judgement::Unavailable(format!(
                            "the classifier failed: {error}"
                        )));
                    }
                }
                Err(error) => {
                    for index in indices {
                        judgements[index] = Some(Judgement::Unavailable(format!(
                            "the classifier crashed: {error}"
                        )));
                    }
                }
            }
        }
        judgements
            .into_iter()
            .map(|judgement| {
                judgement.unwrap_or_else(|| Judgement::Unavailable("not classified".into()))
            })
            .collect()
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
    for chunk in ids.chunks(EMAIL_BATCH) {
        if tally.refused > 0 {
            tally.left += chunk.len();
            continue;
        }
        let ads = match db.claim_notifications_of(chunk, EMAIL_LEASE).await {
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
                send_one(db, mailer, public_url, ad),
                tracing::info_span!("ad", ad_id = %ad.id),
            )
        }))
        .await;
        for sent in sent {
            match sent {
                Sent::Yes => tally.sent += 1,
                Sent::Refused => {
                    tally.left += 1;
                    tally.refused += 1;
                }
                Sent::No => tally.left += 1,
            }
        }
    }
    tally
}

enum Sent {
    Yes,
    /// The SMTP server did not take it (down, or it refused).
    Refused,
    /// Not sendable as it is (e.g. the address).
    No,
}

/// The mail loop's steps for one claimed email.
async fn send_one(db: &Database, mailer: &Mailer, public_url: &str, ad: &AdRecord) -> Sent {
    let notice = Notice {
        id: ad.id,
        to: &ad.email,
        status: ad.status,
        category: ad.category.as_deref(),
        reason: ad.reason.as_deref(),
        public_url,
    };
    match mailer.send(&notice).await {
        Ok(()) => {
            metrics::counter!("adpipe_emails_sent_total").increment(1);
            tracing::info!(id = %ad.id, status = ad.status.as_str(), "email sent");
            // Sent but not marked would mean a second email after the lease.
            for attempt in 1..=3 {
                match db.mark_notified(ad.id).await {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(id = %ad.id, %error, attempt, "could not mark the email as sent");
                        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                    }
                }
            }
            Sent::Yes
        }
        Err(error) => {
            metrics::counter!("adpipe_email_failures_total").increment(1);
            tracing::warn!(id = %ad.id, %error, "email not sent; a worker will retry it");
            if let Err(error) = db.notification_failed(ad.id, EMAIL_RETRY).await {
                tracing::warn!(id = %ad.id, %error, "could not schedule the email's retry");
            }
            match error {
                NotifyError::Send(_) => Sent::Refused,
                _ => Sent::No,
            }
        }
    }
}
