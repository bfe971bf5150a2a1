//! A person in the loop, end to end: `adpipe serve` on the embedded
//! defaults, and again on PostgreSQL + RabbitMQ + S3, with the default
//! vehicles policy, an admin token and a webhook
//! receiver that answers 503 to its first deliveries. A car is approved, a
//! cat rejected, the biplane seen from above goes to a person; its
//! submitter hears nothing until a moderator decides, then exactly once;
//! `adpipe retag` leaves it alone unless asked; every event reaches the
//! site, signed (Standard Webhooks, and the deprecated X-Adpipe-Signature),
//! with the same delivery id on every retry; the metrics
//! count it all. Needs the SMTP catcher and, for the second run, the S3
//! server (`scripts/dev-services.sh`), PostgreSQL and RabbitMQ.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::webhooks::{self, Received};
use support::{Api, Catcher, Deployment, Processes, drop_postgres, fixture, fresh_postgres};

const TOKEN: &str = "review-flow-token";
const SECRET: &str = "review-flow-secret";
/// Deliveries the receiver refuses before it takes any.
const REFUSED: usize = 3;

/// 503 to the first [`REFUSED`] webhook requests, 200 after.
fn refuse_the_first(n: usize) -> u16 {
    if n < REFUSED { 503 } else { 200 }
}

fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_decides_what_the_model_is_unsure_of_and_everyone_hears_once_on_sqlite() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes);
    review_story(&mut processes, deployment).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_decides_what_the_model_is_unsure_of_and_everyone_hears_once_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_review").await;
    let mut processes = Processes::new();
    let deployment = Deployment::services(&processes, &url, "adpipe-review-test");
    review_story(&mut processes, deployment).await;
    drop_postgres(admin, &name).await;
}

async fn review_story(processes: &mut Processes, deployment: Deployment) {
    let catcher = Catcher::new();
    let (hook_url, received) = webhooks::receiver("/hooks/adpipe", refuse_the_first).await;
    let deployment = deployment
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_WEBHOOK_URL", hook_url.clone())
        .with("ADPIPE_WEBHOOK_SECRET", SECRET);
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;

    // The random tail of a UUIDv7 (its head is the clock, shared by the two
    // runs of this story that start together).
    let run = &adpipe_core::AdId::new().to_string()[24..];
    let mut ads = BTreeMap::new();
    for (name, photo) in [
        ("car", "vehicle/car_rear_motionblur.jpg"),
        ("cat", "other/cat_chelsea.png"),
        ("biplane", "vehicle/biplane_from_above.jpg"),
    ] {
        let email = format!("{name}-{run}@review.example.com");
        let id = api.submitted(name, &email, &fixture(photo)).await;
        ads.insert(name, (id, email));
    }
    for (name, expected) in [
        ("car", "approved"),
        ("cat", "rejected"),
        ("biplane", "in_review"),
    ] {
        let (_, decided) = api.until_decided(&ads[name].0).await;
        assert_eq!(decided["status"], expected, "{name}: {decided}");
    }
    let (biplane, biplane_email) = ads["biplane"].clone();
    let public = api.status(&biplane).await;
    assert_eq!(public["message"], "A person is checking your ad");
    assert!(
        public.body.get("category").is_none(),
        "the model's view is for moderators"
    );

    // Nothing to the biplane's submitter while a person has it.
    catcher.only_email_to(&ads["car"].1).await;
    catcher.only_email_to(&ads["cat"].1).await;
    assert!(catcher.messages_to(&biplane_email).await.is_empty());
    let before = api.metrics().await.text().into_owned();
    assert_eq!(
        sample(&before, "adpipe_review_queue_depth"),
        1.0,
        "{before}"
    );

    // `adpipe retag` leaves it to the person unless asked for it.
    let retag = |extra: &'static [&'static str]| {
        let mut args = vec!["retag"];
        args.extend_from_slice(extra);
        processes
            .command(&args, &deployment.vars)
            .output()
            .expect("retag")
    };
    let output = retag(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let moderators = api.as_token(TOKEN);
    assert_eq!(
        moderators.history(&biplane).await["decisions"]
            .as_array()
            .expect("rows")
            .len(),
        1
    );
    let output = retag(&["--status", "in_review"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let still = api.status(&biplane).await;
    assert_eq!(
        still["status"], "in_review",
        "the same model and policy, the same doubt"
    );
    assert_eq!(
        moderators.history(&biplane).await["decisions"]
            .as_array()
            .expect("rows")
            .len(),
        2,
        "asked for, it was judged again"
    );

    // A moderator decides; the submitter hears once.
    let decided = moderators
        .decide(
            &biplane,
            &json!({"outcome": "approved", "category": "aircraft"}),
        )
        .await;
    assert_eq!(decided.status, 200);
    let (subject, _) = catcher.only_email_to(&biplane_email).await;
    assert_eq!(subject, "Your ad was approved (aircraft)");
    let last = moderators.history(&biplane).await;
    let rows = last["decisions"].as_array().expect("rows");
    assert_eq!(rows.last().expect("row")["by"], "moderator:bootstrap");

    // Every event reaches the site, signed; retries keep their delivery id.
    let expected_events = 4; // car, cat, biplane to review, biplane decided
    let started = Instant::now();
    let delivered = loop {
        let log = received.lock().expect("log").clone();
        let delivered: Vec<&Received> = log.iter().filter(|r| r.answered == 200).collect();
        if delivered.len() >= expected_events {
            break log;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "webhooks missing after 60 s: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut by_delivery: BTreeMap<&str, Vec<&Received>> = BTreeMap::new();
    for request in &delivered {
        assert!(
            adpipe_notify::webhook::verify(
                SECRET.as_bytes(),
                request.body.as_bytes(),
                &request.signature
            ),
            "bad signature on {request:?}"
        );
        assert_eq!(
            request.verify_standard(SECRET),
            Ok(()),
            "bad Standard Webhooks signature on {request:?}"
        );
        assert_eq!(
            request.header("webhook-id"),
            request.delivery,
            "webhook-id is the delivery id"
        );
        by_delivery
            .entry(&request.delivery)
            .or_default()
            .push(request);
    }
    assert_eq!(
        by_delivery.len(),
        expected_events,
        "one delivery id per event: {delivered:#?}"
    );
    let retried = by_delivery.values().filter(|tries| tries.len() > 1).count();
    assert!(retried >= 1, "the refused ones were retried under their id");
    for tries in by_delivery.values() {
        assert_eq!(tries.iter().filter(|t| t.answered == 200).count(), 1);
        assert!(
            tries.iter().all(|t| t.body == tries[0].body),
            "the same bytes on retry"
        );
    }
    let events: Vec<(String, String)> = by_delivery
        .values()
        .map(|tries| {
            let body: Value = serde_json::from_str(&tries[0].body).expect("JSON");
            (
                body["id"].as_str().unwrap_or_default().to_owned(),
                body["event"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        events.contains(&(biplane.clone(), "ad.in_review".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&(biplane.clone(), "ad.decided".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&(ads["car"].0.clone(), "ad.decided".into())),
        "{events:?}"
    );

    // Exactly one email per ad, after all that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (_, email) in ads.values() {
        assert_eq!(catcher.messages_to(email).await.len(), 1, "{email}");
    }
    let after = api.metrics().await.text().into_owned();
    assert_eq!(sample(&after, "adpipe_review_queue_depth"), 0.0);
    assert!(
        after.contains("adpipe_decisions_total{decided_by=\"moderator\",outcome=\"approved\"} 1"),
        "{after}"
    );
    assert!(
        sample(&after, "adpipe_webhook_failures_total") >= REFUSED as f64,
        "{after}"
    );
    assert!(
        after.contains("adpipe_review_wait_seconds_count 1"),
        "{after}"
    );
    processes.stop_gracefully();
}

#[tokio::test(flavor = "multi_thread")]
async fn quality_control_sends_sampled_approvals_to_a_person_on_sqlite() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes);
    sampling_story(&mut processes, deployment).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn quality_control_sends_sampled_approvals_to_a_person_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_sampling").await;
    let mut processes = Processes::new();
    let deployment = Deployment::services(&processes, &url, "adpipe-sampling-test");
    sampling_story(&mut processes, deployment).await;
    drop_postgres(admin, &name).await;
}

/// The photo-only vehicles policy with `review_sample = 1` (copied to a
/// temporary folder, where the default's text model path, relative to
/// models/policies, would not resolve): every approval the model
/// would make goes to a person first (each ad's draw is fixed by its id,
/// so a share of 1 picks them all); rejections are not sampled. The
/// submitter hears once, at the person's decision.
async fn sampling_story(processes: &mut Processes, deployment: Deployment) {
    let catcher = Catcher::new();
    let vehicles = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/policies/vehicles-photo.toml"),
    )
    .expect("vehicles-photo.toml");
    let policy = processes.dir.join("vehicles-sampled.toml");
    std::fs::write(&policy, format!("review_sample = 1.0\n{vehicles}")).expect("policy");
    let deployment = deployment
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_POLICY", policy.display().to_string());
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;

    let run = &adpipe_core::AdId::new().to_string()[24..];
    let car_email = format!("car-{run}@sampling.example.com");
    let cat_email = format!("cat-{run}@sampling.example.com");
    let car = api
        .submitted(
            "Family car",
            &car_email,
            &fixture("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    let cat = api
        .submitted("A cat", &cat_email, &fixture("other/cat_chelsea.png"))
        .await;
    let (_, decided) = api.until_decided(&car).await;
    assert_eq!(decided["status"], "in_review", "{decided}");
    let (_, decided) = api.until_decided(&cat).await;
    assert_eq!(decided["status"], "rejected", "rejections are not sampled");

    let moderators = api.as_token(TOKEN);
    let queue = moderators.reviews().await;
    let item = &queue["ads"][0];
    assert_eq!(item["id"], car.as_str(), "{queue}");
    assert_eq!(item["suggestion"]["outcome"], "approved", "{item}");
    assert!(
        item["suggestion"]["reason"]
            .as_str()
            .expect("reason")
            .contains("quality control"),
        "{item}"
    );
    assert!(catcher.messages_to(&car_email).await.is_empty());

    let decided = moderators
        .decide(&car, &json!({"outcome": "approved", "category": "car"}))
        .await;
    assert_eq!(decided.status, 200);
    let (subject, _) = catcher.only_email_to(&car_email).await;
    assert_eq!(subject, "Your ad was approved (car)");
    catcher.only_email_to(&cat_email).await;
    processes.stop_gracefully();
}
