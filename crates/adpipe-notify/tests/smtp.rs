//! Sends real mail to the SMTP catcher of scripts/dev-services.sh
//! (mailtutan: SMTP 127.0.0.1:1025, HTTP API 127.0.0.1:1080) and reads it
//! back over its HTTP API. Without the catcher the test fails.

use adpipe_core::{AdId, Status};
use adpipe_notify::{Mailer, Notice, SmtpConfig};

fn catcher_http() -> String {
    std::env::var("ADPIPE_TEST_MAIL_API").unwrap_or_else(|_| "127.0.0.1:1080".into())
}

/// GET over plain HTTP/1.0, enough for the catcher's JSON API.
fn http_get(path: &str) -> String {
    use std::io::{Read, Write};
    let address = catcher_http();
    let mut stream = std::net::TcpStream::connect(&address).unwrap_or_else(|error| {
        panic!("the SMTP catcher's HTTP API at {address} (scripts/dev-services.sh): {error}")
    });
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

fn messages_to(address: &str) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&http_get("/api/messages")).expect("JSON list");
    all.into_iter()
        .filter(|message| message.to_string().contains(address))
        .collect()
}

#[tokio::test]
async fn approved_and_rejected_mail_arrive_with_what_the_submitter_needs() {
    let mailer = Mailer::new(&SmtpConfig::default()).expect("mailer");
    let id = AdId::new();
    let recipient = format!(
        "ana-{}@example.com",
        id.to_string().split('-').next().unwrap_or("x")
    );
    mailer
        .send(&Notice {
            id,
            to: &recipient,
            status: Status::Approved,
            category: Some("car"),
            reason: None,
            decided_at: 1,
            public_url: "http://localhost:8080",
            appeal_secret: None,
            after_appeal: false,
        })
        .await
        .expect("SMTP catcher on 127.0.0.1:1025 (scripts/dev-services.sh)");
    mailer
        .send(&Notice {
            id,
            to: &recipient,
            status: Status::Rejected,
            category: None,
            reason: Some("We only publish ads for vehicles."),
            decided_at: 2,
            public_url: "http://localhost:8080",
            appeal_secret: None,
            after_appeal: false,
        })
        .await
        .expect("send");

    let messages = messages_to(&recipient);
    assert_eq!(messages.len(), 2, "{messages:?}");
    let subjects: Vec<String> = messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        subjects.contains(&"Your ad was approved (car)".to_owned()),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"Your ad was not approved".to_owned()),
        "{subjects:?}"
    );
    for message in &messages {
        let sender = message["sender"].as_str().unwrap_or_default();
        assert!(sender.contains("noreply@adpipe.localhost"), "{message}");
        let plain = http_get(&format!("/api/messages/{}/plain", message["id"]));
        assert!(
            plain.contains(&format!("http://localhost:8080/?id={id}")),
            "{plain}"
        );
        let source = http_get(&format!("/api/messages/{}/source", message["id"]));
        assert!(
            source.contains(&format!("Message-ID: <{id}."))
                && source.contains("@adpipe.localhost>"),
            "{source}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let config = SmtpConfig {
        port: 1, // nothing listens there
        timeout: std::time::Duration::from_secs(2),
        ..SmtpConfig::default()
    };
    let mailer = Mailer::new(&config).expect("mailer");
    let result = mailer
        .send(&Notice {
            id: AdId::new(),
            to: "ana@example.com",
            status: Status::Approved,
            category: Some("car"),
            reason: None,
            decided_at: 1,
            public_url: "http://localhost:8080",
            appeal_secret: None,
            after_appeal: false,
        })
        .await;
    assert!(
        matches!(result, Err(adpipe_notify::NotifyError::Send(_))),
        "{result:?}"
    );
}
