//! What the end-to-end tests share: running the real `adpipe` binary,
//! talking to its API (the testkit's client), and reading the SMTP catcher.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use serde_json::Value;

pub mod disk;
pub mod load;

pub const DECISION_TIMEOUT: Duration = Duration::from_secs(90);

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/photos")
        .join(relative)
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
        for (name, child, log) in &mut self.children {
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
                // The hung process's own log says which step of its stop
                // hangs; the others' logs would push it out of CI's view.
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{name} did not stop within 20 s of SIGTERM; its log ends:\n{}",
                    log_tail(log, 60)
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
            eprintln!(
                "----- {name} log, last {lines} lines -----\n{}",
                log_tail(&log, lines)
            );
        }
    }
}

/// The last `lines` lines of a process's log.
fn log_tail(log: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (name, child, log) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
            // The tails only: CI keeps the end of a failure's output, and
            // an API log of a whole load run would fill it.
            if std::thread::panicking() {
                eprintln!(
                    "----- {name} log, last 150 lines -----\n{}",
                    log_tail(log, 150)
                );
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// adpipe's API as the process tests call it: the testkit's client, one
/// method per endpoint (reached through `Deref`: `api.status(id)`,
/// `api.as_token(token).decide(id, ..)`), with a timeout; and what only a
/// test of whole processes needs: waiting for the server to come up,
/// submitting a fixture, polling until the model decided.
pub struct Api {
    client: ApiClient,
}

impl std::ops::Deref for Api {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

impl Api {
    pub fn new(port: u16) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Self {
            client: ApiClient::with_http(format!("http://127.0.0.1:{port}"), http),
        }
    }

    /// Another client for the same server (e.g. for a task of its own).
    pub fn with_base(self, base: &str) -> Self {
        Self {
            client: ApiClient::with_http(base, self.client.http),
        }
    }

    /// Submits; `Err` when no HTTP answer came.
    pub async fn try_submit(
        &self,
        text: &str,
        email: &str,
        photo: &Path,
    ) -> Result<(u16, Value), reqwest::Error> {
        let image = std::fs::read(photo).expect("fixture");
        let answer = self.try_post_form(ad_form(text, email, image)).await?;
        Ok((answer.status, answer.body))
    }

    pub async fn wait_until_up(&self, processes: &mut Processes) {
        let started = Instant::now();
        loop {
            let probe = self
                .try_send(self.request(reqwest::Method::GET, &format!("/ads/{}", AdId::new())))
                .await;
            if matches!(&probe, Ok(answer) if answer.status == 404) {
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

    /// Submits the photo at `photo` under a name and type that say nothing
    /// of it (the server goes by its bytes): the status, the `Location`
    /// header and the JSON body.
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
        let answer = self.post_form(form).await;
        let status = reqwest::StatusCode::from_u16(answer.status).expect("an HTTP status");
        let location = answer.header("location").map(str::to_owned);
        (status, location, answer.body)
    }

    /// [`submit`](Self::submit), which must be taken (202): the new ad's id.
    pub async fn submitted(&self, text: &str, email: &str, photo: &Path) -> String {
        let (status, _, body) = self.submit(text, email, photo).await;
        assert_eq!(status, 202, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Polls until the ad is decided; returns every status seen.
    pub async fn until_decided(&self, id: &str) -> (Vec<String>, Value) {
        let started = Instant::now();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let answer = self.status(id).await;
            assert_eq!(answer.status, 200, "{answer}");
            let status = answer["status"].as_str().expect("status").to_owned();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status != "pending" {
                return (seen, answer.body);
            }
            assert!(
                started.elapsed() < DECISION_TIMEOUT,
                "ad {id} still pending after {DECISION_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use adpipe_testkit::{
    Answer, ApiClient, Catcher, ad_form, browser, drop_postgres, env_or, free_port, fresh_postgres,
    postgres_admin_url, services, webhooks,
};
