//! `adpipe loadgen`: drives a running adpipe over HTTP and measures it.
//!
//! - `--mode pipeline` (default) submits real photos and polls each accepted
//!   ad until it is decided: accepted/s, decided/s, submit latency and
//!   submit → decision latency.
//! - `--mode submit`: `POST /ads` alone, nothing polled.
//! - `--mode status`: submits `--status-ads` ads, waits until they are
//!   decided, then asks for their status in turn: `GET /ads/{id}` alone.
//!
//! `--rate N` is an open loop: request i is due at start + i/N whatever
//! happened to the ones before, and its latency counts from that due time.
//! A server that falls behind then shows as latency, instead of as a
//! generator that quietly slows down with it (coordinated omission).
//! `--rate max` is a closed loop: `--concurrency` clients, each sending its
//! next request when the last one was answered; latency counts from the send.
//!
//! The generator stays cheap: the multipart bodies are built once, as
//! `Bytes` shared by every request, and every URL is parsed once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::ValueEnum;
use hdrhistogram::Histogram;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde::{Deserialize, Serialize, Serializer};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::assets;

const DEFAULT_PHOTOS: &str = "tests/fixtures/photos";
/// Files bigger than this are not photos anyone uploads; refuse to read them.
const MAX_PHOTO_BYTES: u64 = 64 * 1024 * 1024;
const BOUNDARY: &str = "adpipe-loadgen-7f3c9e2a5d8b41c6";

#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// The adpipe API to drive (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    url: Url,
    /// `pipeline`: submit and watch each ad until decided; `submit`:
    /// `POST /ads` alone; `status`: `GET /ads/{id}` alone.
    #[arg(long, value_enum, default_value_t = Mode::Pipeline)]
    mode: Mode,
    /// Requests per second on a fixed schedule (open loop), or `max`: as
    /// fast as `--concurrency` clients go (closed loop) [default: 10; max
    /// with --mode status].
    #[arg(long, value_name = "N|max")]
    rate: Option<Rate>,
    /// Requests in flight at most (submissions and polls each), and the
    /// HTTP connections kept open.
    #[arg(long, default_value_t = 32, value_name = "C", value_parser = clap::value_parser!(u16).range(1..=4096))]
    concurrency: u16,
    /// How long to send requests, in seconds.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds, value_name = "SECS")]
    duration: f64,
    /// JPEG and PNG files under this folder are sent in turn, read once
    /// [default: tests/fixtures/photos].
    #[arg(long, value_name = "DIR")]
    photos: Option<PathBuf>,
    /// How often to ask for the status of an ad not decided yet; also the
    /// resolution of the submit → decision latency.
    #[arg(long, default_value_t = 100, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    poll_interval: u64,
    /// Stop watching an ad this long after it was accepted; it counts as
    /// not decided.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    decide_timeout: u64,
    /// `--mode status`: how many ads to submit first and ask for in turn.
    #[arg(long, default_value_t = 100, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    status_ads: u64,
    /// `--mode status`: measure without waiting for those ads to be decided
    /// (e.g. against `adpipe api` with no worker).
    #[arg(long)]
    no_wait: bool,
    /// Give up on one request after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// Threads of the generator itself [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The submitter's email on every ad.
    #[arg(long, default_value = "loadgen@example.com")]
    email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Pipeline,
    Submit,
    Status,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Submit => "submit",
            Self::Status => "status",
        }
    }
}

/// Requests per second on a fixed schedule, or as fast as they are answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Max,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        match text.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Self::PerSecond(rate)),
            _ => Err(format!(
                "`{text}` is neither a positive number of requests per second nor `max`"
            )),
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::PerSecond(rate) => serializer.serialize_f64(*rate),
            Self::Max => serializer.serialize_str("max"),
        }
    }
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e7 => Ok(secs),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

// ---------------------------------------------------------------- photos

/// One multipart `POST /ads` body per photo, built once.
pub struct Bodies {
    pub bodies: Vec<Bytes>,
    pub content_type: HeaderValue,
    pub mean_photo_bytes: u64,
}

/// Every JPEG and PNG file under `root` (or `root` itself if it is one),
/// sorted by path.
pub fn find_photos(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn is_photo(path: &Path) -> bool {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ["jpg", "jpeg", "png"].contains(&ext.to_ascii_lowercase().as_str()))
    }
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, found)?;
            } else if is_photo(&path) {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    if root.is_file() {
        found.push(root.to_owned());
    } else {
        walk(root, &mut found)?;
    }
    found.sort();
    if found.is_empty() {
        bail!(
            "no JPEG or PNG files under {} (pass --photos DIR)",
            root.display()
        );
    }
    Ok(found)
}

/// Reads the photos and builds a `multipart/form-data` body for each: the
/// fields `text`, `email` and `image`, as a browser would send them.
pub fn build_bodies(photos: &[PathBuf], email: &str) -> anyhow::Result<Bodies> {
    let mut images = Vec::with_capacity(photos.len());
    for path in photos {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > MAX_PHOTO_BYTES {
            bail!("{} is larger than 64 MiB", path.display());
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        images.push((path, bytes));
    }
    // The boundary must not occur in any part; add a suffix until it does not.
    let mut boundary = BOUNDARY.to_owned();
    while images.iter().any(|(_, bytes)| {
        bytes
            .windows(boundary.len())
            .any(|w| w == boundary.as_bytes())
    }) {
        boundary.push('x');
    }
    let mut bodies = Vec::with_capacity(images.len());
    let mut total = 0u64;
    for (path, image) in &images {
        let png = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("png"));
        let (mime, ext) = if png {
            ("image/png", "png")
        } else {
            ("image/jpeg", "jpg")
        };
        let name = path.file_name().map_or_else(
            || "photo".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let mut body = Vec::with_capacity(image.len() + 512);
        let mut field = |headers: &str, value: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        field(
            "Content-Disposition: form-data; name=\"text\"",
            format!("adpipe loadgen: {name}").as_bytes(),
        );
        field(
            "Content-Disposition: form-data; name=\"email\"",
            email.as_bytes(),
        );
        field(
            &format!(
                "Content-Disposition: form-data; name=\"image\"; filename=\"photo.{ext}\"\r\nContent-Type: {mime}"
            ),
            image,
        );
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        total += image.len() as u64;
        bodies.push(Bytes::from(body));
    }
    Ok(Bodies {
        content_type: HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))?,
        mean_photo_bytes: total / images.len().max(1) as u64,
        bodies,
    })
}

// ---------------------------------------------------------------- recording

/// Latencies in microseconds, 3 significant digits, up to an hour.
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latency {
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn summary(&self) -> Percentiles {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if self.0.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: self.0.len(),
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            max_ms: ms(self.0.max()),
            mean_ms: self.0.mean().round() / 1000.0,
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// Requests of one kind: how many, how they ended, how long they took.
#[derive(Default)]
struct Requests {
    tried: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// Of the successful ones, from due (open loop) or sent (closed loop)
    /// to the end of the answer's body.
    latency: Latency,
    /// From due to sent: the generator's own lateness, or waiting for a
    /// free slot under `--concurrency`.
    lag: Latency,
    last_answer: Option<Instant>,
}

/// The accepted ads watched until decided.
#[derive(Default)]
struct Decisions {
    by_status: BTreeMap<String, u64>,
    undecided: u64,
    /// From the submission's due time to the first poll that saw it decided.
    latency: Latency,
    first_accept: Option<Instant>,
    last_decision: Option<Instant>,
    polls: u64,
    poll_errors: BTreeMap<String, u64>,
}

/// How accepted ads are watched until decided, and what was seen.
struct Watcher {
    every: Duration,
    timeout: Duration,
    /// Polls in flight at most.
    permits: Semaphore,
    record: Mutex<Decisions>,
}

impl Watcher {
    fn new(every: Duration, timeout: Duration, concurrency: usize) -> Self {
        Self {
            every,
            timeout,
            permits: Semaphore::new(concurrency),
            record: Mutex::new(Decisions::default()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn earliest(slot: &mut Option<Instant>, at: Instant) {
    *slot = Some(slot.map_or(at, |old| old.min(at)));
}

fn latest(slot: &mut Option<Instant>, at: Instant) {
    *slot = Some(slot.map_or(at, |old| old.max(at)));
}

// ---------------------------------------------------------------- HTTP

/// What the generator talks to, shared by every request.
struct Target {
    client: Client,
    base: Url,
    submit_url: Url,
    bodies: Bodies,
    stop: CancellationToken,
}

enum Answer {
    Expected(Bytes),
    /// An HTTP answer with another status: `"429 rate_limited"`.
    Refused(String),
    /// No HTTP answer: `"timeout"`, `"connect"` …
    Failed(String),
}

async fn call(request: reqwest::RequestBuilder, expected: StatusCode) -> Answer {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Answer::Failed(failure_kind(&error)),
    };
    let status = response.status();
    match response.bytes().await {
        Err(error) => Answer::Failed(failure_kind(&error)),
        Ok(body) if status == expected => Answer::Expected(body),
        Ok(body) => Answer::Refused(refusal(status, &body)),
    }
}

fn failure_kind(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else if error.is_request() {
        "request"
    } else {
        "other"
    };
    kind.to_owned()
}

/// `"{status} {code}"` from the API's `{"error": {"code": …}}`.
fn refusal(status: StatusCode, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: ErrorCode,
    }
    #[derive(Deserialize)]
    struct ErrorCode {
        code: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => format!("{} {}", status.as_u16(), parsed.error.code),
        Err(_) => status.as_u16().to_string(),
    }
}

impl Target {
    fn ad_url(&self, id: &str) -> Option<Url> {
        let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        plain.then(|| self.base.join(&format!("ads/{id}")).ok())?
    }

    /// Submits photo `seq`; the accepted ad's status URL and when the 202 came.
    async fn submit(
        &self,
        seq: u64,
        due: Instant,
        record: &Mutex<Requests>,
    ) -> Option<(Url, Instant)> {
        let body = self.bodies.bodies[(seq % self.bodies.bodies.len() as u64) as usize].clone();
        let sent = Instant::now();
        let request = self
            .client
            .post(self.submit_url.clone())
            .header(CONTENT_TYPE, self.bodies.content_type.clone())
            .body(body);
        let answer = call(request, StatusCode::ACCEPTED).await;
        let done = Instant::now();
        let accepted = match answer {
            Answer::Expected(body) => {
                #[derive(Deserialize)]
                struct Accepted {
                    id: String,
                }
                match serde_json::from_slice::<Accepted>(&body)
                    .ok()
                    .and_then(|accepted| self.ad_url(&accepted.id))
                {
                    Some(url) => Ok(url),
                    None => Err("202 without an id".to_owned()),
                }
            }
            Answer::Refused(kind) | Answer::Failed(kind) => Err(kind),
        };
        let mut record = lock(record);
        record.tried += 1;
        record.lag.record(sent - due);
        latest(&mut record.last_answer, done);
        match accepted {
            Ok(url) => {
                record.ok += 1;
                record.latency.record(done - due);
                Some((url, done))
            }
            Err(kind) => {
                *record.errors.entry(kind).or_default() += 1;
                None
            }
        }
    }

    /// Polls one ad until it is decided, the timeout runs out or the run is
    /// stopped. `due` is when its submission was due.
    async fn watch(&self, url: Url, due: Instant, accepted: Instant, watcher: &Watcher) {
        #[derive(Deserialize)]
        struct Status {
            status: String,
        }
        earliest(&mut lock(&watcher.record).first_accept, accepted);
        let deadline = accepted + watcher.timeout;
        let mut next = accepted + watcher.every;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.stop.cancelled() => break,
            }
            let answer = {
                let _permit = watcher.permits.acquire().await.expect("never closed");
                call(self.client.get(url.clone()), StatusCode::OK).await
            };
            let seen = Instant::now();
            let mut record = lock(&watcher.record);
            record.polls += 1;
            match answer {
                Answer::Expected(body) => match serde_json::from_slice::<Status>(&body) {
                    Ok(status) if status.status != "pending" => {
                        *record.by_status.entry(status.status).or_default() += 1;
                        record.latency.record(seen - due);
                        latest(&mut record.last_decision, seen);
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => *record.poll_errors.entry("200 not JSON".into()).or_default() += 1,
                },
                Answer::Refused(kind) | Answer::Failed(kind) => {
                    *record.poll_errors.entry(kind).or_default() += 1;
                }
            }
            if seen >= deadline {
                break;
            }
            next = (next + watcher.every).max(Instant::now());
        }
        lock(&watcher.record).undecided += 1;
    }

    async fn status(&self, url: &Url, due: Instant, record: &Mutex<Requests>) {
        let sent = Instant::now();
        let answer = call(self.client.get(url.clone()), StatusCode::OK).await;
        let done = Instant::now();
        let mut record = lock(record);
        record.tried += 1;
        record.lag.record(sent - due);
        latest(&mut record.last_answer, done);
        match answer {
            Answer::Expected(_) => {
                record.ok += 1;
                record.latency.record(done - due);
            }
            Answer::Refused(kind) | Answer::Failed(kind) => {
                *record.errors.entry(kind).or_default() += 1;
            }
        }
    }
}

/// Runs `op(seq, due)` on the schedule `rate` asks for until `duration` has
/// passed or `stop` is cancelled, then waits for the operations in flight.
/// Returns when it started.
async fn drive<F, Fut>(
    rate: Rate,
    concurrency: usize,
    duration: Duration,
    stop: &CancellationToken,
    op: F,
) -> Instant
where
    F: Fn(u64, Instant) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    let tasks = TaskTracker::new();
    let start = Instant::now();
    let end = start + duration;
    match rate {
        Rate::PerSecond(rate) => {
            // Each request is due on the schedule; one that waits for a
            // free slot is late, and its latency says so.
            let slots = Arc::new(Semaphore::new(concurrency));
            for seq in 0u64.. {
                let due = start + Duration::from_secs_f64(seq as f64 / rate);
                if due >= end {
                    break;
                }
                if due > Instant::now() {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        () = stop.cancelled() => break,
                    }
                } else if stop.is_cancelled() {
                    break;
                } else {
                    // Behind schedule: catch up, but let the requests run.
                    tokio::task::yield_now().await;
                }
                let (op, slots) = (op.clone(), slots.clone());
                tasks.spawn(async move {
                    let _slot = slots.acquire_owned().await.expect("never closed");
                    op(seq, due).await;
                });
            }
        }
        Rate::Max => {
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..concurrency {
                let (op, next, stop) = (op.clone(), next.clone(), stop.clone());
                tasks.spawn(async move {
                    loop {
                        let now = Instant::now();
                        if now >= end || stop.is_cancelled() {
                            break;
                        }
                        op(next.fetch_add(1, Ordering::Relaxed), now).await;
                    }
                });
            }
        }
    }
    tasks.close();
    tasks.wait().await;
    start
}

// ---------------------------------------------------------------- the report

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub url: String,
    pub rate: Rate,
    /// `scheduled` (open loop) or `sent` (closed loop): where latencies start.
    pub latency_from: &'static str,
    pub concurrency: usize,
    pub duration_s: f64,
    pub photos: usize,
    pub mean_photo_bytes: u64,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// CPU time the generator itself used (user + system, all threads),
    /// and over how long: on a machine it shares with the server, what it
    /// took away. Linux only.
    pub generator_cpu_s: Option<f64>,
    pub elapsed_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit: Option<RequestReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<DecisionReport>,
    /// `--mode status`: the ads submitted first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared: Option<PreparedReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestReport>,
}

#[derive(Debug, Serialize)]
pub struct RequestReport {
    pub tried: u64,
    /// Answered as hoped: 202 for `POST /ads`, 200 for `GET /ads/{id}`.
    pub ok: u64,
    /// By `"{status} {error code}"` or, with no HTTP answer, by kind.
    pub errors: BTreeMap<String, u64>,
    /// From the start to the last answer.
    pub window_s: f64,
    pub tried_per_s: f64,
    pub ok_per_s: f64,
    /// Of the successful requests.
    pub latency_ms: Percentiles,
    /// From due to sent: above a millisecond or so, the generator (or
    /// `--concurrency`) held requests back.
    pub send_lag_ms: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct DecisionReport {
    pub decided: u64,
    pub by_status: BTreeMap<String, u64>,
    /// Still pending when `--decide-timeout` ran out (or at Ctrl-C).
    pub undecided: u64,
    /// From the first 202 to the last decision seen.
    pub window_s: f64,
    pub decided_per_s: f64,
    /// From the submission's due time to the first poll that saw it decided.
    pub latency_ms: Percentiles,
    /// Decisions are seen by polling: latencies are this coarse.
    pub resolution_ms: u64,
    /// `GET /ads/{id}` sent to watch the ads, and how many a second over
    /// the window: load the API carried on top of the submissions.
    pub polls: u64,
    pub polls_per_s: f64,
    pub poll_errors: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct PreparedReport {
    pub submitted: u64,
    pub accepted: u64,
    pub errors: BTreeMap<String, u64>,
    pub decided: u64,
}

fn per_second(count: u64, window: Duration) -> f64 {
    let secs = window.as_secs_f64();
    if secs > 0.0 {
        (count as f64 / secs * 10.0).round() / 10.0
    } else {
        0.0
    }
}

fn round3(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

fn request_report(record: &Requests, start: Instant) -> RequestReport {
    let window = record
        .last_answer
        .map_or(Duration::ZERO, |last| last - start);
    RequestReport {
        tried: record.tried,
        ok: record.ok,
        errors: record.errors.clone(),
        window_s: round3(window.as_secs_f64()),
        tried_per_s: per_second(record.tried, window),
        ok_per_s: per_second(record.ok, window),
        latency_ms: record.latency.summary(),
        send_lag_ms: record.lag.summary(),
    }
}

fn decision_report(record: &Decisions, poll_interval: u64) -> DecisionReport {
    let decided = record.by_status.values().sum();
    let window = match (record.first_accept, record.last_decision) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    DecisionReport {
        decided,
        by_status: record.by_status.clone(),
        undecided: record.undecided,
        window_s: round3(window.as_secs_f64()),
        decided_per_s: per_second(decided, window),
        latency_ms: record.latency.summary(),
        resolution_ms: poll_interval,
        polls: record.polls,
        polls_per_s: per_second(record.polls, window),
        poll_errors: record.poll_errors.clone(),
    }
}

impl Report {
    /// The report as a table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let rate = match self.rate {
            Rate::PerSecond(rate) => format!("open loop at {rate}/s"),
            Rate::Max => format!("closed loop, {} clients", self.concurrency),
        };
        let _ = writeln!(
            out,
            "adpipe loadgen: {} mode, {rate} for {} s against {}; {} photos, {} KiB on average{}",
            self.mode.name(),
            self.duration_s,
            self.url,
            self.photos,
            self.mean_photo_bytes / 1024,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        out.push('\n');
        let mut rows: Vec<(&str, &Percentiles)> = Vec::new();
        let mut errors: Vec<(&str, &BTreeMap<String, u64>)> = Vec::new();
        if let Some(prepared) = &self.prepared {
            let _ = writeln!(
                out,
                "prepared     {} ads submitted, {} accepted, {} decided before measuring",
                prepared.submitted, prepared.accepted, prepared.decided
            );
            errors.push(("prepare", &prepared.errors));
        }
        if let Some(submit) = &self.submit {
            let _ = writeln!(
                out,
                "submissions  {} tried, {} accepted (202), {} errors; {} accepted/s over {} s",
                submit.tried,
                submit.ok,
                submit.errors.values().sum::<u64>(),
                submit.ok_per_s,
                submit.window_s
            );
            rows.push(("submit", &submit.latency_ms));
            errors.push(("submit", &submit.errors));
        }
        if let Some(decisions) = &self.decisions {
            let statuses: Vec<String> = decisions
                .by_status
                .iter()
                .map(|(status, count)| format!("{status} {count}"))
                .collect();
            let _ = writeln!(
                out,
                "decisions    {} decided ({}), {} not decided in time; {} decided/s over {} s (first accept → last decision)",
                decisions.decided,
                statuses.join(", "),
                decisions.undecided,
                decisions.decided_per_s,
                decisions.window_s
            );
            rows.push(("submit → decision", &decisions.latency_ms));
            errors.push(("poll", &decisions.poll_errors));
        }
        if let Some(status) = &self.status {
            let _ = writeln!(
                out,
                "status       {} GET /ads/{{id}}, {} ok (200), {} errors; {} req/s over {} s",
                status.tried,
                status.ok,
                status.errors.values().sum::<u64>(),
                status.ok_per_s,
                status.window_s
            );
            rows.push(("GET /ads/{id}", &status.latency_ms));
            errors.push(("status", &status.errors));
        }
        if let Some(cpu) = self.generator_cpu_s {
            let _ = writeln!(
                out,
                "generator    {cpu} s of CPU over {} s ({:.2} cores), this process alone",
                self.elapsed_s,
                cpu / self.elapsed_s.max(0.001)
            );
        }
        if let Some(lag) = self.submit.as_ref().or(self.status.as_ref()) {
            rows.push(("send lag", &lag.send_lag_ms));
        }
        let _ = writeln!(
            out,
            "\n{:<20} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "latency (ms)", "p50", "p90", "p99", "max", "count"
        );
        for (name, p) in rows {
            let _ = writeln!(
                out,
                "{name:<20} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8}",
                p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms, p.count
            );
        }
        let mut notes = vec![match self.rate {
            Rate::PerSecond(_) => "Latencies count from each request's scheduled time (open loop): queueing in the server or in the generator shows.",
            Rate::Max => "Latencies count from each request's send (closed loop).",
        }
        .to_owned()];
        if let Some(decisions) = &self.decisions {
            notes.push(format!(
                "A decision is seen by the first poll that finds it (every {} ms): submit → decision is that coarse. \
                 Watching took {} polls ({}/s) on top of the submissions.",
                decisions.resolution_ms, decisions.polls, decisions.polls_per_s
            ));
        }
        let mut rate_limited = false;
        for (what, errors) in errors {
            for (kind, count) in errors {
                rate_limited |= kind.starts_with("429");
                notes.push(format!("{what} error: {kind} × {count}"));
            }
        }
        if rate_limited {
            notes.push(
                "The API rate-limits POST /ads per client address: run it with ADPIPE_RATE_LIMIT_PER_MINUTE=0 to measure it."
                    .to_owned(),
            );
        }
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "{note}");
        }
        out
    }
}

// ---------------------------------------------------------------- running

pub fn run(args: LoadgenArgs) -> anyhow::Result<bool> {
    if args.url.scheme() != "http" {
        bail!("--url must be plain http:// (this build has no TLS client)");
    }
    let photos_dir = args
        .photos
        .clone()
        .unwrap_or_else(|| assets::locate(DEFAULT_PHOTOS));
    let photos = find_photos(&photos_dir)?;
    let bodies = build_bodies(&photos, &args.email)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(usize::from(threads));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(measure(&args, photos.len(), bodies))?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ok = [&report.submit, &report.status]
        .into_iter()
        .flatten()
        .all(|requests| requests.ok > 0);
    Ok(ok)
}

async fn measure(args: &LoadgenArgs, photos: usize, bodies: Bodies) -> anyhow::Result<Report> {
    let concurrency = usize::from(args.concurrency);
    let rate = args.rate.unwrap_or(match args.mode {
        Mode::Status => Rate::Max,
        Mode::Pipeline | Mode::Submit => Rate::PerSecond(10.0),
    });
    let duration = Duration::from_secs_f64(args.duration);
    let every = Duration::from_millis(args.poll_interval);
    let decide_timeout = Duration::from_secs(args.decide_timeout);
    let client = Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(2 * concurrency)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(args.request_timeout))
        .build()
        .context("cannot build the HTTP client")?;
    let mut base = args.url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let stop = CancellationToken::new();
    let began = Instant::now();
    let cpu_before = process_cpu_time();
    let mut report = Report {
        mode: args.mode,
        url: args.url.to_string(),
        rate,
        latency_from: match rate {
            Rate::PerSecond(_) => "scheduled",
            Rate::Max => "sent",
        },
        concurrency,
        duration_s: args.duration,
        photos,
        mean_photo_bytes: bodies.mean_photo_bytes,
        interrupted: false,
        generator_cpu_s: None,
        elapsed_s: 0.0,
        submit: None,
        decisions: None,
        prepared: None,
        status: None,
    };
    let target = Arc::new(Target {
        client,
        submit_url: base.join("ads")?,
        base,
        bodies,
        stop: stop.clone(),
    });
    let interrupt = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("adpipe loadgen: interrupted, reporting what was measured");
            interrupt.cancel();
        }
    });

    match args.mode {
        Mode::Pipeline | Mode::Submit => {
            let watch = args.mode == Mode::Pipeline;
            let submits = Arc::new(Mutex::new(Requests::default()));
            let watcher = Arc::new(Watcher::new(every, decide_timeout, concurrency));
            let watchers = TaskTracker::new();
            eprintln!("adpipe loadgen: submitting for {} s", args.duration);
            let start = drive(rate, concurrency, duration, &stop, {
                let (target, submits, watcher, watchers) = (
                    target.clone(),
                    submits.clone(),
                    watcher.clone(),
                    watchers.clone(),
                );
                move |seq, due| {
                    let (target, submits, watcher, watchers) = (
                        target.clone(),
                        submits.clone(),
                        watcher.clone(),
                        watchers.clone(),
                    );
                    async move {
                        let Some((url, accepted)) = target.submit(seq, due, &submits).await else {
                            return;
                        };
                        if watch {
                            watchers.spawn(async move {
                                target.watch(url, due, accepted, &watcher).await;
                            });
                        }
                    }
                }
            })
            .await;
            watchers.close();
            if watch && !watchers.is_empty() {
                eprintln!(
                    "adpipe loadgen: waiting for the ads still pending ({}) to be decided, at most {} s each",
                    watchers.len(),
                    args.decide_timeout
                );
            }
            watchers.wait().await;
            report.submit = Some(request_report(&lock(&submits), start));
            if watch {
                report.decisions =
                    Some(decision_report(&lock(&watcher.record), args.poll_interval));
            }
        }
        Mode::Status => {
            let watcher = Arc::new(Watcher::new(every, decide_timeout, concurrency));
            let (prepared, urls) = prepare(
                &target,
                args.status_ads,
                concurrency,
                (!args.no_wait).then_some(watcher),
            )
            .await;
            if urls.is_empty() {
                bail!(
                    "none of the {} ads submitted first was accepted: {:?}",
                    prepared.submitted,
                    prepared.errors
                );
            }
            report.prepared = Some(prepared);
            let urls = Arc::new(urls);
            let gets = Arc::new(Mutex::new(Requests::default()));
            eprintln!(
                "adpipe loadgen: asking for the status of {} ads for {} s",
                urls.len(),
                args.duration
            );
            let start = drive(rate, concurrency, duration, &stop, {
                let (target, urls, gets) = (target.clone(), urls.clone(), gets.clone());
                move |seq, due| {
                    let (target, urls, gets) = (target.clone(), urls.clone(), gets.clone());
                    async move {
                        let url = &urls[(seq % urls.len() as u64) as usize];
                        target.status(url, due, &gets).await;
                    }
                }
            })
            .await;
            report.status = Some(request_report(&lock(&gets), start));
        }
    }
    report.interrupted = stop.is_cancelled();
    report.elapsed_s = round3(began.elapsed().as_secs_f64());
    report.generator_cpu_s = cpu_before
        .zip(process_cpu_time())
        .map(|(before, after)| round3((after - before).as_secs_f64()));
    Ok(report)
}

/// User + system CPU time of this process so far (all its threads), from
/// `/proc/self/stat` in clock ticks of 1/100 s (USER_HZ).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is the first, utime the 12th and stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// `--mode status`: submits `count` ads, `concurrency` at a time, and
/// watches them until decided if a watcher is given (so the worker is idle
/// while the API is measured). Returns the accepted ads' status URLs.
async fn prepare(
    target: &Arc<Target>,
    count: u64,
    concurrency: usize,
    watcher: Option<Arc<Watcher>>,
) -> (PreparedReport, Vec<Url>) {
    eprintln!("adpipe loadgen: submitting {count} ads to ask for");
    let submits = Arc::new(Mutex::new(Requests::default()));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let tasks = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(concurrency));
    for seq in 0..count {
        if target.stop.is_cancelled() {
            break;
        }
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let (target, submits, accepted) = (target.clone(), submits.clone(), accepted.clone());
        tasks.spawn(async move {
            let _slot = slot;
            if let Some(ad) = target.submit(seq, Instant::now(), &submits).await {
                lock(&accepted).push(ad);
            }
        });
    }
    tasks.close();
    tasks.wait().await;
    let accepted = std::mem::take(&mut *lock(&accepted));
    let mut decided = 0;
    if let Some(watcher) = watcher {
        eprintln!(
            "adpipe loadgen: waiting for {} ads to be decided",
            accepted.len()
        );
        let watches = TaskTracker::new();
        for (url, at) in &accepted {
            let (target, watcher, url, at) = (target.clone(), watcher.clone(), url.clone(), *at);
            watches.spawn(async move { target.watch(url, at, at, &watcher).await });
        }
        watches.close();
        watches.wait().await;
        decided = lock(&watcher.record).by_status.values().sum();
    }
    let submits = lock(&submits);
    let report = PreparedReport {
        submitted: submits.tried,
        accepted: submits.ok,
        errors: submits.errors.clone(),
        decided,
    };
    (report, accepted.into_iter().map(|(url, _)| url).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_positive_numbers_or_max() {
        assert_eq!("max".parse(), Ok(Rate::Max));
        assert_eq!("MAX".parse(), Ok(Rate::Max));
        assert_eq!("12.5".parse(), Ok(Rate::PerSecond(12.5)));
        for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        assert_eq!(serde_json::json!(Rate::Max), "max");
        assert_eq!(serde_json::json!(Rate::PerSecond(20.0)), 20.0);
    }

    #[test]
    fn bodies_are_multipart_forms_of_each_photo() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PHOTOS);
        let photos = find_photos(&root).expect("photos");
        assert!(photos.len() >= 20, "{photos:?}");
        assert!(photos.windows(2).all(|pair| pair[0] < pair[1]), "sorted");
        let chosen = [
            root.join("other/cat_chelsea.png"),
            root.join("vehicle/car_rear_motionblur.jpg"),
        ];
        let bodies = build_bodies(&chosen, "a@example.com").expect("bodies");
        let content_type = bodies.content_type.to_str().expect("ascii");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("multipart");
        for ((path, body), mime) in chosen
            .iter()
            .zip(&bodies.bodies)
            .zip(["image/png", "image/jpeg"])
        {
            let image = std::fs::read(path).expect("photo");
            let text = String::from_utf8_lossy(body);
            assert!(text.starts_with(&format!("--{boundary}\r\n")));
            assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
            assert_eq!(text.matches(&format!("--{boundary}")).count(), 4);
            assert!(text.contains("name=\"text\"\r\n\r\nadpipe loadgen: "));
            assert!(text.contains("name=\"email\"\r\n\r\na@example.com\r\n"));
            assert!(text.contains(&format!("Content-Type: {mime}\r\n\r\n")));
            assert!(body.windows(image.len()).any(|window| window == image));
        }
        assert!(find_photos(&root.join("../LICENSES.tsv")).is_err());
    }

    #[test]
    fn cpu_time_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let before = process_cpu_time().expect("/proc/self/stat");
            let mut x = 0u64;
            let spin = std::time::Instant::now();
            while spin.elapsed() < Duration::from_millis(50) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            assert!(process_cpu_time().expect("/proc/self/stat") > before);
        }
    }

    #[test]
    fn percentiles_are_ordered() {
        assert_eq!(Latency::default().summary().count, 0);
        let mut latency = Latency::default();
        for ms in 1..=1000 {
            latency.record(Duration::from_millis(ms));
        }
        let p = latency.summary();
        assert_eq!(p.count, 1000);
        assert!((p.p50_ms - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.p99_ms - 990.0).abs() < 1.0, "{p:?}");
        assert!(p.p50_ms <= p.p90_ms && p.p90_ms <= p.p99_ms && p.p99_ms <= p.max_ms);
    }

    #[tokio::test]
    async fn the_open_loop_keeps_its_schedule() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let start = drive(
            Rate::PerSecond(200.0),
            4,
            Duration::from_millis(100),
            &CancellationToken::new(),
            {
                let seen = seen.clone();
                move |seq, due| {
                    let seen = seen.clone();
                    async move {
                        // Slower than the schedule: requests queue for a
                        // slot, but stay due when they were due.
                        tokio::time::sleep(Duration::from_millis(15)).await;
                        lock(&seen).push((seq, due));
                    }
                }
            },
        )
        .await;
        let mut seen = lock(&seen).clone();
        seen.sort();
        assert_eq!(seen.len(), 20);
        for (index, (seq, due)) in seen.into_iter().enumerate() {
            assert_eq!(seq, index as u64);
            assert_eq!(due - start, Duration::from_millis(5 * seq));
        }
    }

    #[tokio::test]
    async fn the_closed_loop_sends_when_answered() {
        let seqs = Arc::new(Mutex::new(Vec::new()));
        drive(
            Rate::Max,
            3,
            Duration::from_millis(100),
            &CancellationToken::new(),
            {
                let seqs = seqs.clone();
                move |seq, _| {
                    let seqs = seqs.clone();
                    async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        lock(&seqs).push(seq);
                    }
                }
            },
        )
        .await;
        let mut seqs = lock(&seqs).clone();
        seqs.sort_unstable();
        // 3 clients × 100 ms / 20 ms, give or take the timer.
        assert!((9..=18).contains(&seqs.len()), "{seqs:?}");
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    }
}
