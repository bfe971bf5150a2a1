//! Carries ad ids from the API to the workers over RabbitMQ, and defines the
//! message format.
//!
//! The database row is the source of truth: a publish that fails is repaired
//! by the worker's sweep, and a redelivered id is harmless because decisions
//! are only recorded on pending rows. So the queue has to be reliable
//! (persistent messages, publisher confirms, ack after the decision is
//! stored), not exactly-once.
//!
//! Topology, declared identically by every publisher and consumer: a durable
//! queue `<queue>` whose rejected messages RabbitMQ dead-letters, through the
//! default exchange, to the durable queue `<queue>.dead`.

mod amqp;
mod consumer;
mod message;
mod publisher;

use std::fmt;
use std::time::Duration;

pub use consumer::{Consumer, Delivery};
pub use message::{MessageError, decode, encode};
pub use publisher::Publisher;

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
}

impl AmqpConfig {
    pub const DEFAULT_PREFETCH: u16 = 16;
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            queue: DEFAULT_QUEUE.to_owned(),
            prefetch: Self::DEFAULT_PREFETCH,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
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

/// The URL with its password replaced by `***`, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match credentials(url) {
        Some(Credentials {
            password: Some(range),
            ..
        }) => format!("{}***{}", &url[..range.start], &url[range.end..]),
        _ => url.to_owned(),
    }
}

struct Credentials {
    password: Option<std::ops::Range<usize>>,
    /// Where the host part starts (just after the `@`).
    host_start: usize,
}

/// Locates the userinfo of `scheme://user:pass@host...`.
fn credentials(url: &str) -> Option<Credentials> {
    let start = url.find("://").map_or(0, |i| i + 3);
    // The last '@' rather than the first: a password with an unencoded '@'
    // (or '/', '?', '#') must still be hidden. Over-redacting an odd URL
    // with an '@' in its query is the safe way to be wrong.
    let at = start + url[start..].rfind('@')?;
    let password = url[start..at].find(':').map(|colon| start + colon + 1..at);
    Some(Credentials {
        password,
        host_start: at + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_url("amqps://adpipe:p%40ss@mq.example.com:5671/prod?heartbeat=30"),
            "amqps://adpipe:***@mq.example.com:5671/prod?heartbeat=30"
        );
        assert_eq!(redact_url("amqp://user:@host"), "amqp://user:***@host");
    }

    #[test]
    fn redact_hides_passwords_with_unencoded_separators() {
        for url in [
            "amqp://user:pa@ss@host:5672/%2f",
            "amqp://user:pa/ss@host:5672/%2f",
            "amqp://user:pa#ss@host:5672/%2f",
        ] {
            assert_eq!(redact_url(url), "amqp://user:***@host:5672/%2f", "{url}");
        }
    }

    #[test]
    fn redact_leaves_urls_without_password_alone() {
        for url in [
            "amqp://127.0.0.1:5672/%2f",
            "amqps://mq.example.com",
            "amqp://user@host:5672/%2f",
            "",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

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
