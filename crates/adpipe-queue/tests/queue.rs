//! [`Queue`] as the API and the worker use it, on both backends: an
//! enqueued ad comes out of the intake, settling acknowledges it, the depth
//! says what waits, and on RabbitMQ the sweep publishes an ad whose message
//! was lost. The database is a temporary SQLite file; RabbitMQ is the real
//! broker of the machine (`ADPIPE_TEST_AMQP_URL`).

mod support;

use std::time::Duration;

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email};
use adpipe_queue::{Batching, Intake, Queue, Sweep};
use adpipe_store::{Blobs, Database, NewAd};
use tokio_util::sync::CancellationToken;

async fn temporary_database() -> Database {
    let dir = std::env::temp_dir().join(format!("adpipe-queue-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    Database::connect(&url, 4).await.expect("sqlite")
}

async fn stored_ad(db: &Database) -> AdId {
    let id = AdId::new();
    db.insert_ad(&NewAd {
        id,
        text: AdText::parse("Red bicycle, barely used").expect("valid text"),
        email: Email::parse("ana@example.com").expect("valid email"),
        image_key: Blobs::key_for(id, "jpg"),
        content_type: "image/jpeg".into(),
    })
    .await
    .expect("insert");
    id
}

fn batching() -> Batching {
    Batching {
        batch_size: 8,
        max_wait: Duration::from_millis(50),
        poll_interval: Duration::from_millis(100),
        lease: Duration::from_secs(30),
    }
}

fn by() -> DecidedBy {
    DecidedBy {
        model: "test".into(),
        policy: "test".into(),
    }
}

/// Takes batches until `ids` all came out (or 20 s pass); settles each
/// batch after recording its ads as decided.
async fn take_all(db: &Database, intake: &mut Intake, ids: &[AdId]) -> Vec<AdId> {
    let shutdown = CancellationToken::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ids.iter().all(|id| seen.contains(id)) {
        let batch = tokio::time::timeout_at(deadline, intake.next(&shutdown))
            .await
            .unwrap_or_else(|_| panic!("only {seen:?} of {ids:?} came out of the queue"))
            .expect("a batch");
        for ad in &batch.ads {
            let decision = Decision::failed("test");
            let recorded = db.record_decision(ad.id, &decision, &[], &by()).await;
            assert!(recorded.expect("record"));
            seen.push(ad.id);
        }
        batch.settle(&[]).await;
    }
    seen
}

#[tokio::test]
async fn built_in_queue_hands_out_what_was_enqueued_once() {
    let db = temporary_database().await;
    let queue = Queue::embedded(db.clone());
    assert_eq!(queue.description(), "built-in (database)");
    assert_eq!(queue.check().await.expect("ready"), "built-in");
    let mut intake = queue.intake(batching());

    let ids = [stored_ad(&db).await, stored_ad(&db).await];
    for id in ids {
        queue.enqueue(id).await;
    }
    assert_eq!(queue.depth().await.expect("depth"), 2);
    let mut seen = take_all(&db, &mut intake, &ids).await;
    seen.sort();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(seen, expected, "each ad once");
    assert_eq!(queue.depth().await.expect("depth"), 0);

    // Nothing more: the intake waits, and a shutdown ends the wait.
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    assert!(intake.next(&shutdown).await.is_none());
    queue.close().await;
}

#[tokio::test]
async fn rabbitmq_carries_the_ids_and_the_sweep_repairs_a_lost_publish() {
    support::with_broker(|broker| async move {
        let db = temporary_database().await;
        let queue = Queue::rabbitmq(db.clone(), broker.config.clone());
        assert!(
            queue
                .description()
                .starts_with("rabbitmq amqp://guest:***@")
        );
        let mut intake = queue.intake(batching());

        let sent = stored_ad(&db).await;
        queue.enqueue(sent).await;
        assert!(queue.check().await.expect("ready").starts_with("rabbitmq"));
        assert_eq!(take_all(&db, &mut intake, &[sent]).await, [sent]);

        // Stored, but its message never left (the broker was away): the
        // sweep finds the pending row and publishes it.
        let lost = stored_ad(&db).await;
        let shutdown = CancellationToken::new();
        let sweep = tokio::spawn({
            let (queue, shutdown) = (queue.clone(), shutdown.clone());
            async move {
                let settings = Sweep {
                    interval: Duration::from_millis(100),
                    min_age: Duration::ZERO,
                    lease: Duration::from_secs(30),
                };
                queue.sweep(settings, shutdown).await;
            }
        });
        assert_eq!(take_all(&db, &mut intake, &[lost]).await, [lost]);
        shutdown.cancel();
        sweep.await.expect("the sweep stops on shutdown");
        broker.wait_for_depth(&broker.config.queue, 0).await;
        assert_eq!(queue.depth().await.expect("depth"), 0);
        intake.close().await;
        queue.close().await;
    })
    .await;
}
