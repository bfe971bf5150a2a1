//! A worker's receiving end of the [`Queue`](crate::Queue): batches formed
//! like an inference server's dynamic batcher (as soon as `batch_size` ads
//! are there, or `max_wait` after the first one), claimed in the database
//! with a lease, and settled once their decisions are recorded.

use std::sync::Arc;
use std::time::Duration;

use adpipe_core::AdId;
use adpipe_store::{AdRecord, Database};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::settings::{Batching, pause};
use crate::{AmqpConfig, Consumer, Delivery, QueueError};

/// Claimed ads, and on RabbitMQ the deliveries that brought them (and any
/// for ads that need nothing), acknowledged by [`Batch::settle`].
#[derive(Debug)]
pub struct Batch {
    pub ads: Vec<AdRecord>,
    deliveries: Vec<(AdId, Delivery)>,
}

impl Batch {
    /// Acks what was recorded (or needed nothing) and hands back the ads in
    /// `unrecorded`: RabbitMQ delivers those again; on the built-in queue
    /// they keep their lease and come back when it runs out.
    pub async fn settle(self, unrecorded: &[AdId]) {
        let mut deliveries = self.deliveries.into_iter();
        for (id, delivery) in deliveries.by_ref() {
            let result = if unrecorded.contains(&id) {
                delivery.requeue().await
            } else {
                delivery.ack().await
            };
            if let Err(error) = result {
                tracing::warn!(%id, %error, "could not settle a message; RabbitMQ will redeliver it");
                if matches!(error, QueueError::Unavailable(_)) {
                    break;
                }
            }
        }
        // They all came on the connection that just failed us: trying each
        // would only wait out its limit in turn, and a stop would wait for
        // all of them.
        let left = deliveries.count();
        if left > 0 {
            tracing::warn!(
                messages = left,
                "not settling the rest of the batch on that connection; RabbitMQ will redeliver them"
            );
        }
    }
}

/// Where a worker's batches come from.
pub struct Intake {
    db: Database,
    batching: Batching,
    source: Source,
}

enum Source {
    Embedded(Arc<Notify>),
    Rabbitmq(Box<Consumer>),
}

impl Intake {
    pub(crate) fn embedded(db: Database, batching: Batching, wakeup: Arc<Notify>) -> Self {
        Self {
            db,
            batching,
            source: Source::Embedded(wakeup),
        }
    }

    pub(crate) fn rabbitmq(db: Database, batching: Batching, config: AmqpConfig) -> Self {
        Self {
            db,
            batching,
            source: Source::Rabbitmq(Box::new(Consumer::new(config))),
        }
    }

    /// The next batch; `None` when shutting down. A batch may hold no ads
    /// (only messages for ads decided already): settle it all the same.
    pub async fn next(&mut self, shutdown: &CancellationToken) -> Option<Batch> {
        let batch_size = self.batching.batch_size.max(1);
        let max_wait = self.batching.max_wait;
        loop {
            if shutdown.is_cancelled() {
                return None;
            }
            match &mut self.source {
                Source::Embedded(wakeup) => {
                    let wakeup = wakeup.clone();
                    let mut ads = self.claim(batch_size, shutdown).await?;
                    if ads.is_empty() {
                        tokio::select! {
                            () = wakeup.notified() => {}
                            () = tokio::time::sleep(self.batching.poll_interval) => {}
                            () = shutdown.cancelled() => return None,
                        }
                        continue;
                    }
                    let deadline = Instant::now() + max_wait;
                    while ads.len() < batch_size && Instant::now() < deadline {
                        // Submissions in this process wake us at once; those
                        // of another process are found at the deadline.
                        tokio::select! {
                            () = wakeup.notified() => {}
                            () = tokio::time::sleep_until(deadline) => {}
                            () = shutdown.cancelled() => {}
                        }
                        match self.claim(batch_size - ads.len(), shutdown).await {
                            Some(more) => ads.extend(more),
                            None => break,
                        }
                    }
                    return Some(Batch {
                        ads,
                        deliveries: Vec::new(),
                    });
                }
                Source::Rabbitmq(consumer) => {
                    let deliveries = tokio::select! {
                        deliveries = consumer.next_batch(batch_size, max_wait, Duration::from_secs(1)) => deliveries,
                        () = shutdown.cancelled() => return None,
                    };
                    if deliveries.is_empty() {
                        continue;
                    }
                    if let Some(batch) = self.claim_deliveries(deliveries, shutdown).await {
                        return Some(batch);
                    }
                }
            }
        }
    }

    /// Closes the consumer (RabbitMQ); call after the last batch is settled,
    /// as acks travel on its channel.
    pub async fn close(&mut self) {
        if let Source::Rabbitmq(consumer) = &mut self.source {
            consumer.close().await;
        }
    }

    /// Claims up to `room` pending ads; `None` when shutting down while
    /// the database is unreachable.
    async fn claim(&self, room: usize, shutdown: &CancellationToken) -> Option<Vec<AdRecord>> {
        loop {
            match self
                .db
                .claim_pending(room as u32, self.batching.lease)
                .await
            {
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
        match self.db.claim_ids(&ids, self.batching.lease).await {
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
