//! Stratified folds: each class's examples shuffled with the seed and dealt
//! round the folds, so every fold holds each class in about its share.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::Dataset;

/// The fold (0..folds) of every example, in example order.
pub fn stratified_folds(dataset: &Dataset, folds: usize, seed: u64) -> Vec<usize> {
    // StdRng is the same generator for a given rand version, and
    // Cargo.lock pins that: the same seed gives the same folds.
    let mut random = StdRng::seed_from_u64(seed);
    let mut fold_of = vec![0; dataset.examples.len()];
    // Where the next class starts dealing, so the folds stay even when
    // classes have counts that are not multiples of `folds`.
    let mut next = 0;
    for class in 0..dataset.classes.len() {
        let mut members: Vec<usize> = (0..dataset.examples.len())
            .filter(|&index| dataset.examples[index].label == class)
            .collect();
        members.shuffle(&mut random);
        for index in members {
            fold_of[index] = next % folds;
            next += 1;
        }
    }
    fold_of
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Example;

    fn dataset(counts: &[usize]) -> Dataset {
        let examples = counts
            .iter()
            .enumerate()
            .flat_map(|(label, &count)| {
                (0..count).map(move |i| Example {
                    features: vec![i as f32],
                    label,
                    weight: 1.0,
                    source: format!("{label}/{i}"),
                })
            })
            .collect();
        Dataset {
            classes: counts
                .iter()
                .enumerate()
                .map(|(i, _)| i.to_string())
                .collect(),
            none: None,
            examples,
        }
    }

    #[test]
    fn every_fold_holds_every_class_and_the_seed_decides_the_deal() {
        let data = dataset(&[7, 12, 5]);
        let folds = stratified_folds(&data, 5, 42);
        for class in 0..3 {
            for fold in 0..5 {
                assert!(
                    (0..data.examples.len())
                        .any(|i| data.examples[i].label == class && folds[i] == fold),
                    "class {class} missing from fold {fold}"
                );
            }
        }
        let sizes: Vec<usize> = (0..5)
            .map(|f| folds.iter().filter(|&&x| x == f).count())
            .collect();
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        assert_eq!(folds, stratified_folds(&data, 5, 42));
        assert_ne!(folds, stratified_folds(&data, 5, 43));
    }
}
