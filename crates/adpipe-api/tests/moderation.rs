//! The moderators' API on the real server (SQLite, and the decisions on
//! PostgreSQL too): the review queue, a
//! decision (two at once: one 200, one 409), the checks on a decision,
//! overrides, the history, the image of an ad in review, and what the
//! public sees of an ad in review (nothing of the model's suggestion).

mod support;

use adpipe_api::ApiConfig;
use adpipe_core::policy::TextReading;
use adpipe_core::{AdId, DecidedBy, Decision, Status, Tag};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::{Setup, TestApp, account_token, drop_postgres, fresh_postgres, photo};

const TOKEN: &str = "moderators-only";

async fn start() -> (TestApp, reqwest::Client) {
    start_on(None).await
}

/// The app on this database [default: SQLite].
async fn start_on(database_url: Option<String>) -> (TestApp, reqwest::Client) {
    let app = TestApp::serve(Setup {
        config: ApiConfig {
            admin_token: Some(TOKEN.into()),
            rate_limit_per_minute: 0,
            categories: vec!["car".into(), "aircraft".into()],
            ..ApiConfig::default()
        },
        database_url,
        ..Setup::default()
    })
    .await;
    (app, reqwest::Client::new())
}

/// Submits an ad and has the model send it to review, as a worker would.
async fn in_review(app: &TestApp, http: &reqwest::Client, email: &str) -> AdId {
    let form = Form::new()
        .text("text", "Helicopter, low hours")
        .text("email", email.to_owned())
        .part(
            "image",
            Part::bytes(photo("vehicle/car_rear_motionblur.jpg")).file_name("heli.jpg"),
        );
    let body: Value = http
        .post(format!("{}/ads", app.base))
        .multipart(form)
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let id: AdId = body["id"].as_str().expect("id").parse().expect("uuid");
    let decision = Decision {
        status: Status::InReview,
        category: Some("aircraft".into()),
        score: 0.21,
        reason: Some("The model is not sure".into()),
        suggestion: Some(Status::Approved),
        text: Some(TextReading {
            says: Some("aircraft".into()),
            categories: [("car".to_owned(), 0.03), ("aircraft".to_owned(), 0.95)].into(),
            off_topic: 0.02,
            best_similarity: 0.61,
        }),
    };
    let tags = [Tag {
        label: "airliner".into(),
        confidence: 0.21,
    }];
    let by = DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    };
    assert!(
        app.db
            .record_decision(id, &decision, &tags, &by)
            .await
            .expect("record")
    );
    id
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(http, TOKEN, method, url, body).await
}

/// [`call`] with another bearer token (an account's).
async fn call_as(
    http: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn moderators_decide_what_the_model_is_unsure_of_on_sqlite() {
    let (app, http) = start().await;
    decision_story(&app, &http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moderators_decide_what_the_model_is_unsure_of_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_moderation").await;
    let (app, http) = start_on(Some(url)).await;
    decision_story(&app, &http).await;
    app.db.close().await;
    drop_postgres(admin, &name).await;
}

async fn decision_story(app: &TestApp, http: &reqwest::Client) {
    let id = in_review(app, http, "heli@example.com").await;

    // The public sees that a person is on it, and nothing of the model's view.
    let public: Value = http
        .get(format!("{}/ads/{id}", app.base))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(public["status"], "in_review");
    assert_eq!(public["message"], "A person is checking your ad");
    for hidden in [
        "category",
        "reason",
        "tags",
        "text",
        "image_url",
        "text_reading",
    ] {
        assert!(public.get(hidden).is_none(), "{hidden}: {public}");
    }

    // The queue: the ad with what a moderator needs.
    let (status, page) = call(
        http,
        reqwest::Method::GET,
        format!("{}/admin/reviews?limit=10", app.base),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["categories"], json!(["car", "aircraft"]));
    let item = &page["ads"][0];
    assert_eq!(item["id"], id.to_string());
    assert_eq!(item["email"], "heli@example.com");
    assert_eq!(item["suggestion"]["outcome"], "approved");
    assert_eq!(item["suggestion"]["category"], "aircraft");
    assert_eq!(item["text_reading"]["says"], "aircraft", "{item}");
    assert_eq!(
        item["text_reading"]["categories"]["aircraft"], 0.95,
        "{item}"
    );
    assert_eq!(item["tags"][0]["label"], "airliner");
    assert!(item["waiting_s"].as_i64().is_some());
    // Its image, for moderators, although it is not approved.
    let image = http
        .get(format!(
            "{}{}",
            app.base,
            item["image_url"].as_str().expect("url")
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert_eq!(
        http.get(format!("{}/ads/{id}/image", app.base))
            .send()
            .await
            .expect("public image")
            .status(),
        403
    );

    // Decisions that do not hold: 400 with a code, nothing recorded.
    let url = format!("{}/admin/ads/{id}/decision", app.base);
    for (body, code) in [
        (
            json!({"outcome": "approved", "category": "boat"}),
            "unknown_category",
        ),
        (json!({"outcome": "approved"}), "invalid_json"),
        (json!({"outcome": "perhaps"}), "invalid_json"),
        (
            json!({"outcome": "approved", "category": "aircraft", "reason": "Nice"}),
            "invalid_decision",
        ),
        (
            json!({"outcome": "rejected", "category": "aircraft"}),
            "invalid_decision",
        ),
        // Who decides comes from who is asking, not from the body.
        (
            json!({"outcome": "rejected", "moderator": "ana"}),
            "invalid_decision",
        ),
    ] {
        let (status, answer) =
            call(http, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let unauthorised = http
        .post(&url)
        .json(&json!({"outcome": "rejected", "moderator": "eve"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(unauthorised.status(), 401);
    assert_eq!(
        app.db.get_ad(id).await.expect("get").expect("ad").status,
        Status::InReview
    );

    // Two moderators at once: one 200, one 409.
    let ana_token = account_token(app, http, TOKEN, "ana", "moderator").await;
    let bo_token = account_token(app, http, TOKEN, "bo", "moderator").await;
    let cy_token = account_token(app, http, TOKEN, "cy", "moderator").await;
    let (ana, bo) = tokio::join!(
        call_as(
            http,
            &ana_token,
            reqwest::Method::POST,
            url.clone(),
            // All four fields every time, as some clients send them.
            Some(
                json!({"outcome": "approved", "category": "aircraft", "reason": null, "moderator": "ana"})
            ),
        ),
        call_as(
            http,
            &bo_token,
            reqwest::Method::POST,
            url.clone(),
            Some(json!({"outcome": "rejected", "category": null, "reason": "Not for sale"})),
        )
    );
    let mut statuses = [ana.0, bo.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{ana:?} {bo:?}");
    let (winner, loser) = if ana.0 == 200 {
        (&ana.1, &bo.1)
    } else {
        (&bo.1, &ana.1)
    };
    assert_eq!(loser["error"]["code"], "not_in_review");
    let final_status = winner["status"].as_str().expect("status").to_owned();
    assert!(final_status == "approved" || final_status == "rejected");

    // An override turns it round; the history tells the whole story.
    let flipped = if final_status == "approved" {
        json!({"outcome": "rejected", "reason": "Sold already", "override": true,
               "note": "NOTE-FOR-MODERATORS: seller called"})
    } else {
        json!({"outcome": "approved", "category": "aircraft", "override": true,
               "note": "NOTE-FOR-MODERATORS: seller called"})
    };
    let (status, overridden) = call_as(
        http,
        &cy_token,
        reqwest::Method::POST,
        url.clone(),
        Some(flipped),
    )
    .await;
    assert_eq!(status, 200, "{overridden}");
    assert_ne!(overridden["status"], final_status);
    let (status, history) = call(
        http,
        reqwest::Method::GET,
        format!("{}/admin/ads/{id}/history", app.base),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let by: Vec<&str> = history["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|entry| entry["by"].as_str().expect("by"))
        .collect();
    assert_eq!(by.len(), 3, "{history}");
    assert_eq!(by[0], "model:efficientnet-lite0@vehicles");
    assert!(by[1] == "moderator:ana" || by[1] == "moderator:bo");
    assert_eq!(by[2], "moderator:cy");
    assert_eq!(history["decisions"][0]["outcome"], "in_review");
    // The note is the moderators' alone: in the history, not on the
    // public page nor in the site's webhook (queued or not).
    assert_eq!(
        history["decisions"][2]["note"],
        "NOTE-FOR-MODERATORS: seller called"
    );
    let public = http
        .get(format!("{}/ads/{id}", app.base))
        .send()
        .await
        .expect("public GET")
        .text()
        .await
        .expect("body");
    assert!(!public.contains("NOTE-FOR-MODERATORS"), "{public}");
    assert!(
        history["decisions"][2]["at"]
            .as_str()
            .expect("at")
            .ends_with('Z')
    );

    // Found by address, and by id.
    let (_, found) = call(
        http,
        reqwest::Method::GET,
        format!("{}/admin/ads?email=HELI@example.com", app.base),
        None,
    )
    .await;
    assert_eq!(found["ads"][0]["id"], id.to_string());
    let (status, one) = call(
        http,
        reqwest::Method::GET,
        format!("{}/admin/ads/{id}", app.base),
        None,
    )
    .await;
    assert_eq!((status, &one["status"]), (200, &overridden["status"]));
    // The queue is empty; an unknown ad is a 404.
    let (_, page) = call(
        http,
        reqwest::Method::GET,
        format!("{}/admin/reviews", app.base),
        None,
    )
    .await;
    assert_eq!(page["total"], 0);
    let (status, _) = call(
        http,
        reqwest::Method::POST,
        format!("{}/admin/ads/{}/decision", app.base, AdId::new()),
        Some(json!({"outcome": "rejected"})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_document_names_the_policys_categories_and_the_ads_link() {
    let (app, http) = start().await;
    let document: Value = http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["Approval"]["properties"]["category"]["enum"],
        json!(["car", "aircraft"])
    );
    assert_eq!(
        schemas["Approval"]["properties"]["outcome"]["enum"],
        json!(["approved"])
    );
    assert_eq!(
        schemas["DecisionRequest"]["oneOf"][1]["$ref"],
        "#/components/schemas/Rejection"
    );
    let link = &document["paths"]["/ads"]["post"]["responses"]["202"]["links"]["AdStatus"];
    assert_eq!(link["operationId"], "status");
}

#[tokio::test]
async fn pages_of_the_queue_are_bounded_as_documented() {
    let (app, http) = start().await;
    let ids = [
        in_review(&app, &http, "a@example.com").await,
        in_review(&app, &http, "b@example.com").await,
        in_review(&app, &http, "c@example.com").await,
    ];
    let (_, first) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/admin/reviews?limit=2", app.base),
        None,
    )
    .await;
    let listed: Vec<&str> = first["ads"]
        .as_array()
        .expect("ads")
        .iter()
        .map(|ad| ad["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        listed,
        [ids[0].to_string(), ids[1].to_string()],
        "oldest first"
    );
    let next = first["next"].as_str().expect("next");
    let (_, second) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/admin/reviews?limit=2&after={next}", app.base),
        None,
    )
    .await;
    assert_eq!(second["ads"][0]["id"], ids[2].to_string());
    assert!(second["next"].is_null());
    for query in ["limit=0", "limit=501", "limit=2147483648", "after=0"] {
        let (status, answer) = call(
            &http,
            reqwest::Method::GET,
            format!("{}/admin/reviews?{query}", app.base),
            None,
        )
        .await;
        assert_eq!(status, 400, "{query}: {answer}");
    }
    let (status, _) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/admin/ads?limit=2147483648", app.base),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

/// Claims: the first moderator to open an ad holds it; the second is told
/// who does, cannot decide it, and gets it once it is released.
#[tokio::test]
async fn two_moderators_never_work_on_the_same_ad() {
    let (app, http) = start().await;
    let http = &http;
    let id = in_review(&app, http, "claims@example.com").await;
    let ana = account_token(&app, http, TOKEN, "ana", "moderator").await;
    let bo = account_token(&app, http, TOKEN, "bo", "moderator").await;
    let claim = format!("{}/admin/ads/{id}/claim", app.base);
    let (status, held) = call_as(http, &ana, reqwest::Method::POST, claim.clone(), None).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["claimed_by"], "ana");
    assert!(held["until"].as_str().expect("until").ends_with('Z'));
    let (status, refused) = call_as(http, &bo, reqwest::Method::POST, claim.clone(), None).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("claimed"))
    );
    // The queue shows who is on it.
    let (_, queue) = call_as(
        http,
        &bo,
        reqwest::Method::GET,
        format!("{}/admin/reviews", app.base),
        None,
    )
    .await;
    assert_eq!(queue["ads"][0]["claim"]["claimed_by"], "ana", "{queue}");
    // Bo cannot decide it while Ana holds it.
    let decide = format!("{}/admin/ads/{id}/decision", app.base);
    let (status, refused) = call_as(
        http,
        &bo,
        reqwest::Method::POST,
        decide.clone(),
        Some(json!({"outcome": "rejected", "reason": "Sold"})),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("claimed"))
    );
    // Released, it is Bo's to take and decide.
    let (status, _) = call_as(http, &ana, reqwest::Method::DELETE, claim.clone(), None).await;
    assert_eq!(status, 204);
    let (status, _) = call_as(http, &bo, reqwest::Method::POST, claim.clone(), None).await;
    assert_eq!(status, 200);
    let (status, decided) = call_as(
        http,
        &bo,
        reqwest::Method::POST,
        decide,
        Some(json!({"outcome": "rejected", "reason": "Sold"})),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["claim"], Value::Null, "a decision ends the claim");
    let (status, closed) = call_as(http, &ana, reqwest::Method::POST, claim, None).await;
    assert_eq!(
        (status, closed["error"]["code"].as_str()),
        (409, Some("not_in_review"))
    );
    // The audit log has both claims and the release.
    let audit: Value = http
        .get(format!("{}/admin/audit?action=ad.claimed", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(2),
        "{audit}"
    );
}
