//! A submitter's appeal of a rejection, on both backends: only with the
//! ad's secret, only of a rejected ad, once (two at once: one is taken);
//! the ad goes back to review marked as appealed, with no email due; the
//! history, the site (`ad.appealed`) and the audit log hear of it in the
//! same transaction; a moderator's answer makes the email due again.
//! PostgreSQL: see `support`; when it cannot be reached the test fails,
//! it does not skip.

mod support;

use std::time::Duration;

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Status};
use adpipe_store::{
    Appealed, AuditEntry, AuditFilter, Blobs, Database, Moderated, Moderation, NewAd,
};

fn new_ad(email: &str) -> NewAd {
    let id = AdId::new();
    NewAd {
        id,
        text: AdText::parse("Kitten, very fast").expect("valid text"),
        email: Email::parse(email).expect("valid email"),
        image_key: Blobs::key_for(id, "jpg"),
        content_type: "image/jpeg".into(),
    }
}

fn rejected() -> Decision {
    Decision {
        status: Status::Rejected,
        category: None,
        score: 0.1,
        reason: Some("We only publish ads for vehicles.".into()),
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    }
}

fn by() -> DecidedBy {
    DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    }
}

fn audit(id: AdId) -> AuditEntry {
    AuditEntry::new("submitter", "ad.appealed")
        .target(format!("ad:{id}"))
        .client(Some("192.0.2.7"), Some("tests"))
}

/// A pending ad, and its appeal secret.
async fn submitted(db: &Database, email: &str) -> (AdId, String) {
    let ad = new_ad(email);
    db.insert_ad(&ad).await.expect("insert");
    let stored = db.get_ad(ad.id).await.expect("get").expect("present");
    let secret = stored.appeal_secret.expect("a secret made at submission");
    (ad.id, secret)
}

/// A rejected ad whose email went out, and its appeal secret.
async fn rejected_and_emailed(db: &Database, email: &str) -> (AdId, String) {
    let (id, secret) = submitted(db, email).await;
    assert!(
        db.record_decision(id, &rejected(), &[], &by())
            .await
            .expect("reject")
    );
    let ad = db.get_ad(id).await.expect("get").expect("present");
    assert!(db.mark_notified(id, ad.decided_at).await.expect("emailed"));
    (id, secret)
}

async fn due_emails(db: &Database) -> Vec<AdId> {
    db.claim_notifications(100, Duration::from_millis(1))
        .await
        .expect("claim emails")
        .into_iter()
        .map(|ad| ad.id)
        .collect()
}

async fn appeal_story(db: &Database) {
    let db = db.clone().with_webhooks(true);
    let (pending, pending_secret) = submitted(&db, "pending@example.com").await;
    assert_eq!(pending_secret.len(), 32);
    assert!(
        pending_secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{pending_secret}"
    );
    let (id, secret) = rejected_and_emailed(&db, "kitten@example.com").await;
    assert_ne!(secret, pending_secret, "a secret per ad");
    let before = db.get_ad(id).await.expect("get").expect("present");

    // Refused: nothing changes.
    let wrong = "0".repeat(32);
    assert_eq!(
        db.record_appeal(id, &wrong, "Please", &audit(id))
            .await
            .expect("appeal"),
        Appealed::WrongSecret
    );
    assert_eq!(
        db.record_appeal(id, &secret[..31], "Please", &audit(id))
            .await
            .expect("appeal"),
        Appealed::WrongSecret,
        "a prefix of the secret is not the secret"
    );
    assert_eq!(
        db.record_appeal(id, &pending_secret, "Please", &audit(id))
            .await
            .expect("appeal"),
        Appealed::WrongSecret,
        "another ad's secret"
    );
    assert_eq!(
        db.record_appeal(pending, &pending_secret, "Please", &audit(pending))
            .await
            .expect("appeal"),
        Appealed::NotAllowed(Status::Pending)
    );
    assert_eq!(
        db.record_appeal(AdId::new(), &secret, "Please", &audit(id))
            .await
            .expect("appeal"),
        Appealed::NotFound
    );
    assert_eq!(db.get_ad(id).await.expect("get").expect("present"), before);

    // Taken: back in review, marked, nobody holding it, no email due.
    let Appealed::Accepted(ad) = db
        .record_appeal(
            id,
            &secret,
            "It is a toy car, please look again.",
            &audit(id),
        )
        .await
        .expect("appeal")
    else {
        panic!("the appeal was not taken");
    };
    assert_eq!(ad.status, Status::InReview);
    assert_eq!(ad.suggestion, Some(Status::Rejected), "what it appeals");
    assert_eq!(
        ad.reason, before.reason,
        "the rejection's reason, for moderators"
    );
    assert_eq!(
        ad.appeal_text.as_deref(),
        Some("It is a toy car, please look again.")
    );
    assert!(ad.appealed_at.is_some() && ad.review_since == ad.appealed_at);
    assert_eq!(ad.decided_at, None, "not decided until a person decides");
    assert_eq!(ad.notified_at, before.notified_at);
    assert_eq!(ad.claimed_by, None);
    assert_eq!(*ad, db.get_ad(id).await.expect("get").expect("present"));
    assert!(
        !due_emails(&db).await.contains(&id),
        "no email for an appeal"
    );
    let queue = db.in_review(None, 500).await.expect("reviews");
    assert!(queue.iter().any(|queued| queued.id == id));
    // `adpipe retag` leaves it to a person: the model never answers an
    // appeal.
    assert!(
        !db.record_redecision(&ad, &rejected(), &[], &by(), true)
            .await
            .expect("redecide"),
        "a retag answered an appeal"
    );
    assert_eq!(
        db.get_ad(id).await.expect("get").expect("present").status,
        Status::InReview
    );

    let history = db.history(id).await.expect("history");
    assert_eq!(history.len(), 2, "{history:?}");
    let entry = &history[1];
    assert_eq!(entry.by, "submitter");
    assert_eq!(entry.outcome, Status::InReview);
    assert_eq!(entry.reason.as_deref(), Some("appealed"));

    let deliveries = db
        .claim_webhooks(10, Duration::from_secs(30))
        .await
        .expect("claim webhooks");
    let events: Vec<&str> = deliveries
        .iter()
        .filter(|delivery| delivery.ad_id == id)
        .map(|delivery| delivery.event.as_str())
        .collect();
    assert_eq!(events, ["ad.decided", "ad.appealed"]);
    let body: serde_json::Value =
        serde_json::from_str(&deliveries.last().expect("one").body).expect("JSON");
    assert_eq!(body["event"], "ad.appealed");
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["status"], "in_review");
    assert_eq!(body["decided_by"], "submitter");
    assert_eq!(body["category"], serde_json::Value::Null);
    assert_eq!(
        body["reason"],
        serde_json::Value::Null,
        "the text is for moderators"
    );
    assert!(!body.to_string().contains("toy car"));
    assert!(!body.to_string().contains(&secret), "never the secret");

    let records = db
        .audit(&AuditFilter {
            action: Some("ad.appealed"),
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(records.len(), 1, "only the appeal taken: {records:?}");
    assert_eq!(records[0].actor, "submitter");
    assert_eq!(
        records[0].target.as_deref(),
        Some(format!("ad:{id}").as_str())
    );
    assert_eq!(records[0].address.as_deref(), Some("192.0.2.7"));

    // Once per ad.
    assert_eq!(
        db.record_appeal(id, &secret, "Again", &audit(id))
            .await
            .expect("appeal"),
        Appealed::AlreadyAppealed
    );

    // The answer: a moderator decides, and the submitter's email is due.
    let answer = Moderation {
        outcome: Status::Approved,
        category: Some("car"),
        reason: None,
        moderator: "ana",
        overrides: false,
        note: None,
    };
    let Moderated::Decided { ad, .. } = db.record_moderation(id, &answer).await.expect("decide")
    else {
        panic!("the moderator's answer was refused");
    };
    assert_eq!(ad.status, Status::Approved);
    assert!(
        ad.appealed_at.is_some(),
        "the email says it answers the appeal"
    );
    assert!(due_emails(&db).await.contains(&id), "the answer is emailed");
    assert_eq!(
        db.record_appeal(id, &secret, "Again", &audit(id))
            .await
            .expect("appeal"),
        Appealed::AlreadyAppealed,
        "answered: still once"
    );

    // Two appeals at once: one is taken.
    let (other, other_secret) = rejected_and_emailed(&db, "twice@example.com").await;
    let record = audit(other);
    let (first, second) = tokio::join!(
        db.record_appeal(other, &other_secret, "One", &record),
        db.record_appeal(other, &other_secret, "Two", &record),
    );
    let mut outcomes = [first.expect("first"), second.expect("second")];
    outcomes.sort_by_key(|outcome| matches!(outcome, Appealed::Accepted(_)));
    assert_eq!(outcomes[0], Appealed::AlreadyAppealed, "{outcomes:?}");
    assert!(matches!(outcomes[1], Appealed::Accepted(_)), "{outcomes:?}");
    assert_eq!(db.history(other).await.expect("history").len(), 2);
}

#[tokio::test]
async fn appeals_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adpipe-appeals-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    let db = Database::connect(&url, 4).await.expect("sqlite");
    appeal_story(&db).await;
    db.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn appeals_on_postgres() {
    let (admin, name, url) = support::fresh_postgres("adpipe_appeals").await;
    let db = Database::connect(&url, 4).await.expect("postgres");
    appeal_story(&db).await;
    db.close().await;
    support::drop_postgres(admin, &name).await;
}
