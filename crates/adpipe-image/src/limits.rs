//! The limits that stop a decompression bomb before any pixel buffer is
//! allocated, and the errors an image can earn.

use crate::format::ImageFormat;

/// Guards against decompression bombs. The defaults accept any real photo
/// (a 100-megapixel camera included) and refuse what would need more than
/// 512 MiB to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    pub max_alloc_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_width: 16_384,
            max_height: 16_384,
            max_pixels: 100_000_000,
            max_alloc_bytes: 512 * 1024 * 1024,
        }
    }
}

impl DecodeLimits {
    /// The defaults with another pixel limit; the allocation limit grows
    /// with it (4 bytes a pixel: RGBA is the widest buffer a decoder fills),
    /// so that every image within the pixel limit can be decoded.
    pub fn with_max_pixels(max_pixels: u64) -> Self {
        let defaults = Self::default();
        Self {
            max_pixels,
            max_alloc_bytes: defaults.max_alloc_bytes.max(max_pixels.saturating_mul(4)),
            ..defaults
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the image is empty (0 bytes)")]
    Empty,
    #[error("not a supported image: expected JPEG, PNG, WebP, GIF or BMP")]
    Unsupported,
    #[error(
        "the image is too large: {width}×{height} pixels; at most {max_width}×{max_height} \
         and {max_pixels} pixels are accepted"
    )]
    TooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
        max_pixels: u64,
    },
    #[error("the {format} image is corrupt or truncated: {detail}")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    /// Decoded, but it cannot be brought to a model's input (the resizer
    /// refused it). Only the tagger meets this; the API never resizes.
    #[error("the image cannot be prepared for the model: {0}")]
    Unprocessable(String),
}

impl DecodeError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "image_empty",
            DecodeError::Unsupported => "image_unsupported_type",
            DecodeError::TooLarge { .. } => "image_too_large",
            DecodeError::Corrupt { .. } => "image_corrupt",
            DecodeError::Unprocessable(_) => "image_unprocessable",
        }
    }
}

pub(crate) fn check_size(
    width: u32,
    height: u32,
    limits: &DecodeLimits,
) -> Result<(), DecodeError> {
    if width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(DecodeError::TooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt {
            format: "image",
            detail: format!("it claims to be {width}×{height} pixels"),
        });
    }
    Ok(())
}

/// A `Corrupt` error for `format`, saying what the decoder or the
/// structure check found.
pub(crate) fn corrupt(format: ImageFormat, error: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt {
        format: format.mime_type().trim_start_matches("image/"),
        detail: error.to_string(),
    }
}
