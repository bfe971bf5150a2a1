//! Webhook signatures, without I/O: the key a configured secret gives,
//! the Standard Webhooks `webhook-signature` of one attempt and a
//! receiver's check of it ([`verify_standard`]), and the deprecated
//! `X-Adpipe-Signature`. [`crate::webhook`] sends with them; tests and
//! receivers written in Rust verify with them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Marks a secret given as base64 of the key (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a `webhook-timestamp` may be from the receiver's clock, either
/// way: the libraries' 5 minutes.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A secret that gives no key (a broken `whsec_` value); the message
/// never repeats the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid webhook setting: {0}")]
pub struct KeyError(pub String);

/// Why [`verify_standard`] refused a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the secret is not usable: {0}")]
    Secret(String),
    #[error("webhook-id, webhook-timestamp and webhook-signature are all required")]
    MissingHeaders,
    #[error("webhook-timestamp is not integer Unix seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is too old: signed {0} s ago")]
    TooOld(i64),
    #[error("webhook-timestamp is too new: {0} s ahead")]
    TooNew(i64),
    #[error("no matching signature")]
    NoMatchingSignature,
}

/// The HMAC key of a configured secret, as the Standard Webhooks libraries
/// derive it from what the receiver is given: `whsec_<base64>` is decoded
/// (the standard alphabet `A-Z a-z 0-9 + /`, `=` padding optional; a
/// URL-safe or otherwise broken value is an error rather than a key the
/// libraries would derive differently); any other secret is its UTF-8 bytes.
/// The error does not repeat the secret.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, KeyError> {
    let Some(encoded) = secret.strip_prefix(SECRET_PREFIX) else {
        return Ok(secret.as_bytes().to_vec());
    };
    let key = base64_decode(encoded).map_err(|why| {
        KeyError(format!(
            "ADPIPE_WEBHOOK_SECRET (webhook.secret) starts with {SECRET_PREFIX}, so what \
             follows must be the key in base64 (standard alphabet, e.g. `openssl rand -base64 32`), \
             but {why}"
        ))
    })?;
    if key.is_empty() {
        return Err(KeyError(format!(
            "ADPIPE_WEBHOOK_SECRET (webhook.secret) is {SECRET_PREFIX} with no key after it"
        )));
    }
    Ok(key)
}

/// What a receiver gives the Standard Webhooks libraries for a configured
/// secret: a `whsec_` secret as it is; any other as `whsec_` + base64 of
/// its UTF-8 bytes (padded, as the JavaScript library requires).
pub fn receiver_secret(secret: &str) -> String {
    if secret.starts_with(SECRET_PREFIX) {
        secret.to_owned()
    } else {
        format!("{SECRET_PREFIX}{}", base64_encode(secret.as_bytes()))
    }
}

/// `v1,<base64 of HMAC-SHA256 of "{id}.{timestamp}.{body}" with key>`: the
/// `webhook-signature` of one attempt.
pub fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        base64_encode(
            &standard_mac(key, id, timestamp, body)
                .finalize()
                .into_bytes()
        )
    )
}

fn standard_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// What a receiver does with a delivery, as the Standard Webhooks libraries
/// do it: `secret` as configured in adpipe (or its [`receiver_secret`]),
/// the three headers' values (empty when absent), the exact body bytes,
/// the receiver's clock `now` (Unix seconds) and how far the timestamp may
/// be from it either way ([`TOLERANCE`]). Accepts when any of the
/// space-separated `v1,` signatures matches (compared in constant time);
/// other versions are ignored.
pub fn verify_standard(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let key = signing_key(secret).map_err(|error| VerifyError::Secret(error.to_string()))?;
    if key.is_empty() {
        return Err(VerifyError::Secret("it is empty".into()));
    }
    if id.is_empty() || timestamp.is_empty() || signatures.trim().is_empty() {
        return Err(VerifyError::MissingHeaders);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let age = now.saturating_sub(signed_at);
    if age > tolerance {
        return Err(VerifyError::TooOld(age));
    }
    if age < -tolerance {
        return Err(VerifyError::TooNew(age.saturating_neg()));
    }
    let matched = signatures
        .split_whitespace()
        .filter_map(|versioned| versioned.strip_prefix("v1,"))
        .filter_map(|encoded| base64_decode(encoded).ok())
        .any(|digest| {
            standard_mac(&key, id, signed_at, body)
                .verify_slice(&digest)
                .is_ok()
        });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// The current time as `webhook-timestamp` has it: Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Deprecated (`X-Adpipe-Signature`): `sha256=<hex HMAC-SHA256 of body
/// with secret>`, the body alone.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Deprecated (`X-Adpipe-Signature`): whether `header` is a valid signature
/// of `body` (in constant time). It says nothing of when it was signed: use
/// [`verify_standard`].
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

/// Standard base64 (RFC 4648 §4): padded when written; read padded (and
/// then exactly) or unpadded, as the Standard Webhooks libraries do;
/// nothing outside the alphabet (no whitespace, no URL-safe `-` `_`).
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const BASE64_UNPADDED: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::STANDARD_NO_PAD;

fn base64_encode(bytes: &[u8]) -> String {
    base64::Engine::encode(&BASE64, bytes)
}

/// The bytes, or why not without the text (it may be a secret).
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let engine = if text.ends_with('=') {
        &BASE64
    } else {
        &BASE64_UNPADDED
    };
    base64::Engine::decode(engine, text).map_err(|error| match error {
        base64::DecodeError::InvalidByte(offset, _) => format!(
            "character {} is not in the base64 alphabet (A-Z a-z 0-9 + /)",
            offset + 1
        ),
        base64::DecodeError::InvalidLength(length) => {
            format!("its length ({length} characters) is not that of any base64")
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("its last character (at {}) is not valid", offset + 1)
        }
        base64::DecodeError::InvalidPadding => "its `=` padding is wrong".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification (and of its libraries' tests).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    /// `Webhook(SPEC_SECRET).sign(SPEC_ID, 1614265330, SPEC_BODY)`, computed
    /// with the Python package standardwebhooks 1.3.0.
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    /// A delivery as adpipe sends it, signed with an old-style secret.
    const ID: &str = "0194f3c2-7a11-7d02-8c3e-5a6b7c8d9e0f";
    const TIMESTAMP: i64 = 1_764_547_200;
    const BODY: &str =
        r#"{"event":"ad.decided","id":"0194f3c2-7a10-7cc1-9a55-2b5f6f2e8d01","status":"approved"}"#;

    #[test]
    fn standard_signatures_match_the_python_library() {
        let key = signing_key(SPEC_SECRET).expect("a valid whsec_ secret");
        assert_eq!(
            hex::encode(&key),
            "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0"
        );
        assert_eq!(
            standard_signature(&key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
        // An old-style secret: its UTF-8 bytes are the key; the libraries
        // are given whsec_ + base64 of them. Python, for both vectors:
        // Webhook(receiver secret).sign(ID, 1764547200, BODY).
        for (secret, receiver, expected) in [
            (
                "review-flow-secret",
                "whsec_cmV2aWV3LWZsb3ctc2VjcmV0",
                "v1,i+oOtuwKgyhY7q+50FbOtdcIoZECPY+Nm0pDmhLUZSo=",
            ),
            (
                "clé-secrète",
                "whsec_Y2zDqS1zZWNyw6h0ZQ==",
                "v1,VnfTW3im2+fEElKOmXfX5KD9fyilT7LOtYw0k9k3EkI=",
            ),
        ] {
            assert_eq!(receiver_secret(secret), receiver);
            assert_eq!(receiver_secret(receiver), receiver, "already whsec_");
            let key = signing_key(secret).expect("any text is a key");
            assert_eq!(key, secret.as_bytes());
            assert_eq!(signing_key(receiver).expect("whsec_"), key);
            assert_eq!(
                standard_signature(&key, ID, TIMESTAMP, BODY.as_bytes()),
                expected,
                "{secret}"
            );
        }
        // Unpadded, as Python takes it.
        assert_eq!(
            signing_key("whsec_Y2zDqS1zZWNyw6h0ZQ").expect("unpadded"),
            "clé-secrète".as_bytes()
        );
    }

    #[test]
    fn verify_standard_takes_fresh_genuine_deliveries_only() {
        let verify = |secret: &str, timestamp: &str, signatures: &str, body: &str, now: i64| {
            verify_standard(
                secret,
                SPEC_ID,
                timestamp,
                signatures,
                body.as_bytes(),
                now,
                TOLERANCE,
            )
        };
        let at = SPEC_TIMESTAMP.to_string();
        // The specification's delivery, received `now`.
        let received = |now: i64| verify(SPEC_SECRET, &at, SPEC_SIGNATURE, SPEC_BODY, now);
        assert_eq!(received(SPEC_TIMESTAMP), Ok(()));
        // Up to 5 minutes either way (clocks differ).
        assert_eq!(received(SPEC_TIMESTAMP + 300), Ok(()));
        assert_eq!(received(SPEC_TIMESTAMP - 300), Ok(()));
        // A replay: the same delivery 10 minutes on.
        assert_eq!(
            received(SPEC_TIMESTAMP + 600),
            Err(VerifyError::TooOld(600))
        );
        assert_eq!(
            received(SPEC_TIMESTAMP - 301),
            Err(VerifyError::TooNew(301))
        );
        // ... and given a fresh timestamp, its signature no longer matches.
        let later = SPEC_TIMESTAMP + 600;
        let refreshed = verify(
            SPEC_SECRET,
            &later.to_string(),
            SPEC_SIGNATURE,
            SPEC_BODY,
            later,
        );
        assert_eq!(refreshed, Err(VerifyError::NoMatchingSignature));

        let now = SPEC_TIMESTAMP + 10;
        let signed = |signatures: &str| verify(SPEC_SECRET, &at, signatures, SPEC_BODY, now);
        // Several signatures (a key being rotated), other versions skipped.
        let rotated = format!("v1,Zm9vYmFy v1a,{} {SPEC_SIGNATURE}", &SPEC_SIGNATURE[3..]);
        assert_eq!(signed(&rotated), Ok(()));
        let other_version = SPEC_SIGNATURE.replace("v1,", "v2,");
        assert_eq!(
            signed(&other_version),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            signed("v1,not base64!"),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(signed(""), Err(VerifyError::MissingHeaders));
        // Altered, or another key.
        let altered = r#"{"test": 2432232315}"#;
        assert_eq!(
            verify(SPEC_SECRET, &at, SPEC_SIGNATURE, altered, now),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify("whsec_c2VjcmV0", &at, SPEC_SIGNATURE, SPEC_BODY, now),
            Err(VerifyError::NoMatchingSignature)
        );
        // Headers missing or broken, secrets unusable.
        assert_eq!(
            verify(SPEC_SECRET, "", SPEC_SIGNATURE, SPEC_BODY, now),
            Err(VerifyError::MissingHeaders)
        );
        assert_eq!(
            verify(SPEC_SECRET, "1614265330.5", SPEC_SIGNATURE, SPEC_BODY, now),
            Err(VerifyError::BadTimestamp)
        );
        for unusable in ["whsec_!!", ""] {
            assert!(matches!(
                verify(unusable, &at, SPEC_SIGNATURE, SPEC_BODY, now),
                Err(VerifyError::Secret(_))
            ));
        }
    }

    #[test]
    fn whsec_secrets_that_are_not_base64_are_refused_without_being_repeated() {
        for secret in [
            "whsec_",
            "whsec_===",
            "whsec_MfKQ9r8G KYqrTwjU",
            // URL-safe: Python would drop the - and _ and sign with another key.
            "whsec_MfKQ9r8GKYqrTwj-PD8ILPZIo2LaLa_w",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwM",
            "whsec_Zg=",
            "whsec_Zm9v=",
        ] {
            let error = signing_key(secret).expect_err(secret).to_string();
            assert!(error.contains("ADPIPE_WEBHOOK_SECRET"), "{error}");
            let rest = &secret[SECRET_PREFIX.len()..];
            assert!(rest.len() < 4 || !error.contains(rest), "{error}");
        }
        // A secret set before adpipe followed the specification is any text.
        assert_eq!(signing_key("whsec").expect("text"), b"whsec");
        assert_eq!(
            signing_key("s3cret with spaces").expect("text"),
            b"s3cret with spaces"
        );
    }

    #[test]
    fn base64_matches_rfc_4648() {
        let cases: [(&[u8], &str); 8] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff, 0xbf], "+/+/"),
        ];
        for (bytes, text) in cases {
            assert_eq!(base64_encode(bytes), text);
            assert_eq!(base64_decode(text).as_deref(), Ok(bytes));
            assert_eq!(
                base64_decode(text.trim_end_matches('=')).as_deref(),
                Ok(bytes),
                "unpadded"
            );
        }
    }

    #[test]
    fn signatures_match_a_known_hmac_and_verify() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let body = br#"{"event":"ad.decided"}"#;
        let header = signature(b"s3cret", body);
        assert!(verify(b"s3cret", body, &header));
        assert!(!verify(b"other", body, &header));
        assert!(!verify(b"s3cret", br#"{"event":"ad.decided" }"#, &header));
        assert!(!verify(b"s3cret", body, "sha1=00"));
        assert!(!verify(b"s3cret", body, "sha256=zz"));
    }
}
