//! `GET /metrics`: the API's requests counted by route template (never by
//! raw path), submissions counted, the ads and the queue gauged at scrape
//! time, all in valid Prometheus text; and no `/metrics` without a handle.

mod support;

use std::collections::HashMap;

use adpipe_core::AdId;
use reqwest::Method;
use support::{ApiClient, Setup, TestApp, photo};

/// One sample of the exposition: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

fn is_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// A strict reader of the Prometheus text format (version 0.0.4): every
/// line is a `# HELP`, a `# TYPE`, or a sample whose family was typed.
fn parse(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name.unwrap_or_else(|| panic!("a comment without a name: {line}"));
            assert!(is_name(name, true), "bad name in {line}");
            match kind {
                Some("TYPE") => {
                    let kind = rest.unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "bad type: {line}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "typed twice: {line}"
                    );
                }
                Some("HELP") => {}
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("a value after the name");
        let name = &line[..name_end];
        assert!(is_name(name, true), "bad metric name in {line}");
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(inner) => parse_labels(inner, line),
            None => (HashMap::new(), &line[name_end..]),
        };
        assert!(rest.starts_with(' '), "a space before the value: {line}");
        let rest = &rest[1..];
        let mut fields = rest.split(' ');
        let value = fields.next().expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("bad value {number:?} in {line}")),
        };
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("bad timestamp in {line}"));
        }
        assert!(fields.next().is_none(), "trailing text in {line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix).filter(|base| {
                    types
                        .get(*base)
                        .is_some_and(|t| t != "counter" && t != "gauge")
                })
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no # TYPE for {name}: {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// `a="x",b="y\"z"}` → the labels and the text after the `}`.
fn parse_labels<'a>(mut inner: &'a str, line: &str) -> (HashMap<String, String>, &'a str) {
    let mut labels = HashMap::new();
    loop {
        if let Some(rest) = inner.strip_prefix('}') {
            return (labels, rest);
        }
        let eq = inner
            .find("=\"")
            .unwrap_or_else(|| panic!("label=\"value\" in {line}"));
        let label = &inner[..eq];
        assert!(is_name(label, false), "bad label name {label:?} in {line}");
        let mut value = String::new();
        let mut chars = inner[eq + 2..].char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break eq + 2 + i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => panic!("bad escape in {line}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line}"),
            }
        };
        assert!(
            labels.insert(label.to_owned(), value).is_none(),
            "label {label} twice in {line}"
        );
        inner = &inner[end..];
        if let Some(rest) = inner.strip_prefix(',') {
            assert!(!rest.starts_with('}'), "trailing comma in {line}");
            inner = rest;
        } else {
            assert!(
                inner.starts_with('}'),
                "labels need commas between them: {line}"
            );
        }
    }
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|sample| sample.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().copied()
}

/// A histogram's buckets rise with `le` up to `+Inf`, which equals `_count`.
fn check_histogram(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let bucket = format!("{name}_bucket");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|sample| {
            sample.name == bucket
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|sample| {
            let le = match sample.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().expect("le is a number"),
            };
            (le, sample.value)
        })
        .collect();
    assert!(buckets.len() > 2, "{name} {labels:?} has buckets");
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1));
    let (last_le, last) = *buckets.last().expect("buckets");
    assert_eq!(last_le, f64::INFINITY);
    let count = value(samples, &format!("{name}_count"), labels).expect("_count");
    assert_eq!(last, count, "+Inf bucket = _count");
    assert!(value(samples, &format!("{name}_sum"), labels).expect("_sum") >= 0.0);
    count
}

// One test: the recorder is global to this test binary.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_route_and_gauge_the_ads() {
    // Without a handle there is no /metrics.
    let plain = TestApp::serve(Setup::default()).await;
    assert_eq!(plain.metrics().await.status, 404);

    let handle = adpipe_api::metrics::install_recorder().expect("recorder");
    let again = adpipe_api::metrics::install_recorder().expect("the same recorder");
    let app = TestApp::serve(Setup {
        metrics: Some(again),
        ..Setup::default()
    })
    .await;
    drop(handle);

    let submitted = app
        .post_ad(
            "Family car, one owner",
            "seller@example.com",
            photo("vehicle/car_rear_motionblur.jpg"),
        )
        .await;
    assert_eq!(submitted.status, 202);
    let id = submitted.id().to_owned();
    for _ in 0..2 {
        assert_eq!(app.status(&id).await.status, 200);
    }
    let unknown = AdId::new().to_string();
    assert_eq!(app.status(&unknown).await.status, 404);
    let stray = format!("/no-such-page-{}", AdId::new());
    assert_eq!(app.get(&stray).await.status, 404);
    assert_eq!(app.call(Method::DELETE, "/ads", None).await.status, 405);

    let scrape = app.metrics().await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .header("content-type")
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        scrape.headers
    );
    let text = scrape.text().into_owned();
    let samples = parse(&text);

    let requests = |route: &str, method: &str, status: &str| {
        value(
            &samples,
            "adpipe_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/ads", "POST", "202"), Some(1.0), "{text}");
    assert_eq!(requests("/ads/{id}", "GET", "200"), Some(2.0), "{text}");
    assert_eq!(requests("/ads/{id}", "GET", "404"), Some(1.0), "{text}");
    assert_eq!(requests("/ads", "DELETE", "405"), Some(1.0), "{text}");
    // The stray page (the request without a handle came before the
    // recorder was installed).
    assert_eq!(requests("unmatched", "GET", "404"), Some(1.0), "{text}");
    assert_eq!(
        value(&samples, "adpipe_ads_submitted_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        check_histogram(
            &samples,
            "adpipe_http_request_duration_seconds",
            &[("route", "/ads/{id}")]
        ),
        3.0
    );
    // Seconds, with the configured buckets.
    assert!(
        samples.iter().any(
            |sample| sample.name == "adpipe_http_request_duration_seconds_bucket"
                && sample.labels["le"] == "0.005"
        ),
        "{text}"
    );
    // Raw paths and ids never become labels.
    for raw in [id.as_str(), unknown.as_str(), stray.as_str()] {
        assert!(!text.contains(raw), "{raw} appears in\n{text}");
    }
    let routes: Vec<&str> = samples
        .iter()
        .filter_map(|sample| sample.labels.get("route").map(String::as_str))
        .collect();
    assert!(
        routes
            .iter()
            .all(|route| route.starts_with('/') || *route == "unmatched"),
        "{routes:?}"
    );

    // Gauged at scrape time from the database.
    assert_eq!(
        value(&samples, "adpipe_ads", &[("status", "pending")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "adpipe_ads", &[("status", "approved")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "adpipe_queue_depth", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE adpipe_ads gauge"), "{text}");
    assert!(text.contains("# TYPE adpipe_http_requests_total counter"));
    assert!(text.contains("# TYPE adpipe_http_request_duration_seconds histogram"));
    assert!(text.contains("# HELP adpipe_ads_submitted_total"));

    // What `adpipe worker` serves on ADPIPE_METRICS_ADDR: /metrics and
    // /healthz, nothing else.
    metrics::histogram!("adpipe_batch_size").record(3.0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let side = ApiClient::new(format!(
        "http://{}",
        listener.local_addr().expect("address")
    ));
    tokio::spawn(adpipe_api::serve(
        listener,
        adpipe_api::metrics::standalone_router(
            adpipe_api::metrics::install_recorder().expect("recorder"),
        ),
        adpipe_api::ServerLimits::default(),
        std::future::pending(),
    ));
    let text = side.metrics().await.text().into_owned();
    let samples = parse(&text);
    assert_eq!(check_histogram(&samples, "adpipe_batch_size", &[]), 1.0);
    assert_eq!(
        value(&samples, "adpipe_batch_size_bucket", &[("le", "2")]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, "adpipe_batch_size_bucket", &[("le", "4")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(side.health().await.status, 200);
    assert_eq!(side.get("/ads").await.status, 404);
}
