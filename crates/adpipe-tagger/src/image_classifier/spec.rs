//! An image classifier's `model.toml` (`kind = "image_classifier"`, the
//! kind of a file that names none): everything adpipe needs to know to run
//! an image classifier it was not compiled for. Swapping models means
//! pointing `ADPIPE_MODEL` at another one of these files.
//!
//! ```toml
//! name = "efficientnet-lite0"
//! kind = "image_classifier"      # optional: the default
//! file = "model.onnx"            # relative to this file
//! labels = "labels.txt"          # one label per line, in output order
//! device = "cpu"                 # or "cuda" (falls back to CPU with a warning)
//!
//! [input]
//! name = "input"                 # default: the model's first input
//! layout = "NCHW"                # or "NHWC"
//! width = 224
//! height = 224
//! color = "RGB"                  # or "BGR"
//!
//! [preprocess]
//! resize = "center_crop"         # or "stretch", "letterbox"
//! shorter_side = 256             # center_crop: shorter side to this, then crop the centre
//! filter = "bilinear"            # nearest | bilinear | catmull_rom | lanczos3
//! views = ["center_crop", "stretch"]   # optional test-time views, max-merged per label
//!
//! [normalize]                    # x = (pixel * scale - mean) / std, pixel in 0..=255,
//! mean = [127.0, 127.0, 127.0]   # channels in the model's colour order
//! std = [128.0, 128.0, 128.0]
//!
//! [output]
//! name = "logits"                # default: the model's first output
//! kind = "logits"                # logits (softmax) | probabilities | sigmoid (multi-label)
//! embedding = "embedding"        # optional: the pooled feature vector, [batch, features],
//!                                # that trained heads (`kind = "image_head"`) read
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use adpipe_core::Labels;
use serde::Deserialize;

use crate::image_head::Head;
use crate::model_toml::ModelToml;
use crate::spec::{ColorOrder, Device, Filter, Layout, NormalizeSection, SpecError};

/// How the whole image is brought to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Shorter side to `shorter_side`, then the centre `width × height`.
    #[default]
    CenterCrop,
    /// The whole image to `stretch_size` ignoring its aspect ratio, then the
    /// centre `width × height` (no crop when `stretch_size` is the input size).
    Stretch,
    /// The whole image, aspect kept, centred on a `letterbox_fill` canvas.
    Letterbox,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::CenterCrop => "center_crop",
            View::Stretch => "stretch",
            View::Letterbox => "letterbox",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Raw scores; softmax turns them into probabilities.
    #[default]
    Logits,
    /// Already probabilities; used as they are.
    Probabilities,
    /// Independent per-label scores (multi-label); sigmoid each.
    Sigmoid,
    /// A feature vector, not scores: returned as it is, the views averaged
    /// ([`ModelSpec::features`]).
    #[serde(skip)]
    Features,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: Option<String>,
    file: PathBuf,
    labels: PathBuf,
    #[serde(default)]
    device: Device,
    #[serde(default)]
    cuda_device_id: i32,
    input: InputSection,
    #[serde(default)]
    preprocess: PreprocessSection,
    #[serde(default)]
    normalize: NormalizeSection,
    #[serde(default)]
    output: OutputSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSection {
    name: Option<String>,
    layout: Layout,
    width: u32,
    height: u32,
    #[serde(default)]
    color: ColorOrder,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PreprocessSection {
    #[serde(default)]
    resize: View,
    views: Option<Vec<View>>,
    shorter_side: Option<u32>,
    stretch_size: Option<[u32; 2]>,
    #[serde(default)]
    letterbox_fill: [u8; 3],
    #[serde(default)]
    filter: Filter,
    /// Encode the resized image as JPEG at this quality and decode it again
    /// before cropping: some models (open_nsfw) were trained on that.
    jpeg_roundtrip_quality: Option<u8>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OutputSection {
    name: Option<String>,
    #[serde(default)]
    kind: OutputKind,
    embedding: Option<String>,
}

/// A validated model description with its paths resolved and labels loaded.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: String,
    /// The model.toml this came from.
    pub source: PathBuf,
    pub model_path: PathBuf,
    pub labels: Labels,
    pub device: Device,
    pub cuda_device_id: i32,
    pub input: InputSpec,
    pub preprocess: PreprocessSpec,
    pub output: OutputSpec,
    /// A trained head applied to the output (the backbone's embedding):
    /// the spec of a `kind = "image_head"` file.
    pub head: Option<Arc<Head>>,
    /// A head's backbone: the model.toml whose session it runs.
    pub backbone: Option<PathBuf>,
    /// The backbone's name: whose feature vectors a head reads.
    pub backbone_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InputSpec {
    pub name: Option<String>,
    pub layout: Layout,
    pub width: u32,
    pub height: u32,
    pub color: ColorOrder,
}

#[derive(Debug, Clone)]
pub struct PreprocessSpec {
    /// The views every image goes through, in batch order; one by default.
    pub views: Vec<View>,
    pub shorter_side: u32,
    pub stretch_size: [u32; 2],
    pub letterbox_fill: [u8; 3],
    pub filter: Filter,
    pub jpeg_roundtrip_quality: Option<u8>,
    /// Per channel (model order): `x = pixel * gain + bias`.
    pub gain: [f32; 3],
    pub bias: [f32; 3],
}

#[derive(Debug, Clone)]
pub struct OutputSpec {
    pub name: Option<String>,
    pub kind: OutputKind,
    /// The output that holds the pooled feature vector, if the model has one.
    pub embedding: Option<String>,
}

/// Model inputs larger than this are certainly a typo.
const MAX_INPUT_SIDE: u32 = 4096;

impl ModelSpec {
    /// The image classifier's fields of `toml`, checked, paths resolved and
    /// labels read.
    pub(crate) fn from_file(toml: &ModelToml) -> Result<Self, SpecError> {
        let file: ModelFile = toml.fields()?;
        let invalid = |message: String| toml.invalid(message);

        let input = &file.input;
        for (side, value) in [("width", input.width), ("height", input.height)] {
            if value == 0 || value > MAX_INPUT_SIDE {
                return Err(invalid(format!(
                    "input.{side} must be between 1 and {MAX_INPUT_SIDE}, not {value}"
                )));
            }
        }

        let pre = &file.preprocess;
        let views = pre.views.clone().unwrap_or_else(|| vec![pre.resize]);
        if views.is_empty() {
            return Err(invalid("preprocess.views lists no view".into()));
        }
        let largest_side = input.width.max(input.height);
        let shorter_side = pre.shorter_side.unwrap_or(largest_side);
        if shorter_side < largest_side {
            return Err(invalid(format!(
                "preprocess.shorter_side ({shorter_side}) is smaller than the input ({}×{}): \
                 the crop would not fit",
                input.width, input.height
            )));
        }
        let stretch_size = pre.stretch_size.unwrap_or([input.width, input.height]);
        if stretch_size[0] < input.width || stretch_size[1] < input.height {
            return Err(invalid(format!(
                "preprocess.stretch_size {:?} is smaller than the input ({}×{})",
                stretch_size, input.width, input.height
            )));
        }
        if let Some(quality) = pre.jpeg_roundtrip_quality
            && !(1..=100).contains(&quality)
        {
            return Err(invalid(format!(
                "preprocess.jpeg_roundtrip_quality must be 1..=100, not {quality}"
            )));
        }

        let (gain, bias) = file.normalize.gain_and_bias().map_err(invalid)?;

        let labels_path = toml.resolve(&file.labels);
        let labels_text = std::fs::read_to_string(&labels_path).map_err(|error| {
            invalid(format!(
                "cannot read labels {}: {error}",
                labels_path.display()
            ))
        })?;
        let labels = Labels::parse(&labels_text)
            .map_err(|error| invalid(format!("{}: {error}", labels_path.display())))?;

        Ok(ModelSpec {
            name: toml.name_or_folder(file.name.clone(), "model"),
            source: toml.path().to_owned(),
            model_path: toml.resolve(&file.file),
            labels,
            device: file.device,
            cuda_device_id: file.cuda_device_id,
            input: InputSpec {
                name: file.input.name.clone(),
                layout: input.layout,
                width: input.width,
                height: input.height,
                color: input.color,
            },
            preprocess: PreprocessSpec {
                views,
                shorter_side,
                stretch_size,
                letterbox_fill: pre.letterbox_fill,
                filter: pre.filter,
                jpeg_roundtrip_quality: pre.jpeg_roundtrip_quality,
                gain,
                bias,
            },
            output: OutputSpec {
                name: file.output.name.clone(),
                kind: file.output.kind,
                embedding: file.output.embedding.clone(),
            },
            head: None,
            backbone: None,
            backbone_name: None,
        })
    }

    /// The same model read for its feature vector instead of its scores:
    /// one embedding per image (the views averaged), for training a head
    /// and for the embeddings kept beside each ad. `None` when the model
    /// names no `[output] embedding`. A head's features are its backbone's.
    pub fn features(&self) -> Option<ModelSpec> {
        let embedding = match &self.head {
            Some(_) => self.output.name.clone()?,
            None => self.output.embedding.clone()?,
        };
        Some(ModelSpec {
            output: OutputSpec {
                name: Some(embedding.clone()),
                kind: OutputKind::Features,
                embedding: Some(embedding),
            },
            head: None,
            ..self.clone()
        })
    }

    /// The model whose feature vectors this one's are: a head's backbone,
    /// or the model itself. Embeddings are kept under this name.
    pub fn embedding_model(&self) -> &str {
        self.backbone_name.as_deref().unwrap_or(&self.name)
    }

    /// Floats in one image's slot of the input tensor (all views together).
    pub fn floats_per_image(&self) -> usize {
        self.floats_per_view() * self.preprocess.views.len()
    }

    pub fn floats_per_view(&self) -> usize {
        self.input.width as usize * self.input.height as usize * 3
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write_labels(dir: &Path) {
        std::fs::write(dir.join("labels.txt"), "cat\ndog\n").unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("adpipe-spec-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_labels(&dir);
        dir
    }

    #[test]
    fn parses_a_full_description_and_folds_normalization() {
        let dir = temp_dir("full");
        let spec = ModelSpec::parse(
            r#"
            file = "model.onnx"
            labels = "labels.txt"
            [input]
            layout = "NHWC"
            width = 224
            height = 224
            color = "BGR"
            [preprocess]
            resize = "stretch"
            stretch_size = [256, 256]
            views = ["stretch", "letterbox"]
            [normalize]
            mean = [104.0, 117.0, 123.0]
            [output]
            kind = "probabilities"
            "#,
            &dir.join("model.toml"),
        )
        .unwrap();
        assert_eq!(spec.model_path, dir.join("model.onnx"));
        assert_eq!(spec.labels.len(), 2);
        assert_eq!(spec.input.layout, Layout::NHWC);
        assert_eq!(spec.preprocess.views, [View::Stretch, View::Letterbox]);
        assert_eq!(spec.preprocess.gain, [1.0; 3]);
        assert_eq!(spec.preprocess.bias, [-104.0, -117.0, -123.0]);
        assert_eq!(spec.floats_per_image(), 2 * 224 * 224 * 3);
        assert_eq!(spec.name, dir.file_name().unwrap().to_string_lossy());
    }

    #[test]
    fn says_what_is_wrong() {
        let dir = temp_dir("wrong");
        let path = dir.join("model.toml");
        let base = "file = 'm.onnx'\nlabels = 'labels.txt'\n";
        let error = |extra: &str| {
            ModelSpec::parse(&format!("{base}{extra}"), &path)
                .unwrap_err()
                .to_string()
        };
        assert!(error("[input]\nlayout='NCHW'\nwidth=0\nheight=3").contains("input.width must be"));
        assert!(
            error("[input]\nlayout='NCHW'\nwidth=224\nheight=224\n[preprocess]\nshorter_side=200")
                .contains("smaller than the input")
        );
        assert!(error("[input]\nlayout='NCWH'\nwidth=2\nheight=2").contains("unknown variant"));
        assert!(
            error("[input]\nlayout='NCHW'\nwidth=2\nheight=2\n[normalize]\nstd=[0.0,1.0,1.0]")
                .contains("non-zero")
        );
        let missing = ModelSpec::parse(
            "file='m.onnx'\nlabels='nope.txt'\n[input]\nlayout='NCHW'\nwidth=2\nheight=2",
            &path,
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("cannot read labels"), "{missing}");
    }

    #[test]
    fn the_kind_may_be_named_and_another_kind_is_refused_with_a_reason() {
        let dir = temp_dir("kind");
        let path = dir.join("model.toml");
        let body = "file = 'm.onnx'\nlabels = 'labels.txt'\n[input]\nlayout = 'NCHW'\nwidth = 2\nheight = 2\n";
        let named = ModelSpec::parse(&format!("kind = 'image_classifier'\n{body}"), &path);
        assert_eq!(named.unwrap().input.width, 2);
        let error = ModelSpec::parse(&format!("kind = 'text_embedder'\n{body}"), &path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("describes a text embedder"), "{error}");
        assert!(error.contains("must be an image classifier"), "{error}");
    }
}
