//! Text in the photo (`[text_in_image]`): spammers write the phone number,
//! the handle or the web address into the photo because the text field is
//! filtered. The lines the OCR models read there go through the policy's
//! text rules like the ad's own text, and this section says how far a match
//! found there may go:
//!
//! ```toml
//! [text_in_image]
//! model = "../ppocr-det"   # the OCR text detector (it names its recogniser)
//! action = "review"        # the most a rule's match in the photo does
//! min_confidence = 0.7     # lines read less surely are not evidence
//! glance_side = 320        # a first look at this size skips photos without text
//! ```
//!
//! Most text in a photo of something for sale is not spam: a licence plate,
//! a shop sign behind a car, the brand on a helmet. The text rules decide
//! what counts (contact details, banned words), and `action` caps it: with
//! "review" (the default) a person looks before anything is rejected for
//! what a photo shows in passing; "allow" only shows the text to moderators.

use serde::{Deserialize, Serialize};

use super::decision::Decision;
use super::{RuleAction, TextRules};
use crate::TextInImage;

/// A policy's `[text_in_image]` section.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextInImageSection {
    /// The OCR text detector's model.toml (or its folder), relative to the
    /// policy file.
    pub model: String,
    /// The most a text rule's match in the photo does: "reject" lets the
    /// rule's own action stand, "review" sends what a rejecting rule found
    /// to a person instead, "allow" only records the text for moderators.
    #[serde(default = "default_action")]
    pub action: RuleAction,
    /// Lines the recogniser is less sure of than this (0..=1) are neither
    /// checked nor shown: misreadings of texture as letters.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f32,
    /// The longer side, in pixels, of a first quick look for any text at
    /// all; only a photo where it sees some is read at the detector's own
    /// size. 0 reads every photo in full (slower, finds smaller text).
    #[serde(default = "default_glance_side")]
    pub glance_side: u32,
}

fn default_glance_side() -> u32 {
    320
}

fn default_action() -> RuleAction {
    RuleAction::Review
}

fn default_min_confidence() -> f32 {
    0.7
}

pub(super) fn validate(section: &TextInImageSection) -> Result<(), String> {
    if section.model.trim().is_empty() {
        return Err("[text_in_image] model must name the OCR detector's model.toml".into());
    }
    if !(0.0..=1.0).contains(&section.min_confidence) {
        return Err(format!(
            "[text_in_image] min_confidence must be between 0 and 1, not {}",
            section.min_confidence
        ));
    }
    if section.glance_side != 0 && !(64..=2048).contains(&section.glance_side) {
        return Err(format!(
            "[text_in_image] glance_side must be 0 (no glance) or between 64 and 2048 pixels, \
             not {}",
            section.glance_side
        ));
    }
    Ok(())
}

impl TextInImageSection {
    /// The lines worth keeping: read at least `min_confidence` surely and
    /// with a letter or digit in them.
    pub fn evidence(&self, lines: Vec<TextInImage>) -> Vec<TextInImage> {
        lines
            .into_iter()
            .filter(|line| {
                line.confidence >= self.min_confidence
                    && line.text.chars().any(char::is_alphanumeric)
            })
            .collect()
    }
}

impl Decision {
    /// Applies the policy's text rules to the text read in the photo
    /// (`lines`, in reading order), capped by the section's `action`, and
    /// keeps the lines as evidence for moderators. As with the ad's text,
    /// nothing found makes a rejected ad any better.
    pub fn with_text_in_image(
        self,
        section: &TextInImageSection,
        rules: &TextRules,
        lines: Vec<TextInImage>,
    ) -> Decision {
        let lines = section.evidence(lines);
        // One text, lines in reading order: a detail split over two boxes
        // ("WhatsApp" | "+44 7700 900123") is found as it is read.
        let read: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        let found = rules.check(&read.join("\n")).map(|mut found| {
            if found.action.strictness() > section.action.strictness() {
                found.action = section.action;
            }
            found
        });
        let decision = match found {
            Some(found) => self.with_rule_match(found, "Text in the photo, rule"),
            None => self,
        };
        Decision {
            text_in_image: lines,
            ..decision
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::Status;
    use crate::policy::TextRule;

    fn rules(action: RuleAction) -> TextRules {
        TextRules::compile(&[TextRule {
            name: "contact details".into(),
            words: vec![],
            patterns: vec![],
            contacts: vec![
                super::super::ContactKind::Phone,
                super::super::ContactKind::Url,
            ],
            action,
            reason: "Buyers reach sellers through the site.".into(),
        }])
        .unwrap()
    }

    fn section(action: RuleAction) -> TextInImageSection {
        TextInImageSection {
            model: "../ppocr-det".into(),
            action,
            min_confidence: 0.7,
            glance_side: 320,
        }
    }

    fn line(text: &str, confidence: f32) -> TextInImage {
        TextInImage {
            text: text.into(),
            corners: [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]],
            confidence,
        }
    }

    fn approved() -> Decision {
        Decision {
            status: Status::Approved,
            category: Some("car".into()),
            score: 0.9,
            reason: None,
            suggestion: None,
            text: None,
            text_in_image: Vec::new(),
        }
    }

    #[test]
    fn a_phone_number_in_the_photo_goes_to_a_person_with_the_number_shown() {
        let decision = approved().with_text_in_image(
            &section(RuleAction::Review),
            &rules(RuleAction::Reject),
            vec![line("CALL NOW", 0.95), line("+44 7700 900 123", 0.93)],
        );
        assert_eq!(decision.status, Status::InReview);
        assert_eq!(decision.suggestion, Some(Status::Rejected));
        let reason = decision.reason.unwrap();
        assert!(reason.contains("Text in the photo"), "{reason}");
        assert!(reason.contains("+44 7700 900 123"), "{reason}");
        assert_eq!(decision.text_in_image.len(), 2);
    }

    #[test]
    fn a_rejecting_section_lets_the_rule_reject() {
        let decision = approved().with_text_in_image(
            &section(RuleAction::Reject),
            &rules(RuleAction::Reject),
            vec![line("www.cheap-cars.example", 0.9)],
        );
        assert_eq!(decision.status, Status::Rejected);
        assert_eq!(decision.category, None);
    }

    #[test]
    fn an_allowing_section_only_records_what_it_read() {
        let decision = approved().with_text_in_image(
            &section(RuleAction::Allow),
            &rules(RuleAction::Reject),
            vec![line("+44 7700 900 123", 0.9)],
        );
        assert_eq!(decision.status, Status::Approved);
        assert_eq!(decision.reason, None);
        assert_eq!(decision.text_in_image[0].text, "+44 7700 900 123");
    }

    #[test]
    fn a_plate_a_sign_and_a_brand_are_not_contact_details() {
        let decision = approved().with_text_in_image(
            &section(RuleAction::Reject),
            &rules(RuleAction::Reject),
            vec![
                line("AB12 CDE", 0.97),
                line("PIZZERIA DA MARIO", 0.9),
                line("SHOEI", 0.92),
                line("OPEN 7 DAYS", 0.9),
            ],
        );
        assert_eq!(decision.status, Status::Approved);
        assert_eq!(decision.text_in_image.len(), 4);
    }

    #[test]
    fn unsure_lines_and_lines_without_letters_are_dropped() {
        let decision = approved().with_text_in_image(
            &section(RuleAction::Reject),
            &rules(RuleAction::Reject),
            vec![line("+44 7700 900 123", 0.5), line("--", 0.99)],
        );
        assert_eq!(decision.status, Status::Approved);
        assert!(decision.text_in_image.is_empty());
    }

    #[test]
    fn a_rejected_ad_stays_rejected() {
        let rejected = Decision {
            status: Status::Rejected,
            category: None,
            reason: Some("Not a vehicle.".into()),
            ..approved()
        };
        let decision = rejected.with_text_in_image(
            &section(RuleAction::Review),
            &rules(RuleAction::Review),
            vec![line("+44 7700 900 123", 0.9)],
        );
        assert_eq!(decision.status, Status::Rejected);
        assert_eq!(decision.reason.as_deref(), Some("Not a vehicle."));
    }

    #[test]
    fn the_section_is_checked() {
        let mut wrong = section(RuleAction::Review);
        wrong.min_confidence = 1.5;
        assert!(validate(&wrong).unwrap_err().contains("min_confidence"));
        wrong = section(RuleAction::Review);
        wrong.model = " ".into();
        assert!(validate(&wrong).unwrap_err().contains("model"));
        wrong = section(RuleAction::Review);
        wrong.glance_side = 10;
        assert!(validate(&wrong).unwrap_err().contains("glance_side"));
    }
}
