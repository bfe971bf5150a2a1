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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use adpipe_core::AdId;
use sqlx::{Connection, SqliteConnection};
use support::load::{PHOTOS, report, steady_load, tally};
use support::{Api, Deployment, Processes, fixture};

/// A tmpfs of `MIB` MiB mounted on a folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u32) -> Self {
        std::fs::create_dir_all(dir).expect("mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "adpipe-test"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "these tests mount a small tmpfs to fill a disk, which needs root (CI runs as \
             root): mount said {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the disk refuses more.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(count) => written += count as u64,
            Err(error) if error.kind() == std::io::ErrorKind::StorageFull => break,
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    // Smaller writes take the last partial blocks too.
    for size in [4096usize, 512, 1] {
        while file.write(&chunk[..size]).is_ok_and(|count| count > 0) {
            written += size as u64;
        }
    }
    let _ = file.flush();
    written
}

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
        let (_, body) = api.status(id).await;
        if body["status"] != "pending" {
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
