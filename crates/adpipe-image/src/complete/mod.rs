//! Checks that a file ends where its own structure says it does, one module
//! per format.

mod bmp;
mod gif;
mod jpeg;
mod png;
mod webp;

use crate::format::ImageFormat;
use crate::limits::{DecodeError, corrupt};

/// Checks that a file ends where its own structure says it does, so that an
/// upload cut short is refused at the door rather than failing in the
/// worker. Only markers, chunk headers and length fields are read: no pixel
/// is decoded. PNG, GIF, WebP and BMP cost a handful of jumps; a JPEG whose
/// last bytes are its end-of-image marker (nearly every file) costs a walk
/// of its header segments, and one with data after its image (a second
/// picture, a video, padding) a scan of its compressed data for markers.
pub(crate) fn check_complete(bytes: &[u8], format: ImageFormat) -> Result<(), DecodeError> {
    let checked = match format {
        ImageFormat::Jpeg => jpeg::complete(bytes),
        ImageFormat::Png => png::complete(bytes),
        ImageFormat::Gif => gif::complete(bytes),
        ImageFormat::Webp => webp::complete(bytes),
        ImageFormat::Bmp => bmp::complete(bytes),
    };
    checked.map_err(|detail| corrupt(format, detail))
}

pub(crate) fn truncated(what: impl std::fmt::Display) -> String {
    format!("the file is truncated: {what}")
}

pub(crate) fn u16_be(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_be(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}
