//! One batch: fetch the images, classify them in one run of the model,
//! turn each result into an outcome and record it.

use std::sync::Arc;
use std::time::Duration;

use adpipe_core::{AdId, Status};
use adpipe_store::{AdRecord, BlobError, Blobs, Database, Outcome};
use adpipe_tagger::{Assessment, Moderator};
use bytes::Bytes;
use tracing::Instrument;

use crate::WorkerConfig;

/// What the model and policy make of one stored ad.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// Judged: approved or rejected.
    Decided(Outcome),
    /// The image is missing from the store or does not decode: `failed`,
    /// with the reason; trying again would not help.
    Unreadable(Outcome),
    /// Passing trouble (the image store or the model failed): it may work
    /// later.
    Unavailable(String),
}

pub struct Decider {
    db: Database,
    blobs: Blobs,
    moderator: Arc<Moderator>,
    config: Arc<WorkerConfig>,
}

/// 2 s, 4 s, 8 s … up to 5 minutes.
fn retry_delay(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 8) as u32;
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(300))
}

impl Decider {
    pub fn new(
        db: Database,
        blobs: Blobs,
        moderator: Arc<Moderator>,
        config: Arc<WorkerConfig>,
    ) -> Self {
        Self {
            db,
            blobs,
            moderator,
            config,
        }
    }

    /// Decides and records the claimed ads. Returns the ids whose outcome
    /// (or hand-back) could not be written, so their messages are not
    /// acked.
    pub async fn decide(&self, ads: Vec<AdRecord>) -> Vec<AdId> {
        if ads.is_empty() {
            return Vec::new();
        }
        let started = std::time::Instant::now();
        metrics::histogram!("adpipe_batch_size").record(ads.len() as f64);
        let steps = judge(&self.blobs, &self.moderator, &ads).await;
        let mut unrecorded = Vec::new();
        for (ad, step) in ads.iter().zip(steps) {
            // Every line about this ad carries its id as a span field.
            let span = tracing::info_span!("ad", ad_id = %ad.id);
            if !self.record(ad, step).instrument(span).await {
                unrecorded.push(ad.id);
            }
        }
        tracing::debug!(
            ads = ads.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "batch done"
        );
        unrecorded
    }

    /// Records one ad's step; false when it could not be written.
    async fn record(&self, ad: &AdRecord, step: Judgement) -> bool {
        let result = match step {
            Judgement::Decided(outcome) | Judgement::Unreadable(outcome) => self.db.record_outcome(ad.id, &outcome).await.map(|fresh| {
                if fresh {
                    decided(outcome.status);
                    tracing::info!(id = %ad.id, status = outcome.status.as_str(), category = outcome.category.as_deref(), "decided");
                } else {
                    tracing::debug!(id = %ad.id, "already decided by another worker");
                }
            }),
            Judgement::Unavailable(error) if ad.attempts >= self.config.max_attempts => {
                tracing::warn!(id = %ad.id, attempts = ad.attempts, %error, "giving up on an ad");
                let reason = format!(
                    "We could not process your ad after {} attempts ({error}).",
                    ad.attempts
                );
                self.db
                    .record_outcome(ad.id, &failure(&self.moderator, reason))
                    .await
                    .map(|fresh| {
                        if fresh {
                            decided(Status::Failed);
                        }
                    })
            }
            Judgement::Unavailable(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "retry").increment(1);
                let delay = retry_delay(ad.attempts);
                tracing::warn!(id = %ad.id, attempts = ad.attempts, %error, retry_in_s = delay.as_secs(), "will retry an ad");
                self.db.release(ad.id, delay).await
            }
        };
        match result {
            Ok(()) => true,
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "record").increment(1);
                tracing::warn!(id = %ad.id, %error, "could not record; the ad stays pending");
                false
            }
        }
    }
}

/// Fetches the ads' images and classifies them in one run of the model: one
/// judgement per ad, in order. The worker and `adpipe retag` share it, so a
/// re-judged ad reads like any other.
pub async fn judge(blobs: &Blobs, moderator: &Arc<Moderator>, ads: &[AdRecord]) -> Vec<Judgement> {
    let fetched =
        futures_util::future::join_all(ads.iter().map(|ad| blobs.get(&ad.image_key))).await;
    let mut steps: Vec<Option<Judgement>> = Vec::with_capacity(ads.len());
    let mut images: Vec<(usize, Bytes)> = Vec::with_capacity(ads.len());
    for (index, blob) in fetched.into_iter().enumerate() {
        steps.push(match blob {
            Ok(bytes) => {
                images.push((index, bytes));
                None
            }
            Err(BlobError::NotFound(_)) => Some(Judgement::Unreadable(failure(
                moderator,
                "The image of this ad is missing from the store.".into(),
            ))),
            Err(error) => Some(Judgement::Unavailable(format!(
                "the image store failed: {error}"
            ))),
        });
    }
    if !images.is_empty() {
        let model = moderator.clone();
        let (indices, bytes): (Vec<usize>, Vec<Bytes>) = images.into_iter().unzip();
        // The model runs on its own threads; keep it off the async ones.
        let started = std::time::Instant::now();
        let results = tokio::task::spawn_blocking(move || {
            let slices: Vec<&[u8]> = bytes.iter().map(|image| image.as_ref()).collect();
            model.assess(&slices)
        })
        .await;
        metrics::histogram!("adpipe_tagging_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        match results {
            Ok(Ok(assessments)) => {
                for (index, assessment) in indices.into_iter().zip(assessments) {
                    steps[index] = Some(match assessment {
                        Ok(assessment) => Judgement::Decided(outcome(moderator, assessment)),
                        Err(error) => Judgement::Unreadable(failure(
                            moderator,
                            format!(
                                "The image could not be read: {}.",
                                error.to_string().trim_end_matches('.')
                            ),
                        )),
                    });
                }
            }
            Ok(Err(error)) => {
                for index in indices {
                    steps[index] = Some(Judgement::Unavailable(format!(
                        "the classifier failed: {error}"
                    )));
                }
            }
            Err(error) => {
                for index in indices {
                    steps[index] = Some(Judgement::Unavailable(format!(
                        "the classifier crashed: {error}"
                    )));
                }
            }
        }
    }
    steps
        .into_iter()
        .map(|step| step.unwrap_or_else(|| Judgement::Unavailable("not classified".into())))
        .collect()
}

fn outcome(moderator: &Moderator, assessment: Assessment) -> Outcome {
    Outcome {
        status: Status::from(assessment.decision.verdict),
        category: assessment.decision.category,
        tags: assessment.tags,
        model: moderator.model_name().to_owned(),
        policy: moderator.policy().name().to_owned(),
        reason: assessment.decision.reason,
    }
}

fn failure(moderator: &Moderator, reason: String) -> Outcome {
    Outcome {
        status: Status::Failed,
        category: None,
        tags: Vec::new(),
        model: moderator.model_name().to_owned(),
        policy: moderator.policy().name().to_owned(),
        reason: Some(reason),
    }
}

fn decided(status: Status) {
    metrics::counter!("adpipe_ads_decided_total", "status" => status.as_str()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_level_off() {
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(3), Duration::from_secs(8));
        assert_eq!(retry_delay(50), Duration::from_secs(256));
    }
}
