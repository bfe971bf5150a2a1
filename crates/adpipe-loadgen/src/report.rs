//! The report: figures per mode, as a table and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::*;

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

pub(crate) fn per_second(count: u64, window: Duration) -> f64 {
    let secs = window.as_secs_f64();
    if secs > 0.0 {
        (count as f64 / secs * 10.0).round() / 10.0
    } else {
        0.0
    }
}

pub(crate) fn round3(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

pub(crate) fn request_report(record: &Requests, start: Instant) -> RequestReport {
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

pub(crate) fn decision_report(record: &Decisions, poll_interval: u64) -> DecisionReport {
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
