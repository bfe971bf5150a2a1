//! Who is asking and what they may do: the roles and what each allows
//! ([`Role`], [`Permission`]), who did something as the audit log names
//! them ([`Actor`]), account names ([`valid_account_name`]), passwords
//! (Argon2id, [`hash_password`]) and the opaque secrets handed to people:
//! API tokens and console session ids ([`new_secret`]).
//!
//! No I/O and no database: the store keeps what this crate computes
//! (hashes, role names), the API and the CLI decide with it.

mod actor;
mod password;
mod role;
mod secret;

pub use actor::{Actor, valid_account_name};
pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_new_password, generate_password, hash_password,
    verify_dummy, verify_password,
};
pub use role::{Permission, Role};
pub use secret::{SESSION_PREFIX, TOKEN_PREFIX, hash_secret, new_secret, well_formed_secret};

/// Why a name, a role or a password was refused, or hashing failed. The
/// messages are shown to the person who typed the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("unknown role {0:?}: use viewer, moderator or admin")]
    UnknownRole(String),
    #[error("invalid account name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "the password is too short ({0} characters): use at least 12, or leave it out to \
         have one generated"
    )]
    PasswordTooShort(usize),
    #[error("the password is too long ({0} characters): use at most 1024")]
    PasswordTooLong(usize),
    #[error("the password is only whitespace: use letters, digits or symbols too")]
    PasswordBlank,
    /// Argon2 refused (it does not for the parameters used here).
    #[error("password hashing failed: {0}")]
    Hash(String),
}
