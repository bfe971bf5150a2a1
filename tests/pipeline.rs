//! The whole pipeline as users run it: the real `adpipe` binary, real
//! photos, real services. Submit a vehicle and a non-vehicle, watch them
//! go from pending to decided, fetch the approved image, and read both
//! emails in the SMTP catcher.
//!
//! Twice: on the embedded defaults (`adpipe serve`: SQLite, local disk,
//! built-in queue), and as separate `adpipe api` + `adpipe worker`
//! processes on PostgreSQL + RabbitMQ + S3 (scripts/dev-services.sh starts
//! the S3 server and the catcher). A missing service fails the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use serde_json::Value;
use sqlx::Connection;

const DECISION_TIMEOUT: Duration = Duration::from_secs(90);

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/photos")
        .join(relative)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// adpipe processes that are stopped (SIGTERM, then SIGKILL) when dropped;
/// their logs are printed when the test failed.
struct Processes {
    children: Vec<(String, Child, PathBuf)>,
    dir: PathBuf,
}

impl Processes {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("adpipe-e2e-{}", AdId::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            children: Vec::new(),
            dir,
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_adpipe"));
        command.args(args);
        for (name, _) in std::env::vars() {
            if name.starts_with("ADPIPE_") {
                command.env_remove(name);
            }
        }
        command.env("RUST_LOG", "info,ort=warn,sqlx=warn,lapin=warn");
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str], env: &[(&str, String)]) {
        let output = self.command(args, env).output().expect("run adpipe");
        assert!(
            output.status.success(),
            "adpipe {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn spawn(&mut self, name: &str, args: &[&str], env: &[(&str, String)]) {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = self
            .command(args, env)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start adpipe");
        self.children.push((name.to_owned(), child, log));
    }

    /// SIGTERM everything and expect a clean exit: in-flight work done.
    fn stop_gracefully(&mut self) {
        for (name, child, _) in &mut self.children {
            let pid = child.id().to_string();
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill");
            let started = Instant::now();
            loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    assert!(
                        status.success(),
                        "{name} exited with {status} after SIGTERM"
                    );
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{name} did not stop within 20 s of SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (name, child, log) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                eprintln!("----- {name} log -----\n{text}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }

    async fn wait_until_up(&self, processes: &mut Processes) {
        let started = Instant::now();
        loop {
            let probe = self
                .http
                .get(format!("{}/ads/{}", self.base, AdId::new()))
                .send()
                .await;
            if matches!(&probe, Ok(response) if response.status() == 404) {
                return;
            }
            for (name, child, _) in &mut processes.children {
                if let Some(status) = child.try_wait().expect("wait") {
                    panic!("{name} exited with {status} before the API came up");
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the API did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn submit(
        &self,
        text: &str,
        email: &str,
        photo: &Path,
    ) -> (reqwest::StatusCode, Option<String>, Value) {
        let bytes = std::fs::read(photo).expect("fixture");
        let form = reqwest::multipart::Form::new()
            .text("text", text.to_owned())
            .text("email", email.to_owned())
            .part(
                "image",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("whatever.bin")
                    .mime_str("application/octet-stream")
                    .expect("mime"),
            );
        let response = self
            .http
            .post(format!("{}/ads", self.base))
            .multipart(form)
            .send()
            .await
            .expect("POST /ads");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().expect("ascii").to_owned());
        (status, location, response.json().await.expect("JSON body"))
    }

    async fn status(&self, id: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/ads/{id}", self.base))
            .send()
            .await
            .expect("GET /ads/{id}");
        (response.status(), response.json().await.expect("JSON body"))
    }

    /// Polls until the ad is decided; returns every status seen.
    async fn until_decided(&self, id: &str) -> (Vec<String>, Value) {
        let started = Instant::now();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let (code, body) = self.status(id).await;
            assert_eq!(code, 200, "{body}");
            let status = body["status"].as_str().expect("status").to_owned();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status != "pending" {
                return (seen, body);
            }
            assert!(
                started.elapsed() < DECISION_TIMEOUT,
                "ad {id} still pending after {DECISION_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The catcher's HTTP API (mailtutan, MailHog-like).
struct Catcher {
    base: String,
    http: reqwest::Client,
}

impl Catcher {
    fn new() -> Self {
        Self {
            base: format!(
                "http://{}",
                env_or("ADPIPE_TEST_MAIL_API", "127.0.0.1:1080")
            ),
            http: reqwest::Client::new(),
        }
    }

    async fn messages_to(&self, address: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .http
            .get(format!("{}/api/messages", self.base))
            .send()
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "the SMTP catcher at {} (scripts/dev-services.sh): {error}",
                    self.base
                )
            })
            .json()
            .await
            .expect("JSON list");
        all.into_iter()
            .filter(|message| message.to_string().contains(address))
            .collect()
    }

    /// Waits for exactly one email to `address`, then makes sure no second
    /// one follows. Returns its subject and plain-text body.
    async fn only_email_to(&self, address: &str) -> (String, String) {
        let started = Instant::now();
        let message = loop {
            let messages = self.messages_to(address).await;
            if let Some(message) = messages.first() {
                break message.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no email to {address} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            self.messages_to(address).await.len(),
            1,
            "exactly one email to {address}"
        );
        let id = message["id"].to_string().trim_matches('"').to_owned();
        let plain = self
            .http
            .get(format!("{}/api/messages/{id}/plain", self.base))
            .send()
            .await
            .expect("plain body")
            .text()
            .await
            .expect("text");
        let subject = message["subject"].as_str().unwrap_or_default().to_owned();
        (subject, plain)
    }
}

/// The user's story, whatever runs underneath.
async fn vehicle_approved_and_cat_rejected(api: &Api) -> (String, String) {
    // The random tail of a UUIDv7: its head is a timestamp shared by
    // neighbouring runs.
    let run = AdId::new().to_string().replace('-', "");
    let seller = format!("seller-{}@example.com", &run[16..]);
    let cat_owner = format!("cat-{}@example.com", &run[16..]);

    let (code, location, body) = api
        .submit(
            "Family car, 120 000 km, one owner",
            &seller,
            &fixture("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["status"], "pending");
    let car = body["id"].as_str().expect("id").to_owned();
    assert!(car.parse::<AdId>().is_ok(), "a UUID: {car}");
    assert!(body["message"].as_str().expect("message").contains(&car));
    assert_eq!(location.as_deref(), Some(format!("/ads/{car}").as_str()));

    let (code, _, body) = api
        .submit(
            "Sweet cat looking for a home",
            &cat_owner,
            &fixture("other/cat_chelsea.png"),
        )
        .await;
    assert_eq!(code, 202, "{body}");
    let cat = body["id"].as_str().expect("id").to_owned();

    let (seen, decided) = api.until_decided(&car).await;
    assert_eq!(
        seen.last().map(String::as_str),
        Some("approved"),
        "{decided}"
    );
    assert!(
        seen.len() <= 2,
        "pending → approved, nothing else: {seen:?}"
    );
    assert_eq!(decided["category"], "car", "{decided}");
    assert_eq!(decided["message"], "Your ad was approved");
    assert_eq!(decided["text"], "Family car, 120 000 km, one owner");
    assert!(!decided["tags"].as_array().expect("tags").is_empty());
    let image_url = decided["image_url"].as_str().expect("image_url");
    assert_eq!(image_url, format!("{}/ads/{car}/image", api.base));
    let image = api.http.get(image_url).send().await.expect("image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert_eq!(
        image.bytes().await.expect("bytes").as_ref(),
        std::fs::read(fixture("vehicle/car_rear_motionblur.jpg")).expect("fixture")
    );

    let (seen, decided) = api.until_decided(&cat).await;
    assert_eq!(
        seen.last().map(String::as_str),
        Some("rejected"),
        "{decided}"
    );
    assert_eq!(decided["message"], "Your ad was not approved");
    assert!(
        decided["reason"]
            .as_str()
            .expect("reason")
            .contains("vehicles"),
        "{decided}"
    );
    assert!(decided.get("text").is_none(), "a rejected ad shows no text");
    let image = api
        .http
        .get(format!("{}/ads/{cat}/image", api.base))
        .send()
        .await
        .expect("image");
    assert_eq!(image.status(), 404);

    let (code, body) = api.status("not-an-id").await;
    assert_eq!(
        (code.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_id"))
    );
    let (code, body) = api.status(&AdId::new().to_string()).await;
    assert_eq!(
        (code.as_u16(), body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    let catcher = Catcher::new();
    let (subject, plain) = catcher.only_email_to(&seller).await;
    assert_eq!(subject, "Your ad was approved (car)");
    assert!(
        plain.contains(&format!("{}/ads/{car}", api.base)),
        "{plain}"
    );
    let (subject, plain) = catcher.only_email_to(&cat_owner).await;
    assert_eq!(subject, "Your ad was not approved");
    assert!(plain.contains("vehicles"), "{plain}");
    (car, cat)
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_defaults_serve_the_whole_story() {
    let mut processes = Processes::new();
    let port = free_port();
    let data = processes.dir.join("data");
    let env = [
        ("ADPIPE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("ADPIPE_DATA_DIR", data.display().to_string()),
    ];
    processes.spawn("serve", &["serve"], &env);
    let api = Api::new(port);
    api.wait_until_up(&mut processes).await;

    let (car, _) = vehicle_approved_and_cat_rejected(&api).await;
    assert!(data.join("adpipe.db").exists(), "SQLite in the data dir");
    assert!(
        data.join(format!("blobs/images/{car}.jpg")).exists(),
        "the image on local disk, named by the ad id"
    );
    processes.stop_gracefully();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_rabbitmq_and_s3_with_separate_api_and_worker() {
    let admin_url = env_or(
        "ADPIPE_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let name = format!("adpipe_e2e_{}", AdId::new().to_string().replace('-', ""));
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin_url} is needed: {error}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (server, _) = admin_url.rsplit_once('/').expect("a database in the URL");
    let database_url = format!("{server}/{name}");

    let mut processes = Processes::new();
    let port = free_port();
    let queue = format!("adpipe.e2e.{}", AdId::new());
    let env = [
        ("ADPIPE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        (
            "ADPIPE_DATA_DIR",
            processes.dir.join("unused").display().to_string(),
        ),
        ("ADPIPE_DATABASE_URL", database_url.clone()),
        (
            "ADPIPE_AMQP_URL",
            env_or(
                "ADPIPE_TEST_AMQP_URL",
                "amqp://guest:guest@127.0.0.1:5672/%2f",
            ),
        ),
        ("ADPIPE_AMQP_QUEUE", queue),
        (
            "ADPIPE_S3_ENDPOINT",
            env_or("ADPIPE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ),
        (
            "ADPIPE_S3_BUCKET",
            env_or("ADPIPE_TEST_S3_BUCKET", "adpipe"),
        ),
        (
            "ADPIPE_S3_ACCESS_KEY",
            env_or("ADPIPE_TEST_S3_ACCESS_KEY", "adpipe"),
        ),
        (
            "ADPIPE_S3_SECRET_KEY",
            env_or("ADPIPE_TEST_S3_SECRET_KEY", "adpipe-secret"),
        ),
    ];
    processes.run(&["migrate"], &env);
    processes.spawn("api", &["api"], &env);
    processes.spawn("worker", &["worker"], &env);
    let api = Api::new(port);
    api.wait_until_up(&mut processes).await;

    let (car, _) = vehicle_approved_and_cat_rejected(&api).await;
    let blobs = adpipe_store::Blobs::s3(&adpipe_store::S3Config {
        endpoint: Some(env[5].1.clone()),
        bucket: env[6].1.clone(),
        access_key: Some(env[7].1.clone()),
        secret_key: Some(env[8].1.clone()),
        ..adpipe_store::S3Config::default()
    })
    .expect("S3 client");
    let stored = blobs
        .get(&format!("images/{car}.jpg"))
        .await
        .expect("the image is in the S3 bucket");
    assert!(!stored.is_empty());
    assert!(
        !processes.dir.join("unused").exists(),
        "nothing written to local disk"
    );
    processes.stop_gracefully();
    drop(processes);
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}
