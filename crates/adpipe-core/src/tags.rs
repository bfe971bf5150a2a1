//! What a classifier says about an image: its label set and the ranked tags.

use serde::{Deserialize, Serialize};

/// The class names of a classifier, in the order of its output vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels(Vec<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelsError {
    #[error("the labels file is empty")]
    Empty,
}

impl Labels {
    /// One label per non-empty line, surrounding white space trimmed.
    pub fn parse(text: &str) -> Result<Self, LabelsError> {
        let labels: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        if labels.is_empty() {
            return Err(LabelsError::Empty);
        }
        Ok(Self(labels))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Every index carrying this name. ImageNet has a few names twice
    /// ("crane" the bird and the machine), so a name maps to a set.
    pub fn indices_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.0
            .iter()
            .enumerate()
            .filter(move |(_, label)| label.as_str() == name)
            .map(|(index, _)| index)
    }
}

impl From<Vec<String>> for Labels {
    fn from(labels: Vec<String>) -> Self {
        Self(labels)
    }
}

/// One label with the classifier's confidence in it (0..=1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub label: String,
    pub confidence: f32,
}

/// The `k` most probable labels, most probable first. Ties keep index order
/// so the result is deterministic.
pub fn top_k(probabilities: &[f32], labels: &Labels, k: usize) -> Vec<Tag> {
    let mut order: Vec<usize> = (0..probabilities.len().min(labels.len())).collect();
    let k = k.min(order.len());
    if k == 0 {
        return Vec::new();
    }
    let by_confidence = |a: &usize, b: &usize| {
        probabilities[*b]
            .total_cmp(&probabilities[*a])
            .then(a.cmp(b))
    };
    order.select_nth_unstable_by(k - 1, by_confidence);
    order.truncate(k);
    order.sort_by(by_confidence);
    order
        .into_iter()
        .map(|index| Tag {
            label: labels.0[index].clone(),
            confidence: probabilities[index],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_label_per_line_and_skips_blank_lines() {
        let labels = Labels::parse("cat\n\n dog \r\ncar\n").unwrap();
        assert_eq!(labels.iter().collect::<Vec<_>>(), ["cat", "dog", "car"]);
        assert_eq!(Labels::parse(" \n"), Err(LabelsError::Empty));
    }

    #[test]
    fn top_k_ranks_by_confidence_and_breaks_ties_by_index() {
        let labels = Labels::parse("a\nb\nc\nd").unwrap();
        let tags = top_k(&[0.1, 0.4, 0.1, 0.4], &labels, 3);
        let names: Vec<_> = tags.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(names, ["b", "d", "a"]);
        assert!(top_k(&[0.5], &labels, 0).is_empty());
        assert_eq!(top_k(&[0.5, 0.5], &labels, 10).len(), 2);
    }

    #[test]
    fn duplicate_names_map_to_every_index() {
        let labels = Labels::parse("crane\nheron\ncrane").unwrap();
        assert_eq!(labels.indices_of("crane").collect::<Vec<_>>(), [0, 2]);
        assert_eq!(labels.indices_of("stork").count(), 0);
    }
}
