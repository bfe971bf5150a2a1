//! The whole pipeline as users run it: the real `adpipe` binary, real
//! photos, real services. Submit a vehicle and a non-vehicle, watch them
//! go from pending to decided, fetch the approved image, and read both
//! emails in the SMTP catcher.
//!
//! Twice: on the embedded defaults (`adpipe serve`: SQLite, local disk,
//! built-in queue), and as separate `adpipe api` + `adpipe worker`
//! processes on PostgreSQL + RabbitMQ + S3 (scripts/dev-services.sh starts
//! the S3 server and the catcher). A missing service fails the test.

mod support;

use adpipe_core::AdId;
use support::{Api, Catcher, Deployment, Processes, drop_postgres, fixture, fresh_postgres};

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

    let cat = api
        .submitted(
            "Sweet cat looking for a home",
            &cat_owner,
            &fixture("other/cat_chelsea.png"),
        )
        .await;

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
    assert_eq!(image.status(), 403, "a rejected ad's image is not public");

    let refused = api.status("not-an-id").await;
    assert_eq!((refused.status, refused.code()), (400, Some("invalid_id")));
    let unknown = api.status(AdId::new()).await;
    assert_eq!((unknown.status, unknown.code()), (404, Some("not_found")));

    // The policy's text rules, after the models: a payment scam is rejected
    // with what was found, contact details go to a person.
    let scammer = format!("scam-{}@example.com", &run[16..]);
    let scam = api
        .submitted(
            "Family car, one owner. Pay by W3STERN UNION only, I am abroad",
            &scammer,
            &fixture("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    let caller = api
        .submitted(
            "Family car, one owner, call 07700 900123",
            &format!("caller-{}@example.com", &run[16..]),
            &fixture("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    let (_, decided) = api.until_decided(&scam).await;
    assert_eq!(decided["status"], "rejected", "{decided}");
    let reason = decided["reason"].as_str().expect("reason");
    assert!(reason.contains("money transfer"), "{reason}");
    assert!(reason.contains("W3STERN UNION"), "{reason}");
    let (_, decided) = api.until_decided(&caller).await;
    assert_eq!(decided["status"], "in_review", "{decided}");

    let catcher = Catcher::new();
    let (subject, _) = catcher.only_email_to(&scammer).await;
    assert_eq!(subject, "Your ad was not approved");
    let (subject, plain) = catcher.only_email_to(&seller).await;
    assert_eq!(subject, "Your ad was approved (car)");
    assert!(
        plain.contains(&format!("{}/?id={car}", api.base)),
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
    let data = processes.dir.join("data");
    let deployment = Deployment::embedded(&processes).with("ADPIPE_LOG_JSON", "true");
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;

    let (car, _) = vehicle_approved_and_cat_rejected(&api).await;
    assert!(data.join("adpipe.db").exists(), "SQLite in the data dir");
    assert!(
        data.join(format!("blobs/images/{car}.jpg")).exists(),
        "the image on local disk, named by the ad id"
    );

    // Ready, with the worker's model loaded in this process.
    let ready: serde_json::Value = api
        .http
        .get(format!("{}/readyz", api.base))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["model"]["ok"], true, "{ready}");

    // Prometheus sees what happened, in its text format.
    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let metrics = prometheus_samples(&text);
    for series in [
        "adpipe_ads_decided_total{status=\"approved\"}",
        "adpipe_ads_decided_total{status=\"rejected\"}",
        "adpipe_tagging_duration_seconds_count",
        "adpipe_ads{status=\"approved\"}",
        "adpipe_ads_submitted_total",
    ] {
        assert!(
            metrics.get(series).is_some_and(|n| *n >= 1.0),
            "{series}:\n{text}"
        );
    }

    // JSON logs: the decision's line carries the ad's id in its span.
    let logs = processes.logs();
    let decided = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["fields"]["message"] == "decided" && line["span"]["ad_id"] == car.as_str()
        });
    let decided = decided.unwrap_or_else(|| panic!("no JSON line of {car}'s decision:\n{logs}"));
    assert_eq!(decided["span"]["name"], "ad", "{decided}");
    assert!(
        decided["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|span| span["ad_id"] == car.as_str())),
        "{decided}"
    );
    processes.stop_gracefully();
}

/// `series value` lines of the Prometheus text format, by series; every
/// line that is not a comment must be one.
fn prometheus_samples(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {line}"));
            let value = match value {
                "+Inf" => f64::INFINITY,
                value => value
                    .parse()
                    .unwrap_or_else(|_| panic!("not a number: {line}")),
            };
            (series.to_owned(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_rabbitmq_and_s3_with_separate_api_and_worker() {
    let (admin, name, database_url) = fresh_postgres("adpipe_e2e").await;

    let mut processes = Processes::new();
    let deployment = Deployment::services(&processes, &database_url, "adpipe.e2e");
    let env = &deployment.vars;
    processes.run(&["migrate"], env);
    processes.spawn("api", &["api"], env);
    processes.spawn("worker", &["worker"], env);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;

    let (car, _) = vehicle_approved_and_cat_rejected(&api).await;
    let stored = deployment
        .blobs()
        .get(&format!("images/{car}.jpg"))
        .await
        .expect("the image is in the S3 bucket");
    assert!(!stored.is_empty());
    assert!(
        !processes.dir.join("unused").exists(),
        "nothing written to local disk"
    );
    // Secrets stay out of the logs and out of `adpipe config`.
    let config = processes
        .command(&["config"], env)
        .output()
        .expect("config");
    let shown = String::from_utf8_lossy(&config.stdout);
    assert!(shown.contains("secret_key = \"***\""), "{shown}");
    processes.stop_gracefully();
    let logs = processes.logs();
    assert!(
        logs.contains("amqp://guest:***@"),
        "the broker is named, redacted"
    );
    for secret in [deployment.get("ADPIPE_S3_SECRET_KEY"), "guest:guest"] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
        assert!(!shown.contains(secret), "{secret} appears in adpipe config");
    }
    drop(processes);
    drop_postgres(admin, &name).await;
}

/// A 121-megapixel PNG (grey, so it compresses to a few hundred KiB), made
/// here rather than committed.
fn huge_png(path: &std::path::Path, side: u32) {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let pixels = vec![128u8; side as usize * side as usize];
    // Sub turns each row into one value and zeros, which the fast
    // compressor packs to almost nothing.
    PngEncoder::new_with_quality(file, CompressionType::Fast, FilterType::Sub)
        .write_image(&pixels, side, side, image::ExtendedColorType::L8)
        .expect("encode");
}

/// One image-limits setting reaches the API and the worker: with the limit
/// raised, an image above the default is decided, not accepted by the API
/// and then failed by the worker's compiled-in default.
#[tokio::test(flavor = "multi_thread")]
async fn a_raised_image_limit_reaches_the_worker() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes).with("ADPIPE_MAX_IMAGE_PIXELS", "150000000");
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;

    let photo = processes.dir.join("huge.png");
    huge_png(&photo, 11_000);
    let (code, _, body) = api
        .submit("A very large photo", "big@example.com", &photo)
        .await;
    assert_eq!(code, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let (seen, decided) = api.until_decided(&id).await;
    assert_ne!(
        seen.last().map(String::as_str),
        Some("failed"),
        "the worker must decode what the API accepted: {decided}"
    );
    processes.stop_gracefully();
}

/// A stop asked for while the models load and warm up (seconds, more on
/// a busy machine: an orchestrator restarting a worker that just started)
/// ends the process cleanly, before it takes any work, instead of SIGTERM's
/// default action killing it.
#[test]
fn a_stop_while_the_models_load_ends_cleanly() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes);
    processes.spawn("serve", &["serve"], &deployment.vars);
    // The ONNX Runtime library is loaded first; the models, and their
    // warm-up on every batch size, take a second or more after it.
    let started = std::time::Instant::now();
    while !processes.logs().contains("loaded ONNX Runtime") {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "adpipe serve did not load ONNX Runtime:\n{}",
            processes.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        !processes.logs().contains("models warmed up"),
        "too late: the models were already warm, so this test would show nothing"
    );
    processes.stop_gracefully();
    let logs = processes.logs();
    assert!(logs.contains("stopped while starting"), "{logs}");
    assert!(!logs.contains("listening on"), "{logs}");
}

/// Passwords with characters that end a URL's authority (`/`, `?`, `#`,
/// `@`) stay hidden in `adpipe config` and in start-up errors.
#[test]
fn passwords_with_reserved_characters_never_show() {
    let processes = Processes::new();
    for password in ["Se/cr3t", "Se?cr3t", "Se#cr3t", "Se@cr3t"] {
        let env = [
            (
                "ADPIPE_DATABASE_URL",
                format!("postgres://u:{password}@127.0.0.1:1/ads"),
            ),
            (
                "ADPIPE_AMQP_URL",
                format!("amqp://u:{password}@127.0.0.1:1/%2f"),
            ),
        ];
        let config = processes
            .command(&["config"], &env)
            .output()
            .expect("config");
        assert!(config.status.success());
        let shown = String::from_utf8_lossy(&config.stdout);
        assert!(
            shown.contains("postgres://u:***@127.0.0.1:1/ads"),
            "{shown}"
        );
        assert!(shown.contains("amqp://u:***@127.0.0.1:1/%2f"), "{shown}");
        // Nothing listens on port 1: the start-up error names the database.
        let migrate = processes
            .command(&["migrate"], &env)
            .output()
            .expect("migrate");
        assert!(!migrate.status.success());
        let error = String::from_utf8_lossy(&migrate.stderr);
        assert!(error.contains("cannot open the database"), "{error}");
        for (what, text) in [("adpipe config", &shown), ("adpipe migrate", &error)] {
            assert!(
                !text.contains(password),
                "{password} leaked by {what}:\n{text}"
            );
        }
    }
}

/// With `ADPIPE_METRICS_ADDR`, `adpipe serve` keeps `/metrics` off its
/// public port: the API's series (the gauges counted at scrape time
/// included) and `/healthz` are served on the metrics address only, as a
/// site behind an Ingress wants.
#[tokio::test(flavor = "multi_thread")]
async fn a_metrics_address_takes_metrics_off_the_public_port() {
    let mut processes = Processes::new();
    let metrics_port = support::free_port();
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"));
    processes.spawn("serve", &["serve"], &deployment.vars);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let http = reqwest::Client::new();
    let public = http
        .get(format!("http://127.0.0.1:{}/metrics", deployment.port))
        .send()
        .await
        .expect("GET /metrics on the public port");
    assert_eq!(public.status(), 404);
    let private = http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("GET /metrics on the metrics address");
    assert_eq!(private.status(), 200);
    let text = private.text().await.expect("metrics text");
    assert!(
        text.contains("adpipe_ads{status=\"pending\"}"),
        "the API's gauges are counted on the metrics address too:\n{text}"
    );
    let health = http
        .get(format!("http://127.0.0.1:{metrics_port}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200);
    processes.stop_gracefully();
}
