//! What intake hands on: what a header says about an image, and its
//! pixels. Both decoders (the general one and the reduced JPEG one) make
//! them, so they live apart from either.

use crate::format::ImageFormat;

/// What the header says, without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    /// As stored, before EXIF orientation.
    pub width: u32,
    pub height: u32,
}

/// Tightly packed 8-bit RGB, row-major, upright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}
