//! `adpipe train`'s numerics on the size the issue names: 10,000 ads,
//! EfficientNet-Lite0's 1280 features, 8 categories and "none". Synthetic
//! features (a mean per class, noise around it; the same every run), so the
//! bench needs no photos and measures only the fitting.
//!
//!   cargo bench -p adpipe-train --bench train

use adpipe_train::{Dataset, Example, FitOptions, TrainOptions, logistic, train};
use criterion::{Criterion, criterion_group, criterion_main};

fn dataset(examples: usize, features: usize, classes: usize) -> Dataset {
    // A small xorshift: the bench's data must not depend on a crate's
    // generator changing between versions.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..features).map(|_| next() * 2.0).collect())
        .collect();
    Dataset {
        classes: (0..classes).map(|class| format!("class {class}")).collect(),
        none: Some(classes - 1),
        examples: (0..examples)
            .map(|index| {
                let label = index % classes;
                Example {
                    features: centres[label].iter().map(|c| c + next() * 3.0).collect(),
                    label,
                    weight: 1.0,
                    source: index.to_string(),
                }
            })
            .collect(),
    }
}

fn fitting(c: &mut Criterion) {
    let data = dataset(10_000, 1280, 9);
    let rows: Vec<usize> = (0..data.examples.len()).collect();
    let mut group = c.benchmark_group("train 10,000 x 1280, 9 classes");
    group.sample_size(10);
    group.bench_function("one fit", |b| {
        b.iter(|| logistic::fit(&data, &rows, &FitOptions::default()))
    });
    group.bench_function("train (5 folds, calibration, band, final fit)", |b| {
        b.iter(|| train(&data, &TrainOptions::default()).expect("trains"))
    });
    group.finish();
}

criterion_group!(benches, fitting);
criterion_main!(benches);
