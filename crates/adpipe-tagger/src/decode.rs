//! Untrusted bytes → an upright 8-bit RGB image, or an error value.
//!
//! The format is decided by magic bytes, never by a file name or a declared
//! content type. Dimensions are checked against [`DecodeLimits`] from the
//! header, before any pixel buffer is allocated, so a 30000×30000 "bomb" costs
//! nothing. EXIF orientation is applied; alpha is flattened onto white (what
//! a person sees in a browser); grey, 16-bit and CMYK sources all come out as
//! RGB8.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

/// The formats adpipe accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Bmp,
}

impl ImageFormat {
    /// Recognises a format by its magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Self::Webp),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            [b'B', b'M', ..] => Some(Self::Bmp),
            _ => None,
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Bmp => "image/bmp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Bmp => "bmp",
        }
    }

    fn to_image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
            Self::Gif => image::ImageFormat::Gif,
            Self::Bmp => image::ImageFormat::Bmp,
        }
    }
}

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
}

impl DecodeError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "image_empty",
            DecodeError::Unsupported => "image_unsupported_type",
            DecodeError::TooLarge { .. } => "image_too_large",
            DecodeError::Corrupt { .. } => "image_corrupt",
        }
    }
}

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

fn corrupt(format: ImageFormat, error: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt {
        format: format.mime_type().trim_start_matches("image/"),
        detail: error.to_string(),
    }
}

fn reader<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image_format());
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    reader
}

fn check_size(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), DecodeError> {
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

/// Reads the format and the dimensions from the header only.
pub fn probe(bytes: &[u8], limits: &DecodeLimits) -> Result<ImageInfo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = ImageFormat::sniff(bytes).ok_or(DecodeError::Unsupported)?;
    // A PNG states its size at a fixed place: refuse a bomb even when
    // nothing follows its header.
    if let (ImageFormat::Png, Some(size)) = (format, bytes.get(16..24)) {
        let width = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let height = u32::from_be_bytes([size[4], size[5], size[6], size[7]]);
        check_size(width, height, limits)?;
    }
    // Only the header is read here; the size check below gives a better
    // message than the decoder's own limit error.
    let (width, height) = guarded(format, || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image_format());
        reader.no_limits();
        reader
            .into_dimensions()
            .map_err(|error| corrupt(format, error))
    })?;
    check_size(width, height, limits)?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Decodes untrusted bytes into upright RGB8.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    let info = probe(bytes, limits)?;
    let format = info.format;
    guarded(format, || {
        let mut decoder = reader(bytes, format, limits)
            .into_decoder()
            .map_err(|error| limit_or_corrupt(format, error, info, limits))?;
        // A broken EXIF block must not cost the image: ignore it and keep
        // the stored orientation.
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut image = DynamicImage::from_decoder(decoder)
            .map_err(|error| limit_or_corrupt(format, error, info, limits))?;
        image.apply_orientation(orientation);
        Ok(to_rgb(image))
    })
}

/// A decoder that panics on hostile input must cost one image, not the
/// process: the worker decodes thousands of untrusted files.
fn guarded<T>(
    format: ImageFormat,
    work: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(corrupt(format, "the decoder failed on this file")))
}

fn limit_or_corrupt(
    format: ImageFormat,
    error: image::ImageError,
    info: ImageInfo,
    limits: &DecodeLimits,
) -> DecodeError {
    match error {
        image::ImageError::Limits(_) => DecodeError::TooLarge {
            width: info.width,
            height: info.height,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        },
        other => corrupt(format, other),
    }
}

fn to_rgb(image: DynamicImage) -> RgbImage {
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageRgb8(rgb) => rgb.into_raw(),
        other if other.color().has_alpha() => flatten_onto_white(&other.into_rgba8().into_raw()),
        other => other.into_rgb8().into_raw(),
    };
    RgbImage {
        width,
        height,
        pixels,
    }
}

/// Transparent pixels of cut-outs often hold junk colours; composite them
/// onto white as a viewer would show them.
fn flatten_onto_white(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for pixel in rgba.chunks_exact(4) {
        let alpha = u32::from(pixel[3]);
        for &channel in &pixel[..3] {
            let blended = (u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            rgb.push(blended as u8);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes_only() {
        assert_eq!(
            ImageFormat::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::sniff(b"GIF89a"), Some(ImageFormat::Gif));
        assert_eq!(ImageFormat::sniff(b"BM\0\0"), Some(ImageFormat::Bmp));
        assert_eq!(ImageFormat::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
    }

    #[test]
    fn empty_and_unknown_bytes_are_errors() {
        let limits = DecodeLimits::default();
        assert_eq!(decode(b"", &limits), Err(DecodeError::Empty));
        assert_eq!(
            decode(b"hello world", &limits),
            Err(DecodeError::Unsupported)
        );
    }

    #[test]
    fn alpha_is_flattened_onto_white() {
        assert_eq!(
            flatten_onto_white(&[10, 20, 30, 255, 10, 20, 30, 0]),
            [10, 20, 30, 255, 255, 255]
        );
        assert_eq!(flatten_onto_white(&[0, 0, 0, 128]), [127, 127, 127]);
    }
}
