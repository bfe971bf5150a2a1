//! The effective configuration: defaults, then the TOML file (`--config`),
//! then `ADPIPE_*` environment variables, each overriding the one before.
//! `adpipe config` prints the result with every secret redacted.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod env;

use adpipe_core::{Secret, SecretUrl};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP API listens.
    pub http_addr: String,
    /// The SQLite file and the local image store live here by default.
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://…`; default: SQLite in `data_dir`.
    pub database_url: Option<SecretUrl>,
    pub database_max_connections: u32,
    /// RabbitMQ; unset = the built-in queue in the database.
    pub amqp_url: Option<SecretUrl>,
    pub amqp_queue: String,
    /// Deliveries of one message before RabbitMQ dead-letters it (the
    /// quorum queue's `x-delivery-limit`); its ad is published again later.
    pub amqp_delivery_limit: u32,
    /// Base of the links in emails and in `image_url`; default: `http://{http_addr}`.
    pub public_url: Option<String>,
    /// The bootstrap admin token (`Authorization: Bearer …`): an admin
    /// with no account, for deployments that predate accounts and for the
    /// first account; unset = only accounts sign in.
    pub admin_token: Option<Secret>,
    /// The classifier's model.toml; default: the bundled EfficientNet-Lite0.
    pub model: Option<PathBuf>,
    /// The policy; default: the bundled vehicles policy.
    pub policy: Option<PathBuf>,
    /// Gates that can veto any decision (e.g. models/policies/nsfw-gate.toml).
    pub gates: Vec<PathBuf>,
    /// The ONNX Runtime library; default: found in `.ort/`.
    pub ort_lib: Option<PathBuf>,
    /// `cpu` or `cuda`; default: what model.toml says.
    pub device: Option<String>,
    /// A trained head (model.toml or its folder) every worker runs in shadow
    /// beside the live model: its verdicts are kept, never acted on. Unset:
    /// the one an admin sets with `adpipe models shadow`, if any.
    pub shadow_model: Option<PathBuf>,
    /// Where workers keep the promoted model versions they fetched from the
    /// blob store (`adpipe models`); default: `model-cache` in `data_dir`.
    pub model_cache: Option<PathBuf>,
    /// Log lines as JSON instead of text.
    pub log_json: bool,
    /// Reverse proxies (CIDRs or addresses) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client, for the rate limit; from
    /// anyone else those headers are ignored. Empty: the socket's peer is
    /// the client.
    pub trusted_proxies: Vec<String>,
    /// Serve `GET /metrics` and `GET /healthz` here (e.g. `0.0.0.0:9090`).
    /// `adpipe worker`: unset = no listener. `serve` and `api`: unset =
    /// `/metrics` on `http_addr`; set = here only, so the public port does
    /// not serve it.
    pub metrics_addr: Option<String>,
    pub s3: S3Section,
    pub smtp: SmtpSection,
    pub webhook: WebhookSection,
    pub api: ApiSection,
    pub worker: WorkerSection,
}

/// The site's webhook: every final decision and every ad sent to review is
/// POSTed there, signed with `secret` as Standard Webhooks says
/// (`adpipe_notify::webhook`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSection {
    /// `http://…` or `https://…`; unset = no webhooks.
    pub url: Option<SecretUrl>,
    /// Signs each delivery (`webhook-signature: v1,…`, and the deprecated
    /// `X-Adpipe-Signature: sha256=…`); unset = unsigned. `whsec_<base64>`:
    /// the key is the decoded bytes (not base64: an error at start-up);
    /// any other text: the key is its UTF-8 bytes.
    pub secret: Option<Secret>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Section {
    /// e.g. `http://127.0.0.1:9000` (MinIO); unset with no bucket = local disk.
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    /// Path-style requests (MinIO and most self-hosted servers); default true.
    pub path_style: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSection {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
    /// `Name <address>`.
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    pub max_image_bytes: usize,
    pub max_image_pixels: u64,
    pub request_timeout_secs: u64,
    /// Submissions per minute per client address; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    pub max_concurrent_requests: usize,
    /// Open connections at most, and how long a client has to send headers.
    pub max_connections: usize,
    pub header_read_timeout_secs: u64,
    /// A console session ends after this long without a request, and this
    /// long after signing in whatever happens.
    pub session_idle_secs: u64,
    pub session_max_secs: u64,
    /// Opening an ad in review holds it for its moderator this long.
    pub claim_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSection {
    pub batch_size: usize,
    pub max_wait_ms: u64,
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
    pub max_attempts: i64,
    /// RabbitMQ: how often to look for pending ads to re-publish, and how
    /// old an ad no worker took must be to count as lost.
    pub sweep_interval_ms: u64,
    pub sweep_min_age_ms: u64,
    /// ONNX Runtime intra-op threads (and as many for decoding unless
    /// `decode_threads` says otherwise); default: one per core.
    pub threads: Option<usize>,
    /// Threads that decode and resize the next batch while the model runs.
    pub decode_threads: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("adpipe-data"),
            database_url: None,
            database_max_connections: 16,
            amqp_url: None,
            amqp_queue: "adpipe.ads".into(),
            amqp_delivery_limit: adpipe_queue::AmqpConfig::DEFAULT_DELIVERY_LIMIT,
            public_url: None,
            admin_token: None,
            model: None,
            policy: None,
            gates: Vec::new(),
            ort_lib: None,
            model_cache: None,
            shadow_model: None,
            device: None,
            log_json: false,
            trusted_proxies: Vec::new(),
            metrics_addr: None,
            s3: S3Section::default(),
            smtp: SmtpSection::default(),
            webhook: WebhookSection::default(),
            api: ApiSection::default(),
            worker: WorkerSection::default(),
        }
    }
}

impl Default for SmtpSection {
    fn default() -> Self {
        let defaults = adpipe_notify::SmtpConfig::default();
        Self {
            host: defaults.host,
            port: defaults.port,
            username: None,
            password: None,
            tls: "none".into(),
            from: defaults.from,
        }
    }
}

impl Default for ApiSection {
    /// The API crate's own defaults: one place for each value.
    fn default() -> Self {
        let api = adpipe_api::ApiConfig::default();
        let server = adpipe_api::ServerLimits::default();
        Self {
            max_image_bytes: api.max_image_bytes,
            max_image_pixels: api.decode_limits.max_pixels,
            request_timeout_secs: api.request_timeout.as_secs(),
            rate_limit_per_minute: api.rate_limit_per_minute,
            rate_limit_burst: api.rate_limit_burst,
            max_concurrent_requests: api.max_concurrent_requests,
            max_connections: server.max_connections,
            header_read_timeout_secs: server.header_read_timeout.as_secs(),
            session_idle_secs: api.session_idle.as_secs(),
            session_max_secs: api.session_max.as_secs(),
            claim_secs: api.claim_for.as_secs(),
        }
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        let defaults = adpipe_worker::WorkerConfig::default();
        Self {
            batch_size: defaults.batch_size,
            max_wait_ms: defaults.max_wait.as_millis() as u64,
            poll_interval_ms: defaults.poll_interval.as_millis() as u64,
            lease_secs: defaults.lease.as_secs(),
            max_attempts: defaults.max_attempts,
            sweep_interval_ms: defaults.sweep_interval.as_millis() as u64,
            sweep_min_age_ms: defaults.sweep_min_age.as_millis() as u64,
            threads: None,
            decode_threads: None,
        }
    }
}

impl Config {
    /// Defaults, then `file`, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::from_sources(file, std::env::vars())
    }

    /// Defaults, then `file`, then the `ADPIPE_*` variables among `vars`,
    /// each overriding the one before. Other variables are not read.
    fn from_sources(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let tree = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the configuration {}", path.display()))?;
                let table: toml::Table = toml::from_str(&text)
                    .with_context(|| format!("invalid configuration {}", path.display()))?;
                let tree = serde_json::to_value(table)?;
                serde_json::from_value::<Config>(tree.clone())
                    .with_context(|| format!("invalid configuration {}", path.display()))?;
                tree
            }
            None => serde_json::Value::Object(serde_json::Map::new()),
        };
        let tree = env::apply(tree, vars)?;
        let config: Config = serde_json::from_value(tree)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.worker.batch_size == 0 || self.worker.batch_size > 1024 {
            bail!("worker.batch_size must be 1..=1024");
        }
        if !["none", "starttls", "tls"].contains(&self.smtp.tls.as_str()) {
            bail!("smtp.tls must be none, starttls or tls");
        }
        if let Some(device) = &self.device
            && !["cpu", "cuda"].contains(&device.as_str())
        {
            bail!("device must be cpu or cuda");
        }
        if self.api.max_image_bytes == 0 {
            bail!("api.max_image_bytes must be above 0");
        }
        adpipe_api::TrustedProxies::parse(&self.trusted_proxies).map_err(anyhow::Error::msg)?;
        if let Some(secret) = &self.webhook.secret {
            // A `whsec_` secret that is not base64 fails here, at start-up,
            // not at the first delivery.
            adpipe_notify::webhook::signing_key(secret.expose())?;
        }
        Ok(())
    }

    pub fn database_url(&self) -> SecretUrl {
        self.database_url.clone().unwrap_or_else(|| {
            SecretUrl::new(format!(
                "sqlite:{}",
                self.data_dir.join("adpipe.db").display()
            ))
        })
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http_addr))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The one set of image limits: the API probes uploads with it and the
    /// worker decodes with it.
    pub fn decode_limits(&self) -> adpipe_image::DecodeLimits {
        adpipe_image::DecodeLimits::with_max_pixels(self.api.max_image_pixels)
    }

    pub fn s3_enabled(&self) -> bool {
        self.s3.endpoint.is_some() || self.s3.bucket.is_some()
    }

    pub fn s3_config(&self) -> adpipe_store::S3Config {
        let defaults = adpipe_store::S3Config::default();
        adpipe_store::S3Config {
            endpoint: self.s3.endpoint.clone(),
            bucket: self.s3.bucket.clone().unwrap_or(defaults.bucket),
            region: self.s3.region.clone().unwrap_or(defaults.region),
            access_key: self
                .s3
                .access_key
                .as_ref()
                .map(|key| key.expose().to_owned()),
            secret_key: self
                .s3
                .secret_key
                .as_ref()
                .map(|key| key.expose().to_owned()),
            path_style: self.s3.path_style.unwrap_or(defaults.path_style),
            timeout: defaults.timeout,
        }
    }

    pub fn smtp_config(&self) -> adpipe_notify::SmtpConfig {
        adpipe_notify::SmtpConfig {
            host: self.smtp.host.clone(),
            port: self.smtp.port,
            username: self.smtp.username.clone(),
            password: self.smtp.password.as_ref().map(|pw| pw.expose().to_owned()),
            tls: match self.smtp.tls.as_str() {
                "starttls" => adpipe_notify::TlsMode::StartTls,
                "tls" => adpipe_notify::TlsMode::Tls,
                _ => adpipe_notify::TlsMode::None,
            },
            from: self.smtp.from.clone(),
            ..adpipe_notify::SmtpConfig::default()
        }
    }

    /// `None`: no webhooks.
    pub fn webhook_config(&self) -> Option<adpipe_notify::WebhookConfig> {
        let url = self
            .webhook
            .url
            .as_ref()
            .filter(|url| !url.expose().is_empty())?;
        Some(adpipe_notify::WebhookConfig {
            url: url.expose().to_owned(),
            secret: self
                .webhook
                .secret
                .as_ref()
                .map(|secret| secret.expose().to_owned())
                .unwrap_or_default(),
            timeout: Duration::from_secs(10),
        })
    }

    pub fn api_config(&self) -> adpipe_api::ApiConfig {
        adpipe_api::ApiConfig {
            max_image_bytes: self.api.max_image_bytes,
            decode_limits: self.decode_limits(),
            public_url: self.public_url(),
            request_timeout: Duration::from_secs(self.api.request_timeout_secs.max(1)),
            admin_token: self
                .admin_token
                .as_ref()
                .filter(|token| !token.is_empty())
                .map(|token| token.expose().to_owned()),
            rate_limit_per_minute: self.api.rate_limit_per_minute,
            rate_limit_burst: self.api.rate_limit_burst,
            max_concurrent_requests: self.api.max_concurrent_requests,
            session_idle: Duration::from_secs(self.api.session_idle_secs.max(60)),
            session_max: Duration::from_secs(self.api.session_max_secs.max(60)),
            claim_for: Duration::from_secs(self.api.claim_secs.max(1)),
            categories: Vec::new(),
            // Checked when the configuration was loaded.
            trusted_proxies: adpipe_api::TrustedProxies::parse(&self.trusted_proxies)
                .unwrap_or_default(),
        }
    }

    pub fn server_limits(&self) -> adpipe_api::ServerLimits {
        adpipe_api::ServerLimits {
            max_connections: self.api.max_connections,
            header_read_timeout: Duration::from_secs(self.api.header_read_timeout_secs.max(1)),
            ..adpipe_api::ServerLimits::default()
        }
    }

    /// Where fetched model versions are kept.
    pub fn model_cache_dir(&self) -> PathBuf {
        self.model_cache
            .clone()
            .unwrap_or_else(|| self.data_dir.join("model-cache"))
    }

    pub fn worker_config(&self) -> adpipe_worker::WorkerConfig {
        adpipe_worker::WorkerConfig {
            batch_size: self.worker.batch_size,
            max_wait: Duration::from_millis(self.worker.max_wait_ms),
            poll_interval: Duration::from_millis(self.worker.poll_interval_ms.max(10)),
            lease: Duration::from_secs(self.worker.lease_secs.max(5)),
            max_attempts: self.worker.max_attempts.max(1),
            public_url: self.public_url(),
            sweep_interval: Duration::from_millis(self.worker.sweep_interval_ms.max(100)),
            sweep_min_age: Duration::from_millis(self.worker.sweep_min_age_ms),
        }
    }

    /// The configuration as TOML, secrets shown as `***` by their types
    /// ([`Secret`], [`SecretUrl`]), with the derived values filled in.
    pub fn redacted_toml(&self) -> String {
        let shown = Config {
            database_url: Some(self.database_url()),
            public_url: Some(self.public_url()),
            ..self.clone()
        };
        toml::to_string_pretty(&shown).unwrap_or_else(|error| format!("# cannot show: {error}\n"))
    }
}

#[cfg(test)]
mod tests;
