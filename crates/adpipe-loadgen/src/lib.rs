//! The load generator behind `adpipe loadgen`: drives a running adpipe over
//! HTTP and measures it.
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

mod bodies;
mod measure;
mod record;
mod report;
mod target;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use clap::ValueEnum;
use reqwest::Url;
use serde::{Serialize, Serializer};

pub use bodies::{Bodies, build_bodies, find_photos, read_texts};
use measure::*;
use record::*;
pub use record::{Latency, Percentiles};
pub use report::Report;
use report::*;
use target::*;

/// Where the committed photos are, relative to the project root.
pub const DEFAULT_PHOTOS: &str = "tests/fixtures/photos";
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
    /// Ad texts, one per line, sent in turn with the photos [default: a
    /// short text naming the photo].
    #[arg(long, value_name = "FILE")]
    texts: Option<PathBuf>,
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

/// Runs the load and prints the report; `default_photos` is used when
/// `--photos` is not given. Returns whether every kind of request had a
/// success.
pub fn run(args: LoadgenArgs, default_photos: &Path) -> anyhow::Result<bool> {
    if args.url.scheme() != "http" {
        bail!("--url must be plain http:// (this build has no TLS client)");
    }
    let photos_dir = args
        .photos
        .clone()
        .unwrap_or_else(|| default_photos.to_owned());
    let photos = find_photos(&photos_dir)?;
    let texts = match &args.texts {
        Some(path) => read_texts(path)?,
        None => Vec::new(),
    };
    let bodies = build_bodies(&photos, &texts, &args.email)?;
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

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
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_PHOTOS);
        let photos = find_photos(&root).expect("photos");
        assert!(photos.len() >= 20, "{photos:?}");
        assert!(photos.windows(2).all(|pair| pair[0] < pair[1]), "sorted");
        let chosen = [
            root.join("other/cat_chelsea.png"),
            root.join("vehicle/car_rear_motionblur.jpg"),
        ];
        let bodies = build_bodies(&chosen, &[], "a@example.com").expect("bodies");
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
    fn texts_are_paired_with_photos_in_turn() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_PHOTOS);
        let chosen = [root.join("other/lion.jpg"), root.join("other/quokka.jpg")];
        let texts: Vec<String> = ["first ad", "second ad", "third ad"]
            .map(String::from)
            .to_vec();
        let bodies = build_bodies(&chosen, &texts, "a@example.com").expect("bodies");
        assert_eq!(bodies.bodies.len(), 3, "as many as the longer list");
        let lion = std::fs::read(&chosen[0]).expect("photo");
        for (body, text) in bodies.bodies.iter().zip(&texts) {
            let shown = String::from_utf8_lossy(body);
            assert!(shown.contains(&format!("name=\"text\"\r\n\r\n{text}\r\n")));
        }
        let third = &bodies.bodies[2];
        assert!(third.windows(lion.len()).any(|window| window == lion));
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
