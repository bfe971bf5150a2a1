//! `adpipe train` as a site owner uses it: photos sorted into folders in,
//! a model folder out that `adpipe tag` takes like any model, with the
//! policy it proposes, its report and its model card; the same photos and
//! seed give the same head; mistakes in the photo folder are clear errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adpipe_core::Policy;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn labelled() -> PathBuf {
    repo().join("tests/fixtures/labelled")
}

fn adpipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .env_remove("ADPIPE_MODEL")
        .env_remove("ADPIPE_POLICY")
        .args(args)
        .output()
        .expect("run adpipe")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn scratch(name: &str) -> PathBuf {
    let dir = repo()
        .join("target/train-cli")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn train(out: &Path, seed: &str, extra: &[&str]) -> String {
    let photos = labelled();
    let mut args = vec![
        "train",
        "--photos",
        photos.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--seed",
        seed,
        "--folds",
        "3",
    ];
    args.extend(extra);
    ok(&adpipe(&args))
}

/// Every labelled photo, with the folder (category) it is in.
fn photos() -> Vec<(PathBuf, String)> {
    let mut photos = Vec::new();
    for folder in std::fs::read_dir(labelled()).expect("fixtures") {
        let folder = folder.expect("entry").path();
        if !folder.is_dir() {
            continue;
        }
        let category = folder.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&folder).expect("folder") {
            photos.push((file.expect("entry").path(), category.clone()));
        }
    }
    photos.sort();
    photos
}

#[test]
fn a_head_trained_on_sorted_photos_is_a_model_adpipe_tag_uses() {
    let out = scratch("head").join("my-head");
    let summary = train(&out, "7", &[]);
    assert!(summary.contains("trained my-head on"), "{summary}");
    assert!(summary.contains("proposed band"), "{summary}");
    for file in [
        "model.toml",
        "head.safetensors",
        "labels.txt",
        "policy.toml",
        "report.html",
        "model-card.md",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let model = std::fs::read_to_string(out.join("model.toml")).unwrap();
    assert!(model.contains("kind = \"image_head\""), "{model}");
    assert!(
        model.contains("backbone = \"../../../../models/efficientnet-lite0/model.toml\""),
        "the backbone is named relative to the folder: {model}"
    );

    // The proposed policy names the folders but none/, with a band.
    let categories: BTreeSet<String> = photos()
        .into_iter()
        .map(|(_, category)| category)
        .filter(|category| category != "none")
        .collect();
    let text = std::fs::read_to_string(out.join("policy.toml")).unwrap();
    let policy = Policy::from_toml(&text, "policy.toml").expect("the proposed policy reads");
    let named: BTreeSet<String> = policy.categories.iter().map(|c| c.name.clone()).collect();
    assert_eq!(named, categories);
    let band = policy.band();
    assert!(band.review_at <= band.approve_at, "{band:?}");
    // The default policy's text rules come along (contact details, scams);
    // its [text] check cannot, as it describes neither tools nor "vehicle"
    // in text, and the file says so.
    assert_eq!(policy.text_rules.len(), 2, "{text}");
    assert!(policy.text.is_none(), "{text}");
    assert!(text.contains("judges by the photo alone"), "{text}");

    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(report.matches("<svg").count(), 2, "reliability and scores");
    assert!(
        report.contains("live: efficientnet-lite0 + vehicles"),
        "compared with the live model"
    );
    assert!(!report.contains("<script") && !report.contains("src="));
    let card = std::fs::read_to_string(out.join("model-card.md")).unwrap();
    assert!(
        card.contains("sha256") && card.contains("Held-out accuracy"),
        "{card}"
    );

    // adpipe tag takes the folder like any model: each photo's best tag is
    // one of the head's classes, and on the photos it learned from, its own.
    let model_toml = out.join("model.toml");
    let policy_toml = out.join("policy.toml");
    let all = photos();
    let mut args = vec![
        "tag".to_owned(),
        "--json".into(),
        "--model".into(),
        model_toml.display().to_string(),
        "--policy".into(),
        policy_toml.display().to_string(),
    ];
    args.extend(all.iter().map(|(path, _)| path.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = ok(&adpipe(&args));
    let results: Vec<serde_json::Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(results.len(), all.len());
    for ((path, category), result) in all.iter().zip(&results) {
        assert_eq!(
            result["tags"][0]["label"],
            category.as_str(),
            "{}: {result}",
            path.display()
        );
        if category == "none" {
            assert_ne!(
                result["decision"],
                "approved",
                "{}: {result}",
                path.display()
            );
        } else if result["decision"] == "approved" {
            assert_eq!(result["category"], category.as_str(), "{result}");
        }
    }
}

#[test]
fn the_same_photos_and_seed_give_the_same_head() {
    let root = scratch("twice");
    let (first, second) = (root.join("a"), root.join("b"));
    train(&first, "3", &["--name", "same"]);
    train(&second, "3", &["--name", "same"]);
    for file in [
        "head.safetensors",
        "labels.txt",
        "policy.toml",
        "model.toml",
    ] {
        assert!(
            std::fs::read(first.join(file)).unwrap() == std::fs::read(second.join(file)).unwrap(),
            "{file} differs"
        );
    }
}

#[test]
fn mistakes_in_the_photo_folder_are_clear_errors() {
    let root = scratch("mistakes");
    let out = root.join("out");
    train(&out, "1", &[]);
    let again = adpipe(&[
        "train",
        "--photos",
        labelled().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "an existing head is not replaced silently"
    );

    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = adpipe(&[
        "train",
        "--photos",
        empty.to_str().unwrap(),
        "--out",
        root.join("x").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("no category folders"), "{error}");

    // Two photos of a category cannot fill five folds.
    let few = root.join("few");
    let (photo, _) = photos().into_iter().next().expect("a fixture");
    for category in ["car", "none"] {
        std::fs::create_dir_all(few.join(category)).unwrap();
        for index in 0..2 {
            std::fs::copy(&photo, few.join(category).join(format!("{index}.jpg"))).unwrap();
        }
    }
    let output = adpipe(&[
        "train",
        "--photos",
        few.to_str().unwrap(),
        "--out",
        root.join("y").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("class `car` has 2 examples") && error.contains("5"),
        "{error}"
    );
    assert!(!root.join("y/model.toml").exists(), "nothing written");
}
