//! Training a classifier head (`adpipe train`): from labelled feature
//! vectors (a backbone's embeddings of photos a person put in a category)
//! to the head's weights, its calibration, the band a policy should use,
//! and the measurements that say whether to trust it.
//!
//! - [`logistic`]: multinomial logistic regression with L2 and class
//!   balancing, fitted by L-BFGS (argmin).
//! - [`split`]: stratified folds from a seed.
//! - [`calibrate`]: one temperature for the logits, fitted on held-out
//!   predictions.
//! - [`band`]: the `approve_at` / `review_at` that make no wrong automatic
//!   decision on the held-out predictions with the fewest for people, and
//!   the shares any band gives.
//! - [`evaluate`]: precision, recall, confusion, reliability.
//! - [`report`]: the self-contained HTML report.
//!
//! [`train`] runs them in order: k-fold out-of-fold predictions (every
//! example predicted by a head that never saw it) for the temperature, the
//! band and the metrics; then the final head on every example.

pub mod band;
pub mod calibrate;
pub mod evaluate;
pub mod logistic;
pub mod report;
pub mod split;

pub use band::{Band, BandShares, Verdict};
pub use evaluate::Metrics;
pub use logistic::{FitOptions, LinearHead};

/// One labelled feature vector.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<f32>,
    /// Index into the dataset's classes.
    pub label: usize,
    /// How much it counts (1 for a person's decision).
    pub weight: f32,
    /// Where it came from (a file), for the report.
    pub source: String,
}

/// The examples and the classes they are labelled with. One class may be
/// the "not published" class ([`Dataset::none`]).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub classes: Vec<String>,
    /// The index of the class nothing is published for, if there is one.
    pub none: Option<usize>,
    pub examples: Vec<Example>,
}

impl Dataset {
    pub fn features(&self) -> usize {
        self.examples
            .first()
            .map_or(0, |example| example.features.len())
    }

    /// Examples per class, in class order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for example in &self.examples {
            counts[example.label] += 1;
        }
        counts
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub fit: FitOptions,
    /// Folds of the cross-validation that gives every example a held-out
    /// prediction.
    pub folds: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            fit: FitOptions::default(),
            folds: 5,
            seed: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Data(String),
}

/// A trained head and what is known about it.
#[derive(Debug, Clone)]
pub struct Training {
    pub head: LinearHead,
    pub temperature: f32,
    /// Per example, its held-out calibrated probabilities.
    pub held_out: Vec<Vec<f32>>,
    pub band: Band,
    pub metrics: Metrics,
}

/// Fits, cross-validates, calibrates and proposes a band.
pub fn train(dataset: &Dataset, options: &TrainOptions) -> Result<Training, TrainError> {
    check(dataset, options)?;
    let folds = split::stratified_folds(dataset, options.folds, options.seed);
    let mut logits = vec![Vec::new(); dataset.examples.len()];
    for fold in 0..options.folds {
        let (fit_on, predict): (Vec<usize>, Vec<usize>) =
            (0..dataset.examples.len()).partition(|&index| folds[index] != fold);
        let head = logistic::fit(dataset, &fit_on, &options.fit);
        for index in predict {
            logits[index] = head.logits(&dataset.examples[index].features);
        }
    }
    let labels: Vec<usize> = dataset.examples.iter().map(|e| e.label).collect();
    let temperature = calibrate::temperature(&logits, &labels);
    let held_out: Vec<Vec<f32>> = logits
        .iter()
        .map(|row| calibrate::probabilities(row, temperature))
        .collect();
    let band = band::propose(&held_out, &labels, dataset.none);
    let metrics = evaluate::Metrics::new(&held_out, &labels, dataset.classes.len());
    let everything: Vec<usize> = (0..dataset.examples.len()).collect();
    let head = logistic::fit(dataset, &everything, &options.fit);
    Ok(Training {
        head,
        temperature,
        held_out,
        band,
        metrics,
    })
}

fn check(dataset: &Dataset, options: &TrainOptions) -> Result<(), TrainError> {
    let data = |message: String| Err(TrainError::Data(message));
    if dataset.classes.len() < 2 {
        return data(format!(
            "a head needs at least two classes, and found {}",
            dataset.classes.len()
        ));
    }
    let width = dataset.features();
    if width == 0 {
        return data("no examples".into());
    }
    if let Some(example) = dataset.examples.iter().find(|e| e.features.len() != width) {
        return data(format!(
            "{} has {} features, the others {width}",
            example.source,
            example.features.len()
        ));
    }
    if options.folds < 2 {
        return data("cross-validation needs at least 2 folds".into());
    }
    for (class, count) in dataset.classes.iter().zip(dataset.counts()) {
        if count < options.folds {
            return data(format!(
                "class `{class}` has {count} examples; each class needs at least as many as \
                 there are folds ({}) so that every fold holds one out",
                options.folds
            ));
        }
    }
    Ok(())
}
