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
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::{Setup, TestApp, drop_postgres, fresh_postgres, photo};

const TOKEN: &str = "appeals-admin";

async fn start_on(database_url: Option<String>, per_minute: u32) -> (TestApp, reqwest::Client) {
    let app = TestApp::serve(Setup {
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
    .await;
    (app, reqwest::Client::new())
}

/// Submits an ad; its id and the appeal secret its rejection email would
/// carry.
async fn submitted(app: &TestApp, http: &reqwest::Client) -> (AdId, String) {
    let form = Form::new()
        .text("text", "Kitten, very fast")
        .text("email", "kitten@example.com")
        .part(
            "image",
            Part::bytes(photo("vehicle/car_rear_motionblur.jpg")).file_name("kitten.jpg"),
        );
    let response = http
        .post(format!("{}/ads", app.base))
        .multipart(form)
        .send()
        .await
        .expect("POST /ads");
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.expect("JSON");
    let id: AdId = body["id"].as_str().expect("id").parse().expect("uuid");
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

async fn appeal(http: &reqwest::Client, app: &TestApp, id: &str, body: String) -> (u16, Value) {
    let response = http
        .post(format!("{}/ads/{id}/appeal", app.base))
        .header("content-type", "application/json")
        .header("user-agent", "appeals-test")
        .body(body)
        .send()
        .await
        .expect("POST appeal");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: String, token: Option<&str>) -> (u16, Value) {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_rejected_ad_is_appealed_once_with_its_secret_on_sqlite() {
    let (app, http) = start_on(None, 0).await;
    appeal_story(&app, &http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_ad_is_appealed_once_with_its_secret_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_appeals_api").await;
    let (app, http) = start_on(Some(url), 0).await;
    appeal_story(&app, &http).await;
    app.db.close().await;
    drop_postgres(admin, &name).await;
}

async fn appeal_story(app: &TestApp, http: &reqwest::Client) {
    let (id, secret) = submitted(app, http).await;
    let valid = |text: &str| json!({"secret": secret, "text": text}).to_string();

    // Pending: nothing to appeal yet, and the public status says nothing
    // of appeals.
    let (status, body) = appeal(http, app, &id.to_string(), valid("Please")).await;
    assert_eq!((status, code(&body)), (409, "appeal_not_allowed"), "{body}");
    let (_, public) = get(http, format!("{}/ads/{id}", app.base), None).await;
    assert!(public.get("appeal").is_none(), "{public}");

    reject(app, id).await;
    // Rejected: the public status says it may be appealed through the
    // email's link, and never shows the secret.
    let (status, public) = get(http, format!("{}/ads/{id}", app.base), None).await;
    assert_eq!(status, 200);
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
    assert!(!public.to_string().contains(&secret));

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
        let (status, answer) = appeal(http, app, &target, body).await;
        assert_eq!((status, code(&answer)), expected, "{why}: {answer}");
    }
    let ad = app.db.get_ad(id).await.expect("get").expect("present");
    assert_eq!((ad.status, ad.appealed_at), (Status::Rejected, None));

    // Taken: back in review, marked, with the text for moderators.
    let (status, taken) = appeal(
        http,
        app,
        &id.to_string(),
        valid("  It is a toy car.\nPlease look again.  "),
    )
    .await;
    assert_eq!(status, 202, "{taken}");
    assert_eq!(taken["id"], id.to_string());
    assert_eq!(taken["status"], "in_review");
    assert!(
        taken["message"]
            .as_str()
            .expect("message")
            .contains("email")
    );

    let (status, admin) = get(http, format!("{}/admin/ads/{id}", app.base), Some(TOKEN)).await;
    assert_eq!(status, 200, "{admin}");
    assert_eq!(admin["status"], "in_review");
    assert_eq!(
        admin["appeal"]["text"],
        "It is a toy car.\nPlease look again."
    );
    assert!(admin["appeal"]["at_ms"].as_i64().is_some(), "{admin}");
    assert_eq!(admin["suggestion"], "rejected", "the decision appealed");
    assert!(
        !admin.to_string().contains(&secret),
        "not even moderators see it"
    );
    let (_, queue) = get(http, format!("{}/admin/reviews", app.base), Some(TOKEN)).await;
    assert_eq!(queue["ads"][0]["id"], id.to_string(), "{queue}");

    let (_, history) = get(
        http,
        format!("{}/admin/ads/{id}/history", app.base),
        Some(TOKEN),
    )
    .await;
    let last = history["decisions"]
        .as_array()
        .expect("rows")
        .last()
        .cloned()
        .expect("an entry");
    assert_eq!(last["by"], "submitter", "{history}");
    assert_eq!(last["outcome"], "in_review");

    let (_, audit) = get(
        http,
        format!("{}/admin/audit?action=ad.appealed", app.base),
        Some(TOKEN),
    )
    .await;
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "submitter");
    assert_eq!(entries[0]["target"], format!("ad:{id}"));
    assert_eq!(entries[0]["address"], "127.0.0.1");
    assert_eq!(entries[0]["user_agent"], "appeals-test");
    assert!(
        !audit.to_string().contains("toy car"),
        "the text is the ad's"
    );

    let (_, public) = get(http, format!("{}/ads/{id}", app.base), None).await;
    assert_eq!(public["status"], "in_review");
    assert_eq!(public["message"], "Your appeal is being reviewed");
    assert_eq!(public["appeal"], "pending");
    assert!(!public.to_string().contains(&secret));
    assert!(!public.to_string().contains("toy car"), "{public}");

    // Once per ad, also while it waits and after the answer.
    let (status, body) = appeal(http, app, &id.to_string(), valid("Again")).await;
    assert_eq!((status, code(&body)), (409, "appeal_not_allowed"), "{body}");
    let decided = http
        .post(format!("{}/admin/ads/{id}/decision", app.base))
        .bearer_auth(TOKEN)
        .json(&json!({"outcome": "approved", "category": "car"}))
        .send()
        .await
        .expect("decide");
    assert_eq!(decided.status(), 200);
    let (_, public) = get(http, format!("{}/ads/{id}", app.base), None).await;
    assert_eq!(public["status"], "approved");
    assert_eq!(public["appeal"], "answered", "{public}");
    let (status, body) = appeal(http, app, &id.to_string(), valid("Again")).await;
    assert_eq!((status, code(&body)), (409, "appeal_not_allowed"), "{body}");
}

/// Appeals take tokens from the client's bucket of submissions: a burst
/// of 2 here, then 429 with Retry-After.
#[tokio::test]
async fn appeals_are_rate_limited_like_submissions() {
    let (app, http) = start_on(None, 1).await;
    let id = AdId::new();
    let body = json!({"secret": "0".repeat(32), "text": "Please"}).to_string();
    for _ in 0..2 {
        let (status, answer) = appeal(&http, &app, &id.to_string(), body.clone()).await;
        assert_eq!((status, code(&answer)), (404, "not_found"), "{answer}");
    }
    let response = http
        .post(format!("{}/ads/{id}/appeal", app.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST appeal");
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(code(&answer), "rate_limited");
}
