//! The text's evidence measured on the labelled ads of tests/fixtures/ads
//! (81 ads written by the team on the committed photos): the vehicles
//! policy judging the photo alone against vehicles-text.toml, which also
//! reads the text (with its transformer, and with the static model
//! distilled from it), all with the policies' text rules. Prints the table the
//! README and BENCHMARKS.md quote and holds the measured figures.
//!
//! Needs ONNX Runtime from `scripts/setup.sh`.

use std::path::{Path, PathBuf};

use adpipe_core::Status;
use adpipe_tagger::{Moderator, TaggerConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Ad {
    id: String,
    photo: String,
    kind: String,
    category: String,
    text: String,
}

fn labelled() -> Vec<Ad> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/ads/labelled.tsv"))
        .expect("the labelled set");
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "{line}");
            Ad {
                id: fields[0].into(),
                photo: fields[1].into(),
                kind: fields[2].into(),
                category: fields[3].into(),
                text: fields[4].into(),
            }
        })
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    honest: usize,
    honest_category_right: usize,
    honest_approved: usize,
    honest_rejected: usize,
    /// Mismatched texts, off-topic texts and non-vehicle photos.
    wrong: usize,
    wrong_approved: usize,
    spam: usize,
    spam_approved: usize,
}

fn judge(policy: &str, ads: &[Ad]) -> Tally {
    judge_policy_file(policy, &repo().join("models/policies").join(policy), ads)
}

/// vehicles-text.toml with another text model: the same prototypes, the same
/// calibration (the static model's similarities between the prototypes are
/// spread like the transformer's: BENCHMARKS.md, "A static text model
/// distilled from MiniLM").
fn judge_with_text_model(model_toml: &str, ads: &[Ad]) -> Tally {
    let shipped = repo().join("models/policies/vehicles-text.toml");
    let policy = std::fs::read_to_string(&shipped).expect("vehicles-text.toml");
    let model = repo().join(model_toml);
    let swapped = policy.replacen(
        "model = \"../minilm-l6/model.toml\"",
        &format!("model = {:?}", model.display().to_string()),
        1,
    );
    assert_ne!(swapped, policy, "vehicles-text.toml names its text model");
    let path =
        std::env::temp_dir().join(format!("adpipe-text-quality-{}.toml", std::process::id()));
    std::fs::write(&path, swapped).expect("a temporary policy");
    let tally = judge_policy_file(model_toml, &path, ads);
    let _ = std::fs::remove_file(&path);
    tally
}

fn judge_policy_file(policy: &str, path: &Path, ads: &[Ad]) -> Tally {
    let moderator = Moderator::load(
        &repo().join("models/efficientnet-lite0/model.toml"),
        path,
        &[],
        &TaggerConfig::default(),
    )
    .unwrap_or_else(|error| panic!("{policy} (run scripts/setup.sh first): {error}"));
    let images: Vec<Vec<u8>> = ads
        .iter()
        .map(|ad| {
            std::fs::read(repo().join("tests/fixtures/photos").join(&ad.photo)).expect("photo")
        })
        .collect();
    let slices: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let texts: Vec<&str> = ads.iter().map(|ad| ad.text.as_str()).collect();
    let assessments = moderator
        .assess_prepared(moderator.prepare(&slices), &texts)
        .expect("inference");
    let mut tally = Tally::default();
    for (ad, assessment) in ads.iter().zip(assessments) {
        let decision = moderator.judge_text(&ad.text, assessment.expect("decodes").decision);
        let approved = decision.status == Status::Approved;
        match ad.kind.as_str() {
            "honest" => {
                tally.honest += 1;
                let right = decision.category.as_deref() == Some(ad.category.as_str());
                tally.honest_category_right += usize::from(right);
                tally.honest_approved += usize::from(approved && right);
                tally.honest_rejected += usize::from(decision.status == Status::Rejected);
                if !(approved && right) {
                    println!(
                        "{policy}: honest {} → {:?} {:?}",
                        ad.id, decision.status, decision.category
                    );
                }
            }
            "spam" => {
                tally.spam += 1;
                tally.spam_approved += usize::from(approved);
            }
            _ => {
                tally.wrong += 1;
                tally.wrong_approved += usize::from(approved);
                if approved {
                    println!(
                        "{policy}: {} {} approved as {:?}",
                        ad.kind, ad.id, decision.category
                    );
                }
            }
        }
    }
    tally
}

#[test]
fn reading_the_text_stops_mismatched_ads_and_keeps_honest_ones() {
    let ads = labelled();
    assert!(ads.len() >= 60, "{} ads", ads.len());
    let photo = judge("vehicles.toml", &ads);
    let text = judge("vehicles-text.toml", &ads);
    let fast = judge_with_text_model("models/minilm-l6-static/model.toml", &ads);
    println!("| | photo only | photo + text (MiniLM) | photo + text (static) |");
    println!("| --- | --- | --- | --- |");
    for (what, a, b, c) in [
        (
            "honest ads, category right",
            photo.honest_category_right,
            text.honest_category_right,
            fast.honest_category_right,
        ),
        (
            "honest ads approved",
            photo.honest_approved,
            text.honest_approved,
            fast.honest_approved,
        ),
        (
            "honest ads rejected",
            photo.honest_rejected,
            text.honest_rejected,
            fast.honest_rejected,
        ),
        (
            "mismatched/off-topic/no-vehicle approved",
            photo.wrong_approved,
            text.wrong_approved,
            fast.wrong_approved,
        ),
        (
            "contact spam approved",
            photo.spam_approved,
            text.spam_approved,
            fast.spam_approved,
        ),
    ] {
        println!("| {what} | {a} | {b} | {c} |");
    }
    println!(
        "(of {} honest, {} wrong, {} spam)",
        text.honest, text.wrong, text.spam
    );
    // No honest ad is turned away, and each keeps its category.
    assert_eq!(text.honest_rejected, 0);
    assert_eq!(text.honest_category_right, text.honest);
    // The text stops most of what the photo alone lets through (measured:
    // 4 of 38 still approved, listed above; the goal is none).
    assert!(
        text.wrong_approved * 4 <= photo.wrong_approved,
        "{text:?} vs {photo:?}"
    );
    assert!(text.wrong_approved <= 4, "{text:?}");
    assert_eq!(text.spam_approved, 0);
    // The static model distilled from MiniLM, which reads a text in
    // microseconds, holds the same line for honest ads and spam and stops
    // fewer mismatches (measured: 7 of 38 still approved against 4; 6
    // honest ads go to a person against the transformer's 4).
    assert_eq!(fast.honest_rejected, 0);
    assert_eq!(fast.honest_category_right, fast.honest);
    assert!(fast.wrong_approved <= 7, "{fast:?}");
    assert!(
        fast.wrong_approved * 3 <= photo.wrong_approved,
        "{fast:?} vs {photo:?}"
    );
    assert_eq!(fast.spam_approved, 0);
}
