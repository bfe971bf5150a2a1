//! The API's side: one connection shared by every request handler,
//! publisher confirms, and reconnects that fail fast while RabbitMQ is down
//! (the sweep re-publishes what failed, so an HTTP request should not wait
//! out a connect timeout each time).

use std::fmt;
use std::sync::Arc;

use adpipe_core::AdId;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use tokio::sync::Mutex;
use tokio::time::{Instant, timeout};

use crate::amqp::{self, Backoff, Role};
use crate::link::Link;
use crate::{AmqpConfig, QueueError, message, redact_url};

/// Clone-able (`Arc` inside), shared by all API request handlers.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    config: AmqpConfig,
    state: Mutex<State>,
}

struct State {
    /// The open link and its generation, which tells a failing publish
    /// whether the link it used is still the current one.
    link: Option<(Arc<Link>, u64)>,
    generation: u64,
    backoff: Backoff,
    last_failure: Option<String>,
    closed: bool,
}

struct Failure {
    error: QueueError,
    /// The link cannot be trusted any more: drop it, and try once more on a
    /// new one if it was not new already.
    broken: bool,
}

impl Publisher {
    /// Does no I/O: connects on the first publish.
    pub fn new(config: AmqpConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    link: None,
                    generation: 0,
                    backoff: Backoff::new(),
                    last_failure: None,
                    closed: false,
                }),
            }),
        }
    }

    /// Like `new`, but connects (and declares the queues) now: a startup
    /// check.
    pub async fn connect(config: AmqpConfig) -> Result<Self, QueueError> {
        let publisher = Self::new(config);
        publisher.link().await?;
        Ok(publisher)
    }

    /// Publishes one persistent message and waits for the broker's confirm.
    ///
    /// Reconnects if the connection was lost. While RabbitMQ is down it fails
    /// fast with `Unavailable` between connection attempts (0.5 s apart,
    /// doubling to 30 s). Waits at most `connect_timeout` for the confirm.
    pub async fn publish(&self, id: AdId) -> Result<(), QueueError> {
        let mut retried = false;
        loop {
            let (link, generation, fresh) = self.link().await?;
            let Err(failure) = self.send(&link, id).await else {
                return Ok(());
            };
            if !failure.broken {
                return Err(failure.error);
            }
            self.forget(generation).await;
            if fresh || retried {
                return Err(failure.error);
            }
            retried = true;
            tracing::debug!(
                error = %failure.error,
                "publish failed on an old connection; retrying on a new one",
            );
        }
    }

    /// Messages ready in the queue (not counting those delivered and not yet
    /// acked), for readiness checks and metrics.
    pub async fn depth(&self) -> Result<u32, QueueError> {
        let (link, _, _) = self.link().await?;
        let config = &self.inner.config;
        let count = async {
            // A channel of its own: a failing passive declare closes its
            // channel, which must not take in-flight publishes down with it.
            let channel = link.connection.create_channel().await?;
            let options = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            let queue = channel
                .queue_declare(config.queue.as_str().into(), options, FieldTable::default())
                .await;
            let _ = channel.close(200, "OK".into()).await;
            queue.map(|queue| queue.message_count())
        };
        match timeout(config.connect_timeout, count).await {
            Ok(Ok(count)) => Ok(count),
            Ok(Err(err)) => Err(amqp::error(&err, config, "counting the queue's messages")),
            Err(_) => Err(QueueError::Unavailable(format!(
                "{} did not say how many messages wait within {:?}",
                redact_url(&config.url),
                config.connect_timeout
            ))),
        }
    }

    /// Closes the connection; later publishes fail with `Unavailable`.
    pub async fn close(&self) {
        let link = {
            let mut state = self.inner.state.lock().await;
            state.closed = true;
            state.link.take()
        };
        if let Some((link, _)) = link.filter(|(link, _)| link.is_open()) {
            link.close(self.inner.config.connect_timeout).await;
        }
    }

    /// The current link, opening one if needed. `true` when it was just
    /// opened.
    async fn link(&self) -> Result<(Arc<Link>, u64, bool), QueueError> {
        let config = &self.inner.config;
        // Held while connecting, so that concurrent requests wait for this
        // one attempt instead of each opening a connection.
        let mut state = self.inner.state.lock().await;
        if state.closed {
            return Err(QueueError::Unavailable("the publisher is closed".into()));
        }
        if let Some((link, generation)) = &state.link {
            if link.is_open() {
                return Ok((link.clone(), *generation, false));
            }
            tracing::warn!(
                url = %redact_url(&config.url),
                "lost the connection to RabbitMQ; reconnecting",
            );
            state.link = None;
        }
        if let Some(retry_at) = state.backoff.retry_at() {
            let last = state.last_failure.as_deref().unwrap_or("connecting failed");
            return Err(QueueError::Unavailable(format!(
                "{last} (next attempt in {:.1?})",
                retry_at - Instant::now()
            )));
        }
        match Link::open(config, Role::Publisher).await {
            Ok(link) => {
                if state.last_failure.take().is_some() {
                    tracing::info!(url = %redact_url(&config.url), "connected to RabbitMQ again");
                }
                state.backoff.succeeded();
                state.generation += 1;
                let link = Arc::new(link);
                state.link = Some((link.clone(), state.generation));
                Ok((link, state.generation, true))
            }
            Err(error) => {
                let wait = state.backoff.failed();
                tracing::warn!(%error, retry_in = ?wait, "cannot connect to RabbitMQ");
                state.last_failure = Some(match &error {
                    QueueError::Unavailable(text) | QueueError::Protocol(text) => text.clone(),
                    QueueError::Nacked => error.to_string(),
                });
                Err(error)
            }
        }
    }

    /// Drops the link of that generation, if it is still the current one;
    /// it closes once in-flight publishes let go of it.
    async fn forget(&self, generation: u64) {
        let mut state = self.inner.state.lock().await;
        if matches!(&state.link, Some((_, current)) if *current == generation) {
            state.link = None;
        }
    }

    async fn send(&self, link: &Link, id: AdId) -> Result<(), Failure> {
        let config = &self.inner.config;
        if link.connection.status().blocked() {
            return Err(Failure::kept(QueueError::Unavailable(format!(
                "{} blocks publishers until a memory or disk alarm clears",
                redact_url(&config.url)
            ))));
        }
        let publish = async {
            let confirm = link
                .channel
                .basic_publish(
                    "".into(),
                    config.queue.as_str().into(),
                    // Unroutable (queue deleted) is an error, not a silent drop.
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    &message::encode(id),
                    message::properties(id),
                )
                .await?;
            // Awaited in a task of its own: a caller that gives up (an HTTP
            // client hanging up) would otherwise drop the confirm, and lapin
            // keeps dropped confirms until someone waits for them all.
            Ok(tokio::spawn(confirm).await)
        };
        let confirmation = match timeout(config.connect_timeout, publish).await {
            Ok(Ok(Ok(confirmation))) => confirmation,
            Ok(Ok(Err(join))) => {
                return Err(Failure::kept(QueueError::Protocol(format!(
                    "waiting for the confirm failed: {join}"
                ))));
            }
            Ok(Err(err)) => return Err(Failure::broken(amqp::error(&err, config, "publishing"))),
            Err(_) => {
                return Err(Failure::kept(QueueError::Unavailable(format!(
                    "{} did not confirm the message within {:?}",
                    redact_url(&config.url),
                    config.connect_timeout
                ))));
            }
        };
        match confirmation {
            Ok(Confirmation::Ack(None)) => Ok(()),
            Ok(Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_))) => {
                // Declaring the queues again on a new link repairs this.
                Err(Failure::broken(QueueError::Protocol(format!(
                    "could not route the message to queue {:?} (was it deleted?)",
                    config.queue
                ))))
            }
            Ok(Confirmation::Nack(None)) => Err(Failure::kept(QueueError::Nacked)),
            Ok(Confirmation::NotRequested) => Err(Failure::broken(QueueError::Protocol(
                "publisher confirms are not enabled on the channel".into(),
            ))),
            Err(err) => Err(Failure::broken(amqp::error(&err, config, "publishing"))),
        }
    }
}

impl Failure {
    fn broken(error: QueueError) -> Self {
        Self {
            error,
            broken: true,
        }
    }

    fn kept(error: QueueError) -> Self {
        Self {
            error,
            broken: false,
        }
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
