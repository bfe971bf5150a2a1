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
use support::{Api, Catcher, Deployment, Processes, fixture, webhooks};

const TOKEN: &str = "appeal-flow-token";
const SECRET: &str = "appeal-flow-secret";

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
    let catcher = Catcher::new();

    // The model rejects a cat; the email says why and holds the link.
    let run = &adpipe_core::AdId::new().to_string()[24..];
    let email = format!("appeal-{run}@appeal.example.com");
    let id = api
        .submitted(
            "A cat, very fast",
            &email,
            &fixture("other/cat_chelsea.png"),
        )
        .await;
    let (_, decided) = api.until_decided(&id).await;
    assert_eq!(decided["status"], "rejected", "{decided}");
    assert_eq!(decided["appeal"], "open", "{decided}");
    let rejection = catcher.exactly(&email, 1).await;
    let (subject, plain) = &rejection[0];
    assert_eq!(subject, "Your ad was not approved");
    let prefix = format!("{}/?id={id}&appeal=", api.base);
    let link = plain
        .split_whitespace()
        .find(|word| word.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no appeal link {prefix}… in:\n{plain}"));
    let secret = &link[prefix.len()..];
    assert_eq!(secret.len(), 32, "{link}");
    let public = api.status(&id).await;
    assert!(
        !public.text().contains(secret),
        "the id alone does not appeal"
    );

    // The appeal, as the page sends it.
    let appealed = api
        .appeal(
            &id,
            json!({"secret": secret, "text": "It is a toy car on a cat's back. Please look again."})
                .to_string(),
        )
        .await;
    assert_eq!(appealed.status, 202);
    let public = api.status(&id).await;
    assert_eq!(public["status"], "in_review", "{public}");
    assert_eq!(public["message"], "Your appeal is being reviewed");
    let moderators = api.as_token(TOKEN);
    let admin = moderators.admin_ad(&id).await;
    assert_eq!(
        admin["appeal"]["text"],
        "It is a toy car on a cat's back. Please look again."
    );

    // A moderator answers; that is the one email the appeal brings.
    let decided = moderators
        .decide(&id, &json!({"outcome": "approved", "category": "car"}))
        .await;
    assert_eq!(decided.status, 200);
    let emails = catcher.exactly(&email, 2).await;
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

    let history = moderators.history(&id).await;
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
