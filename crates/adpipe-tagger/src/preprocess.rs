//! Decoded RGB → the model's input tensor: one resampling pass per view
//! (straight from the source into the crop, SIMD convolution), then a
//! lookup-table normalisation into the tensor slot in the model's layout and
//! colour order.

use std::cell::RefCell;

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

use crate::image_classifier::spec::{ModelSpec, View};
use crate::spec::{ColorOrder, Filter, Layout};
use adpipe_image::{DecodeError, DecodeLimits, RgbImage};

/// Turns image bytes into floats for one model. Cheap to share between
/// threads: it holds no buffers of its own.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    width: u32,
    height: u32,
    layout: Layout,
    views: Vec<View>,
    shorter_side: u32,
    stretch_size: [u32; 2],
    letterbox_fill: [u8; 3],
    algorithm: ResizeAlg,
    jpeg_roundtrip_quality: Option<u8>,
    /// `lut[c][v]`: model channel `c` for 8-bit value `v`, normalised.
    lut: Box<[[f32; 256]; 3]>,
    /// For model channel `c`, the RGB channel to read.
    source_channel: [usize; 3],
    limits: DecodeLimits,
}

/// How much a view must still shrink a picture decoded at a reduced JPEG
/// scale. The DCT's downscaling is sharper than the resizer's filter over
/// the full picture, and the models were trained on the latter: decoded
/// just big enough (headroom 1), 4 of the 26 committed photos changed their
/// top-1 label (two vehicles among them) and top-5 probabilities moved by
/// up to 0.066; with 2, none changed and the largest move was 0.015
/// (BENCHMARKS.md, "Decoding at a reduced scale").
const RESAMPLING_HEADROOM: u32 = 2;

thread_local! {
    // Its scratch buffers are worth keeping between images.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Where in the source to sample and where the result lands.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    /// The source rectangle, in source pixels (fractional).
    crop: [f64; 4],
    /// Size of the resampled rectangle.
    out_width: u32,
    out_height: u32,
    /// Its top-left corner on the model-sized canvas (letterbox only).
    x: u32,
    y: u32,
}

impl Preprocessor {
    pub fn new(spec: &ModelSpec) -> Self {
        let pre = &spec.preprocess;
        let mut lut = Box::new([[0f32; 256]; 3]);
        for (channel, table) in lut.iter_mut().enumerate() {
            for (value, slot) in table.iter_mut().enumerate() {
                *slot = value as f32 * pre.gain[channel] + pre.bias[channel];
            }
        }
        Self {
            width: spec.input.width,
            height: spec.input.height,
            layout: spec.input.layout,
            views: pre.views.clone(),
            shorter_side: pre.shorter_side,
            stretch_size: pre.stretch_size,
            letterbox_fill: pre.letterbox_fill,
            algorithm: match pre.filter {
                Filter::Nearest => ResizeAlg::Nearest,
                Filter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
                Filter::CatmullRom => ResizeAlg::Convolution(FilterType::CatmullRom),
                Filter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
            },
            jpeg_roundtrip_quality: pre.jpeg_roundtrip_quality,
            lut,
            source_channel: match spec.input.color {
                ColorOrder::RGB => [0, 1, 2],
                ColorOrder::BGR => [2, 1, 0],
            },
            limits: DecodeLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Floats one image fills: every view, one after the other.
    pub fn floats_per_image(&self) -> usize {
        self.floats_per_view() * self.views.len()
    }

    pub fn views(&self) -> &[View] {
        &self.views
    }

    fn floats_per_view(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    /// Decodes `bytes` (a JPEG at a reduced scale where that is
    /// [`Preprocessor::big_enough`]) and writes all views into `out`
    /// (`floats_per_image()` long).
    pub fn prepare(&self, bytes: &[u8], out: &mut [f32]) -> Result<(), DecodeError> {
        let image = adpipe_image::decode_reduced(bytes, &self.limits, &|width, height| {
            self.big_enough(width, height)
        })?;
        self.prepare_decoded(&image, out)
    }

    /// Whether a picture this large still gives every view as the model
    /// expects it: each view shrinks it by [`RESAMPLING_HEADROOM`] or more.
    /// A JPEG is then decoded at the smallest DCT scale that is big enough.
    pub fn big_enough(&self, width: u32, height: u32) -> bool {
        let (width, height) = (width / RESAMPLING_HEADROOM, height / RESAMPLING_HEADROOM);
        let covers_model = width >= self.width && height >= self.height;
        self.views.iter().all(|view| match view {
            View::CenterCrop => covers_model && width.min(height) >= self.shorter_side,
            View::Stretch => {
                covers_model && width >= self.stretch_size[0] && height >= self.stretch_size[1]
            }
            // Fitted inside the model's input: one side reaches it.
            View::Letterbox => width >= self.width || height >= self.height,
        })
    }

    /// Writes all views of an already decoded image into `out`. An image
    /// the resizer refuses is an error for that image alone.
    pub fn prepare_decoded(&self, image: &RgbImage, out: &mut [f32]) -> Result<(), DecodeError> {
        assert_eq!(
            out.len(),
            self.floats_per_image(),
            "output slot has the wrong size"
        );
        let mut canvas = vec![0u8; self.floats_per_view()];
        for (view, slot) in self
            .views
            .iter()
            .zip(out.chunks_exact_mut(self.floats_per_view()))
        {
            self.render(*view, image, &mut canvas)?;
            self.normalize(&canvas, slot);
        }
        Ok(())
    }

    /// The model-sized RGB8 picture of one view (also used by tests and
    /// tools to see what the model sees).
    pub fn render_view(&self, view: View, image: &RgbImage) -> Result<RgbImage, DecodeError> {
        let mut canvas = vec![0u8; self.floats_per_view()];
        self.render(view, image, &mut canvas)?;
        Ok(RgbImage {
            width: self.width,
            height: self.height,
            pixels: canvas,
        })
    }

    fn render(&self, view: View, image: &RgbImage, canvas: &mut [u8]) -> Result<(), DecodeError> {
        if let Some(quality) = self.jpeg_roundtrip_quality {
            return self.render_with_roundtrip(view, image, quality, canvas);
        }
        let plan = self.plan(view, image.width, image.height);
        let source = ImageRef::new(image.width, image.height, &image.pixels, PixelType::U8x3)
            .map_err(unresizable)?;
        if plan.out_width == self.width && plan.out_height == self.height {
            let mut target = Image::from_slice_u8(self.width, self.height, canvas, PixelType::U8x3)
                .map_err(unresizable)?;
            return self.resample(&source, &mut target, plan.crop);
        }
        // Letterbox: resample into a smaller picture, then centre it.
        let mut target = Image::new(plan.out_width, plan.out_height, PixelType::U8x3);
        self.resample(&source, &mut target, plan.crop)?;
        for pixel in canvas.chunks_exact_mut(3) {
            pixel.copy_from_slice(&self.letterbox_fill);
        }
        let row = plan.out_width as usize * 3;
        let canvas_row = self.width as usize * 3;
        for (y, line) in target.buffer().chunks_exact(row).enumerate() {
            let start = (plan.y as usize + y) * canvas_row + plan.x as usize * 3;
            canvas[start..start + row].copy_from_slice(line);
        }
        Ok(())
    }

    /// The model was trained on images that went through a JPEG round trip
    /// after resizing (open_nsfw's Caffe pipeline): resize to the
    /// intermediate size, encode and decode, then crop.
    fn render_with_roundtrip(
        &self,
        view: View,
        image: &RgbImage,
        quality: u8,
        canvas: &mut [u8],
    ) -> Result<(), DecodeError> {
        let plain = Self {
            jpeg_roundtrip_quality: None,
            ..self.clone()
        };
        let intermediate_size = match view {
            View::CenterCrop => Some(shorter_side_size(
                image.width,
                image.height,
                self.shorter_side,
            )),
            View::Stretch => Some((self.stretch_size[0], self.stretch_size[1])),
            View::Letterbox => None,
        };
        let Some((inter_w, inter_h)) =
            intermediate_size.filter(|&(w, h)| w <= MAX_ROUNDTRIP_SIDE && h <= MAX_ROUNDTRIP_SIDE)
        else {
            // Letterbox (or an absurd aspect ratio): round-trip the
            // model-sized picture itself.
            plain.render(view, image, canvas)?;
            let decoded = jpeg_roundtrip(canvas, self.width, self.height, quality)?;
            canvas.copy_from_slice(&decoded);
            return Ok(());
        };
        let (left, top) = (
            centered(inter_w, self.width),
            centered(inter_h, self.height),
        );
        let source = ImageRef::new(image.width, image.height, &image.pixels, PixelType::U8x3)
            .map_err(unresizable)?;
        let mut intermediate = Image::new(inter_w, inter_h, PixelType::U8x3);
        self.resample(
            &source,
            &mut intermediate,
            [0.0, 0.0, f64::from(image.width), f64::from(image.height)],
        )?;
        let decoded = jpeg_roundtrip(intermediate.buffer(), inter_w, inter_h, quality)?;
        let row = self.width as usize * 3;
        for y in 0..self.height as usize {
            let start = ((top as usize + y) * inter_w as usize + left as usize) * 3;
            canvas[y * row..(y + 1) * row].copy_from_slice(&decoded[start..start + row]);
        }
        Ok(())
    }

    fn resample(
        &self,
        source: &ImageRef<'_>,
        target: &mut Image<'_>,
        crop: [f64; 4],
    ) -> Result<(), DecodeError> {
        let options = ResizeOptions::new()
            .resize_alg(self.algorithm)
            .crop(crop[0], crop[1], crop[2], crop[3]);
        RESIZER
            .with_borrow_mut(|resizer| resizer.resize(source, target, &options))
            .map_err(unresizable)
    }

    fn plan(&self, view: View, width: u32, height: u32) -> Plan {
        let (w, h) = (f64::from(width), f64::from(height));
        // Resize to (rw, rh), then take (self.width, self.height) at
        // (left, top): expressed as one rectangle of the source.
        let scaled_crop = |rw: u32, rh: u32| {
            let (sx, sy) = (w / f64::from(rw), h / f64::from(rh));
            let left = f64::from(centered(rw, self.width));
            let top = f64::from(centered(rh, self.height));
            [
                left * sx,
                top * sy,
                f64::from(self.width) * sx,
                f64::from(self.height) * sy,
            ]
        };
        // The scale factors are rounded: a crop that should end exactly at
        // the source's edge can overshoot it by a fraction of a pixel,
        // which the resizer refuses. Keep every rectangle inside.
        let inside = |[x, y, cw, ch]: [f64; 4]| {
            let (x, y) = (x.clamp(0.0, w), y.clamp(0.0, h));
            [x, y, cw.min(w - x), ch.min(h - y)]
        };
        let crop_of = |rw: u32, rh: u32| inside(scaled_crop(rw, rh));
        let full = Plan {
            crop: [0.0, 0.0, w, h],
            out_width: self.width,
            out_height: self.height,
            x: 0,
            y: 0,
        };
        match view {
            View::CenterCrop => {
                let (rw, rh) = shorter_side_size(width, height, self.shorter_side);
                Plan {
                    crop: crop_of(rw, rh),
                    ..full
                }
            }
            View::Stretch => Plan {
                crop: crop_of(self.stretch_size[0], self.stretch_size[1]),
                ..full
            },
            View::Letterbox => {
                let scale = (f64::from(self.width) / w).min(f64::from(self.height) / h);
                let out_width = ((w * scale).round() as u32).clamp(1, self.width);
                let out_height = ((h * scale).round() as u32).clamp(1, self.height);
                Plan {
                    out_width,
                    out_height,
                    x: (self.width - out_width) / 2,
                    y: (self.height - out_height) / 2,
                    ..full
                }
            }
        }
    }

    fn normalize(&self, rgb: &[u8], out: &mut [f32]) {
        let [r, g, b] = self.source_channel;
        let lut = &*self.lut;
        match self.layout {
            Layout::NHWC => {
                for (pixel, floats) in rgb.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
                    floats[0] = lut[0][pixel[r] as usize];
                    floats[1] = lut[1][pixel[g] as usize];
                    floats[2] = lut[2][pixel[b] as usize];
                }
            }
            Layout::NCHW => {
                let plane = rgb.len() / 3;
                let (first, rest) = out.split_at_mut(plane);
                let (second, third) = rest.split_at_mut(plane);
                for (i, pixel) in rgb.chunks_exact(3).enumerate() {
                    first[i] = lut[0][pixel[r] as usize];
                    second[i] = lut[1][pixel[g] as usize];
                    third[i] = lut[2][pixel[b] as usize];
                }
            }
        }
    }
}

/// Keeps the intermediate picture of a JPEG round trip small (and within
/// JPEG's 65535-pixel side).
const MAX_ROUNDTRIP_SIDE: u32 = 8192;

/// Size after scaling the shorter side to `shorter`; the longer side is
/// truncated as torchvision's `Resize(int)` does.
fn shorter_side_size(width: u32, height: u32, shorter: u32) -> (u32, u32) {
    // Rounded to the nearest pixel, as Pillow users write it
    // (`round(w * 256 / h)`): truncating instead flips close calls such as
    // tiger cat / Egyptian cat against the reference predictions.
    let (w, h) = (u64::from(width), u64::from(height));
    let s = u64::from(shorter);
    let scaled = |long: u64, short: u64| ((s * long + short / 2) / short) as u32;
    if w <= h {
        (shorter, scaled(h, w).max(shorter))
    } else {
        (scaled(w, h).max(shorter), shorter)
    }
}

/// Offset of a centred `inner` span in `outer`, rounded down as
/// `(outer - inner) // 2` does in the reference preprocessing.
fn centered(outer: u32, inner: u32) -> u32 {
    outer.saturating_sub(inner) / 2
}

/// The resizer refused an image: that image fails, with the reason.
fn unresizable(error: impl std::fmt::Display) -> DecodeError {
    DecodeError::Unprocessable(error.to_string())
}

/// Encodes RGB8 as a baseline JPEG (4:2:0, like libjpeg's defaults) and
/// decodes it again.
fn jpeg_roundtrip(
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, DecodeError> {
    let mut encoded = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut encoded, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    encoder
        .encode(
            rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(unresizable)?;
    Ok(adpipe_image::decode(&encoded, &DecodeLimits::default())?.pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_scaling_rounds_the_longer_side() {
        assert_eq!(shorter_side_size(741, 500, 256), (379, 256));
        assert_eq!(shorter_side_size(451, 300, 256), (385, 256));
        assert_eq!(shorter_side_size(500, 741, 256), (256, 379));
        assert_eq!(shorter_side_size(300, 300, 256), (256, 256));
        assert_eq!(shorter_side_size(1, 100_000, 256), (256, 25_600_000));
    }

    #[test]
    fn centering_rounds_down() {
        assert_eq!(centered(256, 224), 16);
        assert_eq!(centered(379, 224), 77);
        assert_eq!(centered(385, 224), 80);
        assert_eq!(centered(224, 224), 0);
    }
}
