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

use adpipe_tagger::{
    GraphOptimizationLevel, HeadJudge, Model, ModelSpec, SessionConfig, Tagger, TaggerConfig, View,
};
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
    let threads = std::env::var("ADPIPE_BENCH_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(cores);
    config_with(threads, threads, SessionConfig::default())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn config_with(inference: usize, decode: usize, session: SessionConfig) -> TaggerConfig {
    TaggerConfig {
        session: SessionConfig {
            intra_threads: inference,
            ..session
        },
        preprocess_threads: decode,
        ..TaggerConfig::default()
    }
}

fn tagger(views: &[View]) -> Tagger {
    tagger_from(spec(views), &config())
}

fn tagger_from(spec: ModelSpec, config: &TaggerConfig) -> Tagger {
    let model = Model::load(spec, config).expect("model loads (run scripts/setup.sh)");
    Tagger::new(vec![model], config)
}

/// Every photo through `classify_stream` once, as `adpipe tag` and the
/// worker's pipeline run them.
fn tag_all(tagger: &Tagger, photos: &[Vec<u8>], batch_size: usize) {
    let indices: Vec<usize> = (0..photos.len()).collect();
    tagger.classify_stream(
        &indices,
        |&index| Ok(photos[index].clone()),
        batch_size,
        |_, result| {
            black_box(result.expect("tags"));
        },
    );
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
                black_box(adpipe_image::decode(bytes, limits).expect("decodes"));
            }
        })
    });
    group.finish();
}

fn inference(c: &mut Criterion) {
    let photos = photos();
    let tagger = tagger(&[View::CenterCrop]);
    let model = tagger.main_model();
    let mut group = c.benchmark_group("inference");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for batch_size in [1usize, 4, 8, 16, 32] {
        let input = prepared_batch(model, &photos, batch_size);
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
    for batch_size in [1usize, 4, 8, 16] {
        group.bench_with_input(
            BenchmarkId::from_parameter(batch_size),
            &batch_size,
            |b, &batch_size| b.iter(|| tag_all(&tagger, &photos, batch_size)),
        );
    }
    // What the optional second test-time view costs (model.toml `views`).
    let two_views = tagger_with_views();
    group.bench_function("8_two_views", |b| {
        b.iter(|| tag_all(&two_views, &photos, 8))
    });
    // How to share the cores between ONNX Runtime and the decoders, which
    // run at the same time: `8_threads_IxD` has I intra-op threads, D decoders.
    let cores = cores();
    let mut splits = vec![(cores, cores), (cores, 1), (1, 1)];
    if cores > 2 {
        splits.push(((cores * 3).div_ceil(4), cores - (cores * 3).div_ceil(4)));
    } else {
        splits.push((1, cores));
    }
    splits.dedup();
    for (inference, decode) in splits {
        let split = tagger_from(
            spec(&[View::CenterCrop]),
            &config_with(inference, decode, SessionConfig::default()),
        );
        group.bench_function(format!("8_threads_{inference}x{decode}"), |b| {
            b.iter(|| tag_all(&split, &photos, 8))
        });
    }
    // The int8 variant (scripts/quantize-int8.py), when it is there.
    let int8 = repo().join("models/efficientnet-lite0-int8/model.toml");
    if int8.is_file() {
        let int8 = tagger_from(ModelSpec::load(&int8).expect("int8 model.toml"), &config());
        group.bench_function("8_int8", |b| b.iter(|| tag_all(&int8, &photos, 8)));
    }
    group.finish();
}

/// ONNX Runtime session options, on inference alone at batch 8.
fn session_options(c: &mut Criterion) {
    let photos = photos();
    let mut group = c.benchmark_group("session");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(8));
    let default = SessionConfig::default();
    let variants: Vec<(&str, SessionConfig)> = vec![
        ("default", default.clone()),
        (
            "spinning",
            SessionConfig {
                spinning: true,
                ..default.clone()
            },
        ),
        (
            "no_memory_arena",
            SessionConfig {
                memory_arena: false,
                ..default.clone()
            },
        ),
        (
            "optimization_basic",
            SessionConfig {
                optimization: GraphOptimizationLevel::Level1,
                ..default.clone()
            },
        ),
        (
            "optimization_extended",
            SessionConfig {
                optimization: GraphOptimizationLevel::Level2,
                ..default.clone()
            },
        ),
        (
            "optimization_none",
            SessionConfig {
                optimization: GraphOptimizationLevel::Disable,
                ..default.clone()
            },
        ),
    ];
    let cores = cores();
    for (name, session) in variants {
        let tagger = tagger_from(
            spec(&[View::CenterCrop]),
            &config_with(cores, cores, session),
        );
        let model = tagger.main_model();
        let input = prepared_batch(model, &photos, 8);
        group.bench_function(name, |b| {
            b.iter(|| black_box(model.classifier().infer(&input, 8).expect("inference")))
        });
    }
    let one_thread = tagger_from(
        spec(&[View::CenterCrop]),
        &config_with(1, 1, SessionConfig::default()),
    );
    let input = prepared_batch(one_thread.main_model(), &photos, 8);
    group.bench_function("one_thread", |b| {
        b.iter(|| {
            black_box(
                one_thread
                    .main_model()
                    .classifier()
                    .infer(&input, 8)
                    .expect("inference"),
            )
        })
    });
    group.finish();
}

/// `batch_size` real photos, preprocessed, repeated to fill the batch.
fn prepared_batch(model: &Model, photos: &[Vec<u8>], batch_size: usize) -> Vec<f32> {
    let mut out = vec![0f32; model.preprocessor().floats_per_image()];
    photos
        .iter()
        .cycle()
        .take(batch_size)
        .flat_map(|bytes| {
            model
                .preprocessor()
                .prepare(bytes, &mut out)
                .expect("decodes");
            out.clone()
        })
        .collect()
}

/// What a head in shadow adds per photo (models/tools-head on the live
/// model's embedding: a matrix product and the policy), beside the live
/// model's whole run over the same photos (`end_to_end/8`): the two
/// throughputs side by side give the shadow's share of the worker's time.
fn shadow_head(c: &mut Criterion) {
    let head = repo().join("models/tools-head");
    let judge = HeadJudge::load(&head.join("model.toml"), &head.join("policy.toml"))
        .expect("tools-head loads")
        .expect("tools-head is a head");
    let photos = photos();
    let tagger = tagger(&[View::CenterCrop]);
    let refs: Vec<&[u8]> = photos.iter().map(Vec::as_slice).collect();
    // The embeddings the live model's run keeps, once.
    let embeddings: Vec<Vec<f32>> = tagger
        .classify(&refs)
        .expect("the model runs")
        .into_iter()
        .map(|outputs| outputs.expect("decoded").embedding.expect("an embedding"))
        .collect();
    let mut group = c.benchmark_group("shadow");
    group.throughput(Throughput::Elements(embeddings.len() as u64));
    group.bench_function("head_on_kept_embeddings", |b| {
        b.iter(|| {
            for vector in &embeddings {
                black_box(judge.decide(black_box(vector)));
            }
        })
    });
    group.finish();
}

fn tagger_with_views() -> Tagger {
    tagger(&[View::CenterCrop, View::Stretch])
}

criterion_group!(
    benches,
    preprocessing,
    inference,
    end_to_end,
    session_options,
    shadow_head
);
criterion_main!(benches);
