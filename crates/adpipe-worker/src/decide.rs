//! One batch in three steps, so that consecutive batches overlap: stage
//! (fetch the images, decode and preprocess them), judge (one run of the
//! model, then the policy) and record (write each outcome).

use std::sync::Arc;
use std::time::Duration;

use adpipe_core::{AdId, DecidedBy, Decision, Embedding, Status, Tag};
use adpipe_store::{AdRecord, BlobError, Blobs, Database};
use adpipe_tagger::{Assessment, ImageBytes, Moderator, PreparedBatch};
use bytes::Bytes;
use tracing::Instrument;

use crate::WorkerConfig;
use crate::live_model::{LiveModel, Shadow};

/// What the model and policy make of one stored ad.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// Judged by the model and the policy: approved, rejected or sent to a
    /// person, with the tags it was judged on.
    Decided(Assessment),
    /// The image is missing from the store or does not decode: `failed`,
    /// with the reason; trying again would not help.
    Unreadable(Decision),
    /// Passing trouble (the image store or the model failed): it may work
    /// later.
    Unavailable(String),
}

pub struct Decider {
    db: Database,
    blobs: Blobs,
    models: LiveModel,
    config: Arc<WorkerConfig>,
}

/// A batch's judgements, and who made them (the model version it was
/// staged with, even when another went live meanwhile), with the shadow
/// candidate that watched.
pub struct Judged {
    pub judgements: Vec<Judgement>,
    pub by: DecidedBy,
    pub shadow: Option<Arc<Shadow>>,
}

/// 2 s, 4 s, 8 s … up to 5 minutes.
fn retry_delay(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 8) as u32;
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(300))
}

impl Decider {
    pub fn new(db: Database, blobs: Blobs, models: LiveModel, config: Arc<WorkerConfig>) -> Self {
        Self {
            db,
            blobs,
            models,
            config,
        }
    }

    /// Fetches and prepares a batch of claimed ads (see [`stage`]) for
    /// the model live now.
    pub async fn stage(&self, ads: &[AdRecord]) -> Staged {
        metrics::histogram!("adpipe_batch_size").record(ads.len() as f64);
        let live = self.models.for_next_batch().await;
        let mut staged = stage(&self.blobs, &live.moderator, ads).await;
        // A version in shadow that has gone live has nothing to compare.
        staged.shadow = live
            .shadow
            .filter(|shadow| live.moderator.version() != Some(shadow.version.as_str()));
        staged
    }

    /// Runs the model the batch was staged for over it (see [`finish`]).
    pub async fn judge(&self, staged: Staged) -> Judged {
        let moderator = staged.moderator.clone();
        let shadow = staged.shadow.clone();
        Judged {
            judgements: finish(&moderator, staged).await,
            by: moderator.decided_by(),
            shadow,
        }
    }

    /// Records each ad's judgement. Returns the ids whose outcome (or
    /// hand-back) could not be written, so their messages are not acked.
    pub async fn record(&self, ads: &[AdRecord], judged: Judged) -> Vec<AdId> {
        let mut unrecorded = Vec::new();
        for (ad, step) in ads.iter().zip(judged.judgements) {
            // Every line about this ad carries its id as a span field.
            let span = tracing::info_span!("ad", ad_id = %ad.id);
            let watched = judged
                .shadow
                .as_deref()
                .and_then(|shadow| shadow_verdict(shadow, &step));
            if !self
                .record_one(ad, step, &judged.by)
                .instrument(span.clone())
                .await
            {
                unrecorded.push(ad.id);
            } else if let Some((shadow, version, live)) = watched {
                // Kept for the shadow report; a failure loses a verdict,
                // never a decision.
                if let Err(error) = self
                    .db
                    .record_shadow_verdict(ad.id, version, &shadow, &live)
                    .instrument(span)
                    .await
                {
                    tracing::warn!(id = %ad.id, %error, "could not keep the shadow verdict");
                }
            }
        }
        unrecorded
    }

    /// Stages, judges and records the claimed ads in one go.
    pub async fn decide(&self, ads: Vec<AdRecord>) -> Vec<AdId> {
        if ads.is_empty() {
            return Vec::new();
        }
        let staged = self.stage(&ads).await;
        let judged = self.judge(staged).await;
        self.record(&ads, judged).await
    }

    /// Records a decision on a pending ad; a redelivered one (decided by
    /// another worker meanwhile) is left as it is.
    async fn record_decision(
        &self,
        ad: &AdRecord,
        decision: &Decision,
        tags: &[Tag],
        embedding: Option<&Embedding>,
        by: &DecidedBy,
    ) -> Result<(), adpipe_store::DbError> {
        if self
            .db
            .record_judgement(ad.id, decision, tags, by, embedding)
            .await?
        {
            decided(decision.status);
            tracing::info!(id = %ad.id, status = decision.status.as_str(), category = decision.category.as_deref(), "decided");
        } else {
            tracing::debug!(id = %ad.id, "already decided by another worker");
        }
        Ok(())
    }

    /// Records one ad's step; false when it could not be written.
    async fn record_one(&self, ad: &AdRecord, step: Judgement, by: &DecidedBy) -> bool {
        let result = match step {
            Judgement::Decided(assessment) => {
                self.record_decision(
                    ad,
                    &assessment.decision,
                    &assessment.tags,
                    assessment.embedding.as_ref(),
                    by,
                )
                .await
            }
            Judgement::Unreadable(decision) => {
                self.record_decision(ad, &decision, &[], None, by).await
            }
            Judgement::Unavailable(error) if ad.attempts >= self.config.max_attempts => {
                tracing::warn!(id = %ad.id, attempts = ad.attempts, %error, "giving up on an ad");
                let reason = format!(
                    "We could not process your ad after {} attempts ({error}).",
                    ad.attempts
                );
                self.record_decision(ad, &Decision::failed(reason), &[], None, by)
                    .await
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
    finish(moderator, stage(blobs, moderator, ads).await).await
}

/// A batch whose images are fetched, decoded and preprocessed: the first
/// half of [`judge`], which the worker runs for the next batch while the
/// model works on the current one.
pub struct Staged {
    /// The model it was prepared for, which judges it.
    moderator: Arc<Moderator>,
    /// The candidate watching in shadow, if any.
    shadow: Option<Arc<Shadow>>,
    /// Per ad, in order: its id (the draw of the policy's review sample).
    ids: Vec<AdId>,
    /// Per ad: its text, for the policy's text rules.
    texts: Vec<String>,
    /// Per ad: its judgement when it is known without the model.
    steps: Vec<Option<Judgement>>,
    /// The ads whose image went to the model, in the prepared batch's order.
    classified: Vec<usize>,
    prepared: Result<PreparedBatch, String>,
}

pub async fn stage(blobs: &Blobs, moderator: &Arc<Moderator>, ads: &[AdRecord]) -> Staged {
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
            Err(BlobError::NotFound(_)) => Some(Judgement::Unreadable(Decision::failed(
                "The image of this ad is missing from the store.",
            ))),
            Err(error) => Some(Judgement::Unavailable(format!(
                "the image store failed: {error}"
            ))),
        });
    }
    let (classified, bytes): (Vec<usize>, Vec<Bytes>) = images.into_iter().unzip();
    // Decoded on the tagger's long-lived decoding threads: this task only
    // waits for the batch, no thread is started or blocked for it.
    let (prepared_tx, prepared_rx) = tokio::sync::oneshot::channel();
    moderator.prepare_in_background(
        bytes
            .into_iter()
            .map(|image| Box::new(image) as ImageBytes)
            .collect(),
        move |batch| {
            // The receiver is gone only when the worker stopped waiting.
            let _ = prepared_tx.send(batch);
        },
    );
    let prepared = prepared_rx
        .await
        .map_err(|_| "the image decoder stopped".to_string());
    Staged {
        moderator: moderator.clone(),
        shadow: None,
        ids: ads.iter().map(|ad| ad.id).collect(),
        texts: ads.iter().map(|ad| ad.text.clone()).collect(),
        steps,
        classified,
        prepared,
    }
}

/// The second half of [`judge`]: runs the model over a staged batch.
pub async fn finish(moderator: &Arc<Moderator>, staged: Staged) -> Vec<Judgement> {
    let Staged {
        moderator: _,
        shadow: _,
        ids,
        texts,
        mut steps,
        classified,
        prepared,
    } = staged;
    if !classified.is_empty() {
        let results = match prepared {
            Ok(batch) => {
                let batch_texts: Vec<String> = classified
                    .iter()
                    .map(|&index| texts[index].clone())
                    .collect();
                let started = std::time::Instant::now();
                // On the moderator's own long-lived thread, where it was
                // warmed up: a thread of tokio's blocking pool idles out
                // after an outage, and its successor would build up a
                // second copy of the models' working memory.
                let (assessed_tx, assessed_rx) = tokio::sync::oneshot::channel();
                moderator.assess_in_background(batch, batch_texts, move |assessed| {
                    // The receiver is gone only when the worker stopped waiting.
                    let _ = assessed_tx.send(assessed);
                });
                let results = assessed_rx
                    .await
                    .map_err(|_| "the classifier crashed".to_string())
                    .and_then(|result| {
                        result.map_err(|error| format!("the classifier failed: {error}"))
                    });
                metrics::histogram!("adpipe_tagging_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
                results
            }
            Err(error) => Err(error),
        };
        match results {
            Ok(assessments) => {
                for (index, assessment) in classified.into_iter().zip(assessments) {
                    steps[index] = Some(match assessment {
                        Ok(mut assessment) => {
                            let decision = moderator.judge_text(&texts[index], assessment.decision);
                            assessment.decision = moderator.sample_for_review(ids[index], decision);
                            Judgement::Decided(assessment)
                        }
                        Err(error) => Judgement::Unreadable(Decision::failed(format!(
                            "The image could not be read: {}.",
                            error.to_string().trim_end_matches('.')
                        ))),
                    });
                }
            }
            Err(error) => {
                for index in classified {
                    steps[index] = Some(Judgement::Unavailable(error.clone()));
                }
            }
        }
    }
    steps
        .into_iter()
        .map(|step| step.unwrap_or_else(|| Judgement::Unavailable("not classified".into())))
        .collect()
}

/// What the shadow would have decided for a judged ad (from the embedding
/// the live model's run made: its head alone runs), with its version and
/// the live model's decision; none when the ad was not judged by the
/// model or has no embedding the shadow reads.
fn shadow_verdict<'a>(
    shadow: &'a Shadow,
    step: &Judgement,
) -> Option<(Decision, &'a str, Decision)> {
    let Judgement::Decided(assessment) = step else {
        return None;
    };
    let embedding = assessment.embedding.as_ref()?;
    if embedding.model != shadow.judge.embedding_model() {
        return None;
    }
    let started = std::time::Instant::now();
    let verdict = shadow.judge.decide(&embedding.vector)?;
    metrics::histogram!("adpipe_shadow_duration_seconds").record(started.elapsed().as_secs_f64());
    Some((
        verdict,
        shadow.version.as_str(),
        assessment.decision.clone(),
    ))
}

fn decided(status: Status) {
    metrics::counter!("adpipe_ads_decided_total", "status" => status.as_str()).increment(1);
    metrics::counter!("adpipe_decisions_total", "decided_by" => "model", "outcome" => status.as_str())
        .increment(1);
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
