//! Image blobs through object_store: a folder on local disk by default, an
//! in-memory store for tests. Keys are derived from ad ids, never from
//! anything a user sent.

use std::path::Path;
use std::sync::Arc;

use adpipe_core::AdId;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the image store is unavailable: {0}")]
    Unavailable(String),
    #[error("image {0} is not in the store")]
    NotFound(String),
    #[error("cannot use {path} for images: {message}")]
    Setup { path: String, message: String },
}

impl From<object_store::Error> for BlobError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
            other => BlobError::Unavailable(other.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
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
        })
    }

    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
            description: "memory".into(),
        }
    }

    pub fn from_store(store: Arc<dyn ObjectStore>, description: String) -> Self {
        Self { store, description }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// `images/<id>.<ext>`: one object per ad, named by the server.
    pub fn key_for(id: AdId, extension: &str) -> String {
        format!("images/{id}.{extension}")
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

    /// Deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}
