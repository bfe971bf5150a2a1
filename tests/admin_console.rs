//! The moderation console in a real browser: `adpipe serve` on the
//! embedded defaults, with a bootstrap admin token and a policy that sends
//! every ad to a person. The bootstrap token makes four accounts over HTTP
//! (an admin, two moderators, a viewer); five ads wait in review, and the
//! second moderator, bo, claims the oldest over HTTP before anyone opens
//! the console. The moderator ana signs in at /admin with name and
//! password (a wrong password first gets the API's 401): her queue marks
//! bo's ad as held by him and shows her the next one, which she now holds;
//! j and k skip bo's ad and release what they leave. She approves one ad
//! through the form with a note for moderators, decides the next three
//! with the keyboard alone (a, r, r: each decision goes on to the next
//! free ad), finds bo's ad shown without decision controls, and once he
//! releases it decides it too (a). Each submitter gets the outcome by
//! email, once, without the note. The API shows the decisions and their
//! history as `moderator:ana`, the note in the history alone (not on the
//! public page), and so does the console's search; nothing is kept in the
//! tab's storage, and signing out ends the session (GET /admin/me answers
//! 401). A viewer sees a sixth ad but no decision controls, no note field,
//! and claims nothing; the admin makes an API token (shown once, and it
//! works), manages the team, and reads the audit log. The ad ana sees first
//! carries text read in its photo (a phone number at an angle, and markup
//! that stays text): its boxes are drawn over the photo at the photo's
//! shown size, in the queue and in the search, and its lines are listed
//! beside it. Screenshots land in target/admin-console/.
//!
//! Needs chromium and chromedriver (see tests/support/browser.rs) and the
//! SMTP catcher of scripts/dev-services.sh, which the emails are read from.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::browser::{
    Chromedriver, STEP_TIMEOUT, assert_nothing_from_elsewhere, browser_binaries, holds,
    open_browser, run, screenshot, text_of, until,
};
use support::{Api, Catcher, DECISION_TIMEOUT, Deployment, Processes, fixture};

/// The whole story, browser start included, or the test fails (three
/// accounts' parts, each a few page steps).
const TEST_TIMEOUT: Duration = Duration::from_secs(420);
/// The accounts the bootstrap token makes: name, role, password.
const ADMIN: (&str, &str, &str) = ("lea", "admin", "lea-console-password-1");
const MODERATOR: (&str, &str, &str) = ("ana", "moderator", "ana-console-password-1");
const VIEWER: (&str, &str, &str) = ("vic", "viewer", "vic-console-password-1");
/// A second moderator, who holds the oldest ad while ana works.
const COLLEAGUE: (&str, &str, &str) = ("bo", "moderator", "bo-console-password-1");
/// What ana notes for her colleagues on her first decision: in the
/// history, never on the public page or in the submitter's email.
const NOTE: &str = "Checked with the seller by phone: the registration matches";
/// What a submitter of a rejected ad appeals with (markup that must stay
/// text).
const APPEAL: &str = "<b>It is a trailer for boats</b>, a vehicle: please look again";
/// The console's first common reason: what `r` sends unless another is
/// picked.
const FIRST_REASON: &str = "The photo does not show what the ad is for";
/// One ad each, submitted in this order (the queue's: oldest first). bo
/// holds the first; ana starts on the second.
const PHOTOS: [&str; 5] = [
    "vehicle/motorcycle_garage.png",
    "vehicle/car_rear_motionblur.jpg",
    "vehicle/boats_nagasaki.jpg",
    "other/cat_chelsea.png",
    "other/coffee_cup.png",
];
/// What an OCR policy read in the photo of the ad ana sees first (the
/// second; its photo is 600 × 482), as the worker records it: a phone
/// number written at an angle, and markup that must stay text.
const PHOTO_TEXT: &str = r#"[
    {"text": "Call +44 7700 900123", "box": [[40.0, 40.0], [330.0, 62.0], [326.0, 104.0], [36.0, 82.0]], "confidence": 0.93},
    {"text": "<img src=x onerror=alert(1)>", "box": [[380.0, 400.0], [560.0, 400.0], [560.0, 440.0], [380.0, 440.0]], "confidence": 0.62}
]"#;
/// What the moderator presses on the third, fourth and fifth ads (the
/// second she approves through the form, the first once bo lets it go).
const KEYS: [&str; 3] = ["a", "r", "r"];

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

/// Writes [`PHOTO_TEXT`] into ad `id`'s row of the server's SQLite
/// database, as a worker with an OCR policy records it.
async fn write_text_in_photo(database: &Path, id: &str) {
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite:{}", database.display()))
        .await
        .expect("the server's database");
    // The server writes too (claims): wait for it rather than fail.
    sqlx::query("PRAGMA busy_timeout = 5000")
        .execute(&mut db)
        .await
        .expect("busy timeout");
    let written = sqlx::query("UPDATE ads SET text_in_image = $1 WHERE id = $2")
        .bind(PHOTO_TEXT)
        .bind(id)
        .execute(&mut db)
        .await
        .expect("write the text in the photo");
    assert_eq!(written.rows_affected(), 1);
    db.close().await.expect("close");
}

/// The boxes of [`PHOTO_TEXT`] over the photo of `view` (`current`,
/// `found`): the overlay covers the photo as shown, each box is its
/// corners scaled by the photo's shown size over its natural size, and
/// the lines are listed as text with their confidence.
async fn boxes_over_the_photo(client: &Client, view: &str) {
    let drawn = run(
        client,
        &format!(
            "const image = document.getElementById('{view}-image');
             const overlay = document.getElementById('{view}-image-boxes');
             const rect = (r) => [r.left, r.top, r.width, r.height];
             return {{
                 image: rect(image.getBoundingClientRect()),
                 overlay: rect(overlay.getBoundingClientRect()),
                 natural: [image.naturalWidth, image.naturalHeight],
                 boxes: [...overlay.querySelectorAll('polygon.text-box-edge')]
                     .map((p) => p.getAttribute('points')),
                 lines: [...document.querySelectorAll('#{view}-photo-lines li')]
                     .map((li) => li.innerText.replace(/\\s+/g, ' ').trim()),
                 injected: document.querySelectorAll('#{view}-photo-lines img, #{view}-image-boxes img').length,
             }};"
        ),
    )
    .await;
    let numbers = |value: &Value| -> Vec<f64> {
        value
            .as_array()
            .expect("numbers")
            .iter()
            .map(|n| n.as_f64().expect("a number"))
            .collect()
    };
    let (image, overlay) = (numbers(&drawn["image"]), numbers(&drawn["overlay"]));
    assert!(
        image.iter().zip(&overlay).all(|(a, b)| (a - b).abs() < 1.0),
        "the overlay covers the photo: {drawn}"
    );
    let natural = numbers(&drawn["natural"]);
    assert_eq!(natural, [600.0, 482.0], "{drawn}");
    let scale = [image[2] / natural[0], image[3] / natural[1]];
    let expected: Value = serde_json::from_str(PHOTO_TEXT).expect("JSON");
    for (n, line) in expected.as_array().expect("lines").iter().enumerate() {
        let points: Vec<f64> = drawn["boxes"][n]
            .as_str()
            .unwrap_or_else(|| panic!("box {n} drawn: {drawn}"))
            .split([' ', ','])
            .map(|n| n.parse().expect("a number"))
            .collect();
        let corners: Vec<f64> = line["box"]
            .as_array()
            .expect("corners")
            .iter()
            .flat_map(&numbers)
            .enumerate()
            .map(|(i, v)| v * scale[i % 2])
            .collect();
        assert!(
            points
                .iter()
                .zip(&corners)
                .all(|(a, b)| (a - b).abs() < 0.2),
            "box {n} at {corners:?}: {drawn}"
        );
    }
    assert_eq!(
        drawn["lines"],
        json!([
            "1 Call +44 7700 900123 93 %",
            "2 <img src=x onerror=alert(1)> 62 %"
        ]),
        "{drawn}"
    );
    assert_eq!(drawn["injected"], 0, "the lines stay text: {drawn}");
}

/// `GET path` with the admin token; the JSON of its 200.
async fn admin_get(api: &Api, token: &str, path: &str) -> Value {
    let answer = api.as_token(token).get(path).await;
    assert_eq!(answer.status, 200, "GET {path}: {answer}");
    assert!(!answer.body.is_null(), "GET {path}: not JSON: {answer}");
    answer.body
}

/// `POST path` with the bootstrap token and a JSON body; status and JSON.
async fn admin_post(api: &Api, token: &str, path: &str, body: Value) -> (u16, Value) {
    let answer = api.as_token(token).post_json(path, &body).await;
    (answer.status, answer.body)
}

/// An account with a password of our choosing, made with the bootstrap
/// token (as an operator does on a fresh server).
async fn create_account(api: &Api, token: &str, (name, role, password): (&str, &str, &str)) {
    let (status, body) = admin_post(
        api,
        token,
        "/admin/users",
        json!({ "name": name, "role": role, "password": password }),
    )
    .await;
    assert_eq!(status, 201, "POST /admin/users {name}: {body}");
    assert_eq!(body["name"], name, "{body}");
    assert_eq!(body["role"], role, "{body}");
    assert!(
        body.get("password").is_none(),
        "a given password is not echoed: {body}"
    );
}

/// A console session of the account, made over HTTP as the console's
/// sign-in makes it: the cookie to send back (`adpipe_session=…`).
async fn session_cookie(api: &Api, (name, _, password): (&str, &str, &str)) -> String {
    let signed_in = api.sign_in(name, password).await;
    assert_eq!(signed_in.status, 200, "{name} signs in");
    signed_in.session_cookie().expect("the session cookie")
}

/// `method path` in a session made by [`session_cookie`], from this site
/// (the Origin header the server checks on a signed-in browser's change);
/// the status and the JSON (null when there is none).
async fn in_session(api: &Api, cookie: &str, method: reqwest::Method, path: &str) -> (u16, Value) {
    let answer = api.with_cookie(cookie).call(method, path, None).await;
    (answer.status, answer.body)
}

/// Polls the admin API until the ad's claim is `holder`'s (None: nobody's).
async fn until_claim(api: &Api, token: &str, id: &str, holder: Option<&str>) {
    let started = Instant::now();
    loop {
        let ad = admin_get(api, token, &format!("/admin/ads/{id}")).await;
        let now = ad["claim"]["claimed_by"].as_str();
        if now == holder {
            return;
        }
        assert!(
            started.elapsed() < STEP_TIMEOUT,
            "ad {id}: the claim is {now:?}, not {holder:?}: {ad}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The id of the ad the console shows.
async fn shown(client: &Client) -> String {
    run(
        client,
        "return document.getElementById('current').dataset.id || '';",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Presses `key` (a or r) on the ad shown, which leaves the queue (`left`
/// ads wait then) for the next free one; the decision as the test records
/// it: id, outcome, category or reason.
async fn decide_by_key(
    client: &Client,
    key: &str,
    left: usize,
    suggested: &HashMap<String, Value>,
) -> (String, &'static str, String) {
    let shown = run(
        client,
        "return [document.getElementById('current').dataset.id || '',
                 document.getElementById('category').value,
                 document.getElementById('reason').value];",
    )
    .await;
    let field = |index: usize| shown[index].as_str().unwrap_or_default().to_owned();
    let id = field(0);
    assert!(suggested.contains_key(&id), "an ad of this test: {shown}");
    // The keys go to the page, not to a field.
    run(client, "document.activeElement.blur(); return true;").await;
    let body = client.find(Locator::Css("body")).await.expect("body");
    body.send_keys(key).await.expect("press the key");
    until(
        client,
        &format!("ad {id} to leave the queue after {key:?}"),
        STEP_TIMEOUT,
        &format!(
            "return document.getElementById('current').dataset.id !== '{id}'
                 && document.getElementById('queue-count').textContent === '{left}';"
        ),
    )
    .await;
    let line = text_of(client, "#status-line").await;
    if key == "a" {
        let category = field(1);
        if let Some(model) = suggested[&id].as_str() {
            assert_eq!(category, model, "the model's category is preselected");
        }
        assert!(
            line.starts_with("Approved") && line.contains(&category),
            "{line}"
        );
        (id, "approved", category)
    } else {
        assert_eq!(field(2), FIRST_REASON, "the first reason is preselected");
        assert!(line.starts_with("Rejected"), "{line}");
        (id, "rejected", field(2))
    }
}

/// Signs in through the form, once the page shows it.
async fn sign_in(client: &Client, name: &str, password: &str) {
    until(
        client,
        "the sign-in form",
        STEP_TIMEOUT,
        "return !document.getElementById('signin').hidden
             && document.getElementById('console').hidden;",
    )
    .await;
    for (css, value) in [("#signin-name", name), ("#signin-password", password)] {
        let field = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"));
        field.clear().await.expect("clear the field");
        field.send_keys(value).await.expect("type");
    }
    click(client, "#signin-button").await;
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("click {css}: {error}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"));
    field.clear().await.expect("clear the field");
    field.send_keys(text).await.expect("type");
}

/// Whether the element is there and shown (not hidden, nor inside
/// something hidden).
async fn displayed(client: &Client, css: &str) -> bool {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.is_displayed().await.expect("is displayed"),
        Err(_) => false,
    }
}

/// What `GET admin/me` answers the page now (its cookies included).
async fn me_status_in_browser(client: &Client) -> Value {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('admin/me', { cache: 'no-store' })
               .then((response) => done(response.status), (error) => done(String(error)));",
            Vec::new(),
        )
        .await
        .expect("fetch admin/me from the page")
}

/// Nothing of a session in the tab's storage, and the session cookie out
/// of the page's reach (HttpOnly).
async fn assert_nothing_kept_in_the_tab(client: &Client) {
    let kept = run(
        client,
        "return [sessionStorage.length, localStorage.length];",
    )
    .await;
    assert_eq!(
        kept,
        json!([0, 0]),
        "sessionStorage and localStorage stay empty"
    );
    let cookies = run(client, "return document.cookie;").await;
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("adpipe_session"),
        "the session cookie is HttpOnly: {cookies}"
    );
}

async fn sign_out(client: &Client) {
    click(client, "#signout").await;
    until(
        client,
        "the sign-in form after signing out",
        STEP_TIMEOUT,
        "return !document.getElementById('signin').hidden
             && document.getElementById('console').hidden
             && document.querySelectorAll('#queue li').length === 0;",
    )
    .await;
}

/// Polls the public status until the ad waits for a person.
async fn until_in_review(api: &Api, id: &str) {
    let started = Instant::now();
    loop {
        let public = api.status(id).await;
        assert_eq!(public.status, 200, "{public}");
        match public["status"].as_str() {
            Some("in_review") => {
                assert_eq!(
                    public["message"], "A person is checking your ad",
                    "{public}"
                );
                return;
            }
            Some("pending") => {}
            _ => panic!("ad {id} did not go to review: {public}"),
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

    // The bootstrap token makes the team's accounts, as on a fresh server.
    for account in [ADMIN, MODERATOR, VIEWER, COLLEAGUE] {
        create_account(&api, &token, account).await;
    }

    // Five ads from five addresses; the model sends each to a person.
    let run_id = AdId::new().to_string().replace('-', "");
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut texts: HashMap<String, String> = HashMap::new();
    for (n, photo) in PHOTOS.iter().enumerate() {
        let email = format!("console-{n}-{}@example.com", &run_id[16..]);
        // The second (the first ana sees) says what it sells; the others
        // say nothing clear.
        let text = if n == 1 {
            "Family estate car, 2015, diesel, full service history".to_owned()
        } else {
            format!("Ad number {n} for the moderators")
        };
        let id = api.submitted(&text, &email, &fixture(photo)).await;
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
    let order: Vec<String> = queue["ads"]
        .as_array()
        .expect("ads")
        .iter()
        .map(|ad| ad["id"].as_str().expect("an id").to_owned())
        .collect();
    assert!(
        texts[&order[1]].starts_with("Family estate car"),
        "oldest first: {queue}"
    );
    assert!(
        queue["ads"]
            .as_array()
            .expect("ads")
            .iter()
            .all(|ad| ad["claim"].is_null() && ad["appeal"].is_null()),
        "nobody holds anything yet: {queue}"
    );
    // The policy here reads no photos: the text an OCR policy would have
    // read in the second ad's photo goes into its row directly.
    write_text_in_photo(&processes.dir.join("data/adpipe.db"), &order[1]).await;
    let listed = admin_get(&api, &token, "/admin/reviews?limit=50").await;
    assert_eq!(
        listed["ads"][1]["text_in_image"],
        serde_json::from_str::<Value>(PHOTO_TEXT).expect("JSON"),
        "{listed}"
    );
    assert_eq!(listed["ads"][0]["text_in_image"], json!([]), "{listed}");

    // bo opens the oldest ad first (over HTTP, as his console would): he
    // holds it, and the queue says so.
    let held = order[0].clone();
    let bo = session_cookie(&api, COLLEAGUE).await;
    let (status, claim) = in_session(
        &api,
        &bo,
        reqwest::Method::POST,
        &format!("/admin/ads/{held}/claim"),
    )
    .await;
    assert_eq!(status, 200, "{claim}");
    assert_eq!(claim["claimed_by"], COLLEAGUE.0, "{claim}");
    assert!(claim["until_ms"].as_i64().is_some(), "{claim}");
    let listed = admin_get(&api, &token, "/admin/reviews?limit=50").await;
    assert_eq!(listed["ads"][0]["id"], held.as_str(), "{listed}");
    assert_eq!(
        listed["ads"][0]["claim"]["claimed_by"], COLLEAGUE.0,
        "{listed}"
    );

    let driver = Chromedriver::start(driver_binary, &processes.dir).await;
    let profile = processes.dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let client = open_browser(&driver, chromium, &profile).await;

    // Not signed in yet: the form. A wrong password gets the API's 401 and
    // no queue.
    client
        .goto(&format!("{base}/admin"))
        .await
        .expect("open /admin");
    assert!(client.title().await.expect("title").contains("adpipe"));
    sign_in(&client, MODERATOR.0, "not-her-password-at-all").await;
    let refusal = until(
        &client,
        "the refusal of a wrong password",
        STEP_TIMEOUT,
        "const box = document.getElementById('signin-error');
         return !box.hidden && box.innerText;",
    )
    .await;
    let refusal = refusal.as_str().unwrap_or_default();
    assert!(
        refusal.contains("Wrong name or password") && refusal.contains("HTTP 401"),
        "{refusal}"
    );
    assert!(
        holds(
            &client,
            "return document.getElementById('console').hidden
                 && document.querySelectorAll('#queue li').length === 0
                 && document.getElementById('signin-password').value === '';"
        )
        .await,
        "no queue without the right password"
    );
    screenshot(&client, shots, "00-wrong-password.png").await;

    // Signed in: the queue, bo's ad marked as his, and the oldest ad
    // nobody else holds large with its photo and tags: now hers.
    let second = order[1].clone();
    sign_in(&client, MODERATOR.0, MODERATOR.2).await;
    until(
        &client,
        "the queue of five, bo's ad marked, the second ad's photo",
        STEP_TIMEOUT,
        &format!(
            "const image = document.getElementById('current-image');
             const mark = document.querySelector('#queue .queue-item[data-id=\"{held}\"] .claim-badge');
             const claim = document.getElementById('claim-status');
             return document.getElementById('signin').hidden
                 && document.getElementById('queue-count').textContent === '5'
                 && document.querySelectorAll('#queue li').length === 5
                 && mark !== null && mark.textContent === 'held by bo'
                 && document.querySelectorAll('#queue .claim-badge').length === 1
                 && document.getElementById('current').dataset.id === '{second}'
                 && !claim.hidden && claim.dataset.state === 'mine'
                 && claim.textContent.startsWith('You hold this ad until')
                 && document.querySelectorAll('#current-tags meter').length > 0
                 && !document.getElementById('current-text-reading').hidden
                 && document.querySelectorAll('#current-text-scores meter').length === 4
                 && document.getElementById('current-text-says').textContent === 'It sells: car.'
                 && !image.hidden && image.complete && image.naturalWidth > 0
                 && image.src.startsWith('blob:')
                 && document.getElementById('current-image-boxes').dataset.boxes === '2'
                 && !document.getElementById('current-photo-text').hidden;"
        ),
    )
    .await;
    boxes_over_the_photo(&client, "current").await;
    until_claim(&api, &token, &second, Some(MODERATOR.0)).await;
    until_claim(&api, &token, &held, Some(COLLEAGUE.0)).await;
    assert!(
        displayed(&client, "#note").await,
        "the moderator's note field"
    );
    let header = text_of(&client, "#session").await;
    assert!(header.contains("Signed in as ana (moderator)"), "{header}");
    // A moderator decides, and has no admin views.
    assert!(
        displayed(&client, "#approve").await,
        "the moderator's decide controls"
    );
    assert!(displayed(&client, "#tab-tokens").await);
    assert!(
        !displayed(&client, "#tab-team").await,
        "no Team view for a moderator"
    );
    assert!(
        !displayed(&client, "#tab-audit").await,
        "no audit log for a moderator"
    );
    screenshot(&client, shots, "01-queue.png").await;
    // A listed line points at its box.
    run(
        &client,
        "document.querySelector('#current-photo-lines li').focus(); return true;",
    )
    .await;
    assert!(
        holds(
            &client,
            "return document.querySelector('#current-image-boxes [data-line=\"1\"]')
                 .classList.contains('active');"
        )
        .await,
        "the first line's box stands out"
    );
    screenshot(&client, shots, "01-text-in-the-photo.png").await;
    run(&client, "document.activeElement.blur(); return true;").await;

    // j and k walk the queue without deciding anything: each ad left is
    // released, each ad shown held; k does not go back to bo's ad.
    let body = client.find(Locator::Css("body")).await.expect("body");
    let third = order[2].clone();
    run(&client, "document.activeElement.blur(); return true;").await;
    body.send_keys("j").await.expect("press j");
    until(
        &client,
        "j to show the next ad",
        STEP_TIMEOUT,
        &format!("return document.getElementById('current').dataset.id === '{third}';"),
    )
    .await;
    until_claim(&api, &token, &third, Some(MODERATOR.0)).await;
    until_claim(&api, &token, &second, None).await;
    body.send_keys("k").await.expect("press k");
    until(
        &client,
        "k to show the second ad again",
        STEP_TIMEOUT,
        &format!("return document.getElementById('current').dataset.id === '{second}';"),
    )
    .await;
    until_claim(&api, &token, &second, Some(MODERATOR.0)).await;
    until_claim(&api, &token, &third, None).await;
    body.send_keys("k").await.expect("press k");
    let line = until(
        &client,
        "k to stay, bo holding the ad before",
        STEP_TIMEOUT,
        "const line = document.getElementById('status-line').textContent;
         return line.includes('Colleagues hold every ad before this one') && line;",
    )
    .await;
    assert_eq!(shown(&client).await, second, "{line}");
    assert_eq!(
        text_of(&client, "#queue-count").await,
        "5",
        "walking decides nothing"
    );
    until_claim(&api, &token, &held, Some(COLLEAGUE.0)).await;

    // Through the form: a note for moderators, then Approve, which goes on
    // to the next ad nobody else holds.
    let mut decided: Vec<(String, &str, String)> = Vec::new();
    type_into(&client, "#note", NOTE).await;
    screenshot(&client, shots, "01-held-and-note.png").await;
    let category = run(&client, "return document.getElementById('category').value;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    click(&client, "#approve").await;
    until(
        &client,
        "the second ad decided, with a note, and the third shown",
        STEP_TIMEOUT,
        &format!(
            "const line = document.getElementById('status-line').textContent;
             return document.getElementById('current').dataset.id === '{third}'
                 && document.getElementById('queue-count').textContent === '4'
                 && line.startsWith('Approved') && line.includes('with a note')
                 && document.getElementById('note').value === '';"
        ),
    )
    .await;
    decided.push((second.clone(), "approved", category));

    // The keyboard alone: each key decides the ad shown, which leaves, and
    // the next free one is shown.
    for (n, key) in KEYS.iter().enumerate() {
        let left = KEYS.len() - n;
        let decision = decide_by_key(&client, key, left, &suggested).await;
        assert_ne!(decision.0, held, "bo's ad is skipped");
        decided.push(decision);
    }

    // bo's ad is what is left: shown, but not for deciding; `a` says why.
    until(
        &client,
        "bo's ad, without decisions",
        STEP_TIMEOUT,
        &format!(
            "const claim = document.getElementById('claim-status');
             return document.getElementById('current').dataset.id === '{held}'
                 && claim.dataset.state === 'other'
                 && claim.textContent.includes('bo holds this ad until')
                 && document.getElementById('claim-next') !== null
                 && document.getElementById('approve').matches(':disabled')
                 && document.getElementById('note').disabled;"
        ),
    )
    .await;
    run(&client, "document.activeElement.blur(); return true;").await;
    body.send_keys("a").await.expect("press a");
    let line = until(
        &client,
        "the moderator told that bo holds it",
        STEP_TIMEOUT,
        "const line = document.getElementById('status-line');
         return line.dataset.kind === 'error' && line.textContent.includes('bo holds ad')
             && line.textContent;",
    )
    .await;
    assert_eq!(text_of(&client, "#queue-count").await, "1", "{line}");
    let ad = admin_get(&api, &token, &format!("/admin/ads/{held}")).await;
    assert_eq!(ad["status"], "in_review", "nothing decided: {ad}");
    screenshot(&client, shots, "01-held-by-colleague.png").await;

    // bo lets it go; the queue, refreshed, gives it to ana, who decides it.
    let (status, body_json) = in_session(
        &api,
        &bo,
        reqwest::Method::DELETE,
        &format!("/admin/ads/{held}/claim"),
    )
    .await;
    assert_eq!(status, 204, "{body_json}");
    click(&client, "#refresh").await;
    until(
        &client,
        "bo's ad free, and now ana's",
        STEP_TIMEOUT,
        &format!(
            "const claim = document.getElementById('claim-status');
             return document.getElementById('current').dataset.id === '{held}'
                 && claim.dataset.state === 'mine'
                 && document.querySelectorAll('#queue .claim-badge').length === 0
                 && !document.getElementById('approve').matches(':disabled');"
        ),
    )
    .await;
    until_claim(&api, &token, &held, Some(MODERATOR.0)).await;
    decided.push(decide_by_key(&client, "a", 0, &suggested).await);
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
    let mut rejection_emails: HashMap<String, String> = HashMap::new();
    for (id, outcome, detail) in &decided {
        let ad = admin_get(&api, &token, &format!("/admin/ads/{id}")).await;
        assert_eq!(ad["status"], *outcome, "{ad}");
        let field = if *outcome == "approved" {
            "category"
        } else {
            "reason"
        };
        assert_eq!(ad[field], detail.as_str(), "{ad}");
        let public = api.status(id).await;
        assert_eq!(public.status, 200, "{public}");
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
        assert_eq!(
            last["by"],
            format!("moderator:{}", MODERATOR.0),
            "the signed-in account is the author: {history}"
        );
        assert_eq!(last["outcome"], *outcome, "{history}");
        assert!(ad["claim"].is_null(), "a decision ends the claim: {ad}");
        // The note is the moderators' alone: in the history, not on the
        // public page nor in the email.
        if *id == second {
            assert_eq!(last["note"], NOTE, "{history}");
        } else {
            assert!(last["note"].is_null(), "{history}");
        }
        assert!(!public.to_string().contains(NOTE), "{public}");
        let (_, plain) = catcher.only_email_to(&emails[id]).await;
        assert!(!plain.contains(NOTE), "{plain}");
        if *outcome == "rejected" {
            rejection_emails.insert(id.clone(), plain);
        }
    }

    // The console finds an ad by id, with its history and the note.
    let (id, outcome, _) = &decided[0];
    assert_eq!(*id, second, "the decision with the note");
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
             const note = document.querySelector('#history-rows tr.note-row .history-note');
             return !found.hidden && found.dataset.id === '{id}'
                 && found.dataset.status === '{outcome}'
                 && history.includes('model:') && history.includes('moderator:ana')
                 && history.includes('Note: {NOTE}')
                 && note !== null && note.textContent === 'Note: {NOTE}'
                 && document.querySelectorAll('#history-rows tr.note-row').length === 1
                 && !image.hidden && image.complete && image.naturalWidth > 0
                 && document.getElementById('found-image-boxes').dataset.boxes === '2';"
        ),
    )
    .await;
    boxes_over_the_photo(&client, "found").await;
    assert_eq!(text_of(&client, "#found-text").await, texts[id]);
    assert!(
        text_of(&client, "#override-approve")
            .await
            .starts_with("Override")
    );
    run(
        &client,
        "document.getElementById('history').scrollIntoView({ block: 'end' }); return true;",
    )
    .await;
    screenshot(&client, shots, "02-history.png").await;

    // A submitter appeals a rejection (the link of the rejection email):
    // the ad is back, marked as appealed, with their words as text; ana
    // holds it as it is shown.
    let appealed = decided
        .iter()
        .find(|(_, outcome, _)| *outcome == "rejected")
        .map(|(id, _, _)| id.clone())
        .expect("a rejection");
    let email = &rejection_emails[&appealed];
    let secret = email
        .split("appeal=")
        .nth(1)
        .map(|rest| rest.chars().take(32).collect::<String>())
        .unwrap_or_else(|| panic!("the appeal link in the rejection email: {email}"));
    let appeal = json!({ "secret": secret, "text": APPEAL });
    let taken = api.appeal(&appealed, appeal.to_string()).await;
    assert_eq!(taken.status, 202, "the appeal is taken");
    click(&client, "#refresh").await;
    until(
        &client,
        "the appealed ad, marked, with the appeal as text",
        STEP_TIMEOUT,
        &format!(
            "const mark = document.querySelector('#queue .queue-item[data-id=\"{appealed}\"] .appeal-badge');
             const words = document.getElementById('current-appeal-text');
             return document.getElementById('current').dataset.id === '{appealed}'
                 && document.getElementById('queue-count').textContent === '1'
                 && mark !== null && mark.textContent === 'Appealed'
                 && !document.getElementById('current-appeal').hidden
                 && words.textContent === '{APPEAL}' && words.children.length === 0
                 && document.getElementById('current-appeal-at').textContent !== ''
                 && document.getElementById('claim-status').dataset.state === 'mine';"
        ),
    )
    .await;
    until_claim(&api, &token, &appealed, Some(MODERATOR.0)).await;
    screenshot(&client, shots, "02-appealed.png").await;
    assert_nothing_from_elsewhere(&client, &base).await;
    assert_nothing_kept_in_the_tab(&client).await;

    // Signed out, the form again, and the server no longer knows this
    // browser: GET /admin/me answers 401. The ad she held, undecided, is
    // let go.
    sign_out(&client).await;
    assert_eq!(
        me_status_in_browser(&client).await,
        json!(401),
        "signed out"
    );
    assert_nothing_kept_in_the_tab(&client).await;
    until_claim(&api, &token, &appealed, None).await;

    // A sixth ad waits; the viewer sees it, but nothing to decide with.
    let sixth_email = format!("console-6-{}@example.com", &run_id[16..]);
    let sixth = api
        .submitted(
            "Ad number 6 for the viewers",
            &sixth_email,
            &fixture("vehicle/biplane_from_above.jpg"),
        )
        .await;
    until_in_review(&api, &sixth).await;
    viewer_looks(&client, &api, &token, &appealed, &sixth, id, shots).await;
    sign_out(&client).await;

    // The admin: a token, the team, the audit log. The review shows her
    // the appealed ad, which she holds until she leaves the view.
    sign_in(&client, ADMIN.0, ADMIN.2).await;
    until(
        &client,
        "the admin's console with the admin views",
        STEP_TIMEOUT,
        &format!(
            "return document.getElementById('signin').hidden
                 && !document.getElementById('console').hidden
                 && !document.getElementById('tab-team').hidden
                 && !document.getElementById('tab-audit').hidden
                 && document.getElementById('current').dataset.id === '{appealed}'
                 && document.getElementById('claim-status').dataset.state === 'mine';"
        ),
    )
    .await;
    until_claim(&api, &token, &appealed, Some(ADMIN.0)).await;
    admin_makes_a_token(&client, &api).await;
    until_claim(&api, &token, &appealed, None).await;
    admin_manages_the_team(&client, &api, &token, shots).await;
    admin_reads_the_audit_log(&client, shots).await;
    assert_nothing_from_elsewhere(&client, &base).await;
    assert_nothing_kept_in_the_tab(&client).await;
    sign_out(&client).await;
    assert_eq!(
        me_status_in_browser(&client).await,
        json!(401),
        "signed out"
    );

    client.close().await.expect("close the browser");
    drop(driver);
}

/// The viewer: the queue with the appealed ad (its appeal shown) and the
/// sixth, the photo, but no decision controls, no note field, no claim;
/// `a` decides nothing (the page says why, the ad still waits); the
/// search shows a decided ad and its history, without the override.
async fn viewer_looks(
    client: &Client,
    api: &Api,
    token: &str,
    appealed: &str,
    sixth: &str,
    decided: &str,
    shots: &Path,
) {
    sign_in(client, VIEWER.0, VIEWER.2).await;
    until(
        client,
        "the viewer's queue of two, the appealed ad first, with its photo",
        STEP_TIMEOUT,
        &format!(
            "const image = document.getElementById('current-image');
             return document.getElementById('signin').hidden
                 && document.getElementById('queue-count').textContent === '2'
                 && document.querySelector('#queue .queue-item[data-id=\"{sixth}\"]') !== null
                 && document.getElementById('current').dataset.id === '{appealed}'
                 && document.getElementById('current-appeal-text').textContent === '{APPEAL}'
                 && !image.hidden && image.complete && image.naturalWidth > 0;"
        ),
    )
    .await;
    let header = text_of(client, "#session").await;
    assert!(header.contains("Signed in as vic (viewer)"), "{header}");
    for css in [
        "#approve",
        "#reject",
        "#quick-reasons button",
        "#category",
        "#note",
        "#claim-status",
    ] {
        assert!(!displayed(client, css).await, "a viewer sees no {css}");
    }
    assert!(
        displayed(client, "#decide-none").await,
        "the viewer is told why"
    );
    assert!(
        displayed(client, "#next").await,
        "a viewer may walk the queue"
    );
    assert!(
        !displayed(client, "#tab-team").await,
        "no Team view for a viewer"
    );
    assert!(
        !displayed(client, "#tab-audit").await,
        "no audit log for a viewer"
    );

    let body = client.find(Locator::Css("body")).await.expect("body");
    run(client, "document.activeElement.blur(); return true;").await;
    body.send_keys("a").await.expect("press a");
    let line = until(
        client,
        "the viewer told that a decides nothing",
        STEP_TIMEOUT,
        "const line = document.getElementById('status-line');
         return line.dataset.kind === 'error' && line.textContent;",
    )
    .await;
    assert!(
        line.as_str()
            .unwrap_or_default()
            .contains("may look at ads but not decide"),
        "{line}"
    );
    assert_eq!(text_of(client, "#queue-count").await, "2");
    let ad = admin_get(api, token, &format!("/admin/ads/{appealed}")).await;
    assert_eq!(
        ad["status"], "in_review",
        "the viewer decided nothing: {ad}"
    );
    assert!(ad["claim"].is_null(), "a viewer claims nothing: {ad}");

    type_into(client, "#search", decided).await;
    click(client, "#search-button").await;
    until(
        client,
        "the viewer's search, with the history",
        STEP_TIMEOUT,
        &format!(
            "const found = document.getElementById('found');
             return !found.hidden && found.dataset.id === '{decided}'
                 && document.getElementById('history').innerText.includes('moderator:ana');"
        ),
    )
    .await;
    assert!(
        !displayed(client, "#override-approve").await,
        "no override for a viewer"
    );
    assert!(
        displayed(client, "#override-none").await,
        "the viewer is told why"
    );
    screenshot(client, shots, "03-viewer.png").await;
}

/// The Tokens view: a new token is shown once, works as the admin's
/// account, and is gone from the page once the view is left.
async fn admin_makes_a_token(client: &Client, api: &Api) {
    click(client, "#tab-tokens").await;
    until(
        client,
        "the Tokens view",
        STEP_TIMEOUT,
        "return !document.getElementById('view-tokens').hidden
             && document.getElementById('view-review').hidden
             && document.getElementById('token-rows').children.length > 0;",
    )
    .await;
    type_into(client, "#token-name", "console-export").await;
    click(client, "#token-create").await;
    let secret = until(
        client,
        "the new token, shown once",
        STEP_TIMEOUT,
        "const field = document.getElementById('token-secret');
         const row = document.querySelector('#token-rows tr[data-name=\"console-export\"]');
         return field && row && field.value;",
    )
    .await;
    let secret = secret.as_str().expect("the token").to_owned();
    assert!(secret.starts_with("adp_"), "{secret}");
    let once = text_of(client, "#token-once").await;
    assert!(once.contains("will not be shown again"), "{once}");
    assert!(
        holds(
            client,
            "const row = document.querySelector('#token-rows tr[data-name=\"console-export\"]');
             return row.textContent.includes('lea') && row.textContent.includes('Active');"
        )
        .await,
        "the admin's list shows whose token it is"
    );

    let me = api.as_token(&secret).me().await;
    assert_eq!(me.status, 200);
    assert_eq!(me["name"], ADMIN.0, "{me}");
    assert_eq!(me["via"], "token", "{me}");

    click(client, "#tab-password").await;
    click(client, "#tab-tokens").await;
    until(
        client,
        "the Tokens view again, without the token",
        STEP_TIMEOUT,
        &format!(
            "return !document.getElementById('view-tokens').hidden
                 && document.getElementById('token-once').hidden
                 && document.getElementById('token-secret') === null
                 && document.querySelector('#token-rows tr[data-name=\"console-export\"]') !== null
                 && !document.body.innerText.includes('{secret}');"
        ),
    )
    .await;
}

/// The Team view: the accounts, one's own row without role picker or
/// disable; a role changed through the picker; a new account whose
/// made-up password is shown once, and signs it in.
async fn admin_manages_the_team(client: &Client, api: &Api, token: &str, shots: &Path) {
    click(client, "#tab-team").await;
    until(
        client,
        "the team's accounts",
        STEP_TIMEOUT,
        "const names = Array.from(document.querySelectorAll('#team-rows tr[data-name]'),
                                  (row) => row.dataset.name);
         return !document.getElementById('view-team').hidden
             && ['ana', 'lea', 'vic'].every((name) => names.includes(name));",
    )
    .await;
    assert!(
        holds(
            client,
            "const own = document.querySelector('#team-rows tr[data-name=\"lea\"]');
             return own.querySelector('select').disabled
                 && own.querySelector('[data-control=\"toggle\"]').disabled;"
        )
        .await,
        "nobody changes their own role or disables themselves"
    );
    screenshot(client, shots, "04-team.png").await;

    client
        .find(Locator::Css("#team-rows tr[data-name='vic'] select"))
        .await
        .expect("vic's role picker")
        .select_by_value("moderator")
        .await
        .expect("pick moderator");
    until(
        client,
        "vic made a moderator",
        STEP_TIMEOUT,
        "const row = document.querySelector('#team-rows tr[data-name=\"vic\"]');
         return row && row.dataset.role === 'moderator';",
    )
    .await;
    let users = admin_get(api, token, "/admin/users").await;
    let vic = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|user| user["name"] == VIEWER.0)
        .expect("vic's account");
    assert_eq!(vic["role"], "moderator", "{users}");

    type_into(client, "#team-name", "sam").await;
    client
        .find(Locator::Css("#team-role"))
        .await
        .expect("the new account's role")
        .select_by_value("viewer")
        .await
        .expect("pick viewer");
    click(client, "#team-add").await;
    let password = until(
        client,
        "sam's made-up password, shown once",
        STEP_TIMEOUT,
        "const field = document.getElementById('team-secret');
         const row = document.querySelector('#team-rows tr[data-name=\"sam\"]');
         return field && row && field.value;",
    )
    .await;
    let password = password.as_str().expect("a password").to_owned();
    assert!(password.chars().count() >= 12, "{password}");
    let me = api.sign_in("sam", &password).await;
    assert_eq!(me.status, 200, "the made-up password signs sam in");
    assert_eq!(me["role"], "viewer", "{me}");
}

/// The audit log: newest first, with the sign-ins and the moderator's
/// decisions; filtered by action, the five decisions alone.
async fn admin_reads_the_audit_log(client: &Client, shots: &Path) {
    click(client, "#tab-audit").await;
    until(
        client,
        "the audit log with sign-ins and decisions",
        STEP_TIMEOUT,
        "const rows = Array.from(document.querySelectorAll('#audit-rows tr[data-action]'));
         const actions = rows.map((row) => row.dataset.action);
         const seqs = rows.map((row) => Number(row.dataset.seq));
         return !document.getElementById('view-audit').hidden
             && actions.includes('session.signed_in') && actions.includes('ad.decided')
             && actions.includes('session.sign_in_failed') && actions.includes('token.created')
             && actions.includes('ad.claimed') && actions.includes('ad.released')
             && seqs.every((seq, index) => index === 0 || seqs[index - 1] > seq);",
    )
    .await;
    screenshot(client, shots, "05-audit.png").await;

    type_into(client, "#audit-action", "ad.decided").await;
    // The field's suggestions (a datalist) close with its focus.
    run(client, "document.activeElement.blur(); return true;").await;
    click(client, "#audit-filter").await;
    until(
        client,
        "the five decisions alone",
        STEP_TIMEOUT,
        "const rows = Array.from(document.querySelectorAll('#audit-rows tr[data-action]'));
         return rows.length === 5
             && rows.every((row) => row.dataset.action === 'ad.decided'
                                 && row.innerText.includes('account:ana'));",
    )
    .await;
}
