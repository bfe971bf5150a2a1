//! The OCR pipeline: the detector finds the text boxes of a photo, the
//! recogniser reads each box's straightened crop. Step for step what
//! `scripts/ocr-reference.py` (its default pure geometry) does, with every
//! parameter from the two model.toml files.

use std::path::Path;

use adpipe_core::TextInImage;
use image::RgbImage;
use ort::value::TensorRef;

use super::boxes::{self, ProbabilityMap};
use super::ctc;
use super::detector::DetectorSpec;
use super::frame::{WorkingImage, reading_order, to_multiple};
use super::geometry::Quad;
use super::raster::{resize_bilinear, rotate_counter_clockwise, warp_quad};
use super::recognizer::RecognizerSpec;
use super::{OcrModel, OcrSpec};
use crate::classifier::ModelError;
use crate::kind::spec::{KindSpec, read_for};
use crate::load::{LoadError, TaggerConfig};
use crate::spec::{ColorOrder, Layout};

/// A text box the detector found.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// In the photo's pixels, clockwise from the top-left corner, rounded.
    pub corners: [[f32; 2]; 4],
    /// The mean text probability inside the box, 0 to 1.
    pub score: f32,
    /// In the working image's pixels (scaled, letterboxed): what the
    /// recogniser's crop is cut from.
    working: Quad,
}

/// The detector and its recogniser, loaded.
#[derive(Debug)]
pub struct OcrReader {
    detector: OcrModel<DetectorSpec>,
    recognizer: OcrModel<RecognizerSpec>,
    /// The recogniser's classes: the blank, the dictionary, maybe a space.
    classes: Vec<String>,
}

impl OcrReader {
    /// Loads the detector described by `detector_model_toml` and the
    /// recogniser its `recognizer` key names.
    pub fn load(detector_model_toml: &Path, config: &TaggerConfig) -> Result<Self, LoadError> {
        let spec: DetectorSpec = read_for(detector_model_toml, "the OCR detector")?;
        let recognizer_toml = spec.recognizer.clone().ok_or_else(|| {
            LoadError::Spec(crate::spec::SpecError::Invalid {
                path: detector_model_toml.to_owned(),
                message: "it names no recognizer (recognizer = \"../ppocr-rec\")".into(),
            })
        })?;
        let recognizer_spec: RecognizerSpec =
            read_for(&recognizer_toml, "the OCR detector's recognizer")?;
        let mut classes = Vec::with_capacity(recognizer_spec.classes());
        classes.push(String::new());
        classes.extend(recognizer_spec.characters.iter().cloned());
        if recognizer_spec.output.append_space {
            classes.push(" ".to_owned());
        }
        Ok(Self {
            detector: spec.load(config)?,
            recognizer: recognizer_spec.load(config)?,
            classes,
        })
    }

    pub fn detector(&self) -> &OcrModel<DetectorSpec> {
        &self.detector
    }

    pub fn recognizer(&self) -> &OcrModel<RecognizerSpec> {
        &self.recognizer
    }

    /// The lines of text in `image`, in reading order (top to bottom, then
    /// left to right), without those the recogniser is unsure of.
    pub fn read(&self, image: &RgbImage) -> Result<Vec<TextInImage>, ModelError> {
        let working = WorkingImage::new(image, &self.detector.spec().preprocess);
        let boxes = self.detect_in(&working)?;
        self.recognize_in(&working, &boxes)
    }

    /// The text boxes of `image`, in reading order.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<TextBox>, ModelError> {
        self.detect_in(&WorkingImage::new(image, &self.detector.spec().preprocess))
    }

    /// Reads `boxes`, which [`OcrReader::detect`] found in the same
    /// `image`; a line is left out when its text is empty or its confidence
    /// under the recogniser's `min_confidence`.
    pub fn recognize(
        &self,
        image: &RgbImage,
        boxes: &[TextBox],
    ) -> Result<Vec<TextInImage>, ModelError> {
        self.recognize_in(
            &WorkingImage::new(image, &self.detector.spec().preprocess),
            boxes,
        )
    }

    fn detect_in(&self, working: &WorkingImage) -> Result<Vec<TextBox>, ModelError> {
        let spec = self.detector.spec();
        let (width, height) = working.image.dimensions();
        if width == 0 || height == 0 {
            return Ok(Vec::new());
        }
        let (input_width, input_height) = working.detector_input(&spec.preprocess);
        let map = self.probability_map(&working.image, input_width, input_height)?;
        let (w, h) = (map.width, map.height);
        let (fw, fh) = (f64::from(width), f64::from(height));
        let mut found: Vec<(Quad, f32)> = Vec::new();
        for candidate in boxes::candidates(&map, &spec.postprocess) {
            // To the working image's pixels, rounded (half to even, as
            // np.round) and clipped, then kept inside the last pixel.
            let scaled = candidate.corners.map(|[x, y]| {
                [
                    (x / w as f64 * fw).round_ties_even().clamp(0.0, fw),
                    (y / h as f64 * fh).round_ties_even().clamp(0.0, fh),
                ]
            });
            let quad = super::geometry::order_clockwise(&scaled)
                .map(|[x, y]| [x.clamp(0.0, fw - 1.0), y.clamp(0.0, fh - 1.0)]);
            if side_length(quad[0], quad[1]) <= 3 || side_length(quad[0], quad[3]) <= 3 {
                continue;
            }
            found.push((quad, candidate.score));
        }
        let first_corners: Vec<_> = found.iter().map(|(quad, _)| quad[0]).collect();
        Ok(reading_order(&first_corners)
            .into_iter()
            .map(|index| {
                let (quad, score) = found[index];
                TextBox {
                    corners: working.to_original(&quad),
                    score,
                    working: quad,
                }
            })
            .collect())
    }

    /// Whether `image` shows any text at all, from one detector run on a
    /// copy whose longer side is about `side` pixels: a glance that costs
    /// a fraction of [`OcrReader::detect`] at the model's own size (the
    /// pixels, and so the time, fall with the square of the side), so that
    /// the many photos without text pay only that. Text too small to show
    /// at that size is missed: the side is a trade measured in
    /// BENCHMARKS.md ("Text in the photo").
    pub fn glance(&self, image: &RgbImage, side: u32) -> Result<bool, ModelError> {
        let spec = self.detector.spec();
        let (width, height) = image.dimensions();
        if width == 0 || height == 0 {
            return Ok(false);
        }
        let ratio = f64::from(side) / f64::from(width.max(height));
        let scaled =
            |value: u32| to_multiple((f64::from(value) * ratio) as u32, spec.preprocess.multiple);
        let map = self.probability_map(image, scaled(width), scaled(height))?;
        Ok(!boxes::candidates(&map, &spec.postprocess).is_empty())
    }

    /// The detector's text probability per pixel of `image` resized to
    /// `width` × `height` (multiples of the detector's `multiple`).
    fn probability_map(
        &self,
        image: &RgbImage,
        width: u32,
        height: u32,
    ) -> Result<ProbabilityMap, ModelError> {
        let spec = self.detector.spec();
        let resized = resize_bilinear(image, width, height);
        let (w, h) = (width as usize, height as usize);
        let mut input = vec![0f32; 3 * w * h];
        let encoding = Encoding {
            layout: spec.input.layout,
            color: spec.input.color,
            gain: spec.gain,
            bias: spec.bias,
        };
        encoding.write(&resized, &mut input, w, h);
        let shape = encoding.shape(1, w, h);
        let values = run(&self.detector, shape, &input, w * h)?;
        Ok(ProbabilityMap {
            width: w,
            height: h,
            values,
        })
    }

    fn recognize_in(
        &self,
        working: &WorkingImage,
        boxes: &[TextBox],
    ) -> Result<Vec<TextInImage>, ModelError> {
        let spec = self.recognizer.spec();
        let crops: Vec<Option<RgbImage>> = boxes
            .iter()
            .map(|text_box| crop(&working.image, &text_box.working))
            .collect();
        // By aspect ratio (stably), so that a batch holds crops of like
        // width, as the reference sorts them.
        let mut order: Vec<(usize, &RgbImage, f64)> = crops
            .iter()
            .enumerate()
            .filter_map(|(index, crop)| {
                let crop = crop.as_ref()?;
                Some((
                    index,
                    crop,
                    f64::from(crop.width()) / f64::from(crop.height()),
                ))
            })
            .collect();
        order.sort_by(|a, b| a.2.total_cmp(&b.2));
        let height = spec.input.height;
        let least_ratio = f64::from(spec.input.min_width) / f64::from(height);
        let encoding = Encoding {
            layout: spec.input.layout,
            color: spec.input.color,
            gain: spec.gain,
            bias: spec.bias,
        };
        let mut decoded: Vec<Option<ctc::Decoded>> = vec![None; boxes.len()];
        for batch in order.chunks(spec.preprocess.batch.max(1)) {
            // As wide as the batch's widest crop at `height`, at least
            // min_width.
            let widest = batch.iter().map(|item| item.2).fold(least_ratio, f64::max);
            let width = (f64::from(height) * widest) as u32;
            let (w, h) = (width as usize, height as usize);
            let mut input = vec![spec.preprocess.pad_value; batch.len() * 3 * w * h];
            for (slot, (_, crop, _)) in input.chunks_exact_mut(3 * w * h).zip(batch) {
                let scaled_width = (f64::from(height) * f64::from(crop.width())
                    / f64::from(crop.height()))
                .ceil() as u32;
                let resized = resize_bilinear(crop, scaled_width.min(width), height);
                encoding.write(&resized, slot, w, h);
            }
            let shape = encoding.shape(batch.len(), w, h);
            let probabilities = run(&self.recognizer, shape, &input, 0)?;
            let per_crop = probabilities.len() / batch.len().max(1);
            if per_crop == 0 || per_crop % self.classes.len() != 0 {
                return Err(ModelError::Inference(format!(
                    "the recogniser gave {} values for {} crops of {} classes",
                    probabilities.len(),
                    batch.len(),
                    self.classes.len()
                )));
            }
            for ((index, ..), row) in batch.iter().zip(probabilities.chunks_exact(per_crop)) {
                decoded[*index] = Some(ctc::greedy_decode(row, &self.classes));
            }
        }
        let min_confidence = f64::from(spec.output.min_confidence);
        Ok(boxes
            .iter()
            .zip(decoded)
            .filter_map(|(text_box, line)| {
                let line = line?;
                let sure = f64::from(line.confidence) >= min_confidence;
                (sure && !line.text.is_empty()).then_some(TextInImage {
                    text: line.text,
                    corners: text_box.corners,
                    confidence: line.confidence,
                })
            })
            .collect())
    }
}

/// `int(|b - a|)` with the norm in f32, as the reference measures a box's
/// sides (its corners are f32 there).
fn side_length(a: [f64; 2], b: [f64; 2]) -> u32 {
    let (dx, dy) = ((b[0] - a[0]) as f32, (b[1] - a[1]) as f32);
    (dx * dx + dy * dy).sqrt() as u32
}

/// The box cut out straight: as wide and high as its longer opposite
/// sides; a crop at least 1.5 times as high as wide is turned 90 degrees
/// counter-clockwise (vertical text). None for a degenerate box.
fn crop(image: &RgbImage, quad: &Quad) -> Option<RgbImage> {
    let width = side_length(quad[0], quad[1]).max(side_length(quad[2], quad[3]));
    let height = side_length(quad[0], quad[3]).max(side_length(quad[1], quad[2]));
    if width == 0 || height == 0 {
        return None;
    }
    let straight = warp_quad(image, quad, width, height)?;
    Some(if f64::from(height) / f64::from(width) >= 1.5 {
        rotate_counter_clockwise(&straight)
    } else {
        straight
    })
}

/// How an image becomes a model's input tensor.
struct Encoding {
    layout: Layout,
    color: ColorOrder,
    gain: [f32; 3],
    bias: [f32; 3],
}

impl Encoding {
    fn shape(&self, items: usize, width: usize, height: usize) -> [usize; 4] {
        match self.layout {
            Layout::NCHW => [items, 3, height, width],
            Layout::NHWC => [items, height, width, 3],
        }
    }

    /// Writes `image` normalised into one item's slot of a tensor `width`
    /// wide and `height` high, from its top-left corner; the rest of the
    /// slot stays as it is (the padding).
    fn write(&self, image: &RgbImage, slot: &mut [f32], width: usize, height: usize) {
        for (x, y, pixel) in image.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            if x >= width || y >= height {
                continue;
            }
            for channel in 0..3 {
                let source = match self.color {
                    ColorOrder::RGB => channel,
                    ColorOrder::BGR => 2 - channel,
                };
                let value = f32::from(pixel.0[source]) * self.gain[channel] + self.bias[channel];
                let index = match self.layout {
                    Layout::NCHW => (channel * height + y) * width + x,
                    Layout::NHWC => (y * width + x) * 3 + channel,
                };
                slot[index] = value;
            }
        }
    }
}

/// Runs `model` on `input` of `shape`, returning its output; `expected`
/// values when not 0.
fn run<S: OcrSpec>(
    model: &OcrModel<S>,
    shape: [usize; 4],
    input: &[f32],
    expected: usize,
) -> Result<Vec<f32>, ModelError> {
    let inference = |error: ort::Error| ModelError::Inference(error.to_string());
    let tensor = TensorRef::from_array_view((shape, input)).map_err(inference)?;
    // A panic elsewhere while it was held leaves the session as it was.
    let mut session = model
        .session()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let outputs = session
        .run(ort::inputs![model.input_name() => tensor])
        .map_err(inference)?;
    let (output_shape, values) = outputs[model.output_name()]
        .try_extract_tensor::<f32>()
        .map_err(inference)?;
    if expected != 0 && values.len() != expected {
        return Err(ModelError::Inference(format!(
            "{} gave an output of shape {:?}; {expected} values were expected",
            model.spec().graph().name,
            &**output_shape
        )));
    }
    Ok(values.to_vec())
}
