//! Helpers shared by the decoding tests: images built in code, so each test
//! shows the property it checks.
#![allow(dead_code)] // each test file uses its own share

use adpipe_image::{DecodeLimits, RgbImage};

pub fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

pub fn pixel(image: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    let at = ((y * image.width + x) * 3) as usize;
    [image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]]
}

pub fn close(actual: [u8; 3], expected: [u8; 3], tolerance: u8) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| a.abs_diff(e) <= tolerance)
}

pub fn jpeg(
    width: u16,
    height: u16,
    pixels: &[u8],
    color: jpeg_encoder::ColorType,
    exif: Option<&[u8]>,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 95);
    if let Some(exif) = exif {
        encoder
            .add_app_segment(1, exif.to_vec())
            .expect("APP1 segment");
    }
    encoder
        .encode(pixels, width, height, color)
        .expect("encode jpeg");
    bytes
}

/// A minimal EXIF block that holds only an orientation tag.
pub fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // one value
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0]);
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    exif
}
