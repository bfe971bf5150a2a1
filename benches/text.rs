//! What reading the ads' texts costs: the sentence model alone (texts per
//! second for 1, 8 and 32 ad texts), and judging a batch of 8 ads (decode,
//! image model, policy) with the photo alone against photo and text, in
//! one run so the ratio holds whatever else the machine does.
//!
//! `cargo bench --bench text`; the texts are those of the labelled ads
//! (tests/fixtures/ads/labelled.tsv, 6 to 120 words), the photos the
//! committed ones. BENCHMARKS.md ("Reading the text") quotes the figures.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use adpipe_tagger::{Moderator, SessionConfig, TaggerConfig, TextEmbedder};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The labelled ads' texts (the last column), in file order.
fn ad_texts() -> Vec<String> {
    let path = repo().join("tests/fixtures/ads/labelled.tsv");
    let content = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    content
        .lines()
        .skip(1)
        .filter_map(|line| line.rsplit('\t').next())
        .map(str::to_owned)
        .collect()
}

/// The committed photos, read once, in a fixed order.
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

/// One intra-op thread per core, as the worker and benches/tagging.rs.
fn config() -> TaggerConfig {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    TaggerConfig {
        session: SessionConfig {
            intra_threads: threads,
            ..SessionConfig::default()
        },
        preprocess_threads: threads,
        ..TaggerConfig::default()
    }
}

/// Texts/s of each shipped text model: the transformer and the static model
/// distilled from it.
fn embedding(c: &mut Criterion) {
    for (group_name, model) in [
        ("text_embedding", "models/minilm-l6/model.toml"),
        (
            "text_embedding_static",
            "models/minilm-l6-static/model.toml",
        ),
    ] {
        embedding_of(c, group_name, model);
    }
}

fn embedding_of(c: &mut Criterion, group_name: &str, model: &str) {
    let config = config();
    let embedder = TextEmbedder::load(&repo().join(model), &config.runtime, &config.session)
        .expect("the text model loads (run scripts/setup.sh)");
    let texts = ad_texts();
    let tokens: usize = texts
        .iter()
        .map(|text| embedder.token_ids(text).expect("tokens").len())
        .sum();
    eprintln!(
        "{model}: {} ad texts, {:.1} tokens each on average",
        texts.len(),
        tokens as f64 / texts.len() as f64
    );
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for count in [1usize, 8, 32] {
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &count, |b, &count| {
            let mut start = 0;
            b.iter(|| {
                // A different slice each time: the same text twice would
                // flatter the caches.
                let chosen: Vec<&str> = (0..count)
                    .map(|i| texts[(start + i) % texts.len()].as_str())
                    .collect();
                start = (start + count) % texts.len();
                black_box(embedder.embed_all(&chosen).expect("vectors"))
            });
        });
    }
    group.finish();
}

fn moderator(policy: &str) -> Moderator {
    let root = repo();
    Moderator::load(
        &root.join("models/efficientnet-lite0/model.toml"),
        &root.join(policy),
        &[],
        &config(),
    )
    .expect("the models load (run scripts/setup.sh)")
}

/// Decode, tag and judge the ads `start..start + 8` (photos and texts in
/// turn), as the worker does with one batch.
fn judge_batch(moderator: &Moderator, photos: &[Vec<u8>], texts: &[String], start: usize) {
    let images: Vec<&[u8]> = (0..8)
        .map(|i| photos[(start + i) % photos.len()].as_slice())
        .collect();
    let texts: Vec<&str> = (0..8)
        .map(|i| texts[(start + i) % texts.len()].as_str())
        .collect();
    let batch = moderator.prepare(&images);
    black_box(moderator.assess_prepared(batch, &texts).expect("judged"));
}

fn judging(c: &mut Criterion) {
    let photos = photos();
    let texts = ad_texts();
    let photo_only = moderator("models/policies/vehicles-photo.toml");
    let static_text = moderator("models/policies/vehicles.toml");
    let minilm_text = moderator("models/policies/vehicles-text.toml");
    let mut group = c.benchmark_group("judge_8_ads");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(8));
    for (name, moderator) in [
        ("photo_only", &photo_only),
        ("photo_and_static_text", &static_text),
        ("photo_and_text", &minilm_text),
    ] {
        group.bench_function(name, |b| {
            let mut start = 0;
            b.iter(|| {
                judge_batch(moderator, &photos, &texts, start);
                start += 8;
            });
        });
    }
    group.finish();
}

criterion_group!(benches, embedding, judging);
criterion_main!(benches);
