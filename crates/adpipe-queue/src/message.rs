//! The message format: `{"ad_id": "<uuid>"}` as JSON, persistent, with the
//! id also as the AMQP message id (visible in the management UI and in
//! broker traces without parsing bodies).

use adpipe_core::{AdId, InvalidAdId};
use lapin::BasicProperties;
use serde::Deserialize;

pub(crate) const CONTENT_TYPE: &str = "application/json";
/// AMQP's "persistent": the broker writes the message to disk.
pub(crate) const PERSISTENT: u8 = 2;

/// Why a body is not a message: poison, to be dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is not a JSON object with a string \"ad_id\": {0}")]
    Malformed(String),
    #[error("the message's ad_id is not valid: {0}")]
    InvalidAdId(#[from] InvalidAdId),
}

/// Extra fields are ignored, so a newer publisher can add some without
/// breaking older workers.
#[derive(Deserialize)]
struct Wire {
    ad_id: String,
}

/// The body for `id`: `{"ad_id":"<uuid>"}`.
pub fn encode(id: AdId) -> Vec<u8> {
    // An id's text is hex digits and hyphens: nothing to escape.
    format!(r#"{{"ad_id":"{id}"}}"#).into_bytes()
}

/// The id in a body, or what is wrong with it.
pub fn decode(body: &[u8]) -> Result<AdId, MessageError> {
    let wire: Wire =
        serde_json::from_slice(body).map_err(|err| MessageError::Malformed(err.to_string()))?;
    // Through FromStr rather than serde so that only the canonical spelling
    // is accepted, as everywhere else.
    Ok(wire.ad_id.parse()?)
}

pub(crate) fn properties(id: AdId) -> BasicProperties {
    BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(id.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for _ in 0..100 {
            let id = AdId::new();
            assert_eq!(decode(&encode(id)), Ok(id));
        }
    }

    #[test]
    fn encoded_form_is_plain_json() {
        let id: AdId = "0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90".parse().unwrap();
        assert_eq!(
            encode(id),
            br#"{"ad_id":"0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90"}"#
        );
        let value: serde_json::Value = serde_json::from_slice(&encode(id)).unwrap();
        assert_eq!(value["ad_id"], "0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90");
    }

    #[test]
    fn decode_tolerates_whitespace_and_extra_fields() {
        let body = br#" { "attempt": 3, "ad_id" : "0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90" } "#;
        assert_eq!(
            decode(body).map(|id| id.to_string()),
            Ok("0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90".to_owned())
        );
    }

    #[test]
    fn decode_rejects_what_is_not_an_id_message() {
        for body in [
            &b""[..],
            b"\xff\xfe",
            b"0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90",
            b"{}",
            b"[]",
            br#"{"id":"0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90"}"#,
            br#"{"ad_id":42}"#,
            br#"{"ad_id":null}"#,
            br#"{"ad_id":"0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90""#,
        ] {
            assert!(
                matches!(decode(body), Err(MessageError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn decode_rejects_invalid_or_non_canonical_ids() {
        for id in [
            "",
            "not-an-id",
            "0190f5e47b7c7cc29a4e3f1d2b6c8a90",
            "{0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90}",
            "urn:uuid:0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a90",
            "0190f5e4-7b7c-7cc2-9a4e-3f1d2b6c8a9z",
        ] {
            let body = format!(r#"{{"ad_id":"{id}"}}"#);
            let err = decode(body.as_bytes()).expect_err(id);
            assert!(matches!(err, MessageError::InvalidAdId(_)), "{id}: {err}");
            assert!(err.to_string().contains("ad_id is not valid"), "{err}");
        }
    }

    #[test]
    fn properties_are_persistent_json_with_the_id() {
        let id = AdId::new();
        let props = properties(id);
        assert_eq!(props.delivery_mode(), &Some(PERSISTENT));
        assert_eq!(
            props.content_type().as_ref().map(|s| s.as_str()),
            Some(CONTENT_TYPE)
        );
        assert_eq!(
            props.message_id().as_ref().map(|s| s.to_string()),
            Some(id.to_string())
        );
    }
}
