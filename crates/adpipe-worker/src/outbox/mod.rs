//! One delivery mechanism for every way adpipe tells someone of a decision
//! (vector's sinks are the model). A [`Channel`] says how to claim what it
//! owes, how to send one item and how to record the outcome; this module
//! owns what every channel shares: claim with a lease → send → record →
//! retry with backoff, and so the properties each channel must have:
//!
//! - **at least once**: an item is recorded delivered only after its
//!   receiver took it, and one not recorded is sent again;
//! - **restart-safe**: an item claimed by a worker that died is claimed
//!   again when its lease runs out;
//! - **never in the way of deciding**: the decisions write what is owed in
//!   their own transaction, and the loops read it beside them.
//!
//! `tests/outbox.rs` checks these once, for every channel, on both
//! databases. A new channel is a module here (its `Channel`), the rows its
//! decisions write in `adpipe_store`, and its configuration section.

pub mod email;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adpipe_store::{Database, DbError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use email::EmailChannel;
pub use webhook::WebhookChannel;

/// How a channel's loop paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Items claimed at once.
    pub batch: u32,
    /// An item being sent is held this long before another worker may
    /// take it (this one died). Far above the time one send takes.
    pub lease: Duration,
    /// With nothing due, how often to look again (a wakeup comes sooner
    /// when this process records a decision).
    pub idle_poll: Duration,
}

/// Why an item was not delivered; it is retried either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub message: String,
    /// The receiver was away or refused it (rather than the item itself
    /// being unsendable, such as a malformed address): says something
    /// about the receiver, so a caller sending many may stop early.
    pub receiver_refused: bool,
}

/// One way of telling: email, webhook, ...
pub trait Channel: Send + Sync + 'static {
    /// What is claimed and sent: an email owed, a webhook delivery.
    type Item: Send + Sync;
    /// In logs: "email", "webhook".
    const NAME: &'static str;
    /// Items in hand are sent one after another in the order claimed
    /// (the receiver sees events as they happened), or all at once.
    const IN_ORDER: bool;
    /// How the loop paces itself unless told otherwise.
    const SETTINGS: Settings;

    /// Items due now, held for `lease`.
    fn claim(
        &self,
        db: &Database,
        limit: u32,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Self::Item>, DbError>> + Send;
    fn send(&self, item: &Self::Item) -> impl Future<Output = Result<(), SendFailure>> + Send;
    /// Records that the receiver took `item`.
    fn delivered(
        &self,
        db: &Database,
        item: &Self::Item,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Records that it did not: due again after `retry`.
    fn failed(
        &self,
        db: &Database,
        item: &Self::Item,
        retry: Duration,
        failure: &SendFailure,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Tries so far, this one included.
    fn attempts(item: &Self::Item) -> i64;
    /// The wait before the next try after `attempts` failed ones.
    fn retry_delay(attempts: i64) -> Duration;
    /// The span an item's log lines carry.
    fn span(item: &Self::Item) -> tracing::Span;
    /// Counts and logs a delivery (the channel's own metric names).
    fn count_delivered(&self, item: &Self::Item);
    /// Counts and logs a failure.
    fn count_failed(&self, item: &Self::Item, failure: &SendFailure, retry: Duration);
    /// How long a delivery went unrecorded after the receiver took it: the
    /// window in which a crash sends it twice.
    fn unrecorded_for(&self, _window: Duration) {}
}

/// What became of one claimed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Failed(SendFailure),
}

/// Delivers what `channel` owes until `shutdown`; items in hand are
/// finished first (they are claimed, and would otherwise wait for their
/// lease to run out).
pub async fn run<C: Channel>(
    db: Database,
    channel: C,
    settings: Settings,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let items = match channel.claim(&db, settings.batch, settings.lease).await {
            Ok(items) => items,
            Err(error) => {
                metrics::counter!("adpipe_worker_errors_total", "kind" => "database").increment(1);
                tracing::warn!(%error, channel = C::NAME, "cannot look for what is owed; retrying in 2 s");
                if !pause(Duration::from_secs(2), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        if items.is_empty() {
            tokio::select! {
                () = wakeup.notified() => {}
                () = tokio::time::sleep(settings.idle_poll) => {}
                () = shutdown.cancelled() => break,
            }
            continue;
        }
        if C::IN_ORDER {
            for item in &items {
                deliver(&db, &channel, settings, item).await;
            }
        } else {
            futures_util::future::join_all(
                items
                    .iter()
                    .map(|item| deliver(&db, &channel, settings, item)),
            )
            .await;
        }
    }
}

/// Sends one claimed item and records the outcome: delivered, or due again
/// after the channel's backoff. Shared by the loop and `adpipe retag`.
pub async fn deliver<C: Channel>(
    db: &Database,
    channel: &C,
    settings: Settings,
    item: &C::Item,
) -> Delivery {
    let span = C::span(item);
    async {
        match channel.send(item).await {
            Ok(()) => {
                channel.count_delivered(item);
                // Taken but not recorded means the same item again once the
                // lease runs out: the record is the next thing done, and how
                // long it takes is the window in which a crash sends twice.
                let taken = tokio::time::Instant::now();
                record_sent(C::NAME, settings.lease / 2, || channel.delivered(db, item)).await;
                channel.unrecorded_for(taken.elapsed());
                Delivery::Delivered
            }
            Err(failure) => {
                let retry = C::retry_delay(C::attempts(item));
                channel.count_failed(item, &failure, retry);
                if let Err(error) = channel.failed(db, item, retry, &failure).await {
                    tracing::warn!(%error, channel = C::NAME, "could not schedule the retry");
                }
                Delivery::Failed(failure)
            }
        }
    }
    .instrument(span)
    .await
}

/// Sleeps, or returns false at once when shutting down.
pub(crate) async fn pause(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = shutdown.cancelled() => false,
    }
}

/// Records what was just sent, retrying while the database is away, for
/// up to `patience`: a record that never lands means the same message
/// again once its lease runs out. A database restart fails each query at
/// once ("shutting down", "starting up") for several seconds, so a few
/// quick tries are not enough; `patience` stays well inside the lease, so
/// no other worker takes the message meanwhile. The tries come at least
/// once a second: until one lands, a crash sends the message again, so the
/// record follows the database's return closely.
async fn record_sent<T, F, Fut>(channel: &str, patience: Duration, mut record: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(250);
    for attempt in 1.. {
        match record().await {
            Ok(value) => return Some(value),
            Err(error) if started.elapsed() + wait < patience => {
                tracing::warn!(%error, attempt, channel, retry_in_ms = wait.as_millis() as u64, "could not record a delivery; retrying");
            }
            Err(error) => {
                tracing::error!(%error, attempt, channel, "could not record a delivery; it will be sent again after its lease");
                return None;
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
    unreachable!("the attempts never run out")
}
