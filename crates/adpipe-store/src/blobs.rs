//! Image blobs through object_store: a folder on local disk by default, any
//! S3-compatible server (AWS, MinIO, s3s-fs) when configured, an in-memory
//! store for tests. Keys are derived from ad ids, never from
//! anything a user sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use adpipe_core::AdId;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};

/// Where ad images live in the store (keys are `images/<ad id>.<ext>`).
const IMAGES_FOLDER: &str = "images";

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the image store is unavailable: {0}")]
    Unavailable(String),
    /// The disk under the image store is full: nothing was written (a
    /// partial file is removed by the store), and it passes once space is
    /// freed.
    #[error("the image store is full: {0}")]
    Full(String),
    #[error("image {0} is not in the store")]
    NotFound(String),
    #[error("cannot use {path} for images: {message}")]
    Setup { path: String, message: String },
}

impl From<object_store::Error> for BlobError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
            other if caused_by_full_disk(&other) => BlobError::Full(other.to_string()),
            other => BlobError::Unavailable(other.to_string()),
        }
    }
}

/// Whether an error, or one that caused it, is a full disk or an exhausted
/// quota (ENOSPC, EDQUOT).
pub fn caused_by_full_disk(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        current = error.source();
    }
    false
}

/// Where an S3-compatible bucket is and how to sign for it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `http://127.0.0.1:9000` for MinIO; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`: what MinIO
    /// and most self-hosted servers expect.
    pub path_style: bool,
    /// Per request; a dead server must fail a submission in seconds, not
    /// minutes of retries.
    pub timeout: Duration,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key.as_ref().map(|_| "***"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "adpipe".into(),
            region: "us-east-1".into(),
            access_key: None,
            secret_key: None,
            path_style: true,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
    /// The folder of a store on local disk (where a killed write can leave
    /// a partial file the store does not list).
    local_root: Option<PathBuf>,
}

impl Blobs {
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        let setup = |message: String| BlobError::Setup {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|error| setup(error.to_string()))?;
        let store =
            LocalFileSystem::new_with_prefix(dir).map_err(|error| setup(error.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            description: format!("local disk ({})", dir.display()),
            local_root: Some(dir.to_owned()),
        })
    }

    pub fn s3(config: &S3Config) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(config.timeout)
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_allow_http(true),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 2,
                retry_timeout: config.timeout,
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(access_key), Some(secret_key)) = (&config.access_key, &config.secret_key) {
            builder = builder
                .with_access_key_id(access_key)
                .with_secret_access_key(secret_key);
        }
        let store = builder.build().map_err(|error| BlobError::Setup {
            path: format!("s3://{}", config.bucket),
            message: error.to_string(),
        })?;
        let endpoint = config.endpoint.as_deref().unwrap_or("AWS");
        Ok(Self {
            store: Arc::new(store),
            description: format!("S3 bucket {} at {endpoint}", config.bucket),
            local_root: None,
        })
    }

    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
            description: "memory".into(),
            local_root: None,
        }
    }

    pub fn from_store(store: Arc<dyn ObjectStore>, description: String) -> Self {
        Self {
            store,
            description,
            local_root: None,
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// `images/<id>.<ext>`: one object per ad, named by the server.
    pub fn key_for(id: AdId, extension: &str) -> String {
        format!("{IMAGES_FOLDER}/{id}.{extension}")
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self
            .store
            .get(&ObjectPath::from(key))
            .await?
            .bytes()
            .await?)
    }

    /// Whether the store answers: a missing object is a fine answer.
    pub async fn ping(&self) -> Result<(), BlobError> {
        match self
            .store
            .head(&ObjectPath::from("adpipe-readiness-probe"))
            .await
        {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// On local disk, removes the partial files of writes that never
    /// finished (object_store writes `<key>#<n>` and renames it when
    /// complete; a process killed in between leaves it, unlisted) once
    /// they are older than `min_age`. Returns how many. An S3 PUT is all or
    /// nothing, so there is nothing to remove there.
    pub async fn remove_partial_writes(&self, min_age: Duration) -> Result<usize, BlobError> {
        let Some(root) = &self.local_root else {
            return Ok(0);
        };
        let folder = root.join(IMAGES_FOLDER);
        tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                return Ok(0);
            };
            let mut removed = 0;
            for entry in entries.flatten() {
                let partial = entry.file_name().to_string_lossy().contains('#');
                let old_enough = entry
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age >= min_age);
                if partial && old_enough {
                    match std::fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => return Err(BlobError::Unavailable(error.to_string())),
                    }
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|error| BlobError::Unavailable(error.to_string()))?
    }

    /// Every ad image in the store with the time it was written (Unix
    /// milliseconds), as the store lists them: page by page, never all in
    /// memory at once.
    pub fn images(
        &self,
    ) -> impl futures_util::Stream<Item = Result<(String, i64), BlobError>> + '_ {
        use futures_util::StreamExt;
        self.store
            .list(Some(&ObjectPath::from(IMAGES_FOLDER)))
            .map(|listed| {
                listed
                    .map(|meta| {
                        (
                            meta.location.to_string(),
                            meta.last_modified.timestamp_millis(),
                        )
                    })
                    .map_err(BlobError::from)
            })
    }
}
