//! Reading the header (probe) and the pixels (decode) of untrusted bytes.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::complete::check_complete;
use crate::format::ImageFormat;
use crate::limits::{DecodeError, DecodeLimits, check_size, corrupt};
use crate::picture::{ImageInfo, RgbImage};
use crate::reduced;

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

/// Reads the format and the dimensions from the header only.
pub fn probe(bytes: &[u8], limits: &DecodeLimits) -> Result<ImageInfo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = ImageFormat::sniff(bytes).ok_or(DecodeError::Unsupported)?;
    // PNG and GIF state their size at a fixed place: refuse a bomb even
    // when nothing follows its header.
    match format {
        ImageFormat::Png => {
            if let Some(size) = bytes.get(16..24) {
                let width = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
                let height = u32::from_be_bytes([size[4], size[5], size[6], size[7]]);
                check_size(width, height, limits)?;
            }
        }
        ImageFormat::Gif => {
            // The logical screen, which is what the decoder reports.
            if let Some(size) = bytes.get(6..10) {
                let width = u16::from_le_bytes([size[0], size[1]]);
                let height = u16::from_le_bytes([size[2], size[3]]);
                check_size(width.into(), height.into(), limits)?;
            }
        }
        _ => {}
    }
    // Only the header is read here; the size check below gives a better
    // message than the decoder's own limit error.
    let dimensions = guarded(format, || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image_format());
        reader.no_limits();
        reader
            .into_dimensions()
            .map_err(|error| corrupt(format, error))
    });
    let (width, height) = match dimensions {
        Ok(dimensions) => dimensions,
        // A header cut short: say so rather than quote the decoder.
        Err(error) => return Err(check_complete(bytes, format).err().unwrap_or(error)),
    };
    check_size(width, height, limits)?;
    check_complete(bytes, format)?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Decodes untrusted bytes into upright RGB8, at full size.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    decode_reduced(bytes, limits, &|_, _| false)
}

/// Decodes untrusted bytes into upright RGB8, perhaps smaller than stored:
/// a JPEG comes out at the smallest of 1/8, 1/4 and 1/2 of its size whose
/// upright width and height are still `big_enough` (a model that resizes to
/// 256 pixels needs no 4032-pixel decode). Other formats, and a JPEG for
/// which no reduced size is big enough, decode at full size.
pub fn decode_reduced(
    bytes: &[u8],
    limits: &DecodeLimits,
    big_enough: &dyn Fn(u32, u32) -> bool,
) -> Result<RgbImage, DecodeError> {
    let info = probe(bytes, limits)?;
    let format = info.format;
    if format == ImageFormat::Jpeg
        && let Some(image) = guarded(format, || {
            reduced::decode_jpeg(bytes, info, limits, big_enough)
                .ok_or_else(|| corrupt(format, "left to the full-size decoder"))
        })
        .ok()
    {
        return Ok(image);
    }
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
pub(crate) fn flatten_onto_white(rgba: &[u8]) -> Vec<u8> {
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
