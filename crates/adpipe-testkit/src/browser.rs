//! What the browser tests share: Debian's chromium driven headless through
//! chromedriver (`scripts/install-chromium.sh`; their paths from
//! `ADPIPE_TEST_CHROMIUM` and `ADPIPE_TEST_CHROMEDRIVER`, /usr/bin/chromium
//! and /usr/bin/chromedriver by default), and helpers to read the page. A
//! missing browser fails the test, with how to install it: these tests never
//! skip.
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::{env_or, free_port};

/// Any single step (a page load, an answer on the page).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

pub const INSTALL: &str =
    "run scripts/install-chromium.sh (as root: apt-get install -y chromium chromium-driver)";

/// chromedriver in a process group of its own, with the chromium it
/// starts: the whole group is killed when dropped, so a failing test
/// leaves no browser behind.
pub struct Chromedriver {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Chromedriver {
    pub async fn start(binary: &Path, dir: &Path) -> Self {
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(binary)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start {}: {error}; {INSTALL}", binary.display())
            });
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let status = http.get(format!("{}/status", driver.url)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            if let Some(status) = driver.child.try_wait().expect("wait") {
                panic!("chromedriver exited with {status}; {INSTALL}");
            }
            assert!(
                started.elapsed() < STEP_TIMEOUT,
                "chromedriver did not answer within {STEP_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(25).collect();
            eprintln!(
                "----- chromedriver log (last lines) -----\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// The binaries, or a failure that says how to install them.
pub fn browser_binaries() -> (PathBuf, PathBuf) {
    let chromium = PathBuf::from(env_or("ADPIPE_TEST_CHROMIUM", "/usr/bin/chromium"));
    let driver = PathBuf::from(env_or("ADPIPE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"));
    for binary in [&chromium, &driver] {
        assert!(
            binary.is_file(),
            "{} is missing: this test drives a real browser; {INSTALL}",
            binary.display()
        );
    }
    (chromium, driver)
}

pub async fn open_browser(driver: &Chromedriver, chromium: &Path, profile: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,1600",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    // A first start on a cold machine takes longer than a page step.
    let start_timeout = 2 * STEP_TIMEOUT;
    tokio::time::timeout(
        start_timeout,
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url),
    )
    .await
    .unwrap_or_else(|_| panic!("chromium did not start within {start_timeout:?}"))
    .unwrap_or_else(|error| panic!("chromium did not start: {error}; {INSTALL}"))
}

pub async fn run(client: &Client, script: &str) -> Value {
    client
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
}

pub async fn holds(client: &Client, script: &str) -> bool {
    run(client, script).await == true
}

/// Evaluates `script` (a function body) until it returns something truthy
/// other than `false`, and returns that.
pub async fn until(client: &Client, what: &str, timeout: Duration, script: &str) -> Value {
    let started = Instant::now();
    loop {
        let value = run(client, script).await;
        let done = match &value {
            Value::Null | Value::Bool(false) => false,
            Value::String(text) => !text.is_empty(),
            Value::Number(number) => number.as_f64() != Some(0.0),
            _ => true,
        };
        if done {
            return value;
        }
        if started.elapsed() > timeout {
            let page = run(client, "return document.body.innerText;").await;
            panic!(
                "waited {timeout:?} for {what}; the page shows:\n{}",
                page.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
        .text()
        .await
        .expect("text")
}

pub async fn screenshot(client: &Client, dir: &Path, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    println!("screenshot: {}", path.display());
    path
}

/// Every resource the page loaded came from the server under test.
pub async fn assert_nothing_from_elsewhere(client: &Client, base: &str) {
    let urls = run(
        client,
        "return performance.getEntriesByType('resource').map((entry) => entry.name);",
    )
    .await;
    for url in urls.as_array().expect("a list") {
        let url = url.as_str().expect("a URL");
        assert!(
            url.starts_with(base) || url.starts_with("blob:") || url.starts_with("data:"),
            "the page loaded {url}, which is not from {base}"
        );
    }
}
