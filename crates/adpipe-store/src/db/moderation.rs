//! A person's decisions: the ads waiting for one, and the conditional
//! update that records one, so that two moderators deciding the same ad at
//! once cannot both win.

use adpipe_core::{AdId, Status, moderator_label};
use sqlx::Row;

use super::history::Entry;
use super::{AdRecord, COLUMNS, Database, DbError, now_millis, record};

/// What a moderator decided about one ad.
#[derive(Debug, Clone)]
pub struct Moderation<'a> {
    /// `approved` or `rejected`.
    pub outcome: Status,
    pub category: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The account deciding.
    pub moderator: &'a str,
    /// Also overturns a final decision (approved or rejected), not only
    /// an ad in review.
    pub overrides: bool,
    /// For moderators only (the history keeps it; never the submitter's
    /// email, a webhook or the public page).
    pub note: Option<&'a str>,
}

/// What became of a moderator's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Moderated {
    /// Recorded: the ad as it is now. The submitter's email is due.
    Decided {
        ad: Box<AdRecord>,
        /// How long it waited for a person (milliseconds), if it was in
        /// review.
        waited_ms: Option<i64>,
    },
    /// The ad is not (or no longer) open to this decision: its status now.
    Refused(Status),
    /// Another moderator holds the ad (a claim) until `until`.
    Claimed {
        by: String,
        until: i64,
    },
    NotFound,
}

impl Database {
    /// Ads waiting for a person, oldest first, after `after` (the last id
    /// of the previous page).
    pub async fn in_review(
        &self,
        after: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<AdRecord>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ads WHERE status = 'in_review' \
             AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// How many ads wait for a person (read from the partial index of
    /// ads in review, not the whole table).
    pub async fn count_in_review(&self) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM ads WHERE status = 'in_review'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Records a moderator's decision if the ad is in review (or, when it
    /// overrides, decided): one conditional update, so of two moderators
    /// deciding at once exactly one wins. Appends to the history, makes the
    /// submitter's email due (an email already sent of an earlier outcome
    /// is followed by one of this), and queues the site's webhook.
    pub async fn record_moderation(
        &self,
        id: AdId,
        moderation: &Moderation<'_>,
    ) -> Result<Moderated, DbError> {
        let open = if moderation.overrides {
            "('in_review', 'approved', 'rejected')"
        } else {
            "('in_review')"
        };
        // Read before, outside the transaction (a SQLite transaction that
        // reads first cannot always start writing): only for how long it
        // waited, and to tell an unknown ad from one decided meanwhile.
        let Some(before) = self.get_ad(id).await? else {
            return Ok(Moderated::NotFound);
        };
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE ads SET status = $1, category = $2, reason = $3, suggestion = NULL, \
             review_since = NULL, lease_until = NULL, \
             decided_at = CASE WHEN decided_at IS NOT NULL AND decided_at >= $4 \
                 THEN decided_at + 1 ELSE $4 END, \
             notified_at = NULL, notify_attempts = 0, notify_after = $4, \
             claimed_by = NULL, claimed_until = NULL \
             WHERE id = $5 AND status IN {open} \
             AND (claimed_by IS NULL OR claimed_until <= $4 OR claimed_by = $6) \
             RETURNING {COLUMNS}"
        ))
        .bind(moderation.outcome.as_str())
        .bind(moderation.category)
        .bind(moderation.reason)
        .bind(now)
        .bind(id.to_string())
        .bind(moderation.moderator)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return Ok(match self.get_ad(id).await? {
                Some(ad) => match ad.claim_at(now_millis()) {
                    Some((by, until))
                        if by != moderation.moderator && ad.status == Status::InReview =>
                    {
                        Moderated::Claimed {
                            by: by.to_owned(),
                            until,
                        }
                    }
                    _ => Moderated::Refused(ad.status),
                },
                None => Moderated::NotFound,
            });
        };
        let ad = record(&row)?;
        let entry = Entry {
            ad_id: id,
            at: ad.decided_at.unwrap_or(now),
            by: moderator_label(moderation.moderator),
            outcome: moderation.outcome,
            category: moderation.category,
            score: None,
            reason: moderation.reason,
            model: None,
            policy: None,
            note: moderation.note,
        };
        self.append(&mut tx, &entry, true).await?;
        tx.commit().await?;
        let waited_ms = before
            .review_since
            .filter(|_| before.status == Status::InReview)
            .map(|since| (now - since).max(0));
        Ok(Moderated::Decided {
            ad: Box::new(ad),
            waited_ms,
        })
    }
}

/// What became of a moderator's claim on an ad.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// Held by the caller until `until` (milliseconds since the epoch).
    Held {
        until: i64,
    },
    /// Someone else holds it until `until`.
    HeldByOther {
        by: String,
        until: i64,
    },
    /// Only an ad in review can be claimed: its status now.
    NotInReview(Status),
    NotFound,
}

impl Database {
    /// Claims an ad in review for `moderator` for `hold` (again, if it is
    /// theirs already): one conditional update, so of two moderators
    /// opening the same ad at once, one holds it and the other is told
    /// who does.
    pub async fn claim_review(
        &self,
        id: AdId,
        moderator: &str,
        hold: std::time::Duration,
    ) -> Result<ClaimOutcome, DbError> {
        let now = now_millis();
        let until = now + i64::try_from(hold.as_millis()).unwrap_or(i64::MAX / 2);
        let claimed = sqlx::query(
            "UPDATE ads SET claimed_by = $1, claimed_until = $2 \
             WHERE id = $3 AND status = 'in_review' \
             AND (claimed_by IS NULL OR claimed_until <= $4 OR claimed_by = $1)",
        )
        .bind(moderator)
        .bind(until)
        .bind(id.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(ClaimOutcome::Held { until });
        }
        Ok(match self.get_ad(id).await? {
            None => ClaimOutcome::NotFound,
            Some(ad) if ad.status != Status::InReview => ClaimOutcome::NotInReview(ad.status),
            Some(ad) => match ad.claim_at(now_millis()) {
                Some((by, until)) => ClaimOutcome::HeldByOther {
                    by: by.to_owned(),
                    until,
                },
                // Released between the two statements: the caller may
                // simply try again.
                None => ClaimOutcome::NotInReview(ad.status),
            },
        })
    }

    /// Lets go of a claim: the holder's own, or (`anyone`) whoever holds
    /// it. Whether there was one to let go of.
    pub async fn release_claim(
        &self,
        id: AdId,
        moderator: &str,
        anyone: bool,
    ) -> Result<bool, DbError> {
        let released = sqlx::query(
            "UPDATE ads SET claimed_by = NULL, claimed_until = NULL \
             WHERE id = $1 AND claimed_by IS NOT NULL AND claimed_until > $2 \
             AND (claimed_by = $3 OR $4)",
        )
        .bind(id.to_string())
        .bind(now_millis())
        .bind(moderator)
        .bind(anyone)
        .execute(&self.pool)
        .await?;
        Ok(released.rows_affected() == 1)
    }
}
