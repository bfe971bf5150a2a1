//! Console passwords: Argon2id with the argon2 crate's defaults, which are
//! OWASP's recommendation (19 MiB, 2 passes, 1 lane; about 20-50 ms a
//! check), stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`)
//! that carries its own parameters, so raising them later keeps the old
//! hashes verifiable.

use std::sync::LazyLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};

use crate::AuthError;

/// Fewer characters than this are refused: length is what makes a
/// password hard to guess, not its mix of symbols. (The messages of
/// [`AuthError`] name both limits.)
pub const MIN_PASSWORD_CHARS: usize = 12;
/// More than this is no password but a paste gone wrong.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// No 0/O/o, 1/l/I: a generated password is read off a terminal and typed.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
/// 24 of 56 symbols: about 139 bits.
const GENERATED_CHARS: usize = 24;

/// The hash [`verify_dummy`] checks against: made with the same
/// parameters as every new one, so it costs what a real check costs.
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| hash_password("adpipe: no account has this name").ok());

/// The PHC string of `password` with a fresh 16-byte salt from the OS.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|error| AuthError::Hash(error.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| AuthError::Hash(error.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `phc` was made from, with the parameters
/// `phc` names. A malformed `phc` matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of a real check, for a sign-in with an unknown name:
/// an answer that came back at once would tell which names exist.
pub fn verify_dummy(password: &str) {
    if let Some(hash) = DUMMY_HASH.as_deref() {
        let _ = std::hint::black_box(verify_password(password, hash));
    }
}

/// A password someone chose: at least [`MIN_PASSWORD_CHARS`] characters,
/// at most [`MAX_PASSWORD_CHARS`], not only whitespace. Not trimmed: a
/// space is as good a character as any.
pub fn check_new_password(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort(chars));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooLong(chars));
    }
    // Control characters count as blank too: the document's pattern (`[^\s]`, as
    // Python reads it) calls the information separators U+001C-F spaces.
    if password
        .chars()
        .all(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AuthError::PasswordBlank);
    }
    Ok(())
}

/// A new random password (24 characters of an alphabet without
/// look-alikes), from the OS's CSPRNG; shown once to whoever sets it.
pub fn generate_password() -> String {
    let mut rng = OsRng;
    (0..GENERATED_CHARS)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery ", &hash));
        assert!(!verify_password("", &hash));
        // A fresh salt each time: equal passwords do not show as equal.
        let again = hash_password("correct horse battery").expect("hash");
        assert_ne!(hash, again);
        assert!(verify_password("correct horse battery", &again));
    }

    #[test]
    fn a_malformed_hash_matches_nothing() {
        for phc in [
            "",
            "plain text",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$2b$12$abc",
        ] {
            assert!(!verify_password("anything at all", phc), "{phc:?}");
        }
    }

    #[test]
    fn a_hash_with_other_parameters_still_verifies() {
        let params = argon2::Params::new(8, 1, 1, None).expect("params");
        let cheap = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
        let hash = cheap
            .hash_password(b"an older, cheaper hash", &salt)
            .expect("hash")
            .to_string();
        assert!(hash.contains("m=8,t=1,p=1"), "{hash}");
        assert!(verify_password("an older, cheaper hash", &hash));
        assert!(!verify_password("another password", &hash));
    }

    /// The fastest of three runs, to see through a busy machine.
    fn fastest(check: impl Fn()) -> Duration {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                check();
                started.elapsed()
            })
            .min()
            .expect("three runs")
    }

    #[test]
    fn an_unknown_name_costs_what_a_wrong_password_costs() {
        let hash = hash_password("the real password").expect("hash");
        verify_dummy("warm up");
        let real = fastest(|| {
            assert!(!verify_password("a wrong password", &hash));
        });
        let dummy = fastest(|| verify_dummy("a wrong password"));
        // The same work; loose bounds for a loaded machine (a dummy that
        // did no Argon2 at all would be thousands of times faster).
        assert!(dummy * 3 >= real, "dummy {dummy:?}, real {real:?}");
        assert!(dummy <= real * 3, "dummy {dummy:?}, real {real:?}");
    }

    #[test]
    fn new_passwords_need_twelve_characters_and_not_only_spaces() {
        assert_eq!(
            check_new_password("eleven char"),
            Err(AuthError::PasswordTooShort(11))
        );
        assert!(check_new_password("twelve chars").is_ok());
        // Characters, not bytes.
        assert_eq!(
            check_new_password("ééééééééééé"),
            Err(AuthError::PasswordTooShort(11))
        );
        assert!(check_new_password("éééééééééééé").is_ok());
        assert_eq!(
            check_new_password(&" ".repeat(20)),
            Err(AuthError::PasswordBlank)
        );
        assert_eq!(
            check_new_password(&"\t\n ".repeat(5)),
            Err(AuthError::PasswordBlank)
        );
        assert!(check_new_password("  padded with spaces  ").is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_CHARS)).is_ok());
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(AuthError::PasswordTooLong(MAX_PASSWORD_CHARS + 1))
        );
        assert_eq!(check_new_password(""), Err(AuthError::PasswordTooShort(0)));
        // The messages name the limits.
        let message = AuthError::PasswordTooShort(3).to_string();
        assert!(
            message.contains(&format!("at least {MIN_PASSWORD_CHARS},")),
            "{message}"
        );
        let message = AuthError::PasswordTooLong(2000).to_string();
        assert!(
            message.contains(&format!("at most {MAX_PASSWORD_CHARS}")),
            "{message}"
        );
    }

    #[test]
    fn generated_passwords_are_long_unambiguous_and_different() {
        let first = generate_password();
        let second = generate_password();
        assert_ne!(first, second);
        for password in [&first, &second] {
            assert_eq!(password.len(), GENERATED_CHARS);
            assert!(password.bytes().all(|byte| ALPHABET.contains(&byte)));
            assert!(!password.contains(['0', 'O', 'o', '1', 'l', 'I']));
            assert!(check_new_password(password).is_ok());
        }
    }
}
