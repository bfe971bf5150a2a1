//! [`Queue`]: how a stored ad reaches a worker, whichever backend carries
//! it. The API enqueues, the worker takes batches ([`Intake`]) and settles
//! them, the sweep repairs what a broker lost, and readiness and metrics
//! ask for the depth; none of them needs to know which backend runs.
//!
//! Both backends share one rule: the ads table is the source of truth. A
//! pending row is a job; it is claimed with a lease (`lease_until`), so a
//! worker that dies gives its ads back when the lease runs out, and a
//! decision is only recorded on a row that is still pending, so a job done
//! twice is recorded once.

use std::sync::Arc;

use adpipe_core::{AdId, Status};
use adpipe_store::Database;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::intake::Intake;
use crate::settings::{Batching, Sweep};
use crate::{AmqpConfig, Publisher, QueueError, sweep};

/// The queue of ads waiting for a decision. Cheap to clone; an API and a
/// worker in one process share one, so a submission wakes the worker at
/// once on the built-in queue.
#[derive(Debug, Clone)]
pub struct Queue {
    db: Database,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    /// The pending row is the job; workers claim rows with a lease. The
    /// notify wakes a worker in this process instead of at its next poll.
    Embedded { wakeup: Arc<Notify> },
    /// RabbitMQ carries the ids (persistent, confirmed); the rows still
    /// hold the leases, and the sweep re-publishes what was lost.
    Rabbitmq {
        publisher: Publisher,
        config: AmqpConfig,
    },
}

impl Queue {
    /// The built-in queue in the database: nothing else to run.
    pub fn embedded(db: Database) -> Self {
        Self {
            db,
            backend: Backend::Embedded {
                wakeup: Arc::new(Notify::new()),
            },
        }
    }

    /// RabbitMQ at `config.url`; connects lazily, so this does no I/O.
    pub fn rabbitmq(db: Database, config: AmqpConfig) -> Self {
        Self {
            db,
            backend: Backend::Rabbitmq {
                publisher: Publisher::new(config.clone()),
                config,
            },
        }
    }

    /// What carries the ads, for logs: the broker's URL without password.
    pub fn description(&self) -> String {
        match &self.backend {
            Backend::Embedded { .. } => "built-in (database)".to_owned(),
            Backend::Rabbitmq { config, .. } => {
                format!("rabbitmq {}", crate::redact_url(&config.url))
            }
        }
    }

    /// Hands a stored, pending ad to the workers. Never fails the caller:
    /// on RabbitMQ a publish that fails leaves the ad pending, and the
    /// sweep publishes it again.
    pub async fn enqueue(&self, id: AdId) {
        match &self.backend {
            Backend::Embedded { wakeup } => wakeup.notify_one(),
            Backend::Rabbitmq { publisher, .. } => {
                if let Err(error) = publisher.publish(id).await {
                    tracing::warn!(%id, %error, "could not publish; the sweep will re-enqueue the ad");
                }
            }
        }
    }

    /// Ads waiting for a worker: pending rows on the built-in queue,
    /// messages ready on RabbitMQ (not those delivered and unacked).
    pub async fn depth(&self) -> Result<u64, QueueError> {
        match &self.backend {
            Backend::Embedded { .. } => {
                let counts = self
                    .db
                    .count_by_status()
                    .await
                    .map_err(|error| QueueError::Unavailable(error.to_string()))?;
                Ok(counts
                    .iter()
                    .find(|(status, _)| *status == Status::Pending)
                    .map_or(0, |(_, n)| *n as u64))
            }
            Backend::Rabbitmq { publisher, .. } => publisher.depth().await.map(u64::from),
        }
    }

    /// For readiness: what answers, or why not. The built-in queue is the
    /// database, which readiness checks on its own.
    pub async fn check(&self) -> Result<String, QueueError> {
        match &self.backend {
            Backend::Embedded { .. } => Ok("built-in".to_owned()),
            Backend::Rabbitmq { publisher, .. } => publisher
                .depth()
                .await
                .map(|depth| format!("rabbitmq, {depth} waiting")),
        }
    }

    /// A worker's receiving end.
    pub fn intake(&self, batching: Batching) -> Intake {
        match &self.backend {
            Backend::Embedded { wakeup } => {
                Intake::embedded(self.db.clone(), batching, wakeup.clone())
            }
            Backend::Rabbitmq { config, .. } => {
                Intake::rabbitmq(self.db.clone(), batching, config.clone())
            }
        }
    }

    /// Runs until `shutdown`: on RabbitMQ, re-publishes pending ads whose
    /// message was lost or whose retry is due; the built-in queue needs no
    /// sweep (an expired lease puts the row back by itself), so this
    /// returns at once.
    pub async fn sweep(&self, settings: Sweep, shutdown: CancellationToken) {
        if let Backend::Rabbitmq { publisher, .. } = &self.backend {
            sweep::run(&self.db, publisher, &settings, &shutdown).await;
        }
    }

    /// Closes the broker connection, if any.
    pub async fn close(&self) {
        if let Backend::Rabbitmq { publisher, .. } = &self.backend {
            publisher.close().await;
        }
    }
}
