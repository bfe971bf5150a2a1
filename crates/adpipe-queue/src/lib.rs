//! The queue of ads waiting for a decision: one type, [`Queue`], over the
//! built-in lease queue (the pending rows of the database) and RabbitMQ
//! (lapin), with the worker's [`Intake`] and the sweep. The API and the
//! worker ask it to enqueue, take a batch, settle, and report its depth;
//! no code outside this crate matches on the backend.
//!
//! It builds on the store: the built-in queue *is* the ads table (pending
//! rows claimed with a lease), and RabbitMQ only carries ids whose rows
//! hold the leases too. The claim SQL stays with the rest of the table's
//! SQL in `adpipe-store`; this crate decides which claim to make and how
//! ids travel.
//!
//! The database row is the source of truth: a publish that fails is repaired
//! by the sweep, and a redelivered id is harmless because decisions
//! are only recorded on pending rows. So the queue has to be reliable
//! (persistent messages, publisher confirms, ack after the decision is
//! stored), not exactly-once.
//!
//! Topology, declared identically by every publisher and consumer: a quorum
//! queue `<queue>` (durable and replicated, RabbitMQ's recommended type since
//! 3.8) whose rejected messages, and messages delivered `delivery_limit`
//! times, RabbitMQ dead-letters through the default exchange to the quorum
//! queue `<queue>.dead`. A classic queue of that name, left by an adpipe
//! before quorum queues, is named in the error, and `adpipe migrate`
//! replaces it ([`migrate_classic_queues`]).

mod amqp;
mod consumer;
mod intake;
mod link;
mod message;
mod publisher;
mod queue;
mod settings;
mod sweep;
mod topology;

use std::fmt;
use std::time::Duration;

pub use consumer::{Consumer, Delivery};
pub use intake::{Batch, Intake};
pub use message::{MessageError, decode, encode};
pub use publisher::Publisher;
pub use queue::Queue;
pub use settings::{Batching, Sweep};
pub use topology::migrate_classic_queues;

// The one URL redactor, for logs and error messages.
pub(crate) use adpipe_core::{redact_url, url_credentials as credentials};

pub const DEFAULT_QUEUE: &str = "adpipe.ads";

/// Where the queue lives and how to talk to it.
#[derive(Clone)]
pub struct AmqpConfig {
    /// `amqp://user:pass@host:5672/%2f` (`amqps://` for TLS).
    pub url: String,
    /// The work queue; its dead-letter queue is `<queue>.dead`.
    pub queue: String,
    /// Unacked messages RabbitMQ hands one consumer at a time; the worker
    /// sets it to its batch size. 0 is treated as 1 (RabbitMQ reads 0 as
    /// "unlimited", which would pull a whole backlog into one worker).
    pub prefetch: u16,
    /// How long to wait for a connection (queues declared included), and
    /// for RabbitMQ to answer any single operation (a publisher confirm, a
    /// close).
    pub connect_timeout: Duration,
    /// Deliveries of one message before RabbitMQ dead-letters it to
    /// `<queue>.dead` instead of handing it out again (the quorum queue's
    /// `x-delivery-limit`): a message that keeps failing cannot loop
    /// forever. Its ad stays pending in the database, and the sweep
    /// publishes it again once its lease has run out.
    pub delivery_limit: u32,
}

impl AmqpConfig {
    pub const DEFAULT_PREFETCH: u16 = 16;
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// RabbitMQ 4's default for quorum queues.
    pub const DEFAULT_DELIVERY_LIMIT: u32 = 20;

    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            queue: DEFAULT_QUEUE.to_owned(),
            prefetch: Self::DEFAULT_PREFETCH,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            delivery_limit: Self::DEFAULT_DELIVERY_LIMIT,
        }
    }

    pub(crate) fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.queue)
    }
}

// By hand, so that logging a config never prints the password.
impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("url", &redact_url(&self.url))
            .field("queue", &self.queue)
            .field("prefetch", &self.prefetch)
            .field("connect_timeout", &self.connect_timeout)
            .field("delivery_limit", &self.delivery_limit)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// RabbitMQ cannot be reached or the connection was lost; the message
    /// says what to check. Never contains the password.
    #[error("RabbitMQ is unavailable: {0}")]
    Unavailable(String),
    /// RabbitMQ refused the message (negative publisher confirm).
    #[error("RabbitMQ refused the message (negative publisher confirm)")]
    Nacked,
    /// Anything else RabbitMQ or the client reported.
    #[error("RabbitMQ error: {0}")]
    Protocol(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_is_redacted() {
        let config = AmqpConfig::new("amqp://guest:s3cret@localhost:5672/%2f");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("guest:***@localhost"), "{debug}");
        assert_eq!(config.queue, DEFAULT_QUEUE);
        assert_eq!(config.dead_letter_queue(), "adpipe.ads.dead");
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
    }

    #[test]
    fn handles_and_their_futures_can_move_between_tasks() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<Publisher>();
        send_sync::<Consumer>();
        send_sync::<Delivery>();
        send_sync::<QueueError>();
        // Created, never polled: no I/O.
        let publisher = Publisher::new(AmqpConfig::new("amqp://localhost"));
        send(&publisher.publish(adpipe_core::AdId::new()));
        send(&publisher.depth());
        let mut consumer = Consumer::new(AmqpConfig::new("amqp://localhost"));
        send(&consumer.next_batch(1, Duration::ZERO, Duration::ZERO));
    }
}
