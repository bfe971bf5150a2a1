//! Tells the site what became of an ad: a signed JSON POST per event,
//! following the [Standard Webhooks](https://www.standardwebhooks.com)
//! specification, so a receiver can check it with that project's libraries
//! (`standardwebhooks` on PyPI and npm, and others) instead of code of its
//! own.
//!
//! Every delivery carries:
//!
//! - `webhook-id`: the delivery's id (a UUID), the same on every retry of
//!   one event, so a receiver can drop duplicates by it;
//! - `webhook-timestamp`: when this attempt was sent, integer Unix seconds
//!   (a retry carries its own time);
//! - `webhook-signature: v1,<base64>` (when a secret is set): the
//!   HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` ([`standard_signature`]).
//!
//! The id and the time are signed with the exact body bytes, so a receiver
//! that refuses a timestamp more than 5 minutes away from its clock (the
//! libraries do; [`verify_standard`] here) refuses a captured delivery
//! replayed later, and one that also remembers the ids it took in the last
//! 5 minutes refuses a replay within them too. Nobody without the secret can
//! give an old delivery a new timestamp.
//!
//! The key ([`signing_key`]): a secret `whsec_<base64>` is decoded as the
//! specification says (the standard alphabet, padding optional; anything
//! else is a configuration error); any other secret, such as those set
//! before adpipe followed the specification, is used as its UTF-8 bytes,
//! and its receivers give the libraries `whsec_` + base64 of those bytes
//! ([`receiver_secret`]).
//!
//! Deprecated, kept exactly as before for receivers written against them:
//! `X-Adpipe-Delivery` (the same value as `webhook-id`), `X-Adpipe-Event`
//! (the body's `event`), and `X-Adpipe-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the body alone with the secret's UTF-8 bytes as the key
//! (a `whsec_` secret too: the text as written, not decoded) ([`signature`]).
//! It does not cover the time, so a captured delivery verifies forever.

use std::fmt;
use std::time::Duration;

pub use crate::signing::{
    KeyError, SECRET_PREFIX, TOLERANCE, VerifyError, receiver_secret, signature, signing_key,
    standard_signature, unix_now, verify, verify_standard,
};

/// The id of the message, the same on every retry (Standard Webhooks).
pub const ID_HEADER: &str = "webhook-id";
/// When this attempt was signed, integer Unix seconds (Standard Webhooks).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `v1,<base64>`, possibly several separated by spaces (Standard Webhooks).
pub const STANDARD_SIGNATURE_HEADER: &str = "webhook-signature";

/// Deprecated: `sha256=<hex>` of the body alone; see the module's doc.
pub const SIGNATURE_HEADER: &str = "X-Adpipe-Signature";
/// Deprecated: the same value as [`ID_HEADER`].
pub const DELIVERY_HEADER: &str = "X-Adpipe-Delivery";
/// Deprecated: the body's `event`.
pub const EVENT_HEADER: &str = "X-Adpipe-Event";

/// Where events go, and the secret they are signed with.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// Empty: events are sent unsigned (a receiver cannot check them).
    /// `whsec_<base64>`: the key is the decoded bytes; anything else: the
    /// key is the text's UTF-8 bytes ([`signing_key`]).
    pub secret: String,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook setting: {0}")]
    Config(String),
    #[error("the webhook receiver could not be reached: {0}")]
    Unreachable(String),
    #[error("the webhook receiver answered {0}")]
    Refused(u16),
}

impl From<KeyError> for WebhookError {
    fn from(KeyError(why): KeyError) -> Self {
        WebhookError::Config(why)
    }
}

/// The key, never printed.
#[derive(Clone)]
struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

/// Sends events to the site.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    config: WebhookConfig,
    /// `None`: unsigned (no secret).
    key: Option<Key>,
}

impl WebhookSender {
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|error| WebhookError::Config(format!("ADPIPE_WEBHOOK_URL: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookError::Config(
                "ADPIPE_WEBHOOK_URL must be an http:// or https:// URL".into(),
            ));
        }
        let key = if config.secret.is_empty() {
            None
        } else {
            Some(Key(signing_key(&config.secret)?))
        };
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect would re-send the event elsewhere: the URL is
            // meant to be the receiver itself.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adpipe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| WebhookError::Config(error.to_string()))?;
        Ok(Self {
            client,
            config,
            key,
        })
    }

    /// POSTs one event, `delivery_id` as its `webhook-id`, signed at this
    /// moment; `Ok` only for a 2xx answer.
    pub async fn send(
        &self,
        delivery_id: &str,
        event: &str,
        body: &str,
    ) -> Result<(), WebhookError> {
        let timestamp = unix_now();
        let mut request = self
            .client
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, delivery_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(DELIVERY_HEADER, delivery_id)
            .header(EVENT_HEADER, event)
            .body(body.to_owned());
        if let Some(Key(key)) = &self.key {
            request = request
                .header(
                    STANDARD_SIGNATURE_HEADER,
                    standard_signature(key, delivery_id, timestamp, body.as_bytes()),
                )
                .header(
                    SIGNATURE_HEADER,
                    signature(self.config.secret.as_bytes(), body.as_bytes()),
                );
        }
        let response = request
            .send()
            .await
            .map_err(|error| WebhookError::Unreachable(without_url(&error)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(WebhookError::Refused(status.as_u16()))
        }
    }
}

/// The error without the URL, which may carry credentials.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), &adpipe_core::redact_url(url.as_str()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    /// The example secret of the specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn only_http_urls_are_accepted() {
        let config = |url: &str| WebhookConfig {
            url: url.into(),
            secret: String::new(),
            timeout: Duration::from_secs(1),
        };
        assert!(WebhookSender::new(config("http://127.0.0.1:9/hook")).is_ok());
        assert!(WebhookSender::new(config("ftp://example.com/")).is_err());
        assert!(WebhookSender::new(config("not a url")).is_err());
    }

    #[test]
    fn a_sender_with_a_broken_whsec_secret_is_refused_and_never_shows_its_key() {
        let config = |secret: &str| WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            secret: secret.into(),
            timeout: Duration::from_secs(1),
        };
        let error = WebhookSender::new(config("whsec_not-base64"))
            .expect_err("URL-safe base64")
            .to_string();
        assert!(error.contains("base64"), "{error}");
        let sender = WebhookSender::new(config(SPEC_SECRET)).expect("valid");
        let shown = format!("{:?}", sender.key);
        assert_eq!(shown, "Some(Key(***))");
    }
}
