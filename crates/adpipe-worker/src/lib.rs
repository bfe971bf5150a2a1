//! The worker: takes ads off the queue in batches, classifies their images
//! as one batch, records each decision, and only then acknowledges; the
//! submitters are emailed from the decisions recorded. Batches flow through
//! a pipeline, so decoding the next one overlaps inference of the current
//! one. Stateless: run as many as the queue can feed.
//!
//! Three loops share one process: deciding (this file and `decide`),
//! emailing (`mail`: decided ads whose email is due, retried until the SMTP
//! server takes it) and, with RabbitMQ, the sweep (`sweep`: re-publishes
//! pending ads whose message was lost or whose retry is due).

mod decide;
mod mail;
mod retag;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use adpipe_core::AdId;
use adpipe_notify::Mailer;
use adpipe_queue::{Consumer, Delivery, Publisher};
use adpipe_store::{AdRecord, Blobs, Database};
use adpipe_tagger::Moderator;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use decide::{Decider, Judgement, Staged};
pub use retag::{EmailTally, Rejudge, send_due_emails};

/// Batches a worker holds at most (being formed and staged, in the model,
/// waiting to be recorded, being recorded): RabbitMQ's prefetch is this
/// many batches.
pub const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Most ads classified in one run of the model.
    pub batch_size: usize,
    /// Once one ad is there, how long to wait for more to fill the batch.
    pub max_wait: Duration,
    /// Built-in queue: how often to look for ads submitted through another
    /// process (those of this process wake the worker at once).
    pub poll_interval: Duration,
    /// How long a claimed ad is held before another worker may take it
    /// (the worker died). Far above the time a batch takes.
    pub lease: Duration,
    /// Tries before an ad that keeps failing for a passing reason (the
    /// image store down) is marked failed.
    pub max_attempts: i64,
    /// Base of the link in emails.
    pub public_url: String,
    /// RabbitMQ: how often the sweep looks for ads to re-publish, and how
    /// old an ad no worker ever took must be to count as lost.
    pub sweep_interval: Duration,
    pub sweep_min_age: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch_size: 8,
            max_wait: Duration::from_millis(20),
            poll_interval: Duration::from_millis(250),
            lease: Duration::from_secs(60),
            max_attempts: 5,
            public_url: "http://127.0.0.1:8080".into(),
            sweep_interval: Duration::from_secs(10),
            sweep_min_age: Duration::from_secs(30),
        }
    }
}

/// Where the worker's ads come from.
pub enum Source {
    /// The built-in queue: pending rows claimed with a lease. `wakeup` is
    /// notified by an API in the same process on each submission.
    Embedded { wakeup: Arc<Notify> },
    /// RabbitMQ: ids from the consumer; the publisher serves the sweep.
    Amqp {
        consumer: Box<Consumer>,
        publisher: Publisher,
    },
}

pub struct Worker {
    db: Database,
    decider: Decider,
    mailer: Mailer,
    config: Arc<WorkerConfig>,
    mail_wakeup: Arc<Notify>,
}

/// Sleeps, or returns false at once when shutting down.
async fn pause(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = shutdown.cancelled() => false,
    }
}

impl Worker {
    pub fn new(
        db: Database,
        blobs: Blobs,
        moderator: Arc<Moderator>,
        mailer: Mailer,
        config: WorkerConfig,
    ) -> Self {
        let config = Arc::new(config);
        Self {
            decider: Decider::new(db.clone(), blobs, moderator, config.clone()),
            db,
            mailer,
            config,
            mail_wakeup: Arc::new(Notify::new()),
        }
    }

    /// Runs until `shutdown`; the batch in hand is finished (decided,
    /// recorded, acked) first, and nothing unfinished is acked.
    pub async fn run(self, source: Source, shutdown: CancellationToken) {
        let mail = tokio::spawn(mail::run(
            self.db.clone(),
            self.mailer.clone(),
            self.config.public_url.clone(),
            self.mail_wakeup.clone(),
            shutdown.clone(),
        ));
        match source {
            Source::Embedded { wakeup } => {
                self.run_pipeline(Intake::Embedded(wakeup), &shutdown).await;
            }
            Source::Amqp {
                consumer,
                publisher,
            } => {
                let sweep = tokio::spawn(sweep::run(
                    self.db.clone(),
                    publisher,
                    self.config.clone(),
                    shutdown.clone(),
                ));
                self.run_pipeline(Intake::Amqp(consumer), &shutdown).await;
                if let Err(error) = sweep.await {
                    tracing::error!(%error, "the sweep task failed");
                }
            }
        }
        if let Err(error) = mail.await {
            tracing::error!(%error, "the mail task failed");
        }
        tracing::info!("worker stopped");
    }

    /// Three stages joined by one-slot channels, so the next batch is
    /// fetched and decoded while the model runs the current one and the
    /// one before is being recorded: an image costs about the longest
    /// stage, not the sum of all three.
    async fn run_pipeline(&self, mut intake: Intake, shutdown: &CancellationToken) {
        let (staged_tx, mut staged_rx) = mpsc::channel::<(Batch, Staged)>(1);
        let (judged_tx, mut judged_rx) = mpsc::channel::<(Batch, Vec<Judgement>)>(1);
        let intake_in_use = &mut intake;
        let take = async move {
            // The slot is reserved before the batch is formed: while the
            // model is busy, ads keep collecting in the queue and the next
            // batch comes out fuller (a dynamic batcher), instead of a
            // small batch formed early waiting its turn.
            while let Ok(permit) = staged_tx.reserve().await {
                let Some(batch) = intake_in_use.next(self, shutdown).await else {
                    break;
                };
                if batch.ads.is_empty() {
                    // Only messages for ads decided already: nothing to run.
                    settle(batch.deliveries, &[]).await;
                    continue;
                }
                let staged = self.decider.stage(&batch.ads).await;
                permit.send((batch, staged));
            }
        };
        let judge = async move {
            while let Some((batch, staged)) = staged_rx.recv().await {
                let judgements = self.decider.judge(staged).await;
                if judged_tx.send((batch, judgements)).await.is_err() {
                    break;
                }
            }
        };
        let record = async move {
            while let Some((batch, judgements)) = judged_rx.recv().await {
                // An ad whose decision could not be recorded keeps its
                // lease (built-in queue) or is requeued (RabbitMQ).
                let unrecorded = self.decider.record(&batch.ads, judgements).await;
                settle(batch.deliveries, &unrecorded).await;
                self.mail_wakeup.notify_one();
            }
        };
        tokio::join!(take, judge, record);
        // Only now: the record stage acks on this consumer's channel.
        if let Intake::Amqp(consumer) = &mut intake {
            consumer.close().await;
        }
    }
}

/// Claimed ads, and for RabbitMQ the deliveries that brought them (and any
/// for ads that need nothing), settled once the outcomes are recorded.
struct Batch {
    ads: Vec<AdRecord>,
    deliveries: Vec<(AdId, Delivery)>,
}

/// Acks what was recorded (or needed nothing) and hands back the rest.
async fn settle(deliveries: Vec<(AdId, Delivery)>, unrecorded: &[AdId]) {
    for (id, delivery) in deliveries {
        let result = if unrecorded.contains(&id) {
            // The decision is not committed: RabbitMQ must deliver it again.
            delivery.requeue().await
        } else {
            delivery.ack().await
        };
        if let Err(error) = result {
            tracing::warn!(%id, %error, "could not settle a message; RabbitMQ will redeliver it");
        }
    }
}

/// Where batches come from, each formed like an inference server's dynamic
/// batcher: as soon as `batch_size` ads are there, or `max_wait` after the
/// first one.
enum Intake {
    Embedded(Arc<Notify>),
    Amqp(Box<Consumer>),
}

impl Intake {
    /// The next batch; `None` when shutting down.
    async fn next(&mut self, worker: &Worker, shutdown: &CancellationToken) -> Option<Batch> {
        let config = &worker.config;
        let batch_size = config.batch_size.max(1);
        loop {
            if shutdown.is_cancelled() {
                return None;
            }
            match self {
                Intake::Embedded(wakeup) => {
                    let mut ads = worker.claim(batch_size, shutdown).await?;
                    if ads.is_empty() {
                        tokio::select! {
                            () = wakeup.notified() => {}
                            () = tokio::time::sleep(config.poll_interval) => {}
                            () = shutdown.cancelled() => return None,
                        }
                        continue;
                    }
                    let deadline = Instant::now() + config.max_wait;
                    while ads.len() < batch_size && Instant::now() < deadline {
                        // Submissions in this process wake us at once; those
                        // of another process are found at the deadline.
                        tokio::select! {
                            () = wakeup.notified() => {}
                            () = tokio::time::sleep_until(deadline) => {}
                            () = shutdown.cancelled() => {}
                        }
                        match worker.claim(batch_size - ads.len(), shutdown).await {
                            Some(more) => ads.extend(more),
                            None => break,
                        }
                    }
                    return Some(Batch {
                        ads,
                        deliveries: Vec::new(),
                    });
                }
                Intake::Amqp(consumer) => {
                    let deliveries = tokio::select! {
                        deliveries = consumer.next_batch(batch_size, config.max_wait, Duration::from_secs(1)) => deliveries,
                        () = shutdown.cancelled() => return None,
                    };
                    if deliveries.is_empty() {
                        continue;
                    }
                    if let Some(batch) = worker.claim_deliveries(deliveries, shutdown).await {
                        return Some(batch);
                    }
                }
            }
        }
    }
}

impl Worker {
    /// Claims up to `room` pending ads; `None` when shutting down while
    /// the database is unreachable.
    async fn claim(&self, room: usize, shutdown: &CancellationToken) -> Option<Vec<AdRecord>> {
        loop {
            match self.db.claim_pending(room as u32, self.config.lease).await {
                Ok(ads) => return Some(ads),
                Err(error) => {
                    metrics::counter!("adpipe_worker_errors_total", "kind" => "database")
                        .increment(1);
                    tracing::warn!(%error, "cannot take ads from the database; retrying in 1 s");
                    if !pause(Duration::from_secs(1), shutdown).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Claims the ads the deliveries name. Malformed messages go to the
    /// dead-letter queue; when the database cannot be reached, all go back
    /// to the queue and `None` is returned.
    async fn claim_deliveries(
        &self,
        deliveries: Vec<Delivery>,
        shutdown: &CancellationToken,
    ) -> Option<Batch> {
        let mut valid = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match delivery.ad_id() {
                Ok(id) => valid.push((id, delivery)),
                Err(error) => {
                    metrics::counter!("adpipe_worker_errors_total", "kind" => "message")
                        .increment(1);
                    tracing::warn!(%error, "malformed message; moving it to the dead-letter queue");
                    if let Err(error) = delivery.dead_letter().await {
                        tracing::warn!(%error, "could not dead-letter a malformed message");
                    }
                }
            }
        }
        let ids: Vec<AdId> = valid.iter().map(|(id, _)| *id).collect();
        match self.db.claim_ids(&ids, self.config.lease).await {
            Ok(ads) => {
                for id in &ids {
                    if !ads.iter().any(|ad| ad.id == *id) {
                        // Decided already (a redelivery) or unknown: nothing
                        // to do, and no second email.
                        tracing::debug!(%id, "message for an ad that is not pending; acking it");
                    }
                }
                Some(Batch {
                    ads,
                    deliveries: valid,
                })
            }
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "database").increment(1);
                tracing::warn!(%error, "cannot claim ads in the database; handing the messages back in 1 s");
                pause(Duration::from_secs(1), shutdown).await;
                for (_, delivery) in valid {
                    if let Err(error) = delivery.requeue().await {
                        tracing::warn!(%error, "could not requeue a message");
                    }
                }
                None
            }
        }
    }
}
