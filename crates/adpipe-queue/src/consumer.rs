//! The workers' side: batches of deliveries, manual acks, and a connection
//! that heals itself without ever holding the caller's loop for longer than
//! it asked.

use std::fmt;
use std::time::Duration;

use adpipe_core::AdId;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

use crate::amqp::{self, Backoff, Role};
use crate::link::Link;
use crate::message::{self, MessageError};
use crate::{AmqpConfig, QueueError, redact_url};

/// Batches of deliveries for one worker; reconnects by itself.
pub struct Consumer {
    config: AmqpConfig,
    session: Option<Session>,
    /// A connection attempt runs as a task of its own, so that it carries on
    /// between `next_batch` calls whose `idle` is shorter than a connect.
    connecting: Option<JoinHandle<Result<Session, QueueError>>>,
    backoff: Backoff,
    /// A problem was logged as a warning; say so when it is over.
    troubled: bool,
}

struct Session {
    link: Link,
    deliveries: lapin::Consumer,
}

/// Why no delivery came.
enum Missed {
    TimedOut,
    /// The session is gone; its unacked deliveries go back to the queue.
    Lost,
}

impl Consumer {
    /// Does no I/O: connects on the first `next_batch`.
    pub fn new(config: AmqpConfig) -> Self {
        Self {
            config,
            session: None,
            connecting: None,
            backoff: Backoff::new(),
            troubled: false,
        }
    }

    /// Waits up to `idle` for a first message, then collects more until there
    /// are `max` (at least 1) or `max_wait` has passed since the first.
    /// Returns an empty batch after `idle` without a message.
    ///
    /// Connection trouble is handled here: logged, then retried with backoff
    /// (0.5 s doubling to 30 s), never holding the caller past `idle` while
    /// nothing arrives. Deliveries from a connection that died are dropped:
    /// RabbitMQ redelivers them. With `max` above the prefetch, a batch can
    /// only fill up as earlier deliveries are acked.
    pub async fn next_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
        idle: Duration,
    ) -> Vec<Delivery> {
        let max = max.max(1);
        let idle_deadline = Instant::now() + idle;
        loop {
            let Some(first) = self.first(idle_deadline).await else {
                return Vec::new();
            };
            let mut batch = vec![first];
            let deadline = Instant::now() + max_wait;
            while batch.len() < max {
                let Ok(delivery) = self.receive(deadline).await else {
                    break;
                };
                batch.push(delivery);
            }
            // Acks for these could only fail now.
            batch.retain(Delivery::settleable);
            if !batch.is_empty() || Instant::now() >= idle_deadline {
                return batch;
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|session| session.link.is_open())
    }

    /// Cancels the consumer and closes channel and connection; unacked
    /// messages go back to the queue. A later `next_batch` connects again.
    pub async fn close(&mut self) {
        if let Some(connecting) = self.connecting.take() {
            connecting.abort();
        }
        let Some(session) = self.session.take() else {
            return;
        };
        // A link that is already broken has nobody to say goodbye to:
        // dropping it is the whole close, and a stop is not held up by
        // handshakes that can only time out.
        if !session.link.is_open() {
            return;
        }
        // One budget for the whole goodbye, not one per step: the steps of
        // a stop add up, and an orchestrator's patience is finite.
        let close = async {
            // Cancelled first so that nothing new is delivered while closing.
            let _ = session
                .link
                .channel
                .basic_cancel(session.deliveries.tag(), BasicCancelOptions::default())
                .await;
            session.link.close(self.config.connect_timeout).await;
        };
        let _ = timeout(self.config.connect_timeout, close).await;
    }

    async fn first(&mut self, deadline: Instant) -> Option<Delivery> {
        loop {
            if self.session.is_none() && !self.reconnect(deadline).await {
                return None;
            }
            match self.receive(deadline).await {
                Ok(delivery) => return Some(delivery),
                Err(Missed::TimedOut) => return None,
                Err(Missed::Lost) => {}
            }
        }
    }

    /// Tries to (re)open the session before `deadline`, honouring the
    /// backoff. `false` when the deadline came first.
    async fn reconnect(&mut self, deadline: Instant) -> bool {
        loop {
            if let Some(retry_at) = self.backoff.retry_at() {
                if retry_at >= deadline {
                    sleep_until(deadline).await;
                    return false;
                }
                sleep_until(retry_at).await;
            }
            let config = self.config.clone();
            let connecting = self
                .connecting
                .get_or_insert_with(|| tokio::spawn(Session::open(config)));
            let Ok(joined) = timeout_at(deadline, connecting).await else {
                return false;
            };
            self.connecting = None;
            let error = match joined {
                Ok(Ok(session)) => {
                    if std::mem::take(&mut self.troubled) {
                        tracing::info!(
                            url = %redact_url(&self.config.url),
                            "consuming from RabbitMQ again",
                        );
                    }
                    self.backoff.succeeded();
                    self.session = Some(session);
                    return true;
                }
                Ok(Err(error)) => error,
                Err(join) => QueueError::Protocol(format!("the connection attempt failed: {join}")),
            };
            let wait = self.backoff.failed();
            self.troubled = true;
            tracing::warn!(%error, retry_in = ?wait, "cannot consume from RabbitMQ; retrying");
        }
    }

    async fn receive(&mut self, deadline: Instant) -> Result<Delivery, Missed> {
        let Some(session) = self.session.as_mut() else {
            return Err(Missed::Lost);
        };
        let reason = match timeout_at(deadline, session.deliveries.next()).await {
            Err(_) => return Err(Missed::TimedOut),
            Ok(Some(Ok(delivery))) => return Ok(Delivery::new(delivery)),
            Ok(Some(Err(err))) => amqp::scrub(&err.to_string(), &self.config.url),
            Ok(None) => "the broker cancelled the consumer (queue deleted?)".to_owned(),
        };
        self.session = None;
        let wait = self.backoff.failed();
        self.troubled = true;
        tracing::warn!(
            url = %redact_url(&self.config.url),
            %reason,
            retry_in = ?wait,
            "lost the RabbitMQ consumer; reconnecting (unacked messages will be redelivered)"
        );
        Err(Missed::Lost)
    }
}

impl Session {
    async fn open(config: AmqpConfig) -> Result<Self, QueueError> {
        let link = Link::open(&config, Role::Consumer).await?;
        let options = BasicConsumeOptions {
            no_ack: false,
            ..BasicConsumeOptions::default()
        };
        // An empty tag lets the broker pick a unique one.
        let consume = link.channel.basic_consume(
            config.queue.as_str().into(),
            "".into(),
            options,
            FieldTable::default(),
        );
        let deliveries = match timeout(config.connect_timeout, consume).await {
            Ok(Ok(deliveries)) => deliveries,
            Ok(Err(err)) => return Err(amqp::error(&err, &config, "starting to consume")),
            Err(_) => {
                return Err(QueueError::Unavailable(format!(
                    "{} did not start the consumer within {:?}",
                    redact_url(&config.url),
                    config.connect_timeout
                )));
            }
        };
        Ok(Self { link, deliveries })
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(connecting) = self.connecting.take() {
            connecting.abort();
        }
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("config", &self.config)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// One message. Dropping it without settling leaves it unacked until the
/// connection closes, when RabbitMQ redelivers it.
pub struct Delivery {
    inner: lapin::message::Delivery,
    ad_id: Result<AdId, MessageError>,
}

impl Delivery {
    fn new(inner: lapin::message::Delivery) -> Self {
        let ad_id = message::decode(&inner.data);
        Self { inner, ad_id }
    }

    /// The id, or why the body is not a valid message (dead-letter those).
    pub fn ad_id(&self) -> Result<AdId, &MessageError> {
        self.ad_id.as_ref().copied()
    }

    /// Whether RabbitMQ delivered it before, to a consumer that did not ack.
    pub fn redelivered(&self) -> bool {
        self.inner.redelivered
    }

    /// Done with it. Fails with `Unavailable` when the connection it came on
    /// is gone; RabbitMQ then redelivers it.
    pub async fn ack(self) -> Result<(), QueueError> {
        settle(self.inner.acker.ack(BasicAckOptions::default()), "ack").await
    }

    /// Rejects without requeueing: RabbitMQ moves it to `<queue>.dead`. For
    /// poison and malformed messages.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        let options = BasicRejectOptions { requeue: false };
        settle(self.inner.acker.reject(options), "dead-letter").await
    }

    /// Gives it back to the queue now (unfinished work on shutdown).
    pub async fn requeue(self) -> Result<(), QueueError> {
        let options = BasicRejectOptions { requeue: true };
        settle(self.inner.acker.reject(options), "requeue").await
    }

    fn settleable(&self) -> bool {
        self.inner.acker.usable()
    }
}

/// How long an ack (or reject) may wait for the connection to take it.
/// lapin resolves an ack's promise from the connection's io loop; an ack
/// sent while a lost connection's loop is stopping can be left unresolved,
/// and awaiting it without a limit held a worker's stop (and its batches)
/// forever after a RabbitMQ restart. An ack that was not taken is a message
/// RabbitMQ redelivers once the connection is gone: no ad is lost, and a
/// second message for a decided ad is acked without a second email.
pub(crate) const SETTLE_LIMIT: Duration = Duration::from_secs(5);

async fn settle(
    settling: impl Future<Output = lapin::Result<bool>>,
    what: &str,
) -> Result<(), QueueError> {
    let Ok(result) = timeout(SETTLE_LIMIT, settling).await else {
        return Err(QueueError::Unavailable(format!(
            "the connection did not take the {what} within {SETTLE_LIMIT:?}; RabbitMQ will \
             redeliver the message once that connection is gone"
        )));
    };
    match result {
        Ok(true) => Ok(()),
        // lapin's way of saying the channel is gone.
        Ok(false) => Err(QueueError::Unavailable(format!(
            "cannot {what} the message: the connection it came on is closed, so RabbitMQ \
             will redeliver it"
        ))),
        Err(err) if amqp::is_connection_error(&err) => Err(QueueError::Unavailable(format!(
            "cannot {what} the message ({err}); RabbitMQ will redeliver it"
        ))),
        Err(err) => Err(QueueError::Protocol(format!(
            "cannot {what} the message: {err}"
        ))),
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("ad_id", &self.ad_id)
            .field("redelivered", &self.inner.redelivered)
            .field("delivery_tag", &self.inner.delivery_tag)
            .finish()
    }
}
