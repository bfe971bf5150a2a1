//! Which model a worker runs: the one it was configured with until an admin
//! promotes a version (`adpipe models promote`), then that version, fetched
//! from the blob store and loaded beside the running one. Asked before a
//! batch (at most once a second), so every worker on every machine switches
//! at its next batch without a restart; a batch is judged and recorded by the model it was
//! staged with.
//!
//! Beside it, a shadow candidate (`adpipe models shadow`, or
//! `ADPIPE_SHADOW_MODEL`): a trained head on the live model's backbone,
//! run on the embedding the live model's run made, so it costs its head
//! alone. Its verdicts are kept, never acted on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpipe_store::{Blobs, Database, ModelVersion, fetch_model};
use adpipe_tagger::{HeadJudge, Moderator};
use tokio::sync::Mutex;

/// Loads a fetched version's folder (its `model.toml`, and its
/// `policy.toml` when it has one) as the configured model would be loaded.
pub type LoadVersion = dyn Fn(&Path) -> Result<Moderator, String> + Send + Sync;

/// How long a version that failed to fetch or load is left before the
/// next try: the worker keeps deciding with the model it has meanwhile.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(30);

/// How often the registry is asked at most: a busy worker takes many
/// batches a second, and a change reaches it within this.
const ASK_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// How long asking may take: with the database away the batch in hand
/// goes on with the model running instead of waiting on the pool.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// Where promoted versions come from, and how they are loaded.
pub struct Registry {
    pub db: Database,
    pub blobs: Blobs,
    /// Fetched versions, one folder each.
    pub cache: PathBuf,
    pub load: Arc<LoadVersion>,
    /// What a new model is warmed up with before its first batch.
    pub batch_size: usize,
    /// The configured policy: a shadow version without its own judges by it.
    pub policy: PathBuf,
}

/// A candidate run in shadow: its version (the hash of its files) and the
/// head that judges the live model's embeddings.
#[derive(Debug)]
pub struct Shadow {
    pub version: String,
    pub judge: HeadJudge,
}

/// The models a batch is run with.
#[derive(Debug, Clone)]
pub struct Live {
    pub moderator: Arc<Moderator>,
    pub shadow: Option<Arc<Shadow>>,
}

pub struct LiveModel {
    configured: Arc<Moderator>,
    registry: Option<Registry>,
    /// `ADPIPE_SHADOW_MODEL`: run in shadow whatever an admin sets.
    fixed_shadow: Option<Arc<Shadow>>,
    state: Mutex<State>,
}

struct State {
    /// The version running; `None` is the configured model.
    version: Option<String>,
    moderator: Arc<Moderator>,
    failed: Option<(String, Instant)>,
    shadow: Option<Arc<Shadow>>,
    shadow_failed: Option<(String, Instant)>,
    /// When the registry was last asked.
    asked: Option<Instant>,
}

impl LiveModel {
    /// Always the configured model.
    pub fn fixed(moderator: Arc<Moderator>) -> Self {
        Self {
            state: Mutex::new(State {
                version: None,
                moderator: moderator.clone(),
                failed: None,
                shadow: None,
                shadow_failed: None,
                asked: None,
            }),
            configured: moderator,
            registry: None,
            fixed_shadow: None,
        }
    }

    /// Runs `shadow` beside the live model, whatever an admin sets.
    pub fn with_fixed_shadow(mut self, shadow: Shadow) -> Self {
        self.fixed_shadow = Some(Arc::new(shadow));
        self
    }

    /// The configured model until a version is promoted.
    pub fn with_registry(moderator: Arc<Moderator>, registry: Registry) -> Self {
        Self {
            registry: Some(registry),
            ..Self::fixed(moderator)
        }
    }

    /// The model to run the next batch with: the live version, switched
    /// to first when it changed. Trouble reading the registry or loading a
    /// version is logged and the running model kept: deciding never stops
    /// for it.
    pub async fn for_next_batch(&self) -> Live {
        {
            let mut state = self.state.lock().await;
            if state
                .asked
                .is_some_and(|asked| asked.elapsed() < ASK_AT_MOST_EVERY)
            {
                return Live {
                    moderator: state.moderator.clone(),
                    shadow: self.fixed_shadow.clone().or_else(|| state.shadow.clone()),
                };
            }
            state.asked = Some(Instant::now());
        }
        let moderator = self.moderator_for_next_batch().await;
        let shadow = match &self.fixed_shadow {
            Some(shadow) => Some(shadow.clone()),
            None => self.shadow_for_next_batch().await,
        };
        Live { moderator, shadow }
    }

    async fn moderator_for_next_batch(&self) -> Arc<Moderator> {
        let mut state = self.state.lock().await;
        let Some(registry) = &self.registry else {
            return state.moderator.clone();
        };
        let live = match tokio::time::timeout(ASK_TIMEOUT, registry.db.live_model()).await {
            Ok(Ok(live)) => live,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read which model is live; keeping the one running");
                return state.moderator.clone();
            }
            Err(_) => {
                tracing::warn!("reading which model is live timed out; keeping the one running");
                return state.moderator.clone();
            }
        };
        let wanted = live.as_ref().map(|version| version.version.clone());
        if wanted == state.version {
            return state.moderator.clone();
        }
        let Some(live) = live else {
            tracing::info!(
                model = self.configured.model_name(),
                "switched back to the configured model"
            );
            state.version = None;
            state.moderator = self.configured.clone();
            return state.moderator.clone();
        };
        if let Some((version, when)) = &state.failed
            && *version == live.version
            && when.elapsed() < RETRY_FAILED_AFTER
        {
            return state.moderator.clone();
        }
        match load(registry, &live).await {
            Ok(moderator) => {
                tracing::info!(version = %live.version, model = %live.name, "switched to a promoted model version");
                metrics::counter!("adpipe_model_switches_total").increment(1);
                state.version = Some(live.version.clone());
                state.moderator = moderator;
                state.failed = None;
            }
            Err(error) => {
                tracing::error!(version = %live.version, %error, "cannot run the promoted model version; keeping the one running");
                metrics::counter!("adpipe_worker_errors_total", "kind" => "model_switch")
                    .increment(1);
                state.failed = Some((live.version.clone(), Instant::now()));
            }
        }
        state.moderator.clone()
    }
}

async fn load(registry: &Registry, version: &ModelVersion) -> Result<Arc<Moderator>, String> {
    let folder = fetch_model(&registry.blobs, version, &registry.cache)
        .await
        .map_err(|error| error.to_string())?;
    let (load, name, batch_size) = (
        registry.load.clone(),
        version.version.clone(),
        registry.batch_size,
    );
    tokio::task::spawn_blocking(move || {
        let moderator = Arc::new(load(&folder)?.with_version(name));
        moderator
            .warm_up(batch_size)
            .map_err(|error| format!("warming it up failed: {error}"))?;
        Ok(moderator)
    })
    .await
    .map_err(|error| format!("loading it crashed: {error}"))?
}

impl LiveModel {
    /// The shadow an admin set, loaded when it changed; trouble is logged
    /// and the shadow run paused, never the deciding.
    async fn shadow_for_next_batch(&self) -> Option<Arc<Shadow>> {
        let registry = self.registry.as_ref()?;
        let mut state = self.state.lock().await;
        let wanted = match tokio::time::timeout(ASK_TIMEOUT, registry.db.shadow_model()).await {
            Ok(Ok(wanted)) => wanted,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read which model runs in shadow; keeping the one running");
                return state.shadow.clone();
            }
            Err(_) => {
                tracing::warn!(
                    "reading which model runs in shadow timed out; keeping the one running"
                );
                return state.shadow.clone();
            }
        };
        let Some(wanted) = wanted else {
            if state.shadow.take().is_some() {
                tracing::info!("shadow run stopped");
            }
            return None;
        };
        if state
            .shadow
            .as_ref()
            .is_some_and(|shadow| shadow.version == wanted.version)
        {
            return state.shadow.clone();
        }
        if let Some((version, when)) = &state.shadow_failed
            && *version == wanted.version
            && when.elapsed() < RETRY_FAILED_AFTER
        {
            return None;
        }
        match load_shadow(registry, &wanted).await {
            Ok(shadow) => {
                let live_backbone = state
                    .moderator
                    .tagger()
                    .main_model()
                    .spec()
                    .embedding_model()
                    .to_owned();
                if shadow.judge.embedding_model() != live_backbone {
                    tracing::warn!(version = %wanted.version, backbone = shadow.judge.embedding_model(), "the shadow head reads another backbone's embeddings than the live model makes: its verdicts are kept only for ads with such an embedding");
                }
                tracing::info!(version = %wanted.version, model = shadow.judge.name(), "running a model version in shadow");
                state.shadow = Some(Arc::new(shadow));
                state.shadow_failed = None;
            }
            Err(error) => {
                tracing::error!(version = %wanted.version, %error, "cannot run the model version in shadow");
                metrics::counter!("adpipe_worker_errors_total", "kind" => "shadow_load")
                    .increment(1);
                state.shadow = None;
                state.shadow_failed = Some((wanted.version.clone(), Instant::now()));
            }
        }
        state.shadow.clone()
    }
}

async fn load_shadow(registry: &Registry, version: &ModelVersion) -> Result<Shadow, String> {
    let folder = fetch_model(&registry.blobs, version, &registry.cache)
        .await
        .map_err(|error| error.to_string())?;
    let own_policy = folder.join("policy.toml");
    let policy = if own_policy.is_file() {
        own_policy
    } else {
        registry.policy.clone()
    };
    let judge = HeadJudge::load(&folder.join("model.toml"), &policy)
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "it is not a trained head: only a head runs in shadow".to_owned())?;
    Ok(Shadow {
        version: version.version.clone(),
        judge,
    })
}
