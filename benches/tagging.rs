//! Tagging throughput on the committed photos, in images per second:
//! preprocessing alone (decode + resize + normalise), inference alone at
//! several batch sizes, and end to end from encoded bytes to tags, with the
//! preprocessing overlapped with inference as `adpipe tag` and the worker
//! run it.
//!
//! `cargo bench --bench tagging`; `benches/compare.sh` runs this and the
//! Python baseline together (see BENCHMARKS.md).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adpipe_tagger::{Model, ModelSpec, SessionConfig, Tagger, TaggerConfig, View};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed photos (JPEG and PNG, 256 px to 1500 px), read once.
fn photos() -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    for group in ["vehicle", "other"] {
        let dir = repo().join("tests/fixtures/photos").join(group);
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        {
            paths.push(entry.expect("entry").path());
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("photo"))
        .collect()
}

fn spec(views: &[View]) -> ModelSpec {
    let path: &Path = &repo().join("models/efficientnet-lite0/model.toml");
    let mut spec = ModelSpec::load(path).expect("model.toml");
    spec.preprocess.views = views.to_vec();
    spec
}

/// One intra-op thread per core, like the Python baseline's `--threads`
/// (`ADPIPE_BENCH_THREADS` overrides both in benches/compare.sh).
fn config() -> TaggerConfig {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = std::env::var("ADPIPE_BENCH_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(cores);
    TaggerConfig {
        session: SessionConfig {
            intra_threads: threads,
            ..SessionConfig::default()
        },
        preprocess_threads: threads,
        ..TaggerConfig::default()
    }
}

fn tagger(views: &[View]) -> Tagger {
    let config = config();
    let model = Model::load(spec(views), &config).expect("model loads (run scripts/setup.sh)");
    Tagger::new(vec![model], &config)
}

fn preprocessing(c: &mut Criterion) {
    let photos = photos();
    let tagger = tagger(&[View::CenterCrop]);
    let preprocessor = tagger.main_model().preprocessor();
    let mut out = vec![0f32; preprocessor.floats_per_image()];
    let mut group = c.benchmark_group("preprocess");
    group.throughput(Throughput::Elements(photos.len() as u64));
    group.bench_function("one_thread", |b| {
        b.iter(|| {
            for bytes in &photos {
                preprocessor.prepare(bytes, &mut out).expect("decodes");
                black_box(&out);
            }
        })
    });
    // The decoding part alone, to see where preprocessing time goes.
    let limits = preprocessor.limits();
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for bytes in &photos {
                black_box(adpipe_tagger::decode::decode(bytes, limits).expect("decodes"));
            }
        })
    });
    group.finish();
}

fn inference(c: &mut Criterion) {
    let photos = photos();
    let tagger = tagger(&[View::CenterCrop]);
    let model = tagger.main_model();
    let per_image = model.preprocessor().floats_per_image();
    let prepared: Vec<Vec<f32>> = photos
        .iter()
        .map(|bytes| {
            let mut out = vec![0f32; per_image];
            model
                .preprocessor()
                .prepare(bytes, &mut out)
                .expect("decodes");
            out
        })
        .collect();
    let mut group = c.benchmark_group("inference");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for batch_size in [1usize, 4, 8, 16, 32] {
        // Real photos, repeated to fill the batch.
        let input: Vec<f32> = prepared
            .iter()
            .cycle()
            .take(batch_size)
            .flatten()
            .copied()
            .collect();
        group.throughput(Throughput::Elements(batch_size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(batch_size),
            &batch_size,
            |b, &batch_size| {
                b.iter(|| {
                    black_box(
                        model
                            .classifier()
                            .infer(&input, batch_size)
                            .expect("inference"),
                    )
                })
            },
        );
    }
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let photos = photos();
    let mut group = c.benchmark_group("end_to_end");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(photos.len() as u64));
    let tagger = tagger(&[View::CenterCrop]);
    let indices: Vec<usize> = (0..photos.len()).collect();
    for batch_size in [1usize, 4, 8, 16] {
        group.bench_with_input(
            BenchmarkId::from_parameter(batch_size),
            &batch_size,
            |b, &batch_size| {
                b.iter(|| {
                    tagger.classify_stream(
                        &indices,
                        |&index| Ok(photos[index].clone()),
                        batch_size,
                        |_, result| {
                            black_box(result.expect("tags"));
                        },
                    )
                })
            },
        );
    }
    // What the optional second test-time view costs (model.toml `views`).
    let two_views = tagger_with_views();
    group.bench_function("8_two_views", |b| {
        b.iter(|| {
            two_views.classify_stream(
                &indices,
                |&index| Ok(photos[index].clone()),
                8,
                |_, result| {
                    black_box(result.expect("tags"));
                },
            )
        })
    });
    group.finish();
}

fn tagger_with_views() -> Tagger {
    tagger(&[View::CenterCrop, View::Stretch])
}

criterion_group!(benches, preprocessing, inference, end_to_end);
criterion_main!(benches);
