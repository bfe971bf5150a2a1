//! The worker: takes ads off the queue in batches, classifies their images
//! as one batch, records each decision, and only then acknowledges; the
//! submitters are emailed from the decisions recorded. Batches flow through
//! a pipeline, so decoding the next one overlaps inference of the current
//! one. Stateless: run as many as the queue can feed. Before each batch it
//! asks which model version is live (`live_model`), so a promotion or a
//! rollback reaches every worker at its next batch.
//!
//! Loops share one process: deciding (this file and `decide`), one per
//! notification channel (`outbox`: emailing submitters, and telling the
//! site by webhook when a receiver is configured; each claims what is
//! owed, sends it and retries until the receiver takes it) and the queue's
//! sweep (`adpipe_queue::Queue::sweep`: with RabbitMQ, re-publishes
//! pending ads whose message was lost).

mod decide;
mod live_model;
pub mod outbox;
mod retag;

use std::sync::Arc;
use std::time::Duration;

use adpipe_notify::{Mailer, WebhookSender};
use adpipe_queue::{Batch, Batching, Intake, Queue, Sweep};
use adpipe_store::{Blobs, Database};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

pub use decide::{Decider, Judged, Judgement, Staged};
pub use live_model::{Live, LiveModel, LoadVersion, Registry, Shadow};
use outbox::{Channel, EmailChannel, WebhookChannel};
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

pub struct Worker {
    db: Database,
    decider: Decider,
    mailer: Mailer,
    config: Arc<WorkerConfig>,
    /// Woken when this process records decisions, so what they owe goes
    /// out at once rather than at the next poll.
    mail_wakeup: Arc<Notify>,
    webhook_wakeup: Arc<Notify>,
    webhooks: Option<WebhookSender>,
}

impl Worker {
    pub fn new(
        db: Database,
        blobs: Blobs,
        models: LiveModel,
        mailer: Mailer,
        config: WorkerConfig,
    ) -> Self {
        let config = Arc::new(config);
        Self {
            decider: Decider::new(db.clone(), blobs, models, config.clone()),
            db,
            mailer,
            config,
            mail_wakeup: Arc::new(Notify::new()),
            webhook_wakeup: Arc::new(Notify::new()),
            webhooks: None,
        }
    }

    /// Also delivers the site's webhooks (the database handle must queue
    /// them: `Database::with_webhooks`).
    pub fn with_webhooks(mut self, sender: WebhookSender) -> Self {
        self.webhooks = Some(sender);
        self
    }

    /// Runs until `shutdown`; the batch in hand is finished (decided,
    /// recorded, acked) first, and nothing unfinished is acked.
    pub async fn run(self, queue: Queue, shutdown: CancellationToken) {
        let mail = tokio::spawn(outbox::run(
            self.db.clone(),
            EmailChannel::new(self.mailer.clone(), self.config.public_url.clone()),
            EmailChannel::SETTINGS,
            self.mail_wakeup.clone(),
            shutdown.clone(),
        ));
        let webhooks = self.webhooks.clone().map(|sender| {
            tokio::spawn(outbox::run(
                self.db.clone(),
                WebhookChannel::new(sender),
                WebhookChannel::SETTINGS,
                self.webhook_wakeup.clone(),
                shutdown.clone(),
            ))
        });
        let sweep = {
            let (queue, shutdown) = (queue.clone(), shutdown.clone());
            let settings = Sweep {
                interval: self.config.sweep_interval,
                min_age: self.config.sweep_min_age,
                lease: self.config.lease,
            };
            tokio::spawn(async move { queue.sweep(settings, shutdown).await })
        };
        let intake = queue.intake(Batching {
            batch_size: self.config.batch_size,
            max_wait: self.config.max_wait,
            poll_interval: self.config.poll_interval,
            lease: self.config.lease,
        });
        self.run_pipeline(intake, &shutdown).await;
        // Each step of a stop says when it is done, so a stop that hangs
        // shows where in its log.
        tracing::info!("the batch in hand is settled and the queue closed");
        let tasks = [
            ("sweep", Some(sweep)),
            ("mail", Some(mail)),
            ("webhook", webhooks),
        ];
        for (name, task) in tasks
            .into_iter()
            .filter_map(|(name, task)| task.map(|task| (name, task)))
        {
            if let Err(error) = task.await {
                tracing::error!(%error, "the {name} task failed");
            }
        }
        tracing::info!("worker stopped");
    }

    /// Three stages joined by one-slot channels, so the next batch is
    /// fetched and decoded while the model runs the current one and the
    /// one before is being recorded: an image costs about the longest
    /// stage, not the sum of all three.
    async fn run_pipeline(&self, mut intake: Intake, shutdown: &CancellationToken) {
        let (staged_tx, mut staged_rx) = mpsc::channel::<(Batch, Staged)>(1);
        let (judged_tx, mut judged_rx) = mpsc::channel::<(Batch, Judged)>(1);
        let intake_in_use = &mut intake;
        let take = async move {
            // The slot is reserved before the batch is formed: while the
            // model is busy, ads keep collecting in the queue and the next
            // batch comes out fuller (a dynamic batcher), instead of a
            // small batch formed early waiting its turn.
            while let Ok(permit) = staged_tx.reserve().await {
                let Some(batch) = intake_in_use.next(shutdown).await else {
                    break;
                };
                if batch.ads.is_empty() {
                    // Only messages for ads decided already: nothing to run.
                    batch.settle(&[]).await;
                    continue;
                }
                let staged = self.decider.stage(&batch.ads).await;
                permit.send((batch, staged));
            }
        };
        let judge = async move {
            while let Some((batch, staged)) = staged_rx.recv().await {
                let judged = self.decider.judge(staged).await;
                if judged_tx.send((batch, judged)).await.is_err() {
                    break;
                }
            }
        };
        let record = async move {
            while let Some((batch, judged)) = judged_rx.recv().await {
                // An ad whose decision could not be recorded keeps its
                // lease (built-in queue) or is requeued (RabbitMQ).
                let unrecorded = self.decider.record(&batch.ads, judged).await;
                batch.settle(&unrecorded).await;
                self.mail_wakeup.notify_one();
                self.webhook_wakeup.notify_one();
            }
        };
        tokio::join!(take, judge, record);
        // Only now: the record stage acks on this consumer's channel.
        intake.close().await;
    }
}
