//! Text evidence: what the ad's text says is sold, next to what the photo
//! shows. A policy's `[text]` section names a sentence-embedding model and
//! describes each category (and what the policy does not publish) by a few
//! short texts, its prototypes; the ad's text is compared with all of them.
//!
//! ```toml
//! [text]
//! model = "../minilm-l6/model.toml"    # relative to the policy file
//! off_topic = ["concert tickets", "homemade food", …]
//! neutral = ["for sale", "good condition, open to offers", …]
//! temperature = 0.02                   # softmax over cosine similarities
//! confident = 0.8                      # the text is sure from this probability
//! min_similarity = 0.3                 # a text this far from every prototype says nothing
//! weight = 0.0                         # the text's share of a category's score
//! disagreement = "review"              # or "reject"
//!
//! [[category]]
//! name = "car"
//! labels = […]
//! text = ["a used car for sale", "estate car, diesel, low mileage", …]
//! ```
//!
//! Each category's similarity is that of its best-matching prototype;
//! a softmax with `temperature` turns the similarities (categories,
//! off-topic) into the text's probabilities. Neutral prototypes are what
//! any ad says whatever it sells ("for sale", "good condition"): a text
//! nearer to one of them than to every category and off-topic prototype
//! says nothing, as a sharp softmax over near-equal similarities would
//! otherwise be sure of any small lead (a bare "For sale, good condition"
//! was "sure" it sold a car, whose prototypes share those words). A category's score is
//! `(1 - weight) × photo + weight × text`. When the text is sure
//! (`confident`) that it sells something outside every category, or
//! another category than the one chosen, an ad the photo would publish is
//! not approved: a person decides (`disagreement = "review"`) or it is
//! rejected, with a reason that says what disagrees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Decision, Policy, percent};
use crate::ad::Status;

/// A policy's `[text]` section.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextSection {
    /// The text model's model.toml, relative to the policy file.
    pub model: String,
    /// What the policy does not publish, in a few words each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub off_topic: Vec<String>,
    /// What any ad says whatever it sells, in a few words each: a text
    /// closest to these says nothing about what is sold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neutral: Vec<String>,
    /// Softmax temperature over cosine similarities: smaller is sharper.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// The text's probability from which it counts as sure.
    #[serde(default = "default_confident")]
    pub confident: f32,
    /// A text whose best similarity to any prototype is below this says
    /// nothing about what is sold ("An ad", a name) and is no evidence.
    #[serde(default = "default_min_similarity")]
    pub min_similarity: f32,
    /// The text's share of a category's score (0..=1).
    #[serde(default)]
    pub weight: f32,
    /// What a sure disagreement does to an ad the photo would publish.
    #[serde(default)]
    pub disagreement: Disagreement,
}

fn default_temperature() -> f32 {
    0.02
}

fn default_confident() -> f32 {
    0.8
}

fn default_min_similarity() -> f32 {
    0.3
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Disagreement {
    #[default]
    Review,
    Reject,
}

/// What the text says: its probability per category (in the policy's
/// order) and of selling something the policy does not publish.
#[derive(Debug, Clone, PartialEq)]
pub struct TextScores {
    pub categories: Vec<f32>,
    pub off_topic: f32,
    /// The best cosine similarity to any category or off-topic prototype.
    pub best_similarity: f32,
    /// The best cosine similarity to a neutral prototype, if there are any.
    pub neutral_similarity: Option<f32>,
}

impl TextScores {
    /// From each category's best cosine similarity, the best off-topic one
    /// and the best neutral one (`None` without such prototypes). The
    /// probabilities are over categories and off-topic only: the neutral
    /// similarity decides whether the text says anything at all, and
    /// takes no share of how sure it is of what it says.
    pub fn from_similarities(
        categories: &[f32],
        off_topic: Option<f32>,
        neutral: Option<f32>,
        temperature: f32,
    ) -> Self {
        let all: Vec<f32> = categories.iter().copied().chain(off_topic).collect();
        let best_similarity = all.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let temperature = temperature.max(1e-4);
        let weights: Vec<f32> = all
            .iter()
            .map(|similarity| ((similarity - best_similarity) / temperature).exp())
            .collect();
        let total: f32 = weights.iter().sum();
        let mut probabilities: Vec<f32> = weights.iter().map(|w| w / total).collect();
        let off_topic = if off_topic.is_some() {
            probabilities.pop().unwrap_or(0.0)
        } else {
            0.0
        };
        Self {
            categories: probabilities,
            off_topic,
            best_similarity,
            neutral_similarity: neutral,
        }
    }

    /// The text's best guess: a category's index, or `None` for off-topic,
    /// with its probability.
    pub fn best(&self) -> (Option<usize>, f32) {
        let (index, probability) = self.categories.iter().copied().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |best, (i, p)| {
                if p > best.1 { (i, p) } else { best }
            },
        );
        if self.off_topic > probability {
            (None, self.off_topic)
        } else {
            (Some(index), probability)
        }
    }
}

/// What the ad's text said, as recorded with its decision, shown to
/// moderators and printed by `adpipe tag`: probabilities rounded to four
/// decimals, keyed by category name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextReading {
    /// The text's best guess: a category, `off_topic`, or `None` when the
    /// text is too far from every prototype to say anything.
    pub says: Option<String>,
    /// The text's probability per category.
    pub categories: BTreeMap<String, f32>,
    /// Its probability of selling something the policy does not publish.
    pub off_topic: f32,
    /// Its best cosine similarity to any prototype.
    pub best_similarity: f32,
}

/// The name a reading gives to text that sells nothing the policy publishes.
pub const OFF_TOPIC: &str = "off_topic";

impl TextReading {
    /// `names` are the policy's categories, in its order.
    pub fn new(section: &TextSection, names: &[&str], text: &TextScores) -> Self {
        let round = |value: f32| (value * 10_000.0).round() / 10_000.0;
        let says = if says_something(section, text) {
            match text.best() {
                (Some(index), _) => names.get(index).map(|name| (*name).to_owned()),
                (None, _) => Some(OFF_TOPIC.to_owned()),
            }
        } else {
            None
        };
        Self {
            says,
            categories: names
                .iter()
                .zip(&text.categories)
                .map(|(name, probability)| ((*name).to_owned(), round(*probability)))
                .collect(),
            off_topic: round(text.off_topic),
            best_similarity: round(text.best_similarity),
        }
    }

    /// The probability of what the text says (0 when it says nothing).
    pub fn confidence(&self) -> f32 {
        match self.says.as_deref() {
            Some(OFF_TOPIC) => self.off_topic,
            Some(name) => self.categories.get(name).copied().unwrap_or(0.0),
            None => 0.0,
        }
    }
}

/// Checks the `[text]` section against the rest of the policy.
pub(super) fn validate(policy: &Policy) -> Result<(), String> {
    let Some(section) = &policy.text else {
        if let Some(category) = policy.categories.iter().find(|c| !c.text.is_empty()) {
            return Err(format!(
                "category `{}` lists text prototypes, but the policy has no [text] section \
                 naming the text model",
                category.name
            ));
        }
        return Ok(());
    };
    if section.model.trim().is_empty() {
        return Err("[text] model must name the text model's model.toml".into());
    }
    if !(section.temperature > 0.0 && section.temperature <= 1.0) {
        return Err(format!(
            "[text] temperature must be above 0 and at most 1, not {}",
            section.temperature
        ));
    }
    for (name, value) in [
        ("confident", section.confident),
        ("weight", section.weight),
        ("min_similarity", section.min_similarity),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(format!(
                "[text] {name} must be between 0 and 1, not {value}"
            ));
        }
    }
    if let Some(category) = policy.categories.iter().find(|c| c.text.is_empty()) {
        return Err(format!(
            "category `{}` has no text prototypes (text = [\"…\"]); with a [text] section every \
             category needs some",
            category.name
        ));
    }
    Ok(())
}

/// Scores per category, in the policy's order: the photo's, mixed with the
/// text's by `weight` when the text says something.
pub(super) fn combine(section: &TextSection, photo: &[f32], text: &TextScores) -> Vec<f32> {
    if !says_something(section, text) {
        return photo.to_vec();
    }
    photo
        .iter()
        .zip(&text.categories)
        .map(|(p, t)| (1.0 - section.weight) * p + section.weight * t)
        .collect()
}

/// Whether the text says what is sold: near enough to some category's or
/// off-topic prototype, and nearer to it than to what any ad says.
fn says_something(section: &TextSection, text: &TextScores) -> bool {
    text.best_similarity >= section.min_similarity
        && text
            .neutral_similarity
            .is_none_or(|neutral| text.best_similarity > neutral)
}

/// An ad the photo would publish (or send to a person) whose text is sure
/// it sells something else is not approved.
pub(super) fn check_agreement(
    section: &TextSection,
    names: &[&str],
    text: &TextScores,
    decision: Decision,
) -> Decision {
    if !matches!(decision.status, Status::Approved | Status::InReview)
        || !says_something(section, text)
    {
        return decision;
    }
    let (best, probability) = text.best();
    if probability < section.confident {
        return decision;
    }
    let shown = decision.category.as_deref().unwrap_or("nothing we publish");
    let sure = percent(probability);
    let disagreement = match best {
        None => format!(
            "the photo looks like {shown}, but the text seems to sell something we do not publish \
             ({sure} sure)"
        ),
        Some(index) if names.get(index).copied() != decision.category.as_deref() => format!(
            "the photo looks like {shown}, but the text describes {} ({sure} sure)",
            names.get(index).copied().unwrap_or("another category")
        ),
        Some(_) => return decision,
    };
    let reason = format!("The photo does not show what the text describes: {disagreement}.");
    match section.disagreement {
        Disagreement::Reject => Decision {
            status: Status::Rejected,
            category: None,
            reason: Some(reason),
            suggestion: None,
            ..decision
        },
        Disagreement::Review => Decision {
            status: Status::InReview,
            reason: Some(match (decision.status, decision.reason) {
                (Status::InReview, Some(earlier)) => format!("{reason} {earlier}"),
                _ => reason,
            }),
            suggestion: Some(Status::Rejected),
            ..decision
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::Labels;

    const POLICY: &str = r#"
        name = "vehicles"
        approve_at = 0.3
        review_at = 0.02
        [text]
        model = "../minilm-l6/model.toml"
        off_topic = ["concert tickets"]
        [[category]]
        name = "car"
        labels = ["cab"]
        text = ["a used car for sale"]
        [[category]]
        name = "bicycle"
        labels = ["mountain bike"]
        text = ["bicycle for sale"]
    "#;

    fn bound(extra: &str) -> super::super::BoundPolicy {
        Policy::from_toml(
            &POLICY.replace("[text]\n", &format!("[text]\n{extra}\n")),
            "p.toml",
        )
        .unwrap()
        .bind(&Labels::parse("cab\nmountain bike\nlion").unwrap(), "m")
        .unwrap()
    }

    fn scores(car: f32, bicycle: f32, off_topic: f32) -> TextScores {
        TextScores::from_similarities(&[car, bicycle], Some(off_topic), None, 0.02)
    }

    #[test]
    fn a_text_nearest_what_any_ad_says_says_nothing() {
        let policy = bound("");
        let section = policy.policy().text.as_ref().unwrap();
        // Without neutral prototypes a small lead is a sure reading.
        let sharp = TextScores::from_similarities(&[0.52, 0.45], Some(0.40), None, 0.02);
        assert!(sharp.best().1 > 0.9);
        assert!(says_something(section, &sharp));
        // Nearer to "for sale" than to any category: nothing is said.
        let generic = TextScores::from_similarities(&[0.52, 0.45], Some(0.40), Some(0.80), 0.02);
        assert!(!says_something(section, &generic));
        // The neutral takes no share: the probabilities are as without it.
        assert_eq!(generic.categories, sharp.categories);
        assert_eq!(generic.off_topic, sharp.off_topic);
        assert!((generic.best_similarity - 0.52).abs() < 1e-6);
        let photo_car = Decision {
            status: Status::Approved,
            category: Some("bicycle".into()),
            score: 0.9,
            reason: None,
            suggestion: None,
            text: None,
            text_in_image: Vec::new(),
        };
        let kept = check_agreement(section, &["car", "bicycle"], &generic, photo_car.clone());
        assert_eq!(kept.status, Status::Approved);
        // A text that names its category clearly still counts.
        let specific = TextScores::from_similarities(&[0.75, 0.45], Some(0.40), Some(0.50), 0.02);
        assert!(says_something(section, &specific));
        let held = check_agreement(section, &["car", "bicycle"], &specific, photo_car);
        assert_eq!(held.status, Status::InReview);
    }

    #[test]
    fn similarities_become_probabilities_that_sum_to_one() {
        let text = scores(0.60, 0.50, 0.30);
        let total: f32 = text.categories.iter().sum::<f32>() + text.off_topic;
        assert!((total - 1.0).abs() < 1e-5);
        assert_eq!(text.best().0, Some(0));
        assert!(text.best().1 > 0.99);
        assert_eq!(scores(0.2, 0.3, 0.5).best().0, None);
    }

    #[test]
    fn a_text_sure_of_another_category_sends_the_ad_to_a_person() {
        let policy = bound("");
        let decision =
            policy.decide_with_text(&[0.9, 0.0, 0.1], None, Some(&scores(0.4, 0.7, 0.3)));
        assert_eq!(decision.status, Status::InReview);
        assert_eq!(decision.category.as_deref(), Some("car"));
        assert_eq!(decision.suggestion, Some(Status::Rejected));
        let reason = decision.reason.unwrap();
        assert!(
            reason.starts_with("The photo does not show what the text describes"),
            "{reason}"
        );
        assert!(reason.contains("the text describes bicycle"), "{reason}");
    }

    #[test]
    fn an_off_topic_text_is_rejected_when_the_policy_says_so() {
        let policy = bound("disagreement = \"reject\"");
        let decision =
            policy.decide_with_text(&[0.9, 0.0, 0.1], None, Some(&scores(0.4, 0.3, 0.7)));
        assert_eq!(decision.status, Status::Rejected);
        assert_eq!(decision.category, None);
        assert!(
            decision
                .reason
                .unwrap()
                .contains("something we do not publish")
        );
    }

    #[test]
    fn agreeing_unsure_or_empty_texts_change_nothing() {
        let policy = bound("");
        let alone = policy.decide(&[0.9, 0.0, 0.1], None);
        for text in [
            scores(0.7, 0.4, 0.3),
            scores(0.50, 0.49, 0.3),
            scores(0.2, 0.25, 0.28),
        ] {
            assert_eq!(
                policy.decide_with_text(&[0.9, 0.0, 0.1], None, Some(&text)),
                alone,
                "{text:?}"
            );
        }
        // A photo that shows nothing stays rejected whatever the text says.
        let rejected =
            policy.decide_with_text(&[0.0, 0.0, 1.0], None, Some(&scores(0.9, 0.1, 0.1)));
        assert_eq!(rejected.status, Status::Rejected);
    }

    #[test]
    fn a_policy_with_text_needs_prototypes_for_every_category() {
        let error = Policy::from_toml(
            &POLICY.replace("text = [\"bicycle for sale\"]", ""),
            "p.toml",
        )
        .unwrap_err();
        assert!(error.to_string().contains("bicycle"), "{error}");
        let error = Policy::from_toml(&POLICY.replace("[text]", "[unused]"), "p.toml").unwrap_err();
        assert!(
            error.to_string().contains("[text]") || error.to_string().contains("unused"),
            "{error}"
        );
    }
}
