//! What reading the text in a photo costs (issue 34): detection alone,
//! detection with recognition, and the glance at 192 and 320 pixels, on a photo with text drawn on it (eleven
//! lines: `tests/fixtures/ocr/rendered/08_circuit_board.jpg`, 640x480) and
//! on one without text, about as large
//! (`tests/fixtures/photos/vehicle/car_rear_motionblur.jpg`, 600x482), at
//! the settings of models/ppocr-det/model.toml and
//! models/ppocr-rec/model.toml. The photos are decoded once, outside the
//! measurement.
//!
//! `cargo bench --bench ocr`; `ADPIPE_BENCH_THREADS` sets ONNX Runtime's
//! intra-op threads (default: one per core).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use adpipe_image::{DecodeLimits, decode};
use adpipe_tagger::ocr::OcrReader;
use adpipe_tagger::{SessionConfig, TaggerConfig};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use image::RgbImage;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn photo(relative: &str) -> RgbImage {
    let path = repo().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let decoded = decode(&bytes, &DecodeLimits::default())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    RgbImage::from_raw(decoded.width, decoded.height, decoded.pixels).expect("RGB8 pixels")
}

fn reader() -> OcrReader {
    let threads = std::env::var("ADPIPE_BENCH_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let config = TaggerConfig {
        session: SessionConfig {
            intra_threads: threads,
            ..SessionConfig::default()
        },
        ..TaggerConfig::default()
    };
    OcrReader::load(&repo().join("models/ppocr-det/model.toml"), &config)
        .expect("the OCR models load (run scripts/setup.sh)")
}

fn ocr(c: &mut Criterion) {
    let reader = reader();
    let photos = [
        (
            "text",
            photo("tests/fixtures/ocr/rendered/08_circuit_board.jpg"),
        ),
        (
            "no_text",
            photo("tests/fixtures/photos/vehicle/car_rear_motionblur.jpg"),
        ),
    ];
    let mut group = c.benchmark_group("ocr");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, image) in &photos {
        let boxes = reader.detect(image).expect("detects").len();
        let lines = reader.read(image).expect("reads").len();
        eprintln!(
            "{name}: {}x{}, {boxes} boxes, {lines} lines",
            image.width(),
            image.height()
        );
        group.bench_with_input(BenchmarkId::new("detect", name), image, |b, image| {
            b.iter(|| black_box(reader.detect(image).expect("detects")));
        });
        group.bench_with_input(BenchmarkId::new("read", name), image, |b, image| {
            b.iter(|| black_box(reader.read(image).expect("reads")));
        });
        // The first look a policy's glance_side buys (what a photo without
        // text costs in the worker).
        for side in [192, 320] {
            let id = BenchmarkId::new(format!("glance_{side}"), name);
            group.bench_with_input(id, image, |b, image| {
                b.iter(|| black_box(reader.glance(image, side).expect("glances")));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, ocr);
criterion_main!(benches);
