//! Should a trained head also take the ad's text embedding? Measured on
//! the 121 labelled ads of tests/fixtures/ads that are not contact spam
//! (the text rules catch those): `labelled.tsv` and `held-out.tsv`, 12
//! vehicle photos and 15 others. An honest ad's label is its category;
//! a mismatched text, an off-topic text or a photo without a vehicle is
//! `none`.
//!
//! Leave one photo out: each photo's ads are judged by heads that never
//! saw that photo, trained as `adpipe train` trains (class-balanced
//! logistic regression, 3-fold calibration, the proposed band) on the
//! other photos' ads. Four ways, on the same folds:
//! - the photo's embedding alone;
//! - the same head, with the default policy's text check after it (an
//!   approval whose text is sure it sells something else goes to a
//!   person);
//! - one head on the photo's embedding and the static text model's;
//! - one head on the photo's embedding and MiniLM's.
//!
//! The text vectors are scaled to the photo embeddings' mean length, so
//! that the head's L2 penalty weighs both alike.
//!
//! Needs ONNX Runtime from `scripts/setup.sh`. Prints the table
//! BENCHMARKS.md quotes ("Text by default").

use std::path::PathBuf;

use adpipe_core::Policy;
use adpipe_tagger::{KindSpec, ModelSpec, Moderator, Tagger, TaggerConfig, TextModelSpec};
use adpipe_train::{Dataset, Example, TrainOptions, Verdict, band, calibrate};

const NONE: &str = "none";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Ad {
    id: String,
    photo: PathBuf,
    /// What should happen to the whole ad: its category, or `none`.
    label: String,
    /// What the photo alone shows: the category of the honest ads with the
    /// same photo, or `none`.
    shows: String,
    text: String,
}

/// An ad set of tests/fixtures/ads, contact spam left out; photo paths
/// relative to `photos` under tests/fixtures.
fn ad_set(file: &str, photos: &str) -> Vec<Ad> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/ads").join(file))
        .unwrap_or_else(|error| panic!("tests/fixtures/ads/{file}: {error}"));
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "{line}");
            let label = match fields[2] {
                "spam" => return None,
                "honest" => fields[3],
                _ => NONE,
            };
            Some(Ad {
                id: fields[0].into(),
                photo: repo().join("tests/fixtures").join(photos).join(fields[1]),
                label: label.into(),
                shows: String::new(),
                text: fields[4].into(),
            })
        })
        .collect()
}

/// Fills in what each photo shows, from the honest ads that use it.
fn label_photos(ads: &mut [Ad]) {
    let shown: Vec<(PathBuf, String)> = ads
        .iter()
        .filter(|ad| ad.label != NONE)
        .map(|ad| (ad.photo.clone(), ad.label.clone()))
        .collect();
    for ad in ads {
        ad.shows = shown
            .iter()
            .find(|(photo, _)| *photo == ad.photo)
            .map_or_else(|| NONE.to_owned(), |(_, category)| category.clone());
    }
}

fn photo_embeddings(ads: &[Ad], config: &TaggerConfig) -> Vec<Vec<f32>> {
    let spec = ModelSpec::load(repo().join("models/efficientnet-lite0/model.toml"))
        .expect("the default model (run scripts/setup.sh)");
    let features = spec
        .features()
        .expect("the default model names its embedding");
    let tagger = Tagger::load(features, config).expect("the backbone loads");
    let images: Vec<Vec<u8>> = ads
        .iter()
        .map(|ad| std::fs::read(&ad.photo).expect("photo"))
        .collect();
    let slices: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    tagger
        .classify(&slices)
        .expect("inference")
        .into_iter()
        .map(|outputs| outputs.expect("decodes").scores[0].clone())
        .collect()
}

fn text_embeddings(model: &str, ads: &[Ad], config: &TaggerConfig) -> Vec<Vec<f32>> {
    let embedder = TextModelSpec::load(&repo().join(model))
        .expect("the text model's description")
        .load(config)
        .expect("the text model loads");
    let texts: Vec<&str> = ads.iter().map(|ad| ad.text.as_str()).collect();
    embedder.embed_all(&texts).expect("text vectors")
}

fn mean_length(vectors: &[Vec<f32>]) -> f32 {
    let length = |v: &Vec<f32>| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    vectors.iter().map(length).sum::<f32>() / vectors.len() as f32
}

/// `photo` with `text` appended, scaled to the photo vectors' mean length.
fn joined(photo: &[Vec<f32>], text: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let scale = mean_length(photo) / mean_length(text);
    photo
        .iter()
        .zip(text)
        .map(|(p, t)| {
            p.iter()
                .copied()
                .chain(t.iter().map(|x| x * scale))
                .collect()
        })
        .collect()
}

/// How the ads are held out.
#[derive(Clone, Copy)]
enum HoldOut {
    /// All the ads of one photo at a time: the head never saw the photo.
    Photo,
    /// One fifth of the ads at a time (every fifth line): the head has
    /// seen other ads with the same photo, as on a site whose ads show the
    /// same few kinds of vehicle.
    Fifth,
}

/// Per ad, the held-out head's verdict and category (an index into
/// `classes`). A category with fewer than three ads in a fold's training
/// part is left out of that fold's head (it cannot be cross-validated), as
/// a site's head knows nothing of a category nobody has decided yet.
fn held_out_verdicts(
    ads: &[Ad],
    features: &[Vec<f32>],
    classes: &[String],
    hold_out: HoldOut,
    target: fn(&Ad) -> &str,
) -> Vec<(Verdict, Option<usize>)> {
    const FOLDS: usize = 3;
    let group = |i: usize| match hold_out {
        HoldOut::Photo => ads[i].photo.display().to_string(),
        HoldOut::Fifth => (i % 5).to_string(),
    };
    let mut groups: Vec<String> = (0..ads.len()).map(group).collect();
    groups.sort();
    groups.dedup();
    let mut verdicts = vec![(Verdict::InReview, None); ads.len()];
    for held_group in groups {
        let (held, others): (Vec<usize>, Vec<usize>) =
            (0..ads.len()).partition(|&i| group(i) == held_group);
        let count = |class: &str| others.iter().filter(|&&i| target(&ads[i]) == class).count();
        let known: Vec<&String> = classes.iter().filter(|c| count(c) >= FOLDS).collect();
        let index = |label: &str| known.iter().position(|c| *c == label);
        let dataset = Dataset {
            classes: known.iter().map(|c| (*c).clone()).collect(),
            none: index(NONE),
            examples: others
                .iter()
                .filter_map(|&i| {
                    Some(Example {
                        features: features[i].clone(),
                        label: index(target(&ads[i]))?,
                        weight: 1.0,
                        source: ads[i].id.clone(),
                    })
                })
                .collect(),
        };
        let options = TrainOptions {
            folds: FOLDS,
            seed: 1,
            ..TrainOptions::default()
        };
        let training = adpipe_train::train(&dataset, &options).expect("trains");
        for i in held {
            let probabilities =
                calibrate::probabilities(&training.head.logits(&features[i]), training.temperature);
            let (category, score) = band::category(&probabilities, dataset.none);
            let name = known[category];
            verdicts[i] = (
                training.band.verdict(score),
                classes.iter().position(|c| c == name),
            );
        }
    }
    verdicts
}

#[derive(Debug, Default)]
struct Outcome {
    honest: usize,
    honest_approved: usize,
    honest_rejected: usize,
    others: usize,
    others_approved: usize,
    for_people: usize,
}

fn tally(ads: &[Ad], classes: &[String], verdicts: &[(Verdict, Option<usize>)]) -> Outcome {
    let mut outcome = Outcome::default();
    for (ad, (verdict, category)) in ads.iter().zip(verdicts) {
        let right = category.map(|c| classes[c].as_str()) == Some(ad.label.as_str());
        outcome.for_people += usize::from(*verdict == Verdict::InReview);
        if ad.label == NONE {
            outcome.others += 1;
            outcome.others_approved += usize::from(*verdict == Verdict::Approved);
        } else {
            outcome.honest += 1;
            outcome.honest_approved += usize::from(*verdict == Verdict::Approved && right);
            outcome.honest_rejected += usize::from(*verdict == Verdict::Rejected);
        }
    }
    outcome
}

/// The default policy's check after a head: an approval whose text is sure
/// (its `confident`) it sells another category or nothing published goes
/// to a person.
fn with_text_check(
    ads: &[Ad],
    classes: &[String],
    verdicts: &[(Verdict, Option<usize>)],
    config: &TaggerConfig,
) -> Vec<(Verdict, Option<usize>)> {
    let policy_path = repo().join("models/policies/vehicles.toml");
    let moderator = Moderator::load(
        &repo().join("models/efficientnet-lite0/model.toml"),
        &policy_path,
        &[],
        config,
    )
    .expect("the default policy loads");
    let text = std::fs::read_to_string(&policy_path).expect("the default policy");
    let confident = Policy::from_toml(&text, "vehicles.toml")
        .expect("parses")
        .text
        .expect("the default reads texts")
        .confident;
    ads.iter()
        .zip(verdicts)
        .map(|(ad, &(verdict, category))| {
            if verdict != Verdict::Approved {
                return (verdict, category);
            }
            let scores = moderator
                .read_text(&ad.text)
                .expect("reads")
                .expect("scores");
            let reading = moderator.policy().text_reading(&scores).expect("a reading");
            let disagrees = reading.says.is_some()
                && reading.confidence() >= confident
                && reading.says.as_deref() != category.map(|c| classes[c].as_str());
            if disagrees {
                (Verdict::InReview, category)
            } else {
                (verdict, category)
            }
        })
        .collect()
}

#[test]
fn a_head_on_photo_and_text_against_a_photo_head_with_the_text_check() {
    let mut ads = ad_set("labelled.tsv", "photos");
    ads.extend(ad_set("held-out.tsv", ""));
    label_photos(&mut ads);
    let config = TaggerConfig::default();
    let mut classes: Vec<String> = ads.iter().map(|ad| ad.label.clone()).collect();
    classes.sort();
    classes.dedup();
    let photo = photo_embeddings(&ads, &config);
    let static_text = text_embeddings("models/minilm-l6-static/model.toml", &ads, &config);
    let minilm_text = text_embeddings("models/minilm-l6/model.toml", &ads, &config);

    let with_static = joined(&photo, &static_text);
    let with_minilm = joined(&photo, &minilm_text);
    for (protocol, hold_out) in [
        ("one photo held out", HoldOut::Photo),
        ("one fifth held out", HoldOut::Fifth),
    ] {
        let outcome = |features: &[Vec<f32>]| -> Vec<(Verdict, Option<usize>)> {
            held_out_verdicts(&ads, features, &classes, hold_out, |ad| &ad.label)
        };
        let photo_head = outcome(&photo);
        let checked = with_text_check(&ads, &classes, &photo_head, &config);
        let shows_head = held_out_verdicts(&ads, &photo, &classes, hold_out, |ad| &ad.shows);
        let shows_checked = with_text_check(&ads, &classes, &shows_head, &config);
        let ways = [
            ("photo head", tally(&ads, &classes, &photo_head)),
            (
                "photo head + the default's text check",
                tally(&ads, &classes, &checked),
            ),
            (
                "photo head taught what the photo shows",
                tally(&ads, &classes, &shows_head),
            ),
            (
                "photo head taught what the photo shows + the text check",
                tally(&ads, &classes, &shows_checked),
            ),
            (
                "head on photo + static text",
                tally(&ads, &classes, &outcome(&with_static)),
            ),
            (
                "head on photo + MiniLM text",
                tally(&ads, &classes, &outcome(&with_minilm)),
            ),
        ];
        let first = &ways[0].1;
        println!(
            "{protocol} ({} honest, {} not to publish): | way | honest approved, right category | honest rejected | not-to-publish approved | for people |",
            first.honest, first.others
        );
        for (name, outcome) in &ways {
            println!(
                "{protocol}: | {name} | {} | {} | {} | {} |",
                outcome.honest_approved,
                outcome.honest_rejected,
                outcome.others_approved,
                outcome.for_people
            );
        }
        // What BENCHMARKS.md concludes from these figures: heads taught
        // what should happen to the ad approve nothing they should not,
        // photo and text alike; taking the text in, they still approve
        // almost none of the honest ads (a few of 53) from this little
        // data, and with a photo they never saw they reject more honest
        // ads than the photo's head. So the head stays on the photo.
        let [photo_only, _, _, _, joint_static, joint_minilm] = &ways;
        for (_, outcome) in [photo_only, joint_static, joint_minilm] {
            assert_eq!(outcome.others_approved, 0, "{protocol}: {outcome:?}");
        }
        for (_, joint) in [joint_static, joint_minilm] {
            assert!(
                joint.honest_approved * 10 <= joint.honest,
                "{protocol}: {joint:?}"
            );
            if matches!(hold_out, HoldOut::Photo) {
                assert!(
                    joint.honest_rejected >= photo_only.1.honest_rejected,
                    "{joint:?}"
                );
            }
        }
    }
}
