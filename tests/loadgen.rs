//! `adpipe loadgen` against a real `adpipe serve` (SQLite, local disk, the
//! built-in queue): a short open-loop pipeline run where every ad must be
//! decided, then `GET /ads/{id}` and `POST /ads` alone. The figures are not
//! judged (this is not a benchmark), only that the report adds up.

mod support;

use adpipe_core::AdId;
use serde_json::Value;
use support::{Api, Deployment, Processes, free_port};

/// Runs `adpipe loadgen ARGS --json FILE`; the report and the table.
fn loadgen(processes: &Processes, args: &[&str]) -> (Value, String) {
    let report = processes.dir.join(format!("report-{}.json", AdId::new()));
    let report_arg = report.display().to_string();
    let mut all = vec!["loadgen", "--json", report_arg.as_str()];
    all.extend_from_slice(args);
    let output = processes
        .command(&all, &[])
        .output()
        .expect("run adpipe loadgen");
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "adpipe {all:?} failed:\n{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_to_string(&report).expect("the JSON report");
    (serde_json::from_str(&json).expect("JSON"), table)
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// p50 ≤ p90 ≤ p99 ≤ max, all above zero, over `count` samples.
fn percentiles_ordered(latency: &Value, count: u64) {
    assert_eq!(latency["count"].as_u64(), Some(count), "{latency}");
    let values: Vec<f64> = ["p50_ms", "p90_ms", "p99_ms", "max_ms"]
        .iter()
        .map(|key| number(latency, key))
        .collect();
    assert!(values[0] > 0.0, "{latency}");
    assert!(
        values.windows(2).all(|pair| pair[0] <= pair[1]),
        "{latency}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loadgen_reports_what_a_running_serve_did() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes)
        // The per-address limit would turn a load test into 429s.
        .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0")
        // Decisions are recorded whether or not the email goes out; a
        // closed port keeps these emails out of the shared SMTP catcher.
        .with("ADPIPE_SMTP_PORT", free_port().to_string());
    let port = deployment.port;
    processes.spawn("serve", &["serve"], &deployment.vars);
    Api::new(port).wait_until_up(&mut processes).await;
    let url = format!("http://127.0.0.1:{port}");

    // 10 a second for 3 s: 30 submissions on the schedule, every one
    // accepted and decided.
    let (report, table) = tokio::task::block_in_place(|| {
        loadgen(
            &processes,
            &[
                "--url",
                &url,
                "--rate",
                "10",
                "--duration",
                "3",
                "--poll-interval",
                "50",
                "--decide-timeout",
                "30",
            ],
        )
    });
    assert_eq!(report["mode"], "pipeline", "{report}");
    assert_eq!(report["latency_from"], "scheduled", "{report}");
    let submit = &report["submit"];
    assert_eq!(submit["tried"], 30, "{report}");
    assert_eq!(submit["ok"], 30, "{report}");
    assert_eq!(submit["errors"], serde_json::json!({}), "{report}");
    let accepted_per_s = number(submit, "ok_per_s");
    assert!((5.0..=15.0).contains(&accepted_per_s), "{report}");
    percentiles_ordered(&submit["latency_ms"], 30);
    let decisions = &report["decisions"];
    assert_eq!(decisions["decided"], 30, "{report}");
    assert_eq!(decisions["undecided"], 0, "{report}");
    assert_eq!(decisions["poll_errors"], serde_json::json!({}), "{report}");
    // The photos hold vehicles and other things: both outcomes occur.
    assert!(
        decisions["by_status"]["approved"].as_u64() >= Some(1),
        "{report}"
    );
    assert!(
        decisions["by_status"]["rejected"].as_u64() >= Some(1),
        "{report}"
    );
    assert!(number(decisions, "decided_per_s") > 0.0, "{report}");
    percentiles_ordered(&decisions["latency_ms"], 30);
    // A decision comes after its submission was answered.
    assert!(
        number(&decisions["latency_ms"], "p50_ms") >= number(&submit["latency_ms"], "p50_ms"),
        "{report}"
    );
    for line in ["submissions  30 tried, 30 accepted", "submit → decision"] {
        assert!(table.contains(line), "{line:?} in\n{table}");
    }

    // GET /ads/{id} alone, over 10 ads decided first.
    let (report, table) = tokio::task::block_in_place(|| {
        loadgen(
            &processes,
            &[
                "--url",
                &url,
                "--mode",
                "status",
                "--status-ads",
                "10",
                "--concurrency",
                "4",
                "--duration",
                "2",
            ],
        )
    });
    assert_eq!(report["latency_from"], "sent", "{report}");
    assert_eq!(report["prepared"]["accepted"], 10, "{report}");
    assert_eq!(report["prepared"]["decided"], 10, "{report}");
    let status = &report["status"];
    let requests = status["tried"].as_u64().expect("tried");
    assert!(requests > 20, "{report}");
    assert_eq!(status["ok"].as_u64(), Some(requests), "{report}");
    assert_eq!(status["errors"], serde_json::json!({}), "{report}");
    assert!(number(status, "ok_per_s") > 10.0, "{report}");
    percentiles_ordered(&status["latency_ms"], requests);
    assert!(report.get("decisions").is_none(), "{report}");
    assert!(table.contains("GET /ads/{id}"), "{table}");

    // POST /ads alone, as fast as 2 clients go, for a second.
    let (report, _) = tokio::task::block_in_place(|| {
        loadgen(
            &processes,
            &[
                "--url",
                &url,
                "--mode",
                "submit",
                "--rate",
                "max",
                "--concurrency",
                "2",
                "--duration",
                "1",
            ],
        )
    });
    let submit = &report["submit"];
    let accepted = submit["ok"].as_u64().expect("ok");
    assert!(accepted > 5, "{report}");
    assert_eq!(submit["tried"].as_u64(), Some(accepted), "{report}");
    assert_eq!(submit["errors"], serde_json::json!({}), "{report}");
    percentiles_ordered(&submit["latency_ms"], accepted);
    assert!(report.get("decisions").is_none(), "{report}");

    // Nothing listens: a clear failure, not a report of zeros passed off
    // as success.
    let output = processes
        .command(
            &[
                "loadgen",
                "--url",
                &format!("http://127.0.0.1:{}", free_port()),
                "--duration",
                "0.3",
            ],
            &[],
        )
        .output()
        .expect("run adpipe loadgen");
    assert!(!output.status.success());
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("submit error: connect"), "{table}");

    processes.stop_gracefully();
}
