//! The moderation console in a real browser: `adpipe serve` on the
//! embedded defaults, with an admin token and a policy that sends every ad
//! to a person. Five ads wait in review; a moderator signs in at /admin,
//! clears the queue with the keyboard alone (a, a, a, r, r), and each
//! submitter gets the outcome by email, once. The API shows the decisions
//! and their history, and so does the console's search; a wrong token gets
//! the API's 401 and no queue. Screenshots land in target/admin-console/.
//!
//! Needs chromium and chromedriver (see tests/support/browser.rs) and the
//! SMTP catcher of scripts/dev-services.sh, which the emails are read from.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use fantoccini::{Client, Locator};
use serde_json::Value;
use support::browser::{
    Chromedriver, STEP_TIMEOUT, assert_nothing_from_elsewhere, browser_binaries, holds,
    open_browser, run, screenshot, text_of, until,
};
use support::{Api, Catcher, DECISION_TIMEOUT, Deployment, Processes, fixture};

/// The whole story, browser start included, or the test fails.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);
const MODERATOR: &str = "ana";
/// The console's first common reason: what `r` sends unless another is
/// picked.
const FIRST_REASON: &str = "The photo does not show what the ad is for";
/// One ad each, submitted in this order (the queue's: oldest first).
const PHOTOS: [&str; 5] = [
    "vehicle/car_rear_motionblur.jpg",
    "vehicle/motorcycle_garage.png",
    "vehicle/boats_nagasaki.jpg",
    "other/cat_chelsea.png",
    "other/coffee_cup.png",
];
/// What the moderator presses, one key per ad shown.
const KEYS: [&str; 5] = ["a", "a", "a", "r", "r"];

#[tokio::test(flavor = "multi_thread")]
async fn a_moderator_clears_the_review_queue_by_keyboard_in_a_real_browser() {
    let (chromium, driver_binary) = browser_binaries();
    let mut processes = Processes::new();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/admin-console");
    std::fs::create_dir_all(&shots).expect("target/admin-console");
    let started = Instant::now();
    tokio::time::timeout(
        TEST_TIMEOUT,
        story(&mut processes, &chromium, &driver_binary, &shots),
    )
    .await
    .unwrap_or_else(|_| panic!("the console test took longer than {TEST_TIMEOUT:?}"));
    processes.stop_gracefully();
    println!(
        "admin console test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The vehicles policy that reads texts (its text model, categories and
/// text rules), with a review band that spans every score: no ad is
/// decided by the model alone.
fn review_everything_policy(dir: &Path) -> PathBuf {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let vehicles = std::fs::read_to_string(models.join("policies/vehicles-text.toml"))
        .expect("models/policies/vehicles-text.toml");
    let categories = vehicles[vehicles.find("[text]").expect("its [text] section")..].replace(
        "\"../minilm-l6/model.toml\"",
        &format!(
            "{:?}",
            models.join("minilm-l6/model.toml").display().to_string()
        ),
    );
    let path = dir.join("review-everything.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"review-everything\"\n\
             description = \"Vehicle ads, every one decided by a person.\"\n\
             approve_at = 1.0\n\
             review_at = 0.0\n\
             reject_reason = \"We only publish ads for vehicles.\"\n\n\
             {categories}"
        ),
    )
    .expect("write the policy");
    path
}

/// `GET path` with the admin token; the JSON of its 200.
async fn admin_get(api: &Api, token: &str, path: &str) -> Value {
    let response = api
        .http
        .get(format!("{}{path}", api.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|error| panic!("GET {path}: not JSON: {error}"));
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn sign_in(client: &Client, token: &str, moderator: &str) {
    for (css, value) in [("#token", token), ("#moderator", moderator)] {
        let field = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"));
        field.clear().await.expect("clear the field");
        field.send_keys(value).await.expect("type");
    }
    client
        .find(Locator::Css("#signin-button"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
}

/// Polls the public status until the ad waits for a person.
async fn until_in_review(api: &Api, id: &str) {
    let started = Instant::now();
    loop {
        let (code, body) = api.status(id).await;
        assert_eq!(code, 200, "{body}");
        match body["status"].as_str() {
            Some("in_review") => {
                assert_eq!(body["message"], "A person is checking your ad", "{body}");
                return;
            }
            Some("pending") => {}
            _ => panic!("ad {id} did not go to review: {body}"),
        }
        assert!(
            started.elapsed() < DECISION_TIMEOUT,
            "ad {id} still pending after {DECISION_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn story(processes: &mut Processes, chromium: &Path, driver_binary: &Path, shots: &Path) {
    let token = format!("console-{}", AdId::new());
    let policy = review_everything_policy(&processes.dir);
    let deployment = Deployment::embedded(processes)
        .with("ADPIPE_ADMIN_TOKEN", token.clone())
        .with("ADPIPE_POLICY", policy.display().to_string());
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;
    let base = api.base.clone();

    // Five ads from five addresses; the model sends each to a person.
    let run_id = AdId::new().to_string().replace('-', "");
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut texts: HashMap<String, String> = HashMap::new();
    for (n, photo) in PHOTOS.iter().enumerate() {
        let email = format!("console-{n}-{}@example.com", &run_id[16..]);
        // The first says what it sells; the others say nothing clear.
        let text = if n == 0 {
            "Family estate car, 2015, diesel, full service history".to_owned()
        } else {
            format!("Ad number {n} for the moderators")
        };
        let (code, _, body) = api.submit(&text, &email, &fixture(photo)).await;
        assert_eq!(code, 202, "{body}");
        let id = body["id"].as_str().expect("an id").to_owned();
        emails.insert(id.clone(), email);
        texts.insert(id, text);
    }
    for id in emails.keys() {
        until_in_review(&api, id).await;
    }
    let queue = admin_get(&api, &token, "/admin/reviews?limit=50").await;
    assert_eq!(queue["total"], 5, "{queue}");
    let suggested: HashMap<String, Value> = queue["ads"]
        .as_array()
        .expect("ads")
        .iter()
        .map(|ad| {
            let id = ad["id"].as_str().expect("an id").to_owned();
            (id, ad["suggestion"]["category"].clone())
        })
        .collect();
    assert!(
        emails.keys().all(|id| suggested.contains_key(id)),
        "{queue}"
    );

    let driver = Chromedriver::start(driver_binary, &processes.dir).await;
    let profile = processes.dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let client = open_browser(&driver, chromium, &profile).await;

    // Signed in: the queue, and the oldest ad large with its photo and tags.
    client
        .goto(&format!("{base}/admin"))
        .await
        .expect("open /admin");
    assert!(client.title().await.expect("title").contains("adpipe"));
    sign_in(&client, &token, MODERATOR).await;
    until(
        &client,
        "the queue of five with the first photo",
        STEP_TIMEOUT,
        "const image = document.getElementById('current-image');
         return document.getElementById('signin').hidden
             && document.getElementById('queue-count').textContent === '5'
             && document.querySelectorAll('#queue li').length === 5
             && document.querySelectorAll('#current-tags meter').length > 0
             && !document.getElementById('current-text-reading').hidden
             && document.querySelectorAll('#current-text-scores meter').length === 4
             && document.getElementById('current-text-says').textContent === 'It sells: car.'
             && !image.hidden && image.complete && image.naturalWidth > 0
             && image.src.startsWith('blob:');",
    )
    .await;
    screenshot(&client, shots, "01-queue.png").await;

    // j and k walk the queue without deciding anything.
    let body = client.find(Locator::Css("body")).await.expect("body");
    let first = run(
        &client,
        "return document.getElementById('current').dataset.id || '';",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned();
    run(&client, "document.activeElement.blur(); return true;").await;
    body.send_keys("j").await.expect("press j");
    until(
        &client,
        "j to show the next ad",
        STEP_TIMEOUT,
        &format!(
            "const id = document.getElementById('current').dataset.id;
             return id && id !== '{first}';"
        ),
    )
    .await;
    body.send_keys("k").await.expect("press k");
    until(
        &client,
        "k to show the first ad again",
        STEP_TIMEOUT,
        &format!("return document.getElementById('current').dataset.id === '{first}';"),
    )
    .await;
    assert_eq!(
        text_of(&client, "#queue-count").await,
        "5",
        "walking decides nothing"
    );

    // The keyboard alone: each key decides the ad shown, which leaves.
    let mut decided: Vec<(String, &str, String)> = Vec::new();
    for (n, key) in KEYS.iter().enumerate() {
        let shown = run(
            &client,
            "return [document.getElementById('current').dataset.id || '',
                     document.getElementById('category').value,
                     document.getElementById('reason').value];",
        )
        .await;
        let field = |index: usize| shown[index].as_str().unwrap_or_default().to_owned();
        let id = field(0);
        assert!(emails.contains_key(&id), "an ad of this test: {shown}");
        // The keys go to the page, not to a field.
        run(&client, "document.activeElement.blur(); return true;").await;
        body.send_keys(key).await.expect("press the key");
        let left = KEYS.len() - n - 1;
        until(
            &client,
            &format!("ad {id} to leave the queue after {key:?}"),
            STEP_TIMEOUT,
            &format!(
                "return document.getElementById('current').dataset.id !== '{id}'
                     && document.getElementById('queue-count').textContent === '{left}';"
            ),
        )
        .await;
        let line = text_of(&client, "#status-line").await;
        if *key == "a" {
            let category = field(1);
            if let Some(model) = suggested[&id].as_str() {
                assert_eq!(category, model, "the model's category is preselected");
            }
            assert!(
                line.starts_with("Approved") && line.contains(&category),
                "{line}"
            );
            decided.push((id, "approved", category));
        } else {
            assert_eq!(field(2), FIRST_REASON, "the first reason is preselected");
            assert!(line.starts_with("Rejected"), "{line}");
            decided.push((id, "rejected", field(2)));
        }
    }
    until(
        &client,
        "the empty queue",
        STEP_TIMEOUT,
        "return !document.getElementById('queue-empty').hidden
             && document.getElementById('current').hidden
             && document.getElementById('queue-count').textContent === '0';",
    )
    .await;
    screenshot(&client, shots, "01-queue-cleared.png").await;

    // What the API says: final, with the moderator's decision last in the
    // history, and one email to each submitter.
    let catcher = Catcher::new();
    for (id, outcome, detail) in &decided {
        let ad = admin_get(&api, &token, &format!("/admin/ads/{id}")).await;
        assert_eq!(ad["status"], *outcome, "{ad}");
        let field = if *outcome == "approved" {
            "category"
        } else {
            "reason"
        };
        assert_eq!(ad[field], detail.as_str(), "{ad}");
        let (code, public) = api.status(id).await;
        assert_eq!(code, 200, "{public}");
        assert_eq!(public["status"], *outcome, "{public}");
        let history = admin_get(&api, &token, &format!("/admin/ads/{id}/history")).await;
        let rows = history["decisions"].as_array().expect("decisions");
        assert!(
            rows.len() >= 2,
            "the model's and the moderator's: {history}"
        );
        let first = rows[0]["by"].as_str().unwrap_or_default();
        assert!(first.starts_with("model:"), "{history}");
        let last = rows.last().expect("a decision");
        assert_eq!(last["by"], "moderator:ana", "{history}");
        assert_eq!(last["outcome"], *outcome, "{history}");
        catcher.only_email_to(&emails[id]).await;
    }

    // The console finds an ad by id, with its history.
    let (id, outcome, _) = &decided[0];
    client
        .find(Locator::Css("#search"))
        .await
        .expect("search field")
        .send_keys(id)
        .await
        .expect("type the id");
    client
        .find(Locator::Css("#search-button"))
        .await
        .expect("search button")
        .click()
        .await
        .expect("search");
    until(
        &client,
        "the ad found, with its history",
        STEP_TIMEOUT,
        &format!(
            "const found = document.getElementById('found');
             const history = document.getElementById('history').innerText;
             const image = document.getElementById('found-image');
             return !found.hidden && found.dataset.id === '{id}'
                 && found.dataset.status === '{outcome}'
                 && history.includes('model:') && history.includes('moderator:ana')
                 && !image.hidden && image.complete && image.naturalWidth > 0;"
        ),
    )
    .await;
    assert_eq!(text_of(&client, "#found-text").await, texts[id]);
    assert!(
        text_of(&client, "#override-approve")
            .await
            .starts_with("Override")
    );
    screenshot(&client, shots, "02-history.png").await;
    assert_nothing_from_elsewhere(&client, &base).await;

    // Signed out, nothing is left in the tab; a wrong token gets the API's
    // 401 and no queue.
    client
        .find(Locator::Css("#signout"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    until(
        &client,
        "the sign-in form after signing out",
        STEP_TIMEOUT,
        "return !document.getElementById('signin').hidden
             && document.getElementById('console').hidden
             && sessionStorage.length === 0;",
    )
    .await;
    sign_in(&client, "not-the-token", MODERATOR).await;
    let refusal = until(
        &client,
        "the refusal of a wrong token",
        STEP_TIMEOUT,
        "const box = document.getElementById('signin-error');
         return !box.hidden && box.innerText;",
    )
    .await;
    assert!(
        refusal.as_str().unwrap_or_default().contains("HTTP 401"),
        "{refusal}"
    );
    assert!(
        holds(
            &client,
            "return document.getElementById('console').hidden
                 && document.querySelectorAll('#queue li').length === 0
                 && sessionStorage.length === 0;"
        )
        .await,
        "no queue without the token"
    );
    screenshot(&client, shots, "03-wrong-token.png").await;

    client.close().await.expect("close the browser");
    drop(driver);
}
