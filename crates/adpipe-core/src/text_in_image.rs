//! Text read from an ad's photo (issue 34): one line of text with where it
//! stands and how sure the reader is. This is the JSON contract of
//! `text_in_image` (`{"text", "box", "confidence"}`) that `adpipe tag`, the
//! worker and `/admin` share.

use serde::{Deserialize, Serialize};

/// One line of text found in a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInImage {
    pub text: String,
    /// The line's four corners in the original photo's pixels, `[x, y]`,
    /// clockwise from the top-left one.
    #[serde(rename = "box")]
    pub corners: [[f32; 2]; 4],
    /// The recogniser's confidence, 0 to 1.
    pub confidence: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_json_contract() {
        let line = TextInImage {
            text: "+1 (202) 555-0143".into(),
            corners: [[82.0, 381.0], [442.0, 452.0], [428.0, 520.0], [69.0, 449.0]],
            confidence: 0.954,
        };
        let json = serde_json::to_value(&line).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "text": "+1 (202) 555-0143",
                "box": [[82.0, 381.0], [442.0, 452.0], [428.0, 520.0], [69.0, 449.0]],
                "confidence": 0.954f32,
            })
        );
        let back: TextInImage = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, line);
        let from_integers: TextInImage = serde_json::from_str(
            r#"{"text":"a","box":[[1,2],[3,2],[3,4],[1,4]],"confidence":0.5}"#,
        )
        .expect("integer corners read as numbers");
        assert_eq!(from_integers.corners[2], [3.0, 4.0]);
    }
}
