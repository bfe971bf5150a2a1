//! The web page in a real browser: `adpipe serve` on the embedded
//! defaults, Debian's chromium driven headless through chromedriver. A
//! user picks a photo (and sees its preview), sends an ad that the API
//! refuses and reads why next to the form, sends it right and watches it
//! go from pending to approved with its category and image, reloads the
//! page's link to it, looks it up by id, appeals a rejected ad from the
//! link of its rejection email, and reads the API docs.
//! Screenshots land in target/web-page/.
//!
//! Needs chromium and chromedriver (`scripts/install-chromium.sh`; their
//! paths from `ADPIPE_TEST_CHROMIUM` and `ADPIPE_TEST_CHROMEDRIVER`,
//! /usr/bin/chromium and /usr/bin/chromedriver by default; see
//! tests/support/browser.rs). The decision emails go to 127.0.0.1:1025 as
//! usual; the test reads the rejection's (its appeal link) from the
//! catcher's API on 127.0.0.1:1080.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use support::browser::{
    Chromedriver, STEP_TIMEOUT, assert_nothing_from_elsewhere, browser_binaries, holds,
    open_browser, run, screenshot, text_of, until,
};
use support::{Api, Catcher, DECISION_TIMEOUT, Deployment, Processes, fixture};

/// The whole story, browser start included, or the test fails.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

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
    let public = api.status(&id).await;
    assert_eq!(public.status, 200);
    assert_eq!(
        (public["status"].as_str(), public["category"].as_str()),
        (Some("approved"), Some("car")),
        "the page shows what the API says: {public}"
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

    appeal_from_the_email(&client, &api, &run_id, shots).await;

    // The API docs, rendered from /openapi.json by Swagger UI: every
    // operation in it.
    let openapi = api.openapi().await;
    assert_eq!(
        openapi.status, 200,
        "the API serves its OpenAPI document at /openapi.json"
    );
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
    // Swagger UI's operations: `.opblock`, each with its method and its
    // path as written in the document (`data-path`).
    let shown = until(
        &client,
        "the operations in the docs",
        STEP_TIMEOUT,
        "const shown = Array.from(document.querySelectorAll('.opblock')).map((block) => {
             const method = block.querySelector('.opblock-summary-method');
             const path = block.querySelector('[data-path]');
             return method && path ? method.textContent.trim() + ' ' + path.dataset.path : '';
         }).filter((operation) => operation);
         return shown.length > 0 && shown;",
    )
    .await;
    let shown: Vec<String> = shown
        .as_array()
        .expect("a list")
        .iter()
        .map(|operation| operation.as_str().unwrap_or_default().to_owned())
        .collect();
    for operation in &operations {
        assert!(
            shown.contains(operation),
            "{operation} is not in the docs: {shown:?}"
        );
    }
    // Swagger UI's own <main> is a region inside the page's: one main
    // landmark.
    until(
        &client,
        "one main landmark on the docs page",
        STEP_TIMEOUT,
        "return document.querySelectorAll('main:not([role])').length === 1;",
    )
    .await;
    screenshot(&client, shots, "docs.png").await;
    assert_nothing_from_elsewhere(&client, &base).await;

    client.close().await.expect("close the browser");
    drop(driver);
}

/// A rejected ad's one appeal: the link of its rejection email opens the
/// form; the page takes the secret out of the address, sends the appeal
/// and confirms it; the ad is back in review.
async fn appeal_from_the_email(client: &fantoccini::Client, api: &Api, run_id: &str, shots: &Path) {
    let email = format!("appeal-{}@example.com", &run_id[16..]);
    let id = api
        .submitted(
            "A cat from the browser",
            &email,
            &fixture("other/cat_chelsea.png"),
        )
        .await;
    let (_, decided) = api.until_decided(&id).await;
    assert_eq!(decided["status"], "rejected", "{decided}");
    let (_, plain) = Catcher::new().only_email_to(&email).await;
    let link = plain
        .split_whitespace()
        .find(|word| word.contains("&appeal="))
        .unwrap_or_else(|| panic!("no appeal link in:\n{plain}"));
    client.goto(link).await.expect("open the appeal link");
    until(
        client,
        "the appeal form of the rejected ad",
        STEP_TIMEOUT,
        "return document.getElementById('status-badge').dataset.status === 'rejected'
             && !document.getElementById('appeal-form').hidden;",
    )
    .await;
    let url = client.current_url().await.expect("url");
    assert_eq!(
        url.query(),
        Some(format!("id={id}").as_str()),
        "the address no longer holds the secret"
    );
    client
        .find(Locator::Css("#appeal-text"))
        .await
        .expect("appeal text")
        .send_keys("It is a toy car. Please look again.")
        .await
        .expect("type the appeal");
    screenshot(client, shots, "appeal-form.png").await;
    client
        .find(Locator::Css("#appeal-button"))
        .await
        .expect("appeal button")
        .click()
        .await
        .expect("send the appeal");
    let done = until(
        client,
        "the appeal's confirmation",
        STEP_TIMEOUT,
        "const done = document.getElementById('appeal-done');
         return !done.hidden && document.getElementById('appeal-form').hidden && done.innerText;",
    )
    .await;
    assert!(
        done.as_str().unwrap_or_default().contains("Appeal sent"),
        "{done}"
    );
    until(
        client,
        "the ad back in review",
        STEP_TIMEOUT,
        "return document.getElementById('status-badge').dataset.status === 'in_review'
             && document.getElementById('status-message').textContent === 'Your appeal is being reviewed';",
    )
    .await;
    screenshot(client, shots, "appealed.png").await;
}
