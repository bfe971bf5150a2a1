//! A trained classifier head (`kind = "image_head"`): a linear layer over an
//! image classifier's feature vector (its `backbone`, whose model.toml names
//! the `[output] embedding`), a probability per category out. `adpipe
//! train` writes one; it is read as an image classifier whose output is the
//! backbone's embedding with the head applied, so everything that takes an
//! image model (`ADPIPE_MODEL`, `adpipe tag --model`, `adpipe retag`) takes
//! a head too.
//!
//! ```toml
//! kind = "image_head"
//! name = "furniture-2026-12-07"
//! backbone = "../efficientnet-lite0/model.toml"  # relative to this file
//! weights = "head.safetensors"   # `weight` [categories, features], `bias` [categories], f32
//! labels = "labels.txt"          # the categories in output order, `none` among them
//! temperature = 1.0              # logits are divided by it (calibration)
//! ```

use std::path::{Path, PathBuf};

use adpipe_core::Labels;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::image_classifier::spec::{ModelSpec, OutputKind};
use crate::kind::spec::{ModelKind, read_for};
use crate::model_toml::ModelToml;
use crate::spec::SpecError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadFile {
    name: Option<String>,
    backbone: PathBuf,
    weights: PathBuf,
    labels: PathBuf,
    #[serde(default = "one")]
    temperature: f32,
}

fn one() -> f32 {
    1.0
}

/// The head's numbers: `logits = weight · features + bias`, then divided by
/// the temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Row-major `[classes, features]`.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub features: usize,
    pub temperature: f32,
}

/// The names of the tensors in the weights file.
const WEIGHT: &str = "weight";
const BIAS: &str = "bias";

impl Head {
    pub fn classes(&self) -> usize {
        self.bias.len()
    }

    /// The calibrated logits of one feature vector into `out` (one per class).
    pub fn logits(&self, features: &[f32], out: &mut [f32]) {
        debug_assert_eq!(features.len(), self.features);
        for ((slot, row), bias) in out
            .iter_mut()
            .zip(self.weight.chunks_exact(self.features))
            .zip(&self.bias)
        {
            let dot: f32 = row.iter().zip(features).map(|(w, x)| w * x).sum();
            *slot = (dot + bias) / self.temperature;
        }
    }

    /// The weights as a safetensors file (`weight`, `bias`; f32). The
    /// temperature lives in model.toml, beside the other settings.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, String> {
        let weight: Vec<u8> = self.weight.iter().flat_map(|x| x.to_le_bytes()).collect();
        let bias: Vec<u8> = self.bias.iter().flat_map(|x| x.to_le_bytes()).collect();
        let tensors = [
            (
                WEIGHT,
                safetensors::tensor::TensorView::new(
                    Dtype::F32,
                    vec![self.classes(), self.features],
                    &weight,
                )
                .map_err(|error| error.to_string())?,
            ),
            (
                BIAS,
                safetensors::tensor::TensorView::new(Dtype::F32, vec![self.classes()], &bias)
                    .map_err(|error| error.to_string())?,
            ),
        ];
        safetensors::serialize(tensors, None).map_err(|error| error.to_string())
    }

    /// Reads what [`Head::to_safetensors`] wrote.
    pub fn from_safetensors(bytes: &[u8], temperature: f32) -> Result<Self, String> {
        let file = SafeTensors::deserialize(bytes).map_err(|error| error.to_string())?;
        let read = |name: &str| -> Result<(Vec<usize>, Vec<f32>), String> {
            let tensor = file
                .tensor(name)
                .map_err(|_| format!("it has no tensor named {name:?}"))?;
            if tensor.dtype() != Dtype::F32 {
                return Err(format!("tensor {name:?} is {:?}, not F32", tensor.dtype()));
            }
            let values = tensor
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((tensor.shape().to_vec(), values))
        };
        let (weight_shape, weight) = read(WEIGHT)?;
        let (bias_shape, bias) = read(BIAS)?;
        let [classes, features] = weight_shape[..] else {
            return Err(format!(
                "weight has shape {weight_shape:?}, not [classes, features]"
            ));
        };
        if bias_shape != [classes] {
            return Err(format!(
                "bias has shape {bias_shape:?}, but weight has {classes} rows"
            ));
        }
        if classes < 2 || features == 0 {
            return Err(format!(
                "weight has shape {weight_shape:?}: too small for a head"
            ));
        }
        if weight.iter().chain(&bias).any(|x| !x.is_finite()) {
            return Err("the weights hold a value that is not a finite number".into());
        }
        Ok(Self {
            weight,
            bias,
            features,
            temperature,
        })
    }
}

/// The image-classifier description a head's model.toml amounts to: the
/// backbone's input and preprocessing, its embedding output read, the head
/// applied, the head's categories as labels.
pub(crate) fn spec(file: &ModelToml) -> Result<ModelSpec, SpecError> {
    let head: HeadFile = file.fields()?;
    let invalid = |message: String| file.invalid(message);
    if !head.temperature.is_finite() || head.temperature <= 0.0 {
        return Err(invalid(format!(
            "temperature must be a positive number, not {}",
            head.temperature
        )));
    }
    let backbone_path = file.resolve(&head.backbone);
    let role = format!("the backbone of {}", file.path().display());
    // A head on a head would read features no head was trained on (and a
    // head naming itself would never finish reading).
    ModelToml::read(&backbone_path)?.expect(ModelKind::ImageClassifier, &role)?;
    let backbone: ModelSpec = read_for(&backbone_path, &role)?;
    let Some(embedding) = backbone.output.embedding.clone() else {
        return Err(invalid(format!(
            "its backbone {} names no [output] embedding: a head reads the backbone's \
             feature vector",
            backbone_path.display()
        )));
    };
    let labels_path = file.resolve(&head.labels);
    let labels = std::fs::read_to_string(&labels_path)
        .map_err(|error| invalid(format!("cannot read {}: {error}", labels_path.display())))
        .and_then(|text| {
            Labels::parse(&text)
                .map_err(|error| invalid(format!("{}: {error}", labels_path.display())))
        })?;
    let weights_path = file.resolve(&head.weights);
    let bytes = std::fs::read(&weights_path)
        .map_err(|error| invalid(format!("cannot read {}: {error}", weights_path.display())))?;
    let weights = Head::from_safetensors(&bytes, head.temperature)
        .map_err(|error| invalid(format!("{}: {error}", weights_path.display())))?;
    if weights.classes() != labels.len() {
        return Err(invalid(format!(
            "{} has {} rows but {} names {} categories",
            weights_path.display(),
            weights.classes(),
            labels_path.display(),
            labels.len()
        )));
    }
    Ok(ModelSpec {
        name: file.name_or_folder(head.name, "head"),
        source: file.path().to_owned(),
        labels,
        output: crate::image_classifier::OutputSpec {
            name: Some(embedding),
            kind: OutputKind::Logits,
            embedding: None,
        },
        head: Some(std::sync::Arc::new(weights)),
        backbone: Some(backbone.source.clone()),
        backbone_name: Some(backbone.name.clone()),
        ..backbone
    })
}

/// Whether `kind` is read as an image classifier: the classifier itself, or
/// a head on one.
pub(crate) fn reads_as_image_classifier(kind: ModelKind) -> bool {
    matches!(kind, ModelKind::ImageClassifier | ModelKind::ImageHead)
}

/// The model.toml a trained head's folder holds, for `adpipe train`:
/// `backbone` as written (relative to the folder where it can be).
pub fn model_toml(name: &str, backbone: &Path, temperature: f32) -> String {
    format!(
        "# A classifier head trained by `adpipe train` on {backbone}'s features.\n\
         # See model-card.md for its data and measurements.\n\
         kind = \"image_head\"\n\
         name = {name:?}\n\
         backbone = {backbone:?}\n\
         weights = \"head.safetensors\"\n\
         labels = \"labels.txt\"\n\
         # Calibrated on the held-out split: logits are divided by it.\n\
         temperature = {temperature}\n",
        backbone = backbone.display().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        Head {
            weight: vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0],
            bias: vec![0.0, 0.5, 0.0],
            features: 2,
            temperature: 2.0,
        }
    }

    #[test]
    fn logits_are_the_linear_layer_over_the_temperature() {
        let mut out = [0.0; 3];
        head().logits(&[2.0, 4.0], &mut out);
        assert_eq!(out, [1.0, 2.25, -3.0]);
    }

    /// A head folder in a scratch directory on `backbone` (relative to the
    /// repository's models/), with `features` inputs and cat/dog/none.
    fn head_folder(name: &str, backbone: &str, features: usize) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("adpipe-head-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        let weights = Head {
            weight: vec![0.5; 3 * features],
            bias: vec![0.0; 3],
            features,
            temperature: 1.0,
        };
        std::fs::write(
            dir.join("head.safetensors"),
            weights.to_safetensors().unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("labels.txt"), "cat\ndog\nnone\n").unwrap();
        let backbone = match backbone {
            "itself" => dir.join("model.toml"),
            other => models.join(other),
        };
        std::fs::write(dir.join("model.toml"), model_toml(name, &backbone, 1.5)).unwrap();
        dir.join("model.toml")
    }

    #[test]
    fn a_head_reads_as_its_backbone_with_its_own_labels() {
        let path = head_folder("good", "efficientnet-lite0/model.toml", 1280);
        let spec = ModelSpec::load(&path).unwrap();
        assert_eq!(spec.name, "good");
        assert_eq!(
            spec.labels.iter().collect::<Vec<_>>(),
            ["cat", "dog", "none"]
        );
        assert_eq!(spec.output.name.as_deref(), Some("embedding"));
        assert_eq!(spec.input.width, 224, "the backbone's input");
        assert_eq!(spec.head.as_ref().unwrap().temperature, 1.5);
        assert!(
            spec.backbone
                .unwrap()
                .ends_with("efficientnet-lite0/model.toml")
        );
        assert_eq!(crate::kind::check(&path).unwrap(), ModelKind::ImageHead);
    }

    #[test]
    fn a_backbone_must_be_a_classifier_with_an_embedding() {
        let error = |backbone: &str| {
            ModelSpec::load(head_folder(
                backbone.split('/').next().unwrap(),
                backbone,
                4,
            ))
            .unwrap_err()
            .to_string()
        };
        let no_embedding = error("open-nsfw/model.toml");
        assert!(
            no_embedding.contains("names no [output] embedding"),
            "{no_embedding}"
        );
        let text = error("minilm-l6/model.toml");
        assert!(text.contains("describes a text embedder"), "{text}");
        let itself = error("itself");
        assert!(
            itself.contains("describes a trained classifier head"),
            "{itself}"
        );
    }

    #[test]
    fn the_weights_file_reads_back_and_refuses_what_is_not_a_head() {
        let bytes = head().to_safetensors().unwrap();
        assert_eq!(Head::from_safetensors(&bytes, 2.0).unwrap(), head());
        assert!(Head::from_safetensors(b"not a file", 1.0).is_err());
        let mut nan = head();
        nan.bias[1] = f32::NAN;
        let error = Head::from_safetensors(&nan.to_safetensors().unwrap(), 1.0).unwrap_err();
        assert!(error.contains("finite"), "{error}");
    }
}
