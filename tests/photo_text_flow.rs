//! Text in the photo, as a new user meets it (issue 34): `adpipe serve` on
//! the embedded defaults with the repository's marketplace policy, which
//! reads the text in ads' photos. A boat photo with a phone number drawn on
//! it, under an honest text, goes to a person; its submitter sees only
//! that a person is checking it (neither the number nor `text_in_image`)
//! and gets no email yet. The moderator finds the number in `/admin` (the
//! ad and the review queue), its box inside the photo where the reference
//! reader (tests/fixtures/ocr/reference.jsonl) put it, read surely, and
//! the reason says it was found in the photo. The same boat photo without
//! the drawing is approved, nothing read, and its submitter hears so. In
//! Chromium the console draws one box over the photo and lists the number
//! beside it; the screenshot lands in target/photo-text-flow/console.png.
//!
//! Needs chromium and chromedriver (scripts/install-chromium.sh) and the
//! SMTP catcher of scripts/dev-services.sh.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::browser::{
    Chromedriver, STEP_TIMEOUT, browser_binaries, open_browser, run, screenshot, until,
};
use support::{Api, Catcher, Deployment, Processes, fixture};

/// The whole story, the browser's start included.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);
const TOKEN: &str = "photo-text-flow-token";
const MODERATOR: (&str, &str) = ("mia", "mia-photo-text-password-1");
/// The boat photo with a number drawn on it, and the number as read there
/// (the reader joins "+44 20" as "+4420").
const DRAWN: &str = "tests/fixtures/ocr/rendered/06_boats_nagasaki.jpg";
const NUMBER: &str = "+4420 7946 0958";
/// The drawn photo's size: boxes are in its pixels, as stored.
const PHOTO: (f64, f64) = (640.0, 512.0);
/// How far a box may be from the reference reader's (in pixels).
const BOX_TOLERANCE: f64 = 3.0;

#[tokio::test(flavor = "multi_thread")]
async fn a_number_drawn_on_the_photo_is_held_back_and_shown_to_the_moderator() {
    let (chromium, driver_binary) = browser_binaries();
    let mut processes = Processes::new();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/photo-text-flow");
    std::fs::create_dir_all(&shots).expect("target/photo-text-flow");
    let started = Instant::now();
    tokio::time::timeout(
        TEST_TIMEOUT,
        story(&mut processes, &chromium, &driver_binary, &shots),
    )
    .await
    .unwrap_or_else(|_| panic!("the photo text flow took longer than {TEST_TIMEOUT:?}"));
    processes.stop_gracefully();
    println!(
        "photo text flow test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The box the reference reader found around the number on [`DRAWN`].
fn reference_box() -> Vec<[f64; 2]> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = std::fs::read_to_string(root.join("tests/fixtures/ocr/reference.jsonl"))
        .expect("tests/fixtures/ocr/reference.jsonl");
    let entry: Value = reference
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON line"))
        .find(|entry| entry["file"] == DRAWN)
        .unwrap_or_else(|| panic!("{DRAWN} in reference.jsonl"));
    let line = &entry["text_in_image"][0];
    assert_eq!(line["text"], NUMBER, "{entry}");
    corners(line)
}

/// A line's box: four `[x, y]` corners.
fn corners(line: &Value) -> Vec<[f64; 2]> {
    let corners: Vec<[f64; 2]> = line["box"]
        .as_array()
        .unwrap_or_else(|| panic!("a box: {line}"))
        .iter()
        .map(|point| {
            let xy = |i: usize| point[i].as_f64().unwrap_or_else(|| panic!("{line}"));
            [xy(0), xy(1)]
        })
        .collect();
    assert_eq!(corners.len(), 4, "four corners: {line}");
    corners
}

/// The number's line in `text_in_image`, checked: alone, sure enough, its
/// box inside the photo and where the reference reader put it.
fn assert_the_number_is_read(text_in_image: &Value, context: &Value) -> Vec<[f64; 2]> {
    let lines = text_in_image
        .as_array()
        .unwrap_or_else(|| panic!("text_in_image: {context}"));
    let numbers: Vec<&Value> = lines.iter().filter(|l| l["text"] == NUMBER).collect();
    assert_eq!(numbers.len(), 1, "one line reads {NUMBER}: {context}");
    let line = numbers[0];
    let confidence = line["confidence"].as_f64().expect("a confidence");
    assert!(confidence >= 0.7, "read surely: {line}");
    let found = corners(line);
    assert!(
        found
            .iter()
            .all(|[x, y]| (0.0..=PHOTO.0).contains(x) && (0.0..=PHOTO.1).contains(y)),
        "the box lies inside the {PHOTO:?} photo: {line}"
    );
    let reference = reference_box();
    assert!(
        found.iter().zip(&reference).all(|(a, b)| {
            (a[0] - b[0]).abs() <= BOX_TOLERANCE && (a[1] - b[1]).abs() <= BOX_TOLERANCE
        }),
        "the box {found:?} is the reference reader's {reference:?}, in the stored photo's pixels"
    );
    found
}

async fn story(processes: &mut Processes, chromium: &Path, driver_binary: &Path, shots: &Path) {
    // Fail here, not after the models ran, when the catcher is not up.
    let catcher = Catcher::new();
    catcher.all_messages().await;
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/policies/marketplace.toml");
    let deployment = Deployment::embedded(processes)
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_POLICY", policy.display().to_string());
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;
    let admin = api.as_token(TOKEN);
    let added = admin
        .add_user(MODERATOR.0, "moderator", Some(MODERATOR.1))
        .await;
    assert_eq!(added.status, 201, "{added}");

    // Two ads of the same boat under the same honest text: one photo
    // carries a phone number, the other does not.
    let run_id = &AdId::new().to_string()[24..];
    let drawn_email = format!("drawn-{run_id}@photo-text.example.com");
    let plain_email = format!("plain-{run_id}@photo-text.example.com");
    let text = "Small fishing boat, good condition";
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let drawn = api.submitted(text, &drawn_email, &root.join(DRAWN)).await;
    let plain = api
        .submitted(text, &plain_email, &fixture("vehicle/boats_nagasaki.jpg"))
        .await;

    // The submitter of the drawn photo learns only that a person looks.
    let (_, public) = api.until_decided(&drawn).await;
    assert_eq!(public["status"], "in_review", "{public}");
    assert_eq!(
        public["message"], "A person is checking your ad",
        "{public}"
    );
    let shown = public.to_string();
    assert!(
        public.get("text_in_image").is_none() && !shown.contains("7946"),
        "what was read in the photo is for moderators: {public}"
    );
    let (_, public) = api.until_decided(&plain).await;
    assert_eq!(public["status"], "approved", "{public}");

    // The moderator sees the number, where it is, and why the ad waits.
    let ad = admin.admin_ad(&drawn).await;
    assert_eq!(ad.status, 200, "{ad}");
    let read_box = assert_the_number_is_read(&ad["text_in_image"], &ad.body);
    let reason = ad["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Text in the photo"), "{ad}");
    let queue = admin.reviews().await;
    assert_eq!(queue.status, 200, "{queue}");
    assert_eq!(queue["total"], 1, "only the drawn photo waits: {queue}");
    let item = &queue["ads"][0];
    assert_eq!(item["id"], drawn.as_str(), "{queue}");
    assert_the_number_is_read(&item["text_in_image"], item);
    assert!(
        item["suggestion"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("Text in the photo"),
        "{item}"
    );
    let ad = admin.admin_ad(&plain).await;
    assert_eq!(ad.status, 200, "{ad}");
    assert_eq!(ad["text_in_image"], json!([]), "nothing read: {ad}");
    assert_eq!(ad["category"], "vehicles", "{ad}");

    // The approved boat's submitter hears once; the other, not yet.
    let (subject, _) = catcher.only_email_to(&plain_email).await;
    assert!(subject.contains("approved"), "{subject}");
    assert!(catcher.messages_to(&drawn_email).await.is_empty());

    let page = (api.base.as_str(), drawn.as_str(), read_box.as_slice());
    console(processes, page, chromium, driver_binary, shots).await;
}

/// The moderator signs in to the console (`page`: the server, the drawn
/// ad, the box read there): the drawn ad is shown with one box over its
/// photo, at the read corners, and the number listed beside it.
async fn console(
    processes: &Processes,
    (base, drawn, read_box): (&str, &str, &[[f64; 2]]),
    chromium: &Path,
    driver_binary: &Path,
    shots: &Path,
) {
    let driver = Chromedriver::start(driver_binary, &processes.dir).await;
    let profile = processes.dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let client = open_browser(&driver, chromium, &profile).await;
    client
        .goto(&format!("{base}/admin"))
        .await
        .expect("open /admin");
    sign_in(&client).await;
    until(
        &client,
        "the drawn ad with its photo and one box",
        STEP_TIMEOUT,
        &format!(
            "const image = document.getElementById('current-image');
             return document.getElementById('current').dataset.id === '{drawn}'
                 && !image.hidden && image.complete && image.naturalWidth > 0
                 && document.getElementById('current-image-boxes').dataset.boxes === '1'
                 && !document.getElementById('current-photo-text').hidden;"
        ),
    )
    .await;
    let drawn_on_page = run(
        &client,
        "const image = document.getElementById('current-image');
         const overlay = document.getElementById('current-image-boxes');
         const shown = image.getBoundingClientRect();
         return {
             natural: [image.naturalWidth, image.naturalHeight],
             shown: [shown.width, shown.height],
             polygons: [...overlay.querySelectorAll('polygon.text-box-edge')]
                 .map((p) => p.getAttribute('points')),
             lines: [...document.querySelectorAll('#current-photo-lines li')]
                 .map((li) => li.innerText.replace(/\\s+/g, ' ').trim()),
         };",
    )
    .await;
    let number = |value: &Value| value.as_f64().expect("a number");
    assert_eq!(
        [
            number(&drawn_on_page["natural"][0]),
            number(&drawn_on_page["natural"][1])
        ],
        [PHOTO.0, PHOTO.1],
        "the stored photo, at its own size: {drawn_on_page}"
    );
    let polygons = drawn_on_page["polygons"].as_array().expect("polygons");
    assert_eq!(polygons.len(), 1, "one box: {drawn_on_page}");
    let scale = [
        number(&drawn_on_page["shown"][0]) / PHOTO.0,
        number(&drawn_on_page["shown"][1]) / PHOTO.1,
    ];
    let points: Vec<f64> = polygons[0]
        .as_str()
        .expect("points")
        .split([' ', ','])
        .map(|n| n.parse().expect("a number"))
        .collect();
    // The API's corners scaled to the photo's shown size (the page rounds
    // to a tenth of a pixel).
    let expected: Vec<f64> = read_box
        .iter()
        .flat_map(|[x, y]| [x * scale[0], y * scale[1]])
        .collect();
    assert!(
        points.len() == 8
            && points
                .iter()
                .zip(&expected)
                .all(|(a, b)| (a - b).abs() < 0.2),
        "the box at {expected:?} over the photo as shown: {drawn_on_page}"
    );
    let lines = drawn_on_page["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{drawn_on_page}");
    let listed = lines[0].as_str().unwrap_or_default();
    assert!(
        listed.starts_with("1 ") && listed.contains(NUMBER),
        "the number is listed beside the photo: {drawn_on_page}"
    );
    // Keep the photo in view for the screenshot.
    run(
        &client,
        "document.getElementById('current-image').scrollIntoView({block: 'center'}); return true;",
    )
    .await;
    screenshot(&client, shots, "console.png").await;
    client.close().await.expect("close the browser");
}

/// Signs in through the console's form.
async fn sign_in(client: &Client) {
    until(
        client,
        "the sign-in form",
        STEP_TIMEOUT,
        "return !document.getElementById('signin').hidden;",
    )
    .await;
    for (css, value) in [
        ("#signin-name", MODERATOR.0),
        ("#signin-password", MODERATOR.1),
    ] {
        let field = client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"));
        field.send_keys(value).await.expect("type");
    }
    client
        .find(Locator::Css("#signin-button"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("sign in");
}
