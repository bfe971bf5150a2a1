//! `adpipe retag` as an operator runs it after a policy change: ads decided
//! under the vehicles policy are judged again under another policy, the
//! new decisions recorded with their model and policy, and the submitters
//! of changed ads emailed only when asked (and exactly once each).
//!
//! On SQLite (the embedded defaults) and on PostgreSQL, with the SMTP
//! catcher of scripts/dev-services.sh; no worker runs while retag does, so
//! every email after the first ones is retag's own. A missing service
//! fails the test.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Status};
use adpipe_store::{Database, NewAd};
use support::{Api, Catcher, Deployment, Processes, drop_postgres, fixture, fresh_postgres};

/// A policy the vehicle-era ads were not judged by: the cat becomes
/// publishable, the car does not, the boats stay, the tower stays out.
const PETS_AND_BOATS: &str = r#"
name = "pets-and-boats"
min_score = 0.3
reject_reason = "We only publish ads for pets and boats."

[[category]]
name = "pets"
labels = ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "Pekinese"]

[[category]]
name = "boat"
labels = ["canoe", "catamaran", "container ship", "fireboat", "gondola", "lifeboat", "liner",
          "paddlewheel", "pirate", "schooner", "speedboat", "submarine", "trimaran", "wreck",
          "yawl"]
"#;

const RETAG_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `adpipe retag ARGS`, bounded in time; returns (success, stdout, stderr).
fn retag(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let run = AdId::new();
    let out = processes.dir.join(format!("retag-{run}.out"));
    let err = processes.dir.join(format!("retag-{run}.err"));
    let mut all = vec!["retag"];
    all.extend_from_slice(args);
    let mut child = processes
        .command(&all, env)
        .stdout(Stdio::from(
            std::fs::File::create(&out).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&err).expect("stderr file"),
        ))
        .spawn()
        .expect("start adpipe retag");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RETAG_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "adpipe retag {args:?} still running after {RETAG_TIMEOUT:?}:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out).expect("stdout");
    let stderr = std::fs::read_to_string(&err).expect("stderr");
    (status.success(), stdout, stderr)
}

/// `retag` that must succeed; returns its summary line (the last of stdout).
fn retag_ok(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> String {
    let (ok, stdout, stderr) = retag(processes, env, args);
    assert!(ok, "adpipe retag {args:?} failed:\n{stdout}\n{stderr}");
    let summary = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(
        summary.starts_with("retag"),
        "no summary:\n{stdout}\n{stderr}"
    );
    summary
}

struct Submitter {
    email: String,
    id: String,
}

async fn submit(api: &Api, who: &str, text: &str, photo: &str) -> Submitter {
    let run = AdId::new().to_string().replace('-', "");
    let email = format!("{who}-{}@example.com", &run[16..]);
    let id = api.submitted(text, &email, &fixture(photo)).await;
    Submitter { email, id }
}

async fn status_of(api: &Api, ad: &Submitter) -> serde_json::Value {
    let public = api.status(&ad.id).await;
    assert_eq!(public.status, 200, "{public}");
    public.body
}

/// Waits until each address has received exactly its expected number of
/// emails, then makes sure no more follow. Returns the subjects, per
/// address, oldest first as the catcher lists them.
async fn expect_emails(catcher: &Catcher, expected: &[(&Submitter, usize)]) -> Vec<Vec<String>> {
    let started = Instant::now();
    loop {
        let mut all_there = true;
        for (ad, count) in expected {
            let got = catcher.messages_to(&ad.email).await.len();
            assert!(
                got <= *count,
                "{got} emails to {}, expected {count}",
                ad.email
            );
            all_there &= got == *count;
        }
        if all_there {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the expected emails did not all arrive within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut subjects = Vec::new();
    for (ad, count) in expected {
        let messages = catcher.messages_to(&ad.email).await;
        assert_eq!(messages.len(), *count, "emails to {}", ad.email);
        subjects.push(
            messages
                .iter()
                .map(|message| message["subject"].as_str().unwrap_or_default().to_owned())
                .collect(),
        );
    }
    subjects
}

/// The story: decided under vehicles, judged again under pets-and-boats
/// (dry run, one status, all with --notify), then back under vehicles
/// without --notify while one ad waits in the queue.
async fn retag_story(processes: &mut Processes, deployment: Deployment, database_url: &str) {
    let catcher = Catcher::new();
    catcher.all_messages().await; // fails at once without the catcher
    let port = deployment.port;
    let env = deployment.vars;
    let policy = processes.dir.join("pets-and-boats.toml");
    std::fs::write(&policy, PETS_AND_BOATS).expect("policy file");
    let mut pets = env.clone();
    pets.push(("ADPIPE_POLICY", policy.display().to_string()));

    // Decided under the default policy by `adpipe serve`, emailed once each.
    processes.spawn("serve", &["serve"], &env);
    let api = Api::new(port);
    api.wait_until_up(processes).await;
    let car = submit(
        &api,
        "car",
        "Family car, one owner",
        "vehicle/car_rear_motionblur.jpg",
    )
    .await;
    let cat = submit(
        &api,
        "cat",
        "Sweet cat looking for a home",
        "other/cat_chelsea.png",
    )
    .await;
    let boat = submit(
        &api,
        "boat",
        "Fishing boats, as seen",
        "vehicle/boats_nagasaki.jpg",
    )
    .await;
    let tower = submit(&api, "tower", "Model of a tower", "other/eiffel_tower.jpg").await;
    // Seen from above the biplane scores inside the vehicles band: a person
    // is to decide it, and no retag below may take it from them.
    let plane = submit(
        &api,
        "plane",
        "Vintage biplane, airworthy",
        "vehicle/biplane_from_above.jpg",
    )
    .await;
    for (ad, expected) in [
        (&car, "approved"),
        (&cat, "rejected"),
        (&boat, "approved"),
        (&tower, "rejected"),
        (&plane, "in_review"),
    ] {
        let (_, decided) = api.until_decided(&ad.id).await;
        assert_eq!(decided["status"], expected, "{decided}");
    }
    expect_emails(
        &catcher,
        &[(&car, 1), (&cat, 1), (&boat, 1), (&tower, 1), (&plane, 0)],
    )
    .await;
    processes.stop_gracefully();
    processes.children.clear();

    // From here on only the API runs: no worker decides, no mail loop sends.
    processes.spawn("api", &["api"], &env);
    api.wait_until_up(processes).await;
    let db = Database::connect(database_url, 2).await.expect("database");
    let record = |ad: &Submitter| {
        let db = db.clone();
        let id: AdId = ad.id.parse().expect("id");
        async move { db.get_ad(id).await.expect("read").expect("the ad exists") }
    };
    let model = record(&car).await.model.expect("a model recorded");
    assert_eq!(record(&car).await.policy.as_deref(), Some("vehicles"));

    // A dry run says what would change and changes nothing.
    let summary = retag_ok(processes, &pets, &["--dry-run"]);
    assert!(summary.starts_with("retag (dry run): 4 examined, 2 would change (approved→rejected 1, rejected→approved 1), 2 unchanged, 0 failed, 0 skipped"), "{summary}");
    assert_eq!(status_of(&api, &car).await["status"], "approved");
    assert_eq!(status_of(&api, &cat).await["status"], "rejected");
    for ad in [&car, &cat, &boat, &tower] {
        assert_eq!(record(ad).await.policy.as_deref(), Some("vehicles"));
    }

    // Empty time windows examine nothing.
    let summary = retag_ok(processes, &pets, &["--until", "2000-01-01", "--notify"]);
    assert!(
        summary.starts_with("retag: 0 examined, 0 changed"),
        "{summary}"
    );
    let summary = retag_ok(processes, &pets, &["--since", "2999-01-01T00:00:00Z"]);
    assert!(summary.starts_with("retag: 0 examined"), "{summary}");

    // Only the approved ads: the car is rejected now and hears it; the boat
    // stays approved and hears nothing; the cat is not looked at.
    let summary = retag_ok(
        processes,
        &pets,
        &["--status", "approved", "--notify", "--since", "2000-01-01"],
    );
    assert!(
        summary.starts_with("retag: 2 examined, 1 changed (approved→rejected 1), 1 unchanged, 0 failed, 0 skipped; 1 emails sent, 0 left"),
        "{summary}"
    );
    let car_now = status_of(&api, &car).await;
    assert_eq!(car_now["status"], "rejected", "{car_now}");
    assert!(
        car_now["reason"]
            .as_str()
            .expect("reason")
            .contains("pets and boats"),
        "{car_now}"
    );
    assert_eq!(status_of(&api, &cat).await["status"], "rejected");
    assert_eq!(status_of(&api, &boat).await["status"], "approved");
    let car_row = record(&car).await;
    assert_eq!(car_row.policy.as_deref(), Some("pets-and-boats"));
    assert_eq!(car_row.model.as_deref(), Some(model.as_str()));
    assert_eq!(car_row.status, Status::Rejected);
    assert!(
        car_row.notified_at.is_some(),
        "the email was sent and marked"
    );
    assert_eq!(
        record(&boat).await.policy.as_deref(),
        Some("pets-and-boats")
    );
    assert_eq!(record(&cat).await.policy.as_deref(), Some("vehicles"));
    let subjects = expect_emails(&catcher, &[(&car, 2), (&cat, 1), (&boat, 1), (&tower, 1)]).await;
    assert!(
        subjects[0].contains(&"Your ad was not approved".to_owned()),
        "{subjects:?}"
    );

    // Everything: only the cat changes now, and only its submitter hears.
    let summary = retag_ok(
        processes,
        &pets,
        &[
            "--notify",
            "--status",
            "pending,approved",
            "--status",
            "rejected,failed",
        ],
    );
    assert!(
        summary.starts_with("retag: 4 examined, 1 changed (rejected→approved 1), 3 unchanged, 0 failed, 0 skipped; 1 emails sent, 0 left"),
        "{summary}"
    );
    let cat_now = status_of(&api, &cat).await;
    assert_eq!(cat_now["status"], "approved", "{cat_now}");
    assert_eq!(cat_now["category"], "pets", "{cat_now}");
    assert_eq!(
        record(&tower).await.policy.as_deref(),
        Some("pets-and-boats")
    );
    let subjects = expect_emails(&catcher, &[(&car, 2), (&cat, 2), (&boat, 1), (&tower, 1)]).await;
    assert!(
        subjects[1].contains(&"Your ad was approved (pets)".to_owned()),
        "{subjects:?}"
    );

    // Back to vehicles without --notify, with one ad waiting in the queue
    // (no worker runs): the car and the cat change back silently; the
    // pending dog is decided and its submitter told, as a worker would.
    let dog = submit(&api, "dog", "Pekingese puppy", "other/dog_pekingese.png").await;
    assert_eq!(status_of(&api, &dog).await["status"], "pending");
    let summary = retag_ok(processes, &env, &["--batch-size", "2"]);
    assert!(
        summary.starts_with("retag: 5 examined, 3 changed (approved→rejected 1, pending→rejected 1, rejected→approved 1), 2 unchanged, 0 failed, 0 skipped; 1 emails sent, 0 left"),
        "{summary}"
    );
    assert_eq!(status_of(&api, &car).await["status"], "approved");
    assert_eq!(status_of(&api, &cat).await["status"], "rejected");
    assert_eq!(status_of(&api, &dog).await["status"], "rejected");
    assert_eq!(record(&dog).await.policy.as_deref(), Some("vehicles"));
    let subjects = expect_emails(
        &catcher,
        &[(&car, 2), (&cat, 2), (&boat, 1), (&tower, 1), (&dog, 1)],
    )
    .await;
    assert_eq!(subjects[4], ["Your ad was not approved"]);

    // Every run above left the ad in review alone; asked for by its status,
    // retag judges it again, and its submitter hears the outcome once.
    let plane_row = record(&plane).await;
    assert_eq!(plane_row.status, Status::InReview);
    assert_eq!(plane_row.policy.as_deref(), Some("vehicles"));
    let summary = retag_ok(processes, &pets, &["--status", "in_review", "--notify"]);
    assert!(
        summary.starts_with("retag: 1 examined, 1 changed (in_review→rejected 1), 0 unchanged, 0 failed, 0 skipped; 1 emails sent, 0 left"),
        "{summary}"
    );
    assert_eq!(status_of(&api, &plane).await["status"], "rejected");
    expect_emails(
        &catcher,
        &[
            (&car, 2),
            (&cat, 2),
            (&boat, 1),
            (&tower, 1),
            (&dog, 1),
            (&plane, 1),
        ],
    )
    .await;

    // Each run that wrote is in the audit log, with what it did.
    let runs = db
        .audit(&adpipe_store::AuditFilter {
            actor: Some("cli:adpipe retag"),
            action: Some("ads.retagged"),
            since: None,
            before_seq: None,
            limit: 100,
        })
        .await
        .expect("audit");
    assert!(!runs.is_empty(), "no retag run in the audit log");
    let last = &runs[0].detail.as_ref().expect("detail");
    assert_eq!(last["examined"], 1, "{last}");
    assert_eq!(last["changed"], 1, "{last}");

    db.close().await;
    processes.stop_gracefully();
}

#[tokio::test(flavor = "multi_thread")]
async fn retag_on_sqlite_rejudges_records_and_emails_only_changes() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes);
    let url = format!("sqlite:{}/adpipe.db", deployment.get("ADPIPE_DATA_DIR"));
    retag_story(&mut processes, deployment, &url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retag_on_postgres_rejudges_records_and_emails_only_changes() {
    let (admin, name, url) = fresh_postgres("adpipe_retag").await;
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes).with("ADPIPE_DATABASE_URL", url.clone());
    retag_story(&mut processes, deployment, &url).await;
    drop(processes);
    drop_postgres(admin, &name).await;
}

fn decision(status: Status) -> Decision {
    Decision {
        status,
        category: None,
        score: 0.5,
        reason: Some("because".into()),
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    }
}

/// Each write names a policy of its own, to tell which one landed.
fn by(policy: &str) -> DecidedBy {
    DecidedBy {
        model: "m".into(),
        policy: policy.into(),
    }
}

/// What retag relies on to share the database with workers and with
/// another retag: a pending ad a worker holds is not taken, a re-decision
/// is written only over the row as it was read, and an email is claimed
/// by one sender only.
async fn never_twice(db: &Database) {
    let lease = Duration::from_secs(60);
    let ad = NewAd {
        id: AdId::new(),
        text: AdText::parse("text").expect("valid text"),
        email: Email::parse("a@example.com").expect("valid email"),
        image_key: "images/x.jpg".into(),
        content_type: "image/jpeg".into(),
    };
    db.insert_ad(&ad).await.expect("insert");
    let id = ad.id;

    // A worker holds it: retag leaves it alone.
    let held = db.claim_pending(10, lease).await.expect("worker claim");
    assert!(held.iter().any(|ad| ad.id == id));
    assert!(
        db.claim_pending_ids(&[id], lease)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(
        db.record_decision(id, &decision(Status::Approved), &[], &by("p1"))
            .await
            .expect("record")
    );
    let decided = db.get_ad(id).await.expect("get").expect("row");
    assert!(
        db.mark_notified(id, decided.decided_at)
            .await
            .expect("notified")
    );

    // Two retags read the same row: exactly one records.
    let seen = db.get_ad(id).await.expect("get").expect("row");
    let (p2, p3) = (by("p2"), by("p3"));
    let rejected = decision(Status::Rejected);
    let (first, second) = tokio::join!(
        db.record_redecision(&seen, &rejected, &[], &p2, true),
        db.record_redecision(&seen, &rejected, &[], &p3, true),
    );
    assert!(
        first.expect("first") ^ second.expect("second"),
        "exactly one wins"
    );
    let now = db.get_ad(id).await.expect("get").expect("row");
    assert_eq!(now.status, Status::Rejected);
    assert!(now.decided_at > seen.decided_at);
    assert_eq!(now.notified_at, None, "due again: it was emailed before");
    // A stale read writes nothing.
    assert!(
        !db.record_redecision(&seen, &decision(Status::Approved), &[], &by("p4"), false)
            .await
            .expect("stale")
    );

    // The email is claimed once, by retag or a worker's mail loop.
    let ids = [id];
    let (mine, theirs, again) = tokio::join!(
        db.claim_notifications_of(&ids, lease),
        db.claim_notifications(10, lease),
        db.claim_notifications_of(&ids, lease),
    );
    let claims = [
        mine.expect("mine"),
        theirs.expect("theirs"),
        again.expect("again"),
    ]
    .iter()
    .map(|claimed| claimed.iter().filter(|ad| ad.id == id).count())
    .sum::<usize>();
    assert_eq!(claims, 1);

    // An admin's review in between: the retag that read before writes nothing.
    let seen = db.get_ad(id).await.expect("get").expect("row");
    assert!(db.reset_for_review(id).await.expect("reset"));
    assert!(
        !db.record_redecision(&seen, &decision(Status::Approved), &[], &by("p5"), true)
            .await
            .expect("after reset")
    );
    // Back in the queue, a retag takes it as a worker would and records it once.
    let held = db.claim_pending_ids(&[id], lease).await.expect("claim");
    assert_eq!(held.len(), 1);
    assert!(
        db.claim_pending_ids(&[id], lease)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(
        db.record_redecision(&held[0], &decision(Status::Approved), &[], &by("p6"), false)
            .await
            .expect("record")
    );
    assert!(
        !db.record_redecision(&held[0], &decision(Status::Rejected), &[], &by("p7"), false)
            .await
            .expect("again")
    );
    let now = db.get_ad(id).await.expect("get").expect("row");
    assert_eq!(
        (now.status, now.policy.as_deref()),
        (Status::Approved, Some("p6"))
    );
    assert_eq!(now.notified_at, None, "a decision after review is emailed");
}

#[tokio::test(flavor = "multi_thread")]
async fn retag_writes_never_race_a_worker_or_another_retag_on_sqlite() {
    let processes = Processes::new();
    let path = processes.dir.join("adpipe.db");
    let db = Database::connect(&format!("sqlite:{}", path.display()), 4)
        .await
        .expect("database");
    never_twice(&db).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retag_writes_never_race_a_worker_or_another_retag_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_retag").await;
    let db = Database::connect(&url, 4).await.expect("database");
    never_twice(&db).await;
    db.close().await;
    drop_postgres(admin, &name).await;
}

#[test]
fn retag_refuses_unclear_arguments() {
    let processes = Processes::new();
    for args in [
        &["--status", "decided"][..],
        &["--since", "2024-05-01T12:00:00"][..],
        &["--until", "next week"][..],
        &["--batch-size", "0"][..],
    ] {
        let (ok, _, stderr) = retag(&processes, &[], args);
        assert!(!ok, "{args:?} accepted");
        assert!(!stderr.is_empty(), "{args:?}: no error message");
    }
}

/// The numbers of a summary line, by the word after each.
fn count(summary: &str, word: &str) -> usize {
    let words: Vec<&str> = summary
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
        .filter(|word| !word.is_empty())
        .collect();
    words
        .windows(2)
        .find(|pair| pair[1] == word)
        .and_then(|pair| pair[0].parse().ok())
        .unwrap_or_else(|| panic!("no count of {word:?} in {summary:?}"))
}

/// A retag and a worker started together over a queue of pending ads:
/// each ad is decided once, by one of them, and emailed once.
#[tokio::test(flavor = "multi_thread")]
async fn retag_beside_a_running_worker_decides_and_emails_each_ad_once() {
    const ADS: usize = 40;
    let catcher = Catcher::new();
    catcher.all_messages().await;
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0")
        .with("ADPIPE_WORKER_BATCH_SIZE", "2")
        .with("ADPIPE_LOG_JSON", "true");
    let (port, env) = (deployment.port, deployment.vars);
    processes.spawn("api", &["api"], &env);
    let api = Api::new(port);
    api.wait_until_up(&mut processes).await;
    let photos = [
        "vehicle/car_rear_motionblur.jpg",
        "other/cat_chelsea.png",
        "vehicle/motorcycle_garage.png",
        "other/tulips.png",
    ];
    let mut ads = Vec::new();
    for index in 0..ADS {
        ads.push(submit(&api, "queue", "An ad", photos[index % photos.len()]).await);
    }

    processes.spawn("worker", &["worker"], &env);
    let summary = retag_ok(&processes, &env, &["--batch-size", "2"]);
    for ad in &ads {
        api.until_decided(&ad.id).await;
    }
    let expected: Vec<(&Submitter, usize)> = ads.iter().map(|ad| (ad, 1)).collect();
    expect_emails(&catcher, &expected).await;
    processes.stop_gracefully();

    // Each ad decided once: by the worker (its log) or by retag (its
    // pending→… changes), never by both.
    let by_worker = processes.logs().matches("\"message\":\"decided\"").count();
    let by_retag: usize = ["approved", "rejected", "failed"]
        .iter()
        .map(|status| transition(&summary, "pending", status))
        .sum();
    eprintln!("worker decided {by_worker}, retag {by_retag}: {summary}");
    assert_eq!(by_worker + by_retag, ADS, "{summary}");
    assert_eq!(count(&summary, "examined"), ADS, "{summary}");
    assert_eq!(count(&summary, "failed"), 0, "{summary}");
    assert_eq!(
        count(&summary, "changed") + count(&summary, "unchanged") + count(&summary, "skipped"),
        ADS,
        "{summary}"
    );
}

/// How many `from→to` a summary line counts (0 when it names none).
fn transition(summary: &str, from: &str, to: &str) -> usize {
    let label = format!("{from}→{to} ");
    summary.find(&label).map_or(0, |at| {
        summary[at + label.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a count")
    })
}
