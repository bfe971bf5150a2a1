//! A model folder as the registry stores it: every file of the folder, and
//! for a trained head its backbone's folder too (under `backbone/`, with
//! the head's `backbone` pointing there), so a version is whole wherever it
//! is fetched: nothing it needs lives outside it.

use std::path::{Path, PathBuf};

use adpipe_store::ModelFile;
use anyhow::{Context, bail};

/// Where a head's backbone goes inside the bundle.
const BACKBONE_FOLDER: &str = "backbone";

/// A model folder read for the registry.
#[derive(Debug)]
pub struct Bundle {
    pub name: String,
    pub kind: String,
    pub files: Vec<ModelFile>,
}

/// `path` is a model.toml or the folder holding one.
pub fn model_toml_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("model.toml")
    } else {
        path.to_owned()
    }
}

/// Reads the folder of the model.toml at `path` (a model.toml or its
/// folder). Only image classifiers and trained heads: the models that
/// decide an ad.
pub fn read(path: &Path) -> anyhow::Result<Bundle> {
    let model_toml = model_toml_path(path);
    let text = std::fs::read_to_string(&model_toml)
        .with_context(|| format!("cannot read {}", model_toml.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", model_toml.display()))?;
    let kind = table
        .get("kind")
        .and_then(toml::Value::as_str)
        .unwrap_or("image_classifier")
        .to_owned();
    let folder = model_toml.parent().unwrap_or(Path::new("."));
    let name = table
        .get("name")
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            folder
                .canonicalize()
                .ok()?
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "model".into());
    let mut files = folder_files(folder, "")?;
    match kind.as_str() {
        "image_classifier" => {}
        "image_head" => {
            let Some(backbone) = table.get("backbone").and_then(toml::Value::as_str) else {
                bail!("{} names no backbone", model_toml.display());
            };
            let backbone_toml = folder.join(backbone);
            let backbone_folder = backbone_toml.parent().unwrap_or(Path::new("."));
            let file_name = backbone_toml
                .file_name()
                .context("the backbone names no file")?
                .to_string_lossy()
                .into_owned();
            files.extend(folder_files(backbone_folder, BACKBONE_FOLDER)?);
            let model = files
                .iter_mut()
                .find(|file| file.path == "model.toml")
                .context("the folder lost its model.toml")?;
            model.bytes =
                point_backbone(&text, &format!("{BACKBONE_FOLDER}/{file_name}"))?.into_bytes();
        }
        other => bail!(
            "{} is a {other}: only an image classifier or a trained head (image_head) \
             decides ads and can be promoted",
            model_toml.display()
        ),
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Bundle { name, kind, files })
}

/// The model.toml with its `backbone` line pointing at `backbone`; the
/// rest, comments included, as written.
fn point_backbone(text: &str, backbone: &str) -> anyhow::Result<String> {
    let mut replaced = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            if key == "backbone" {
                replaced += 1;
                format!("backbone = {backbone:?}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if replaced != 1 {
        bail!("expected one `backbone = ...` line in the head's model.toml, found {replaced}");
    }
    Ok(lines.join("\n") + "\n")
}

/// The plain files of `folder` (not its subfolders, nor hidden files), each
/// named `prefix/<file>`.
fn folder_files(folder: &Path, prefix: &str) -> anyhow::Result<Vec<ModelFile>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("cannot list {}", folder.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        files.push(ModelFile { path, bytes });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backbone_line_alone_is_rewritten() {
        let text = "# a head\nkind = \"image_head\"\nbackbone = \"../efficientnet-lite0/model.toml\"\nweights = \"head.safetensors\"\n";
        let rewritten = point_backbone(text, "backbone/model.toml").unwrap();
        assert_eq!(
            rewritten,
            "# a head\nkind = \"image_head\"\nbackbone = \"backbone/model.toml\"\nweights = \"head.safetensors\"\n"
        );
        assert!(point_backbone("kind = \"image_head\"\n", "b").is_err());
    }

    #[test]
    fn a_head_travels_with_its_backbone() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tools-head");
        let bundle = read(&root).unwrap();
        assert_eq!(bundle.kind, "image_head");
        assert_eq!(bundle.name, "tools-head");
        let paths: Vec<&str> = bundle.files.iter().map(|file| file.path.as_str()).collect();
        assert!(paths.contains(&"head.safetensors"), "{paths:?}");
        assert!(paths.contains(&"backbone/model.onnx"), "{paths:?}");
        assert!(paths.contains(&"backbone/labels.txt"), "{paths:?}");
        let model = bundle
            .files
            .iter()
            .find(|file| file.path == "model.toml")
            .unwrap();
        assert!(
            String::from_utf8_lossy(&model.bytes).contains("backbone = \"backbone/model.toml\"")
        );
    }
}
