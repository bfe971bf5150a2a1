//! Secrets that cannot be shown by accident: tokens, keys and passwords are
//! held in [`Secret`], URLs that may carry credentials in [`SecretUrl`].
//! Their `Debug`, `Display` and `Serialize` never show the secret, so a log
//! line, `adpipe config` or an error message cannot leak it; code that needs
//! the value asks for it by name ([`Secret::expose`]).
//!
//! [`redact_url`] is the one URL redactor of adpipe. It does not parse the
//! URL as a URL: a password with an unencoded `/`, `?`, `#` or `@` makes a
//! URL invalid to a strict parser, and invalid input is exactly where a
//! redactor must not give up. It reads the structure a driver reads instead
//! (the credentials end at the *last* `@` of the part after `://`), and
//! also hides the values of query parameters that name a secret
//! (`?password=…`, as libpq and sqlx accept). Over-redacting an odd URL
//! is the safe way to be wrong.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const HIDDEN: &str = "***";

/// A token, key or password.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that must hand it on.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(HIDDEN)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// A URL that may carry a password (`postgres://user:pass@host/db`,
/// `amqp://…`): shown, debugged and serialised with [`redact_url`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its credentials, for the driver that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL as logs and `adpipe config` show it.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Where the credentials of `scheme://user:password@host…` are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCredentials {
    /// The password's byte range, if there is a `:` in the user info.
    pub password: Option<Range<usize>>,
    /// Where the host starts (just after the `@`).
    pub host_start: usize,
}

/// Locates the user info of `scheme://user:password@host…`; `None` when
/// the URL has no `@` after its scheme.
pub fn url_credentials(url: &str) -> Option<UrlCredentials> {
    let start = url.find("://").map_or(0, |i| i + 3);
    // The last '@', not the first: a password with an unencoded '@' (or
    // '/', '?', '#') must still be hidden.
    let at = start + url[start..].rfind('@')?;
    // A user name holds no '/', '?' or '#': with one before the first ':',
    // the '@' is in the path or query, and where a password would be is not
    // known (the caller then hides the whole span).
    let password = url[start..at]
        .find(':')
        .filter(|&colon| !url[start..start + colon].contains(['/', '?', '#']))
        .map(|colon| start + colon + 1..at);
    Some(UrlCredentials {
        password,
        host_start: at + 1,
    })
}

/// Query parameters whose value is a secret (libpq and sqlx take
/// `password=`; S3-style URLs carry keys and signatures).
fn names_a_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "signature",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// The URL with its password (or, without one, its whole user info: a
/// token is often passed as the user), and the values of query parameters
/// that name a secret, replaced by `***`; the rest is left as it was so the
/// URL still says where it points.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    if let Some(at) = url[start..].rfind('@').map(|i| start + i)
        && may_be_in_query(&url[start..at])
    {
        // The last '@' may be in a query value (a password there with an
        // '@' in it) as well as end the user info: which part is the secret
        // cannot be told, so everything from the user info to the end of
        // the value holding that '@' goes.
        let end = url[at..].find(['&', '#']).map_or(url.len(), |i| at + i);
        let (rest, fragment) = match url[end..].find('#') {
            Some(i) => url[end..].split_at(i),
            None => (&url[end..], ""),
        };
        return format!("{}{HIDDEN}{}{fragment}", &url[..start], redact_query(rest));
    }
    let (mut shown, host_start) = match url_credentials(url) {
        Some(UrlCredentials {
            password,
            host_start,
        }) => {
            let at = host_start - 1;
            let hidden = password.unwrap_or_else(|| url.find("://").map_or(0, |i| i + 3)..at);
            if hidden.is_empty() && !url[..at].ends_with(':') {
                (url.to_owned(), host_start)
            } else {
                let shown = format!("{}{HIDDEN}{}", &url[..hidden.start], &url[hidden.end..]);
                (shown, hidden.start + HIDDEN.len() + 1)
            }
        }
        None => (url.to_owned(), 0),
    };
    let Some(question) = shown[host_start..].find('?').map(|i| host_start + i) else {
        return shown;
    };
    let (query, fragment) = match shown[question + 1..].find('#') {
        Some(i) => shown[question + 1..].split_at(i),
        None => (&shown[question + 1..], ""),
    };
    let query = redact_query(query);
    shown = format!("{}?{query}{fragment}", &shown[..question]);
    shown
}

/// Whether the text before a URL's last '@' may hold a query (`?key=`)
/// or fragment rather than only user info ("u:a?b" is a password with a
/// '?'; "db/ads?password=x" is a query).
fn may_be_in_query(before_at: &str) -> bool {
    let user_is_plain = before_at
        .split_once(':')
        .is_some_and(|(user, _)| !user.contains(['/', '?', '#']));
    let has_key = before_at
        .find('?')
        .is_some_and(|question| before_at[question..].contains('='));
    has_key || (!user_is_plain && before_at.contains(['?', '#']))
}

/// `key=value&…` with the values of keys that name a secret hidden.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if names_a_secret(key) => format!("{key}={HIDDEN}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn urls_lose_their_passwords_and_keep_the_rest() {
        for (url, shown) in [
            (
                "postgres://adpipe:hunter2@db:5432/adpipe",
                "postgres://adpipe:***@db:5432/adpipe",
            ),
            (
                "amqp://guest:guest@127.0.0.1:5672/%2f",
                "amqp://guest:***@127.0.0.1:5672/%2f",
            ),
            (
                "amqps://adpipe:p%40ss@mq.example.com:5671/prod?heartbeat=30",
                "amqps://adpipe:***@mq.example.com:5671/prod?heartbeat=30",
            ),
            ("amqp://user:@host", "amqp://user:***@host"),
            // A token passed as the user.
            ("amqps://token@mq/", "amqps://***@mq/"),
            ("amqp://user@host:5672/%2f", "amqp://***@host:5672/%2f"),
            // The leak of issue 17: unencoded separators in the password.
            ("postgres://u:Se/cr3t@db/ads", "postgres://u:***@db/ads"),
            ("postgres://u:a?b@db/ads", "postgres://u:***@db/ads"),
            ("postgres://u:a#b@db/ads", "postgres://u:***@db/ads"),
            (
                "amqp://user:pa@ss@host:5672/%2f",
                "amqp://user:***@host:5672/%2f",
            ),
            (
                "postgres://db/ads?user=u&password=hunter2&sslmode=require",
                "postgres://db/ads?user=u&password=***&sslmode=require",
            ),
            // An '@' in a query password could also end user info: all of
            // it up to the end of that value goes (found by the proptest).
            ("postgres://db/ads?user=&password=Qx@Qx", "postgres://***"),
            (
                "postgres://127.0.0.1:5432/ads?password=a@b&sslmode=require&token=t",
                "postgres://***&sslmode=require&token=***",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn urls_without_secrets_are_left_alone() {
        for url in [
            "amqp://127.0.0.1:5672/%2f",
            "amqps://mq.example.com",
            "sqlite:adpipe-data/adpipe.db",
            "sqlite:adpipe-data/adpipe.db?mode=rwc",
            "",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn secrets_show_as_stars_everywhere() {
        let secret = Secret::new("tok-123");
        let url = SecretUrl::new("postgres://u:Se/cr3t@db/ads");
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            serde_json::to_string(&secret).expect("json"),
            format!("{url:?}"),
            format!("{url}"),
            serde_json::to_string(&url).expect("json"),
        ] {
            assert!(
                !shown.contains("tok-123") && !shown.contains("Se/cr3t"),
                "{shown}"
            );
        }
        assert_eq!(secret.expose(), "tok-123");
        assert_eq!(url.expose(), "postgres://u:Se/cr3t@db/ads");
        let read: Secret = serde_json::from_str("\"tok-123\"").expect("json");
        assert_eq!(read, secret);
    }

    /// Every reserved and sub-delimiter character of RFC 3986, plus `%`
    /// and ordinary characters.
    fn password() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-z0-9:/?#\\[\\]@!$&'()*+,;=%._~ -]{1,24}")
            .expect("regex")
            // A marker no scheme, host or path below contains, so finding
            // it in the output means the password leaked.
            .prop_map(|password| format!("Qx{password}"))
    }

    proptest! {
        #[test]
        fn no_password_survives_redaction(
            password in password(),
            scheme in prop::sample::select(vec!["postgres", "postgresql", "amqp", "amqps", "mysql", "redis", "http"]),
            user in "[a-z]{0,8}",
            host in prop::sample::select(vec!["db", "127.0.0.1:5432", "[::1]:5672", "mq.example.com"]),
            path in prop::sample::select(vec!["", "/", "/ads", "/%2f", "/ads?sslmode=require", "/ads#x"]),
        ) {
            let url = format!("{scheme}://{user}:{password}@{host}{path}");
            let shown = redact_url(&url);
            prop_assert!(!shown.contains(&password), "{url} → {shown}");
            prop_assert!(!shown.contains("Qx"), "{url} → {shown}");
            let in_query = format!("{scheme}://{host}/ads?user={user}&password={}", password.replace(['&', '#'], "_"));
            let shown = redact_url(&in_query);
            prop_assert!(!shown.contains("Qx"), "{in_query} → {shown}");
        }
    }
}
