//! An ad as moderators see it (`GET /admin/ads`, `/admin/ads/{id}`, a
//! decision's answer): everything stored, with its live claim and its
//! appeal.

use adpipe_core::{AdId, Status, Tag};
use adpipe_store::AdRecord;
use serde::Serialize;

/// Everything stored about an ad (times in milliseconds since the epoch).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminAd {
    #[schema(value_type = String, format = Uuid)]
    id: AdId,
    #[schema(value_type = crate::schemas::StatusName)]
    status: &'static str,
    text: String,
    email: String,
    content_type: String,
    category: Option<String>,
    #[schema(value_type = Vec<crate::schemas::TagSchema>)]
    tags: Vec<Tag>,
    model: Option<String>,
    policy: Option<String>,
    reason: Option<String>,
    attempts: i64,
    created_at_ms: i64,
    decided_at_ms: Option<i64>,
    notified_at_ms: Option<i64>,
    /// The model's score for its best category (0 to 1).
    score: Option<f64>,
    /// In review: what the model would have decided alone.
    suggestion: Option<&'static str>,
    /// In review: since when.
    review_since_ms: Option<i64>,
    /// What its text said, when the policy reads texts.
    #[schema(value_type = Option<crate::schemas::TextReadingSchema>)]
    text_reading: Option<adpipe_core::policy::TextReading>,
    /// The text read in its photo, when the policy reads photos; empty
    /// when nothing was read.
    #[schema(value_type = Vec<crate::schemas::TextInImageSchema>)]
    text_in_image: Vec<adpipe_core::TextInImage>,
    /// Who is looking at it now (a claim), if anyone.
    claim: Option<Claim>,
    /// The submitter's appeal of its rejection, if one came.
    appeal: Option<Appeal>,
}

/// A moderator's hold on an ad in review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Claim {
    /// The account holding it.
    claimed_by: String,
    /// When the claim runs out (milliseconds since the epoch).
    until_ms: i64,
}

/// What the submitter wrote when appealing a rejection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Appeal {
    text: String,
    at_ms: i64,
}

impl Claim {
    pub(crate) fn of(ad: &AdRecord, now: i64) -> Option<Self> {
        ad.claim_at(now).map(|(by, until)| Claim {
            claimed_by: by.to_owned(),
            until_ms: until,
        })
    }
}

impl Appeal {
    pub(crate) fn of(ad: &AdRecord) -> Option<Self> {
        ad.appealed_at.map(|at| Appeal {
            text: ad.appeal_text.clone().unwrap_or_default(),
            at_ms: at,
        })
    }
}

impl From<AdRecord> for AdminAd {
    fn from(ad: AdRecord) -> Self {
        let claim = Claim::of(&ad, adpipe_store::now_millis());
        let appeal = Appeal::of(&ad);
        Self {
            id: ad.id,
            status: ad.status.as_str(),
            text: ad.text,
            email: ad.email,
            content_type: ad.content_type,
            category: ad.category,
            tags: ad.tags,
            model: ad.model,
            policy: ad.policy,
            reason: ad.reason,
            attempts: ad.attempts,
            created_at_ms: ad.created_at,
            decided_at_ms: ad.decided_at,
            notified_at_ms: ad.notified_at,
            score: ad.score,
            suggestion: ad.suggestion.map(Status::as_str),
            review_since_ms: ad.review_since,
            text_reading: ad.text_reading,
            text_in_image: ad.text_in_image,
            claim,
            appeal,
        }
    }
}
