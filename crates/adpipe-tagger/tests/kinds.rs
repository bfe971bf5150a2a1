//! Every shipped model loads through its kind's loader (its session checked
//! against its model.toml), and a model.toml of the wrong kind for its slot
//! is an error that says which slot wanted which kind.
//!
//! Loading needs ONNX Runtime and the models from `scripts/setup.sh`;
//! without them it fails with an error that says so.

use std::path::{Path, PathBuf};

use adpipe_tagger::kind::{self, ModelKind};
use adpipe_tagger::ocr::{DetectorSpec, RecognizerSpec};
use adpipe_tagger::{ModelSpec, Moderator, TaggerConfig, TextModelSpec};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped_models() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("models"))
        .expect("models/")
        .map(|entry| entry.expect("entry").path().join("model.toml"))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_shipped_model_loads_through_its_kinds_loader() {
    let config = TaggerConfig {
        preprocess_threads: 1,
        ..TaggerConfig::default()
    };
    let role = "the shipped model";
    let mut kinds = Vec::new();
    for path in shipped_models() {
        let kind = kind::check(&path).unwrap_or_else(|error| panic!("{error}"));
        let loaded = match kind {
            ModelKind::ImageClassifier | ModelKind::ImageHead => {
                kind::load_for::<ModelSpec>(&path, role, &config).map(drop)
            }
            ModelKind::TextEmbedder => {
                kind::load_for::<TextModelSpec>(&path, role, &config).map(drop)
            }
            ModelKind::OcrDetector => {
                kind::load_for::<DetectorSpec>(&path, role, &config).map(drop)
            }
            ModelKind::OcrRecognizer => {
                kind::load_for::<RecognizerSpec>(&path, role, &config).map(drop)
            }
        };
        loaded.unwrap_or_else(|error| {
            panic!("{} (run scripts/setup.sh first): {error}", path.display())
        });
        kinds.push(kind);
    }
    for kind in ModelKind::ALL {
        assert!(kinds.contains(&kind), "no shipped model of kind {kind}");
    }
}

#[test]
fn the_ocr_sessions_match_their_descriptions() {
    let config = TaggerConfig::default();
    let detector =
        kind::load_for::<DetectorSpec>(&repo().join("models/ppocr-det/model.toml"), "d", &config)
            .expect("the detector loads");
    assert_eq!(detector.input_name(), "x");
    assert_eq!(detector.output_name(), "fetch_name_0");
    let recognizer =
        kind::load_for::<RecognizerSpec>(&repo().join("models/ppocr-rec/model.toml"), "r", &config)
            .expect("the recogniser loads");
    assert_eq!(recognizer.spec().classes(), 6906);
}

fn moderator_error(model: &Path, policy: &Path) -> String {
    Moderator::load(model, policy, &[], &TaggerConfig::default())
        .expect_err("a model of the wrong kind")
        .to_string()
}

#[test]
fn a_text_model_as_the_classifier_is_a_clear_error() {
    let error = moderator_error(
        &repo().join("models/minilm-l6/model.toml"),
        &repo().join("models/policies/vehicles.toml"),
    );
    assert!(
        error.contains("minilm-l6/model.toml describes a text embedder"),
        "{error}"
    );
    assert!(
        error.contains("the model (--model, ADPIPE_MODEL) must be an image classifier"),
        "{error}"
    );
}

#[test]
fn an_image_classifier_as_the_policys_text_model_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("adpipe-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let policy = std::fs::read_to_string(repo().join("models/policies/vehicles-text.toml"))
        .expect("the policy")
        .replace(
            "model = \"../minilm-l6/model.toml\"",
            &format!(
                "model = {:?}",
                repo().join("models/efficientnet-lite0/model.toml")
            ),
        );
    let policy_path = dir.join("policy.toml");
    std::fs::write(&policy_path, policy).expect("write the policy");
    let error = moderator_error(
        &repo().join("models/efficientnet-lite0/model.toml"),
        &policy_path,
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        error.contains("efficientnet-lite0/model.toml describes an image classifier"),
        "{error}"
    );
    assert!(
        error.contains("the policy's [text] model must be a text embedder"),
        "{error}"
    );
}
