//! Labelled photos as training examples: one folder per category, `none/`
//! for what is not published; each photo's backbone features read in one
//! pass with the live model's decision on it, for the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adpipe_core::BoundPolicy;
use adpipe_tagger::{ItemError, Model, ModelSpec, Tagger, TaggerConfig};
use anyhow::{Context, bail};

use super::{Gathered, Labelled, NONE};

/// The file types a photo folder may hold.
const PHOTO_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

/// Every photo under `root` with its folder's name, sorted by folder then
/// file.
fn read_photos(root: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let entries = std::fs::read_dir(root)
        .with_context(|| format!("cannot read the photo folder {}", root.display()))?;
    let mut folders: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        for file in std::fs::read_dir(entry.path())? {
            let path = file?.path();
            let is_photo = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| PHOTO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if path.is_file() && is_photo {
                files.push(path);
            }
        }
        files.sort();
        folders.insert(name, files);
    }
    if folders.keys().all(|name| name == NONE) {
        bail!(
            "{} has no category folders: put each category's photos in a folder named after \
             it (and photos that should not be published in {NONE}/)",
            root.display()
        );
    }
    Ok(folders
        .into_iter()
        .flat_map(|(class, files)| files.into_iter().map(move |path| (path, class.clone())))
        .collect())
}

/// Reads the photos under `root` into `gathered`: the backbone's features
/// (`features`) and the live model's decision (`live`, `live_policy`) in one
/// pass over each photo.
pub fn gather(
    root: &Path,
    features: ModelSpec,
    live: ModelSpec,
    live_policy: &BoundPolicy,
    config: &TaggerConfig,
    gathered: &mut Gathered,
) -> anyhow::Result<()> {
    let photos = read_photos(root)?;
    let tagger = Tagger::new(
        vec![Model::load(features, config)?, Model::load(live, config)?],
        config,
    );
    eprintln!(
        "adpipe train: {} photos in {}; reading their features",
        photos.len(),
        root.display()
    );
    tagger.classify_stream(
        &photos,
        |(path, _)| std::fs::read(path).map_err(|error| error.to_string()),
        8,
        |index, result: Result<_, ItemError>| {
            let (path, class) = &photos[index];
            match result {
                Ok(outputs) => {
                    let decision = live_policy.decide(&outputs.scores[1], None);
                    gathered.photos += 1;
                    gathered.examples.push(Labelled {
                        features: outputs.scores[0].clone(),
                        label: class.clone(),
                        weight: 1.0,
                        source: path
                            .strip_prefix(root)
                            .unwrap_or(path)
                            .display()
                            .to_string(),
                        live: (decision.status, decision.category),
                    });
                }
                Err(error) => {
                    gathered.unreadable += 1;
                    eprintln!("adpipe train: skipped {}: {error}", path.display());
                }
            }
        },
    );
    Ok(())
}
