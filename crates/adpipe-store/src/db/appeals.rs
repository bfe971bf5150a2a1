//! A submitter's appeal of a rejection: one per ad, through the link of
//! the rejection email, which carries the ad's appeal secret (made at
//! submission; the id alone, public to whoever holds it, is not enough).
//! The appeal sends the ad back to a person, marked as appealed, with the
//! submitter's text; the history and the site hear of it in the same
//! transaction, and so does the audit log. No email goes out then: the
//! submitter hears the answer, the moderator's new decision, as any other
//! decision (`record_moderation` makes its email due).

use adpipe_core::{AdId, Status};

use super::history::Entry;
use super::{AdRecord, AuditEntry, COLUMNS, Database, DbError, now_millis, record};

/// Who appealed, as the history and the site name them.
pub const APPELLANT: &str = "submitter";
/// The history entry's reason: the appeal's text is the ad's own
/// (`appeal_text`), for moderators, not the history's.
const APPEAL_MARKER: &str = "appealed";
/// The site's event.
const APPEALED_EVENT: &str = "ad.appealed";

/// What became of an appeal.
#[derive(Debug, Clone, PartialEq)]
pub enum Appealed {
    /// Recorded: the ad as it is now, back in review.
    Accepted(Box<AdRecord>),
    NotFound,
    /// The secret is not the ad's.
    WrongSecret,
    /// The ad was appealed already (one appeal per ad).
    AlreadyAppealed,
    /// Only a rejected ad can be appealed: its status now. Also an ad
    /// stored before appeals existed (it has no secret, so no link).
    NotAllowed(Status),
}

/// Whether two secrets are equal, in time that does not depend on where
/// they first differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

/// Why `ad` cannot be appealed with `secret` (in the order a caller
/// learns it: without the secret, nothing beyond what the public status
/// says), or `None` when it can.
fn refusal(ad: &AdRecord, secret: &str) -> Option<Appealed> {
    let Some(expected) = ad.appeal_secret.as_deref() else {
        return Some(Appealed::NotAllowed(ad.status));
    };
    if !same_secret(secret.as_bytes(), expected.as_bytes()) {
        return Some(Appealed::WrongSecret);
    }
    if ad.appealed_at.is_some() {
        return Some(Appealed::AlreadyAppealed);
    }
    if ad.status != Status::Rejected {
        return Some(Appealed::NotAllowed(ad.status));
    }
    None
}

impl Database {
    /// Records the appeal `text` of the rejected ad `id` if `secret` is its
    /// appeal secret and it was not appealed before: one conditional
    /// update, so of two appeals at once exactly one is taken. The ad goes
    /// back to review (unclaimed, the rejection it appeals as the leaning a
    /// moderator sees); the history gets an entry by `submitter`, the site
    /// an `ad.appealed` event (when webhooks are on) and the audit log
    /// `audit`, all in one transaction. Its submitter's email is not made
    /// due: the answer is.
    pub async fn record_appeal(
        &self,
        id: AdId,
        secret: &str,
        text: &str,
        audit: &AuditEntry,
    ) -> Result<Appealed, DbError> {
        // Read first, outside the transaction (a SQLite transaction that
        // reads first cannot always start writing): the secret is compared
        // here, in constant time, and the update checks it again.
        let Some(before) = self.get_ad(id).await? else {
            return Ok(Appealed::NotFound);
        };
        if let Some(refused) = refusal(&before, secret) {
            return Ok(refused);
        }
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        // Not decided any more (decided_at empty), so no email is due
        // until a moderator decides; `notified_at` stays as it was.
        let row = sqlx::query(&format!(
            "UPDATE ads SET status = 'in_review', suggestion = 'rejected', review_since = $1, \
             decided_at = NULL, notify_after = NULL, lease_until = NULL, \
             claimed_by = NULL, claimed_until = NULL, appeal_text = $2, appealed_at = $1 \
             WHERE id = $3 AND status = 'rejected' AND appealed_at IS NULL \
             AND appeal_secret = $4 \
             RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(text)
        .bind(id.to_string())
        .bind(secret)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            // Appealed or decided again between the read and the update.
            drop(tx);
            return Ok(match self.get_ad(id).await? {
                Some(ad) => refusal(&ad, secret).unwrap_or(Appealed::NotAllowed(ad.status)),
                None => Appealed::NotFound,
            });
        };
        let ad = record(&row)?;
        let entry = Entry {
            ad_id: id,
            at: now,
            by: APPELLANT.to_owned(),
            outcome: Status::InReview,
            category: None,
            score: None,
            reason: Some(APPEAL_MARKER),
            model: None,
            policy: None,
            note: None,
        };
        self.append(&mut tx, &entry, false).await?;
        if self.webhooks {
            self.queue_event(&mut tx, &entry, APPEALED_EVENT).await?;
        }
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Appealed::Accepted(Box::new(ad)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
