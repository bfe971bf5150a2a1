//! The HTTP side: the target every request goes to, and the open- and
//! closed-loop drivers that schedule requests.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::*;

/// What the generator talks to, shared by every request.
pub(crate) struct Target {
    pub(crate) client: Client,
    pub(crate) base: Url,
    pub(crate) submit_url: Url,
    pub(crate) bodies: Bodies,
    pub(crate) stop: CancellationToken,
}

pub(crate) enum Answer {
    Expected(Bytes),
    /// An HTTP answer with another status: `"429 rate_limited"`.
    Refused(String),
    /// No HTTP answer: `"timeout"`, `"connect"` …
    Failed(String),
}

pub(crate) async fn call(request: reqwest::RequestBuilder, expected: StatusCode) -> Answer {
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

pub(crate) fn failure_kind(error: &reqwest::Error) -> String {
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
pub(crate) fn refusal(status: StatusCode, body: &[u8]) -> String {
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
    pub(crate) fn ad_url(&self, id: &str) -> Option<Url> {
        let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        plain.then(|| self.base.join(&format!("ads/{id}")).ok())?
    }

    /// Submits photo `seq`; the accepted ad's status URL and when the 202 came.
    pub(crate) async fn submit(
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
    pub(crate) async fn watch(&self, url: Url, due: Instant, accepted: Instant, watcher: &Watcher) {
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

    pub(crate) async fn status(&self, url: &Url, due: Instant, record: &Mutex<Requests>) {
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
pub(crate) async fn drive<F, Fut>(
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
