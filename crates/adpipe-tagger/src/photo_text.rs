//! The text written in an ad's photo, read for a policy that asks for it
//! (`[text_in_image]`): the OCR models ([`crate::ocr`]) and the section's
//! settings, applied to a decision the image models made.

use std::path::Path;

use adpipe_core::Status;
use adpipe_core::policy::{BoundPolicy, Decision, TextInImageSection};
use adpipe_image::{DecodeError, DecodeLimits, ImageInfo};
use image::RgbImage;

use crate::classifier::ModelError;
use crate::load::{LoadError, TaggerConfig};
use crate::ocr::OcrReader;

/// How large a photo the worker keeps for reading: text a few pixels high
/// in a phone's 4032-pixel photo survives a reduced decode to this longer
/// side, and the detector's own guard (`max_side`) bounds the rest.
pub const PHOTO_SIDE: u32 = 1024;

/// A photo as kept for reading: decoded reduced where it is large, with
/// what maps its pixels back to the original's (the boxes moderators see
/// are drawn over the photo as stored).
#[derive(Debug, Clone)]
pub struct Photo {
    pub image: RgbImage,
    /// The original's pixels per pixel of `image` (1 when decoded whole).
    pub scale: f32,
}

impl Photo {
    /// `image` decoded from a photo whose stored size is `info`'s.
    pub fn new(image: RgbImage, info: &ImageInfo) -> Self {
        // A reduced decode scales both sides alike; the longer sides'
        // ratio holds whatever the EXIF orientation turned.
        let decoded = image.width().max(image.height()).max(1);
        let scale = info.width.max(info.height) as f32 / decoded as f32;
        Self {
            image,
            scale: scale.max(1.0),
        }
    }
}

/// The OCR models with the policy's section.
#[derive(Debug)]
pub struct PhotoText {
    reader: OcrReader,
    section: TextInImageSection,
}

impl PhotoText {
    /// Loads the detector `model` names (its model.toml, or the folder
    /// holding it) and the recogniser the detector names.
    pub fn load(
        model: &Path,
        section: TextInImageSection,
        config: &TaggerConfig,
    ) -> Result<Self, LoadError> {
        let model_toml = if model.is_dir() {
            model.join("model.toml")
        } else {
            model.to_owned()
        };
        Ok(Self {
            reader: OcrReader::load(&model_toml, config)?,
            section,
        })
    }

    pub fn reader(&self) -> &OcrReader {
        &self.reader
    }

    /// Reads `photo` and applies what it says to `decision` with the
    /// policy's text rules ([`Decision::with_text_in_image`]). Text in the
    /// photo can only hold an ad back, so one the image models rejected is
    /// not read; a photo in which the glance sees no text is not read in
    /// full.
    pub fn judge(
        &self,
        policy: &BoundPolicy,
        photo: &Photo,
        decision: Decision,
    ) -> Result<Decision, ModelError> {
        if !matches!(decision.status, Status::Approved | Status::InReview) {
            return Ok(decision);
        }
        let side = self.section.glance_side;
        if side != 0 && !self.reader.glance(&photo.image, side)? {
            return Ok(decision);
        }
        let mut lines = self.reader.read(&photo.image)?;
        for line in &mut lines {
            for corner in line.corners.iter_mut().flatten() {
                *corner *= photo.scale;
            }
        }
        Ok(decision.with_text_in_image(&self.section, policy.text_rules(), lines))
    }

    /// Decodes `bytes` as the worker keeps a photo for reading: reduced
    /// where the photo is larger than [`PHOTO_SIDE`].
    pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Photo, DecodeError> {
        let info = adpipe_image::probe(bytes, limits)?;
        let image = adpipe_image::decode_reduced(bytes, limits, &|width, height| {
            width.max(height) >= PHOTO_SIDE
        })?;
        let image =
            RgbImage::from_raw(image.width, image.height, image.pixels).ok_or_else(|| {
                DecodeError::Unprocessable("the decoder gave fewer pixels than its size".into())
            })?;
        Ok(Photo::new(image, &info))
    }

    /// Runs both models once, so the first photos are not the slow ones.
    pub fn warm_up(&self) -> Result<(), ModelError> {
        let blank = RgbImage::from_pixel(320, 240, image::Rgb([255, 255, 255]));
        self.reader.read(&blank).map(drop)
    }
}
