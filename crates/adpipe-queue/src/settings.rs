//! How the queue is worked: batch forming for the intake, the sweep's
//! schedule, and the shutdown-aware pause both use.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How a worker forms batches from the queue.
#[derive(Debug, Clone)]
pub struct Batching {
    /// Most ads in one batch.
    pub batch_size: usize,
    /// Once one ad is there, how long to wait for more to fill the batch.
    pub max_wait: Duration,
    /// Built-in queue: how often to look for ads submitted through another
    /// process (those of this process wake the worker at once).
    pub poll_interval: Duration,
    /// How long a claimed ad is held before another worker may take it.
    pub lease: Duration,
}

/// RabbitMQ only: how the sweep looks for pending ads whose message was
/// lost or whose retry is due.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub interval: Duration,
    /// How old an ad that no worker ever took must be to count as lost.
    pub min_age: Duration,
    /// How long a re-published ad is held before it may be swept again.
    pub lease: Duration,
}

/// Sleeps, or returns false at once when shutting down.
pub(crate) async fn pause(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = shutdown.cancelled() => false,
    }
}
