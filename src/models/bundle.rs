//! A model folder as the registry stores it: every file of the folder, for
//! a trained head its backbone's folder too (under `backbone/`, with the
//! head's `backbone` pointing there), and for a `policy.toml` that reads
//! the ad's text its text model (under `text-model/`, with the policy's
//! `[text] model` pointing there), so a version is whole wherever it is
//! fetched: nothing it needs lives outside it.

use std::path::{Path, PathBuf};

use adpipe_store::ModelFile;
use anyhow::{Context, bail};

/// Where a head's backbone goes inside the bundle.
const BACKBONE_FOLDER: &str = "backbone";
/// Where the policy's text model goes inside the bundle.
const TEXT_MODEL_FOLDER: &str = "text-model";

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
        "image_classifier" => {
            // A variant that shares its labels with another folder
            // (efficientnet-lite0-int8 names ../efficientnet-lite0's).
            let model = text.clone();
            let mut pointed = model.clone();
            for key in ["file", "labels"] {
                let Some(relative) = table.get(key).and_then(toml::Value::as_str) else {
                    continue;
                };
                if Path::new(relative)
                    .parent()
                    .is_none_or(|p| p.as_os_str().is_empty())
                {
                    continue;
                }
                let source = folder.join(relative);
                let file_name = source
                    .file_name()
                    .with_context(|| format!("{}: `{key}` names no file", model_toml.display()))?
                    .to_string_lossy()
                    .into_owned();
                if files.iter().any(|file| file.path == file_name) {
                    bail!(
                        "{}: `{key}` names {relative}, but the folder has its own {file_name}",
                        model_toml.display()
                    );
                }
                let bytes = std::fs::read(&source)
                    .with_context(|| format!("cannot read {}", source.display()))?;
                files.push(ModelFile {
                    path: file_name.clone(),
                    bytes,
                });
                pointed = point_key(&pointed, None, key, &file_name)?;
            }
            if pointed != model {
                let entry = files
                    .iter_mut()
                    .find(|file| file.path == "model.toml")
                    .context("the folder lost its model.toml")?;
                entry.bytes = pointed.into_bytes();
            }
        }
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
            model.bytes = point_key(
                &text,
                None,
                "backbone",
                &format!("{BACKBONE_FOLDER}/{file_name}"),
            )?
            .into_bytes();
        }
        other => bail!(
            "{} is a {other}: only an image classifier or a trained head (image_head) \
             decides ads and can be promoted",
            model_toml.display()
        ),
    }
    bundle_text_model(folder, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Bundle { name, kind, files })
}

/// When the folder's `policy.toml` reads the ad's text, adds its text
/// model's description, graph and tokenizer under `text-model/` and points
/// the policy there.
fn bundle_text_model(folder: &Path, files: &mut Vec<ModelFile>) -> anyhow::Result<()> {
    let Some(policy) = files.iter_mut().find(|file| file.path == "policy.toml") else {
        return Ok(());
    };
    let policy_text =
        String::from_utf8(policy.bytes.clone()).context("policy.toml is not UTF-8")?;
    let table: toml::Table = policy_text
        .parse()
        .context("policy.toml is not valid TOML")?;
    let Some(model) = table
        .get("text")
        .and_then(|text| text.get("model"))
        .and_then(toml::Value::as_str)
    else {
        return Ok(());
    };
    let model_toml = model_toml_path(&folder.join(model));
    let spec_text = std::fs::read_to_string(&model_toml).with_context(|| {
        format!(
            "cannot read the policy's text model {} (its [text] model, relative to policy.toml)",
            model_toml.display()
        )
    })?;
    let spec: toml::Table = spec_text
        .parse()
        .with_context(|| format!("{} is not valid TOML", model_toml.display()))?;
    let model_folder = model_toml.parent().unwrap_or(Path::new("."));
    let mut bundled_spec = spec_text.clone();
    let mut added = Vec::new();
    for key in ["file", "tokenizer"] {
        let Some(relative) = spec.get(key).and_then(toml::Value::as_str) else {
            continue;
        };
        let source = model_folder.join(relative);
        let file_name = source
            .file_name()
            .with_context(|| format!("{}: `{key}` names no file", model_toml.display()))?
            .to_string_lossy()
            .into_owned();
        let bytes =
            std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?;
        added.push(ModelFile {
            path: format!("{TEXT_MODEL_FOLDER}/{file_name}"),
            bytes,
        });
        bundled_spec = point_key(&bundled_spec, None, key, &file_name)?;
    }
    policy.bytes = point_key(
        &policy_text,
        Some("text"),
        "model",
        &format!("{TEXT_MODEL_FOLDER}/model.toml"),
    )?
    .into_bytes();
    added.push(ModelFile {
        path: format!("{TEXT_MODEL_FOLDER}/model.toml"),
        bytes: bundled_spec.into_bytes(),
    });
    files.extend(added);
    Ok(())
}

/// `text` with its one `key = ...` line in `section` (`None`: the top
/// level, before any `[table]`) set to `value`; the rest, comments
/// included, as written.
fn point_key(text: &str, section: Option<&str>, key: &str, value: &str) -> anyhow::Result<String> {
    let mut replaced = 0;
    let mut current: Option<String> = None;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                current = Some(
                    trimmed
                        .trim_matches(|c| c == '[' || c == ']')
                        .trim()
                        .to_owned(),
                );
                return line.to_owned();
            }
            let this_key = line.split('=').next().unwrap_or_default().trim();
            if this_key == key && line.contains('=') && current.as_deref() == section {
                replaced += 1;
                format!("{key} = {value:?}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if replaced != 1 {
        let place = section.map_or("at the top".to_owned(), |s| format!("in [{s}]"));
        bail!("expected one `{key} = ...` line {place}, found {replaced}");
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
        let rewritten = point_key(text, None, "backbone", "backbone/model.toml").unwrap();
        assert_eq!(
            rewritten,
            "# a head\nkind = \"image_head\"\nbackbone = \"backbone/model.toml\"\nweights = \"head.safetensors\"\n"
        );
        assert!(point_key("kind = \"image_head\"\n", None, "backbone", "b").is_err());
        // Only the key of the section named: a gate's `model` elsewhere stays.
        let policy =
            "name = \"p\"\n[text]\nmodel = \"../m/model.toml\"\n[[category]]\nname = \"car\"\n";
        let pointed = point_key(policy, Some("text"), "model", "text-model/model.toml").unwrap();
        assert!(
            pointed.contains("[text]\nmodel = \"text-model/model.toml\"\n"),
            "{pointed}"
        );
        assert!(point_key(policy, None, "model", "x").is_err());
    }

    #[test]
    fn a_classifier_travels_with_the_labels_it_shares() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/efficientnet-lite0-int8");
        let bundle = read(&root).unwrap();
        let paths: Vec<&str> = bundle.files.iter().map(|file| file.path.as_str()).collect();
        assert!(paths.contains(&"labels.txt"), "{paths:?}");
        let model = bundle
            .files
            .iter()
            .find(|file| file.path == "model.toml")
            .unwrap();
        let model = String::from_utf8_lossy(&model.bytes);
        assert!(model.contains("labels = \"labels.txt\""), "{model}");
        assert!(model.contains("file = \"model.onnx\""), "{model}");
    }

    #[test]
    fn a_policy_that_reads_text_travels_with_its_text_model() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!("adpipe-bundle-text-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["model.toml", "head.safetensors", "labels.txt"] {
            std::fs::copy(root.join("models/tools-head").join(file), dir.join(file)).unwrap();
        }
        let backbone = root.join("models/efficientnet-lite0/model.toml");
        let model = std::fs::read_to_string(dir.join("model.toml")).unwrap();
        let model = point_key(&model, None, "backbone", &backbone.display().to_string()).unwrap();
        std::fs::write(dir.join("model.toml"), model).unwrap();
        let text_model = root.join("models/minilm-l6-static/model.toml");
        std::fs::write(
            dir.join("policy.toml"),
            format!(
                "name = \"t\"\napprove_at = 0.5\n[text]\nmodel = {:?}\n[[category]]\nname = \"tool\"\ntext = [\"a hammer\"]\n",
                text_model.display().to_string()
            ),
        )
        .unwrap();
        let bundle = read(&dir).unwrap();
        let file = |path: &str| {
            let found = bundle.files.iter().find(|file| file.path == path);
            String::from_utf8_lossy(&found.unwrap_or_else(|| panic!("{path}")).bytes).into_owned()
        };
        assert!(file("policy.toml").contains("model = \"text-model/model.toml\""));
        let spec = file("text-model/model.toml");
        // The static model's tokenizer lives in ../minilm-l6: it comes too.
        assert!(spec.contains("tokenizer = \"tokenizer.json\""), "{spec}");
        assert!(spec.contains("file = \"model.onnx\""), "{spec}");
        let paths: Vec<&str> = bundle.files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"text-model/model.onnx"), "{paths:?}");
        assert!(paths.contains(&"text-model/tokenizer.json"), "{paths:?}");
        let _ = std::fs::remove_dir_all(&dir);
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
