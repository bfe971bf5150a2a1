//! People in the loop, on both backends: an ad sent to review is neither
//! claimed by a worker nor emailed; of two moderators deciding it at once
//! exactly one wins; overrides re-email; every path appends to an
//! append-only history; webhooks are queued with the decision and retried
//! under one delivery id. What the photo's text said stays with the
//! decision for moderators.
//! PostgreSQL: see `support`; when it cannot be reached the test fails,
//! it does not skip.

mod support;

use std::time::Duration;

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Status, Tag, TextInImage};
use adpipe_store::{Blobs, Database, Moderated, Moderation, NewAd};
use sqlx::Connection;

fn new_ad(email: &str) -> NewAd {
    let id = AdId::new();
    NewAd {
        id,
        text: AdText::parse("Helicopter, low hours").expect("valid text"),
        email: Email::parse(email).expect("valid email"),
        image_key: Blobs::key_for(id, "jpg"),
        content_type: "image/jpeg".into(),
    }
}

fn in_review() -> Decision {
    Decision {
        status: Status::InReview,
        category: Some("aircraft".into()),
        score: 0.2,
        reason: Some("The model is not sure".into()),
        suggestion: Some(Status::Approved),
        text: None,
        text_in_image: Vec::new(),
    }
}

fn approved() -> Decision {
    Decision {
        status: Status::Approved,
        category: Some("aircraft".into()),
        score: 0.8,
        reason: None,
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    }
}

fn tags() -> Vec<Tag> {
    vec![Tag {
        label: "airliner".into(),
        confidence: 0.2,
    }]
}

fn by() -> DecidedBy {
    DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    }
}

fn approve(name: &str) -> Moderation<'_> {
    Moderation {
        outcome: Status::Approved,
        category: Some("aircraft"),
        reason: None,
        moderator: name,
        overrides: false,
        note: None,
    }
}

/// A pending ad, claimed and judged `decision` as a worker would.
async fn judged(db: &Database, email: &str, decision: &Decision) -> AdId {
    let ad = new_ad(email);
    db.insert_ad(&ad).await.expect("insert");
    assert!(
        db.record_decision(ad.id, decision, &tags(), &by())
            .await
            .expect("record")
    );
    ad.id
}

async fn due_emails(db: &Database) -> Vec<AdId> {
    db.claim_notifications(100, Duration::from_millis(1))
        .await
        .expect("claim emails")
        .into_iter()
        .map(|ad| ad.id)
        .collect()
}

async fn review_story(db: &Database, url: &str) {
    // Nothing owed from earlier stories.
    tokio::time::sleep(Duration::from_millis(5)).await;
    while !due_emails(db).await.is_empty() {}

    let id = judged(db, "heli@example.com", &in_review()).await;
    let ad = db.get_ad(id).await.expect("get").expect("present");
    assert_eq!(ad.status, Status::InReview);
    assert_eq!(ad.suggestion, Some(Status::Approved));
    assert_eq!(ad.category.as_deref(), Some("aircraft"));
    assert!((ad.score.expect("score") - 0.2).abs() < 1e-6);
    assert!(ad.review_since.is_some());
    assert_eq!(ad.decided_at, None, "not decided until a person decides");
    // Never claimed by a worker, never emailed while in review.
    assert!(
        db.claim_pending(100, Duration::from_secs(30))
            .await
            .expect("claim")
            .iter()
            .all(|claimed| claimed.id != id)
    );
    assert!(
        db.claim_ids(&[id], Duration::from_secs(30))
            .await
            .expect("claim ids")
            .is_empty()
    );
    assert!(!due_emails(db).await.contains(&id));
    let queue = db.in_review(None, 500).await.expect("reviews");
    assert!(queue.iter().any(|queued| queued.id == id));

    // Two moderators at once: exactly one wins; the other hears who won.
    let by_ana = approve("ana");
    let by_bo = Moderation {
        outcome: Status::Rejected,
        category: None,
        reason: Some("Not a vehicle"),
        moderator: "bo",
        overrides: false,
        note: None,
    };
    let (first, second) = tokio::join!(
        db.record_moderation(id, &by_ana),
        db.record_moderation(id, &by_bo)
    );
    let outcomes = [first.expect("first"), second.expect("second")];
    let winners: Vec<&Moderated> = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Moderated::Decided { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Moderated::Refused(status) if status.is_final()))
        .count();
    assert_eq!(losers, 1, "{outcomes:?}");
    let Moderated::Decided { ad, waited_ms } = winners[0] else {
        unreachable!()
    };
    assert!(waited_ms.is_some());
    assert!(ad.status.is_final());
    assert_eq!(ad.review_since, None);
    assert_eq!(ad.suggestion, None);
    // Exactly one email, at the final decision.
    assert_eq!(due_emails(db).await, [id]);
    db.mark_notified(id, ad.decided_at).await.expect("mark");
    assert!(due_emails(db).await.is_empty());

    // An ad not in review: 409's case, whoever asks.
    assert!(matches!(
        db.record_moderation(id, &approve("cy"))
            .await
            .expect("again"),
        Moderated::Refused(_)
    ));
    assert_eq!(
        db.record_moderation(AdId::new(), &approve("cy"))
            .await
            .expect("unknown"),
        Moderated::NotFound
    );

    // An override overturns the final decision and emails the new one.
    let overridden = db
        .record_moderation(
            id,
            &Moderation {
                outcome: Status::Rejected,
                category: None,
                reason: Some("Sold elsewhere"),
                moderator: "dee",
                overrides: true,
                note: Some("Seller asked us to take it down"),
            },
        )
        .await
        .expect("override");
    let Moderated::Decided { ad: after, .. } = overridden else {
        panic!("{overridden:?}")
    };
    assert_eq!(after.status, Status::Rejected);
    assert_eq!(after.reason.as_deref(), Some("Sold elsewhere"));
    assert!(after.decided_at > ad.decided_at);
    assert_eq!(due_emails(db).await, [id]);

    // The history holds every path, oldest first.
    let history = db.history(id).await.expect("history");
    let who: Vec<&str> = history.iter().map(|entry| entry.by.as_str()).collect();
    assert_eq!(who.len(), 3, "{who:?}");
    assert_eq!(who[0], "model:efficientnet-lite0@vehicles");
    assert!(
        who[1] == "moderator:ana" || who[1] == "moderator:bo",
        "{who:?}"
    );
    assert_eq!(who[2], "moderator:dee");
    assert_eq!(history[0].outcome, Status::InReview);
    assert_eq!(history[0].model.as_deref(), Some("efficientnet-lite0"));
    assert_eq!(history[2].outcome, Status::Rejected);
    assert_eq!(history[2].score, None);
    assert_eq!(
        history[2].note.as_deref(),
        Some("Seller asked us to take it down"),
        "the note is kept for moderators"
    );
    assert_eq!(history[1].note, None);

    // Append-only: neither an update nor a delete of a row gets through.
    let mut raw = sqlx::AnyConnection::connect(url).await.expect("raw");
    assert!(
        sqlx::query("UPDATE decisions SET outcome = 'approved' WHERE ad_id = $1")
            .bind(id.to_string())
            .execute(&mut raw)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM decisions WHERE ad_id = $1")
            .bind(id.to_string())
            .execute(&mut raw)
            .await
            .is_err()
    );
    // Deleting the ad takes its history with it.
    assert!(db.delete_ad(id).await.expect("delete"));
    assert!(db.history(id).await.expect("history").is_empty());
    raw.close().await.ok();

    // A retag: sent to review (no email), then out of it (one email);
    // both in the history.
    let retagged = judged(db, "retag@example.com", &approved()).await;
    let seen = db.get_ad(retagged).await.expect("get").expect("present");
    db.mark_notified(retagged, seen.decided_at)
        .await
        .expect("mark");
    assert!(
        db.record_redecision(&seen, &in_review(), &tags(), &by(), false)
            .await
            .expect("to review")
    );
    assert!(!due_emails(db).await.contains(&retagged));
    let seen = db.get_ad(retagged).await.expect("get").expect("present");
    assert_eq!(seen.status, Status::InReview);
    assert!(
        db.record_redecision(&seen, &approved(), &tags(), &by(), false)
            .await
            .expect("out of review")
    );
    assert_eq!(due_emails(db).await, [retagged]);
    assert_eq!(db.history(retagged).await.expect("history").len(), 3);

    // The admin's search by address (any case).
    let found = db
        .list_ads(None, Some("RETAG@example.com"), None, 10)
        .await
        .expect("by email");
    assert_eq!(found.iter().map(|ad| ad.id).collect::<Vec<_>>(), [retagged]);
}

/// Webhooks: queued with each event in order, retried under one delivery
/// id, done once delivered; a retag that changes nothing tells nothing.
async fn webhook_story(db: &Database) {
    let db = db.clone().with_webhooks(true);
    let id = judged(&db, "hook@example.com", &in_review()).await;
    let with_note = Moderation {
        note: Some("INTERNAL: called the seller"),
        ..approve("ana")
    };
    db.record_moderation(id, &with_note).await.expect("decide");
    let same = judged(&db, "same@example.com", &approved()).await;
    let seen = db.get_ad(same).await.expect("get").expect("present");
    assert!(
        db.record_redecision(&seen, &approved(), &tags(), &by(), false)
            .await
            .expect("same again")
    );

    let first = db
        .claim_webhooks(10, Duration::from_secs(30))
        .await
        .expect("claim");
    let events: Vec<(AdId, &str)> = first
        .iter()
        .map(|delivery| (delivery.ad_id, delivery.event.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            (id, "ad.in_review"),
            (id, "ad.decided"),
            (same, "ad.decided")
        ],
        "one event per change, in order"
    );
    let body: serde_json::Value = serde_json::from_str(&first[0].body).expect("JSON");
    assert_eq!(body["event"], "ad.in_review");
    assert_eq!(body["status"], "in_review");
    assert_eq!(body["category"], serde_json::Value::Null, "moderators only");
    assert_eq!(body["decided_by"], "model:efficientnet-lite0@vehicles");
    let body: serde_json::Value = serde_json::from_str(&first[1].body).expect("JSON");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["category"], "aircraft");
    assert_eq!(body["decided_by"], "moderator:ana");
    assert!(body["decided_at"].as_str().expect("time").ends_with('Z'));
    assert!(
        !first[1].body.contains("INTERNAL"),
        "a moderator's note never reaches the site: {}",
        first[1].body
    );
    // Held while being sent.
    assert!(
        db.claim_webhooks(10, Duration::from_secs(30))
            .await
            .expect("claim")
            .is_empty()
    );
    // The receiver failed one: it comes back, same delivery id.
    db.webhook_failed(&first[1].delivery_id, Duration::ZERO, "503")
        .await
        .expect("failed");
    for delivered in [&first[0], &first[2]] {
        db.webhook_delivered(&delivered.delivery_id)
            .await
            .expect("delivered");
    }
    let retry = db
        .claim_webhooks(10, Duration::from_secs(30))
        .await
        .expect("claim");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].delivery_id, first[1].delivery_id);
    assert_eq!(
        retry[0].body, first[1].body,
        "the same bytes, the same signature"
    );
    assert_eq!(retry[0].attempts, 2);
    db.webhook_delivered(&retry[0].delivery_id)
        .await
        .expect("delivered");
    assert_eq!(db.webhooks_undelivered().await.expect("count"), 0);
}

/// Two moderators and one ad: the first to open it holds it, the other
/// is told who does and cannot decide it; the claim ends when it runs out,
/// when it is released, or with the decision.
async fn claims_story(db: &Database) {
    use adpipe_store::ClaimOutcome;
    let id = judged(db, "claims@example.com", &in_review()).await;
    let ten_minutes = Duration::from_secs(600);
    let Ok(ClaimOutcome::Held { until }) = db.claim_review(id, "ana", ten_minutes).await else {
        panic!("ana claims a free ad");
    };
    assert!(until > adpipe_store::now_millis());
    assert_eq!(
        db.claim_review(id, "bo", ten_minutes).await.expect("claim"),
        ClaimOutcome::HeldByOther {
            by: "ana".into(),
            until
        }
    );
    let ad = db.get_ad(id).await.expect("get").expect("ad");
    assert_eq!(
        ad.claim_at(adpipe_store::now_millis()),
        Some(("ana", until))
    );
    // Bo cannot decide what Ana holds.
    let refused = db.record_moderation(id, &approve("bo")).await.expect("bo");
    assert!(
        matches!(&refused, Moderated::Claimed { by, .. } if by == "ana"),
        "{refused:?}"
    );
    // Released (only by its holder, or by an admin), then Bo's.
    assert!(!db.release_claim(id, "bo", false).await.expect("release"));
    assert!(db.release_claim(id, "ana", false).await.expect("release"));
    assert!(matches!(
        db.claim_review(id, "bo", Duration::from_millis(30)).await,
        Ok(ClaimOutcome::Held { .. })
    ));
    // Run out: Ana's again, and her decision ends her claim.
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(matches!(
        db.claim_review(id, "ana", ten_minutes).await,
        Ok(ClaimOutcome::Held { .. })
    ));
    let decided = db
        .record_moderation(id, &approve("ana"))
        .await
        .expect("ana");
    let Moderated::Decided { ad, .. } = decided else {
        panic!("ana decides what she holds: {decided:?}");
    };
    assert_eq!((ad.claimed_by, ad.claimed_until), (None, None));
    assert_eq!(
        db.claim_review(id, "bo", ten_minutes).await.expect("claim"),
        ClaimOutcome::NotInReview(Status::Approved)
    );
    assert_eq!(
        db.claim_review(AdId::new(), "bo", ten_minutes)
            .await
            .expect("claim"),
        ClaimOutcome::NotFound
    );
}

/// The text read in the photo: read back as written (by id and in the
/// queue); the next decision replaces it (one that read nothing leaves
/// NULL, no stale lines); putting the ad back in the queue clears it.
async fn evidence_story(db: &Database, url: &str) {
    let lines = vec![
        TextInImage {
            text: "+1 (202) 555-0143".into(),
            corners: [
                [82.0, 381.0],
                [442.0, 452.0],
                [428.0, 520.0],
                [69.5, 449.25],
            ],
            confidence: 0.954,
        },
        TextInImage {
            text: "<b>call</b> & \"now\"".into(),
            corners: [[10.0, 10.0], [120.0, 10.0], [120.0, 40.0], [10.0, 40.0]],
            confidence: 0.5,
        },
    ];
    let held = Decision {
        text_in_image: lines.clone(),
        ..in_review()
    };
    let id = judged(db, "photo-text@example.com", &held).await;
    let stored = db.get_ad(id).await.expect("get").expect("present");
    assert_eq!(stored.text_in_image, lines);
    let queue = db.in_review(None, 500).await.expect("queue");
    let listed = queue.iter().find(|ad| ad.id == id).expect("queued");
    assert_eq!(listed.text_in_image, lines);

    assert!(db.reset_for_review(id).await.expect("reset"));
    let reset = db.get_ad(id).await.expect("get").expect("present");
    assert!(reset.text_in_image.is_empty(), "{:?}", reset.text_in_image);
    assert!(
        db.record_decision(id, &held, &tags(), &by())
            .await
            .expect("record")
    );
    let seen = db.get_ad(id).await.expect("get").expect("present");
    assert_eq!(seen.text_in_image, lines);
    assert!(
        db.record_redecision(&seen, &approved(), &tags(), &by(), false)
            .await
            .expect("retag")
    );
    let mut raw = sqlx::AnyConnection::connect(url).await.expect("raw");
    let column: Option<String> = sqlx::query_scalar("SELECT text_in_image FROM ads WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut raw)
        .await
        .expect("the column");
    assert_eq!(column, None, "nothing read: NULL");
    let retagged = db.get_ad(id).await.expect("get").expect("present");
    assert!(retagged.text_in_image.is_empty());
}

#[tokio::test]
async fn review_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adpipe-review-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    let db = Database::connect(&url, 4).await.expect("sqlite");
    review_story(&db, &url).await;
    webhook_story(&db).await;
    evidence_story(&db, &url).await;
    claims_story(&db).await;
    db.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn review_on_postgres() {
    let (admin, name, url) = support::fresh_postgres("adpipe_review").await;
    let db = Database::connect(&url, 4).await.expect("postgres");
    review_story(&db, &url).await;
    webhook_story(&db).await;
    evidence_story(&db, &url).await;
    claims_story(&db).await;
    db.close().await;
    support::drop_postgres(admin, &name).await;
}
