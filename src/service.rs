//! `adpipe serve | api | worker | migrate`: builds the parts the
//! configuration asks for and runs them until Ctrl-C or SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use adpipe_api::AppState;
use adpipe_api::metrics::PrometheusHandle;
use adpipe_notify::Mailer;
use adpipe_queue::{AmqpConfig, Queue};
use adpipe_store::{Blobs, Database};
use adpipe_tagger::Moderator;
use adpipe_worker::{LiveModel, Worker};
use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::assets;
use crate::config::Config;
use crate::loading::{fixed_shadow, load_version};
pub(crate) use crate::loading::{load_moderator, tagger_config};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API and worker in one process.
    Both,
    Api,
    Worker,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// How long a starting process waits for an unreachable database.
const DATABASE_START_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let url = config.database_url();
    if url.expose().starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    // A process started while PostgreSQL restarts (a host booting, a
    // compose file starting everything at once) waits for it, as it
    // already waits for RabbitMQ, instead of exiting at once.
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    let db = loop {
        match Database::connect(url.expose(), config.database_max_connections).await {
            Ok(db) => break db,
            Err(error) if error.is_unreachable() && started.elapsed() < DATABASE_START_WAIT => {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "the database is not reachable yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot open the database {url}"));
            }
        }
    };
    // Every process that records decisions queues the site's events; the
    // workers deliver them.
    Ok(db.with_webhooks(config.webhook_config().is_some()))
}

/// The categories of the configured policy: those a moderator may approve
/// an ad under. Read from the policy file alone (the API loads no model).
fn policy_categories(config: &Config) -> anyhow::Result<Vec<String>> {
    let path = assets::policy_or_default(config.policy.as_deref());
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the policy {}", path.display()))?;
    let policy = adpipe_core::Policy::from_toml(&text, &path.display().to_string())?;
    Ok(policy.category_names().map(str::to_owned).collect())
}

pub(crate) fn open_blobs(config: &Config) -> anyhow::Result<Blobs> {
    if config.s3_enabled() {
        Ok(Blobs::s3(&config.s3_config())?)
    } else {
        Ok(Blobs::local(&config.data_dir.join("blobs"))?)
    }
}

fn amqp_config(config: &Config, url: &str) -> AmqpConfig {
    let mut amqp = AmqpConfig::new(url);
    amqp.queue = config.amqp_queue.clone();
    amqp.delivery_limit = config.amqp_delivery_limit;
    // Up to four batches are in a worker's pipeline at once (forming,
    // inferring, waiting to be recorded, recording); a smaller prefetch
    // would starve the next batch while the last one is being acked.
    amqp.prefetch = (config.worker.batch_size.max(1) * adpipe_worker::BATCHES_IN_FLIGHT)
        .min(u16::MAX as usize) as u16;
    amqp
}

/// Cancelled on Ctrl-C or SIGTERM. Must be called inside the runtime; the
/// handlers are in place when it returns, so a signal that comes at any
/// later moment (while the models load, say) stops the process cleanly
/// instead of killing it.
fn shutdown_on_signal() -> anyhow::Result<CancellationToken> {
    #[cfg(unix)]
    let signalled = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let signalled = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        signalled.await;
        tracing::info!("shutting down: finishing the work in hand");
        cancel.cancel();
    });
    Ok(token)
}

/// A line for the operator on stderr. Unlike eprintln!, a closed stderr
/// (the log pipe's reader gone) does not bring the service down.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn migrate(config: &Config) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let db = open_database(config).await?;
        db.close().await;
        say(format_args!(
            "adpipe: the database {} is up to date",
            config.database_url()
        ));
        if let Some(url) = &config.amqp_url {
            let amqp = amqp_config(config, url.expose());
            let replaced = adpipe_queue::migrate_classic_queues(&amqp)
                .await
                .context("cannot set up the RabbitMQ queues")?;
            for line in &replaced {
                say(format_args!("adpipe: {line}"));
            }
            say(format_args!(
                "adpipe: the RabbitMQ queues {:?} and {:?} are quorum queues",
                amqp.queue,
                format!("{}.dead", amqp.queue)
            ));
        }
        Ok(true)
    })
}

/// `adpipe prune-images`: removes the images older than `min_age` that no
/// ad names (left by an API process killed mid-submission).
pub fn prune_images(config: &Config, min_age: Duration) -> anyhow::Result<bool> {
    runtime()?.block_on(async {
        let db = open_database(config).await?;
        let blobs = open_blobs(config)?;
        let pruned = adpipe_store::prune_orphan_images(&db, &blobs, min_age)
            .await
            .context("cannot prune the image store")?;
        db.close().await;
        say(format_args!(
            "adpipe: {} images in {}; removed {} that no ad names and {} partial writes \
             (older than {} s)",
            pruned.images,
            blobs.description(),
            pruned.removed,
            pruned.partial,
            min_age.as_secs()
        ));
        Ok(true)
    })
}

pub fn run(config: &Config, role: Role) -> anyhow::Result<bool> {
    let runtime = runtime()?;
    let shutdown = {
        let _entered = runtime.enter();
        shutdown_on_signal()?
    };
    // Load the model before anything listens: a missing model or ONNX
    // Runtime is a start-up error, not a worker that fails every ad.
    let moderator = match role {
        Role::Api => None,
        Role::Both | Role::Worker => {
            let moderator = Arc::new(load_moderator(config)?);
            let started = std::time::Instant::now();
            moderator
                .warm_up(config.worker.batch_size)
                .context("the classifier failed its first run on blank images")?;
            tracing::info!(
                batch_size = config.worker.batch_size,
                millis = started.elapsed().as_millis() as u64,
                "models warmed up on every batch size"
            );
            Some(moderator)
        }
    };
    // Loading and warming up take seconds; a stop asked for meanwhile
    // (an orchestrator's SIGTERM, a restart) ends here, before the process
    // takes any work.
    if shutdown.is_cancelled() {
        tracing::info!("stopped while starting: no work was taken");
        return Ok(true);
    }
    crate::memory::return_freed_memory_periodically();
    runtime.block_on(run_async(config, role, moderator, shutdown))?;
    Ok(true)
}

/// What every role shares: the stores, the queue, the metrics recorder and
/// the shutdown signal, and the tasks it runs until one fails or it stops.
struct Parts {
    db: Database,
    blobs: Blobs,
    queue: Queue,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

async fn run_async(
    config: &Config,
    role: Role,
    moderator: Option<Arc<Moderator>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(mut parts) = open_parts(config, shutdown).await? else {
        tracing::info!("stopped while waiting for the database: no work was taken");
        return Ok(());
    };
    let loaded_model = moderator
        .as_ref()
        .map(|moderator| moderator.model_name().to_owned());
    if let Some(moderator) = moderator {
        start_worker(config, &mut parts, moderator)?;
    }
    if role == Role::Worker {
        if let Some(addr) = &config.metrics_addr {
            let app = adpipe_api::metrics::standalone_router(parts.metrics.clone());
            start_metrics_listener(addr, app, &mut parts).await?;
        }
    } else {
        start_api(config, &mut parts, loaded_model).await?;
    }
    finish(parts).await
}

/// None when a stop is asked for while the database is still unreachable.
async fn open_parts(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Option<Parts>> {
    // Every role records metrics; `serve` and `api` serve them on the API's
    // port, `worker` on ADPIPE_METRICS_ADDR when set.
    let metrics = adpipe_api::metrics::install_recorder().map_err(anyhow::Error::msg)?;
    let db = tokio::select! {
        db = open_database(config) => db?,
        _ = shutdown.cancelled() => return Ok(None),
    };
    let blobs = open_blobs(config)?;
    let queue = match &config.amqp_url {
        Some(url) => Queue::rabbitmq(db.clone(), amqp_config(config, url.expose())),
        None => Queue::embedded(db.clone()),
    };
    tracing::info!(
        database = %config.database_url(),
        blobs = blobs.description(),
        queue = %queue.description(),
        "adpipe starting"
    );
    Ok(Some(Parts {
        db,
        blobs,
        queue,
        metrics,
        shutdown,
        tasks: JoinSet::new(),
    }))
}

fn start_worker(
    config: &Config,
    parts: &mut Parts,
    moderator: Arc<Moderator>,
) -> anyhow::Result<()> {
    let mailer = Mailer::new(&config.smtp_config()).context("invalid SMTP settings")?;
    tracing::info!(
        model = moderator.model_name(),
        policy = moderator.policy().name(),
        smtp = mailer.server(),
        "worker ready"
    );
    let worker_config = config.worker_config();
    let load_config = config.clone();
    let registry = adpipe_worker::Registry {
        db: parts.db.clone(),
        blobs: parts.blobs.clone(),
        cache: config.model_cache_dir(),
        load: Arc::new(move |folder: &Path| {
            load_version(&load_config, folder).map_err(|error| format!("{error:#}"))
        }),
        batch_size: worker_config.batch_size,
        policy: assets::policy_or_default(config.policy.as_deref()),
    };
    let mut models = LiveModel::with_registry(moderator, registry);
    if let Some(path) = &config.shadow_model {
        let shadow = fixed_shadow(config, path).with_context(|| {
            format!(
                "cannot run {} in shadow (ADPIPE_SHADOW_MODEL)",
                path.display()
            )
        })?;
        tracing::info!(version = %shadow.version, model = shadow.judge.name(), "running a model in shadow");
        models = models.with_fixed_shadow(shadow);
    }
    let mut worker = Worker::new(
        parts.db.clone(),
        parts.blobs.clone(),
        models,
        mailer,
        worker_config,
    );
    if let Some(webhook) = config.webhook_config() {
        tracing::info!(url = %adpipe_core::redact_url(&webhook.url), signed = !webhook.secret.is_empty(), "webhooks on");
        worker = worker.with_webhooks(
            adpipe_notify::WebhookSender::new(webhook).context("invalid webhook settings")?,
        );
    }
    let (queue, shutdown) = (parts.queue.clone(), parts.shutdown.clone());
    parts.tasks.spawn(async move {
        worker.run(queue, shutdown).await;
        Ok(())
    });
    Ok(())
}

/// `GET /metrics` and `GET /healthz` on their own address
/// (`ADPIPE_METRICS_ADDR`): a worker's, or the API's when its public port
/// is not to serve them.
async fn start_metrics_listener(
    addr: &str,
    app: axum::Router,
    parts: &mut Parts,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (ADPIPE_METRICS_ADDR)"))?;
    say(format_args!(
        "adpipe: metrics on http://{}/metrics",
        listener.local_addr()?
    ));
    let token = parts.shutdown.clone();
    parts.tasks.spawn(async move {
        adpipe_api::serve(
            listener,
            app,
            adpipe_api::ServerLimits::default(),
            async move { token.cancelled().await },
        )
        .await
        .context("the metrics server failed")
    });
    Ok(())
}

async fn start_api(
    config: &Config,
    parts: &mut Parts,
    loaded_model: Option<String>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    let address = listener.local_addr()?;
    let api_config = adpipe_api::ApiConfig {
        categories: policy_categories(config)?,
        ..config.api_config()
    };
    if api_config.admin_token.is_some() {
        tracing::info!(
            "ADPIPE_ADMIN_TOKEN is set: it acts as a bootstrap admin with no account \
             (\"bootstrap\" in the history and the audit log); make accounts and tokens, \
             then unset it (docs/team.md)"
        );
    }
    let state = AppState::new(
        parts.db.clone(),
        parts.blobs.clone(),
        parts.queue.clone(),
        api_config,
    )
    .with_metrics(parts.metrics.clone());
    let state = match loaded_model {
        Some(model) => state.with_model(model),
        None => state,
    };
    // With a metrics address of its own, /metrics is served there only.
    let state = match &config.metrics_addr {
        Some(addr) => {
            let app = adpipe_api::metrics::api_router(state.clone());
            start_metrics_listener(addr, app, parts).await?;
            AppState {
                metrics: None,
                ..state
            }
        }
        None => state,
    };
    say(format_args!(
        "adpipe: listening on http://{address} (POST /ads, GET /ads/{{id}})"
    ));
    crate::sessions::spawn_pruning(&mut parts.tasks, parts.shutdown.clone(), &state);
    let app = adpipe_api::router(state);
    let server_limits = config.server_limits();
    let token = parts.shutdown.clone();
    parts.tasks.spawn(async move {
        adpipe_api::serve(listener, app, server_limits, async move {
            token.cancelled().await
        })
        .await
        .context("the HTTP server failed")
    });
    Ok(())
}

/// Waits for every task; one part failing stops the others, since a
/// half-running service hides the failure.
async fn finish(mut parts: Parts) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    while let Some(result) = parts.tasks.join_next().await {
        let result = result.context("a task panicked").and_then(|inner| inner);
        if let Err(error) = result {
            if outcome.is_ok() {
                outcome = Err(error);
            }
            parts.shutdown.cancel();
        }
    }
    parts.queue.close().await;
    parts.db.close().await;
    outcome
}
