//! Nothing lost: under a steady stream of submissions, workers are killed,
//! RabbitMQ and PostgreSQL restarted, the SMTP and S3 servers taken away —
//! and every accepted ad still ends decided exactly once with exactly one
//! email. Runs `adpipe api` + two `adpipe worker` processes on PostgreSQL +
//! RabbitMQ + S3, the production topology.
//!
//! These tests stop and start the machine's services, so they run one at a
//! time, and each puts back what it stopped even when it fails. Each prints
//! one line `FAULT name accepted decided emails lost duplicates refused`
//! (see it with `--nocapture`).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use adpipe_core::AdId;
use sqlx::Connection;
use support::load::{PHOTOS, report, steady_load, tally};
use support::services::{postgres, sh, start_postgres, start_rabbitmq};
use support::{
    Api, Deployment, Processes, drop_postgres, fixture, fresh_postgres, postgres_admin_url,
};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

fn dev_services() {
    sh(
        "bash",
        &[concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/dev-services.sh"
        )],
    );
}

/// Starts again, on drop, whatever a test stopped.
struct Restore(Vec<fn()>);

impl Drop for Restore {
    fn drop(&mut self) {
        for restore in self.0.drain(..) {
            restore();
        }
    }
}

/// `adpipe api` + two workers on a fresh PostgreSQL database, their own
/// RabbitMQ queue and the S3 server.
struct Stack {
    processes: Processes,
    api: Api,
    deployment: Deployment,
    admin: sqlx::PgConnection,
    database: String,
    /// Recipients of this stack end with it, so emails are counted apart.
    domain: String,
}

impl Stack {
    async fn start() -> Self {
        Self::start_with(|| {}, || {}).await
    }

    /// [`Stack::start`] with `before_spawn` run once the database is made
    /// and `after_spawn` once the processes are started (not yet up).
    async fn start_with(before_spawn: fn(), after_spawn: fn()) -> Self {
        let (admin, database, database_url) = fresh_postgres("adpipe_fault").await;
        let mut processes = Processes::new();
        let deployment = Deployment::services(&processes, &database_url, "adpipe.fault")
            .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0")
            .with("ADPIPE_WORKER_THREADS", "1")
            .with("ADPIPE_WORKER_SWEEP_INTERVAL_MS", "1000")
            .with("ADPIPE_WORKER_SWEEP_MIN_AGE_MS", "3000")
            .with("ADPIPE_WORKER_LEASE_SECS", "10");
        let env = &deployment.vars;
        processes.run(&["migrate"], env);
        before_spawn();
        processes.spawn("api", &["api"], env);
        processes.spawn("worker-1", &["worker"], env);
        processes.spawn("worker-2", &["worker"], env);
        after_spawn();
        let api = Api::new(deployment.port);
        api.wait_until_up(&mut processes).await;
        let domain = format!(
            "{}.example.com",
            &AdId::new().to_string().replace('-', "")[16..]
        );
        Self {
            processes,
            api,
            deployment,
            admin,
            database,
            domain,
        }
    }

    fn restart_worker(&mut self, name: &str) {
        self.processes
            .spawn(name, &["worker"], &self.deployment.vars);
    }

    async fn rows(&self) -> i64 {
        let url = self.deployment.get("ADPIPE_DATABASE_URL");
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ads")
            .fetch_one(&mut connection)
            .await
            .expect("count")
    }

    async fn finish(mut self) {
        self.processes.stop_gracefully();
        drop(self.processes);
        // The first admin connection may not have survived the test (a
        // PostgreSQL restart); use a fresh one.
        if let Ok(fresh) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
            self.admin = fresh;
        }
        drop_postgres(self.admin, &self.database).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_killed_mid_batch_lose_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut stack = Stack::start().await;
    let api = Api::new(0).with_base(&stack.api.base);
    let domain = stack.domain.clone();
    let load =
        tokio::spawn(async move { steady_load(&api, &domain, 8, Duration::from_secs(12)).await });
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(3000)).await;
        stack.processes.kill_hard("worker-1");
        tokio::time::sleep(Duration::from_millis(500)).await;
        stack.restart_worker("worker-1");
    }
    let load = load.await.expect("load");
    let tally = tally(&stack.api, &load, Duration::from_secs(90)).await;
    report("worker_sigkill_x3", &load, &tally, 3);
    stack.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rabbitmq_stopped_and_started_loses_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let _restore = Restore(vec![start_rabbitmq]);
    let stack = Stack::start().await;
    let api = Api::new(0).with_base(&stack.api.base);
    let domain = stack.domain.clone();
    let load =
        tokio::spawn(async move { steady_load(&api, &domain, 8, Duration::from_secs(12)).await });
    tokio::time::sleep(Duration::from_secs(3)).await;
    sh("rabbitmqctl", &["stop_app"]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    sh("rabbitmqctl", &["start_app"]);
    let load = load.await.expect("load");
    let tally = tally(&stack.api, &load, Duration::from_secs(120)).await;
    report("rabbitmq_stop_start", &load, &tally, 0);
    stack.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_loses_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let _restore = Restore(vec![start_postgres]);
    let stack = Stack::start().await;
    let api = Api::new(0).with_base(&stack.api.base);
    let domain = stack.domain.clone();
    let load =
        tokio::spawn(async move { steady_load(&api, &domain, 8, Duration::from_secs(12)).await });
    tokio::time::sleep(Duration::from_secs(4)).await;
    postgres("restart");
    let load = load.await.expect("load");
    let tally = tally(&stack.api, &load, Duration::from_secs(120)).await;
    report("postgres_restart", &load, &tally, 0);
    // Refused submissions while it was down got a 503 and left no row.
    assert!(
        load.refused.keys().all(|status| *status == 503),
        "{:?}",
        load.refused
    );
    assert_eq!(
        stack.rows().await,
        load.accepted.len() as i64,
        "no orphan rows"
    );
    stack.finish().await;
}

/// A host that boots everything at once: the API and the workers start
/// while PostgreSQL is still down, wait for it instead of exiting, and
/// then work (`Api::wait_until_up` fails on any process that exited).
#[tokio::test(flavor = "multi_thread")]
async fn processes_started_before_postgres_wait_for_it() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let _restore = Restore(vec![start_postgres]);
    let stack = Stack::start_with(
        || postgres("stop"),
        || {
            // Longer than the pool's own 10 s of retries.
            std::thread::sleep(Duration::from_secs(12));
            postgres("start");
        },
    )
    .await;
    let logs = stack.processes.logs();
    assert!(
        logs.matches("the database is not reachable yet").count() >= 3,
        "every process waited for the database:\n{logs}"
    );
    let api = Api::new(0).with_base(&stack.api.base);
    let load = steady_load(&api, &stack.domain, 4, Duration::from_secs(3)).await;
    let tally = tally(&stack.api, &load, Duration::from_secs(60)).await;
    report("postgres_down_at_start", &load, &tally, 0);
    stack.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_down_delays_emails_but_loses_no_decision() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let _restore = Restore(vec![dev_services]);
    let stack = Stack::start().await;
    let _ = Command::new("pkill").args(["-x", "mailtutan"]).status();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let load = steady_load(&stack.api, &stack.domain, 8, Duration::from_secs(4)).await;
    // Every decision is recorded while no email can go out.
    let started = Instant::now();
    loop {
        let mut pending = 0;
        for (id, _) in &load.accepted {
            if stack.api.status(id).await["status"] == "pending" {
                pending += 1;
            }
        }
        if pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{pending} still pending"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    dev_services();
    let tally = tally(&stack.api, &load, Duration::from_secs(120)).await;
    report("smtp_down", &load, &tally, 1);
    stack.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_down_at_submit_is_a_clear_503_and_leaves_nothing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let _restore = Restore(vec![dev_services]);
    let stack = Stack::start().await;
    let _ = Command::new("pkill").args(["-x", "s3s-fs"]).status();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..5 {
        let (status, body) = stack
            .api
            .try_submit(
                "No storage",
                &format!("s3-{n}@{}", stack.domain),
                &fixture(PHOTOS[0]),
            )
            .await
            .expect("an answer");
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "storage_unavailable");
    }
    assert_eq!(stack.rows().await, 0, "no row for a refused ad");
    dev_services();
    let (status, body) = stack
        .api
        .try_submit(
            "Storage back",
            &format!("s3-ok@{}", stack.domain),
            &fixture(PHOTOS[0]),
        )
        .await
        .expect("an answer");
    assert_eq!(status, 202, "{body}");
    eprintln!(
        "FAULT s3_down_at_submit: tried=5 refused_503=5 rows=0 blobs=0; accepted again once back"
    );
    stack.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_never_loops_an_undecodable_image_fails_with_a_reason() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let stack = Stack::start().await;
    // A message for an ad that does not exist is acked and dropped.
    let publisher = adpipe_queue::Publisher::new({
        let mut config = adpipe_queue::AmqpConfig::new(stack.deployment.get("ADPIPE_AMQP_URL"));
        config.queue = stack.deployment.get("ADPIPE_AMQP_QUEUE").to_owned();
        config
    });
    publisher.publish(AdId::new()).await.expect("publish");
    // A PNG whose header and end are fine and whose compressed pixels are
    // not: it passes the API's checks and fails in the decoder.
    let mut png = std::fs::read(fixture("other/coffee_cup.png")).expect("photo");
    let middle = png.len() / 2;
    for byte in &mut png[middle..middle + 256] {
        *byte ^= 0x5A;
    }
    let broken = std::env::temp_dir().join(format!("broken-{}.png", AdId::new()));
    std::fs::write(&broken, &png).expect("write");
    let (status, body) = stack
        .api
        .try_submit("Broken", &format!("broken@{}", stack.domain), &broken)
        .await
        .expect("answer");
    let _ = std::fs::remove_file(&broken);
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id");
    let (_, decided) = stack.api.until_decided(id).await;
    assert_eq!(decided["status"], "failed", "{decided}");
    assert_eq!(decided["message"], "Your ad could not be processed");
    assert!(
        decided["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("could not be read")),
        "{decided}"
    );
    eprintln!("FAULT poison: undecodable image -> {decided}");
    let started = Instant::now();
    while publisher.depth().await.expect("depth") > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the unknown id is still queued"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    publisher.close().await;
    stack.finish().await;
}
