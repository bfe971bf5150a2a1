//! Tells the site what became of an ad: a signed JSON POST per event.
//!
//! The signature is `X-Adpipe-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! the exact body bytes with the shared secret, so a receiver can tell the
//! event came from adpipe and was not altered; `X-Adpipe-Delivery` is the
//! same on every retry of one delivery, so a receiver can drop duplicates.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Adpipe-Signature";
pub const DELIVERY_HEADER: &str = "X-Adpipe-Delivery";
pub const EVENT_HEADER: &str = "X-Adpipe-Event";

/// Where events go, and the secret they are signed with.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// Empty: events are sent unsigned (a receiver cannot check them).
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

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body`: what a receiver does
/// (in constant time).
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

/// Sends events to the site.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    config: WebhookConfig,
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
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            // A redirect would re-send the event elsewhere: the URL is
            // meant to be the receiver itself.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adpipe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| WebhookError::Config(error.to_string()))?;
        Ok(Self { client, config })
    }

    /// POSTs one event; `Ok` only for a 2xx answer.
    pub async fn send(
        &self,
        delivery_id: &str,
        event: &str,
        body: &str,
    ) -> Result<(), WebhookError> {
        let mut request = self
            .client
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, delivery_id)
            .header(EVENT_HEADER, event)
            .body(body.to_owned());
        if !self.config.secret.is_empty() {
            request = request.header(
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
}
