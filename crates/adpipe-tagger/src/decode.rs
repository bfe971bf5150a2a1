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

/// Checks that a file ends where its own structure says it does, so that an
/// upload cut short is refused at the door rather than failing in the
/// worker. Only markers, chunk headers and length fields are read: no pixel
/// is decoded. PNG, GIF, WebP and BMP cost a handful of jumps; a JPEG whose
/// last bytes are its end-of-image marker (nearly every file) costs a walk
/// of its header segments, and one with data after its image (a second
/// picture, a video, padding) a scan of its compressed data for markers.
fn check_complete(bytes: &[u8], format: ImageFormat) -> Result<(), DecodeError> {
    let checked = match format {
        ImageFormat::Jpeg => jpeg_complete(bytes),
        ImageFormat::Png => png_complete(bytes),
        ImageFormat::Gif => gif_complete(bytes),
        ImageFormat::Webp => webp_complete(bytes),
        ImageFormat::Bmp => bmp_complete(bytes),
    };
    checked.map_err(|detail| corrupt(format, detail))
}

fn truncated(what: impl std::fmt::Display) -> String {
    format!("the file is truncated: {what}")
}

fn u16_be(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_be(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

const JPEG_EOI: u8 = 0xD9;
const JPEG_SOS: u8 = 0xDA;

/// A JPEG is complete when its end-of-image marker (FF D9) follows its
/// image data. Segments are walked by their lengths (an EXIF thumbnail's
/// own FF D9 is inside one and does not count); compressed data cannot hold
/// FF D9, as every FF there is followed by 00 or a restart marker. What
/// comes after the marker (MPF pictures, a motion photo's video, padding)
/// is not looked at.
fn jpeg_complete(bytes: &[u8]) -> Result<(), String> {
    let missing_eoi = || truncated("the image data stops before the end-of-image marker (FF D9)");
    let mut at = 2; // after SOI
    let mut scanned = false;
    loop {
        // Decoders skip stray bytes before a marker, and FF fill bytes.
        let Some(ff) = find_ff(bytes, at) else {
            return Err(if scanned {
                missing_eoi()
            } else {
                truncated("it ends before the image data")
            });
        };
        let mut marker_at = ff + 1;
        while bytes.get(marker_at) == Some(&0xFF) {
            marker_at += 1;
        }
        let Some(&marker) = bytes.get(marker_at) else {
            return Err(truncated(format!("it ends inside a marker at byte {ff}")));
        };
        at = marker_at + 1;
        match marker {
            JPEG_EOI if scanned => return Ok(()),
            JPEG_EOI => return Err("the end-of-image marker comes before any image data".into()),
            // A new image starts before this one ended.
            0xD8 => {
                return Err(truncated(format!(
                    "another image starts at byte {ff}, before this one's end-of-image marker"
                )));
            }
            // Markers without a length.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = u16_be(bytes, at) else {
            return Err(truncated(format!(
                "it ends inside the FF {marker:02X} segment at byte {ff}"
            )));
        };
        if length < 2 {
            return Err(format!(
                "the FF {marker:02X} segment at byte {ff} has length {length}"
            ));
        }
        let end = at + usize::from(length);
        if end > bytes.len() {
            return Err(truncated(format!(
                "the FF {marker:02X} segment at byte {ff} needs {} bytes; the file has {}",
                end,
                bytes.len()
            )));
        }
        at = end;
        if marker != JPEG_SOS {
            continue;
        }
        if !scanned {
            scanned = true;
            // Nearly every file ends with its EOI, perhaps padded with
            // zeros: done without reading the compressed data.
            let last = bytes
                .iter()
                .rposition(|&byte| byte != 0)
                .map_or(0, |i| i + 1);
            if last >= at + 2 && bytes[last - 2..last] == [0xFF, JPEG_EOI] {
                return Ok(());
            }
        }
        at = skip_entropy_coded(bytes, at).ok_or_else(missing_eoi)?;
    }
}

/// Where the next FF byte is, eight bytes at a time: compressed data holds
/// about one in 256, so most words are skipped whole.
fn find_ff(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let rest = bytes.get(from..)?;
    let skipped = rest
        .chunks_exact(8)
        .take_while(|chunk| {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(*chunk).unwrap_or([0xFF; 8]));
            // A zero byte in !word is an FF byte in word.
            (!word).wrapping_sub(ONES) & word & HIGHS == 0
        })
        .count()
        * 8;
    rest[skipped..]
        .iter()
        .position(|&byte| byte == 0xFF)
        .map(|i| from + skipped + i)
}

/// Skips a scan's compressed data; where the next marker starts.
fn skip_entropy_coded(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let ff = find_ff(bytes, at)?;
        match *bytes.get(ff + 1)? {
            // A stuffed FF, or a restart marker: still compressed data.
            0x00 | 0xD0..=0xD7 => at = ff + 2,
            // A fill byte; a marker may start at the next one.
            0xFF => at = ff + 1,
            _ => return Some(ff),
        }
    }
}

/// A PNG is complete when its chunks, each jumped over by its length, lead
/// to IEND. Bytes after IEND are ignored, as decoders do.
fn png_complete(bytes: &[u8]) -> Result<(), String> {
    let mut at = 8u64;
    let len = bytes.len() as u64;
    loop {
        let Some(length) = u32_be(bytes, at as usize) else {
            return Err(truncated(if at == len {
                "it ends before the IEND chunk".to_owned()
            } else {
                format!("it ends inside the chunk header at byte {at}")
            }));
        };
        let Some(kind) = bytes.get(at as usize + 4..at as usize + 8) else {
            return Err(truncated(format!(
                "it ends inside the chunk header at byte {at}"
            )));
        };
        let end = at + 12 + u64::from(length);
        if end > len {
            return Err(truncated(format!(
                "the {} chunk at byte {at} needs {end} bytes; the file has {len}",
                String::from_utf8_lossy(kind).escape_debug()
            )));
        }
        if kind == b"IEND" {
            return Ok(());
        }
        at = end;
    }
}

/// A GIF is complete when its blocks, each sub-block jumped over by its
/// length, lead to the trailer (3B). Bytes after the trailer, or that are
/// not a block after at least one whole image, are ignored, as decoders do.
fn gif_complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len();
    let Some(&screen_flags) = bytes.get(10) else {
        return Err(truncated("it ends inside the logical screen descriptor"));
    };
    let mut at = 13 + palette_bytes(screen_flags);
    if at > len {
        return Err(truncated("it ends inside the global colour table"));
    }
    let mut images = 0;
    loop {
        match bytes.get(at) {
            None => {
                return Err(truncated(format!(
                    "it ends without the GIF trailer (3B) after {images} image(s)"
                )));
            }
            Some(0x3B) => return Ok(()),
            Some(0x21) => at = skip_sub_blocks(bytes, at + 2)?,
            Some(0x2C) => {
                let Some(&flags) = bytes.get(at + 9) else {
                    return Err(truncated(format!(
                        "it ends inside the image descriptor at byte {at}"
                    )));
                };
                // Descriptor, local colour table, LZW code size, data.
                at = skip_sub_blocks(bytes, at + 10 + palette_bytes(flags) + 1)?;
                images += 1;
            }
            Some(_) if images > 0 => return Ok(()),
            Some(other) => {
                return Err(format!(
                    "an unknown block ({other:02X}) at byte {at}, before any image"
                ));
            }
        }
    }
}

fn palette_bytes(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 7) + 1)
    }
}

/// Jumps over GIF data sub-blocks up to their terminator (a zero size).
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let Some(&size) = bytes.get(at) else {
            return Err(truncated(format!(
                "it ends inside a block, at byte {at} of {}",
                bytes.len()
            )));
        };
        at += 1 + usize::from(size);
        if size == 0 {
            return Ok(at);
        }
        if at > bytes.len() {
            return Err(truncated(format!(
                "a {size}-byte data block runs past the end ({} bytes)",
                bytes.len()
            )));
        }
    }
}

/// A WebP is complete when the file holds what its RIFF header announces,
/// and its chunks fit in the file.
fn webp_complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len() as u64;
    let riff = u64::from(u32_le(bytes, 4).unwrap_or(0));
    let riff_end = riff + 8;
    if riff_end > len {
        return Err(truncated(format!(
            "the RIFF header announces {riff_end} bytes; the file has {len}"
        )));
    }
    let mut at = 12u64;
    let mut chunks = 0;
    while at + 8 <= riff_end {
        let size = u64::from(u32_le(bytes, at as usize + 4).unwrap_or(0));
        let end = at + 8 + size;
        if end > len {
            let kind = bytes.get(at as usize..at as usize + 4).unwrap_or_default();
            return Err(truncated(format!(
                "the {} chunk at byte {at} needs {end} bytes; the file has {len}",
                String::from_utf8_lossy(kind).escape_debug()
            )));
        }
        // Chunks are padded to an even size.
        at = end + (size & 1);
        chunks += 1;
    }
    if chunks == 0 {
        return Err(truncated("the RIFF container holds no chunk"));
    }
    Ok(())
}

/// A BMP is complete when the file is as long as its header says (0 means
/// unknown, as some writers leave it) and, uncompressed, holds every row.
fn bmp_complete(bytes: &[u8]) -> Result<(), String> {
    let len = bytes.len() as u64;
    let (Some(file_size), Some(offset)) = (u32_le(bytes, 2), u32_le(bytes, 10)) else {
        return Err(truncated("it ends inside the file header"));
    };
    let (file_size, offset) = (u64::from(file_size), u64::from(offset));
    if file_size > len {
        return Err(truncated(format!(
            "the header announces {file_size} bytes; the file has {len}"
        )));
    }
    if offset >= len {
        return Err(truncated(format!(
            "the pixels should start at byte {offset}; the file has {len}"
        )));
    }
    let header = u32_le(bytes, 14);
    let layout = match header {
        // BITMAPCOREHEADER: 16-bit sizes, never compressed.
        Some(12) => u16_le(bytes, 18)
            .zip(u16_le(bytes, 20))
            .zip(u16_le(bytes, 24))
            .map(|((width, height), bits)| (u64::from(width), u64::from(height), bits, 0)),
        // BITMAPINFOHEADER and its successors; a negative height is top-down.
        Some(40..) => u32_le(bytes, 18)
            .zip(u32_le(bytes, 22))
            .zip(u16_le(bytes, 28).zip(u32_le(bytes, 30)))
            .map(|((width, height), (bits, compression))| {
                (
                    u64::from((width as i32).unsigned_abs()),
                    u64::from((height as i32).unsigned_abs()),
                    bits,
                    compression,
                )
            }),
        _ => None,
    };
    // Uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) are padded
    // to 4 bytes; compressed ones have no size known from the header.
    if let Some((width, height, bits, 0 | 3 | 6)) = layout
        && matches!(bits, 1 | 2 | 4 | 8 | 16 | 24 | 32)
    {
        let row = (width * u64::from(bits)).div_ceil(32) * 4;
        let end = offset.saturating_add(row.saturating_mul(height));
        if end > len {
            return Err(truncated(format!(
                "{height} rows of {row} bytes from byte {offset} need {end} bytes; the file has {len}"
            )));
        }
    }
    Ok(())
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
