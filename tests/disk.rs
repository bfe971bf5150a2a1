//! The embedded defaults under the faults a single machine has: its disk
//! fills up, and the process dies (SIGKILL) under load. Afterwards every ad
//! that got a 202 is there and decided once, with one email; nothing is
//! half-written (no row without its image, no image without its row); and
//! SQLite's `integrity_check` is ok.
//!
//! The full disk is a small tmpfs mounted over the data directory, so these
//! tests need root (as CI has); without it they fail and say so. Each
//! prints a `DISK` line with its figures (see them with `--nocapture`).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use adpipe_core::AdId;
use sqlx::{Connection, SqliteConnection};
use support::disk::{Tmpfs, fill};
use support::load::{PHOTOS, report, steady_load, tally};
use support::{Api, Deployment, Processes, fixture};

/// What the data directory holds: the image key of every row, and every
/// image file, relative to `blobs/`.
async fn rows_and_images(data: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut db = read_only(data).await.expect("database");
    let keys: Vec<(String,)> = sqlx::query_as("SELECT image_key FROM ads")
        .fetch_all(&mut db)
        .await
        .expect("image keys");
    let rows = keys.into_iter().map(|(key,)| key).collect();
    let blobs = data.join("blobs");
    let mut images = BTreeSet::new();
    let mut folders = vec![blobs.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("blobs folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let key = path.strip_prefix(&blobs).expect("under blobs");
                images.insert(key.display().to_string());
            }
        }
    }
    (rows, images)
}

async fn read_only(data: &Path) -> Option<SqliteConnection> {
    let url = format!("sqlite://{}?mode=ro", data.join("adpipe.db").display());
    SqliteConnection::connect(&url).await.ok()
}

async fn integrity(data: &Path) -> String {
    let mut db = read_only(data).await.expect("database");
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .expect("integrity_check");
    verdict
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_submissions_clearly_and_loses_nothing_once_space_is_back() {
    let mut processes = Processes::new();
    let data = processes.dir.join("data");
    let _disk = Tmpfs::mount(&data, 24);
    let deployment = Deployment::embedded(&processes).with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0");
    // The API and the worker apart, so ads can wait while the disk is full.
    processes.spawn("api", &["api"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let domain = format!("disk-{}.test", AdId::new());
    let mut accepted: Vec<(String, String)> = Vec::new();
    let submit = async |number: usize| {
        let email = format!("u{number}@{domain}");
        let photo = fixture(PHOTOS[number % PHOTOS.len()]);
        let answer = api
            .try_submit("Ad on a full disk", &email, &photo)
            .await
            .expect("an answer");
        (email, answer)
    };

    // Before: accepted, and pending (no worker yet).
    for number in 0..4 {
        let (email, (status, body)) = submit(number).await;
        assert_eq!(status, 202, "{body}");
        accepted.push((body["id"].as_str().expect("id").to_owned(), email));
    }
    let before = rows_and_images(&data).await;

    // Full: every submission is a 503 that says so, and nothing is kept.
    let filled = fill(&data.join("filler"));
    let mut refused = 0;
    for number in 4..9 {
        let (_, (status, body)) = submit(number).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "storage_full", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("storage is full")),
            "{body}"
        );
        refused += 1;
    }
    assert_eq!(rows_and_images(&data).await, before, "nothing half-written");

    // A worker started while the disk is full must not lose or garble
    // anything; what it cannot write waits.
    processes.spawn("worker", &["worker"], &deployment.vars);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let decided_while_full = decided_count(&api, &accepted).await;

    // Space back: everything waiting is decided and emailed once, and new
    // submissions are accepted again.
    std::fs::remove_file(data.join("filler")).expect("free the disk");
    for number in 9..12 {
        let (email, (status, body)) = submit(number).await;
        assert_eq!(status, 202, "{body}");
        accepted.push((body["id"].as_str().expect("id").to_owned(), email));
    }
    let load = support::load::Load {
        accepted,
        refused: [(503, refused)].into(),
    };
    let tally = tally(&api, &load, Duration::from_secs(120)).await;
    eprintln!(
        "DISK full: {filled} bytes of filler, {refused} submissions refused with storage_full, \
         {decided_while_full} of 4 waiting ads decided while full"
    );
    report("disk_full", &load, &tally, 0);
    processes.stop_gracefully();
    let (rows, images) = rows_and_images(&data).await;
    assert_eq!(
        rows, images,
        "every row has its image and every image its row"
    );
    assert_eq!(rows.len(), load.accepted.len());
    assert_eq!(integrity(&data).await, "ok");
}

/// The ad id in an image key (`images/<id>.<ext>`).
fn id_of(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.split('.').next().unwrap_or(name)
}

async fn decided_count(api: &Api, accepted: &[(String, String)]) -> usize {
    let mut decided = 0;
    for (id, _) in accepted {
        if api.status(id).await["status"] != "pending" {
            decided += 1;
        }
    }
    decided
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_under_load_keeps_every_accepted_ad() {
    let mut processes = Processes::new();
    let data = processes.dir.join("data");
    let deployment = Deployment::embedded(&processes).with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0");
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let domain = format!("crash-{}.test", AdId::new());
    let load = {
        let (api, domain) = (Api::new(deployment.port), domain.clone());
        tokio::spawn(async move { steady_load(&api, &domain, 20, Duration::from_secs(8)).await })
    };
    let mut kills = 0;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        processes.kill_hard("serve");
        kills += 1;
        processes.spawn("serve", &["serve"], &deployment.vars);
        api.wait_until_up(&mut processes).await;
    }
    let load = load.await.expect("load");
    let tally = tally(&api, &load, Duration::from_secs(120)).await;
    eprintln!("DISK serve_sigkill: {kills} SIGKILLs of adpipe serve under 20 submissions/s");
    report("serve_sigkill", &load, &tally, kills);
    processes.stop_gracefully();
    let (rows, images) = rows_and_images(&data).await;
    assert!(rows.is_subset(&images), "every row has its image");
    // A kill between storing an image and inserting its row leaves an
    // image no row names (one at most per kill: one submission at a time).
    let orphans = images.len() - rows.len();
    assert!(
        orphans <= kills,
        "{orphans} images without a row after {kills} kills"
    );
    processes.run(&["prune-images", "--min-age", "0"], &deployment.vars);
    let (rows, images) = rows_and_images(&data).await;
    assert_eq!(rows, images, "every image has its row after pruning");
    let stored: BTreeSet<&str> = rows.iter().map(|key| id_of(key)).collect();
    for (id, _) in &load.accepted {
        assert!(
            stored.contains(id.as_str()),
            "the accepted ad {id} has no row"
        );
    }
    // Rows whose submitter got no 202 (killed after the insert, before the
    // answer) are decided and emailed like any other.
    eprintln!(
        "DISK serve_sigkill: {orphans} images without a row removed by prune-images; {} rows \
         of ads whose 202 never arrived",
        stored.len() - load.accepted.len()
    );
    assert_eq!(integrity(&data).await, "ok");
}

/// SQLite's busy timeout (`Database::connect`): a writer waits this long
/// for another before "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The store alone, on a full disk: decisions whose COMMIT fails must leave
/// no pooled connection holding the database. SQLite rolls the whole
/// transaction back by itself on SQLITE_FULL; a connection whose driver
/// still counted it as open used to keep a write transaction open from its
/// next use on, so every other connection got "database is locked" and its
/// own writes were never committed, until the process died.
#[tokio::test(flavor = "multi_thread")]
async fn decisions_that_fail_on_a_full_disk_leave_the_database_usable() {
    use adpipe_core::{AdText, DecidedBy, Decision, Email, Status, Tag};
    use adpipe_store::{Database, NewAd};

    let processes = Processes::new();
    let data = processes.dir.join("data");
    let disk = Tmpfs::mount(&data, 4);
    let url = format!("sqlite:{}", data.join("adpipe.db").display());
    let db = Database::connect(&url, 8).await.expect("database");
    let mut ids = Vec::new();
    for _ in 0..60 {
        let id = AdId::new();
        db.insert_ad(&NewAd {
            id,
            text: AdText::parse(&"A car for sale. ".repeat(90)).expect("text"),
            email: Email::parse("seller@disk.test").expect("email"),
            image_key: format!("images/{id}.jpg"),
            content_type: "image/jpeg".into(),
        })
        .await
        .expect("insert");
        ids.push(id);
    }
    // Held as a worker holds its batch while it tags.
    db.claim_pending(100, Duration::from_secs(600))
        .await
        .expect("claim");
    let by = DecidedBy {
        model: "test".into(),
        policy: "test".into(),
    };
    let decision = Decision {
        status: Status::Approved,
        category: Some("car".into()),
        score: 0.9,
        reason: None,
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    };
    let tags = [Tag {
        label: "sports car".into(),
        confidence: 0.9,
    }];
    let decide_all = async || {
        let answers = futures_util::future::join_all(
            ids.iter()
                .map(|id| db.record_decision(*id, &decision, &tags, &by)),
        )
        .await;
        let recorded = answers
            .iter()
            .filter(|answer| matches!(answer, Ok(true)))
            .count();
        let locked = answers
            .iter()
            .filter(|answer| matches!(answer, Err(error) if error.to_string().contains("locked")))
            .count();
        (recorded, locked)
    };

    fill(&data.join("filler"));
    let (recorded_while_full, _) = decide_all().await;
    std::fs::remove_file(data.join("filler")).expect("free the disk");
    disk.resize(64);
    let started = std::time::Instant::now();
    let (recorded, locked) = decide_all().await;
    let took = started.elapsed();
    // What another connection (another process) sees: committed rows only.
    let mut reader = read_only(&data).await.expect("database");
    let (approved,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ads WHERE status = 'approved'")
        .fetch_one(&mut reader)
        .await
        .expect("count");
    eprintln!(
        "DISK failed commits: {recorded_while_full} of 60 recorded while full; once space was \
         back {recorded} recorded in {took:?} with {locked} 'database is locked', {approved} \
         approved as another connection sees it"
    );
    assert_eq!(
        locked, 0,
        "no connection may hold the database after a failed COMMIT"
    );
    assert!(took < BUSY_TIMEOUT, "no writer waited for a lock: {took:?}");
    assert_eq!(recorded_while_full + recorded, ids.len());
    assert_eq!(
        approved,
        ids.len() as i64,
        "every recorded decision is committed"
    );
    db.close().await;
    assert_eq!(integrity(&data).await, "ok");
}

/// Submissions to `adpipe serve` one after another, the car photo each
/// time, until `count` were tried: a busy worker decides while the disk
/// fills. Returns what was accepted and refused.
async fn submit_until_full(api: &Api, domain: &str, count: usize) -> support::load::Load {
    let photo = fixture("vehicle/car_rear_motionblur.jpg");
    let mut load = support::load::Load::default();
    for number in 0..count {
        let email = format!("u{number}@{domain}");
        match api
            .try_submit("Car for sale, full disk", &email, &photo)
            .await
        {
            Ok((202, body)) => load
                .accepted
                .push((body["id"].as_str().expect("id").to_owned(), email)),
            Ok((status, body)) => {
                assert_eq!(status, 503, "{body}");
                assert_eq!(body["error"]["code"], "storage_full", "{body}");
                *load.refused.entry(status).or_default() += 1;
            }
            Err(error) => panic!("no answer from adpipe serve: {error}"),
        }
    }
    assert!(
        load.refused.get(&503).is_some_and(|refused| *refused > 0),
        "the disk never filled: {} accepted",
        load.accepted.len()
    );
    load
}

/// Log lines of every process (killed ones too) that say the database was
/// locked.
fn locked_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("processes dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|extension| extension == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            lines.extend(
                text.lines()
                    .filter(|line| line.contains("database is locked"))
                    .map(str::to_owned),
            );
        }
    }
    lines
}

/// The window in which a crash sends an email twice, as the process
/// measured it (`adpipe_email_unrecorded_seconds`): count, mean, and how
/// many took over 10 ms.
async fn email_window(port: u16) -> String {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let count = value("adpipe_email_unrecorded_seconds_count ");
    let sum = value("adpipe_email_unrecorded_seconds_sum ");
    let within_10ms = value("adpipe_email_unrecorded_seconds_bucket{le=\"0.01\"} ");
    format!(
        "email sent to sent-mark: {count} emails, mean {:.1} ms, {} over 10 ms",
        sum / count * 1000.0,
        count - within_10ms
    )
}

/// The worker's lease in these tests: an ad whose decision could not be
/// written while the disk was full is taken again once it runs out.
const LEASE_SECS: u64 = 10;

/// How long, at most, the backlog may take once space is back: the lease,
/// and time to decide and email fifty ads.
const DRAIN_BOUND: Duration = Duration::from_secs(LEASE_SECS + 20);

/// `adpipe serve` on the embedded defaults with its data on a 4 MiB disk,
/// every submission let in, after 120 car ads one after another: the disk
/// is full, and the worker was busy deciding while it filled.
struct FullSite {
    processes: Processes,
    data: std::path::PathBuf,
    disk: Tmpfs,
    deployment: Deployment,
    api: Api,
    load: support::load::Load,
}

impl FullSite {
    async fn fill(name: &str) -> Self {
        let mut processes = Processes::new();
        let data = processes.dir.join("data");
        let disk = Tmpfs::mount(&data, 4);
        let deployment = Deployment::embedded(&processes)
            .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0")
            .with("ADPIPE_WORKER_LEASE_SECS", LEASE_SECS.to_string());
        processes.spawn("serve", &["serve"], &deployment.vars);
        let api = Api::new(deployment.port);
        api.wait_until_up(&mut processes).await;
        let domain = format!("{name}-{}.test", AdId::new());
        let load = submit_until_full(&api, &domain, 120).await;
        Self {
            processes,
            data,
            disk,
            deployment,
            api,
            load,
        }
    }

    /// Counts and checks (see [`report`]; `cuts`: the emails a kill may
    /// have caught between "250 OK" and their record), then: no writer
    /// waited out the busy timeout, and the database is intact.
    async fn check(mut self, name: &str, tally: &support::load::Tally, cuts: usize, figures: &str) {
        let locked = locked_lines(&self.processes.dir);
        eprintln!(
            "DISK {name}: {} accepted, {:?} refused; {} 'database is locked' lines; {figures}",
            self.load.accepted.len(),
            self.load.refused,
            locked.len()
        );
        report(name, &self.load, tally, cuts);
        assert!(
            locked.is_empty(),
            "the database stayed locked: {:?}",
            &locked[..locked.len().min(3)]
        );
        self.processes.stop_gracefully();
        assert_eq!(integrity(&self.data).await, "ok");
    }
}

/// The embedded defaults as a small site runs them: `adpipe serve` (API and
/// worker in one process) with its data on a 4 MiB disk, ads submitted
/// until the disk is full, then the disk grown. Every accepted ad is
/// decided soon after, without a restart, with one email each, and no
/// writer ever waits out the busy timeout.
#[tokio::test(flavor = "multi_thread")]
async fn serve_on_a_disk_that_fills_decides_everything_once_space_is_back() {
    let site = FullSite::fill("full").await;
    site.disk.resize(64);
    let space_back = std::time::Instant::now();
    let tally = tally(&site.api, &site.load, DRAIN_BOUND).await;
    let drained = space_back.elapsed();
    let window = email_window(site.deployment.port).await;
    let figures = format!("decided and emailed {drained:?} after space was back; {window}");
    site.check("serve_disk_full", &tally, 0, &figures).await;
}

/// The same, with `adpipe serve` killed (SIGKILL) right after space is
/// back, while it works through the backlog: after a restart every
/// accepted ad is decided, and no submitter gets a second email other
/// than a copy of one whose "sent" mark the kill cut off.
#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_right_after_space_is_back_sends_each_email_once() {
    let mut site = FullSite::fill("fullkill").await;
    site.disk.resize(64);
    tokio::time::sleep(Duration::from_millis(500)).await;
    site.processes.kill_hard("serve");
    site.processes
        .spawn("serve", &["serve"], &site.deployment.vars);
    site.api.wait_until_up(&mut site.processes).await;
    // An email the killed process had claimed waits out its lease (two
    // minutes) before the new one sends it.
    let tally = tally(
        &site.api,
        &site.load,
        DRAIN_BOUND + Duration::from_secs(120),
    )
    .await;
    // The kill cuts every email in hand, sent but not yet recorded: at
    // most the mail loop's batch of 16.
    site.check(
        "serve_disk_full_sigkill",
        &tally,
        16,
        "killed 0.5 s after space was back",
    )
    .await;
}
