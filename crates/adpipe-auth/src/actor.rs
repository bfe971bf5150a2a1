//! Who did something, as the audit log names them, and what account names
//! may be.

use std::fmt;

use crate::AuthError;

/// The longest account name.
const MAX_NAME_CHARS: usize = 64;

/// Who is asking: a person signed in to the console, a script with one
/// of an account's API tokens, the bootstrap token (`ADPIPE_ADMIN_TOKEN`),
/// or someone at the server's command line (`adpipe users …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    Account(String),
    Token {
        account: String,
        token: String,
    },
    Bootstrap,
    /// The operating system's user, when known, else `adpipe users`.
    Cli(String),
}

impl Actor {
    /// The audit log's `actor`: `account:<name>`, `token:<account>/<token>`,
    /// `bootstrap` or `cli:<user>`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// The account acting, if any (an account's own token acts as it).
    pub fn account(&self) -> Option<&str> {
        match self {
            Actor::Account(name) | Actor::Token { account: name, .. } => Some(name.as_str()),
            Actor::Bootstrap | Actor::Cli(_) => None,
        }
    }

    /// Whether this is `name` acting: nobody changes their own role or
    /// disables themselves.
    pub fn is_account(&self, name: &str) -> bool {
        self.account() == Some(name)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Account(name) => write!(f, "account:{name}"),
            Actor::Token { account, token } => write!(f, "token:{account}/{token}"),
            Actor::Bootstrap => f.write_str("bootstrap"),
            Actor::Cli(user) => write!(f, "cli:{user}"),
        }
    }
}

/// An account name as stored: trimmed and lowercased, 1 to 64 characters
/// of `a-z`, `0-9`, `.`, `_` and `-`, starting with a letter or a digit
/// (so `Ana` and `ana` are one account, and a name never reads as an
/// option or a path).
pub fn valid_account_name(text: &str) -> Result<String, AuthError> {
    let name = text.trim().to_ascii_lowercase();
    let invalid = |reason| AuthError::InvalidName {
        name: text.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("it is longer than 64 characters"));
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._-".contains(&byte))
    {
        return Err(invalid(
            "use only letters a-z, digits, '.', '_' and '-' (no spaces)",
        ));
    }
    if !name
        .bytes()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
    {
        return Err(invalid("it must start with a letter or a digit"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_labelled_as_the_audit_log_names_them() {
        assert_eq!(Actor::Account("ana".into()).label(), "account:ana");
        let token = Actor::Token {
            account: "ana".into(),
            token: "nightly export".into(),
        };
        assert_eq!(token.label(), "token:ana/nightly export");
        assert_eq!(Actor::Bootstrap.label(), "bootstrap");
        assert_eq!(Actor::Cli("root".into()).label(), "cli:root");
    }

    #[test]
    fn an_account_acts_as_itself_through_its_tokens() {
        let token = Actor::Token {
            account: "ana".into(),
            token: "ci".into(),
        };
        assert!(token.is_account("ana"));
        assert!(Actor::Account("ana".into()).is_account("ana"));
        assert!(!Actor::Account("ana".into()).is_account("bo"));
        assert!(!Actor::Bootstrap.is_account("ana"));
        assert_eq!(Actor::Cli("ana".into()).account(), None);
    }

    #[test]
    fn names_are_trimmed_and_lowercased() {
        assert_eq!(
            valid_account_name("  Ana.Lopez ").as_deref(),
            Ok("ana.lopez")
        );
        assert_eq!(valid_account_name("bo_2-x").as_deref(), Ok("bo_2-x"));
        assert_eq!(valid_account_name("7up").as_deref(), Ok("7up"));
        assert_eq!(valid_account_name("x").as_deref(), Ok("x"));
        let longest = "a".repeat(64);
        assert_eq!(
            valid_account_name(&longest).as_deref(),
            Ok(longest.as_str())
        );
    }

    #[test]
    fn odd_names_are_refused_with_the_reason() {
        for (name, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("a".repeat(65).as_str(), "longer than 64"),
            ("ana lopez", "no spaces"),
            ("ana@example.com", "only letters"),
            ("anä", "only letters"),
            ("ana/../bo", "only letters"),
            ("-rf", "start with a letter or a digit"),
            (".hidden", "start with a letter or a digit"),
            ("_x", "start with a letter or a digit"),
        ] {
            let error = valid_account_name(name).expect_err(name);
            let message = error.to_string();
            assert!(message.contains(reason), "{name:?}: {message}");
            assert!(matches!(error, AuthError::InvalidName { .. }));
        }
    }
}
