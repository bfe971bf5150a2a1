//! A model version shadowed, promoted and rolled back while two workers
//! decide, as an admin runs it: `adpipe models add` stores a trained head
//! (with its backbone) in the blob store under its content hash; `promote`
//! is refused while it cannot be compared with the live model on the ads
//! people decided; in shadow it judges new ads beside the live model
//! without deciding any; once people have decided ads, `promote` measures
//! it worse than the live model and refuses, and goes through with
//! `--force`; both workers switch at
//! their next batch without a restart, every decision's history names the
//! version that made it, no ad is decided twice; `rollback` brings the
//! configured model back the same way, and the audit log says who did
//! each. On SQLite with the built-in queue, and on PostgreSQL, RabbitMQ
//! and S3. Needs those services (`scripts/dev-services.sh`).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Api, Deployment, Processes, drop_postgres, fresh_postgres};

const TOKEN: &str = "model-versions-token";
const CONFIGURED: &str = "model:efficientnet-lite0@vehicles";
const SWITCHED: &str = "switched to a promoted model version";
const SWITCHED_BACK: &str = "switched back to the configured model";
const SHADOWING: &str = "running a model version in shadow";
/// Ads submitted at once while waiting for both workers.
const ROUND: usize = 8;

/// A site for tools and vehicles on ImageNet's labels that reads the ad's
/// text with the static text model (named by its full path: the policy
/// lives in the test's folder).
fn tools_and_vehicles(text_model: &Path) -> String {
    format!(
        r#"
name = "tools-and-vehicles"
approve_at = 0.3
review_at = 0.02

[text]
model = {:?}
min_similarity = 0.42
neutral = ["for sale", "good condition, open to offers"]
off_topic = ["clothes and shoes", "flat to rent"]

[[category]]
name = "vehicle"
labels = ["beach wagon", "cab", "convertible", "jeep", "limousine", "minivan", "Model T", "racer",
          "sports car", "pickup", "garbage truck", "trailer truck", "airliner", "school bus",
          "trolleybus", "passenger car"]
text = ["vehicle", "a used car for sale", "family hatchback, petrol, manual gearbox",
        "pickup truck", "bus", "aeroplane"]

[[category]]
name = "tool"
labels = ["hammer", "screwdriver", "power drill", "plane", "hatchet", "carpenter's kit", "rule",
          "screw", "nail", "can opener", "chain saw", "shovel"]
text = ["tool", "hand tools for sale", "hammer, screwdriver, spanner, pliers"]

[[text_rule]]
name = "contact details"
contacts = ["phone", "email"]
action = "review"
reason = "The text gives contact details."
"#,
        text_model.display().to_string()
    )
}

/// Trains a head on the committed labelled photos (tools, vehicles, none)
/// with a live policy that reads the text: the policy it proposes carries
/// that check, and `models add` stores the text model with the version.
fn trained_head(processes: &Processes, env: &[(&str, String)], dir: &Path) -> PathBuf {
    let live = dir.join("tools-and-vehicles.toml");
    let text_model = repo().join("models/minilm-l6-static/model.toml");
    std::fs::write(&live, tools_and_vehicles(&text_model)).expect("the live policy");
    let head = dir.join("tools-head");
    let photos = repo().join("tests/fixtures/labelled");
    let args = [
        "train",
        "--photos",
        photos.to_str().unwrap(),
        "--policy",
        live.to_str().unwrap(),
        "--out",
        head.to_str().unwrap(),
        "--folds",
        "3",
        "--seed",
        "1",
    ];
    processes.run(&args, env);
    let proposed = std::fs::read_to_string(head.join("policy.toml")).expect("policy.toml");
    assert!(
        proposed.contains("[text]"),
        "the text check comes along: {proposed}"
    );
    head
}

/// Submits an ad with a photo of tests/fixtures/labelled from
/// `who@versions.example.com` and waits until it is decided (or held for a
/// person); its id.
async fn decided_ad(api: &Api, text: &str, who: &str, photo: &str) -> String {
    let photo = repo().join("tests/fixtures/labelled").join(photo);
    let id = api
        .submitted(text, &format!("{who}@versions.example.com"), &photo)
        .await;
    api.until_decided(&id).await;
    id
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn models(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut all = vec!["models"];
    all.extend_from_slice(args);
    processes
        .command(&all, env)
        .output()
        .expect("run adpipe models")
}

fn models_ok(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> String {
    let output = models(processes, env, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "adpipe models {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Who decided each of `ids` (the model entries of its history).
async fn deciders(api: &Api, ids: &[String]) -> HashMap<String, Vec<String>> {
    let admin = api.as_token(TOKEN);
    let mut by = HashMap::new();
    for id in ids {
        let history = admin.history(id).await;
        assert_eq!(history.status, 200, "{history}");
        let models: Vec<String> = history["decisions"]
            .as_array()
            .expect("decisions")
            .iter()
            .filter_map(|entry| entry["by"].as_str())
            .filter(|who| who.starts_with("model:"))
            .map(str::to_owned)
            .collect();
        by.insert(id.clone(), models);
    }
    by
}

/// Submits ads one at a time until the workers' logs hold `line` twice
/// (both switched); returns the ads submitted.
async fn until_both_workers(
    api: &Api,
    processes: &Processes,
    line: &str,
    run: &str,
) -> Vec<String> {
    let photo = repo().join("tests/fixtures/labelled/vehicle/blue_sedan.jpg");
    let started = Instant::now();
    let seen_before = processes.logs().matches(line).count();
    let mut ids = Vec::new();
    while processes.logs().matches(line).count() < seen_before + 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "both workers did not log {line:?} within 2 minutes:\n{}",
            processes.logs()
        );
        // Several at once, one ad a batch: both workers get some.
        for _ in 0..ROUND {
            let email = format!("seller-{run}-{}@versions.example.com", ids.len());
            ids.push(
                api.submitted("For sale: a blue sedan", &email, &photo)
                    .await,
            );
        }
        for id in &ids[ids.len() - ROUND..] {
            api.until_decided(id).await;
        }
    }
    ids
}

async fn promote_and_roll_back(processes: &mut Processes, deployment: Deployment, api_role: &str) {
    // One ad a batch, and a quick look for ads the other process took in:
    // both workers get a share of every round.
    let deployment = deployment
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_WORKER_BATCH_SIZE", "1")
        .with("ADPIPE_WORKER_POLL_INTERVAL_MS", "50")
        .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "100000")
        .with("ADPIPE_RATE_LIMIT_BURST", "1000");
    let env = deployment.vars.clone();
    let dir = processes.dir.clone();
    let with_cache = |name: &str| {
        deployment
            .clone()
            .with("ADPIPE_MODEL_CACHE", dir.join(name).display().to_string())
            .vars
    };
    let cli = with_cache("cache-cli");
    processes.run(&["migrate"], &env);
    // One worker in the API's process (`serve`) or beside it (`api`), and
    // one more: on separate machines each has its own cache.
    let first = with_cache("cache-a");
    if api_role == "serve" {
        processes.spawn("serve", &["serve"], &first);
    } else {
        processes.spawn("api", &["api"], &env);
        processes.spawn("worker-a", &["worker"], &first);
    }
    processes.spawn("worker-b", &["worker"], &with_cache("cache-b"));
    let api = Api::new(deployment.port);
    api.wait_until_up(processes).await;
    let run = &adpipe_core::AdId::new().to_string()[24..];

    let before = decided_ad(
        &api,
        "For sale: a blue sedan",
        &format!("first-{run}"),
        "vehicle/blue_sedan.jpg",
    )
    .await;

    // Trained here, then stored under its content hash, backbone and text
    // model included.
    let head = trained_head(processes, &cli, &dir);
    let added = models_ok(processes, &cli, &["add", head.to_str().unwrap()]);
    let version = added
        .split_whitespace()
        .next()
        .expect("a version")
        .to_owned();
    assert_eq!(version.len(), 64, "{added}");
    assert!(added.contains("tools-head (image_head,"), "{added}");
    let again = models_ok(processes, &cli, &["add", head.to_str().unwrap()]);
    assert!(
        again.contains(&version) && again.contains("stored already"),
        "{again}"
    );
    let short = &version[..12];

    // Nobody has decided an ad yet: nothing to compare it on, so refused.
    let refused = models(processes, &cli, &["promote", &version[..8]]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("--force"), "{said}");
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("not compared"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // In shadow first: both workers pick it up at their next batch, and
    // its verdicts sit beside the live model's, acting on nothing.
    let shadowing = models_ok(processes, &cli, &["shadow", &version[..8]]);
    assert!(shadowing.contains("runs in shadow"), "{shadowing}");
    let watched = until_both_workers(&api, processes, SHADOWING, run).await;
    let admin = api.as_token(TOKEN);
    let report = admin.get("/admin/models/shadow").await;
    assert_eq!(report.status, 200, "{report}");
    assert_eq!(report["running"], true, "{report}");
    assert_eq!(report["name"], "tools-head", "{report}");
    let all = report["categories"]
        .as_array()
        .expect("categories")
        .last()
        .expect("all")
        .clone();
    assert_eq!(all["category"], "all", "{report}");
    assert!(all["ads"].as_u64().unwrap() >= 1, "{report}");
    let by = deciders(&api, &watched).await;
    assert!(
        by.values().all(|models| models == &[CONFIGURED]),
        "the shadow decided: {by:?}"
    );

    // Its training report, stored with it, served to the team under a
    // policy that lets it run no script and frames it nowhere.
    let report_page = admin
        .get(&format!("/admin/models/{version}/report.html"))
        .await;
    assert_eq!(report_page.status, 200);
    assert!(String::from_utf8_lossy(&report_page.bytes).contains("Trained head"));
    let policy = report_page.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        policy.contains("sandbox") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert_eq!(report_page.headers["x-frame-options"], "DENY");

    // People decide the sedans are cars: now the two can be compared, and
    // the head, which knows only tools and rejects them, does worse.
    for id in [vec![before.clone()], watched.clone()].concat() {
        let ad = api.status(&id).await;
        let mut decision = json!({"outcome": "approved", "category": "car"});
        if ad["status"] != "in_review" {
            decision["override"] = json!(true);
        }
        let answer = admin.decide(&id, &decision).await;
        assert_eq!(answer.status, 200, "{id}: {answer}");
    }
    let report = admin.get("/admin/models/shadow").await;
    let all = report["categories"]
        .as_array()
        .expect("categories")
        .last()
        .expect("all")
        .clone();
    assert!(all["decided_by_people"].as_u64().unwrap() >= 1, "{report}");
    let refused = models(processes, &cli, &["promote", &version[..8]]);
    let shown = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success(), "{shown}");
    assert!(
        shown.contains("candidate ") && shown.contains("live model:"),
        "{shown}"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does worse"));

    models_ok(processes, &cli, &["shadow", "--off"]);
    let promoted = models_ok(processes, &cli, &["promote", &version[..8], "--force"]);
    assert!(
        promoted.contains(&format!("promote: version {short} live (forced)")),
        "{promoted}"
    );

    // Both workers switch at their next batch, without a restart.
    let under_head = until_both_workers(&api, processes, SWITCHED, run).await;
    let label = format!("model:tools-head:{short}@tools-head");
    let last = under_head.last().expect("ads").clone();
    let by = deciders(&api, std::slice::from_ref(&last)).await;
    assert_eq!(by[&last], std::slice::from_ref(&label), "{by:?}");

    // The version's policy reads the text with the model stored beside it
    // (text-model/ in each worker's cache): a hammer sold as a car is held
    // for a person, and says why.
    let mismatched = decided_ad(
        &api,
        "Used family hatchback car, petrol, manual gearbox, full service history",
        &format!("hammer-{run}"),
        "tool/hammer1.jpg",
    )
    .await;
    let held = admin.get(&format!("/admin/ads/{mismatched}")).await;
    assert_eq!(held["status"], "in_review", "{held}");
    assert!(
        held["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("does not show what the text describes")),
        "{held}"
    );
    let by = deciders(&api, std::slice::from_ref(&mismatched)).await;
    assert_eq!(by[&mismatched], std::slice::from_ref(&label), "{by:?}");

    let listed = models_ok(processes, &cli, &["list"]);
    assert!(
        listed.contains(&format!("* {short}  tools-head")),
        "{listed}"
    );
    assert!(listed.contains("promote: version"), "{listed}");

    // Rolled back: the configured model again, everywhere.
    let rolled = models_ok(processes, &cli, &["rollback"]);
    assert!(
        rolled.contains("rollback: the configured model live"),
        "{rolled}"
    );
    let after = until_both_workers(&api, processes, SWITCHED_BACK, run).await;
    let last_after = after.last().expect("ads").clone();
    let by = deciders(&api, std::slice::from_ref(&last_after)).await;
    assert_eq!(by[&last_after], [CONFIGURED], "{by:?}");
    let nothing = models(processes, &cli, &["rollback"]);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to roll back"));

    // Every ad decided once by a model, by one of the two.
    let all: Vec<String> = [vec![before.clone(), mismatched], watched, under_head, after].concat();
    let by = deciders(&api, &all).await;
    for (id, models) in &by {
        assert_eq!(
            models.len(),
            1,
            "ad {id} decided {} times: {models:?}",
            models.len()
        );
        assert!(
            models[0] == CONFIGURED || models[0] == label,
            "{id}: {models:?}"
        );
    }
    assert_eq!(by[&before], [CONFIGURED]);

    // Who shadowed, promoted and rolled back, in the audit log.
    for action in [
        "model.shadowed",
        "model.shadow_stopped",
        "model.promoted",
        "model.rolled_back",
    ] {
        let audit = admin.audit(&format!("action={action}")).await;
        assert_eq!(audit.status, 200, "{audit}");
        let records = audit["entries"].as_array().expect("entries");
        assert_eq!(records.len(), 1, "{audit}");
        assert!(
            records[0]["actor"].as_str().unwrap().starts_with("cli:"),
            "{audit}"
        );
    }

    // A candidate that is not a trained head (the int8 classifier, stored
    // with the labels it shares) is run on the photos and texts of the ads
    // people decided, and the live model beside it.
    let int8 = repo().join("models/efficientnet-lite0-int8");
    let compared = models(processes, &cli, &["promote", int8.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&compared.stdout);
    let said = String::from_utf8_lossy(&compared.stderr);
    assert!(
        shown.contains("comparing on the photos of"),
        "{shown}\n{said}"
    );
    assert!(
        shown.contains("candidate ") && shown.contains("live model:"),
        "{shown}\n{said}"
    );
    assert!(!shown.contains("not compared"), "{shown}");
    processes.stop_gracefully();
}

#[tokio::test(flavor = "multi_thread")]
async fn on_sqlite_both_workers_switch_and_switch_back() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes);
    promote_and_roll_back(&mut processes, deployment, "serve").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_rabbitmq_and_s3_both_workers_switch_and_switch_back() {
    let (admin, name, url) = fresh_postgres("adpipe_models").await;
    let mut processes = Processes::new();
    let deployment = Deployment::services(&processes, &url, "adpipe.models");
    promote_and_roll_back(&mut processes, deployment, "api").await;
    drop(processes);
    drop_postgres(admin, &name).await;
}
