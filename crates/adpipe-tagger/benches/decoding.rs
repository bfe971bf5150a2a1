//! Decoding per format, in images per second: the full-size decode of the
//! `image` crate (what the tagger used before), libjpeg-turbo at full size,
//! and the decode the tagger runs now (a JPEG at the smallest DCT scale
//! that the default model's preprocessing still finds big enough), on the
//! committed JPEGs, on phone-sized JPEGs (4032×3024 and 3000×2250, made here
//! by enlarging two committed photos), and on the committed PNGs.
//!
//! `cargo bench -p adpipe-tagger --bench decoding`

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use adpipe_image::{DecodeLimits, RgbImage, decode, decode_reduced};
use adpipe_tagger::{ModelSpec, Preprocessor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/photos")
}

/// The committed photos whose name ends in `extension`.
fn committed(extension: &str) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    for group in ["vehicle", "other"] {
        for entry in std::fs::read_dir(fixtures().join(group)).expect("photos") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|found| found == extension) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("photo"))
        .collect()
}

/// A committed photo enlarged to `width × height` and saved as a quality 90
/// JPEG, as a phone would send it.
fn phone_sized(name: &str, width: u32, height: u32) -> Vec<u8> {
    let photo = image::open(fixtures().join(name)).expect("photo");
    let large = photo.resize_exact(width, height, image::imageops::FilterType::Triangle);
    let mut bytes = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
    large.to_rgb8().write_with_encoder(encoder).expect("encode");
    bytes
}

/// The `image` crate's own full-size decode, as the tagger did before.
fn image_crate(bytes: &[u8]) -> image::RgbImage {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("format")
        .decode()
        .expect("decodes")
        .into_rgb8()
}

fn decoding(c: &mut Criterion) {
    let spec =
        ModelSpec::load(repo().join("models/efficientnet-lite0/model.toml")).expect("model.toml");
    let preprocessor = Preprocessor::new(&spec);
    let big_enough = |width, height| preprocessor.big_enough(width, height);
    let limits = DecodeLimits::default();
    let sets = [
        ("jpeg_committed", committed("jpg")),
        (
            "jpeg_phone",
            vec![
                phone_sized("other/honey_bee_flower.jpg", 4032, 3024),
                phone_sized("vehicle/boats_nagasaki.jpg", 3000, 2250),
            ],
        ),
        ("png_committed", committed("png")),
    ];
    for (name, photos) in &sets {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Elements(photos.len() as u64));
        group.bench_function("image_crate_full", |b| {
            b.iter(|| {
                photos
                    .iter()
                    .for_each(|bytes| drop(black_box(image_crate(bytes))))
            })
        });
        group.bench_function("adpipe_full", |b| {
            b.iter(|| {
                photos.iter().for_each(|bytes| {
                    let image: RgbImage = decode(bytes, &limits).expect("decodes");
                    drop(black_box(image));
                })
            })
        });
        group.bench_function("adpipe_for_the_model", |b| {
            b.iter(|| {
                photos.iter().for_each(|bytes| {
                    drop(black_box(
                        decode_reduced(bytes, &limits, &big_enough).expect("decodes"),
                    ));
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, decoding);
criterion_main!(benches);
