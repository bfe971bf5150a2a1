//! What held-out predictions say about a head: per class precision and
//! recall, the confusion matrix, and how well its confidence matches how
//! often it is right (reliability bins, expected calibration error). The
//! predicted class here is the most probable of all, "none" included.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    /// Examples of this class.
    pub support: usize,
}

/// Predictions whose confidence fell in `[low, high)`.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityBin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub accuracy: f64,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    pub reliability: Vec<ReliabilityBin>,
    /// The bins' |accuracy − confidence|, weighted by their counts.
    pub expected_calibration_error: f64,
}

const BINS: usize = 10;

pub fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

impl Metrics {
    pub fn new(probabilities: &[Vec<f32>], labels: &[usize], classes: usize) -> Self {
        let mut confusion = vec![vec![0usize; classes]; classes];
        let mut bins = vec![(0usize, 0f64, 0usize); BINS];
        for (row, &label) in probabilities.iter().zip(labels) {
            let predicted = argmax(row);
            confusion[label][predicted] += 1;
            let confidence = f64::from(row[predicted]);
            let bin = ((confidence * BINS as f64) as usize).min(BINS - 1);
            bins[bin].0 += 1;
            bins[bin].1 += confidence;
            bins[bin].2 += usize::from(predicted == label);
        }
        let total = labels.len().max(1) as f64;
        let per_class = (0..classes)
            .map(|class| {
                let correct = confusion[class][class] as f64;
                let predicted: usize = confusion.iter().map(|row| row[class]).sum();
                let support: usize = confusion[class].iter().sum();
                ClassMetrics {
                    precision: if predicted == 0 {
                        0.0
                    } else {
                        correct / predicted as f64
                    },
                    recall: if support == 0 {
                        0.0
                    } else {
                        correct / support as f64
                    },
                    support,
                }
            })
            .collect();
        let correct: usize = (0..classes).map(|class| confusion[class][class]).sum();
        let reliability: Vec<ReliabilityBin> = bins
            .iter()
            .enumerate()
            .map(|(index, &(count, confidence, right))| ReliabilityBin {
                low: index as f64 / BINS as f64,
                high: (index + 1) as f64 / BINS as f64,
                count,
                mean_confidence: if count == 0 {
                    0.0
                } else {
                    confidence / count as f64
                },
                accuracy: if count == 0 {
                    0.0
                } else {
                    right as f64 / count as f64
                },
            })
            .collect();
        let expected_calibration_error = reliability
            .iter()
            .map(|bin| bin.count as f64 / total * (bin.accuracy - bin.mean_confidence).abs())
            .sum();
        Self {
            accuracy: correct as f64 / total,
            per_class,
            confusion,
            reliability,
            expected_calibration_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_and_confusion_count_what_they_say() {
        let rows = vec![
            vec![0.9, 0.1],
            vec![0.8, 0.2],
            vec![0.3, 0.7],
            vec![0.6, 0.4],
        ];
        let labels = [0, 0, 1, 1];
        let metrics = Metrics::new(&rows, &labels, 2);
        assert_eq!(metrics.confusion, vec![vec![2, 0], vec![1, 1]]);
        assert!((metrics.per_class[0].precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(metrics.per_class[1].recall, 0.5);
        assert_eq!(metrics.accuracy, 0.75);
        assert_eq!(
            metrics.reliability.iter().map(|b| b.count).sum::<usize>(),
            4
        );
    }
}
