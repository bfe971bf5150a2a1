//! The tagger: one or more models (the main classifier, then any gate
//! models) fed from a single decode of each image, in batches, with
//! preprocessing on its own threads so it overlaps inference.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::classifier::{Classifier, Execution, ModelError};
use crate::decoding::{DecoderPool, Decoding, ImageBytes, Prepared, PreparedBatch};
use crate::image_classifier::spec::ModelSpec;
use crate::preprocess::Preprocessor;
use crate::runtime;
use crate::spec::Device;
use adpipe_image::{DecodeError, DecodeLimits};

pub use crate::load::{LoadError, TaggerConfig};

/// Why one image got no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemError {
    #[error("cannot read: {0}")]
    Read(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("inference failed: {0}")]
    Inference(String),
}

/// One loaded model: its description, its preprocessing and its session.
pub struct Model {
    spec: ModelSpec,
    preprocessor: Preprocessor,
    classifier: Classifier,
    /// The images of a batch side by side, as the model reads them; kept
    /// from one batch to the next.
    batch_input: Mutex<Vec<f32>>,
}

/// Without the batch input's floats.
impl std::fmt::Debug for Model {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Model")
            .field("spec", &self.spec)
            .field("preprocessor", &self.preprocessor)
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl Model {
    pub fn load(spec: ModelSpec, config: &TaggerConfig) -> Result<Self, LoadError> {
        let mut runtime_options = config.runtime.clone();
        let device = config.session.device.unwrap_or(spec.device);
        runtime_options.prefer_gpu |= device == Device::Cuda;
        let runtime = runtime::runtime(&runtime_options)?;
        let classifier = Classifier::load(&spec, &runtime, &config.session)?;
        let preprocessor = Preprocessor::new(&spec).with_limits(config.limits);
        Ok(Self {
            spec,
            preprocessor,
            classifier,
            batch_input: Mutex::default(),
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    pub fn execution(&self) -> Execution {
        self.classifier.execution()
    }
}

/// What the models make of one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    /// The probabilities of every model, in model order.
    pub scores: Vec<Vec<f32>>,
    /// The main model's feature vector, when it has one (model.toml's
    /// `[output] embedding`, or a head's backbone output).
    pub embedding: Option<Vec<f32>>,
}

#[derive(Debug)]
pub struct Tagger {
    models: Vec<Model>,
    decoding: Arc<Decoding>,
    preprocess_threads: usize,
    /// Started by the first [`Tagger::prepare_batch_in_background`].
    pool: OnceLock<DecoderPool>,
}

impl Tagger {
    /// `models[0]` is the main classifier; the rest feed gates.
    pub fn new(models: Vec<Model>, config: &TaggerConfig) -> Self {
        assert!(!models.is_empty(), "a tagger needs at least one model");
        let preprocessors = models
            .iter()
            .map(|model| model.preprocessor.clone())
            .collect();
        Self {
            models,
            decoding: Arc::new(Decoding::new(preprocessors, config.limits)),
            preprocess_threads: config.preprocess_threads.max(1),
            pool: OnceLock::new(),
        }
    }

    /// Keeps each decoded photo with its batch (its longer side at least
    /// `side` pixels where it has them), for the OCR models
    /// ([`PreparedBatch::take_photos`]). Before the first batch.
    pub fn keep_photos(&mut self, side: u32) {
        let decoding = Decoding::new(
            self.models
                .iter()
                .map(|model| model.preprocessor.clone())
                .collect(),
            self.decoding.limits(),
        );
        self.decoding = Arc::new(decoding.keeping_photos(side));
    }

    pub fn load(spec: ModelSpec, config: &TaggerConfig) -> Result<Self, LoadError> {
        Ok(Self::new(vec![Model::load(spec, config)?], config))
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The limits every image is decoded within.
    pub fn limits(&self) -> DecodeLimits {
        self.decoding.limits()
    }

    pub fn main_model(&self) -> &Model {
        &self.models[0]
    }

    fn prepare_owned(&self, bytes: &[u8]) -> Prepared {
        self.decoding.prepare(bytes)
    }

    /// Classifies one batch held in memory: preprocessing spread over the
    /// preprocessing threads, then one inference run per model. An image
    /// that cannot be decoded gets its error; a failing model fails the batch.
    pub fn classify(
        &self,
        images: &[&[u8]],
    ) -> Result<Vec<Result<Outputs, DecodeError>>, ModelError> {
        self.infer(self.prepare_batch(images))
    }

    /// The first half of [`Tagger::classify`]: decodes and preprocesses a
    /// batch on the preprocessing threads. A caller that holds the next
    /// batch prepares it while the current one is in [`Tagger::infer`].
    pub fn prepare_batch(&self, images: &[&[u8]]) -> PreparedBatch {
        PreparedBatch::from_results(self.prepare_all(images))
    }

    /// [`Tagger::prepare_batch`] on long-lived decoding threads (started
    /// with the first call, `preprocess_threads` of them): the caller does
    /// not wait, and `done` gets the batch on the thread that finished it.
    /// The worker stages its next batch this way while the model runs.
    pub fn prepare_batch_in_background(
        &self,
        images: Vec<ImageBytes>,
        done: impl FnOnce(PreparedBatch) + Send + 'static,
    ) {
        self.pool
            .get_or_init(|| DecoderPool::start(self.decoding.clone(), self.preprocess_threads))
            .submit(images, Box::new(done));
    }

    /// Every model runs once on a batch of `images` blank images
    /// ([`Classifier::warm_up`]), its batch input allocated at that size,
    /// and two batches of per-image input buffers are set aside: one
    /// decoded while the other runs. A worker's memory is then what its
    /// fullest batches need from the start, and it allocates none of it
    /// per batch.
    pub fn warm_up(&self, images: usize) -> Result<(), ModelError> {
        for model in &self.models {
            model.classifier.warm_up(images)?;
            model
                .batch_input
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .reserve(images * model.preprocessor.floats_per_image());
        }
        self.decoding.reserve(2 * images);
        Ok(())
    }

    /// The second half of [`Tagger::classify`]: one inference run per model
    /// over a prepared batch; results in the batch's order.
    pub fn infer(
        &self,
        batch: PreparedBatch,
    ) -> Result<Vec<Result<Outputs, DecodeError>>, ModelError> {
        let mut results: Vec<Result<Outputs, DecodeError>> =
            vec![Ok(Outputs::default()); batch.len()];
        for (index, error) in batch.unreadable {
            results[index] = Err(error);
        }
        if !batch.rows.is_empty() {
            for (index, outputs) in self.infer_batch(&batch.rows)? {
                results[index] = Ok(outputs);
            }
        }
        for (_, buffers) in batch.rows {
            self.decoding.recycle(buffers);
        }
        Ok(results)
    }

    fn prepare_all(&self, images: &[&[u8]]) -> Vec<Prepared> {
        let threads = self.preprocess_threads.min(images.len()).max(1);
        if threads == 1 {
            return images
                .iter()
                .map(|bytes| self.prepare_owned(bytes))
                .collect();
        }
        let next = AtomicUsize::new(0);
        let mut results: Vec<(usize, Prepared)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(bytes) = images.get(index) else {
                                break;
                            };
                            done.push((index, self.prepare_owned(bytes)));
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("preprocessing never panics"))
                .collect()
        });
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Tags `items` in batches of `batch_size`, loading and preprocessing on
    /// the preprocessing threads while the calling thread runs inference.
    /// `emit` gets every item's result in input order.
    pub fn classify_stream<K, L, E>(&self, items: &[K], load: L, batch_size: usize, mut emit: E)
    where
        K: Sync,
        L: Fn(&K) -> Result<Vec<u8>, String> + Sync,
        E: FnMut(usize, Result<Outputs, ItemError>),
    {
        let batch_size = batch_size.max(1);
        let next = AtomicUsize::new(0);
        // Room for the batch being run and the next one being prepared.
        let (sender, receiver) = crossbeam_channel::bounded(batch_size * 2);
        std::thread::scope(|scope| {
            for _ in 0..self.preprocess_threads.min(items.len()).max(1) {
                let sender = sender.clone();
                let (next, load) = (&next, &load);
                scope.spawn(move || {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break };
                        let prepared = load(item).map_err(ItemError::Read).and_then(|bytes| {
                            self.prepare_owned(&bytes).map_err(ItemError::Decode)
                        });
                        if sender.send((index, prepared)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(sender);

            let mut finished: BTreeMap<usize, Result<Outputs, ItemError>> = BTreeMap::new();
            let mut next_to_emit = 0;
            let mut batch: Vec<(usize, Vec<Vec<f32>>)> = Vec::with_capacity(batch_size);
            let mut inputs_done = false;
            while !inputs_done || !batch.is_empty() {
                while batch.len() < batch_size {
                    // Wait for a full batch; a partial one only at the end.
                    match receiver.recv() {
                        Ok((index, Ok((buffers, _)))) => batch.push((index, buffers)),
                        Ok((index, Err(error))) => {
                            finished.insert(index, Err(error));
                        }
                        Err(_) => {
                            inputs_done = true;
                            break;
                        }
                    }
                }
                if !batch.is_empty() {
                    match self.infer_batch(&batch) {
                        Ok(results) => {
                            for (index, outputs) in results {
                                finished.insert(index, Ok(outputs));
                            }
                        }
                        Err(error) => {
                            for (index, _) in &batch {
                                finished
                                    .insert(*index, Err(ItemError::Inference(error.to_string())));
                            }
                        }
                    }
                    batch.clear();
                }
                while let Some(result) = finished.remove(&next_to_emit) {
                    emit(next_to_emit, result);
                    next_to_emit += 1;
                }
            }
        });
    }

    fn infer_batch(
        &self,
        batch: &[(usize, Vec<Vec<f32>>)],
    ) -> Result<Vec<(usize, Outputs)>, ModelError> {
        let mut per_model = Vec::with_capacity(self.models.len());
        let mut embeddings = None;
        for (model_index, model) in self.models.iter().enumerate() {
            // The last batch's input, its capacity kept: the largest batch
            // allocates it once.
            let mut input = model
                .batch_input
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            input.clear();
            for (_, buffers) in batch {
                input.extend_from_slice(&buffers[model_index]);
            }
            if model_index == 0 {
                // The main model's run computes its embedding anyway.
                let (scores, kept) = model
                    .classifier
                    .infer_keeping_embeddings(&input, batch.len())?;
                per_model.push(scores);
                embeddings = kept;
            } else {
                per_model.push(model.classifier.infer(&input, batch.len())?);
            }
        }
        let width = embeddings.as_ref().map_or(0, |all| all.len() / batch.len());
        Ok(batch
            .iter()
            .enumerate()
            .map(|(row, (index, _))| {
                let scores = self
                    .models
                    .iter()
                    .zip(&per_model)
                    .map(|(model, probabilities)| {
                        let classes = model.classifier.classes();
                        probabilities[row * classes..(row + 1) * classes].to_vec()
                    })
                    .collect();
                let embedding = embeddings
                    .as_ref()
                    .map(|all| all[row * width..(row + 1) * width].to_vec());
                (*index, Outputs { scores, embedding })
            })
            .collect())
    }
}
