//! The docker-compose topology run natively, as a person runs it:
//! `scripts/stack.sh --bin <the adpipe cargo built> --no-services` starts
//! `adpipe migrate`, one `adpipe api` and two `adpipe worker`s on
//! PostgreSQL, RabbitMQ, the S3 server and the SMTP catcher
//! (scripts/dev-services.sh starts the last two). A vehicle is approved
//! with its category and an email with the link, a cat is rejected with an
//! email that says why, and twelve more ads are decided: every ad exactly
//! once, with exactly one email, and both workers did part of the work
//! (their logs say so). Then Ctrl-C (SIGINT to the process group, as a
//! terminal sends it) stops them all, cleanly.
//!
//! Isolated from the other tests: its own database, RabbitMQ queue, HTTP
//! port and email addresses (the bucket is shared; image keys are unique
//! ad ids). A missing service fails the test.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use serde_json::Value;
use support::{Api, Catcher, Processes, drop_postgres, env_or, fixture, free_port, fresh_postgres};

const ADMIN_TOKEN: &str = "stack-moderators";

/// The twelve ads after the car and the cat: vehicles and other photos.
const MORE: [&str; 12] = [
    "vehicle/boats_nagasaki.jpg",
    "other/coffee_cup.png",
    "vehicle/motorcycle_garage.png",
    "other/dog_pekingese.png",
    "vehicle/biplane_from_above.jpg",
    "other/tulips.png",
    "vehicle/car_rear_motionblur.jpg",
    "other/lion.jpg",
    "other/eiffel_tower.jpg",
    "vehicle/boats_nagasaki.jpg",
    "other/notebook.jpg",
    "other/squirrel.jpg",
];

/// `host:port` of a URL such as `amqp://user:pass@host:5672/%2f`.
fn endpoint(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

fn must_listen(what: &str, address: &str) {
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(address)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|socket| {
            std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(3)).is_ok()
        });
    assert!(
        reachable,
        "{what} is needed at {address} and does not answer (scripts/dev-services.sh starts it)"
    );
}

/// Kills the script's whole process group when dropped, so a failing test
/// leaves no `adpipe` behind (SIGKILL to the script alone would).
struct Group(u32);

impl Group {
    fn signal(&self, signal: &str) -> bool {
        Command::new("kill")
            .args([signal, "--", &format!("-{}", self.0)])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-KILL");
    }
}

/// The script's log: `NAME | line`, adpipe's lines being JSON.
fn events(log: &str) -> Vec<(String, Value)> {
    log.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(" | ")?;
            let event: Value = serde_json::from_str(rest.trim()).ok()?;
            Some((name.trim().to_owned(), event))
        })
        .collect()
}

fn message(event: &Value) -> &str {
    event["fields"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_native_twin_of_docker_compose_decides_every_ad_once() {
    let started = Instant::now();
    let amqp_url = env_or(
        "ADPIPE_TEST_AMQP_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    );
    let s3_endpoint = env_or("ADPIPE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000");
    let s3_secret = env_or("ADPIPE_TEST_S3_SECRET_KEY", "adpipe-secret");
    must_listen("RabbitMQ", &endpoint(&amqp_url, 5672));
    must_listen("The S3 server", &endpoint(&s3_endpoint, 80));
    must_listen("The SMTP catcher", "127.0.0.1:1025");
    let catcher = Catcher::new();
    let before = catcher.all_messages().await.len();

    let (admin, database, database_url) = fresh_postgres("adpipe_stack").await;

    let mut processes = Processes::new();
    let port = free_port();
    let env = [
        ("ADPIPE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("ADPIPE_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        (
            "ADPIPE_DATA_DIR",
            processes.dir.join("unused").display().to_string(),
        ),
        ("ADPIPE_DATABASE_URL", database_url.clone()),
        ("ADPIPE_AMQP_URL", amqp_url.clone()),
        ("ADPIPE_AMQP_QUEUE", format!("adpipe.stack.{}", AdId::new())),
        ("ADPIPE_S3_ENDPOINT", s3_endpoint.clone()),
        (
            "ADPIPE_S3_BUCKET",
            env_or("ADPIPE_TEST_S3_BUCKET", "adpipe"),
        ),
        (
            "ADPIPE_S3_ACCESS_KEY",
            env_or("ADPIPE_TEST_S3_ACCESS_KEY", "adpipe"),
        ),
        ("ADPIPE_S3_SECRET_KEY", s3_secret.clone()),
        ("ADPIPE_LOG_JSON", "true".to_owned()),
        ("ADPIPE_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("RUST_LOG", "info,ort=warn,sqlx=warn,lapin=warn".to_owned()),
    ];
    let mut script = Command::new("bash");
    script
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack.sh"))
        .args(["--bin", env!("CARGO_BIN_EXE_adpipe"), "--no-services"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        // Its own process group, as a terminal's foreground job has.
        .process_group(0);
    for (name, _) in std::env::vars() {
        if name.starts_with("ADPIPE_") {
            script.env_remove(name);
        }
    }
    script.envs(env.iter().map(|(name, value)| (*name, value)));
    processes.spawn_command("stack", script);
    let group = Group(processes.children[0].1.id());
    let log_path = processes.children[0].2.clone();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    let api = Api::new(port);
    api.wait_until_up(&mut processes).await;
    // Both workers loaded the model and are about to consume.
    loop {
        let ready: BTreeSet<String> = events(&log())
            .into_iter()
            .filter(|(_, event)| message(event) == "worker ready")
            .map(|(name, _)| name)
            .collect();
        if ready.len() == 2 {
            assert!(ready.contains("worker-1") && ready.contains("worker-2"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the workers did not get ready: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let run = &AdId::new().to_string().replace('-', "")[16..];
    let domain = format!("stack-{run}.example.com");
    let mut ads: Vec<(String, String)> = Vec::new();
    let seller = format!("seller@{domain}");
    let cat_owner = format!("cat@{domain}");
    for (text, email, photo) in [
        (
            "Family car, one owner",
            &seller,
            "vehicle/car_rear_motionblur.jpg",
        ),
        (
            "Sweet cat looking for a home",
            &cat_owner,
            "other/cat_chelsea.png",
        ),
    ] {
        let id = api.submitted(text, email, &fixture(photo)).await;
        ads.push((id, email.clone()));
    }
    let (car, cat) = (ads[0].0.clone(), ads[1].0.clone());

    let (_, decided) = api.until_decided(&car).await;
    assert_eq!(decided["status"], "approved", "{decided}");
    assert_eq!(decided["category"], "car", "{decided}");
    let image_url = decided["image_url"].as_str().expect("image_url");
    assert_eq!(image_url, format!("{}/ads/{car}/image", api.base));
    let image = api.http.get(image_url).send().await.expect("image");
    assert_eq!(image.status(), 200, "the approved image is served");
    let (_, decided) = api.until_decided(&cat).await;
    assert_eq!(decided["status"], "rejected", "{decided}");
    assert!(
        decided["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("vehicles")),
        "{decided}"
    );

    // Twelve more, one at a time: RabbitMQ hands them round-robin to
    // whichever worker has room.
    for (n, photo) in MORE.iter().enumerate() {
        let email = format!("ad{n}@{domain}");
        let (code, _, body) = api
            .submit(&format!("Ad number {n}"), &email, &fixture(photo))
            .await;
        assert_eq!(code, 202, "{body}");
        ads.push((body["id"].as_str().expect("id").to_owned(), email));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut reviewed = 0;
    for (id, _) in &ads {
        let (seen, decided) = api.until_decided(id).await;
        assert!(seen.len() <= 2, "pending → decided, nothing else: {seen:?}");
        match decided["status"].as_str() {
            Some("approved" | "rejected") => {}
            // The biplane seen from above: the model is unsure, a person
            // decides, through the API process, and a worker emails.
            Some("in_review") => {
                let response = api
                    .http
                    .post(format!("{}/admin/ads/{id}/decision", api.base))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&serde_json::json!({
                        "outcome": "approved", "category": "aircraft"
                    }))
                    .send()
                    .await
                    .expect("decide");
                assert_eq!(response.status(), 200, "{id}");
                let now = api.status(id).await;
                assert_eq!(now["status"], "approved", "{now}");
                reviewed += 1;
            }
            _ => panic!("{id}: {decided}"),
        }
    }
    assert_eq!(reviewed, 1, "the biplane, and only it, goes to a person");

    let (subject, plain) = catcher.only_email_to(&seller).await;
    assert_eq!(subject, "Your ad was approved (car)");
    assert!(
        plain.contains(&format!("{}/?id={car}", api.base)),
        "{plain}"
    );
    let (subject, plain) = catcher.only_email_to(&cat_owner).await;
    assert_eq!(subject, "Your ad was not approved");
    assert!(plain.contains("vehicles"), "{plain}");

    // Exactly one email per ad: wait for all, then make sure none follows.
    let emails_to = |all: &[Value]| -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, email) in &ads {
            let count = all
                .iter()
                .filter(|message| {
                    message["recipients"]
                        .as_array()
                        .is_some_and(|to| to.iter().any(|address| address == email.as_str()))
                })
                .count();
            counts.insert(email.clone(), count);
        }
        counts
    };
    let waiting = Instant::now();
    loop {
        let counts = emails_to(&catcher.all_messages().await);
        if counts.values().all(|count| *count >= 1) {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "emails missing after 60 s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = catcher.all_messages().await;
    let counts = emails_to(&all);
    assert!(
        counts.values().all(|count| *count == 1),
        "exactly one email per ad: {counts:?}"
    );
    assert!(all.len() >= before + ads.len());

    // Ctrl-C: the terminal sends SIGINT to the whole foreground group.
    assert!(group.signal("-INT"), "SIGINT to the stack");
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = processes.children[0].1.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(60),
            "the stack did not stop within 60 s of Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = log();
    assert!(status.success(), "the stack exited with {status}");
    for name in ["api", "worker-1", "worker-2"] {
        assert!(
            text.contains(&format!("stack: {name} stopped")),
            "{name} did not stop cleanly"
        );
    }
    assert!(text.contains("all stopped (status 0)"));
    let gone = Instant::now();
    while group.signal("-0") {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "processes of the stack are still running after it exited"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Every ad decided exactly once, and both workers did part of the work.
    let events = events(&text);
    let mut decisions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for (name, event) in &events {
        let id = event["fields"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match message(event) {
            "decided" => decisions.entry(id).or_default().push(name.clone()),
            "email sent" => *sent.entry(id).or_default() += 1,
            _ => {}
        }
    }
    let ids: BTreeSet<String> = ads.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        decisions.keys().cloned().collect::<BTreeSet<_>>(),
        ids,
        "decided: exactly the ads submitted"
    );
    for (id, by) in &decisions {
        assert_eq!(by.len(), 1, "{id} decided {} times: {by:?}", by.len());
    }
    for id in &ids {
        assert_eq!(sent.get(id), Some(&1), "one email sent for {id}");
    }
    let mut per_worker: BTreeMap<&str, usize> = BTreeMap::new();
    for by in decisions.values() {
        *per_worker.entry(by[0].as_str()).or_default() += 1;
    }
    eprintln!(
        "STACK ads={} decided_by={per_worker:?} emails={} in {:.1} s",
        ads.len(),
        counts.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        per_worker.get("worker-1").is_some_and(|n| *n > 0)
            && per_worker.get("worker-2").is_some_and(|n| *n > 0),
        "both workers decided ads: {per_worker:?}"
    );
    assert!(
        !processes.dir.join("unused").exists(),
        "nothing written to local disk"
    );
    for secret in [s3_secret.as_str(), "guest:guest"] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }

    drop(group);
    drop(processes);
    drop_postgres(admin, &database).await;
}
