//! Images without an ad: `POST /ads` stores the image, then inserts the
//! row, and removes the image again when the insert fails. A process killed
//! between the two (SIGKILL, the OOM killer, a power cut) leaves an image no
//! row names; nobody can find or delete it through the API. Pruning removes
//! such images once they are older than any submission can take, so an
//! image whose row is about to be written is never touched.

use std::time::Duration;

use futures_util::StreamExt;

use crate::{BlobError, Blobs, Database, DbError, now_millis};

/// Keys checked against the database per query.
const KEYS_PER_QUERY: usize = 200;

/// The default minimum age of an image without a row before it is pruned:
/// far above a submission's deadline.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(transparent)]
    Blobs(#[from] BlobError),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// What one pruning pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Images in the store.
    pub images: usize,
    /// Images older than the minimum age that no ad names, now deleted.
    pub removed: usize,
    /// Partial files of writes that never finished (local disk), deleted.
    pub partial: usize,
}

/// Deletes the images older than `min_age` that no ad's row names.
pub async fn prune_orphan_images(
    db: &Database,
    blobs: &Blobs,
    min_age: Duration,
) -> Result<Pruned, PruneError> {
    let cutoff = now_millis() - i64::try_from(min_age.as_millis()).unwrap_or(i64::MAX);
    let mut pruned = Pruned {
        partial: blobs.remove_partial_writes(min_age).await?,
        ..Pruned::default()
    };
    let mut old_enough = Vec::with_capacity(KEYS_PER_QUERY);
    let mut listing = std::pin::pin!(blobs.images());
    loop {
        let next = listing.next().await.transpose()?;
        if let Some((key, written_at)) = next.clone() {
            pruned.images += 1;
            if written_at <= cutoff {
                old_enough.push(key);
            }
        }
        if old_enough.len() == KEYS_PER_QUERY || (next.is_none() && !old_enough.is_empty()) {
            for key in db.image_keys_without_ads(&old_enough).await? {
                blobs.delete(&key).await?;
                tracing::info!(%key, "removed an image no ad names");
                pruned.removed += 1;
            }
            old_enough.clear();
        }
        if next.is_none() {
            return Ok(pruned);
        }
    }
}
