//! Opaque secrets handed to people: API tokens (`adp_…`) and console
//! session ids (`ses_…`). 32 bytes from the OS's CSPRNG as unpadded
//! base64url; shown once, stored only as their SHA-256.
//!
//! SHA-256, not Argon2: a slow hash protects a guessable secret (a
//! password) against guessing from a stolen table. A 256-bit random
//! value cannot be guessed, with or without its hash, so a fast hash is
//! as safe, and it lets a request find its token or session with one
//! indexed lookup instead of an Argon2 check per request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// API tokens: `adp_<43 base64url characters>`. The prefix lets secret
/// scanners and people tell what a leaked string is.
pub const TOKEN_PREFIX: &str = "adp";
/// Console session ids (the cookie's value).
pub const SESSION_PREFIX: &str = "ses";

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;
/// Their length as unpadded base64: ceil(32 * 4 / 3).
const ENCODED_CHARS: usize = 43;

/// A new secret `<prefix>_<43 base64url characters>`: the secret itself,
/// to show once, and its hash ([`hash_secret`]), to store.
pub fn new_secret(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// What is stored of a secret, and looked up: its SHA-256, in lowercase
/// hex (prefix included).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `text` has the shape of a secret of `prefix` (a cheap check
/// before any lookup; it says nothing of whether the secret exists).
pub fn well_formed_secret(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|encoded| {
            encoded.len() == ENCODED_CHARS
                && encoded
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_session_ids_have_their_prefix_and_43_characters() {
        for prefix in [TOKEN_PREFIX, SESSION_PREFIX] {
            let (secret, hash) = new_secret(prefix);
            let encoded = secret
                .strip_prefix(&format!("{prefix}_"))
                .expect("prefixed");
            assert_eq!(encoded.len(), 43, "{secret}");
            assert!(well_formed_secret(prefix, &secret), "{secret}");
            assert_eq!(hash, hash_secret(&secret));
            let decoded = URL_SAFE_NO_PAD.decode(encoded).expect("base64url");
            assert_eq!(decoded.len(), SECRET_BYTES);
        }
        let (token, _) = new_secret(TOKEN_PREFIX);
        assert!(!well_formed_secret(SESSION_PREFIX, &token));
    }

    #[test]
    fn each_secret_is_new() {
        let (first, first_hash) = new_secret(TOKEN_PREFIX);
        let (second, second_hash) = new_secret(TOKEN_PREFIX);
        assert_ne!(first, second);
        assert_ne!(first_hash, second_hash);
    }

    #[test]
    fn the_stored_hash_is_sha256_hex_of_the_whole_secret() {
        // SHA-256("abc"), from FIPS 180-2.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (secret, hash) = new_secret(TOKEN_PREFIX);
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert!(
            !hash.contains(&secret[4..]),
            "the secret is not in its hash"
        );
    }

    #[test]
    fn malformed_secrets_are_told_apart_without_a_lookup() {
        let good = format!("adp_{}", "A".repeat(43));
        assert!(well_formed_secret(TOKEN_PREFIX, &good));
        for bad in [
            String::new(),
            "adp_".into(),
            format!("adp_{}", "A".repeat(42)),
            format!("adp_{}", "A".repeat(44)),
            format!("adp_{}=", "A".repeat(42)),
            format!("adp_{}+", "A".repeat(42)),
            format!("adp-{}", "A".repeat(43)),
            format!("adpx{}", "A".repeat(43)),
            format!("ses_{}", "A".repeat(43)),
            format!(" adp_{}", "A".repeat(43)),
        ] {
            assert!(!well_formed_secret(TOKEN_PREFIX, &bad), "{bad:?}");
        }
    }
}
