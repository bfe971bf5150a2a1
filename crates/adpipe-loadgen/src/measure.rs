//! One run: prepare (for `--mode status`), send for `--duration`, wait
//! for the decisions, then report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Url};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::*;

pub(crate) async fn measure(
    args: &LoadgenArgs,
    photos: usize,
    bodies: Bodies,
) -> anyhow::Result<Report> {
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
pub(crate) fn process_cpu_time() -> Option<Duration> {
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
pub(crate) async fn prepare(
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
