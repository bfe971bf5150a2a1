//! A model version's files in the blob store: put under
//! `models/<version>/<file>` once, fetched by every worker into a local
//! folder and checked against the version before it is loaded. The version
//! is the SHA-256 of the files (each one's path, length and bytes, in path
//! order), so the same folder is the same version on every machine and a
//! changed or truncated file cannot be run under an old name.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::{BlobError, Blobs, ModelVersion};

const MODELS_FOLDER: &str = "models";

/// One file of a model folder: its path inside the folder and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFilesError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(
        "the files of model version {version} in the blob store hash to {found}: changed or incomplete"
    )]
    Mismatch { version: String, found: String },
    #[error("model version {version} names the file {path:?}, which is not a plain relative path")]
    BadPath { version: String, path: String },
    #[error("cannot write the model files to {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The version of these files: hex SHA-256 over each file's path, length
/// and bytes, sorted by path.
pub fn version_of(files: &[ModelFile]) -> String {
    let mut sorted: Vec<&ModelFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hash = Sha256::new();
    for file in sorted {
        hash.update((file.path.len() as u64).to_le_bytes());
        hash.update(file.path.as_bytes());
        hash.update((file.bytes.len() as u64).to_le_bytes());
        hash.update(&file.bytes);
    }
    hex::encode(hash.finalize())
}

fn key(version: &str, path: &str) -> String {
    format!("{MODELS_FOLDER}/{version}/{path}")
}

/// A path that stays inside the folder it is joined to.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|part| matches!(part, std::path::Component::Normal(_)))
}

/// Puts the files of `version` (as [`version_of`] names them) in the store.
pub async fn put_model_files(
    blobs: &Blobs,
    version: &str,
    files: &[ModelFile],
) -> Result<(), ModelFilesError> {
    for file in files {
        if !is_plain_relative(&file.path) {
            return Err(ModelFilesError::BadPath {
                version: version.to_owned(),
                path: file.path.clone(),
            });
        }
        blobs
            .put(&key(version, &file.path), Bytes::from(file.bytes.clone()))
            .await?;
    }
    Ok(())
}

/// One file of a stored version, unchecked (a report to show, not a model
/// to run).
pub async fn get_model_file(blobs: &Blobs, version: &str, path: &str) -> Result<Bytes, BlobError> {
    blobs.get(&key(version, path)).await
}

/// Reads the files of `version` from the store and checks them against it.
pub async fn get_model_files(
    blobs: &Blobs,
    version: &ModelVersion,
) -> Result<Vec<ModelFile>, ModelFilesError> {
    let mut files = Vec::with_capacity(version.files.len());
    for path in &version.files {
        if !is_plain_relative(path) {
            return Err(ModelFilesError::BadPath {
                version: version.version.clone(),
                path: path.clone(),
            });
        }
        let bytes = blobs.get(&key(&version.version, path)).await?;
        files.push(ModelFile {
            path: path.clone(),
            bytes: bytes.to_vec(),
        });
    }
    let found = version_of(&files);
    if found != version.version {
        return Err(ModelFilesError::Mismatch {
            version: version.version.clone(),
            found,
        });
    }
    Ok(files)
}

/// The folder `cache/<version>` holding the version's files, fetched and
/// checked the first time; a folder already there was checked when it was
/// written (written whole under another name, then renamed into place).
pub async fn fetch_model(
    blobs: &Blobs,
    version: &ModelVersion,
    cache: &Path,
) -> Result<PathBuf, ModelFilesError> {
    let folder = cache.join(&version.version);
    if folder.is_dir() {
        return Ok(folder);
    }
    let files = get_model_files(blobs, version).await?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ModelFilesError::Io { path, source }
    };
    let partial = cache.join(format!(
        "{}.partial-{}",
        version.version,
        std::process::id()
    ));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    for file in &files {
        let path = partial.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, &file.bytes).map_err(io(&path))?;
    }
    match std::fs::rename(&partial, &folder) {
        Ok(()) => Ok(folder),
        // Another process on this machine put it there first.
        Err(_) if folder.is_dir() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(folder)
        }
        Err(error) => Err(io(&folder)(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, bytes: &[u8]) -> ModelFile {
        ModelFile {
            path: path.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn the_version_depends_on_every_byte_and_name_but_not_the_order() {
        let a = [file("model.toml", b"x"), file("head.safetensors", b"yz")];
        let b = [file("head.safetensors", b"yz"), file("model.toml", b"x")];
        assert_eq!(version_of(&a), version_of(&b));
        assert_ne!(
            version_of(&a),
            version_of(&[file("model.toml", b"x"), file("head.safetensors", b"yZ")])
        );
        // Moving a byte from one file to the next is another version.
        assert_ne!(
            version_of(&a),
            version_of(&[file("model.toml", b"xy"), file("head.safetensors", b"z")])
        );
        assert_eq!(version_of(&a).len(), 64);
    }

    #[tokio::test]
    async fn fetched_files_are_checked_against_their_version() {
        let blobs = Blobs::in_memory();
        let files = [
            file("model.toml", b"name = 'x'"),
            file("backbone/model.onnx", b"onnx"),
        ];
        let version = version_of(&files);
        put_model_files(&blobs, &version, &files).await.unwrap();
        let listed = ModelVersion {
            version: version.clone(),
            name: "x".into(),
            kind: "image_head".into(),
            files: files.iter().map(|file| file.path.clone()).collect(),
            added_by: "cli:test".into(),
            added_at: 0,
        };
        let cache = std::env::temp_dir().join(format!("adpipe-model-cache-{}", std::process::id()));
        let folder = fetch_model(&blobs, &listed, &cache).await.unwrap();
        assert_eq!(
            std::fs::read(folder.join("backbone/model.onnx")).unwrap(),
            b"onnx"
        );
        std::fs::remove_dir_all(&cache).unwrap();

        blobs
            .put(
                &key(&version, "model.toml"),
                Bytes::from_static(b"name = 'y'"),
            )
            .await
            .unwrap();
        let error = fetch_model(&blobs, &listed, &cache).await.unwrap_err();
        assert!(matches!(error, ModelFilesError::Mismatch { .. }), "{error}");
        assert!(!cache.join(&version).exists());
        let _ = std::fs::remove_dir_all(&cache);

        let escaping = [file("../outside", b"x")];
        let error = put_model_files(&blobs, "v", &escaping).await.unwrap_err();
        assert!(matches!(error, ModelFilesError::BadPath { .. }), "{error}");
    }
}
