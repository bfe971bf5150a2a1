//! RabbitMQ only: the ads table is the source of truth and the broker only
//! carries ids, so an ad whose message never made it (a publish that failed
//! after the insert) or that was handed back for a retry is found here and
//! published again. This is the outbox pattern without a second table:
//! the pending row is the outbox entry.

use std::time::Duration;

use adpipe_store::Database;
use tokio_util::sync::CancellationToken;

use crate::Publisher;
use crate::settings::{Sweep, pause};

const BATCH: u32 = 500;

pub(crate) async fn run(
    db: &Database,
    publisher: &Publisher,
    settings: &Sweep,
    shutdown: &CancellationToken,
) {
    while pause(settings.interval, shutdown).await {
        // A stop does not wait for a round's calls to RabbitMQ (each up to
        // its connect timeout, more when the broker link is half closed):
        // an ad cut off mid-round keeps its lease and is swept again, and a
        // second message for it is acked without a second email.
        tokio::select! {
            () = sweep_once(db, publisher, settings) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// One round: re-publishes the ads that were never queued or were dropped.
async fn sweep_once(db: &Database, publisher: &Publisher, settings: &Sweep) {
    // While messages wait in the queue, an ad no worker took yet is most
    // likely among them: re-publishing it would only duplicate work.
    let never_held = match publisher.depth().await {
        Ok(0) => Some(settings.min_age),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%error, "the sweep cannot reach RabbitMQ");
            return;
        }
    };
    // Held as long as a worker would hold it, so it is not re-published
    // again before a worker has had its chance.
    let ids = match db.claim_stale(BATCH, never_held, settings.lease).await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::warn!(%error, "the sweep cannot read the database");
            return;
        }
    };
    for id in ids {
        match publisher.publish(id).await {
            Ok(()) => tracing::info!(%id, "re-enqueued a pending ad"),
            Err(error) => {
                tracing::warn!(%id, %error, "could not re-enqueue; will try again");
                // Let the next sweep take it again instead of after the lease.
                let _ = db.release(id, Duration::ZERO).await;
                break;
            }
        }
    }
}
