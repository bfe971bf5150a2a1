//! A submitter appeals a rejection (`POST /ads/{id}/appeal`), on the real
//! server, on SQLite and PostgreSQL: only with the secret of the rejection
//! email's link (403 otherwise), only a rejected ad (409), once (409); what
//! the body may be (400 with a code); taken, the ad is back in review
//! with the text for moderators, in its history and in the audit log; the
//! public status says whether an appeal is open, pending or answered and
//! never shows the secret; appeals are rate-limited like submissions.
//! (The webhook `ad.appealed` is checked at the store, in
//! adpipe-store's tests/appeals.rs, and delivered in tests/appeal_flow.rs.)

mod support;

use adpipe_api::ApiConfig;
use adpipe_core::{AdId, DecidedBy, Decision, Status};
use serde_json::json;
use support::{ApiClient, Setup, TestApp, drop_postgres, fresh_postgres, photo};

const TOKEN: &str = "appeals-admin";

async fn start_on(database_url: Option<String>, per_minute: u32) -> TestApp {
    TestApp::serve(Setup {
        config: ApiConfig {
            admin_token: Some(TOKEN.into()),
            rate_limit_per_minute: per_minute,
            rate_limit_burst: 2,
            categories: vec!["car".into()],
            ..ApiConfig::default()
        },
        database_url,
        ..Setup::default()
    })
    .await
}

/// Submits an ad; its id and the appeal secret its rejection email would
/// carry.
async fn submitted(app: &TestApp) -> (AdId, String) {
    let submitted = app
        .post_ad(
            "Kitten, very fast",
            "kitten@example.com",
            photo("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    assert_eq!(submitted.status, 202);
    let id: AdId = submitted.id().parse().expect("uuid");
    let ad = app.db.get_ad(id).await.expect("get").expect("stored");
    (id, ad.appeal_secret.expect("a secret made at submission"))
}

/// The model rejects it, as a worker would.
async fn reject(app: &TestApp, id: AdId) {
    let decision = Decision {
        status: Status::Rejected,
        category: None,
        score: 0.1,
        reason: Some("We only publish ads for vehicles.".into()),
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    };
    let by = DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    };
    assert!(
        app.db
            .record_decision(id, &decision, &[], &by)
            .await
            .expect("reject")
    );
}

/// The submitter's browser: the audit log keeps its User-Agent.
fn submitters_browser(app: &TestApp) -> ApiClient {
    app.with_header("user-agent", "appeals-test")
}

#[tokio::test]
async fn a_rejected_ad_is_appealed_once_with_its_secret_on_sqlite() {
    let app = start_on(None, 0).await;
    appeal_story(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_ad_is_appealed_once_with_its_secret_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_appeals_api").await;
    let app = start_on(Some(url), 0).await;
    appeal_story(&app).await;
    app.db.close().await;
    drop_postgres(admin, &name).await;
}

async fn appeal_story(app: &TestApp) {
    let (id, secret) = submitted(app).await;
    let submitter = submitters_browser(app);
    let moderators = app.as_token(TOKEN);
    let valid = |text: &str| json!({"secret": secret, "text": text}).to_string();

    // Pending: nothing to appeal yet, and the public status says nothing
    // of appeals.
    let refused = submitter.appeal(id, valid("Please")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, Some("appeal_not_allowed")),
        "{refused}"
    );
    let public = app.status(id).await;
    assert!(public.body.get("appeal").is_none(), "{public}");

    reject(app, id).await;
    // Rejected: the public status says it may be appealed through the
    // email's link, and never shows the secret.
    let public = app.status(id).await;
    assert_eq!(public.status, 200);
    assert_eq!(public["status"], "rejected");
    assert_eq!(public["message"], "Your ad was not approved");
    assert_eq!(public["appeal"], "open", "{public}");
    assert!(
        public["appeal_message"]
            .as_str()
            .expect("a message")
            .contains("rejection email"),
        "{public}"
    );
    assert!(!public.text().contains(&secret));

    // Refusals: each with its code, nothing recorded.
    let long = "x".repeat(2001);
    for (target, body, expected, why) in [
        (
            id.to_string(),
            json!({"secret": "0".repeat(32), "text": "Please"}).to_string(),
            (403, "appeal_secret_wrong"),
            "another secret",
        ),
        (
            id.to_string(),
            json!({"secret": secret.to_uppercase(), "text": "Please"}).to_string(),
            (400, "invalid_appeal"),
            "not lowercase hex",
        ),
        (
            id.to_string(),
            json!({"secret": &secret[..31], "text": "Please"}).to_string(),
            (400, "invalid_appeal"),
            "too short a secret",
        ),
        (
            id.to_string(),
            valid("   \n "),
            (400, "invalid_appeal"),
            "only spaces",
        ),
        (
            id.to_string(),
            valid(&long),
            (400, "invalid_appeal"),
            "2001 characters",
        ),
        (
            id.to_string(),
            valid("bell\u{7}"),
            (400, "invalid_appeal"),
            "a control character",
        ),
        (
            id.to_string(),
            "not json".into(),
            (400, "invalid_json"),
            "not JSON",
        ),
        (
            id.to_string(),
            json!([secret, "Please"]).to_string(),
            (400, "invalid_json"),
            "an array",
        ),
        (
            id.to_string(),
            json!({"secret": secret}).to_string(),
            (400, "invalid_json"),
            "no text",
        ),
        (
            id.to_string(),
            json!({"secret": secret, "text": "Please", "email": "x@example.com"}).to_string(),
            (400, "invalid_json"),
            "an unknown field",
        ),
        (
            id.to_string(),
            json!({"secret": secret, "text": 5}).to_string(),
            (400, "invalid_json"),
            "a number",
        ),
        (
            "not-an-id".into(),
            valid("Please"),
            (400, "invalid_id"),
            "not an id",
        ),
        (
            AdId::new().to_string(),
            valid("Please"),
            (404, "not_found"),
            "no such ad",
        ),
    ] {
        let answer = submitter.appeal(target, body).await;
        assert_eq!(
            (answer.status, answer.code().unwrap_or_default()),
            expected,
            "{why}: {answer}"
        );
    }
    let ad = app.db.get_ad(id).await.expect("get").expect("present");
    assert_eq!((ad.status, ad.appealed_at), (Status::Rejected, None));

    // Taken: back in review, marked, with the text for moderators.
    let taken = submitter
        .appeal(id, valid("  It is a toy car.\nPlease look again.  "))
        .await;
    assert_eq!(taken.status, 202, "{taken}");
    assert_eq!(taken["id"], id.to_string());
    assert_eq!(taken["status"], "in_review");
    assert!(
        taken["message"]
            .as_str()
            .expect("message")
            .contains("email")
    );

    let admin = moderators.admin_ad(id).await;
    assert_eq!(admin.status, 200, "{admin}");
    assert_eq!(admin["status"], "in_review");
    assert_eq!(
        admin["appeal"]["text"],
        "It is a toy car.\nPlease look again."
    );
    assert!(admin["appeal"]["at_ms"].as_i64().is_some(), "{admin}");
    assert_eq!(admin["suggestion"], "rejected", "the decision appealed");
    assert!(
        !admin.text().contains(&secret),
        "not even moderators see it"
    );
    let queue = moderators.reviews().await;
    assert_eq!(queue["ads"][0]["id"], id.to_string(), "{queue}");

    let history = moderators.history(id).await;
    let last = history["decisions"]
        .as_array()
        .expect("rows")
        .last()
        .cloned()
        .expect("an entry");
    assert_eq!(last["by"], "submitter", "{history}");
    assert_eq!(last["outcome"], "in_review");

    let audit = moderators.audit("action=ad.appealed").await;
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "submitter");
    assert_eq!(entries[0]["target"], format!("ad:{id}"));
    assert_eq!(entries[0]["address"], "127.0.0.1");
    assert_eq!(entries[0]["user_agent"], "appeals-test");
    assert!(!audit.text().contains("toy car"), "the text is the ad's");

    let public = app.status(id).await;
    assert_eq!(public["status"], "in_review");
    assert_eq!(public["message"], "Your appeal is being reviewed");
    assert_eq!(public["appeal"], "pending");
    assert!(!public.text().contains(&secret));
    assert!(!public.text().contains("toy car"), "{public}");

    // Once per ad, also while it waits and after the answer.
    let again = submitter.appeal(id, valid("Again")).await;
    assert_eq!(
        (again.status, again.code()),
        (409, Some("appeal_not_allowed")),
        "{again}"
    );
    let decided = moderators
        .decide(id, &json!({"outcome": "approved", "category": "car"}))
        .await;
    assert_eq!(decided.status, 200);
    let public = app.status(id).await;
    assert_eq!(public["status"], "approved");
    assert_eq!(public["appeal"], "answered", "{public}");
    let again = submitter.appeal(id, valid("Again")).await;
    assert_eq!(
        (again.status, again.code()),
        (409, Some("appeal_not_allowed")),
        "{again}"
    );
}

/// Appeals take tokens from the client's bucket of submissions: a burst
/// of 2 here, then 429 with Retry-After.
#[tokio::test]
async fn appeals_are_rate_limited_like_submissions() {
    let app = start_on(None, 1).await;
    let id = AdId::new();
    let body = json!({"secret": "0".repeat(32), "text": "Please"}).to_string();
    for _ in 0..2 {
        let answer = submitters_browser(&app).appeal(id, body.clone()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, Some("not_found")),
            "{answer}"
        );
    }
    let limited = app.appeal(id, body).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(limited.code(), Some("rate_limited"));
}
