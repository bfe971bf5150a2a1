//! Each ad's photo embedding on both backends: kept with the worker's
//! decision in the same write, listed for `adpipe embed --backfill` while
//! missing (or of another model), filled in, counted, read back with who
//! decided for training, and gone with its ad.
//! PostgreSQL: see `support`; when it cannot be reached the test fails,
//! it does not skip.

mod support;

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Embedding, Status};
use adpipe_store::{Blobs, Database, Moderated, Moderation, NewAd};

async fn submitted(db: &Database) -> AdId {
    let id = AdId::new();
    db.insert_ad(&NewAd {
        id,
        text: AdText::parse("Estate car, one owner").expect("valid text"),
        email: Email::parse("seller@example.com").expect("valid email"),
        image_key: Blobs::key_for(id, "jpg"),
        content_type: "image/jpeg".into(),
    })
    .await
    .expect("insert");
    id
}

fn approved() -> Decision {
    Decision {
        status: Status::Approved,
        category: Some("car".into()),
        score: 0.9,
        reason: None,
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

/// A feature vector as EfficientNet-Lite0 gives: 1,280 non-negative values.
fn features(seed: f32) -> Vec<f32> {
    (0..1280)
        .map(|i| ((i as f32 + seed) * 0.37).sin().abs() * 4.0)
        .collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= x.abs() * 1e-3 + 1e-3)
}

async fn embeddings_story(db: &Database) {
    const MODEL: &str = "efficientnet-lite0";
    // Tagged by a worker whose model has an embedding: kept with the decision.
    let tagged = submitted(db).await;
    let vector = features(1.0);
    assert!(
        db.record_judgement(
            tagged,
            &approved(),
            &[],
            &by(),
            Some(&Embedding::new(MODEL, vector.clone()))
        )
        .await
        .expect("record")
    );
    let kept = db.embedding_of(tagged).await.expect("read").expect("kept");
    assert_eq!(kept.model, MODEL);
    assert!(close(&kept.vector, &vector), "f16 keeps the features");

    // Decided without one (a model with no embedding output, or before
    // adpipe kept them): listed for the backfill, as is one of another
    // model; a pending ad is the workers' business.
    let older = submitted(db).await;
    assert!(
        db.record_decision(older, &approved(), &[], &by())
            .await
            .expect("record")
    );
    assert_eq!(db.embedding_of(older).await.expect("read"), None);
    let other_model = submitted(db).await;
    db.record_judgement(
        other_model,
        &approved(),
        &[],
        &by(),
        Some(&Embedding::new("mobilenet", vec![0.5; 8])),
    )
    .await
    .expect("record");
    let pending = submitted(db).await;
    let listed: Vec<AdId> = db
        .ads_without_embedding(MODEL, None, 100)
        .await
        .expect("list")
        .into_iter()
        .map(|ad| ad.id)
        .collect();
    assert!(listed.contains(&older) && listed.contains(&other_model));
    assert!(!listed.contains(&tagged) && !listed.contains(&pending));
    // Paged by id.
    let first = listed[0];
    let rest = db
        .ads_without_embedding(MODEL, Some(first), 100)
        .await
        .expect("list");
    assert_eq!(rest.len(), listed.len() - 1);
    assert_eq!(
        db.embedding_counts(MODEL).await.expect("count"),
        (1, listed.len() as i64)
    );

    // Filled in: no longer listed; a retag of another backbone replaces it.
    for id in [older, other_model] {
        assert!(
            db.keep_embedding(id, &Embedding::new(MODEL, features(2.0)))
                .await
                .expect("keep")
        );
    }
    assert!(
        db.ads_without_embedding(MODEL, None, 100)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(db.embedding_counts(MODEL).await.expect("count"), (3, 0));
    assert!(
        !db.keep_embedding(AdId::new(), &Embedding::new(MODEL, features(3.0)))
            .await
            .expect("keep"),
        "an unknown ad"
    );

    // A redelivered decision (the ad already decided) writes nothing, the
    // embedding included.
    assert!(
        !db.record_judgement(
            tagged,
            &approved(),
            &[],
            &by(),
            Some(&Embedding::new(MODEL, features(9.0)))
        )
        .await
        .expect("record")
    );
    let still = db.embedding_of(tagged).await.expect("read").expect("kept");
    assert!(close(&still.vector, &vector));

    // What training on the team's decisions reads: who decided, and what
    // the model said when the ad came in.
    let reviewed = submitted(db).await;
    let unsure = Decision {
        status: Status::InReview,
        suggestion: Some(Status::Approved),
        ..approved()
    };
    db.record_judgement(
        reviewed,
        &unsure,
        &[],
        &by(),
        Some(&Embedding::new(MODEL, features(4.0))),
    )
    .await
    .expect("record");
    let moderation = Moderation {
        outcome: Status::Rejected,
        category: None,
        reason: Some("Not a car"),
        moderator: "ana",
        overrides: false,
        note: None,
    };
    assert!(matches!(
        db.record_moderation(reviewed, &moderation)
            .await
            .expect("moderate"),
        Moderated::Decided { .. }
    ));
    let decided = db.decided_embeddings(MODEL).await.expect("read");
    let of = |id: AdId| decided.iter().find(|ad| ad.id == id);
    let person = of(reviewed).expect("a person's decision");
    assert!(person.by_person);
    assert_eq!(person.status, Status::Rejected);
    assert_eq!(
        person.model_outcome,
        Some((Status::InReview, Some("car".into())))
    );
    assert!(close(&person.vector, &features(4.0)));
    let model = of(tagged).expect("the model's decision");
    assert!(!model.by_person);
    assert_eq!(model.status, Status::Approved);
    assert_eq!(model.category.as_deref(), Some("car"));
    assert!(of(pending).is_none(), "not decided");
    assert_eq!(decided.len(), 4);

    // Gone with its ad.
    assert!(db.delete_ad(tagged).await.expect("delete"));
    assert_eq!(db.embedding_of(tagged).await.expect("read"), None);
}

#[tokio::test]
async fn embeddings_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adpipe-embeddings-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    let db = Database::connect(&url, 4).await.expect("sqlite");
    embeddings_story(&db).await;
    db.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn embeddings_on_postgres() {
    let (admin, name, url) = support::fresh_postgres("adpipe_embeddings").await;
    let db = Database::connect(&url, 4).await.expect("postgres");
    embeddings_story(&db).await;
    db.close().await;
    support::drop_postgres(admin, &name).await;
}
