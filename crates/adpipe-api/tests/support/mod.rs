//! What the API's test binaries share: the real app on a fresh SQLite file
//! and image folder of its own (the zero2prod way), either served by the
//! real server on a random port or called in-process through its router.
//! A `TestApp` is also the testkit's `ApiClient` for its address, so a test
//! calls the endpoints by name: `app.post_ad(..)`,
//! `app.as_token(token).decide(id, ..)`. Everything the app wrote goes when
//! the `TestApp` is dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use adpipe_api::{ApiConfig, AppState, ServerLimits};
use adpipe_core::AdId;
use adpipe_queue::Queue;
use adpipe_store::{Blobs, Database};
use metrics_exporter_prometheus::PrometheusHandle;

#[allow(unused_imports)]
pub use adpipe_testkit::{Answer, ApiClient, ad_form, drop_postgres, fresh_postgres};

/// How to build the app under test.
pub struct Setup {
    /// `public_url` is replaced by the served address.
    pub config: ApiConfig,
    pub limits: ServerLimits,
    /// Serve `GET /metrics` from this recorder.
    pub metrics: Option<PrometheusHandle>,
    /// The database [default: a fresh SQLite file in the app's folder].
    pub database_url: Option<String>,
}

impl Default for Setup {
    /// The service's defaults, but no rate limit: tests send bursts that
    /// no single client of a real site would.
    fn default() -> Self {
        Self {
            config: ApiConfig {
                rate_limit_per_minute: 0,
                ..ApiConfig::default()
            },
            limits: ServerLimits::default(),
            metrics: None,
            database_url: None,
        }
    }
}

impl From<ApiConfig> for Setup {
    fn from(config: ApiConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }
}

pub struct TestApp {
    /// The app's database, to check what a request left behind.
    pub db: Database,
    pub dir: PathBuf,
    /// The app itself, to call in-process.
    pub router: axum::Router,
    /// Where it is served; `None` in-process.
    pub address: Option<SocketAddr>,
    /// The API at `http://address` (`base`), or at the configured public
    /// URL in-process, where nothing answers it.
    client: ApiClient,
}

/// The app is called as its client is: `app.status(id)`, `app.base`.
impl std::ops::Deref for TestApp {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

impl TestApp {
    /// The app behind the real server (`adpipe_api::serve`) on a random
    /// port of 127.0.0.1.
    pub async fn serve(setup: impl Into<Setup>) -> Self {
        let setup = setup.into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let mut app = Self::build(
            ApiConfig {
                public_url: format!("http://{address}"),
                ..setup.config
            },
            setup.metrics,
            setup.database_url,
        )
        .await;
        tokio::spawn(adpipe_api::serve(
            listener,
            app.router.clone(),
            setup.limits,
            std::future::pending(),
        ));
        app.address = Some(address);
        app
    }

    /// The app without a server, for `router.oneshot(request)`.
    pub async fn in_process(setup: impl Into<Setup>) -> Self {
        let setup = setup.into();
        Self::build(setup.config, setup.metrics, setup.database_url).await
    }

    async fn build(
        config: ApiConfig,
        metrics: Option<PrometheusHandle>,
        database_url: Option<String>,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("adpipe-api-test-{}", AdId::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let database_url =
            database_url.unwrap_or_else(|| format!("sqlite:{}", dir.join("ads.db").display()));
        let db = Database::connect(&database_url, 4).await.expect("database");
        let blobs = Blobs::local(&dir.join("blobs")).expect("blobs");
        let client = ApiClient::new(config.public_url.clone());
        let mut state = AppState::new(db.clone(), blobs, Queue::embedded(db.clone()), config);
        if let Some(handle) = metrics {
            state = state.with_metrics(handle);
        }
        Self {
            db,
            dir,
            router: adpipe_api::router(state),
            address: None,
            client,
        }
    }

    /// Rows in the ads table, whatever their status.
    pub async fn rows(&self) -> i64 {
        self.db
            .count_by_status()
            .await
            .expect("count")
            .iter()
            .map(|(_, n)| n)
            .sum()
    }

    /// Every file under the image folder, however deep.
    pub fn blob_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.dir.join("blobs"), &mut found);
        found
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A committed photo of tests/fixtures/photos.
pub fn photo(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A password long enough for the rules, different per account.
pub fn password_of(name: &str) -> String {
    format!("{name}-has-a-long-password")
}

impl TestApp {
    /// Adds an account with `bootstrap` (the `ADPIPE_ADMIN_TOKEN` of the
    /// app) and [`password_of`] its name.
    pub async fn add_account(&self, bootstrap: &str, name: &str, role: &str) {
        let made = self
            .as_token(bootstrap)
            .add_user(name, role, Some(&password_of(name)))
            .await;
        assert_eq!(made.status, 201, "{made}");
    }

    /// An account with an API token of its own (made in a console
    /// session): what its scripts send as `Authorization: Bearer`.
    pub async fn account_token(&self, bootstrap: &str, name: &str, role: &str) -> String {
        self.add_account(bootstrap, name, role).await;
        self.token_of(name).await
    }

    /// Signs `name` (made already, with [`password_of`] its name) in and
    /// makes a token named "tests" in that session.
    pub async fn token_of(&self, name: &str) -> String {
        self.signed_in(name, &password_of(name))
            .await
            .new_token("tests")
            .await
    }
}
