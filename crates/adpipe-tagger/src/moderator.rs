//! A tagger together with the policy and gates that judge its output: what
//! both `adpipe tag` and the worker run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adpipe_core::policy::{
    self, BoundGate, BoundPolicy, Decision, Gate, Policy, PolicyError, TextScores,
};
use adpipe_core::{AdId, DecidedBy, Embedding, ModelSource, RequiredModel, Status, Tag, top_k};

use crate::classifier::ModelError;
use crate::decoding::ImageBytes;
use crate::decoding::PreparedBatch;
use crate::image_classifier::ModelSpec;
use crate::kind::{self, KindSpec, ModelKind};
use crate::load::{LoadError, TaggerConfig};
use crate::model_thread::ModelThread;
use crate::photo_text::{Photo, PhotoText};
use crate::tagger::{ItemError, Outputs, Tagger};
use crate::text::{TextEmbedder, TextModelSpec, cosine};
use adpipe_image::DecodeError;

#[derive(Debug, thiserror::Error)]
pub enum ModeratorError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{role} is {}: adpipe cannot judge with that kind of model yet", .kind.describe())]
    NotRunnable { kind: ModelKind, role: String },
}

/// What adpipe concluded about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The main model's most probable labels, best first.
    pub tags: Vec<Tag>,
    pub decision: Decision,
    /// Each gate's name and score.
    pub gate_scores: Vec<(String, f32)>,
    /// The photo's feature vector, when the main model has one: kept with
    /// the ad, so a head can be trained on the team's decisions later.
    pub embedding: Option<Embedding>,
}

/// Per image of a batch, in order, its assessment or why it could not be
/// read; an error when a model failed.
pub type AssessedBatch = Result<Vec<Result<Assessment, DecodeError>>, ModelError>;

#[derive(Debug)]
pub struct Moderator {
    tagger: Tagger,
    policy: BoundPolicy,
    /// Gate `i` reads the outputs of model `i + 1`.
    gates: Vec<BoundGate>,
    /// The text model and the policy's prototypes, when it reads texts.
    reader: Option<TextReader>,
    /// The OCR models, when the policy reads the text in photos.
    photo_text: Option<PhotoText>,
    top_k: usize,
    /// The registry version it was loaded from (`adpipe models promote`),
    /// named in every decision's history; none for a configured model.
    version: Option<String>,
    /// Where [`Moderator::warm_up`] and [`Moderator::assess_in_background`]
    /// run the models.
    model_thread: ModelThread,
}

/// The policy's text model with its prototypes embedded once, at load.
#[derive(Debug)]
struct TextReader {
    embedder: TextEmbedder,
    /// Per category (policy order), its prototypes' vectors.
    categories: Vec<Vec<Vec<f32>>>,
    off_topic: Vec<Vec<f32>>,
    neutral: Vec<Vec<f32>>,
    temperature: f32,
}

impl TextReader {
    /// Loads the policy's text model and embeds its prototypes.
    fn load(
        policy: &Policy,
        spec: TextModelSpec,
        config: &TaggerConfig,
    ) -> Result<Self, ModeratorError> {
        let section = policy.text.as_ref().ok_or_else(|| PolicyError::Invalid {
            source_name: policy.name.clone(),
            message: "a text model without a [text] section".into(),
        })?;
        let embedder = spec.load(config)?;
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>, ModeratorError> {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(embedder.embed_all(&texts).map_err(LoadError::from)?)
        };
        let categories = policy
            .categories
            .iter()
            .map(|category| embed(&category.text))
            .collect::<Result<Vec<_>, _>>()?;
        let off_topic = embed(&section.off_topic)?;
        let neutral = embed(&section.neutral)?;
        Ok(Self {
            embedder,
            categories,
            off_topic,
            neutral,
            temperature: section.temperature,
        })
    }

    fn warm_up(&self) -> Result<(), ModelError> {
        self.embedder.warm_up()
    }

    fn read(&self, text: &str) -> Result<TextScores, ModelError> {
        let vector = self.embedder.embed(text)?;
        let best = |prototypes: &[Vec<f32>]| {
            prototypes
                .iter()
                .map(|prototype| cosine(&vector, prototype))
                .fold(f32::NEG_INFINITY, f32::max)
        };
        let categories: Vec<f32> = self.categories.iter().map(|p| best(p)).collect();
        let off_topic = (!self.off_topic.is_empty()).then(|| best(&self.off_topic));
        let neutral = (!self.neutral.is_empty()).then(|| best(&self.neutral));
        Ok(TextScores::from_similarities(
            &categories,
            off_topic,
            neutral,
            self.temperature,
        ))
    }
}

fn read(path: &Path) -> Result<String, ModeratorError> {
    std::fs::read_to_string(path).map_err(|source| ModeratorError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The model.toml of `required`: the configured `model`, or the one named
/// in `named_in` (a policy or gate file), relative to that file.
fn model_toml(required: &RequiredModel, model: &Path, named_in: &Path) -> PathBuf {
    match &required.source {
        ModelSource::Configured => model.to_owned(),
        ModelSource::Named { path, .. } => named_in.parent().unwrap_or(Path::new(".")).join(path),
    }
}

/// Reads the image classifier `required` names (for a gate, or the policy).
fn image_spec(
    required: &RequiredModel,
    model: &Path,
    named_in: &Path,
) -> Result<ModelSpec, ModeratorError> {
    let path = model_toml(required, model, named_in);
    Ok(kind::read_for::<ModelSpec>(&path, &required.role()).map_err(LoadError::from)?)
}

pub const DEFAULT_TOP_K: usize = 5;

impl Moderator {
    /// Loads the policy, the models it needs ([`Policy::required_models`]:
    /// `model`, the configured image classifier, and any model its sections
    /// name) and each gate with its own model.
    pub fn load(
        model: &Path,
        policy: &Path,
        gates: &[PathBuf],
        config: &TaggerConfig,
    ) -> Result<Self, ModeratorError> {
        let policy_path = policy;
        let policy = Policy::from_toml(&read(policy)?, &policy.display().to_string())?;
        // Every description is read and checked before a session loads.
        let (mut image, mut text, mut ocr) = (None, None, None);
        for required in policy.required_models() {
            match required.kind {
                // A trained head stands in for the classifier (`image_head`).
                ModelKind::ImageClassifier | ModelKind::ImageHead => {
                    image = Some(image_spec(&required, model, policy_path)?);
                }
                ModelKind::TextEmbedder => {
                    let path = model_toml(&required, model, policy_path);
                    let spec = kind::read_for::<TextModelSpec>(&path, &required.role());
                    text = Some(spec.map_err(LoadError::from)?);
                }
                ModelKind::OcrDetector => {
                    ocr = Some(model_toml(&required, model, policy_path));
                }
                kind @ ModelKind::OcrRecognizer => {
                    let role = required.role();
                    return Err(ModeratorError::NotRunnable { kind, role });
                }
            }
        }
        let spec = image.ok_or_else(|| PolicyError::Invalid {
            source_name: policy.name.clone(),
            message: "the policy needs no image classifier".into(),
        })?;
        let policy = policy.bind(&spec.labels, &spec.name)?;
        let reader = text
            .map(|spec| TextReader::load(policy.policy(), spec, config))
            .transpose()?;
        let photo_text = match (ocr, &policy.policy().text_in_image) {
            (Some(path), Some(section)) => Some(PhotoText::load(&path, section.clone(), config)?),
            _ => None,
        };
        let mut models = vec![spec.load(config)?];
        let mut bound_gates = Vec::with_capacity(gates.len());
        for gate_path in gates {
            let gate = Gate::from_toml(&read(gate_path)?, &gate_path.display().to_string())?;
            let spec = image_spec(&gate.required_model(), model, gate_path)?;
            bound_gates.push(gate.bind(&spec.labels, &spec.name)?);
            models.push(spec.load(config)?);
        }
        let mut tagger = Tagger::new(models, config);
        if photo_text.is_some() {
            tagger.keep_photos(crate::photo_text::PHOTO_SIDE);
        }
        Ok(Self {
            tagger,
            photo_text,
            policy,
            gates: bound_gates,
            reader,
            top_k: DEFAULT_TOP_K,
            version: None,
            model_thread: ModelThread::start(),
        })
    }

    pub fn with_top_k(mut self, top_k: usize) -> Self {
        self.top_k = top_k;
        self
    }

    /// Names the registry version it was loaded from.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The registry version it was loaded from; none for a configured model.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    pub fn policy(&self) -> &BoundPolicy {
        &self.policy
    }

    pub fn model_name(&self) -> &str {
        &self.tagger.main_model().spec().name
    }

    /// Who its decisions are recorded as made by.
    pub fn decided_by(&self) -> DecidedBy {
        // A registry version is named by its hash's first 12 digits, as
        // `adpipe models list` shows it: `model:<name>:<version>@<policy>`.
        let model = match &self.version {
            Some(version) => format!(
                "{}:{}",
                self.model_name(),
                adpipe_core::short_version(version)
            ),
            None => self.model_name().to_owned(),
        };
        DecidedBy {
            model,
            policy: self.policy.name().to_owned(),
        }
    }

    /// Sends ad `id`'s automatic approval to a person instead when the
    /// policy's `review_sample` picks it (by the ad's own random draw, so
    /// the same ad is picked the same way every time it is judged).
    pub fn sample_for_review(&self, id: AdId, decision: Decision) -> Decision {
        decision.sampled_for_review(self.policy.policy().review_sample, id.sample_point())
    }

    /// Applies the policy's text rules (`[[text_rule]]`) to the ad's text.
    pub fn judge_text(&self, text: &str, decision: Decision) -> Decision {
        decision.with_text_rules(self.policy.text_rules(), text)
    }

    pub fn gates(&self) -> &[BoundGate] {
        &self.gates
    }

    /// Runs every model on the inputs a worker gives it: blank batches of
    /// every size up to `batch_size` ([`crate::Classifier::warm_up`]), and
    /// the longest text the text model reads. A long-running worker's
    /// memory is then at its working size from the start, and the first
    /// ads are not the slow ones. Runs on the model thread, where
    /// [`Moderator::assess_in_background`] will.
    pub fn warm_up(self: &Arc<Self>, batch_size: usize) -> Result<(), ModelError> {
        let moderator = self.clone();
        self.model_thread
            .run_and_wait(move || {
                moderator.tagger.warm_up(batch_size.max(1))?;
                if let Some(photo_text) = &moderator.photo_text {
                    photo_text.warm_up()?;
                }
                moderator
                    .reader
                    .as_ref()
                    .map_or(Ok(()), TextReader::warm_up)
            })
            .unwrap_or_else(|| Err(ModelError::Inference("the model thread stopped".into())))
    }

    /// What the ad's text says, for a policy that reads texts (`[text]`);
    /// `None` for one that does not.
    pub fn read_text(&self, text: &str) -> Result<Option<TextScores>, ModelError> {
        self.reader
            .as_ref()
            .map(|reader| reader.read(text))
            .transpose()
    }

    /// Judges the outputs of all models for one image, with what its text
    /// says when the policy reads texts.
    pub fn assess_outputs(&self, outputs: &Outputs, text: Option<&TextScores>) -> Assessment {
        let main = &outputs.scores[0];
        let labels = &self.tagger.main_model().spec().labels;
        let tags = top_k(main, labels, self.top_k.max(1));
        let gate_inputs: Vec<(&BoundGate, &[f32])> = self
            .gates
            .iter()
            .zip(&outputs.scores[1..])
            .map(|(gate, probabilities)| (gate, probabilities.as_slice()))
            .collect();
        let top_label = tags.first().map(|tag| (tag.label.as_str(), tag.confidence));
        let decision = policy::judge(&self.policy, main, top_label, text, &gate_inputs);
        let gate_scores = gate_inputs
            .iter()
            .map(|(gate, probabilities)| (gate.gate().name.clone(), gate.score(probabilities)))
            .collect();
        let mut tags = tags;
        tags.truncate(self.top_k);
        let embedding = outputs.embedding.as_ref().map(|vector| {
            Embedding::new(
                self.tagger.main_model().spec().embedding_model(),
                vector.clone(),
            )
        });
        Assessment {
            tags,
            decision,
            gate_scores,
            embedding,
        }
    }

    /// Tags and judges one in-memory batch.
    pub fn assess(&self, images: &[&[u8]]) -> AssessedBatch {
        self.assess_prepared(self.tagger.prepare_batch(images), &[])
    }

    /// Decodes and preprocesses a batch for [`Moderator::assess_prepared`]:
    /// the worker prepares the next batch while the current one is judged.
    pub fn prepare(&self, images: &[&[u8]]) -> PreparedBatch {
        self.tagger.prepare_batch(images)
    }

    /// [`Moderator::prepare`] on the tagger's long-lived decoding threads;
    /// `done` gets the batch (see [`Tagger::prepare_batch_in_background`]).
    pub fn prepare_in_background(
        &self,
        images: Vec<ImageBytes>,
        done: impl FnOnce(PreparedBatch) + Send + 'static,
    ) {
        self.tagger.prepare_batch_in_background(images, done);
    }

    /// Runs the models over a prepared batch and judges each image, with
    /// its ad's text (`texts[i]` for image `i`; none when `texts` is empty)
    /// when the policy reads texts.
    pub fn assess_prepared(&self, mut batch: PreparedBatch, texts: &[&str]) -> AssessedBatch {
        let photos = batch.take_photos();
        let outputs = self.tagger.infer(batch)?;
        outputs
            .into_iter()
            .zip(photos)
            .enumerate()
            .map(|(index, (result, photo))| match result {
                Ok(outputs) => {
                    let assessment = self.assess_with_text(&outputs, texts.get(index).copied())?;
                    self.read_photo(assessment, photo.as_ref()).map(Ok)
                }
                Err(error) => Ok(Err(error)),
            })
            .collect()
    }

    /// Whether the policy reads the text in photos (`[text_in_image]`).
    pub fn reads_photos(&self) -> bool {
        self.photo_text.is_some()
    }

    /// Reads the text in the photo `bytes` hold and applies it to
    /// `decision`, for a caller that classified them without keeping the
    /// photo (`adpipe tag` streams); as it is for a policy that does not
    /// read photos.
    pub fn judge_photo(&self, bytes: &[u8], decision: Decision) -> Result<Decision, ItemError> {
        let Some(photo_text) = &self.photo_text else {
            return Ok(decision);
        };
        let photo = PhotoText::decode(bytes, &self.tagger.limits()).map_err(ItemError::Decode)?;
        photo_text
            .judge(&self.policy, &photo, decision)
            .map_err(|error| ItemError::Inference(format!("cannot read the photo's text: {error}")))
    }

    /// Applies the text in the photo, for a policy that reads it.
    fn read_photo(
        &self,
        assessment: Assessment,
        photo: Option<&Photo>,
    ) -> Result<Assessment, ModelError> {
        let (Some(photo_text), Some(photo)) = (&self.photo_text, photo) else {
            return Ok(assessment);
        };
        Ok(Assessment {
            decision: photo_text.judge(&self.policy, photo, assessment.decision)?,
            ..assessment
        })
    }

    /// [`Moderator::assess_prepared`] on the moderator's one long-lived
    /// model thread (see [`crate::model_thread`]), behind the batches
    /// queued before it; `done` gets the result there, or is dropped unrun
    /// if the models panicked.
    pub fn assess_in_background(
        self: &Arc<Self>,
        batch: PreparedBatch,
        texts: Vec<String>,
        done: impl FnOnce(AssessedBatch) + Send + 'static,
    ) {
        let moderator = self.clone();
        self.model_thread.run(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            done(moderator.assess_prepared(batch, &texts));
        });
    }

    /// Judges one image's outputs with its ad's text. The text model runs
    /// only when its answer can matter: with no weight in the scores the
    /// text can only hold back an ad the photo would publish (or send to a
    /// person), so an ad the photo rejects is not read, which is the same
    /// decision at no cost.
    fn assess_with_text(
        &self,
        outputs: &Outputs,
        text: Option<&str>,
    ) -> Result<Assessment, ModelError> {
        let (Some(text), Some(section)) = (text, self.policy.policy().text.as_ref()) else {
            return Ok(self.assess_outputs(outputs, None));
        };
        if section.weight == 0.0 {
            let photo_only = self.assess_outputs(outputs, None);
            if !matches!(
                photo_only.decision.status,
                Status::Approved | Status::InReview
            ) {
                return Ok(photo_only);
            }
        }
        let scores = self.read_text(text)?;
        Ok(self.assess_outputs(outputs, scores.as_ref()))
    }
}
