//! The band a policy applies to a head's probabilities: the category is the
//! best-scoring class that is not "none", approved at `approve_at` or more,
//! rejected below `review_at`, and in between a person decides, as
//! `adpipe_core::Policy` does with a head's categories named directly.
//!
//! [`propose`] draws it on held-out predictions: the lowest `approve_at`
//! above every approval that would have been wrong, the highest `review_at`
//! below every ad that should have been published, both on a 0.01 grid
//! (never closer to a wrong case than the grid). On those predictions it
//! makes no wrong automatic decision, and sends the fewest to people that
//! any band with that property can.

use serde::Serialize;

/// What a band does with one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    InReview,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Band {
    pub approve_at: f32,
    pub review_at: f32,
}

/// How a band treats a set of predictions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BandShares {
    pub total: usize,
    pub approved: usize,
    pub rejected: usize,
    pub in_review: usize,
    /// Approved in the wrong category, or approved when nothing should be.
    pub wrongly_approved: usize,
    /// Rejected when it should have been published.
    pub wrongly_rejected: usize,
}

impl BandShares {
    pub fn share(&self, count: usize) -> f64 {
        count as f64 / self.total.max(1) as f64
    }
}

/// The best class that is not `none`, and its probability.
pub fn category(probabilities: &[f32], none: Option<usize>) -> (usize, f32) {
    probabilities
        .iter()
        .enumerate()
        .filter(|(class, _)| Some(*class) != none)
        .fold((0, f32::NEG_INFINITY), |best, (class, &p)| {
            if p > best.1 { (class, p) } else { best }
        })
}

impl Band {
    pub fn verdict(&self, score: f32) -> Verdict {
        if score >= self.approve_at {
            Verdict::Approved
        } else if score < self.review_at {
            Verdict::Rejected
        } else {
            Verdict::InReview
        }
    }

    pub fn shares(
        &self,
        probabilities: &[Vec<f32>],
        labels: &[usize],
        none: Option<usize>,
    ) -> BandShares {
        let mut shares = BandShares {
            total: labels.len(),
            ..BandShares::default()
        };
        for (row, &label) in probabilities.iter().zip(labels) {
            let (class, score) = category(row, none);
            match self.verdict(score) {
                Verdict::Approved => {
                    shares.approved += 1;
                    if class != label {
                        shares.wrongly_approved += 1;
                    }
                }
                Verdict::Rejected => {
                    shares.rejected += 1;
                    if Some(label) != none {
                        shares.wrongly_rejected += 1;
                    }
                }
                Verdict::InReview => shares.in_review += 1,
            }
        }
        shares
    }
}

/// The smallest multiple of 0.01 strictly above `x`.
fn grid_above(x: f32) -> f32 {
    ((x * 100.0).floor() + 1.0) / 100.0
}

/// The largest multiple of 0.01 at or below `x`.
fn grid_at_or_below(x: f32) -> f32 {
    (x * 100.0).floor() / 100.0
}

pub fn propose(probabilities: &[Vec<f32>], labels: &[usize], none: Option<usize>) -> Band {
    let scored: Vec<(usize, f32, usize)> = probabilities
        .iter()
        .zip(labels)
        .map(|(row, &label)| {
            let (class, score) = category(row, none);
            (class, score, label)
        })
        .collect();
    let worst_wrong_approval = scored
        .iter()
        .filter(|(class, _, label)| class != label)
        .map(|(_, score, _)| *score)
        .fold(None, |max: Option<f32>, s| {
            Some(max.map_or(s, |m| m.max(s)))
        });
    let approve_at = match worst_wrong_approval {
        Some(score) => grid_above(score).min(1.0),
        // Nothing would have been approved wrongly: approve everything the
        // predictions reach.
        None => grid_at_or_below(
            scored
                .iter()
                .map(|(_, score, _)| *score)
                .fold(1.0, f32::min),
        ),
    };
    let lowest_publishable = scored
        .iter()
        .filter(|(_, _, label)| Some(*label) != none)
        .map(|(_, score, _)| *score)
        .fold(None, |min: Option<f32>, s| {
            Some(min.map_or(s, |m| m.min(s)))
        });
    let review_at = match (none, lowest_publishable) {
        (Some(_), Some(score)) => grid_at_or_below(score),
        _ => 0.0,
    };
    Band {
        approve_at,
        review_at: review_at.min(approve_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proposed_band_makes_no_wrong_decision_and_sends_the_rest_to_people() {
        // classes: 0 = car, 1 = boat, 2 = none
        let rows = vec![
            vec![0.95, 0.03, 0.02], // car, sure
            vec![0.60, 0.10, 0.30], // car
            vec![0.55, 0.40, 0.05], // boat, mistaken for a car at 0.55
            vec![0.05, 0.90, 0.05], // boat, sure
            vec![0.10, 0.05, 0.85], // none: top category car at 0.10
            vec![0.30, 0.10, 0.60], // none, car at 0.30
        ];
        let labels = [0, 0, 1, 1, 2, 2];
        let band = propose(&rows, &labels, Some(2));
        assert_eq!(
            band,
            Band {
                approve_at: 0.56,
                review_at: 0.55
            }
        );
        let shares = band.shares(&rows, &labels, Some(2));
        assert_eq!((shares.wrongly_approved, shares.wrongly_rejected), (0, 0));
        assert_eq!(
            (shares.approved, shares.in_review, shares.rejected),
            (3, 1, 2)
        );
    }

    #[test]
    fn without_a_none_class_nothing_is_rejected() {
        let rows = vec![vec![0.9, 0.1], vec![0.2, 0.8]];
        let band = propose(&rows, &[0, 1], None);
        assert_eq!(band.review_at, 0.0);
        assert_eq!(band.shares(&rows, &[0, 1], None).wrongly_approved, 0);
    }
}
