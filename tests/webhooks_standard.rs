//! Webhooks as receivers check them with the Standard Webhooks reference
//! library: the Python package `standardwebhooks` (scripts/test.sh installs
//! it; missing, these tests fail) runs scripts/verify-webhook.py on
//! deliveries adpipe really sent. It takes them fresh; it refuses them
//! altered, under another key, replayed 10 minutes later, or given a new
//! timestamp by someone without the key. The first test runs `adpipe serve`
//! on the embedded defaults with an old-style secret (any text); the second
//! sends with a `whsec_` secret, a retry included.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adpipe_notify::webhook::{self, VerifyError};
use adpipe_notify::{WebhookConfig, WebhookError, WebhookSender};
use serde_json::{Map, Value, json};
use support::webhooks::{self, Log, Received};
use support::{Api, DECISION_TIMEOUT, Deployment, Processes, fixture};

/// A secret as set before adpipe followed the specification: any text,
/// its UTF-8 bytes the key.
const SECRET: &str = "standard-webhooks-test: any text";
/// A secret as the specification has them: `whsec_` + base64 of the key.
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The version scripts/test.sh installs.
const PACKAGE: &str = "standardwebhooks==1.3.0";

/// What the library said of a delivery.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// Why, in the library's words.
    Refused(String),
}

impl Verdict {
    fn refused_because(&self, why: &str) -> bool {
        matches!(self, Verdict::Refused(said) if said.contains(why))
    }
}

/// Runs scripts/verify-webhook.py: the library, given `secret` as a
/// receiver gives it, checks the headers and body at this machine's clock.
/// Panics unless the library itself accepted or refused (python3 or the
/// package missing is a failure, never a refusal).
fn library_verdict(secret: &str, headers: &[(String, String)], body: &str) -> Verdict {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify-webhook.py");
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    let input = json!({"secret": secret, "headers": headers, "body": body});
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "python3 must run {} (with {PACKAGE}): {error}",
                script.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write to the script");
    let output = child.wait_with_output().expect("python3");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .trim()
    .to_owned();
    match output.status.code() {
        Some(0) => Verdict::Accepted,
        Some(10) => Verdict::Refused(said),
        _ => panic!(
            "scripts/verify-webhook.py could not check the delivery ({}): the Standard \
             Webhooks library must be installed: python3 -m pip install {PACKAGE} \
             (scripts/test.sh does)\n{said}",
            output.status
        ),
    }
}

/// `headers` with `name` (any case) set to `value`.
fn with_header(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut changed: Vec<(String, String)> = headers
        .iter()
        .filter(|(key, _)| !key.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    changed.push((name.to_owned(), value.to_owned()));
    changed
}

/// The first delivery about `ad` the receiver took (2xx).
async fn until_delivered(received: &Log, ad: &str, processes: &mut Processes) -> Received {
    let started = Instant::now();
    loop {
        let log = received.lock().expect("log").clone();
        if let Some(delivery) = log
            .iter()
            .find(|request| request.answered == 200 && request.event_and_ad().1 == ad)
        {
            return delivery.clone();
        }
        let exited = processes.take_exited();
        assert!(exited.is_empty(), "{exited:?}");
        assert!(
            started.elapsed() < DECISION_TIMEOUT + Duration::from_secs(30),
            "no webhook about {ad} after {:?}: {log:#?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_pipelines_deliveries_pass_the_standard_webhooks_library_and_replays_do_not() {
    let mut processes = Processes::new();
    let (hook_url, received) = webhooks::receiver("/hooks/standard", |_| 200).await;
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_WEBHOOK_URL", hook_url)
        .with("ADPIPE_WEBHOOK_SECRET", SECRET);
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let run = &adpipe_core::AdId::new().to_string()[24..];
    let (code, _, body) = api
        .submit(
            "Family car, one owner",
            &format!("car-{run}@standard.example.com"),
            &fixture("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    assert_eq!(code, 202, "{body}");
    let ad = body["id"].as_str().expect("id").to_owned();
    let delivery = until_delivered(&received, &ad, &mut processes).await;

    // The headers of the specification, and the deprecated ones unchanged.
    let id = delivery.header("webhook-id").to_owned();
    assert!(!id.is_empty(), "{delivery:#?}");
    assert_eq!(id, delivery.delivery, "webhook-id is X-Adpipe-Delivery");
    let signed_at: i64 = delivery
        .header("webhook-timestamp")
        .parse()
        .unwrap_or_else(|_| panic!("integer Unix seconds: {delivery:#?}"));
    assert!(
        (delivery.received_at - signed_at).abs() <= 15,
        "signed at {signed_at}, received at {}",
        delivery.received_at
    );
    assert!(
        delivery.header("webhook-signature").starts_with("v1,"),
        "{delivery:#?}"
    );
    assert_eq!(delivery.header("x-adpipe-event"), "ad.decided");
    assert!(
        webhook::verify(
            SECRET.as_bytes(),
            delivery.body.as_bytes(),
            &delivery.signature
        ),
        "the deprecated X-Adpipe-Signature still verifies: {delivery:#?}"
    );
    assert_eq!(delivery.verify_standard(SECRET), Ok(()));

    // The library, given whsec_ + base64 of the old secret, takes it.
    let receiver = webhook::receiver_secret(SECRET);
    assert!(receiver.starts_with("whsec_"), "{receiver}");
    assert_eq!(
        library_verdict(&receiver, &delivery.headers, &delivery.body),
        Verdict::Accepted,
        "{delivery:#?}"
    );

    // Altered (the same event about another ad), or under another key.
    let altered = delivery
        .body
        .replacen(&ad, &adpipe_core::AdId::new().to_string(), 1);
    assert_ne!(altered, delivery.body);
    let verdict = library_verdict(&receiver, &delivery.headers, &altered);
    assert!(
        verdict.refused_because("No matching signature"),
        "{verdict:?}"
    );
    let other = webhook::receiver_secret("another secret");
    let verdict = library_verdict(&other, &delivery.headers, &delivery.body);
    assert!(
        verdict.refused_because("No matching signature"),
        "{verdict:?}"
    );

    // A replay: this delivery as captured 10 minutes ago (its id and body,
    // signed with the real key at a time 10 minutes before it), sent now.
    let key = webhook::signing_key(SECRET).expect("key");
    let body = delivery.body.as_bytes();
    let resigned = |at: i64| {
        let headers = with_header(&delivery.headers, "webhook-timestamp", &at.to_string());
        let signature = webhook::standard_signature(&key, &id, at, body);
        with_header(&headers, "webhook-signature", &signature)
    };
    let now = webhook::unix_now();
    assert_eq!(
        library_verdict(&receiver, &resigned(now), &delivery.body),
        Verdict::Accepted,
        "the control: signed now, taken"
    );
    let verdict = library_verdict(&receiver, &resigned(now - 600), &delivery.body);
    assert!(verdict.refused_because("too old"), "{verdict:?}");
    let verdict = library_verdict(&receiver, &resigned(now + 600), &delivery.body);
    assert!(verdict.refused_because("too new"), "{verdict:?}");
    let replayed = resigned(now - 600);
    let header = |name: &str| {
        replayed
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .expect("header")
    };
    assert_eq!(
        webhook::verify_standard(
            SECRET,
            &id,
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            body,
            now,
            webhook::TOLERANCE
        ),
        Err(VerifyError::TooOld(600))
    );
    // Without the key, a captured delivery cannot be given a fresh time:
    // its signature covers the old one.
    let refreshed = with_header(
        &delivery.headers,
        "webhook-timestamp",
        &(signed_at + 1).to_string(),
    );
    let verdict = library_verdict(&receiver, &refreshed, &delivery.body);
    assert!(
        verdict.refused_because("No matching signature"),
        "{verdict:?}"
    );
    // And the deprecated header alone, which covers the body only, would
    // still verify: why receivers should move to the standard headers.
    assert!(webhook::verify(
        SECRET.as_bytes(),
        delivery.body.as_bytes(),
        &delivery.signature
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn whsec_secrets_sign_each_attempt_as_the_standard_webhooks_library_expects() {
    // 503 to the first attempt, 200 to the retry.
    let (url, received) =
        webhooks::receiver("/hooks/whsec", |n| if n == 0 { 503 } else { 200 }).await;
    let sender = WebhookSender::new(WebhookConfig {
        url,
        secret: WHSEC.into(),
        timeout: Duration::from_secs(10),
    })
    .expect("a valid whsec_ secret");
    let id = adpipe_core::AdId::new().to_string();
    let body = json!({
        "event": "ad.decided",
        "id": adpipe_core::AdId::new().to_string(),
        "status": "approved",
        "reason": "Ünïcode, \"quoted\" — and more",
    })
    .to_string();
    assert!(matches!(
        sender.send(&id, "ad.decided", &body).await,
        Err(WebhookError::Refused(503))
    ));
    // A retry in another second carries its own time.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sender
        .send(&id, "ad.decided", &body)
        .await
        .expect("the retry is taken");
    let log = received.lock().expect("log").clone();
    assert_eq!(log.len(), 2, "{log:#?}");
    for attempt in &log {
        assert_eq!(attempt.header("webhook-id"), id, "the same id on retry");
        assert_eq!(attempt.verify_standard(WHSEC), Ok(()), "{attempt:#?}");
        // The library is given the whsec_ secret as it is.
        assert_eq!(
            library_verdict(WHSEC, &attempt.headers, &attempt.body),
            Verdict::Accepted,
            "{attempt:#?}"
        );
        // The deprecated header: keyed with the text as written.
        assert!(webhook::verify(
            WHSEC.as_bytes(),
            attempt.body.as_bytes(),
            &attempt.signature
        ));
    }
    let times: Vec<i64> = log
        .iter()
        .map(|attempt| {
            attempt
                .header("webhook-timestamp")
                .parse()
                .expect("integer")
        })
        .collect();
    assert!(
        times[1] > times[0],
        "each attempt signed at its time: {times:?}"
    );
    assert_ne!(
        log[0].header("webhook-signature"),
        log[1].header("webhook-signature")
    );
}
