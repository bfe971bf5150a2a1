//! The team's decisions become a model, as a site owner runs it on the
//! embedded defaults: ads decided under a model without an embedding
//! output (an older install) get their photos' embeddings from `adpipe
//! embed --backfill`; under the default model the worker keeps them as it
//! tags; moderators decide what the model sent them and overturn what it
//! got wrong; `adpipe train --from-decisions` fits a head on those
//! decisions that `adpipe tag` then uses, the same head for the same seed.
//! Needs the SMTP catcher (`scripts/dev-services.sh`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;
use support::{Api, Deployment, Processes};

const TOKEN: &str = "learning-loop-token";

/// A site for tools and vehicles, on ImageNet's labels.
const TOOLS_AND_VEHICLES: &str = r#"
name = "tools-and-vehicles"
approve_at = 0.3
review_at = 0.02
reject_reason = "We only publish ads for tools and vehicles."

[[category]]
name = "vehicle"
labels = ["beach wagon", "cab", "convertible", "jeep", "limousine", "minivan", "Model T", "racer",
          "sports car", "pickup", "garbage truck", "trailer truck", "airliner", "school bus",
          "trolleybus", "passenger car"]

[[category]]
name = "tool"
labels = ["hammer", "screwdriver", "power drill", "plane", "hatchet", "carpenter's kit", "rule",
          "screw", "nail", "can opener", "chain saw", "shovel"]
"#;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed labelled photos: (path, folder).
fn labelled() -> Vec<(PathBuf, String)> {
    let mut photos = Vec::new();
    for class in ["vehicle", "tool", "none"] {
        let folder = repo().join("tests/fixtures/labelled").join(class);
        for entry in std::fs::read_dir(&folder).expect("labelled fixtures") {
            photos.push((entry.expect("entry").path(), class.to_owned()));
        }
    }
    photos.sort();
    photos
}

fn run(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> Output {
    processes.command(args, env).output().expect("run adpipe")
}

fn ok(processes: &Processes, env: &[(&str, String)], args: &[&str]) -> String {
    let output = run(processes, env, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "adpipe {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_teams_decisions_train_a_head_that_adpipe_uses() {
    let mut processes = Processes::new();
    let policy = processes.dir.join("tools-and-vehicles.toml");
    std::fs::write(&policy, TOOLS_AND_VEHICLES).expect("policy file");
    let default_model = repo().join("models/efficientnet-lite0/model.toml");
    let default_model = default_model.to_str().unwrap();
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_ADMIN_TOKEN", TOKEN)
        .with("ADPIPE_POLICY", policy.display().to_string())
        // The int8 model has no embedding output: ads it decides keep none.
        .with(
            "ADPIPE_MODEL",
            repo()
                .join("models/efficientnet-lite0-int8/model.toml")
                .display()
                .to_string(),
        );
    let env = deployment.vars.clone();
    processes.spawn("serve", &["serve"], &env);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let run_id = &adpipe_core::AdId::new().to_string()[24..];
    let mut ads = Vec::new();
    for (photo, truth) in labelled() {
        let email = format!("seller-{run_id}@learning.example.com");
        let id = api
            .submitted(&format!("For sale: {truth}"), &email, &photo)
            .await;
        ads.push((id, truth));
    }
    let mut decided = Vec::new();
    for (id, truth) in &ads {
        let (_, ad) = api.until_decided(id).await;
        decided.push((id.clone(), truth.clone(), ad));
    }
    let total = ads.len();

    // No embedding yet; the backfill computes them with the default model.
    let counted = ok(&processes, &env, &["embed", "--model", default_model]);
    assert!(
        counted.contains(&format!(
            "0 decided ads have an embedding of efficientnet-lite0, {total} have none"
        )),
        "{counted}"
    );
    let filled = ok(
        &processes,
        &env,
        &["embed", "--backfill", "--model", default_model],
    );
    assert!(
        filled.contains(&format!(
            "{total} ads got an embedding of efficientnet-lite0, 0 photos could not be read"
        )),
        "{filled}"
    );
    let counted = ok(&processes, &env, &["embed", "--model", default_model]);
    assert!(
        counted.contains(&format!("{total} decided ads have an embedding")),
        "{counted}"
    );

    // Under the default model the worker keeps each new photo's embedding.
    processes.stop_gracefully();
    processes.take_exited();
    let env = deployment.clone().with("ADPIPE_MODEL", default_model).vars;
    processes.spawn("serve", &["serve"], &env);
    api.wait_until_up(&mut processes).await;
    let (photo, truth) = labelled().remove(0);
    let id = api
        .submitted(
            &format!("For sale: {truth}"),
            &format!("later-{run_id}@learning.example.com"),
            &photo,
        )
        .await;
    let (_, ad) = api.until_decided(&id).await;
    decided.push((id, truth, ad));
    let counted = ok(&processes, &env, &["embed"]);
    assert!(
        counted.contains(&format!(
            "{} decided ads have an embedding of efficientnet-lite0, 0 have none",
            total + 1
        )),
        "{counted}"
    );

    // Moderators decide what the model sent them and overturn its mistakes.
    let moderators = api.as_token(TOKEN);
    let mut by_people = 0;
    for (id, truth, ad) in &decided {
        let status = ad["status"].as_str().expect("a status");
        let right = match truth.as_str() {
            "none" => status == "rejected",
            category => status == "approved" && ad["category"] == category,
        };
        if right {
            continue;
        }
        let decision = match truth.as_str() {
            "none" => json!({"outcome": "rejected", "reason": "Not a tool or a vehicle"}),
            category => json!({"outcome": "approved", "category": category}),
        };
        let mut decision = decision;
        if status != "in_review" {
            decision["override"] = json!(true);
        }
        let answer = moderators.decide(id, &decision).await;
        assert_eq!(answer.status, 200, "{id} ({truth}, was {status}): {answer}");
        by_people += 1;
    }

    // Trained on the decisions, the model's own at a lower weight.
    let out = processes.dir.join("team-head");
    let train = |out: &Path, seed: &str| {
        ok(
            &processes,
            &env,
            &[
                "train",
                "--from-decisions",
                "--trust-model",
                "--out",
                out.to_str().unwrap(),
                "--folds",
                "2",
                "--seed",
                seed,
            ],
        )
    };
    let summary = train(&out, "7");
    eprintln!("{filled}{summary}");
    assert!(
        summary.contains(&format!("trained team-head on {} examples", total + 1)),
        "{summary}"
    );
    let card = std::fs::read_to_string(out.join("model-card.md")).expect("model card");
    assert!(
        card.contains(&format!("{by_people} ads decided by people")),
        "{card}"
    );
    let labels = std::fs::read_to_string(out.join("labels.txt")).expect("labels");
    assert_eq!(labels, "tool\nvehicle\nnone\n");
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(report.contains("live: efficientnet-lite0 + tools-and-vehicles"));

    // adpipe tag takes it like any model.
    let hammer = repo().join("tests/fixtures/labelled/tool/hammer1.jpg");
    let tagged = ok(
        &processes,
        &env,
        &[
            "tag",
            "--model",
            out.join("model.toml").to_str().unwrap(),
            "--policy",
            out.join("policy.toml").to_str().unwrap(),
            "--json",
            hammer.to_str().unwrap(),
        ],
    );
    let line: serde_json::Value =
        serde_json::from_str(tagged.lines().next().expect("a line")).expect("JSON");
    let best = line["tags"][0]["label"].as_str().expect("a tag");
    assert!(["tool", "vehicle", "none"].contains(&best), "{line}");

    // The same decisions and seed give the same head.
    let again = processes.dir.join("team-head-again");
    train(&again, "7");
    assert_eq!(
        std::fs::read(out.join("head.safetensors")).unwrap(),
        std::fs::read(again.join("head.safetensors")).unwrap()
    );

    // Without decisions or photos there is nothing to learn from.
    let output = run(
        &processes,
        &env,
        &["train", "--trust-model", "--out", "nowhere"],
    );
    assert!(!output.status.success());
    processes.stop_gracefully();
}
