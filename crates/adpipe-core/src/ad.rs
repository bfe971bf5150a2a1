//! An ad and the values it is made of. Each type validates on construction,
//! so an `Email` or an `AdText` that exists is one the pipeline accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ad's id: a UUIDv7, unguessable (74 random bits) and time-ordered, so
/// ids cannot be enumerated and new rows append to indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdId(uuid::Uuid);

impl AdId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// A number in [0, 1) fixed for this ad, drawn from its bits: the draw
    /// that decides whether an approval is sampled for review. Being the
    /// ad's own, it is the same on a redelivery or a retag, so a re-judged
    /// ad is not sampled anew; across ads it is uniform.
    pub fn sample_point(&self) -> f64 {
        // Ids made in the same millisecond share a counter in their middle
        // bits: mix all 128 bits (SplitMix64's finaliser) before reading.
        let bits = self.0.as_u128();
        let mut x = (bits >> 64) as u64 ^ (bits as u64).rotate_left(29);
        x ^= x >> 30;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for AdId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ad id (ids look like 0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90)")]
pub struct InvalidAdId(pub String);

impl FromStr for AdId {
    type Err = InvalidAdId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Only the canonical hyphenated form: one id, one spelling.
        if text.len() != 36 {
            return Err(InvalidAdId(text.chars().take(64).collect()));
        }
        uuid::Uuid::try_parse(text)
            .map(Self)
            .map_err(|_| InvalidAdId(text.to_owned()))
    }
}

/// Where an ad is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    /// The model was not sure (its score fell between the policy's
    /// `review_at` and `approve_at`), or the approval was sampled for
    /// quality control: a person decides.
    InReview,
    /// Could not be processed (e.g. the stored image does not decode);
    /// the reason says why.
    Failed,
}

impl Status {
    /// Every status, in the order an ad can go through them.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::InReview,
        Status::Approved,
        Status::Rejected,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::InReview => "in_review",
            Status::Failed => "failed",
        }
    }
}

impl Status {
    /// Approved or rejected: the submitter has been (or will be) told.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected)
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown status {text:?}"))
    }
}

/// A submitter's address: one mailbox, no display name, no whitespace or
/// control characters (so it can never inject a mail header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is too long ({0} characters; at most 254)")]
    TooLong(usize),
    #[error("the email address must look like name@example.com")]
    Malformed,
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(text: &str) -> Result<Self, InvalidEmail> {
        // Limits count what was sent (as the API's document does), the
        // address is what is left once trimmed.
        let sent = text.chars().count();
        let text = text.trim();
        if text.is_empty() {
            return Err(InvalidEmail::Empty);
        }
        if text.len() > Self::MAX_LEN || sent > Self::MAX_LEN {
            return Err(InvalidEmail::TooLong(sent));
        }
        let (local, domain) = text.rsplit_once('@').ok_or(InvalidEmail::Malformed)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidEmail::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ad's text: at most 5000 characters as sent, not only whitespace;
/// kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAdText {
    #[error("the text is empty")]
    Empty,
    #[error("the text is too long ({0} characters; at most 5000)")]
    TooLong(usize),
    #[error("the text contains control characters")]
    ControlCharacters,
}

impl AdText {
    pub const MAX_CHARS: usize = 5000;

    pub fn parse(text: &str) -> Result<Self, InvalidAdText> {
        // The limit counts what was sent (as the API's document does); the
        // text kept is trimmed.
        let chars = text.chars().count();
        // Control characters are looked for in what was sent, before the
        // trim: NEL (U+0085) is both a control character and white space,
        // and a leading one must be refused as the API's document says,
        // not trimmed away.
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(InvalidAdText::ControlCharacters);
        }
        // A byte-order mark counts as white space, as in the document's
        // pattern (JSON Schema's `\s`).
        let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        if text.is_empty() {
            return Err(InvalidAdText::Empty);
        }
        if chars > Self::MAX_CHARS {
            return Err(InvalidAdText::TooLong(chars));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_ids_round_trip_and_reject_other_spellings() {
        let id = AdId::new();
        assert_eq!(id.to_string().parse::<AdId>(), Ok(id));
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert!("1".parse::<AdId>().is_err());
        assert!("../../etc/passwd".parse::<AdId>().is_err());
        assert!(id.to_string().replace('-', "").parse::<AdId>().is_err());
    }

    #[test]
    fn sample_points_are_fixed_per_ad_and_spread_over_the_unit_interval() {
        let id = AdId::new();
        assert_eq!(id.sample_point(), id.sample_point());
        let points: Vec<f64> = (0..4000).map(|_| AdId::new().sample_point()).collect();
        assert!(points.iter().all(|p| (0.0..1.0).contains(p)));
        let below_a_quarter = points.iter().filter(|&&p| p < 0.25).count();
        assert!((800..1200).contains(&below_a_quarter), "{below_a_quarter}");
    }

    #[test]
    fn statuses_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert_eq!(
            serde_json::to_string(&Status::InReview).ok(),
            Some("\"in_review\"".to_owned())
        );
    }

    #[test]
    fn emails_are_single_plain_mailboxes() {
        assert_eq!(
            Email::parse(" ana@example.com ").unwrap().as_str(),
            "ana@example.com"
        );
        assert!(Email::parse("a.b+ads@mail.example.org").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "Ana <ana@example.com>",
            "ana@example.com\r\nBcc: victim@example.com",
            "ana@exa mple.com",
            "ana..b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(matches!(Email::parse(&long), Err(InvalidEmail::TooLong(_))));
    }

    #[test]
    fn texts_are_bounded() {
        assert!(AdText::parse("Red bike, barely used.\nCall me.").is_ok());
        assert_eq!(AdText::parse("   "), Err(InvalidAdText::Empty));
        assert!(AdText::parse(&"é".repeat(5000)).is_ok());
        assert_eq!(
            AdText::parse(&"é".repeat(5001)),
            Err(InvalidAdText::TooLong(5001))
        );
        // Counted as sent: trailing spaces do not buy room.
        assert_eq!(
            AdText::parse(&format!("{} ", "é".repeat(5000))),
            Err(InvalidAdText::TooLong(5001))
        );
        assert_eq!(
            AdText::parse("bell\u{7}"),
            Err(InvalidAdText::ControlCharacters)
        );
        // NEL is white space and a control character: refused even where
        // a trim would have removed it (found by Schemathesis).
        assert_eq!(
            AdText::parse("\u{85}þ¬ì"),
            Err(InvalidAdText::ControlCharacters)
        );
        assert_eq!(
            AdText::parse("car\u{85}"),
            Err(InvalidAdText::ControlCharacters)
        );
        assert_eq!(AdText::parse("\u{FEFF} \n"), Err(InvalidAdText::Empty));
        assert_eq!(
            AdText::parse("\u{FEFF}Red car").map(|text| text.as_str().to_owned()),
            Ok("Red car".to_owned())
        );
    }
}
