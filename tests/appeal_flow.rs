//! A submitter appeals a rejection, end to end: `adpipe serve` on the
//! embedded defaults with the vehicles policy, an admin token and a
//! webhook receiver. The model rejects a cat; the rejection email holds
//! the appeal link; the submitter sends an appeal with the secret read
//! from that email; the ad is back in review, marked as appealed, and
//! nobody is emailed; a moderator approves it; the submitter gets exactly
//! one more email, which says it answers the appeal; the site heard
//! `ad.appealed`, signed. Needs the SMTP catcher (`scripts/dev-services.sh`).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Deployment, Processes, env_or, fixture, webhooks};

const TOKEN: &str = "appeal-flow-token";
const SECRET: &str = "appeal-flow-secret";

/// The emails to `address` in the catcher: (subject, plain text), in the
/// order they came.
async fn emails_to(address: &str) -> Vec<(String, String)> {
    let base = format!(
        "http://{}",
        env_or("ADPIPE_TEST_MAIL_API", "127.0.0.1:1080")
    );
    let http = reqwest::Client::new();
    let all: Vec<Value> = http
        .get(format!("{base}/api/messages"))
        .send()
        .await
        .expect("the SMTP catcher (scripts/dev-services.sh)")
        .json()
        .await
        .expect("JSON list");
    let mut found = Vec::new();
    for message in all.iter().filter(|m| m.to_string().contains(address)) {
        let id = message["id"].to_string().trim_matches('"').to_owned();
        let plain = http
            .get(format!("{base}/api/messages/{id}/plain"))
            .send()
            .await
            .expect("plain body")
            .text()
            .await
            .expect("text");
        let subject = message["subject"].as_str().unwrap_or_default().to_owned();
        found.push((subject, plain));
    }
    found
}

/// Waits until `count` emails went to `address`, then makes sure no other
/// follows; returns them.
async fn exactly(address: &str, count: usize) -> Vec<(String, String)> {
    let started = Instant::now();
    while emails_to(address).await.len() < count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{count} emails to {address} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let emails = emails_to(address).await;
    assert_eq!(
        emails.len(),
        count,
        "exactly {count} to {address}: {emails:#?}"
    );
    emails
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_submitter_appeals_from_the_email_and_hears_the_answer() {
    let mut processes = Processes::new();
    let (hook_url, received) = webhooks::receiver("/hooks/adpipe", |_| 200).await;
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_WEBHOOK_URL", hook_url)
        .with("ADPIPE_WEBHOOK_SECRET", SECRET);
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;

    // The model rejects a cat; the email says why and holds the link.
    let run = &adpipe_core::AdId::new().to_string()[24..];
    let email = format!("appeal-{run}@appeal.example.com");
    let (code, _, body) = api
        .submit(
            "A cat, very fast",
            &email,
            &fixture("other/cat_chelsea.png"),
        )
        .await;
    assert_eq!(code, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let (_, decided) = api.until_decided(&id).await;
    assert_eq!(decided["status"], "rejected", "{decided}");
    assert_eq!(decided["appeal"], "open", "{decided}");
    let rejection = exactly(&email, 1).await;
    let (subject, plain) = &rejection[0];
    assert_eq!(subject, "Your ad was not approved");
    let prefix = format!("{}/?id={id}&appeal=", api.base);
    let link = plain
        .split_whitespace()
        .find(|word| word.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no appeal link {prefix}… in:\n{plain}"));
    let secret = &link[prefix.len()..];
    assert_eq!(secret.len(), 32, "{link}");
    let (_, public) = api.status(&id).await;
    assert!(
        !public.to_string().contains(secret),
        "the id alone does not appeal"
    );

    // The appeal, as the page sends it.
    let appealed = api
        .http
        .post(format!("{}/ads/{id}/appeal", api.base))
        .json(&json!({"secret": secret, "text": "It is a toy car on a cat's back. Please look again."}))
        .send()
        .await
        .expect("POST appeal");
    assert_eq!(appealed.status(), 202);
    let (_, public) = api.status(&id).await;
    assert_eq!(public["status"], "in_review", "{public}");
    assert_eq!(public["message"], "Your appeal is being reviewed");
    let admin: Value = api
        .http
        .get(format!("{}/admin/ads/{id}", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET admin ad")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        admin["appeal"]["text"],
        "It is a toy car on a cat's back. Please look again."
    );

    // A moderator answers; that is the one email the appeal brings.
    let decided = api
        .http
        .post(format!("{}/admin/ads/{id}/decision", api.base))
        .bearer_auth(TOKEN)
        .json(&json!({"outcome": "approved", "category": "car"}))
        .send()
        .await
        .expect("decide");
    assert_eq!(decided.status(), 200);
    let emails = exactly(&email, 2).await;
    let answer = emails
        .iter()
        .find(|(subject, _)| subject != "Your ad was not approved")
        .unwrap_or_else(|| panic!("no answer among {emails:#?}"));
    assert_eq!(answer.0, "Your appeal: your ad was approved (car)");
    assert!(
        answer
            .1
            .contains("after your appeal, a person looked at your ad"),
        "{}",
        answer.1
    );
    assert!(
        !answer.1.contains("appeal="),
        "no second appeal: {}",
        answer.1
    );

    let history: Value = api
        .http
        .get(format!("{}/admin/ads/{id}/history", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("JSON");
    let by: Vec<&str> = history["decisions"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["by"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(by.len(), 3, "{history}");
    assert_eq!(&by[1..], ["submitter", "moderator:bootstrap"], "{history}");

    // The site heard each step, the appeal among them, signed.
    let started = Instant::now();
    let events = loop {
        let log = received.lock().expect("log").clone();
        let events: Vec<(String, Value)> = log
            .iter()
            .filter(|request| request.event_and_ad().1 == id)
            .map(|request| {
                assert_eq!(request.verify_standard(SECRET), Ok(()), "{request:?}");
                let body: Value = serde_json::from_str(&request.body).expect("JSON");
                (request.event_and_ad().0, body)
            })
            .collect();
        if events.len() >= 3 {
            break events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "webhooks missing after 60 s: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let names: Vec<&str> = events.iter().map(|(event, _)| event.as_str()).collect();
    assert_eq!(
        names,
        ["ad.decided", "ad.appealed", "ad.decided"],
        "{events:#?}"
    );
    let appeal = &events[1].1;
    assert_eq!(appeal["status"], "in_review");
    assert_eq!(appeal["decided_by"], "submitter");
    assert!(!appeal.to_string().contains(secret));
    processes.stop_gracefully();
}
