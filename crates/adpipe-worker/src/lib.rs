//! The worker: takes ads off the queue in batches, classifies their images
//! as one batch, records each decision, emails the submitters, and only
//! then acknowledges. Stateless: run as many as the queue can feed.
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
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use decide::{Decider, Judgement};
pub use retag::{EmailTally, Rejudge, send_due_emails};

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
            Source::Embedded { wakeup } => self.run_embedded(&wakeup, &shutdown).await,
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
                self.run_amqp(*consumer, &shutdown).await;
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

    async fn run_embedded(&self, wakeup: &Notify, shutdown: &CancellationToken) {
        let batch_size = self.config.batch_size.max(1) as u32;
        while !shutdown.is_cancelled() {
            let mut ads = match self.db.claim_pending(batch_size, self.config.lease).await {
                Ok(ads) => ads,
                Err(error) => {
                    metrics::counter!("adpipe_worker_errors_total", "kind" => "database")
                        .increment(1);
                    tracing::warn!(%error, "cannot take ads from the database; retrying in 1 s");
                    if !pause(Duration::from_secs(1), shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if ads.is_empty() {
                tokio::select! {
                    () = wakeup.notified() => {}
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            if ads.len() < batch_size as usize && !self.config.max_wait.is_zero() {
                tokio::time::sleep(self.config.max_wait).await;
                let room = batch_size - ads.len() as u32;
                if let Ok(more) = self.db.claim_pending(room, self.config.lease).await {
                    ads.extend(more);
                }
            }
            // An ad whose decision could not be recorded keeps its lease and
            // is taken again when it runs out.
            self.decider.decide(ads).await;
            self.mail_wakeup.notify_one();
        }
    }

    async fn run_amqp(&self, mut consumer: Consumer, shutdown: &CancellationToken) {
        let batch_size = self.config.batch_size.max(1);
        loop {
            let deliveries = tokio::select! {
                deliveries = consumer.next_batch(batch_size, self.config.max_wait, Duration::from_secs(1)) => deliveries,
                () = shutdown.cancelled() => break,
            };
            if deliveries.is_empty() {
                continue;
            }
            self.handle_deliveries(deliveries, shutdown).await;
            self.mail_wakeup.notify_one();
        }
        consumer.close().await;
    }

    async fn handle_deliveries(&self, deliveries: Vec<Delivery>, shutdown: &CancellationToken) {
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
        let ads: Vec<AdRecord> = match self.db.claim_ids(&ids, self.config.lease).await {
            Ok(ads) => ads,
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "database").increment(1);
                tracing::warn!(%error, "cannot claim ads in the database; handing the messages back in 1 s");
                pause(Duration::from_secs(1), shutdown).await;
                for (_, delivery) in valid {
                    if let Err(error) = delivery.requeue().await {
                        tracing::warn!(%error, "could not requeue a message");
                    }
                }
                return;
            }
        };
        for id in &ids {
            if !ads.iter().any(|ad| ad.id == *id) {
                // Decided already (a redelivery) or unknown: nothing to do,
                // and no second email.
                tracing::debug!(%id, "message for an ad that is not pending; acking it");
            }
        }
        let unrecorded = self.decider.decide(ads).await;
        for (id, delivery) in valid {
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
}
