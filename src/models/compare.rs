//! Before a promotion: how the candidate and the live model treat the ads
//! people decided. A trained head is run on each ad's kept embedding (no
//! photo decoded), and a live model that is not a head is then taken at
//! its word, by what it decided when the ad came in. A candidate that is
//! not a head is run on each ad's photo and text, as a worker would, and so
//! is the live model beside it. "Wrong" is an automatic decision a
//! person would not have made: approved when the person rejected or chose
//! another category, rejected when the person approved.
//!
//! The candidate was most likely trained on these very ads, so its figures
//! flatter it: the refusal catches a candidate that is plainly worse (the
//! wrong labels, another site's photos), and the training report's
//! held-out figures are the honest estimate.

use adpipe_core::Status;
use adpipe_store::db::{DecidedEmbedding, PersonDecided};
use adpipe_tagger::{HeadJudge, ModelError, Moderator};

/// How one model treats the people-decided ads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    pub ads: usize,
    pub approved: usize,
    pub rejected: usize,
    pub for_people: usize,
    pub wrong: usize,
}

impl Score {
    /// Worse: more wrong decisions, or as many and more ads for people.
    pub fn is_worse_than(&self, other: &Score) -> bool {
        self.wrong > other.wrong
            || (self.wrong == other.wrong && self.for_people > other.for_people)
    }

    /// Counts the model's `outcome` (and `category`) on an ad a person
    /// decided `person` (and `person_category`).
    fn count(
        &mut self,
        outcome: Status,
        category: Option<&str>,
        person: Status,
        person_category: Option<&str>,
    ) {
        self.ads += 1;
        match outcome {
            Status::Approved => {
                self.approved += 1;
                let agrees = person == Status::Approved && person_category == category;
                if !agrees {
                    self.wrong += 1;
                }
            }
            Status::Rejected => {
                self.rejected += 1;
                if person == Status::Approved {
                    self.wrong += 1;
                }
            }
            _ => self.for_people += 1,
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} ads: {} approved, {} rejected, {} for people ({:.0} %), {} wrong",
            self.ads,
            self.approved,
            self.rejected,
            self.for_people,
            100.0 * self.for_people as f64 / self.ads.max(1) as f64,
            self.wrong
        )
    }
}

/// How `judge` treats `ads` (those a person decided, with an embedding of
/// its backbone).
pub fn head_score(judge: &HeadJudge, ads: &[&DecidedEmbedding]) -> Score {
    let mut score = Score::default();
    for ad in ads {
        let person = (ad.status, ad.category.as_deref());
        match judge.decide(&ad.vector) {
            Some(decision) => {
                score.count(
                    decision.status,
                    decision.category.as_deref(),
                    person.0,
                    person.1,
                );
            }
            None => score.count(Status::InReview, None, person.0, person.1),
        }
    }
    score
}

/// How the model that decided them when they came in treated `ads`.
pub fn recorded_score(ads: &[&DecidedEmbedding]) -> Score {
    let mut score = Score::default();
    for ad in ads {
        let (status, category) = ad.model_outcome.clone().unwrap_or((Status::InReview, None));
        score.count(
            status,
            category.as_deref(),
            ad.status,
            ad.category.as_deref(),
        );
    }
    score
}

/// Adds how `moderator` judges `ads` (their photos, in order, as `photos`)
/// to `score`: each photo tagged and judged with the ad's text, as a worker
/// does (the text rules and the policy's text check; gates aside). A photo
/// that no longer decodes counts as sent to people.
pub fn add_photo_score(
    score: &mut Score,
    moderator: &Moderator,
    ads: &[PersonDecided],
    photos: &[&[u8]],
) -> Result<(), ModelError> {
    let texts: Vec<&str> = ads.iter().map(|ad| ad.text.as_str()).collect();
    let assessed = moderator.assess_prepared(moderator.prepare(photos), &texts)?;
    for (ad, assessment) in ads.iter().zip(assessed) {
        let (status, category) = match assessment {
            Ok(assessment) => {
                let decision = moderator.judge_text(&ad.text, assessment.decision);
                (decision.status, decision.category)
            }
            Err(_) => (Status::InReview, None),
        };
        score.count(
            status,
            category.as_deref(),
            ad.status,
            ad.category.as_deref(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_is_what_a_person_would_not_have_done() {
        let car = (Status::Approved, Some("car"));
        let spam = (Status::Rejected, None);
        let mut score = Score::default();
        score.count(Status::Approved, Some("car"), car.0, car.1);
        score.count(Status::Approved, Some("truck"), car.0, car.1);
        score.count(Status::Rejected, None, car.0, car.1);
        score.count(Status::Approved, Some("car"), spam.0, spam.1);
        score.count(Status::Rejected, None, spam.0, spam.1);
        score.count(Status::InReview, None, spam.0, spam.1);
        assert_eq!(
            score,
            Score {
                ads: 6,
                approved: 3,
                rejected: 2,
                for_people: 1,
                wrong: 3
            }
        );
        let fewer_for_people = Score {
            for_people: 0,
            ..score
        };
        assert!(score.is_worse_than(&fewer_for_people));
        assert!(!fewer_for_people.is_worse_than(&score));
        let one_more_wrong = Score {
            wrong: 4,
            for_people: 0,
            ..score
        };
        assert!(one_more_wrong.is_worse_than(&score));
    }
}
