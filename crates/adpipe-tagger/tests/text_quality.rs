//! The text's evidence measured on the labelled ads of tests/fixtures/ads
//! (81 ads the prototypes were written beside, and 54 held out, written
//! before any model scored them): the vehicles policy judging the photo
//! alone (vehicles-photo.toml), the default reading the text with the
//! static model (vehicles.toml) and with the MiniLM transformer
//! (vehicles-text.toml), all with the policies' text rules. Prints the
//! tables docs/policies.md and BENCHMARKS.md quote and holds the measured
//! figures.
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

/// An ad set of tests/fixtures/ads; its photo paths are relative to
/// `photos` (a folder under tests/fixtures).
fn ad_set(file: &str, photos: &str) -> Vec<Ad> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/ads").join(file))
        .unwrap_or_else(|error| panic!("tests/fixtures/ads/{file}: {error}"));
    let base = Path::new("tests/fixtures").join(photos);
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "{line}");
            Ad {
                id: fields[0].into(),
                photo: base.join(fields[1]).display().to_string(),
                kind: fields[2].into(),
                category: fields[3].into(),
                text: fields[4].into(),
            }
        })
        .collect()
}

/// The 81 ads the text prototypes were written beside.
fn labelled() -> Vec<Ad> {
    ad_set("labelled.tsv", "photos")
}

/// The 54 ads written before any model scored them (the README's rule:
/// measured only, never tuned against).
fn held_out() -> Vec<Ad> {
    ad_set("held-out.tsv", "")
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
        .map(|ad| std::fs::read(repo().join(&ad.photo)).expect("photo"))
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

/// The three vehicle policies on one ad set: the photo alone, the default
/// (the static text model) and the transformer. Prints the table
/// BENCHMARKS.md quotes.
fn compare(set: &str, ads: &[Ad]) -> [Tally; 3] {
    let tallies = [
        judge("vehicles-photo.toml", ads),
        judge("vehicles.toml", ads),
        judge("vehicles-text.toml", ads),
    ];
    let [photo, default, minilm] = &tallies;
    println!(
        "{set}: | | photo only | photo + text, static model (default) | photo + text, MiniLM |"
    );
    println!("{set}: | --- | --- | --- | --- |");
    type Row = fn(&Tally) -> usize;
    let rows: [(&str, Row); 5] = [
        ("honest ads, category right", |t| t.honest_category_right),
        ("honest ads approved", |t| t.honest_approved),
        ("honest ads rejected", |t| t.honest_rejected),
        ("mismatched/off-topic/no-vehicle approved", |t| {
            t.wrong_approved
        }),
        ("contact spam approved", |t| t.spam_approved),
    ];
    for (what, value) in rows {
        println!(
            "{set}: | {what} | {} | {} | {} |",
            value(photo),
            value(default),
            value(minilm)
        );
    }
    println!(
        "{set}: (of {} honest, {} wrong, {} spam)",
        default.honest, default.wrong, default.spam
    );
    tallies
}

#[test]
fn reading_the_text_stops_mismatched_ads_and_keeps_honest_ones() {
    let ads = labelled();
    assert!(ads.len() >= 60, "{} ads", ads.len());
    let [photo, default, minilm] = compare("labelled", &ads);
    // No honest ad is turned away, and each keeps its category.
    for tally in [&default, &minilm] {
        assert_eq!(tally.honest_rejected, 0, "{tally:?}");
        assert_eq!(tally.honest_category_right, tally.honest, "{tally:?}");
        assert_eq!(tally.spam_approved, 0, "{tally:?}");
    }
    // The text stops most of what the photo alone lets through (measured:
    // the transformer still approves 4 of 38, the static model 7; the
    // goal is none). Both send 4 honest ads to a person.
    assert!(
        minilm.wrong_approved * 4 <= photo.wrong_approved,
        "{minilm:?} vs {photo:?}"
    );
    assert!(minilm.wrong_approved <= 4, "{minilm:?}");
    assert!(default.wrong_approved <= 7, "{default:?}");
    assert!(
        default.wrong_approved * 3 <= photo.wrong_approved,
        "{default:?} vs {photo:?}"
    );
}

#[test]
fn the_default_reads_the_text_of_ads_nobody_tuned_it_on() {
    let ads = held_out();
    assert!(ads.len() >= 50, "{} ads", ads.len());
    let [photo, default, minilm] = compare("held-out", &ads);
    // The photo model itself rejects 4 honest ads here (small cut-outs of a
    // convertible and a race car); the text adds none.
    for tally in [&default, &minilm] {
        assert_eq!(
            tally.honest_rejected, photo.honest_rejected,
            "{tally:?} vs {photo:?}"
        );
        assert_eq!(tally.honest_category_right, photo.honest_category_right);
        assert_eq!(tally.spam_approved, 0, "{tally:?}");
    }
    // Measured: of 30 ads not to publish, the photo alone approves 10, the
    // default 5, MiniLM 4; the default sends one honest ad more to a
    // person than the photo alone, MiniLM none.
    assert!(
        default.wrong_approved * 2 <= photo.wrong_approved,
        "{default:?} vs {photo:?}"
    );
    assert!(default.wrong_approved <= 5, "{default:?}");
    assert!(minilm.wrong_approved <= 4, "{minilm:?}");
    assert!(
        default.honest_approved + 1 >= photo.honest_approved,
        "{default:?} vs {photo:?}"
    );
}

/// Texts that say nothing about what is sold (tests/fixtures/ads/
/// unrelated.txt: test submissions, greetings, filler) on a boat photo the
/// photo alone approves: how many a policy holds back for a person.
fn held_for_nothing(policy: &str) -> usize {
    let texts = std::fs::read_to_string(repo().join("tests/fixtures/ads/unrelated.txt"))
        .expect("the unrelated texts");
    let ads: Vec<Ad> = texts
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|text| Ad {
            id: text.into(),
            photo: "tests/fixtures/photos/vehicle/boats_nagasaki.jpg".into(),
            kind: "honest".into(),
            category: "boat".into(),
            text: text.into(),
        })
        .collect();
    assert!(ads.len() >= 30, "{} texts", ads.len());
    let tally = judge(policy, &ads);
    assert_eq!(
        tally.honest_category_right,
        ads.len(),
        "{policy}: {tally:?}"
    );
    let held = ads.len() - tally.honest_approved;
    println!(
        "{policy}: {held} of {} unrelated texts held the boat back",
        ads.len()
    );
    held
}

#[test]
fn a_text_that_says_nothing_about_the_sale_holds_nothing_back() {
    // The static model's similarities sit higher than MiniLM's (unrelated
    // texts reach 0.3-0.4 against 0.2-0.3), hence the default's
    // min_similarity of 0.42 against 0.3: measured, 11 of these 30 texts
    // sent the boat to a person at 0.3, one at 0.42 ("Remember to water
    // the plants", read as garden plants, which the site does not sell).
    assert!(held_for_nothing("vehicles.toml") <= 1);
    assert!(held_for_nothing("vehicles-text.toml") <= 2);
    assert_eq!(held_for_nothing("vehicles-photo.toml"), 0);
}
