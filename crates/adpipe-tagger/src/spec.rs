//! What every kind's `model.toml` shares: its errors, the device it runs
//! on, and the words for an image input (layout, colour order, resampling
//! filter, normalisation) that the image classifier and the OCR models both
//! use. Each kind's own fields are in its module ([`crate::kind`]); the file
//! is read by [`crate::model_toml::ModelToml`].

use std::path::PathBuf;

pub use adpipe_core::ModelKind;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read model description {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid model description: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path} describes {} (kind = \"{found}\"), but {role} must be {} (kind = \"{expected}\"{})",
        .found.describe(),
        .expected.describe(),
        if *.expected == ModelKind::default() { ", or no kind" } else { "" }
    )]
    WrongKind {
        path: PathBuf,
        found: ModelKind,
        expected: ModelKind,
        /// The slot it was loaded for, in a sentence ("the model (--model,
        /// ADPIPE_MODEL)").
        role: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Layout {
    #[serde(alias = "nchw")]
    NCHW,
    #[serde(alias = "nhwc")]
    NHWC,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum ColorOrder {
    #[default]
    #[serde(alias = "rgb")]
    RGB,
    #[serde(alias = "bgr")]
    BGR,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    Nearest,
    #[default]
    Bilinear,
    CatmullRom,
    Lanczos3,
}

/// `[normalize]`: `x = (pixel * scale - mean) / std` per channel, pixel in
/// 0..=255, channels in the model's colour order; or `offset` instead of
/// mean and std (`x = pixel * scale + offset`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NormalizeSection {
    #[serde(default = "one")]
    scale: f32,
    mean: Option<[f32; 3]>,
    std: Option<[f32; 3]>,
    offset: Option<[f32; 3]>,
}

impl Default for NormalizeSection {
    fn default() -> Self {
        Self {
            scale: 1.0,
            mean: None,
            std: None,
            offset: None,
        }
    }
}

fn one() -> f32 {
    1.0
}

impl NormalizeSection {
    /// Folds mean/std or offset into one multiply-add per channel:
    /// `(gain, bias)` with `x = pixel * gain + bias`.
    pub(crate) fn gain_and_bias(&self) -> Result<([f32; 3], [f32; 3]), String> {
        if self.offset.is_some() && (self.mean.is_some() || self.std.is_some()) {
            return Err("[normalize] takes either mean/std or offset, not both".into());
        }
        let mean = match self.offset {
            Some(offset) => offset.map(|o| -o),
            None => self.mean.unwrap_or([0.0; 3]),
        };
        let std = self.std.unwrap_or([1.0; 3]);
        if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(format!(
                "normalize.std must be finite and non-zero, not {std:?}"
            ));
        }
        if !self.scale.is_finite() || self.scale == 0.0 {
            return Err(format!(
                "normalize.scale must be finite and non-zero, not {}",
                self.scale
            ));
        }
        let gain = [0, 1, 2].map(|c| self.scale / std[c]);
        let bias = [0, 1, 2].map(|c| -mean[c] / std[c]);
        Ok((gain, bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_kind_says_what_the_file_is_and_what_was_needed() {
        let error = SpecError::WrongKind {
            path: "models/minilm-l6/model.toml".into(),
            found: ModelKind::TextEmbedder,
            expected: ModelKind::ImageClassifier,
            role: "the model (--model, ADPIPE_MODEL)".into(),
        }
        .to_string();
        assert_eq!(
            error,
            "models/minilm-l6/model.toml describes a text embedder (kind = \"text_embedder\"), \
             but the model (--model, ADPIPE_MODEL) must be an image classifier \
             (kind = \"image_classifier\", or no kind)"
        );
    }
}
