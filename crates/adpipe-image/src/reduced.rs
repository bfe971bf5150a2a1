//! JPEG decoding at a reduced scale: libjpeg-turbo can run its inverse DCT
//! at 1/2, 1/4 or 1/8 of the size, which skips most of the work for a phone
//! photo (4032×3024) when the model needs a shorter side of 256. The caller
//! says which sizes are big enough; the smallest such scale is used.
//!
//! Whatever libjpeg-turbo cannot do as we need (CMYK and YCCK, a file it
//! refuses or warns about, a progressive image whose coefficients would
//! exceed the allocation limit) goes to the full-size decoder instead, so
//! every error and partial image stays what [`crate::decode`] makes of it.

use std::cell::RefCell;

use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, Rgb};
use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor};

use crate::limits::DecodeLimits;
use crate::picture::{ImageInfo, RgbImage};

/// The DCT scales tried, smallest output first.
const DENOMINATORS: [usize; 4] = [8, 4, 2, 1];

/// Bytes of DCT coefficients a progressive JPEG keeps per pixel at most
/// (three full-resolution components of 16-bit coefficients).
const PROGRESSIVE_BYTES_PER_PIXEL: u64 = 6;

thread_local! {
    // A decompressor holds libjpeg's state and buffers: one per thread,
    // reused from image to image.
    static DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

/// Decodes a JPEG at the smallest DCT scale whose upright size satisfies
/// `big_enough(width, height)` (full size if none does), upright and RGB8.
/// `None` when libjpeg-turbo is not the right decoder for this file.
pub(crate) fn decode_jpeg(
    bytes: &[u8],
    info: ImageInfo,
    limits: &DecodeLimits,
    big_enough: &dyn Fn(u32, u32) -> bool,
) -> Option<RgbImage> {
    DECOMPRESSOR.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Decompressor::new().ok();
        }
        let decompressor = slot.as_mut()?;
        let header = decompressor.read_header(bytes).ok()?;
        if !matches!(
            header.colorspace,
            Colorspace::YCbCr | Colorspace::Gray | Colorspace::RGB
        ) || header.is_lossless
        {
            return None;
        }
        if header.is_progressive
            && u64::from(info.width) * u64::from(info.height) * PROGRESSIVE_BYTES_PER_PIXEL
                > limits.max_alloc_bytes
        {
            return None;
        }
        let orientation = exif_orientation(bytes).unwrap_or(Orientation::NoTransforms);
        let scale = DENOMINATORS
            .iter()
            .map(|&denominator| ScalingFactor::new(1, denominator))
            .find(|&scale| {
                let (width, height) = (scale.scale(header.width), scale.scale(header.height));
                let (width, height) = upright(orientation, width as u32, height as u32);
                big_enough(width, height)
            })
            .unwrap_or(ScalingFactor::ONE);
        let scaled = header.scaled(scale);
        decompressor.set_scaling_factor(scale).ok()?;
        let mut image = turbojpeg::Image {
            pixels: vec![0u8; 3 * scaled.width * scaled.height],
            width: scaled.width,
            pitch: 3 * scaled.width,
            height: scaled.height,
            format: PixelFormat::RGB,
        };
        // A warning (data cut short, a bad Huffman code) is an error here:
        // the full-size decoder then decides what such a file gives.
        decompressor.decompress(bytes, image.as_deref_mut()).ok()?;
        Some(oriented(
            scaled.width as u32,
            scaled.height as u32,
            image.pixels,
            orientation,
        ))
    })
}

fn upright(orientation: Orientation, width: u32, height: u32) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

fn oriented(width: u32, height: u32, pixels: Vec<u8>, orientation: Orientation) -> RgbImage {
    if orientation == Orientation::NoTransforms {
        return RgbImage {
            width,
            height,
            pixels,
        };
    }
    let buffer: ImageBuffer<Rgb<u8>, Vec<u8>> =
        ImageBuffer::from_raw(width, height, pixels).expect("the buffer was sized for the image");
    let mut image = DynamicImage::ImageRgb8(buffer);
    image.apply_orientation(orientation);
    RgbImage {
        width: image.width(),
        height: image.height(),
        pixels: image.into_rgb8().into_raw(),
    }
}

/// The EXIF orientation, from the APP1 segment before the image data. A
/// missing or broken EXIF block is `None` (the stored orientation), as the
/// full-size decoder treats it.
fn exif_orientation(bytes: &[u8]) -> Option<Orientation> {
    const SOS: u8 = 0xDA;
    const APP1: u8 = 0xE1;
    const EXIF_PREFIX: &[u8] = b"Exif\0\0";
    let mut at = 2; // after SOI
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        if marker == SOS {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let segment = bytes.get(at + 4..at + 2 + length.max(2))?;
        if marker == APP1
            && let Some(chunk) = segment.strip_prefix(EXIF_PREFIX)
        {
            return Orientation::from_exif_chunk(chunk);
        }
        at += 2 + length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_swaps_sides_only_for_quarter_turns() {
        assert_eq!(upright(Orientation::Rotate90, 40, 30), (30, 40));
        assert_eq!(upright(Orientation::Rotate270FlipH, 40, 30), (30, 40));
        assert_eq!(upright(Orientation::Rotate180, 40, 30), (40, 30));
        assert_eq!(upright(Orientation::FlipHorizontal, 40, 30), (40, 30));
    }

    #[test]
    fn a_broken_or_missing_exif_block_reads_as_none() {
        assert_eq!(exif_orientation(b"\xFF\xD8"), None);
        assert_eq!(exif_orientation(b"\xFF\xD8\xFF\xE1\x00"), None);
        assert_eq!(exif_orientation(b"\xFF\xD8\xFF\xE1\x00\x08Exif\0\0"), None);
        assert_eq!(exif_orientation(b"\xFF\xD8\xFF\xE1\xFF\xFFExif"), None);
        assert_eq!(exif_orientation(b"\xFF\xD8\xFF\xDA\x00\x02"), None);
    }
}
