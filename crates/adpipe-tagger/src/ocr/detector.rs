//! The OCR text detector's `model.toml` (`kind = "ocr_detector"`): a
//! photo in, per pixel the probability that it is text out (DB,
//! "Differentiable Binarization"); text boxes come from post-processing that
//! map. See `models/ppocr-det/model.toml` for every key with its reason.
//!
//! ```toml
//! name = "ppocr-det"
//! kind = "ocr_detector"
//! file = "model.onnx"
//! recognizer = "../ppocr-rec"     # the recogniser it pairs with (a folder or its model.toml)
//! device = "cpu"
//!
//! [input]                         # height and width are the graph's to choose
//! name = "x"
//! layout = "NCHW"
//! color = "BGR"
//!
//! [preprocess]
//! max_side = 2000                 # guard: a longer side is scaled down to this
//! min_side = 30                   # … a shorter one up to this
//! letterbox_min_height = 30
//! letterbox_max_aspect = 8.0
//! limit_type = "min"              # "min": the shorter side up to limit_side; "max": the longer down
//! limit_side = 736
//! multiple = 32                   # each side rounded to a multiple of this
//! filter = "bilinear"
//!
//! [normalize]
//! mean = [123.675, 116.28, 103.53]
//! std = [58.395, 57.12, 57.375]
//!
//! [output]
//! name = "fetch_name_0"
//! kind = "db_probability_map"     # [N, 1, H, W] probabilities
//!
//! [postprocess]
//! thresh = 0.3
//! box_thresh = 0.5
//! unclip_ratio = 1.6
//! min_size = 3
//! max_candidates = 1000
//! dilate = true
//! score_mode = "fast"             # or "slow"
//! ```

use std::path::PathBuf;

use ort::value::Outlet;
use serde::Deserialize;

use super::{OcrGraph, OcrModel, OcrSpec, dims, fixed_to_other, model_toml_in, within};
use crate::kind::spec::{KindSpec, ModelKind};
use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::spec::{ColorOrder, Device, Filter, Layout, NormalizeSection, SpecError};

/// `[input]`: the image tensor's name, layout and colour order (its height
/// and width are dynamic).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorInput {
    /// Default: the graph's first input.
    pub name: Option<String>,
    pub layout: Layout,
    #[serde(default)]
    pub color: ColorOrder,
}

/// Which side `limit_side` limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitType {
    /// The shorter side is scaled up to `limit_side` when it is shorter.
    Min,
    /// The longer side is scaled down to `limit_side` when it is longer.
    Max,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorPreprocess {
    pub max_side: u32,
    pub min_side: u32,
    pub letterbox_min_height: u32,
    /// f64: compared with the image's aspect ratio in f64, as the reference
    /// does (an f32 would move a written 7.3 off its value).
    pub letterbox_max_aspect: f64,
    pub limit_type: LimitType,
    pub limit_side: u32,
    pub multiple: u32,
    #[serde(default)]
    pub filter: Filter,
}

/// What the output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorOutputKind {
    /// `[N, 1, H, W]` text probabilities, the input's height and width.
    DbProbabilityMap,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorOutput {
    /// Default: the graph's first output.
    pub name: Option<String>,
    pub kind: DetectorOutputKind,
}

/// How a box's score is measured: over its rectangle, or its polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMode {
    Fast,
    Slow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Postprocess {
    pub thresh: f32,
    pub box_thresh: f32,
    /// f64: the box geometry is computed in f64, as the reference does.
    pub unclip_ratio: f64,
    pub min_size: u32,
    pub max_candidates: usize,
    #[serde(default)]
    pub dilate: bool,
    pub score_mode: ScoreMode,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorFile {
    name: Option<String>,
    file: PathBuf,
    recognizer: Option<PathBuf>,
    #[serde(default)]
    device: Device,
    input: DetectorInput,
    preprocess: DetectorPreprocess,
    #[serde(default)]
    normalize: NormalizeSection,
    output: DetectorOutput,
    postprocess: Postprocess,
}

/// A checked text detector description; paths resolved against its folder.
#[derive(Debug, Clone)]
pub struct DetectorSpec {
    pub graph: OcrGraph,
    /// The recogniser's model.toml, when the detector names one.
    pub recognizer: Option<PathBuf>,
    pub input: DetectorInput,
    pub preprocess: DetectorPreprocess,
    /// Per channel (model order): `x = pixel * gain + bias`.
    pub gain: [f32; 3],
    pub bias: [f32; 3],
    pub output: DetectorOutput,
    pub postprocess: Postprocess,
}

/// Larger sides are certainly a typo.
const MAX_SIDE: u32 = 16384;

impl DetectorSpec {
    fn check_fields(file: &DetectorFile) -> Result<(), String> {
        let pre = &file.preprocess;
        within("preprocess.min_side", pre.min_side, 1, MAX_SIDE)?;
        within("preprocess.max_side", pre.max_side, pre.min_side, MAX_SIDE)?;
        within("preprocess.limit_side", pre.limit_side, 1, MAX_SIDE)?;
        within("preprocess.multiple", pre.multiple, 1, 1024)?;
        within(
            "preprocess.letterbox_max_aspect",
            pre.letterbox_max_aspect,
            1.0,
            1000.0,
        )?;
        let post = &file.postprocess;
        within("postprocess.thresh", post.thresh, 0.0, 1.0)?;
        within("postprocess.box_thresh", post.box_thresh, 0.0, 1.0)?;
        within("postprocess.unclip_ratio", post.unclip_ratio, 0.0, 100.0)?;
        within(
            "postprocess.max_candidates",
            post.max_candidates,
            1,
            1 << 20,
        )?;
        Ok(())
    }
}

impl KindSpec for DetectorSpec {
    const KIND: ModelKind = ModelKind::OcrDetector;
    type Loaded = OcrModel<DetectorSpec>;

    fn from_toml(toml: &ModelToml) -> Result<Self, SpecError> {
        let file: DetectorFile = toml.fields()?;
        Self::check_fields(&file).map_err(|message| toml.invalid(message))?;
        let (gain, bias) = file
            .normalize
            .gain_and_bias()
            .map_err(|message| toml.invalid(message))?;
        let recognizer = file
            .recognizer
            .map(|recognizer| model_toml_in(toml.folder(), &recognizer));
        if let Some(path) = recognizer.as_ref().filter(|path| !path.is_file()) {
            return Err(toml.invalid(format!(
                "recognizer: there is no model.toml at {}",
                path.display()
            )));
        }
        Ok(Self {
            graph: OcrGraph::read(toml, (file.name, "ocr-detector"), file.file, file.device)
                .outlets(&file.input.name, &file.output.name),
            recognizer,
            input: file.input,
            preprocess: file.preprocess,
            gain,
            bias,
            output: file.output,
            postprocess: file.postprocess,
        })
    }

    fn load(self, config: &TaggerConfig) -> Result<Self::Loaded, LoadError> {
        OcrModel::load(self, config)
    }
}

impl OcrSpec for DetectorSpec {
    fn graph(&self) -> &OcrGraph {
        &self.graph
    }

    /// An image of any size in (three channels where the layout says),
    /// one probability per pixel out.
    fn check(&self, input: &Outlet, output: &Outlet) -> Result<(), String> {
        let input_dims = dims(input);
        let channels = match self.input.layout {
            Layout::NCHW => 1,
            Layout::NHWC => 3,
        };
        if input_dims.len() != 4 || fixed_to_other(input_dims[channels], 3) {
            return Err(format!(
                "input {:?} has shape {input_dims:?}; a {:?} image of three channels was expected",
                input.name(),
                self.input.layout
            ));
        }
        let output_dims = dims(output);
        if output_dims.len() != 4 || fixed_to_other(output_dims[1], 1) {
            return Err(format!(
                "output {:?} has shape {output_dims:?}; a probability map [N, 1, H, W] was expected",
                output.name()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn committed() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/ppocr-det/model.toml");
        std::fs::read_to_string(path).unwrap()
    }

    fn parse(text: &str) -> Result<DetectorSpec, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/ppocr-det/model.toml");
        crate::kind::spec::parse(text, &path).map_err(|error: SpecError| error.to_string())
    }

    #[test]
    fn the_committed_detector_reads_with_its_recognizer() {
        let spec = parse(&committed()).unwrap();
        assert_eq!(spec.input.name.as_deref(), Some("x"));
        assert_eq!(spec.preprocess.limit_type, LimitType::Min);
        assert_eq!(spec.preprocess.multiple, 32);
        assert_eq!(spec.postprocess.score_mode, ScoreMode::Fast);
        assert!(spec.postprocess.dilate);
        let recognizer = spec.recognizer.expect("it names its recognizer");
        assert!(
            recognizer.ends_with("ppocr-rec/model.toml"),
            "{recognizer:?}"
        );
        assert!((spec.bias[0] + 123.675 / 58.395).abs() < 1e-6);
    }

    #[test]
    fn says_what_is_wrong() {
        // Keys start their line; comments mention some of them too.
        let error = |from: &str, to: &str| {
            let text = committed().replacen(&format!("\n{from}"), &format!("\n{to}"), 1);
            parse(&text).unwrap_err()
        };
        let wrong = error("thresh = 0.3", "thresh = 1.3");
        assert!(
            wrong.contains("postprocess.thresh must be between 0 and 1"),
            "{wrong}"
        );
        let wrong = error("min_side = 30", "min_side = 3000");
        assert!(wrong.contains("preprocess.max_side"), "{wrong}");
        let wrong = error("limit_type = \"min\"", "limit_type = \"least\"");
        assert!(wrong.contains("unknown variant"), "{wrong}");
        let wrong = error("recognizer = \"../ppocr-rec\"", "recognizer = \"../nope\"");
        assert!(wrong.contains("no model.toml at"), "{wrong}");
        let wrong = error("dilate = true", "dilate = true\nerode = true");
        assert!(wrong.contains("unknown field `erode`"), "{wrong}");
    }
}
