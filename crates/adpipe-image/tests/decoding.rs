//! Untrusted images: every format and pixel layout a phone or a web page
//! produces comes out as upright RGB8, and anything broken or hostile comes
//! out as an error value, quickly and without a panic.
//!
//! The images are built here rather than committed, so each test shows the
//! property it checks.

use std::io::Cursor;
use std::time::Instant;

mod support;

use adpipe_image::{self as decode, DecodeError, DecodeLimits, ImageFormat};
use adpipe_testkit::crc32;
use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, Rgba};
use support::{close, exif_orientation, jpeg, limits, pixel};

fn encode(image: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encode");
    bytes
}

fn photo(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn grey_8_and_16_bit_png_become_rgb() {
    let grey8 = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(8, 4, Luma([100u8])));
    let grey16 = DynamicImage::ImageLuma16(ImageBuffer::from_pixel(8, 4, Luma([100u16 * 257])));
    for image in [grey8, grey16] {
        let decoded =
            decode::decode(&encode(&image, image::ImageFormat::Png), &limits()).expect("decodes");
        assert_eq!((decoded.width, decoded.height), (8, 4));
        assert_eq!(decoded.pixels.len(), 8 * 4 * 3);
        assert_eq!(pixel(&decoded, 3, 2), [100, 100, 100]);
    }
}

#[test]
fn sixteen_bit_rgb_png_is_scaled_to_8_bit() {
    let image = DynamicImage::ImageRgb16(ImageBuffer::from_pixel(5, 5, Rgb([65535u16, 32896, 0])));
    let decoded =
        decode::decode(&encode(&image, image::ImageFormat::Png), &limits()).expect("decodes");
    assert_eq!(pixel(&decoded, 4, 4), [255, 128, 0]);
}

#[test]
fn transparency_is_flattened_onto_white() {
    let mut rgba = ImageBuffer::from_pixel(4, 4, Rgba([200u8, 0, 0, 255]));
    rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
    let decoded = decode::decode(
        &encode(&DynamicImage::ImageRgba8(rgba), image::ImageFormat::Png),
        &limits(),
    )
    .expect("decodes");
    assert_eq!(
        pixel(&decoded, 0, 0),
        [255, 255, 255],
        "fully transparent → white"
    );
    assert_eq!(
        pixel(&decoded, 1, 1),
        [200, 0, 0],
        "opaque pixels keep their colour"
    );

    let grey_alpha = DynamicImage::ImageLumaA8(ImageBuffer::from_pixel(2, 2, LumaA([0u8, 0])));
    let decoded =
        decode::decode(&encode(&grey_alpha, image::ImageFormat::Png), &limits()).expect("decodes");
    assert_eq!(pixel(&decoded, 1, 1), [255, 255, 255]);
}

#[test]
fn webp_gif_and_bmp_decode() {
    let colour = Rgb([10u8, 200, 30]);
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(16, 9, colour));
    for format in [
        image::ImageFormat::WebP,
        image::ImageFormat::Bmp,
        image::ImageFormat::Gif,
    ] {
        let bytes = encode(&image, format);
        let info = decode::probe(&bytes, &limits()).expect("probes");
        assert_eq!((info.width, info.height), (16, 9), "{format:?}");
        let decoded = decode::decode(&bytes, &limits()).expect("decodes");
        assert_eq!((decoded.width, decoded.height), (16, 9), "{format:?}");
        // GIF has a 256-colour palette; the others are lossless here.
        assert!(
            close(pixel(&decoded, 8, 4), colour.0, 8),
            "{format:?}: {:?}",
            pixel(&decoded, 8, 4)
        );
    }
}

#[test]
fn an_animated_gif_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
        let frames = [Rgba([255u8, 0, 0, 255]), Rgba([0, 0, 255, 255])]
            .map(|colour| image::Frame::new(ImageBuffer::from_pixel(6, 6, colour)));
        encoder.encode_frames(frames).expect("encode gif");
    }
    assert_eq!(ImageFormat::sniff(&bytes), Some(ImageFormat::Gif));
    let decoded = decode::decode(&bytes, &limits()).expect("decodes");
    assert!(
        close(pixel(&decoded, 3, 3), [255, 0, 0], 8),
        "{:?}",
        pixel(&decoded, 3, 3)
    );
}

#[test]
fn exif_orientation_is_honoured() {
    // Stored 32×16: left half red, right half blue. Orientation 6 means the
    // camera was turned a quarter clockwise, so a viewer shows it 16×32 with
    // the red half on top.
    let (width, height) = (32u16, 16u16);
    let mut pixels = Vec::new();
    for _y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(if x < width / 2 {
                &[255, 0, 0]
            } else {
                &[0, 0, 255]
            });
        }
    }
    let plain = decode::decode(
        &jpeg(width, height, &pixels, jpeg_encoder::ColorType::Rgb, None),
        &limits(),
    )
    .expect("decodes");
    assert_eq!((plain.width, plain.height), (32, 16));

    let rotated = jpeg(
        width,
        height,
        &pixels,
        jpeg_encoder::ColorType::Rgb,
        Some(&exif_orientation(6)),
    );
    let upright = decode::decode(&rotated, &limits()).expect("decodes");
    assert_eq!((upright.width, upright.height), (16, 32));
    assert!(
        close(pixel(&upright, 8, 4), [255, 0, 0], 40),
        "top is red: {:?}",
        pixel(&upright, 8, 4)
    );
    assert!(
        close(pixel(&upright, 8, 28), [0, 0, 255], 40),
        "bottom is blue: {:?}",
        pixel(&upright, 8, 28)
    );

    // Header probing reports the stored size; only decoding rotates.
    let info = decode::probe(&rotated, &limits()).expect("probes");
    assert_eq!((info.width, info.height), (32, 16));
}

#[test]
fn a_broken_exif_block_keeps_the_image() {
    let pixels = vec![128u8; 8 * 8 * 3];
    let broken = b"Exif\0\0MM\0\x2a\xff\xff\xff\xff".to_vec();
    let bytes = jpeg(8, 8, &pixels, jpeg_encoder::ColorType::Rgb, Some(&broken));
    let decoded = decode::decode(&bytes, &limits()).expect("decodes despite the EXIF block");
    assert_eq!((decoded.width, decoded.height), (8, 8));
}

#[test]
fn cmyk_and_greyscale_jpeg_become_rgb() {
    // Pure cyan ink: C=255, M=Y=K=0.
    let cmyk: Vec<u8> = [255u8, 0, 0, 0].repeat(16 * 16);
    let decoded = decode::decode(
        &jpeg(16, 16, &cmyk, jpeg_encoder::ColorType::Cmyk, None),
        &limits(),
    )
    .expect("CMYK JPEG decodes");
    assert!(
        close(pixel(&decoded, 8, 8), [0, 255, 255], 12),
        "cyan: {:?}",
        pixel(&decoded, 8, 8)
    );

    let grey = vec![60u8; 16 * 16];
    let decoded = decode::decode(
        &jpeg(16, 16, &grey, jpeg_encoder::ColorType::Luma, None),
        &limits(),
    )
    .expect("grey JPEG decodes");
    assert!(close(pixel(&decoded, 8, 8), [60, 60, 60], 2));
}

/// A PNG whose header claims `width`×`height` with a valid CRC and no pixels.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&width.to_be_bytes());
    chunk.extend_from_slice(&height.to_be_bytes());
    chunk.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    bytes.extend_from_slice(&13u32.to_be_bytes());
    bytes.extend_from_slice(&chunk);
    bytes.extend_from_slice(&crc32(&chunk).to_be_bytes());
    bytes
}

/// Rewrites the frame size in a JPEG's SOF0 marker.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(8, 8, &[0u8; 8 * 8 * 3], jpeg_encoder::ColorType::Rgb, None);
    let sof = bytes
        .windows(2)
        .position(|marker| marker == [0xFF, 0xC0])
        .expect("SOF0");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn decompression_bombs_are_refused_from_the_header() {
    let bombs = [
        ("png 30000×30000", png_claiming(30_000, 30_000)),
        ("png 1×4000000000", png_claiming(1, 4_000_000_000)),
        ("png 12000×12000 (144 MP)", png_claiming(12_000, 12_000)),
        ("jpeg 30000×30000", jpeg_claiming(30_000, 30_000)),
        ("jpeg 65535×65535", jpeg_claiming(65_535, 65_535)),
    ];
    for (name, bytes) in bombs {
        let started = Instant::now();
        let error = decode::decode(&bytes, &limits())
            .map(|_| ())
            .expect_err(name);
        assert!(
            matches!(error, DecodeError::TooLarge { .. }),
            "{name}: {error:?}"
        );
        assert_eq!(error.code(), "image_too_large");
        assert!(
            started.elapsed().as_millis() < 500,
            "{name}: refused without decoding"
        );
    }
}

#[test]
fn stricter_limits_apply() {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(300, 200, Rgb([1u8, 2, 3])));
    let bytes = encode(&image, image::ImageFormat::Png);
    let small = DecodeLimits {
        max_pixels: 50_000,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode::decode(&bytes, &small),
        Err(DecodeError::TooLarge { .. })
    ));
    assert!(decode::decode(&bytes, &limits()).is_ok());
}

#[test]
fn zero_sized_and_unsupported_inputs_are_errors() {
    assert_eq!(
        decode::decode(&png_claiming(0, 10), &limits())
            .map(|_| ())
            .unwrap_err()
            .code(),
        "image_corrupt"
    );
    for (name, bytes) in [
        (
            "svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        ("html", b"<!doctype html><script>alert(1)</script>".to_vec()),
        ("pdf", b"%PDF-1.7\n".to_vec()),
        ("tiff", b"II*\0\x08\0\0\0".to_vec()),
    ] {
        assert_eq!(
            decode::decode(&bytes, &limits()),
            Err(DecodeError::Unsupported),
            "{name}"
        );
    }
    assert_eq!(decode::decode(&[], &limits()), Err(DecodeError::Empty));
}

#[test]
fn truncated_photos_are_errors_or_partial_images_never_panics() {
    for name in ["other/tulips.png", "other/coffee_cup.png"] {
        let bytes = photo(name);
        for cut in [9, 40, bytes.len() / 2] {
            let error = decode::decode(&bytes[..cut], &limits())
                .map(|_| ())
                .expect_err(name);
            assert_eq!(
                error.code(),
                "image_corrupt",
                "{name} cut at {cut}: {error}"
            );
        }
    }
    // Losing only the trailer, or the end of a JPEG's entropy-coded data,
    // may still give a picture; either way the answer is a value.
    for name in [
        "other/tulips.png",
        "other/squirrel.jpg",
        "other/bridge_night_cincinnati.jpg",
    ] {
        let bytes = photo(name);
        for cut in [12, 100, bytes.len() / 3, bytes.len() - 10] {
            if let Err(error) = decode::decode(&bytes[..cut], &limits()) {
                assert_eq!(
                    error.code(),
                    "image_corrupt",
                    "{name} cut at {cut}: {error}"
                );
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // A deterministic stream of byte flips over real photos of every format.
    let mut sources: Vec<Vec<u8>> = vec![photo("other/kiwi_fruit.jpg"), photo("other/lion.jpg")];
    let small = DynamicImage::ImageRgb8(ImageBuffer::from_fn(24, 24, |x, y| {
        Rgb([x as u8 * 10, y as u8 * 10, 7])
    }));
    for format in [
        image::ImageFormat::Png,
        image::ImageFormat::WebP,
        image::ImageFormat::Gif,
        image::ImageFormat::Bmp,
    ] {
        sources.push(encode(&small, format));
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for round in 0..600 {
        let mut bytes = sources[round % sources.len()].clone();
        for _ in 0..1 + random() % 8 {
            // Leave the magic bytes alone so the decoders themselves are hit.
            let at = 8 + (random() as usize) % (bytes.len() - 8);
            bytes[at] = random() as u8;
        }
        if random() % 4 == 0 {
            let keep = 8 + (random() as usize) % (bytes.len() - 8);
            bytes.truncate(keep);
        }
        match decode::decode(&bytes, &limits()) {
            Ok(image) => assert_eq!(
                image.pixels.len(),
                (image.width * image.height * 3) as usize
            ),
            Err(_) => errors += 1,
        }
    }
    assert!(
        errors > 0,
        "the corruptions were noticed at least sometimes"
    );
}

/// Every committed photo, as `(name, bytes)`.
fn all_photos() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/photos");
    let mut photos = Vec::new();
    for folder in std::fs::read_dir(&root).expect("photos folder") {
        let folder = folder.expect("entry").path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).expect("photo folder") {
            let file = file.expect("entry").path();
            let name = file
                .strip_prefix(&root)
                .expect("under root")
                .display()
                .to_string();
            photos.push((name, std::fs::read(&file).expect("photo")));
        }
    }
    photos.sort();
    photos
}

/// Asserts that probing refuses `bytes` as a truncated file.
fn assert_truncated(what: &str, bytes: &[u8]) {
    let started = Instant::now();
    let error = decode::probe(bytes, &limits()).expect_err(what);
    assert_eq!(error.code(), "image_corrupt", "{what}: {error}");
    assert!(
        error.to_string().contains("the file is truncated"),
        "{what}: {error}"
    );
    assert!(
        started.elapsed().as_millis() < 200,
        "{what}: probing stays cheap"
    );
}

#[test]
fn every_committed_photo_probes_as_complete() {
    let photos = all_photos();
    assert!(photos.len() >= 26, "{} photos", photos.len());
    let started = Instant::now();
    for (name, bytes) in &photos {
        let info =
            decode::probe(bytes, &limits()).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(info.width > 0 && info.height > 0, "{name}");
    }
    eprintln!("probed {} photos in {:?}", photos.len(), started.elapsed());
}

#[test]
fn data_after_the_end_of_an_image_is_not_truncation() {
    let mut noise_state = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            noise_state ^= noise_state << 13;
            noise_state ^= noise_state >> 7;
            noise_state ^= noise_state << 17;
            noise_state as u8
        })
        .collect();
    for (name, bytes) in all_photos() {
        // Padding, a trailer or a video after the image, a second picture
        // (MPF, gain maps) whole or cut short: the first image is whole.
        let second = photo("other/lion.jpg");
        for (what, tail) in [
            ("zeros", vec![0u8; 4096]),
            ("noise", noise.clone()),
            ("a second jpeg", second.clone()),
            ("half a second jpeg", second[..second.len() / 2].to_vec()),
        ] {
            let mut padded = bytes.clone();
            padded.extend_from_slice(&tail);
            decode::probe(&padded, &limits())
                .unwrap_or_else(|error| panic!("{name} + {what}: {error}"));
        }
    }
}

#[test]
fn truncated_real_photos_are_refused_by_probe() {
    for name in [
        "vehicle/car_rear_motionblur.jpg",
        "other/honey_bee_flower.jpg",        // progressive
        "other/bridge_night_cincinnati.jpg", // progressive, EXIF
        "other/cat_chelsea.png",
        "vehicle/motorcycle_garage.png",
    ] {
        let bytes = photo(name);
        let len = bytes.len();
        // The header only: up to the first scan of a JPEG, past IHDR (and
        // the chunks after it) of a PNG.
        let header_only = if name.ends_with(".jpg") {
            bytes
                .windows(2)
                .position(|marker| marker == [0xFF, 0xDA])
                .expect("SOS")
                + 14
        } else {
            33
        };
        for cut in [
            12,
            header_only,
            len / 10,
            len / 2,
            len * 9 / 10,
            len - 100,
            len - 2,
            len - 1,
        ] {
            assert_truncated(&format!("{name} cut at {cut} of {len}"), &bytes[..cut]);
        }
        // Cut, then padded with zeros to look whole.
        let mut padded = bytes[..len / 2].to_vec();
        padded.resize(len, 0);
        assert_truncated(&format!("{name} cut and zero-padded"), &padded);
        // Cut, then followed by the start of a second picture (as in a
        // multi-picture file): the first one is still truncated. (Followed
        // by a whole second JPEG, the file ends with an end-of-image marker
        // and passes the cheap check; the decoder then sees a partial image.)
        if name.ends_with(".jpg") {
            let second = photo("other/lion.jpg");
            let mut joined = bytes[..len / 2].to_vec();
            joined.extend_from_slice(&second[..second.len() / 2]);
            assert_truncated(&format!("{name} cut, then half a JPEG"), &joined);
        }
    }
}

#[test]
fn truncated_generated_images_are_refused_by_probe() {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 48, |x, y| {
        Rgb([x as u8 * 4, y as u8 * 5, (x * y) as u8])
    }));
    let mut animated = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut animated);
        let frames = [Rgba([255u8, 0, 0, 255]), Rgba([0, 0, 255, 255])]
            .map(|colour| image::Frame::new(ImageBuffer::from_pixel(6, 6, colour)));
        encoder.encode_frames(frames).expect("encode gif");
    }
    let cases = [
        ("webp", encode(&image, image::ImageFormat::WebP)),
        ("gif", encode(&image, image::ImageFormat::Gif)),
        ("animated gif", animated),
        ("bmp", encode(&image, image::ImageFormat::Bmp)),
        (
            "jpeg",
            jpeg(
                64,
                48,
                &image.to_rgb8().into_raw(),
                jpeg_encoder::ColorType::Rgb,
                None,
            ),
        ),
        ("png", encode(&image, image::ImageFormat::Png)),
    ];
    for (name, bytes) in cases {
        let len = bytes.len();
        decode::probe(&bytes, &limits()).unwrap_or_else(|error| panic!("{name}: {error}"));
        for cut in [14, 30, len / 2, len * 9 / 10, len - 1] {
            assert_truncated(&format!("{name} cut at {cut} of {len}"), &bytes[..cut]);
        }
    }

    // A BMP may leave its file size at 0: the rows are counted instead.
    let mut bmp = encode(&image, image::ImageFormat::Bmp);
    bmp[2..6].copy_from_slice(&[0; 4]);
    decode::probe(&bmp, &limits()).expect("a BMP with no file size");
    for cut in [bmp.len() / 2, bmp.len() - 1] {
        assert_truncated(&format!("bmp without a size, cut at {cut}"), &bmp[..cut]);
    }
    // A WebP whose RIFF size was patched to fit, with its image chunk cut.
    let webp = encode(&image, image::ImageFormat::WebP);
    let mut patched = webp[..webp.len() / 2].to_vec();
    let riff = (patched.len() - 8) as u32;
    patched[4..8].copy_from_slice(&riff.to_le_bytes());
    assert_truncated("webp with a patched RIFF size", &patched);
}

#[test]
fn gif_bombs_are_refused_from_the_logical_screen() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&65_535u16.to_le_bytes());
    gif.extend_from_slice(&65_535u16.to_le_bytes());
    gif.extend_from_slice(&[0, 0, 0, 0x3B]);
    let error = decode::probe(&gif, &limits()).expect_err("bomb");
    assert!(matches!(error, DecodeError::TooLarge { .. }), "{error:?}");
}
