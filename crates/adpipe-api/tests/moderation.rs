//! The moderators' API on the real server (SQLite, and the decisions on
//! PostgreSQL too): the review queue, a
//! decision (two at once: one 200, one 409), the checks on a decision,
//! overrides, the history, the image of an ad in review, and what the
//! public sees of an ad in review (nothing of the model's suggestion, nor
//! of the text read in its photo).

mod support;

use adpipe_api::ApiConfig;
use adpipe_core::policy::TextReading;
use adpipe_core::{AdId, DecidedBy, Decision, Status, Tag, TextInImage};
use serde_json::{Value, json};
use support::{Setup, TestApp, drop_postgres, fresh_postgres, photo};

const TOKEN: &str = "moderators-only";

async fn start() -> TestApp {
    start_on(None).await
}

/// The app on this database [default: SQLite].
async fn start_on(database_url: Option<String>) -> TestApp {
    TestApp::serve(Setup {
        config: ApiConfig {
            admin_token: Some(TOKEN.into()),
            rate_limit_per_minute: 0,
            categories: vec!["car".into(), "aircraft".into()],
            ..ApiConfig::default()
        },
        database_url,
        ..Setup::default()
    })
    .await
}

/// Submits an ad and has the model send it to review, as a worker would.
async fn in_review(app: &TestApp, email: &str) -> AdId {
    let submitted = app
        .post_ad(
            "Helicopter, low hours",
            email,
            photo("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    let id: AdId = submitted.id().parse().expect("uuid");
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
        // A phone number written across the photo, a little rotated.
        text_in_image: vec![TextInImage {
            text: "Call +44 7700 900123".into(),
            corners: [[40.0, 30.0], [300.0, 42.0], [298.0, 80.0], [38.0, 68.0]],
            confidence: 0.875,
        }],
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

/// What `in_review` recorded as read in the photo, as `/admin` returns it.
fn read_in_the_photo() -> Value {
    json!([{
        "text": "Call +44 7700 900123",
        "box": [[40.0, 30.0], [300.0, 42.0], [298.0, 80.0], [38.0, 68.0]],
        "confidence": 0.875,
    }])
}

#[tokio::test]
async fn moderators_decide_what_the_model_is_unsure_of_on_sqlite() {
    let app = start().await;
    decision_story(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moderators_decide_what_the_model_is_unsure_of_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_moderation").await;
    let app = start_on(Some(url)).await;
    decision_story(&app).await;
    app.db.close().await;
    drop_postgres(admin, &name).await;
}

async fn decision_story(app: &TestApp) {
    let id = in_review(app, "heli@example.com").await;
    let moderators = app.as_token(TOKEN);

    // The public sees that a person is on it, and nothing of the model's view.
    let public = app.status(id).await;
    assert_eq!(public["status"], "in_review");
    assert_eq!(public["message"], "A person is checking your ad");
    for hidden in [
        "category",
        "reason",
        "tags",
        "text",
        "image_url",
        "text_reading",
        "text_in_image",
    ] {
        assert!(public.body.get(hidden).is_none(), "{hidden}: {public}");
    }

    // The queue: the ad with what a moderator needs.
    let page = moderators.reviews_page("limit=10").await;
    assert_eq!(page.status, 200, "{page}");
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
    assert_eq!(item["text_in_image"], read_in_the_photo(), "{item}");
    assert_eq!(item["tags"][0]["label"], "airliner");
    assert!(item["waiting_s"].as_i64().is_some());
    // Its image, for moderators, although it is not approved.
    let image = moderators
        .get(item["image_url"].as_str().expect("url"))
        .await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers["content-type"], "image/jpeg");
    assert_eq!(app.image(id).await.status, 403);

    // Decisions that do not hold: 400 with a code, nothing recorded.
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
        let answer = moderators.decide(id, &body).await;
        assert_eq!((answer.status, answer.code()), (400, Some(code)), "{body}");
    }
    let unauthorised = app
        .decide(id, &json!({"outcome": "rejected", "moderator": "eve"}))
        .await;
    assert_eq!(unauthorised.status, 401);
    assert_eq!(
        app.db.get_ad(id).await.expect("get").expect("ad").status,
        Status::InReview
    );

    // Two moderators at once: one 200, one 409.
    let ana = app.as_token(&app.account_token(TOKEN, "ana", "moderator").await);
    let bo = app.as_token(&app.account_token(TOKEN, "bo", "moderator").await);
    let cy = app.as_token(&app.account_token(TOKEN, "cy", "moderator").await);
    // All four fields every time, as some clients send them.
    let approval =
        json!({"outcome": "approved", "category": "aircraft", "reason": null, "moderator": "ana"});
    let rejection = json!({"outcome": "rejected", "category": null, "reason": "Not for sale"});
    let (by_ana, by_bo) = tokio::join!(ana.decide(id, &approval), bo.decide(id, &rejection));
    let mut statuses = [by_ana.status, by_bo.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{by_ana} {by_bo}");
    let (winner, loser) = if by_ana.status == 200 {
        (&by_ana, &by_bo)
    } else {
        (&by_bo, &by_ana)
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
    let overridden = cy.decide(id, &flipped).await;
    assert_eq!(overridden.status, 200, "{overridden}");
    assert_ne!(overridden["status"], final_status);
    assert_eq!(
        overridden["text_in_image"],
        read_in_the_photo(),
        "{overridden}"
    );
    let history = moderators.history(id).await;
    assert_eq!(history.status, 200);
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
    let public = app.status(id).await;
    assert!(!public.text().contains("NOTE-FOR-MODERATORS"), "{public}");
    assert!(
        history["decisions"][2]["at"]
            .as_str()
            .expect("at")
            .ends_with('Z')
    );

    // Found by address, and by id.
    let found = moderators.ads("email=HELI@example.com").await;
    assert_eq!(found["ads"][0]["id"], id.to_string());
    assert_eq!(found["ads"][0]["text_in_image"], read_in_the_photo());
    let one = moderators.admin_ad(id).await;
    assert_eq!((one.status, &one["status"]), (200, &overridden["status"]));
    assert_eq!(one["text_in_image"], read_in_the_photo(), "{one}");
    // The queue is empty; an unknown ad is a 404.
    assert_eq!(moderators.reviews().await["total"], 0);
    // Nothing read (not judged yet): an empty list, not a missing field.
    let unread = app
        .post_ad(
            "Glider",
            "glider@example.com",
            photo("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    let unread = moderators.admin_ad(unread.id()).await;
    assert_eq!(unread["text_in_image"], json!([]), "{unread}");
    let unknown = moderators
        .decide(AdId::new(), &json!({"outcome": "rejected"}))
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_document_names_the_policys_categories_and_the_ads_link() {
    let app = start().await;
    let document = app.openapi().await;
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
    let app = start().await;
    let moderators = app.as_token(TOKEN);
    let ids = [
        in_review(&app, "a@example.com").await,
        in_review(&app, "b@example.com").await,
        in_review(&app, "c@example.com").await,
    ];
    let first = moderators.reviews_page("limit=2").await;
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
    let second = moderators
        .reviews_page(&format!("limit=2&after={next}"))
        .await;
    assert_eq!(second["ads"][0]["id"], ids[2].to_string());
    assert!(second["next"].is_null());
    for query in ["limit=0", "limit=501", "limit=2147483648", "after=0"] {
        let answer = moderators.reviews_page(query).await;
        assert_eq!(answer.status, 400, "{query}: {answer}");
    }
    assert_eq!(moderators.ads("limit=2147483648").await.status, 400);
}

/// Claims: the first moderator to open an ad holds it; the second is told
/// who does, cannot decide it, and gets it once it is released.
#[tokio::test]
async fn two_moderators_never_work_on_the_same_ad() {
    let app = start().await;
    let id = in_review(&app, "claims@example.com").await;
    let ana = app.as_token(&app.account_token(TOKEN, "ana", "moderator").await);
    let bo = app.as_token(&app.account_token(TOKEN, "bo", "moderator").await);
    let held = ana.claim(id).await;
    assert_eq!(held.status, 200, "{held}");
    assert_eq!(held["claimed_by"], "ana");
    assert!(held["until"].as_str().expect("until").ends_with('Z'));
    let refused = bo.claim(id).await;
    assert_eq!((refused.status, refused.code()), (409, Some("claimed")));
    // The queue shows who is on it.
    let queue = bo.reviews().await;
    assert_eq!(queue["ads"][0]["claim"]["claimed_by"], "ana", "{queue}");
    // Bo cannot decide it while Ana holds it.
    let sold = json!({"outcome": "rejected", "reason": "Sold"});
    let refused = bo.decide(id, &sold).await;
    assert_eq!((refused.status, refused.code()), (409, Some("claimed")));
    // Released, it is Bo's to take and decide.
    assert_eq!(ana.release_claim(id).await.status, 204);
    assert_eq!(bo.claim(id).await.status, 200);
    let decided = bo.decide(id, &sold).await;
    assert_eq!(decided.status, 200, "{decided}");
    assert_eq!(decided["claim"], Value::Null, "a decision ends the claim");
    let closed = ana.claim(id).await;
    assert_eq!((closed.status, closed.code()), (409, Some("not_in_review")));
    // The audit log has both claims and the release.
    let audit = app.as_token(TOKEN).audit("action=ad.claimed").await;
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(2),
        "{audit}"
    );
}
