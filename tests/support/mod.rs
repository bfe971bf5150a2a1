//! What the end-to-end tests share: running the real `adpipe` binary,
//! talking to its API, and reading the SMTP catcher.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use serde_json::Value;

pub mod browser;
pub mod disk;
pub mod load;
pub mod services;
pub mod webhooks;

pub const DECISION_TIMEOUT: Duration = Duration::from_secs(90);

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/photos")
        .join(relative)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The `ADPIPE_*` environment of one adpipe deployment under test, on a
/// port of its own: the embedded defaults, or the machine's PostgreSQL,
/// RabbitMQ (a queue of the test's own) and S3 server.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub port: u16,
    pub vars: Vec<(&'static str, String)>,
}

impl Deployment {
    /// `adpipe serve` as a new user runs it: SQLite, local disk and the
    /// built-in queue, all in a data directory under the processes' dir.
    pub fn embedded(processes: &Processes) -> Self {
        let port = free_port();
        Self {
            port,
            vars: vec![
                ("ADPIPE_HTTP_ADDR", format!("127.0.0.1:{port}")),
                (
                    "ADPIPE_DATA_DIR",
                    processes.dir.join("data").display().to_string(),
                ),
            ],
        }
    }

    /// Separate processes on the services (`ADPIPE_TEST_*` override where
    /// they are); nothing may be written to the data directory.
    pub fn services(processes: &Processes, database_url: &str, queue_prefix: &str) -> Self {
        Self::embedded(processes)
            .with(
                "ADPIPE_DATA_DIR",
                processes.dir.join("unused").display().to_string(),
            )
            .with("ADPIPE_DATABASE_URL", database_url)
            .with(
                "ADPIPE_AMQP_URL",
                env_or(
                    "ADPIPE_TEST_AMQP_URL",
                    "amqp://guest:guest@127.0.0.1:5672/%2f",
                ),
            )
            .with(
                "ADPIPE_AMQP_QUEUE",
                format!("{queue_prefix}.{}", AdId::new()),
            )
            .with(
                "ADPIPE_S3_ENDPOINT",
                env_or("ADPIPE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000"),
            )
            .with(
                "ADPIPE_S3_BUCKET",
                env_or("ADPIPE_TEST_S3_BUCKET", "adpipe"),
            )
            .with(
                "ADPIPE_S3_ACCESS_KEY",
                env_or("ADPIPE_TEST_S3_ACCESS_KEY", "adpipe"),
            )
            .with(
                "ADPIPE_S3_SECRET_KEY",
                env_or("ADPIPE_TEST_S3_SECRET_KEY", "adpipe-secret"),
            )
    }

    /// The same with `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.vars.retain(|(set, _)| *set != name);
        self.vars.push((name, value.into()));
        self
    }

    /// The value of `name`; panics if it is not set.
    pub fn get(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(set, _)| *set == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("{name} is not set"))
    }

    /// The S3 bucket these processes store images in.
    pub fn blobs(&self) -> adpipe_store::Blobs {
        adpipe_store::Blobs::s3(&adpipe_store::S3Config {
            endpoint: Some(self.get("ADPIPE_S3_ENDPOINT").to_owned()),
            bucket: self.get("ADPIPE_S3_BUCKET").to_owned(),
            access_key: Some(self.get("ADPIPE_S3_ACCESS_KEY").to_owned()),
            secret_key: Some(self.get("ADPIPE_S3_SECRET_KEY").to_owned()),
            ..adpipe_store::S3Config::default()
        })
        .expect("S3 client")
    }
}

/// adpipe processes that are stopped (SIGTERM, then SIGKILL) when dropped;
/// their logs are printed when the test failed.
pub struct Processes {
    pub children: Vec<(String, Child, PathBuf)>,
    pub dir: PathBuf,
}

impl Processes {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("adpipe-e2e-{}", AdId::new()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            children: Vec::new(),
            dir,
        }
    }

    pub fn command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
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

    pub fn run(&self, args: &[&str], env: &[(&str, String)]) {
        let output = self.command(args, env).output().expect("run adpipe");
        assert!(
            output.status.success(),
            "adpipe {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn spawn(&mut self, name: &str, args: &[&str], env: &[(&str, String)]) {
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

    /// Starts another program than adpipe (e.g. a script, prepared by the
    /// caller) as one of these processes; its stdout and stderr both go to
    /// its log.
    pub fn spawn_command(&mut self, name: &str, mut command: Command) {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error}"));
        self.children.push((name.to_owned(), child, log));
    }

    /// Everything the processes logged so far.
    pub fn logs(&self) -> String {
        self.children
            .iter()
            .map(|(_, _, log)| std::fs::read_to_string(log).unwrap_or_default())
            .collect()
    }

    /// SIGKILL one process, as a crash or the OOM killer would.
    pub fn kill_hard(&mut self, name: &str) {
        let index = self
            .children
            .iter()
            .position(|(child_name, _, _)| child_name == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        let (_, mut child, log) = self.children.remove(index);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        // Keep its log for the report of a failing test.
        let kept = log.with_extension(format!("killed-{}.log", AdId::new()));
        let _ = std::fs::rename(&log, kept);
    }

    /// The processes that ended without being told to (a crash, a
    /// start-up error), taken out of the set: "NAME exited with STATUS:
    /// its log's last line".
    pub fn take_exited(&mut self) -> Vec<String> {
        let mut exited = Vec::new();
        self.children.retain_mut(|(name, child, log)| {
            let Ok(Some(status)) = child.try_wait() else {
                return true;
            };
            let text = std::fs::read_to_string(&*log).unwrap_or_default();
            let last = text.lines().last().unwrap_or_default();
            exited.push(format!("{name} exited on its own with {status}: {last}"));
            false
        });
        exited
    }

    /// SIGTERM everything and expect a clean exit: in-flight work done.
    pub fn stop_gracefully(&mut self) {
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

impl Processes {
    /// Ends every process and prints the last `lines` of each log, for a
    /// test whose own failure message must stay at the end of its output
    /// (CI shows the end): the whole logs would bury it.
    pub fn end_with_log_tails(&mut self, lines: usize) {
        for (name, mut child, log) in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let tail = all[all.len().saturating_sub(lines)..].join("\n");
            eprintln!("----- {name} log, last {lines} lines -----\n{tail}");
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

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }

    /// Another client for the same server (e.g. for a task of its own).
    pub fn with_base(mut self, base: &str) -> Self {
        self.base = base.to_owned();
        self
    }

    /// Submits; `Err` when no HTTP answer came.
    pub async fn try_submit(
        &self,
        text: &str,
        email: &str,
        photo: &Path,
    ) -> Result<(u16, Value), reqwest::Error> {
        let bytes = std::fs::read(photo).expect("fixture");
        let form = reqwest::multipart::Form::new()
            .text("text", text.to_owned())
            .text("email", email.to_owned())
            .part(
                "image",
                reqwest::multipart::Part::bytes(bytes).file_name("photo"),
            );
        let response = self
            .http
            .post(format!("{}/ads", self.base))
            .multipart(form)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn wait_until_up(&self, processes: &mut Processes) {
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

    pub async fn submit(
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

    pub async fn status(&self, id: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/ads/{id}", self.base))
            .send()
            .await
            .expect("GET /ads/{id}");
        (response.status(), response.json().await.expect("JSON body"))
    }

    /// Polls until the ad is decided; returns every status seen.
    pub async fn until_decided(&self, id: &str) -> (Vec<String>, Value) {
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
pub struct Catcher {
    base: String,
    http: reqwest::Client,
}

impl Catcher {
    pub fn new() -> Self {
        Self {
            base: format!(
                "http://{}",
                env_or("ADPIPE_TEST_MAIL_API", "127.0.0.1:1080")
            ),
            http: reqwest::Client::new(),
        }
    }

    pub async fn all_messages(&self) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let answer = self
                .http
                .get(format!("{}/api/messages", self.base))
                .send()
                .await;
            if let Ok(response) = answer
                && let Ok(messages) = response.json().await
            {
                return messages;
            }
            // The catcher may be restarting (a fault test).
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the SMTP catcher at {} (scripts/dev-services.sh) does not answer",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn messages_to(&self, address: &str) -> Vec<Value> {
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

    /// The Message-ID header of a caught message (`id` from the list).
    pub async fn message_id_header(&self, id: &Value) -> Option<String> {
        let id = id.to_string().trim_matches('"').to_owned();
        let source = self
            .http
            .get(format!("{}/api/messages/{id}/source", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        source
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("message-id")
                    .then(|| value.trim().to_owned())
            })
    }

    /// Waits for exactly one email to `address`, then makes sure no second
    /// one follows. Returns its subject and plain-text body.
    pub async fn only_email_to(&self, address: &str) -> (String, String) {
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

// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use adpipe_testkit::{drop_postgres, fresh_postgres, postgres_admin_url};
