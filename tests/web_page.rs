//! The web page in a real browser: `adpipe serve` on the embedded
//! defaults, Debian's chromium driven headless through chromedriver. A
//! user picks a photo (and sees its preview), sends an ad that the API
//! refuses and reads why next to the form, sends it right and watches it
//! go from pending to approved with its category and image, reloads the
//! page's link to it, looks it up by id, and reads the API docs.
//! Screenshots land in target/web-page/.
//!
//! Needs chromium and chromedriver (`scripts/install-chromium.sh`; their
//! paths from `ADPIPE_TEST_CHROMIUM` and `ADPIPE_TEST_CHROMEDRIVER`,
//! /usr/bin/chromium and /usr/bin/chromedriver by default). The decision
//! email goes to 127.0.0.1:1025 as usual; the test does not read it
//! (tests/pipeline.rs does).

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{Api, DECISION_TIMEOUT, Deployment, Processes, env_or, fixture, free_port};

/// The whole story, browser start included, or the test fails.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Any single step (a page load, an answer on the page).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL: &str =
    "run scripts/install-chromium.sh (as root: apt-get install -y chromium chromium-driver)";

/// chromedriver in a process group of its own, with the chromium it
/// starts: the whole group is killed when dropped, so a failing test
/// leaves no browser behind.
struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Chromedriver {
    async fn start(binary: &Path, dir: &Path) -> Self {
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
fn browser_binaries() -> (PathBuf, PathBuf) {
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

async fn open_browser(driver: &Chromedriver, chromium: &Path, profile: &Path) -> Client {
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

async fn run(client: &Client, script: &str) -> Value {
    client
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
}

async fn holds(client: &Client, script: &str) -> bool {
    run(client, script).await == true
}

/// Evaluates `script` (a function body) until it returns something truthy
/// other than `false`, and returns that.
async fn until(client: &Client, what: &str, timeout: Duration, script: &str) -> Value {
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

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
        .text()
        .await
        .expect("text")
}

async fn screenshot(client: &Client, dir: &Path, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    println!("screenshot: {}", path.display());
    path
}

/// Every resource the page loaded came from the server under test.
async fn assert_nothing_from_elsewhere(client: &Client, base: &str) {
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

#[tokio::test(flavor = "multi_thread")]
async fn the_web_page_submits_watches_and_looks_up_an_ad_in_a_real_browser() {
    let (chromium, driver_binary) = browser_binaries();
    let mut processes = Processes::new();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-page");
    std::fs::create_dir_all(&shots).expect("target/web-page");
    let started = Instant::now();
    tokio::time::timeout(
        TEST_TIMEOUT,
        story(&mut processes, &chromium, &driver_binary, &shots),
    )
    .await
    .unwrap_or_else(|_| panic!("the browser test took longer than {TEST_TIMEOUT:?}"));
    processes.stop_gracefully();
    println!("web page test: {:.1} s", started.elapsed().as_secs_f64());
}

async fn story(processes: &mut Processes, chromium: &Path, driver_binary: &Path, shots: &Path) {
    let deployment = Deployment::embedded(processes);
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;
    let base = api.base.clone();

    let driver = Chromedriver::start(driver_binary, &processes.dir).await;
    let profile = processes.dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let client = open_browser(&driver, chromium, &profile).await;

    // The form, with an answer the API refuses: its message shows next to
    // the form, on the field it is about.
    client.goto(&format!("{base}/")).await.expect("open /");
    assert!(client.title().await.expect("title").contains("adpipe"));
    let run_id = adpipe_core::AdId::new().to_string().replace('-', "");
    let email = format!("browser-{}@example.com", &run_id[16..]);
    let text = "Family car from the browser, one owner";
    client
        .find(Locator::Css("#ad-text"))
        .await
        .expect("text field")
        .send_keys(text)
        .await
        .expect("type the text");
    client
        .find(Locator::Css("#ad-email"))
        .await
        .expect("email field")
        .send_keys(&email)
        .await
        .expect("type the email");
    let not_a_photo = processes.dir.join("not-a-photo.txt");
    std::fs::write(&not_a_photo, "this is text, not a photo").expect("write a text file");
    let file_input = client
        .find(Locator::Css("#ad-image"))
        .await
        .expect("file input");
    file_input
        .send_keys(&not_a_photo.display().to_string())
        .await
        .expect("choose the text file");
    client
        .find(Locator::Css("#submit-button"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
    let refusal = until(
        &client,
        "the API's refusal next to the form",
        STEP_TIMEOUT,
        "const box = document.getElementById('submit-error');
         return !box.hidden && box.innerText.includes('image_unsupported_type') && box.innerText;",
    )
    .await;
    assert!(
        refusal.as_str().unwrap_or_default().contains("HTTP 415"),
        "{refusal}"
    );
    assert_eq!(
        run(
            &client,
            "return document.getElementById('ad-image').getAttribute('aria-invalid');"
        )
        .await,
        "true",
        "the image field is marked invalid"
    );
    assert!(
        !text_of(&client, "#ad-image-error").await.is_empty(),
        "the message also shows under the image field"
    );
    screenshot(&client, shots, "refused.png").await;

    // The real photo: the preview shows before anything is sent.
    let photo = fixture("vehicle/car_rear_motionblur.jpg");
    file_input
        .send_keys(&photo.display().to_string())
        .await
        .expect("choose the photo");
    until(
        &client,
        "the preview of the chosen photo",
        STEP_TIMEOUT,
        "const image = document.getElementById('preview-image');
         return !image.hidden && image.complete && image.naturalWidth;",
    )
    .await;
    assert!(
        text_of(&client, "#preview-caption")
            .await
            .contains("car_rear_motionblur.jpg")
    );
    assert!(
        holds(
            &client,
            "return document.getElementById('submit-error').hidden;"
        )
        .await,
        "a new photo takes the refusal of the old one away"
    );
    screenshot(&client, shots, "form.png").await;

    // Sent: the id shows, the address links to it, and the page watches it
    // until it is decided.
    client
        .find(Locator::Css("#submit-button"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
    let id = until(
        &client,
        "the new ad's id",
        STEP_TIMEOUT,
        "return document.getElementById('result-id').textContent;",
    )
    .await
    .as_str()
    .expect("text")
    .to_owned();
    assert!(id.parse::<adpipe_core::AdId>().is_ok(), "an ad id: {id}");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.query(), Some(format!("id={id}").as_str()), "{url}");
    let decided = until(
        &client,
        "the decision on the page",
        DECISION_TIMEOUT,
        "const badge = document.getElementById('status-badge');
         return badge.dataset.status !== 'pending' && badge.dataset.status;",
    )
    .await;
    assert_eq!(decided, "approved", "{}", text_of(&client, "#result").await);
    assert_eq!(text_of(&client, "#result-category").await, "car");
    assert_eq!(text_of(&client, "#result-text").await, text);
    assert!(
        text_of(&client, "#status-message")
            .await
            .contains("approved")
    );
    until(
        &client,
        "the approved ad's image",
        STEP_TIMEOUT,
        "const image = document.getElementById('result-image');
         return !image.hidden && image.complete && image.naturalWidth > 0;",
    )
    .await;
    let (code, body) = api.status(&id).await;
    assert_eq!(code, 200);
    assert_eq!(
        (body["status"].as_str(), body["category"].as_str()),
        (Some("approved"), Some("car")),
        "the page shows what the API says: {body}"
    );
    screenshot(&client, shots, "decided.png").await;
    assert_nothing_from_elsewhere(&client, &base).await;

    // The link to the ad, opened again, resumes where it stands.
    client
        .goto(&format!("{base}/?id={id}"))
        .await
        .expect("reload the ad's link");
    until(
        &client,
        "the decision after a reload",
        STEP_TIMEOUT,
        "return document.getElementById('status-badge').dataset.status === 'approved'
             && document.getElementById('result-category').textContent === 'car';",
    )
    .await;

    // The lookup form: an id that is not one gets the API's message, the
    // real one shows the ad.
    client.goto(&format!("{base}/")).await.expect("open /");
    assert!(
        holds(&client, "return document.getElementById('result').hidden;").await,
        "a fresh page shows no ad"
    );
    let lookup = client
        .find(Locator::Css("#lookup-id"))
        .await
        .expect("lookup field");
    lookup.send_keys("not-an-id").await.expect("type");
    client
        .find(Locator::Css("#lookup-button"))
        .await
        .expect("lookup button")
        .click()
        .await
        .expect("look up");
    until(
        &client,
        "the API's refusal of a bad id",
        STEP_TIMEOUT,
        "const box = document.getElementById('lookup-error');
         return !box.hidden && box.innerText.includes('invalid_id');",
    )
    .await;
    lookup.clear().await.expect("clear");
    lookup.send_keys(&id).await.expect("type the id");
    client
        .find(Locator::Css("#lookup-button"))
        .await
        .expect("lookup button")
        .click()
        .await
        .expect("look up");
    until(
        &client,
        "the looked-up ad",
        STEP_TIMEOUT,
        "return !document.getElementById('result').hidden
             && document.getElementById('lookup-error').hidden
             && document.getElementById('status-badge').dataset.status === 'approved'
             && document.getElementById('result-id').textContent;",
    )
    .await;
    assert_eq!(text_of(&client, "#result-id").await, id);
    let url = client.current_url().await.expect("url");
    assert_eq!(url.query(), Some(format!("id={id}").as_str()), "{url}");

    // The API docs, rendered from /openapi.json: every operation in it.
    let openapi = api
        .http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(
        openapi.status(),
        200,
        "the API serves its OpenAPI document at /openapi.json"
    );
    let openapi: Value = openapi.json().await.expect("OpenAPI JSON");
    let mut operations = Vec::new();
    for (path, item) in openapi["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        operations.contains(&"POST /ads".to_owned())
            && operations.contains(&"GET /ads/{id}".to_owned()),
        "{operations:?}"
    );
    client
        .goto(&format!("{base}/docs"))
        .await
        .expect("open /docs");
    let state = until(
        &client,
        "the docs to render",
        STEP_TIMEOUT,
        "const state = document.documentElement.dataset.docs;
         return state !== 'loading' && state;",
    )
    .await;
    assert_eq!(
        state,
        "ready",
        "the docs did not render: {}",
        text_of(&client, "#docs-error").await
    );
    let shown = run(
        &client,
        "return Array.from(document.querySelectorAll('article.operation h3'))
             .map((heading) => heading.innerText.replace(/\\s+/g, ' ').trim());",
    )
    .await;
    let shown: Vec<String> = shown
        .as_array()
        .expect("a list")
        .iter()
        .map(|heading| heading.as_str().unwrap_or_default().to_owned())
        .collect();
    for operation in &operations {
        assert!(
            shown.contains(operation),
            "{operation} is not in the docs: {shown:?}"
        );
    }
    screenshot(&client, shots, "docs.png").await;
    assert_nothing_from_elsewhere(&client, &base).await;

    client.close().await.expect("close the browser");
    drop(driver);
}
