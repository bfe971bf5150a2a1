//! Which models judging by a policy takes: the one place that says so, read
//! by whoever loads the models (`adpipe_tagger::Moderator`, behind the
//! worker and `adpipe tag`). A section that reads with a model of its own
//! adds its model here, with the model's kind.

use super::{Gate, Policy};
use crate::model::{ModelKind, ModelSource, RequiredModel};

impl Policy {
    /// The models this policy needs, in the order they are loaded: always
    /// the image classifier its categories' labels name (the configured
    /// one), then one per section that reads with a model of its own
    /// (`[text]`: a text embedder; `[text_in_image]`: an OCR detector, which
    /// names its recogniser).
    pub fn required_models(&self) -> Vec<RequiredModel> {
        let mut models = vec![RequiredModel {
            kind: ModelKind::ImageClassifier,
            source: ModelSource::Configured,
        }];
        if let Some(text) = &self.text {
            models.push(RequiredModel {
                kind: ModelKind::TextEmbedder,
                source: ModelSource::Named {
                    role: "the policy's [text] model".into(),
                    path: text.model.clone(),
                },
            });
        }
        if let Some(section) = &self.text_in_image {
            models.push(RequiredModel {
                kind: ModelKind::OcrDetector,
                source: ModelSource::Named {
                    role: "the policy's [text_in_image] model".into(),
                    path: section.model.clone(),
                },
            });
        }
        models
    }
}

impl Gate {
    /// The classifier whose labels the gate reads, named by its `model`.
    pub fn required_model(&self) -> RequiredModel {
        RequiredModel {
            kind: ModelKind::ImageClassifier,
            source: ModelSource::Named {
                role: format!("gate `{}`'s model", self.name),
                path: self.model.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn kinds(policy: &Policy) -> Vec<ModelKind> {
        policy.required_models().iter().map(|m| m.kind).collect()
    }

    const PHOTO_ONLY: &str = r#"
        name = "vehicles"
        min_score = 0.3
        [[category]]
        name = "car"
        labels = ["cab"]
    "#;

    #[test]
    fn a_policy_without_sections_needs_the_configured_image_classifier_only() {
        let policy = Policy::from_toml(PHOTO_ONLY, "p.toml").unwrap();
        assert_eq!(
            policy.required_models(),
            [RequiredModel {
                kind: ModelKind::ImageClassifier,
                source: ModelSource::Configured,
            }]
        );
    }

    #[test]
    fn a_text_section_adds_its_text_embedder_named_relative_to_the_policy() {
        let with_text = PHOTO_ONLY.replace(
            "[[category]]",
            "[text]\nmodel = \"../minilm-l6/model.toml\"\n[[category]]\ntext = [\"a used car\"]",
        );
        let policy = Policy::from_toml(&with_text, "p.toml").unwrap();
        let models = policy.required_models();
        assert_eq!(
            kinds(&policy),
            [ModelKind::ImageClassifier, ModelKind::TextEmbedder]
        );
        assert_eq!(
            models[1].source,
            ModelSource::Named {
                role: "the policy's [text] model".into(),
                path: "../minilm-l6/model.toml".into(),
            }
        );
    }

    #[test]
    fn a_gate_needs_its_own_image_classifier() {
        let gate = Gate::from_toml(
            "name = 'nsfw'\nmodel = '../open-nsfw/model.toml'\nlabel = 'nsfw'\nthreshold = 0.8\nreason = 'No.'",
            "g.toml",
        )
        .unwrap();
        let model = gate.required_model();
        assert_eq!(model.kind, ModelKind::ImageClassifier);
        assert_eq!(model.role(), "gate `nsfw`'s model");
    }

    #[test]
    fn the_shipped_policies_need_what_their_sections_say() {
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/policies");
        let read = |name: &str| std::fs::read_to_string(policies.join(name)).unwrap();
        let needs = |name: &str| kinds(&Policy::from_toml(&read(name), name).unwrap());
        let image = ModelKind::ImageClassifier;
        assert_eq!(needs("vehicles-photo.toml"), [image]);
        for reads_text in ["vehicles.toml", "vehicles-text.toml"] {
            assert_eq!(needs(reads_text), [image, ModelKind::TextEmbedder]);
        }
        assert_eq!(
            needs("marketplace.toml"),
            [image, ModelKind::TextEmbedder, ModelKind::OcrDetector]
        );
        let gate = Gate::from_toml(&read("nsfw-gate.toml"), "nsfw-gate.toml").unwrap();
        assert_eq!(gate.required_model().kind, image);
    }
}
