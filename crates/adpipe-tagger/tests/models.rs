//! The shipped models on the committed photos: parity of the default
//! classifier with the reference predictions, open_nsfw against its own
//! package's scores, both models behind one decode, and every shipped policy
//! bound to the labels it names.
//!
//! These need ONNX Runtime and open_nsfw from `scripts/setup.sh`; without
//! them they fail with an error that says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adpipe_core::Status;
use adpipe_core::policy::{Gate, Policy};
use adpipe_tagger::{Model, ModelSpec, Moderator, Tagger, TaggerConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

fn model_path(name: &str) -> PathBuf {
    repo().join("models").join(name).join("model.toml")
}

fn load_spec(name: &str) -> ModelSpec {
    let path = model_path(name);
    ModelSpec::load(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn load_model(name: &str) -> Model {
    Model::load(load_spec(name), &TaggerConfig::default())
        .unwrap_or_else(|error| panic!("loading {name} (run scripts/setup.sh first): {error}"))
}

/// Reads a TSV with a header line into rows keyed by the first column.
fn read_tsv(path: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut rows: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|line| !line.is_empty()) {
        let fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
        rows.entry(fields[0].clone()).or_default().push(fields);
    }
    rows
}

/// The committed photos, by their path relative to `tests/fixtures/photos`.
fn photos() -> Vec<(String, Vec<u8>)> {
    let licenses = read_tsv(&fixtures().join("photos/LICENSES.tsv"));
    assert!(licenses.len() >= 20, "the photo fixtures are missing");
    licenses
        .keys()
        .map(|name| {
            let bytes = std::fs::read(fixtures().join("photos").join(name))
                .expect("photo listed in LICENSES.tsv");
            (name.clone(), bytes)
        })
        .collect()
}

fn classify_all(tagger: &Tagger, photos: &[(String, Vec<u8>)]) -> Vec<Vec<Vec<f32>>> {
    let mut outputs = Vec::new();
    // Batches of 8 with a ragged tail, as the worker runs them.
    for chunk in photos.chunks(8) {
        let images: Vec<&[u8]> = chunk.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        for (result, (name, _)) in tagger
            .classify(&images)
            .expect("inference")
            .into_iter()
            .zip(chunk)
        {
            outputs.push(
                result
                    .unwrap_or_else(|error| panic!("{name}: {error}"))
                    .scores,
            );
        }
    }
    outputs
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(index, _)| index)
        .expect("non-empty")
}

#[test]
fn efficientnet_matches_the_reference_predictions_on_every_photo() {
    let reference = read_tsv(&fixtures().join("reference-top5.tsv"));
    let photos = photos();
    let tagger = Tagger::new(
        vec![load_model("efficientnet-lite0")],
        &TaggerConfig::default(),
    );
    let outputs = classify_all(&tagger, &photos);

    let mut worst = (0f32, String::new());
    for ((name, _), output) in photos.iter().zip(&outputs) {
        let probabilities = &output[0];
        let expected = reference
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no reference row"));
        assert_eq!(expected.len(), 5, "{name}: reference has 5 ranks");
        let expected_top1: usize = expected[0][2].parse().expect("class index");
        assert_eq!(
            argmax(probabilities),
            expected_top1,
            "{name}: top-1 differs from the reference ({})",
            expected[0][3]
        );
        for row in expected {
            let class: usize = row[2].parse().expect("class index");
            let want: f32 = row[4].parse().expect("probability");
            let difference = (probabilities[class] - want).abs();
            assert!(
                difference <= 0.03,
                "{name}: P({}) = {:.4}, reference {want:.4}",
                row[3],
                probabilities[class]
            );
            if difference > worst.0 {
                worst = (difference, format!("{name} {}", row[3]));
            }
        }
    }
    eprintln!(
        "largest top-5 probability difference: {:.4} ({})",
        worst.0, worst.1
    );
}

#[test]
fn open_nsfw_matches_its_own_package_and_runs_beside_the_default_model() {
    let reference = read_tsv(&fixtures().join("open-nsfw-reference.tsv"));
    let photos = photos();
    let tagger = Tagger::new(
        vec![load_model("efficientnet-lite0"), load_model("open-nsfw")],
        &TaggerConfig::default(),
    );
    let outputs = classify_all(&tagger, &photos);

    let reference_top5 = read_tsv(&fixtures().join("reference-top5.tsv"));
    let mut worst = (0f32, "");
    for ((name, _), output) in photos.iter().zip(&outputs) {
        assert_eq!(output.len(), 2, "one output per model");
        assert_eq!(output[0].len(), 1000);
        assert_eq!(output[1].len(), 2);
        let top1: usize = reference_top5[name][0][2].parse().expect("class index");
        assert_eq!(
            argmax(&output[0]),
            top1,
            "{name}: the second model disturbed the first"
        );

        let want: f32 = reference[name][0][1].parse().expect("score");
        let nsfw = output[1][1];
        // The JPEG round trip inside the preprocessing uses another encoder
        // than Pillow's libjpeg, so scores move a little.
        assert!(
            (nsfw - want).abs() <= 0.05,
            "{name}: open_nsfw score {nsfw:.4}, the package says {want:.4}"
        );
        assert!(
            (output[1][0] + nsfw - 1.0).abs() < 1e-4,
            "{name}: probabilities sum to 1"
        );
        if (nsfw - want).abs() > worst.0 {
            worst = ((nsfw - want).abs(), name);
        }
    }
    eprintln!(
        "largest open_nsfw score difference: {:.4} ({})",
        worst.0, worst.1
    );
}

#[test]
fn a_swapped_in_model_is_described_entirely_by_its_model_toml() {
    let spec = load_spec("open-nsfw");
    assert_eq!(spec.labels.len(), 2);
    let moderator = Moderator::load(
        &model_path("open-nsfw"),
        &repo().join("tests/fixtures/policies/nsfw-only.toml"),
        &[],
        &TaggerConfig::default(),
    )
    .expect("open_nsfw with a policy over its own labels");
    let photos = photos();
    let images: Vec<&[u8]> = photos.iter().map(|(_, bytes)| bytes.as_slice()).collect();
    for (result, (name, _)) in moderator
        .assess(&images)
        .expect("inference")
        .into_iter()
        .zip(&photos)
    {
        let assessment = result.expect("decodes");
        assert_eq!(assessment.tags[0].label, "sfw", "{name}");
        assert_eq!(assessment.decision.status, Status::Approved, "{name}");
        assert_eq!(
            assessment.decision.category.as_deref(),
            Some("safe"),
            "{name}"
        );
    }
}

fn assess_photos(moderator: &Moderator) -> BTreeMap<String, adpipe_tagger::Assessment> {
    let photos = photos();
    let images: Vec<&[u8]> = photos.iter().map(|(_, bytes)| bytes.as_slice()).collect();
    moderator
        .assess(&images)
        .expect("inference")
        .into_iter()
        .zip(photos)
        .map(|(result, (name, _))| (name, result.expect("decodes")))
        .collect()
}

#[test]
fn the_vehicles_policy_approves_recognised_vehicles_reviews_the_unsure_and_rejects_the_rest() {
    let moderator = Moderator::load(
        &model_path("efficientnet-lite0"),
        &repo().join("models/policies/vehicles.toml"),
        &[],
        &TaggerConfig::default(),
    )
    .expect("default model and policy");
    let expected_categories = [
        ("vehicle/boats_nagasaki.jpg", "boat"),
        ("vehicle/car_rear_motionblur.jpg", "car"),
        ("vehicle/motorcycle_garage.png", "motorcycle"),
    ];
    let assessments = assess_photos(&moderator);
    for (name, assessment) in &assessments {
        let decision = &assessment.decision;
        if let Some((_, category)) = expected_categories.iter().find(|(photo, _)| photo == name) {
            assert_eq!(
                decision.status,
                Status::Approved,
                "{name}: {:?}",
                decision.reason
            );
            assert_eq!(decision.category.as_deref(), Some(*category), "{name}");
            assert!(decision.reason.is_none());
        } else if name == "vehicle/biplane_from_above.jpg" || name == "other/astronaut_portrait.png"
        {
            // The vintage biplane seen from above, which ImageNet-1k cannot
            // recognise (the reference says "book jacket"), and the
            // astronaut beside a shuttle model: in the band, a person
            // decides. The model leans to rejecting both.
            assert_eq!(
                decision.status,
                Status::InReview,
                "{name}: {}",
                decision.score
            );
            assert_eq!(decision.suggestion, Some(Status::Rejected), "{name}");
        } else {
            // The other photos.
            assert_eq!(
                decision.status,
                Status::Rejected,
                "{name}: {:?}",
                decision.category
            );
            let reason = decision
                .reason
                .as_deref()
                .expect("a rejection has a reason");
            assert!(
                reason.starts_with("We only publish ads for vehicles."),
                "{name}: {reason}"
            );
        }
    }
}

#[test]
fn the_int8_model_keeps_every_decision_of_the_fp32_model() {
    let load = |model: &str| {
        Moderator::load(
            &model_path(model),
            &repo().join("models/policies/vehicles.toml"),
            &[],
            &TaggerConfig::default(),
        )
        .unwrap_or_else(|error| panic!("{model}: {error}"))
    };
    let fp32 = assess_photos(&load("efficientnet-lite0"));
    let int8 = assess_photos(&load("efficientnet-lite0-int8"));
    let mut same_top1 = 0;
    let mut largest_move = 0f32;
    let exact_int8_products = cpu_adds_int8_products_exactly();
    for (name, full) in &fp32 {
        let quantized = &int8[name];
        assert_eq!(
            (quantized.decision.status, &quantized.decision.category),
            (full.decision.status, &full.decision.category),
            "{name}: int8 {:?} vs fp32 {:?}",
            quantized.tags,
            full.tags
        );
        if quantized.tags[0].label == full.tags[0].label {
            same_top1 += 1;
            // Close in value too, not just on the same side of the threshold.
            let difference = (quantized.tags[0].confidence - full.tags[0].confidence).abs();
            largest_move = largest_move.max(difference);
            if exact_int8_products {
                assert!(difference < 0.1, "{name}: top-1 moved by {difference}");
            }
        }
    }
    println!(
        "int8 vs fp32: same top-1 on {same_top1}/{} photos, top-1 probability moved by at most \
         {largest_move:.3} (VNNI: {exact_int8_products})",
        fp32.len()
    );
    if !exact_int8_products {
        // Without VNNI, onnxruntime's x86 kernels add u8×s8 products in
        // 16 bits and saturate (measured on an AVX2-only AMD EPYC: top-1
        // 23/29 shared photos, probabilities moved by up to 0.43, every
        // decision kept; PROVENANCE.md). The decisions above are the
        // promise on every CPU; the closeness only where products are exact.
        return;
    }
    // Near-ties may swap places (3 of the 26 photos today, all far from any
    // category's threshold); many more would mean a broken calibration.
    assert!(
        same_top1 * 100 >= fp32.len() * 85,
        "same top-1 label on only {same_top1}/{} photos",
        fp32.len()
    );
}

#[test]
fn the_nsfw_gate_composes_with_any_policy() {
    let gate_path = repo().join("models/policies/nsfw-gate.toml");
    let moderator = Moderator::load(
        &model_path("efficientnet-lite0"),
        &repo().join("models/policies/vehicles.toml"),
        std::slice::from_ref(&gate_path),
        &TaggerConfig::default(),
    )
    .expect("policy with the NSFW gate");
    let assessments = assess_photos(&moderator);
    let car = &assessments["vehicle/car_rear_motionblur.jpg"];
    assert_eq!(
        car.decision.status,
        Status::Approved,
        "a safe photo passes the gate"
    );
    assert_eq!(car.gate_scores.len(), 1);
    assert_eq!(car.gate_scores[0].0, "nsfw");

    // The same gate with a threshold below the car photo's score vetoes it:
    // the gate decides before the policy, whatever the policy says.
    let gate_text = std::fs::read_to_string(&gate_path).expect("gate file");
    let mut gate = Gate::from_toml(&gate_text, "nsfw-gate.toml").expect("gate parses");
    let strict_threshold = car.gate_scores[0].1 / 2.0;
    gate.threshold = strict_threshold;
    let strict_path =
        std::env::temp_dir().join(format!("adpipe-strict-gate-{}", std::process::id()));
    std::fs::create_dir_all(&strict_path).expect("temp dir");
    let strict_gate = strict_path.join("gate.toml");
    let model_link =
        std::fs::canonicalize(repo().join("models/open-nsfw/model.toml")).expect("open-nsfw model");
    std::fs::write(
        &strict_gate,
        format!(
            "name = \"nsfw\"\nmodel = {:?}\nlabel = \"nsfw\"\nthreshold = {strict_threshold}\nreason = {:?}\n",
            model_link.display().to_string(),
            gate.reason
        ),
    )
    .expect("write gate");
    let strict = Moderator::load(
        &model_path("efficientnet-lite0"),
        &repo().join("models/policies/vehicles.toml"),
        &[strict_gate],
        &TaggerConfig::default(),
    )
    .expect("strict gate");
    let car = &assess_photos(&strict)["vehicle/car_rear_motionblur.jpg"];
    assert_eq!(car.decision.status, Status::Rejected);
    let reason = car.decision.reason.as_deref().expect("a veto has a reason");
    assert!(
        reason.starts_with(gate.reason.trim_end_matches('.')),
        "{reason}"
    );
    std::fs::remove_dir_all(strict_path).ok();
}

#[test]
fn every_shipped_policy_binds_to_the_default_model_labels() {
    let spec = load_spec("efficientnet-lite0");
    let policies = repo().join("models/policies");
    let mut bound = 0;
    for entry in std::fs::read_dir(&policies).expect("policies folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("policy file");
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().contains("gate"))
        {
            let gate = Gate::from_toml(&text, &path.display().to_string()).expect("gate parses");
            let gate_spec = ModelSpec::load(policies.join(&gate.model)).expect("gate model spec");
            gate.bind(&gate_spec.labels, &gate_spec.name)
                .expect("gate label exists");
        } else {
            let policy =
                Policy::from_toml(&text, &path.display().to_string()).expect("policy parses");
            policy
                .bind(&spec.labels, &spec.name)
                .unwrap_or_else(|error| panic!("{error}"));
        }
        bound += 1;
    }
    assert!(bound >= 3, "vehicles, marketplace and the NSFW gate ship");
}

#[test]
fn the_marketplace_policy_sorts_everyday_photos_into_categories() {
    let moderator = Moderator::load(
        &model_path("efficientnet-lite0"),
        &repo().join("models/policies/marketplace.toml"),
        &[],
        &TaggerConfig::default(),
    )
    .expect("marketplace policy");
    let assessments = assess_photos(&moderator);
    let expectations = [
        ("vehicle/car_rear_motionblur.jpg", Some("vehicles")),
        ("vehicle/motorcycle_garage.png", Some("vehicles")),
        ("other/dog_pekingese.png", Some("pets")),
        ("other/circuit_board.jpg", Some("electronics")),
        ("other/honey_bee_flower.jpg", None),
        ("other/mandrill.jpg", None),
    ];
    for (name, category) in expectations {
        let decision = &assessments[name].decision;
        assert_eq!(
            decision.category.as_deref(),
            category,
            "{name}: {:?}",
            decision.reason
        );
        let status = if category.is_some() {
            Status::Approved
        } else {
            Status::Rejected
        };
        assert_eq!(decision.status, status, "{name}");
    }
}

#[test]
fn a_second_view_keeps_the_highest_probability_per_label() {
    let spec = load_spec("efficientnet-lite0");
    let mut two_views = spec.clone();
    two_views.preprocess.views = vec![
        adpipe_tagger::View::CenterCrop,
        adpipe_tagger::View::Stretch,
    ];
    let config = TaggerConfig::default();
    let one = Tagger::new(vec![Model::load(spec, &config).expect("model")], &config);
    let two = Tagger::new(
        vec![Model::load(two_views, &config).expect("model")],
        &config,
    );
    let photos = photos();
    let one_outputs = classify_all(&one, &photos);
    let two_outputs = classify_all(&two, &photos);
    for ((name, _), (single, merged)) in photos.iter().zip(one_outputs.iter().zip(&two_outputs)) {
        for (label, (a, b)) in single[0].iter().zip(&merged[0]).enumerate() {
            assert!(
                b + 1e-5 >= *a,
                "{name}: label {label} lost probability with a second view"
            );
        }
    }
}

/// Whether onnxruntime's int8 kernels on this CPU add u8×s8 products
/// without saturating: x86 with VNNI (AVX-512 or AVX), or not x86 at all.
fn cpu_adds_int8_products_exactly() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512vnni")
            || std::arch::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// The worker warms its models up on a blank full batch and the longest
/// text before its first ad (so ONNX Runtime's arena is at its working
/// size from the start): that run must leave no trace in any judgement.
#[test]
fn warming_up_changes_no_judgement() {
    let load = || {
        Moderator::load(
            &model_path("efficientnet-lite0"),
            &repo().join("models/policies/vehicles-text.toml"),
            &[],
            &TaggerConfig::default(),
        )
        .expect("default model and the policy that reads texts")
    };
    let cold = load();
    let warm = std::sync::Arc::new(load());
    warm.warm_up(8)
        .expect("a blank batch and the longest text run");
    assert_eq!(assess_photos(&warm), assess_photos(&cold));
    let text = "Family estate car for sale, one owner, full service history";
    assert_eq!(
        warm.read_text(text).expect("text read"),
        cold.read_text(text).expect("text read")
    );
}

/// The main model's run keeps each photo's feature vector (what the worker
/// stores for training): the same vector the model read for its features
/// alone gives, and a trained head hands on its backbone's, under the
/// backbone's name.
#[test]
fn the_main_model_keeps_each_photos_embedding() {
    let config = TaggerConfig::default();
    let spec = load_spec("efficientnet-lite0");
    let features = spec.features().expect("the default model has an embedding");
    let tagger =
        |spec: ModelSpec| Tagger::new(vec![Model::load(spec, &config).expect("model")], &config);
    let live = tagger(spec);
    let alone = tagger(features);
    let head = tagger(load_spec("tools-head"));
    assert_eq!(
        load_spec("tools-head").embedding_model(),
        "efficientnet-lite0"
    );
    assert_eq!(live.main_model().classifier().embedding_width(), Some(1280));
    let photos: Vec<(String, Vec<u8>)> = photos().into_iter().take(5).collect();
    let (live, alone, head) = (
        classify_keeping(&live, &photos),
        classify_keeping(&alone, &photos),
        classify_keeping(&head, &photos),
    );
    for (name, _) in &photos {
        let expected = &alone[name].scores[0];
        assert_eq!(
            alone[name].embedding, None,
            "{name}: its scores are the features"
        );
        for (who, outputs) in [("the classifier", &live[name]), ("the head", &head[name])] {
            let kept = outputs
                .embedding
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: {who} kept no embedding"));
            assert_eq!(kept.len(), 1280, "{name}: {who}");
            for (a, b) in kept.iter().zip(expected) {
                assert!(
                    (a - b).abs() <= 1e-4 + b.abs() * 1e-4,
                    "{name}: {who}: {a} vs {b}"
                );
            }
        }
    }
    // An image classifier without an embedding output keeps none.
    let nsfw = tagger(load_spec("open-nsfw"));
    assert_eq!(nsfw.main_model().classifier().embedding_width(), None);
    let kept = classify_keeping(&nsfw, &photos[..1]);
    assert!(kept.values().all(|outputs| outputs.embedding.is_none()));
}

fn classify_keeping(
    tagger: &Tagger,
    photos: &[(String, Vec<u8>)],
) -> BTreeMap<String, adpipe_tagger::Outputs> {
    let images: Vec<&[u8]> = photos.iter().map(|(_, bytes)| bytes.as_slice()).collect();
    tagger
        .classify(&images)
        .expect("inference")
        .into_iter()
        .zip(photos)
        .map(|(result, (name, _))| (name.clone(), result.expect("decodes")))
        .collect()
}
