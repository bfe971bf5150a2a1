//! `adpipe tag` as scripts use it: the JSON-lines contract of DESIGN.md,
//! per-file errors, the exit status, and a model swapped by configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn photo(name: &str) -> PathBuf {
    repo().join("tests/fixtures/photos").join(name)
}

fn adpipe_tag(args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .arg("tag")
        .args(args)
        .args(files)
        .output()
        .expect("run adpipe")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}")))
        .collect()
}

#[test]
fn json_output_follows_the_contract() {
    let car = photo("vehicle/car_rear_motionblur.jpg");
    let lion = photo("other/lion.jpg");
    let output = adpipe_tag(&["--json", "--top-k", "3"], &[&car, &lion]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2);

    let car_line = &lines[0];
    assert_eq!(car_line["file"], car.display().to_string());
    assert_eq!(car_line["decision"], "approved");
    assert_eq!(car_line["category"], "car");
    assert!(car_line["reason"].is_null());
    let tags = car_line["tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 3);
    assert_eq!(tags[0]["label"], "minivan");
    let confidences: Vec<f64> = tags
        .iter()
        .map(|tag| tag["confidence"].as_f64().expect("number"))
        .collect();
    assert!(
        confidences.windows(2).all(|pair| pair[0] >= pair[1]),
        "best first"
    );
    assert!(confidences.iter().all(|c| (0.0..=1.0).contains(c)));

    let lion_line = &lines[1];
    assert_eq!(lion_line["decision"], "rejected");
    assert!(lion_line["category"].is_null());
    assert!(
        lion_line["reason"]
            .as_str()
            .expect("reason")
            .contains("vehicles")
    );
}

#[test]
fn an_unreadable_file_gets_an_error_line_and_a_failing_exit_status() {
    let dir = std::env::temp_dir().join(format!("adpipe-tag-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let not_an_image = dir.join("notes.jpg");
    std::fs::write(&not_an_image, b"these are not pixels").expect("write");
    let missing = dir.join("missing.png");
    let lion = photo("other/lion.jpg");

    let output = adpipe_tag(&["--json"], &[&not_an_image, &lion, &missing]);
    assert_eq!(output.status.code(), Some(1), "any failure fails the run");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3, "one line per file, in order");
    assert_eq!(lines[0]["error"]["code"], "image_unsupported_type");
    assert_eq!(lines[1]["tags"][0]["label"], "lion");
    assert!(
        lines[2]["error"]["message"]
            .as_str()
            .expect("message")
            .contains("cannot read")
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: not a supported image",
            not_an_image.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_model_and_policy_are_chosen_by_configuration() {
    let kiwi = photo("other/kiwi_fruit.jpg");
    let output = Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .env("ADPIPE_MODEL", "models/open-nsfw/model.toml")
        .env("ADPIPE_POLICY", "tests/fixtures/policies/nsfw-only.toml")
        .args(["tag", "--json"])
        .arg(&kiwi)
        .output()
        .expect("run adpipe");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = &json_lines(&output)[0];
    let labels: Vec<&str> = line["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|tag| tag["label"].as_str().expect("label"))
        .collect();
    assert_eq!(labels, ["sfw", "nsfw"], "open_nsfw has two labels");
    assert_eq!(line["category"], "safe");
}

#[test]
fn a_missing_model_file_is_a_clear_error() {
    let output = adpipe_tag(
        &["--model", "models/nope/model.toml"],
        &[&photo("other/lion.jpg")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("models/nope/model.toml"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_model_of_the_wrong_kind_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .env("ADPIPE_MODEL", "models/minilm-l6/model.toml")
        .args(["tag", "--json"])
        .arg(photo("other/lion.jpg"))
        .output()
        .expect("run adpipe");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing is tagged");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("models/minilm-l6/model.toml describes a text embedder"),
        "{stderr}"
    );
    assert!(stderr.contains("must be an image classifier"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_onnx_runtime_names_the_setup_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .env("ADPIPE_ORT_LIB", "/nonexistent/libonnxruntime.so")
        .args(["tag"])
        .arg(photo("other/lion.jpg"))
        .output()
        .expect("run adpipe");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("scripts/setup.sh"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn text_rules_judge_the_text_given_with_the_photo() {
    let car = photo("vehicle/car_rear_motionblur.jpg");
    let judged = |text: &str| {
        let output = adpipe_tag(&["--json", "--text", text], &[&car]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        json_lines(&output).remove(0)
    };
    assert_eq!(
        judged("Family car, 2015, 120 000 km, €9,500")["decision"],
        "approved"
    );
    let line = judged("Family car, WhatsApp me on +44 7700 900123");
    assert_eq!(line["decision"], "in_review", "{line}");
    let line = judged("Family car, payment by gift card only");
    assert_eq!(line["decision"], "rejected", "{line}");
    assert!(
        line["reason"]
            .as_str()
            .expect("reason")
            .contains("gift card"),
        "{line}"
    );
}

#[test]
fn ads_from_a_file_are_judged_with_their_text() {
    let dir = std::env::temp_dir().join(format!("adpipe-tag-ads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(
        photo("vehicle/car_rear_motionblur.jpg"),
        dir.join("car.jpg"),
    )
    .expect("copy");
    let lion = photo("other/lion.jpg");
    let ads = dir.join("ads.tsv");
    std::fs::write(
        &ads,
        format!(
            "# image<TAB>text\n\
             car.jpg\tFamily estate car, 2015, 120 000 km, full service history\n\
             \n\
             car.jpg\t2 coach tickets to Glastonbury, can't go anymore, face value\n\
             {}\tFamily estate car, 2015, 120 000 km\n\
             car.jpg\tFamily car, payment by gift card only\n",
            lion.display()
        ),
    )
    .expect("write");

    let output = Command::new(env!("CARGO_BIN_EXE_adpipe"))
        .current_dir(repo())
        .args([
            "tag",
            "--json",
            "--policy",
            "models/policies/vehicles-text.toml",
            "--ads",
        ])
        .arg(&ads)
        .output()
        .expect("run adpipe");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 4, "one line per ad, in order");
    let lines_in_file: Vec<u64> = lines
        .iter()
        .map(|line| line["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines_in_file, [2, 4, 5, 6], "the ads' own line numbers");
    assert_eq!(
        lines[0]["file"],
        dir.join("car.jpg").display().to_string(),
        "a relative path is read from the file's directory"
    );

    let honest = &lines[0];
    assert_eq!(honest["decision"], "approved", "{honest}");
    assert_eq!(honest["category"], "car");
    assert_eq!(honest["text"]["says"], "car", "{honest}");
    let text_categories = honest["text"]["categories"]
        .as_object()
        .expect("categories");
    assert!(
        text_categories["car"].as_f64().expect("number") > 0.8,
        "{honest}"
    );
    let total: f64 = text_categories
        .values()
        .map(|p| p.as_f64().expect("number"))
        .sum::<f64>()
        + honest["text"]["off_topic"].as_f64().expect("number");
    assert!(
        (total - 1.0).abs() < 0.01,
        "probabilities sum to 1: {honest}"
    );

    let tickets = &lines[1];
    assert_eq!(tickets["text"]["says"], "off_topic", "{tickets}");
    assert_ne!(
        tickets["decision"], "approved",
        "a ticket sale is no car ad: {tickets}"
    );
    assert!(
        tickets["reason"].as_str().expect("reason").contains("text"),
        "{tickets}"
    );

    assert_eq!(lines[2]["decision"], "rejected", "the lion is no car");
    assert_eq!(lines[3]["decision"], "rejected", "the text rule rejects");

    // Without a text model (the photo-only policy) the text rules still
    // apply, and no text scores are printed.
    let output = adpipe_tag(
        &[
            "--json",
            "--policy",
            "models/policies/vehicles-photo.toml",
            "--ads",
            &ads.display().to_string(),
        ],
        &[],
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["text"].is_null(), "{}", lines[0]);
    assert_eq!(lines[3]["decision"], "rejected");

    // A line without a tab names itself.
    std::fs::write(&ads, "car.jpg\tgood car\ncar.jpg no tab here\n").expect("write");
    let output = adpipe_tag(&["--ads", &ads.display().to_string()], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ads.tsv:2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

/// DESIGN.md: with a policy that reads photos, each object gains
/// `text_in_image` (`[{"text", "box", "confidence"}]`); the table prints the
/// lines too. Without such a policy the key is absent.
#[test]
fn the_text_in_the_photo_is_printed_for_a_policy_that_reads_it() {
    let boat = repo().join("tests/fixtures/ocr/rendered/06_boats_nagasaki.jpg");
    let plain = photo("vehicle/boats_nagasaki.jpg");
    let policy = ["--policy", "models/policies/marketplace.toml"];
    let output = adpipe_tag(&[&["--json"][..], &policy].concat(), &[&boat, &plain]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines[0]["decision"], "in_review");
    let read = lines[0]["text_in_image"].as_array().expect("text_in_image");
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0]["text"], "+4420 7946 0958");
    let corners = read[0]["box"].as_array().expect("box");
    assert_eq!(corners.len(), 4);
    assert!(
        corners
            .iter()
            .all(|corner| corner.as_array().is_some_and(|xy| xy.len() == 2))
    );
    assert!((0.7..=1.0).contains(&read[0]["confidence"].as_f64().expect("confidence")));
    assert_eq!(lines[1]["decision"], "approved");
    assert_eq!(lines[1]["text_in_image"], serde_json::json!([]));

    let table = adpipe_tag(&policy, &[&boat]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("in the photo: \"+4420 7946 0958\""),
        "{table}"
    );

    let without = json_lines(&adpipe_tag(&["--json"], &[&plain]));
    assert!(
        without[0].get("text_in_image").is_none(),
        "{:?}",
        without[0]
    );
}
