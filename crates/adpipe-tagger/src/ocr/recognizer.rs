//! The OCR text recogniser's `model.toml` (`kind = "ocr_recognizer"`): a
//! straightened crop of one line of text in, per step a probability per
//! character out, read by CTC decoding. See `models/ppocr-rec/model.toml`
//! for every key with its reason.
//!
//! ```toml
//! name = "ppocr-rec"
//! kind = "ocr_recognizer"
//! file = "model.onnx"
//! dictionary = "dict.txt"         # one character per line: class i + 1
//! device = "cpu"
//!
//! [input]
//! name = "x"
//! layout = "NCHW"
//! color = "BGR"
//! height = 48
//! min_width = 320
//!
//! [preprocess]
//! filter = "bilinear"
//! pad_value = 0.0                 # after normalising
//! batch = 1                       # crops per run
//!
//! [normalize]
//! mean = [127.5, 127.5, 127.5]
//! std = [127.5, 127.5, 127.5]
//!
//! [output]
//! name = "fetch_name_0"
//! kind = "ctc"                    # [N, T, classes] probabilities
//! blank = 0
//! append_space = true             # the last class is " "
//! min_confidence = 0.5
//! ```

use std::path::{Path, PathBuf};

use ort::value::Outlet;
use serde::Deserialize;

use super::{OcrGraph, OcrModel, OcrSpec, dims, fixed_to_other, within};
use crate::kind::spec::{KindSpec, ModelKind};
use crate::load::{LoadError, TaggerConfig};
use crate::model_toml::ModelToml;
use crate::spec::{ColorOrder, Device, Filter, Layout, NormalizeSection, SpecError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecognizerInput {
    /// Default: the graph's first input.
    pub name: Option<String>,
    pub layout: Layout,
    #[serde(default)]
    pub color: ColorOrder,
    pub height: u32,
    pub min_width: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecognizerPreprocess {
    #[serde(default)]
    pub filter: Filter,
    #[serde(default)]
    pub pad_value: f32,
    #[serde(default = "one")]
    pub batch: usize,
}

fn one() -> usize {
    1
}

/// What the output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecognizerOutputKind {
    /// `[N, T, classes]` probabilities, read by greedy CTC decoding.
    Ctc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecognizerOutput {
    /// Default: the graph's first output.
    pub name: Option<String>,
    pub kind: RecognizerOutputKind,
    #[serde(default)]
    pub blank: usize,
    #[serde(default)]
    pub append_space: bool,
    #[serde(default)]
    pub min_confidence: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecognizerFile {
    name: Option<String>,
    file: PathBuf,
    dictionary: PathBuf,
    #[serde(default)]
    device: Device,
    input: RecognizerInput,
    #[serde(default = "default_preprocess")]
    preprocess: RecognizerPreprocess,
    #[serde(default)]
    normalize: NormalizeSection,
    output: RecognizerOutput,
}

fn default_preprocess() -> RecognizerPreprocess {
    RecognizerPreprocess {
        filter: Filter::default(),
        pad_value: 0.0,
        batch: 1,
    }
}

/// A checked text recogniser description, its dictionary read.
#[derive(Debug, Clone)]
pub struct RecognizerSpec {
    pub graph: OcrGraph,
    pub dictionary_path: PathBuf,
    /// Class `i + 1` is `characters[i]` (class 0 is the blank); with
    /// `append_space` the class after the last line is a space.
    pub characters: Vec<String>,
    pub input: RecognizerInput,
    pub preprocess: RecognizerPreprocess,
    /// Per channel (model order): `x = pixel * gain + bias`.
    pub gain: [f32; 3],
    pub bias: [f32; 3],
    pub output: RecognizerOutput,
}

impl RecognizerSpec {
    /// The output's classes: the blank, every character, and the space
    /// when it is appended.
    pub fn classes(&self) -> usize {
        1 + self.characters.len() + usize::from(self.output.append_space)
    }

    fn check_fields(file: &RecognizerFile) -> Result<(), String> {
        within("input.height", file.input.height, 1, 4096)?;
        within("input.min_width", file.input.min_width, 1, 65536)?;
        within("preprocess.batch", file.preprocess.batch, 1, 1024)?;
        if !file.preprocess.pad_value.is_finite() {
            return Err("preprocess.pad_value must be a finite number".into());
        }
        within(
            "output.min_confidence",
            file.output.min_confidence,
            0.0,
            1.0,
        )?;
        if file.output.blank != 0 {
            return Err(format!(
                "output.blank must be 0 (class 0 is the CTC blank, dictionary line i class \
                 i + 1), not {}",
                file.output.blank
            ));
        }
        Ok(())
    }
}

/// The dictionary's characters, one per line.
fn read_dictionary(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the dictionary {}: {error}", path.display()))?;
    let characters: Vec<String> = text.lines().map(str::to_owned).collect();
    if let Some(line) = characters.iter().position(String::is_empty) {
        return Err(format!(
            "{}: line {} is empty; each line is one character",
            path.display(),
            line + 1
        ));
    }
    if characters.is_empty() {
        return Err(format!("{} lists no characters", path.display()));
    }
    Ok(characters)
}

impl KindSpec for RecognizerSpec {
    const KIND: ModelKind = ModelKind::OcrRecognizer;
    type Loaded = OcrModel<RecognizerSpec>;

    fn from_toml(toml: &ModelToml) -> Result<Self, SpecError> {
        let file: RecognizerFile = toml.fields()?;
        let invalid = |message: String| toml.invalid(message);
        Self::check_fields(&file).map_err(invalid)?;
        let (gain, bias) = file.normalize.gain_and_bias().map_err(invalid)?;
        let dictionary_path = toml.resolve(&file.dictionary);
        let characters = read_dictionary(&dictionary_path).map_err(invalid)?;
        Ok(Self {
            graph: OcrGraph::read(toml, (file.name, "ocr-recognizer"), file.file, file.device)
                .outlets(&file.input.name, &file.output.name),
            dictionary_path,
            characters,
            input: file.input,
            preprocess: file.preprocess,
            gain,
            bias,
            output: file.output,
        })
    }

    fn load(self, config: &TaggerConfig) -> Result<Self::Loaded, LoadError> {
        OcrModel::load(self, config)
    }
}

impl OcrSpec for RecognizerSpec {
    fn graph(&self) -> &OcrGraph {
        &self.graph
    }

    /// Crops of `height` rows and three channels in, a probability per
    /// class and step out.
    fn check(&self, input: &Outlet, output: &Outlet) -> Result<(), String> {
        let input_dims = dims(input);
        let (channels, rows) = match self.input.layout {
            Layout::NCHW => (1, 2),
            Layout::NHWC => (3, 1),
        };
        let height = self.input.height as usize;
        if input_dims.len() != 4
            || fixed_to_other(input_dims[channels], 3)
            || fixed_to_other(input_dims[rows], height)
        {
            return Err(format!(
                "input {:?} has shape {input_dims:?}; crops {height} high with three channels \
                 ({:?}) were expected",
                input.name(),
                self.input.layout
            ));
        }
        let output_dims = dims(output);
        let classes = self.classes();
        if output_dims.len() != 3 || fixed_to_other(output_dims[2], classes) {
            return Err(format!(
                "output {:?} has shape {output_dims:?}, but the dictionary makes {classes} \
                 classes (the blank, {} characters{})",
                output.name(),
                self.characters.len(),
                if self.output.append_space {
                    " and a space"
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/ppocr-rec/model.toml")
    }

    fn parse(text: &str) -> Result<RecognizerSpec, String> {
        crate::kind::spec::parse(text, &path()).map_err(|error: SpecError| error.to_string())
    }

    fn committed() -> String {
        std::fs::read_to_string(path()).unwrap()
    }

    #[test]
    fn the_committed_recognizer_reads_with_its_dictionary() {
        let spec = parse(&committed()).unwrap();
        assert_eq!(spec.input.height, 48);
        assert_eq!(spec.input.name.as_deref(), Some("x"));
        assert_eq!(spec.characters.len(), 6904);
        assert_eq!(spec.classes(), 6906);
        assert_eq!(spec.characters[0], "!");
        assert_eq!(
            spec.characters[616], "\u{3000}",
            "the ideographic space is a class"
        );
        assert_eq!(spec.output.min_confidence, 0.5);
    }

    #[test]
    fn says_what_is_wrong() {
        let error = |from: &str, to: &str| {
            let text = committed().replacen(&format!("\n{from}"), &format!("\n{to}"), 1);
            parse(&text).unwrap_err()
        };
        let wrong = error("height = 48", "height = 0");
        assert!(wrong.contains("input.height must be between 1"), "{wrong}");
        let wrong = error("blank = 0", "blank = 6905");
        assert!(wrong.contains("output.blank must be 0"), "{wrong}");
        let wrong = error("dictionary = \"dict.txt\"", "dictionary = \"nope.txt\"");
        assert!(wrong.contains("cannot read the dictionary"), "{wrong}");
        let wrong = error("kind = \"ctc\"", "kind = \"attention\"");
        assert!(wrong.contains("unknown variant"), "{wrong}");
    }
}
