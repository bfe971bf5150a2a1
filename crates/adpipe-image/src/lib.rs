//! Image intake: untrusted bytes → an upright 8-bit RGB image, or an error
//! value with a stable code.
//!
//! The format is decided by magic bytes ([`ImageFormat::sniff`]), never by a
//! file name or a declared content type. Dimensions are checked against
//! [`DecodeLimits`] from the header, before any pixel buffer is allocated,
//! so a 30000×30000 "bomb" costs nothing; a file cut short is refused from
//! its own structure ([`probe`]), so the API can turn it away at the door
//! without decoding a pixel. [`decode`] applies EXIF orientation and
//! flattens alpha onto white (what a person sees in a browser); grey,
//! 16-bit and CMYK sources all come out as RGB8. [`decode_reduced`] lets a
//! JPEG come out smaller, at libjpeg-turbo's 1/2, 1/4 or 1/8 DCT scale, when
//! the caller needs no more pixels than that.
//!
//! Both the API (probe) and the tagger (decode) use this crate, with the
//! same limits, so an image the API accepts is one the worker can decode.

mod complete;
mod decode;
mod format;
mod limits;
mod picture;
mod reduced;

pub use decode::{decode, decode_reduced, probe};
pub use format::ImageFormat;
pub use limits::{DecodeError, DecodeLimits};
pub use picture::{ImageInfo, RgbImage};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::flatten_onto_white;

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
