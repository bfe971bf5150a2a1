//! Decoding a JPEG at a reduced scale (libjpeg-turbo's DCT scaling): the
//! smallest of 1/8, 1/4 and 1/2 whose upright size the caller finds big
//! enough, showing the same picture as a full decode, only smaller; and
//! whatever cannot be scaled still decodes as before.

mod support;

use adpipe_image::{RgbImage, decode, decode_reduced};
use support::{close, exif_orientation, jpeg, limits, pixel};

/// Stored `width × height`: the left half red, the right half blue.
fn halves(width: u16, height: u16) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
    for _y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(if x < width / 2 {
                &[220, 30, 30]
            } else {
                &[30, 30, 220]
            });
        }
    }
    pixels
}

fn size(image: &RgbImage) -> (u32, u32) {
    (image.width, image.height)
}

#[test]
fn the_smallest_scale_that_is_big_enough_is_used() {
    let bytes = jpeg(
        1024,
        768,
        &halves(1024, 768),
        jpeg_encoder::ColorType::Rgb,
        None,
    );
    let decoded = |big_enough: &dyn Fn(u32, u32) -> bool| {
        decode_reduced(&bytes, &limits(), big_enough).expect("decodes")
    };
    assert_eq!(size(&decoded(&|_, _| true)), (128, 96), "1/8");
    assert_eq!(size(&decoded(&|width, _| width >= 200)), (256, 192), "1/4");
    assert_eq!(
        size(&decoded(&|_, height| height >= 300)),
        (512, 384),
        "1/2"
    );
    assert_eq!(size(&decoded(&|_, _| false)), (1024, 768), "full size");
    assert_eq!(
        size(&decode(&bytes, &limits()).expect("decodes")),
        (1024, 768)
    );

    let quarter = decoded(&|width, _| width >= 200);
    assert!(close(pixel(&quarter, 60, 96), [220, 30, 30], 12));
    assert!(close(pixel(&quarter, 196, 96), [30, 30, 220], 12));
}

#[test]
fn sizes_are_judged_upright_and_the_picture_comes_out_upright() {
    // Stored 1024×512 with EXIF orientation 6: a viewer shows 512×1024 with
    // the red half on top. Only an upright size is taller than wide, so a
    // size judged as stored would never be big enough.
    let bytes = jpeg(
        1024,
        512,
        &halves(1024, 512),
        jpeg_encoder::ColorType::Rgb,
        Some(&exif_orientation(6)),
    );
    let upright = decode_reduced(&bytes, &limits(), &|width, height| {
        height > width && height >= 128
    })
    .expect("decodes");
    assert_eq!(size(&upright), (64, 128));
    assert!(
        close(pixel(&upright, 32, 16), [220, 30, 30], 12),
        "red on top"
    );
    assert!(
        close(pixel(&upright, 32, 112), [30, 30, 220], 12),
        "blue below"
    );
}

#[test]
fn greyscale_and_progressive_jpegs_scale_too() {
    let grey = jpeg(
        512,
        512,
        &[60u8].repeat(512 * 512),
        jpeg_encoder::ColorType::Luma,
        None,
    );
    let decoded = decode_reduced(&grey, &limits(), &|_, _| true).expect("grey decodes");
    assert_eq!(size(&decoded), (64, 64));
    assert!(close(pixel(&decoded, 32, 32), [60, 60, 60], 2));

    let mut progressive = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 90);
    encoder.set_progressive(true);
    encoder
        .encode(&halves(512, 512), 512, 512, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    let decoded = decode_reduced(&progressive, &limits(), &|_, _| true).expect("decodes");
    assert_eq!(size(&decoded), (64, 64));
    assert!(close(pixel(&decoded, 16, 32), [220, 30, 30], 12));
}

#[test]
fn cmyk_is_decoded_at_full_size() {
    // libjpeg-turbo does not turn CMYK into RGB: the full-size decoder does.
    let cyan: Vec<u8> = [255u8, 0, 0, 0].repeat(64 * 64);
    let bytes = jpeg(64, 64, &cyan, jpeg_encoder::ColorType::Cmyk, None);
    let decoded = decode_reduced(&bytes, &limits(), &|_, _| true).expect("CMYK decodes");
    assert_eq!(size(&decoded), (64, 64));
    assert!(close(pixel(&decoded, 32, 32), [0, 255, 255], 12));
}

/// `image` averaged over `factor × factor` blocks.
fn box_average(image: &RgbImage, factor: u32) -> RgbImage {
    let (width, height) = (image.width / factor, image.height / factor);
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            for channel in 0..3 {
                let mut sum = 0u32;
                for dy in 0..factor {
                    for dx in 0..factor {
                        let at = ((y * factor + dy) * image.width + x * factor + dx) * 3 + channel;
                        sum += u32::from(image.pixels[at as usize]);
                    }
                }
                pixels.push((sum / (factor * factor)) as u8);
            }
        }
    }
    RgbImage {
        width,
        height,
        pixels,
    }
}

#[test]
fn a_real_progressive_photo_at_a_quarter_is_the_full_decode_made_smaller() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos/other/honey_bee_flower.jpg");
    let bytes = std::fs::read(&path).expect("committed photo");
    let full = decode(&bytes, &limits()).expect("decodes");
    assert_eq!(size(&full), (1620, 1280));
    let quarter = decode_reduced(&bytes, &limits(), &|width, height| width.min(height) >= 256)
        .expect("decodes");
    assert_eq!(size(&quarter), (405, 320));

    // Compared with the full decode averaged over 4×4 blocks: the same
    // picture, not shifted or garbled (the DCT's filter is sharper than a
    // box, so edges differ a little).
    let expected = box_average(&full, 4);
    let mut total = 0u64;
    let mut compared = 0u64;
    for y in 0..expected.height {
        for x in 0..expected.width {
            let (a, b) = (pixel(&quarter, x, y), pixel(&expected, x, y));
            for channel in 0..3 {
                total += u64::from(a[channel].abs_diff(b[channel]));
                compared += 1;
            }
        }
    }
    let mean = total as f64 / compared as f64;
    assert!(mean < 3.0, "mean difference {mean:.2} levels");
}

#[test]
fn a_damaged_jpeg_gets_the_full_size_decoders_verdict() {
    // Garbage in the middle of the image data, the end marker intact: the
    // probe lets it through, libjpeg-turbo complains, and the full-size
    // decoder decides what the file gives, as it did before.
    let mut bytes = jpeg(
        512,
        512,
        &halves(512, 512),
        jpeg_encoder::ColorType::Rgb,
        None,
    );
    let middle = bytes.len() / 2;
    for (offset, byte) in bytes[middle..middle + 64].iter_mut().enumerate() {
        *byte = if offset % 2 == 0 { 0xFF } else { 0xC4 };
    }
    assert_eq!(
        decode_reduced(&bytes, &limits(), &|_, _| true),
        decode(&bytes, &limits())
    );
}
