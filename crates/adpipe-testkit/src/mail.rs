//! The SMTP catcher of scripts/dev-services.sh (mailtutan: SMTP
//! 127.0.0.1:1025, a MailHog-like HTTP API on 127.0.0.1:1080, or
//! `ADPIPE_TEST_MAIL_API`), read back over HTTP. Without it a test fails.

use std::time::{Duration, Instant};

use serde_json::Value;

/// The catcher's HTTP API (mailtutan, MailHog-like).
pub struct Catcher {
    base: String,
    http: reqwest::Client,
}

impl Catcher {
    pub fn new() -> Self {
        Self {
            base: format!(
                "http://{}",
                std::env::var("ADPIPE_TEST_MAIL_API").unwrap_or_else(|_| "127.0.0.1:1080".into())
            ),
            http: reqwest::Client::new(),
        }
    }

    pub async fn all_messages(&self) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let answer = self
                .http
                .get(format!("{}/api/messages", self.base))
                .send()
                .await;
            if let Ok(response) = answer
                && let Ok(messages) = response.json().await
            {
                return messages;
            }
            // The catcher may be restarting (a fault test).
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the SMTP catcher at {} (scripts/dev-services.sh) does not answer",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn messages_to(&self, address: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/api/messages", self.base))
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "the SMTP catcher at {} (scripts/dev-services.sh): {error}",
                    self.base
                )
            })
            .json()
            .await
            .expect("JSON list");
        all.into_iter()
            .filter(|message| message.to_string().contains(address))
            .collect()
    }

    /// The Message-ID header of a caught message (`id` from the list).
    pub async fn message_id_header(&self, id: &Value) -> Option<String> {
        let id = id.to_string().trim_matches('"').to_owned();
        let source = self
            .http
            .get(format!("{}/api/messages/{id}/source", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        source
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("message-id")
                    .then(|| value.trim().to_owned())
            })
    }

    /// Waits for exactly one email to `address`, then makes sure no second
    /// one follows. Returns its subject and plain-text body.
    pub async fn only_email_to(&self, address: &str) -> (String, String) {
        let mut emails = self.exactly(address, 1).await;
        emails.remove(0)
    }

    /// Waits until `count` emails went to `address` (60 s at most), then
    /// makes sure no other follows; returns their subjects and plain-text
    /// bodies, in the order they came.
    pub async fn exactly(&self, address: &str, count: usize) -> Vec<(String, String)> {
        let started = Instant::now();
        while self.messages_to(address).await.len() < count {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{count} email(s) to {address} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut emails = Vec::new();
        for message in self.messages_to(address).await {
            let id = message["id"].to_string().trim_matches('"').to_owned();
            let plain = self
                .http
                .get(format!("{}/api/messages/{id}/plain", self.base))
                .send()
                .await
                .expect("plain body")
                .text()
                .await
                .expect("text");
            let subject = message["subject"].as_str().unwrap_or_default().to_owned();
            emails.push((subject, plain));
        }
        assert_eq!(
            emails.len(),
            count,
            "exactly {count} email(s) to {address}: {emails:#?}"
        );
        emails
    }
}

impl Default for Catcher {
    fn default() -> Self {
        Self::new()
    }
}
