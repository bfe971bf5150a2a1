//! The upkeep of the moderation team's tables while the API runs: expired
//! console sessions and old sign-in failures are forgotten.

use std::time::Duration;

use adpipe_api::AppState;
use tokio_util::sync::CancellationToken;

/// Every ten minutes, forgets expired console sessions and old sign-in
/// failures (a session is also refused, and deleted, when it is met
/// expired: this only keeps the tables small).
pub(crate) fn spawn_pruning(
    tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
    token: CancellationToken,
    state: &AppState,
) {
    const EVERY: Duration = Duration::from_secs(600);
    let db = state.db.clone();
    let (idle, max) = (state.config.session_idle, state.config.session_max);
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = token.cancelled() => return Ok(()),
                () = tokio::time::sleep(EVERY) => {}
            }
            if let Err(error) = db.prune_sessions(idle, max).await {
                tracing::warn!(%error, "could not prune expired sessions");
            }
            if let Err(error) = db.prune_sign_in_failures(Duration::from_secs(3600)).await {
                tracing::warn!(%error, "could not prune old sign-in failures");
            }
        }
    });
}
