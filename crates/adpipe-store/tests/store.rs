//! The database on both backends (a temporary SQLite file, and a fresh
//! database on the PostgreSQL server of the machine), and the blob store.
//! PostgreSQL: see `support`; when it cannot be reached the test fails,
//! it does not skip.

mod support;

use std::time::Duration;

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Status, Tag};
use adpipe_store::{Backend, Blobs, Database, NewAd};
use sqlx::Connection;

fn new_ad() -> NewAd {
    let id = AdId::new();
    NewAd {
        id,
        text: AdText::parse("Red bicycle, barely used").expect("valid text"),
        email: Email::parse("ana@example.com").expect("valid email"),
        image_key: Blobs::key_for(id, "jpg"),
        content_type: "image/jpeg".into(),
    }
}

fn approved() -> Decision {
    Decision {
        status: Status::Approved,
        category: Some("bicycle".into()),
        score: 0.91,
        reason: None,
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    }
}

fn tags() -> Vec<Tag> {
    vec![Tag {
        label: "mountain bike".into(),
        confidence: 0.91,
    }]
}

fn by() -> DecidedBy {
    DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    }
}

/// Records `decision` as the worker does; whether the row was pending.
async fn record(db: &Database, id: AdId, decision: &Decision) -> bool {
    db.record_decision(id, decision, &tags(), &by())
        .await
        .expect("record")
}

/// The same story on either backend.
async fn lifecycle(db: &Database) {
    let ad = new_ad();
    db.insert_ad(&ad).await.expect("insert");
    let stored = db.get_ad(ad.id).await.expect("get").expect("present");
    assert_eq!(stored.status, Status::Pending);
    assert_eq!(stored.text, ad.text.as_str());
    assert_eq!(stored.attempts, 0);
    assert!(db.get_ad(AdId::new()).await.expect("get").is_none());

    // The queue: one worker claims it, a second finds nothing while the
    // lease holds, and gets it again once the lease has run out.
    let claimed = db
        .claim_pending(10, Duration::from_millis(300))
        .await
        .expect("claim");
    assert_eq!(claimed.iter().map(|a| a.id).collect::<Vec<_>>(), [ad.id]);
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        db.claim_pending(10, Duration::from_secs(30))
            .await
            .expect("claim")
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let reclaimed = db
        .claim_pending(10, Duration::from_secs(30))
        .await
        .expect("claim");
    assert_eq!(reclaimed.len(), 1, "a dead worker's ad comes back");
    assert_eq!(reclaimed[0].attempts, 2);

    // Decided exactly once: a redelivery changes nothing.
    assert!(record(db, ad.id, &approved()).await);
    let mut second = approved();
    second.status = Status::Rejected;
    assert!(!record(db, ad.id, &second).await, "already decided");
    let decided = db.get_ad(ad.id).await.expect("get").expect("present");
    assert_eq!(decided.status, Status::Approved);
    assert_eq!(decided.category.as_deref(), Some("bicycle"));
    assert_eq!(decided.tags[0].label, "mountain bike");
    assert!(decided.decided_at.is_some());
    assert!(decided.notified_at.is_none());
    assert!(
        db.claim_pending(10, Duration::from_secs(30))
            .await
            .expect("claim")
            .is_empty()
    );

    // Email: due once, held while being sent, retried after a failure,
    // done once marked.
    let due = db
        .claim_notifications(10, Duration::from_millis(200))
        .await
        .expect("notify");
    assert_eq!(due.len(), 1);
    assert!(
        db.claim_notifications(10, Duration::from_secs(30))
            .await
            .expect("notify")
            .is_empty()
    );
    db.notification_failed(ad.id, Duration::ZERO)
        .await
        .expect("failed");
    let claimed = db
        .claim_notifications(10, Duration::from_secs(30))
        .await
        .expect("notify");
    assert_eq!(claimed.len(), 1);
    // The email of one decision went out while the ad was decided again
    // (retag, a moderator): marking it sent must not swallow the new one.
    let redecided = Decision {
        status: Status::Rejected,
        category: None,
        reason: Some("retagged".into()),
        suggestion: None,
        ..approved()
    };
    assert!(
        db.record_redecision(&claimed[0], &redecided, &tags(), &by(), true)
            .await
            .expect("redecide")
    );
    assert!(
        !db.mark_notified(ad.id, claimed[0].decided_at)
            .await
            .expect("mark"),
        "the email told of the old decision"
    );
    let due = db
        .claim_notifications(10, Duration::from_secs(30))
        .await
        .expect("notify");
    assert_eq!(due.len(), 1, "the new decision's email is due at once");
    assert_eq!(due[0].status, Status::Rejected);
    assert!(
        db.mark_notified(ad.id, due[0].decided_at)
            .await
            .expect("mark")
    );
    assert!(
        db.get_ad(ad.id)
            .await
            .expect("get")
            .expect("present")
            .notified_at
            .is_some()
    );
    db.notification_failed(ad.id, Duration::ZERO)
        .await
        .expect("no-op");
    assert!(
        db.claim_notifications(10, Duration::ZERO)
            .await
            .expect("notify")
            .is_empty()
    );

    // Released ads wait for their retry time.
    let other = new_ad();
    db.insert_ad(&other).await.expect("insert");
    assert_eq!(
        db.claim_pending(10, Duration::from_secs(30))
            .await
            .expect("claim")
            .len(),
        1
    );
    db.release(other.id, Duration::from_secs(60))
        .await
        .expect("release");
    assert!(
        db.claim_pending(10, Duration::from_secs(30))
            .await
            .expect("claim")
            .is_empty()
    );

    let counts = db.count_by_status().await.expect("counts");
    assert!(counts.contains(&(Status::Rejected, 1)), "retagged above");
    assert!(counts.contains(&(Status::Pending, 1)));
}

/// The RabbitMQ side of the queue: claiming delivered ids, and the sweep
/// that finds ads whose message was lost or whose retry is due.
async fn deliveries_and_sweep(db: &Database) {
    let lost = new_ad();
    let delivered = new_ad();
    db.insert_ad(&lost).await.expect("insert");
    db.insert_ad(&delivered).await.expect("insert");

    let unknown = AdId::new();
    let claimed = db
        .claim_ids(&[delivered.id, unknown], Duration::from_secs(60))
        .await
        .expect("claim ids");
    assert_eq!(
        claimed.iter().map(|a| a.id).collect::<Vec<_>>(),
        [delivered.id]
    );
    assert_eq!(claimed[0].attempts, 1);

    // Too young to count as lost; and with messages still queued
    // (`None`), a never-held ad is never taken.
    let young = db
        .claim_stale(10, Some(Duration::from_secs(3600)), Duration::from_secs(60))
        .await
        .expect("sweep");
    assert!(!young.contains(&lost.id));
    assert!(
        db.claim_stale(10, None, Duration::from_secs(60))
            .await
            .expect("sweep")
            .is_empty()
    );
    let swept = db
        .claim_stale(10, Some(Duration::ZERO), Duration::from_secs(60))
        .await
        .expect("sweep");
    assert!(swept.contains(&lost.id) && !swept.contains(&delivered.id));
    // Held now: a second sweeper does not publish it again.
    assert!(
        !db.claim_stale(10, Some(Duration::ZERO), Duration::from_secs(60))
            .await
            .expect("sweep")
            .contains(&lost.id)
    );
    // A retry handed back is swept once due, even while the queue is busy.
    db.release(delivered.id, Duration::ZERO)
        .await
        .expect("release");
    assert!(
        db.claim_stale(10, None, Duration::from_secs(60))
            .await
            .expect("sweep")
            .contains(&delivered.id)
    );
    // The admin's view: newest first, by status, page by page.
    let pending = db
        .list_ads(Some(Status::Pending), None, None, 100)
        .await
        .expect("list");
    let position = |id| pending.iter().position(|ad| ad.id == id).expect("listed");
    assert!(position(delivered.id) < position(lost.id), "newest first");
    let after = db
        .list_ads(None, None, Some(delivered.id), 1)
        .await
        .expect("page");
    assert_eq!(after.iter().map(|ad| ad.id).collect::<Vec<_>>(), [lost.id]);
    assert!(
        db.list_ads(Some(Status::Failed), None, None, 10)
            .await
            .expect("list")
            .iter()
            .all(|ad| ad.status == Status::Failed)
    );
    assert!(record(db, lost.id, &approved()).await);
    assert!(db.reset_for_review(lost.id).await.expect("reset"));
    let reset = db.get_ad(lost.id).await.expect("get").expect("ad");
    assert_eq!(
        (reset.status, reset.category, reset.decided_at),
        (Status::Pending, None, None)
    );
    assert!(!db.reset_for_review(AdId::new()).await.expect("reset"));

    for id in [lost.id, delivered.id] {
        assert!(db.delete_ad(id).await.expect("delete"));
    }
    assert!(!db.delete_ad(lost.id).await.expect("delete"));
}

#[tokio::test]
async fn sqlite_file_with_wal() {
    let dir = std::env::temp_dir().join(format!("adpipe-store-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    let db = Database::connect(&url, 4).await.expect("sqlite");
    assert_eq!(db.backend(), Backend::Sqlite);
    lifecycle(&db).await;
    deliveries_and_sweep(&db).await;
    let before = db.count_by_status().await.expect("counts");
    pruning(&db).await;
    assert_eq!(
        db.count_by_status().await.expect("counts"),
        before,
        "rows untouched"
    );
    db.close().await;
    assert!(dir.join("adpipe.db-wal").exists() || dir.join("adpipe.db").exists());
    // Migrations are idempotent: a restart finds its data.
    let again = Database::connect(&url, 1).await.expect("reopen");
    assert_eq!(
        again
            .count_by_status()
            .await
            .expect("counts")
            .iter()
            .map(|c| c.1)
            .sum::<i64>(),
        2
    );
    again.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn postgres_server() {
    let (admin, name, url) = support::fresh_postgres("adpipe_test").await;
    let db = Database::connect(&url, 4).await.expect("postgres");
    assert_eq!(db.backend(), Backend::Postgres);
    lifecycle(&db).await;
    deliveries_and_sweep(&db).await;
    pruning(&db).await;

    // Competing workers never claim the same ad.
    for _ in 0..20 {
        db.insert_ad(&new_ad()).await.expect("insert");
    }
    let claims = futures_claims(&db).await;
    let mut ids: Vec<AdId> = claims.into_iter().flatten().map(|ad| ad.id).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no ad claimed twice");
    assert_eq!(total, 20);

    db.close().await;
    support::drop_postgres(admin, &name).await;
}

/// A decision whose COMMIT fails leaves no pooled connection in a
/// transaction: the next writes go through and are committed. PostgreSQL
/// ends a transaction whose COMMIT failed; a deferred constraint trigger of
/// the test's own makes one fail for one ad.
#[tokio::test]
async fn postgres_failed_commit_leaves_no_connection_in_a_transaction() {
    let (admin, name, url) = support::fresh_postgres("adpipe_test").await;
    let db = Database::connect(&url, 2).await.expect("postgres");
    let (refused, accepted) = (new_ad(), new_ad());
    db.insert_ad(&refused).await.expect("insert");
    db.insert_ad(&accepted).await.expect("insert");
    let mut setup = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.ad_id = '{}' THEN RAISE EXCEPTION 'refused at commit'; END IF; \
         RETURN NULL; END $$; \
         CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON decisions \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();",
        refused.id
    ))
    .execute(&mut setup)
    .await
    .expect("trigger");

    for _ in 0..4 {
        let error = db
            .record_decision(refused.id, &approved(), &tags(), &by())
            .await
            .expect_err("the COMMIT fails");
        assert!(error.to_string().contains("refused at commit"), "{error}");
    }
    assert!(record(&db, accepted.id, &approved()).await);
    // A connection handed back settles in the background (its queued
    // rollback runs): it may be seen in a transaction for an instant.
    let mut in_transaction = 0i64;
    for _ in 0..20 {
        in_transaction = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut setup)
        .await
        .expect("activity");
        if in_transaction == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        in_transaction, 0,
        "a pooled connection was left in a transaction"
    );
    // Committed, as another connection sees them.
    let statuses: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM ads ORDER BY id")
        .fetch_all(&mut setup)
        .await
        .expect("statuses");
    let status_of = |id: AdId| {
        statuses
            .iter()
            .find(|(row, _)| *row == id.to_string())
            .map(|(_, status)| status.as_str())
    };
    assert_eq!(status_of(refused.id), Some("pending"));
    assert_eq!(status_of(accepted.id), Some("approved"));
    setup.close().await.expect("close");
    db.close().await;
    support::drop_postgres(admin, &name).await;
}

/// Images no row names (a submission cut between image and row) are
/// pruned once old enough; images with a row, and young ones, stay.
async fn pruning(db: &Database) {
    let dir = std::env::temp_dir().join(format!("adpipe-prune-{}", AdId::new()));
    let blobs = Blobs::local(&dir).expect("local store");
    let kept = new_ad();
    db.insert_ad(&kept).await.expect("insert");
    let orphan = Blobs::key_for(AdId::new(), "png");
    for key in [&kept.image_key, &orphan] {
        blobs
            .put(key, bytes::Bytes::from_static(b"image"))
            .await
            .expect("put");
    }
    // What a write killed halfway leaves on local disk: unlisted.
    let partial = dir.join(format!("{orphan}#1"));
    std::fs::write(&partial, b"ima").expect("partial write");
    let young = adpipe_store::prune_orphan_images(db, &blobs, Duration::from_secs(3600))
        .await
        .expect("prune");
    assert_eq!(
        (young.images, young.removed, young.partial),
        (2, 0, 0),
        "nothing an hour old"
    );
    let pruned = adpipe_store::prune_orphan_images(db, &blobs, Duration::ZERO)
        .await
        .expect("prune");
    assert_eq!((pruned.images, pruned.removed, pruned.partial), (2, 1, 1));
    assert!(!partial.exists());
    assert!(
        blobs.get(&kept.image_key).await.is_ok(),
        "an ad's image stays"
    );
    assert!(matches!(
        blobs.get(&orphan).await,
        Err(adpipe_store::BlobError::NotFound(_))
    ));
    // More keys than one query checks: 450 orphans and the ad's image.
    for _ in 0..450 {
        blobs
            .put(
                &Blobs::key_for(AdId::new(), "jpg"),
                bytes::Bytes::from_static(b"x"),
            )
            .await
            .expect("put");
    }
    let many = adpipe_store::prune_orphan_images(db, &blobs, Duration::ZERO)
        .await
        .expect("prune");
    assert_eq!((many.images, many.removed), (451, 450));
    assert!(db.delete_ad(kept.id).await.expect("delete"));
    std::fs::remove_dir_all(dir).ok();
}

async fn futures_claims(db: &Database) -> Vec<Vec<adpipe_store::AdRecord>> {
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.claim_pending(8, Duration::from_secs(60))
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    // Whatever the four did not get, a fifth takes.
    results.push(
        db.claim_pending(100, Duration::from_secs(60))
            .await
            .expect("claim"),
    );
    results
}

#[tokio::test]
async fn blobs_on_local_disk() {
    let dir = std::env::temp_dir().join(format!("adpipe-blobs-{}", AdId::new()));
    let blobs = Blobs::local(&dir).expect("local store");
    let id = AdId::new();
    let key = Blobs::key_for(id, "png");
    assert_eq!(key, format!("images/{id}.png"));
    blobs
        .put(&key, bytes::Bytes::from_static(b"\x89PNG..."))
        .await
        .expect("put");
    assert_eq!(&blobs.get(&key).await.expect("get")[..], b"\x89PNG...");
    assert!(dir.join("images").join(format!("{id}.png")).is_file());
    blobs.delete(&key).await.expect("delete");
    blobs.delete(&key).await.expect("deleting twice is fine");
    assert!(matches!(
        blobs.get(&key).await,
        Err(adpipe_store::BlobError::NotFound(_))
    ));
    std::fs::remove_dir_all(dir).ok();
}
