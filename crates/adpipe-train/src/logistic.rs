//! Multinomial logistic regression with L2, each class weighted so that
//! every class counts as much as any other (a site has far more ads of
//! some categories than of others), fitted by L-BFGS from zero: the same
//! data gives the same head, bit for bit.

use argmin::core::{CostFunction, Error, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

use crate::Dataset;

#[derive(Debug, Clone)]
pub struct FitOptions {
    /// The L2 penalty on the weights (not the biases), per unit of mean
    /// loss: 0.01 is scikit-learn's default (C = 1) for 100 examples.
    pub l2: f64,
    /// L-BFGS iterations at most.
    pub max_iters: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            l2: 0.01,
            max_iters: 300,
        }
    }
}

const GRADIENT_TOLERANCE: f64 = 1e-4;
/// Stop when a step changes the loss by less than this.
const COST_TOLERANCE: f64 = 1e-9;

/// `logits = weight · features + bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearHead {
    /// Row-major `[classes, features]`.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub features: usize,
}

impl LinearHead {
    pub fn classes(&self) -> usize {
        self.bias.len()
    }

    pub fn logits(&self, features: &[f32]) -> Vec<f32> {
        self.weight
            .chunks_exact(self.features)
            .zip(&self.bias)
            .map(|(row, bias)| row.iter().zip(features).map(|(w, x)| w * x).sum::<f32>() + bias)
            .collect()
    }
}

/// Fits a head on the examples `rows` of `dataset`.
pub fn fit(dataset: &Dataset, rows: &[usize], options: &FitOptions) -> LinearHead {
    let problem = Problem::new(dataset, rows, options.l2);
    let dimensions = problem.classes * (problem.features + 1);
    // Stop when the gradient is this small: the mean loss then moves in its
    // fourth decimal, well below what the held-out figures can see. The
    // default (the square root of machine epsilon) spends most of the
    // iterations polishing digits nothing reads.
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(GRADIENT_TOLERANCE)
        .and_then(|solver| solver.with_tolerance_cost(COST_TOLERANCE))
        .expect("the tolerances are positive");
    let result = Executor::new(problem.clone(), solver)
        .configure(|state| {
            state
                .param(vec![0.0; dimensions])
                .max_iters(options.max_iters)
        })
        .run();
    let parameters = match result {
        Ok(result) => result
            .state()
            .get_best_param()
            .cloned()
            .unwrap_or_else(|| vec![0.0; dimensions]),
        // A line search that finds no descent means the start (or where it
        // got) is already as good as it can tell; argmin reports that as an
        // error, with no state to take the best from: fall back to plain
        // gradient steps, which cannot fail.
        Err(_) => problem.gradient_descent(dimensions, options.max_iters),
    };
    problem.head(&parameters)
}

/// A dot product in eight lanes, which the compiler turns into vector
/// instructions (one running sum would have to be added in order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[derive(Clone)]
struct Problem<'a> {
    rows: Vec<&'a [f32]>,
    labels: Vec<usize>,
    /// Each row's share of the loss: its own weight times its class's
    /// balancing weight, summing to 1.
    weights: Vec<f64>,
    classes: usize,
    features: usize,
    l2: f64,
    /// The cores, asked once: the standard library reads the cgroup files
    /// each time, which cost more than a small step of the fit.
    threads: usize,
}

impl<'a> Problem<'a> {
    fn new(dataset: &'a Dataset, rows: &[usize], l2: f64) -> Self {
        let classes = dataset.classes.len();
        let mut per_class = vec![0f64; classes];
        for &row in rows {
            let example = &dataset.examples[row];
            per_class[example.label] += f64::from(example.weight);
        }
        let present = per_class
            .iter()
            .filter(|total| **total > 0.0)
            .count()
            .max(1);
        let weights: Vec<f64> = rows
            .iter()
            .map(|&row| {
                let example = &dataset.examples[row];
                // Each class present holds 1/present of the loss.
                f64::from(example.weight) / per_class[example.label] / present as f64
            })
            .collect();
        Self {
            rows: rows
                .iter()
                .map(|&row| dataset.examples[row].features.as_slice())
                .collect(),
            labels: rows
                .iter()
                .map(|&row| dataset.examples[row].label)
                .collect(),
            weights,
            classes,
            features: dataset.features(),
            l2,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// The weighted mean cross-entropy plus the penalty, and its gradient.
    /// The products run in f32 (vectorised; the examples are split over
    /// the cores), the sums that make the loss and the gradient in f64.
    fn evaluate(&self, parameters: &[f64], gradient: Option<&mut Vec<f64>>) -> f64 {
        let (k, d) = (self.classes, self.features);
        let (weight, bias) = parameters.split_at(k * d);
        let weight32: Vec<f32> = weight.iter().map(|&w| w as f32).collect();
        let want_gradient = gradient.is_some();
        let threads = self.threads.min(self.rows.len().div_ceil(256)).max(1);
        let chunk = self.rows.len().div_ceil(threads);
        let partials: Vec<(f64, Vec<f32>, Vec<f64>)> = if threads == 1 {
            // A thread per step costs more than a small problem's step.
            vec![self.partial(0..self.rows.len(), &weight32, bias, want_gradient)]
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|thread| {
                        let range = thread * chunk..((thread + 1) * chunk).min(self.rows.len());
                        let weight32 = &weight32;
                        scope.spawn(move || self.partial(range, weight32, bias, want_gradient))
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|worker| worker.join().expect("no panic in the loss"))
                    .collect()
            })
        };
        let mut loss = 0.0;
        if let Some(gradient) = gradient {
            gradient.clear();
            gradient.resize(parameters.len(), 0.0);
            for (part_loss, part_weight, part_bias) in &partials {
                loss += part_loss;
                for (g, p) in gradient[..k * d].iter_mut().zip(part_weight) {
                    *g += f64::from(*p);
                }
                for (g, p) in gradient[k * d..].iter_mut().zip(part_bias) {
                    *g += p;
                }
            }
            for (g, w) in gradient[..k * d].iter_mut().zip(weight) {
                *g += self.l2 * w;
            }
        } else {
            loss = partials.iter().map(|(part_loss, _, _)| part_loss).sum();
        }
        loss + weight.iter().map(|w| w * w).sum::<f64>() * self.l2 / 2.0
    }

    /// The loss (and gradient) of the examples in `range`.
    fn partial(
        &self,
        range: std::ops::Range<usize>,
        weight: &[f32],
        bias: &[f64],
        want_gradient: bool,
    ) -> (f64, Vec<f32>, Vec<f64>) {
        let (k, d) = (self.classes, self.features);
        let mut loss = 0.0;
        let mut g_weight = vec![0f32; if want_gradient { k * d } else { 0 }];
        let mut g_bias = vec![0f64; if want_gradient { k } else { 0 }];
        let mut logits = vec![0f64; k];
        for index in range {
            let (row, label, share) = (self.rows[index], self.labels[index], self.weights[index]);
            for (class, logit) in logits.iter_mut().enumerate() {
                *logit = bias[class] + f64::from(dot(&weight[class * d..(class + 1) * d], row));
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|z| (z - max).exp()).sum();
            loss += share * (max + sum.ln() - logits[label]);
            if want_gradient {
                for class in 0..k {
                    let probability = (logits[class] - max).exp() / sum;
                    let error = share * (probability - f64::from(u8::from(class == label)));
                    g_bias[class] += error;
                    let error = error as f32;
                    for (g, x) in g_weight[class * d..(class + 1) * d].iter_mut().zip(row) {
                        *g += error * x;
                    }
                }
            }
        }
        (loss, g_weight, g_bias)
    }

    fn gradient_descent(&self, dimensions: usize, iterations: u64) -> Vec<f64> {
        let mut parameters = vec![0.0; dimensions];
        let mut gradient = Vec::new();
        for _ in 0..iterations {
            self.evaluate(&parameters, Some(&mut gradient));
            for (p, g) in parameters.iter_mut().zip(&gradient) {
                *p -= 0.5 * g;
            }
        }
        parameters
    }

    fn head(&self, parameters: &[f64]) -> LinearHead {
        let (weight, bias) = parameters.split_at(self.classes * self.features);
        LinearHead {
            weight: weight.iter().map(|&w| w as f32).collect(),
            bias: bias.iter().map(|&b| b as f32).collect(),
            features: self.features,
        }
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, parameters: &Self::Param) -> Result<f64, Error> {
        Ok(self.evaluate(parameters, None))
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, parameters: &Self::Param) -> Result<Vec<f64>, Error> {
        let mut gradient = Vec::new();
        self.evaluate(parameters, Some(&mut gradient));
        Ok(gradient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Example;

    /// Two well-separated blobs per class in 3 dimensions.
    pub(crate) fn blobs(per_class: usize, classes: usize) -> Dataset {
        let mut examples = Vec::new();
        for class in 0..classes {
            for i in 0..per_class {
                let jitter = (i as f32 * 0.37).sin() * 0.3;
                let mut features = vec![jitter; 3];
                features[class % 3] += 2.0;
                examples.push(Example {
                    features,
                    label: class,
                    weight: 1.0,
                    source: format!("{class}/{i}"),
                });
            }
        }
        Dataset {
            classes: (0..classes).map(|c| format!("c{c}")).collect(),
            none: None,
            examples,
        }
    }

    #[test]
    fn separable_classes_are_learned_and_the_fit_is_deterministic() {
        let data = blobs(20, 3);
        let rows: Vec<usize> = (0..data.examples.len()).collect();
        let head = fit(&data, &rows, &FitOptions::default());
        for example in &data.examples {
            let logits = head.logits(&example.features);
            let best = (0..3)
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap();
            assert_eq!(best, example.label, "{}", example.source);
        }
        assert_eq!(head, fit(&data, &rows, &FitOptions::default()));
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let data = blobs(4, 3);
        let rows: Vec<usize> = (0..data.examples.len()).collect();
        let problem = Problem::new(&data, &rows, 0.1);
        let parameters: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).cos() * 0.5).collect();
        let mut gradient = Vec::new();
        problem.evaluate(&parameters, Some(&mut gradient));
        for i in 0..parameters.len() {
            let mut up = parameters.clone();
            up[i] += 1e-3;
            let mut down = parameters.clone();
            down[i] -= 1e-3;
            // The products run in f32: a step this size keeps their rounding
            // out of the difference.
            let numeric = (problem.evaluate(&up, None) - problem.evaluate(&down, None)) / 2e-3;
            assert!(
                (numeric - gradient[i]).abs() < 1e-4,
                "{i}: {numeric} vs {}",
                gradient[i]
            );
        }
    }

    #[test]
    fn a_rare_class_weighs_as_much_as_a_common_one() {
        let mut data = blobs(30, 2);
        data.examples
            .retain(|e| e.label == 0 || e.source.ends_with("/0") || e.source.ends_with("/1"));
        let rows: Vec<usize> = (0..data.examples.len()).collect();
        let problem = Problem::new(&data, &rows, 0.0);
        let rare: f64 = problem
            .weights
            .iter()
            .zip(&problem.labels)
            .filter(|(_, l)| **l == 1)
            .map(|(w, _)| w)
            .sum();
        assert!((rare - 0.5).abs() < 1e-12, "{rare}");
    }
}
