//! The multipart bodies: every photo under a folder, as one `POST /ads`
//! body each, built once and shared by every request.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use reqwest::header::HeaderValue;

use crate::*;

/// One multipart `POST /ads` body per photo, built once.
pub struct Bodies {
    pub bodies: Vec<Bytes>,
    pub content_type: HeaderValue,
    pub mean_photo_bytes: u64,
}

/// Every JPEG and PNG file under `root` (or `root` itself if it is one),
/// sorted by path.
pub fn find_photos(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn is_photo(path: &Path) -> bool {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ["jpg", "jpeg", "png"].contains(&ext.to_ascii_lowercase().as_str()))
    }
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, found)?;
            } else if is_photo(&path) {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    if root.is_file() {
        found.push(root.to_owned());
    } else {
        walk(root, &mut found)?;
    }
    found.sort();
    if found.is_empty() {
        bail!(
            "no JPEG or PNG files under {} (pass --photos DIR)",
            root.display()
        );
    }
    Ok(found)
}

/// Ad texts for the bodies: one per non-empty line of `path`.
pub fn read_texts(path: &Path) -> anyhow::Result<Vec<String>> {
    let content =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let texts: Vec<String> = content
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if texts.is_empty() {
        bail!("{} holds no texts", path.display());
    }
    Ok(texts)
}

/// Reads the photos and builds `multipart/form-data` bodies with the fields
/// `text`, `email` and `image`, as a browser would send them: one per
/// photo, or with `texts`, as many as the longer of the two lists, body `k`
/// pairing photo `k mod photos` with text `k mod texts`. Without texts each
/// ad's text names its photo.
pub fn build_bodies(photos: &[PathBuf], texts: &[String], email: &str) -> anyhow::Result<Bodies> {
    let mut images = Vec::with_capacity(photos.len());
    for path in photos {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > MAX_PHOTO_BYTES {
            bail!("{} is larger than 64 MiB", path.display());
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        images.push((path, bytes));
    }
    if images.is_empty() {
        bail!("no photos to send");
    }
    // The boundary must not occur in any part; add a suffix until it does not.
    let mut boundary = BOUNDARY.to_owned();
    let parts = images
        .iter()
        .map(|(_, bytes)| bytes.as_slice())
        .chain(texts.iter().map(String::as_bytes));
    while parts.clone().any(|bytes| {
        bytes
            .windows(boundary.len())
            .any(|w| w == boundary.as_bytes())
    }) {
        boundary.push('x');
    }
    let count = images.len().max(texts.len());
    let mut bodies = Vec::with_capacity(count);
    for k in 0..count {
        let (path, image) = &images[k % images.len()];
        let png = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("png"));
        let (mime, ext) = if png {
            ("image/png", "png")
        } else {
            ("image/jpeg", "jpg")
        };
        let name = path.file_name().map_or_else(
            || "photo".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let mut body = Vec::with_capacity(image.len() + 512);
        let mut field = |headers: &str, value: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        let text = if texts.is_empty() {
            format!("adpipe loadgen: {name}")
        } else {
            texts[k % texts.len()].clone()
        };
        field(
            "Content-Disposition: form-data; name=\"text\"",
            text.as_bytes(),
        );
        field(
            "Content-Disposition: form-data; name=\"email\"",
            email.as_bytes(),
        );
        field(
            &format!(
                "Content-Disposition: form-data; name=\"image\"; filename=\"photo.{ext}\"\r\nContent-Type: {mime}"
            ),
            image,
        );
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        bodies.push(Bytes::from(body));
    }
    let total: u64 = images.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    Ok(Bodies {
        content_type: HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))?,
        mean_photo_bytes: total / images.len().max(1) as u64,
        bodies,
    })
}
