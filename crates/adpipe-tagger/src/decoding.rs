//! Decoding and preprocessing, apart from inference: what one image needs
//! ([`Decoding`]: one decode, every model's input) and the long-lived
//! threads the worker feeds batch after batch ([`DecoderPool`]).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::preprocess::Preprocessor;
use adpipe_image::{DecodeError, DecodeLimits};
use image::RgbImage;

use crate::photo_text::Photo;

/// Per image: every model's input (and the decoded photo, when kept for
/// the OCR models), or why the image could not be read.
pub(crate) type Prepared = Result<(Vec<Vec<f32>>, Option<Photo>), DecodeError>;

/// The bytes of one image, owned by its job: `bytes::Bytes`, `Vec<u8>`, …
pub type ImageBytes = Box<dyn AsRef<[u8]> + Send>;

/// A batch decoded and preprocessed, waiting for the model.
#[derive(Debug)]
pub struct PreparedBatch {
    len: usize,
    /// The readable images: their place in the batch and every model's input.
    pub(crate) rows: Vec<(usize, Vec<Vec<f32>>)>,
    pub(crate) unreadable: Vec<(usize, DecodeError)>,
    /// The decoded photos, by place in the batch, when the tagger keeps
    /// them ([`crate::Tagger::keep_photos`]).
    photos: Vec<(usize, Photo)>,
}

impl PreparedBatch {
    /// Images in the batch, readable or not.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Per image, in order, its decoded photo when the tagger keeps them:
    /// taken out, as the models' run consumes the batch.
    pub fn take_photos(&mut self) -> Vec<Option<Photo>> {
        let mut photos: Vec<Option<Photo>> = vec![None; self.len];
        for (index, photo) in std::mem::take(&mut self.photos) {
            photos[index] = Some(photo);
        }
        photos
    }

    /// Per image, in order: its inputs or why it could not be read.
    pub(crate) fn from_results(results: impl IntoIterator<Item = Prepared>) -> Self {
        let mut batch = Self {
            len: 0,
            rows: Vec::new(),
            unreadable: Vec::new(),
            photos: Vec::new(),
        };
        for (index, prepared) in results.into_iter().enumerate() {
            match prepared {
                Ok((buffers, photo)) => {
                    batch.rows.push((index, buffers));
                    batch.photos.extend(photo.map(|photo| (index, photo)));
                }
                Err(error) => batch.unreadable.push((index, error)),
            }
            batch.len = index + 1;
        }
        batch
    }
}

/// What it takes to turn one image's bytes into every model's input.
pub(crate) struct Decoding {
    preprocessors: Vec<Preprocessor>,
    limits: DecodeLimits,
    /// Per model, input buffers whose batch has run, for the next images.
    spare: Vec<Mutex<Vec<Vec<f32>>>>,
    /// How many buffers each model keeps spare: what [`Decoding::reserve`]
    /// asked for, at least one batch of the default size.
    keep: AtomicUsize,
    /// Keep each decoded photo, decoded with at least this longer side
    /// (or whole), for the OCR models.
    photo_side: Option<u32>,
}

/// Without the spare buffers' floats.
impl std::fmt::Debug for Decoding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Decoding")
            .field("preprocessors", &self.preprocessors)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Spare buffers kept per model when nothing reserved more.
const KEEP_AT_LEAST: usize = 8;

impl Decoding {
    pub(crate) fn new(preprocessors: Vec<Preprocessor>, limits: DecodeLimits) -> Self {
        let spare = preprocessors.iter().map(|_| Mutex::default()).collect();
        Self {
            preprocessors,
            limits,
            spare,
            keep: AtomicUsize::new(KEEP_AT_LEAST),
            photo_side: None,
        }
    }

    pub(crate) fn limits(&self) -> DecodeLimits {
        self.limits
    }

    /// Also keeps each decoded photo, its longer side at least `side`
    /// pixels where the photo has them: the OCR models read text that
    /// the classifiers' 224 pixels would blur away.
    pub(crate) fn keeping_photos(self, side: u32) -> Self {
        Self {
            photo_side: Some(side),
            ..self
        }
    }

    /// Allocates `images` input buffers per model up front and keeps that
    /// many spare from now on: a worker that stages one batch while the
    /// model runs another needs two batches' worth, and then allocates
    /// nothing per image, whatever the batches' fill.
    pub(crate) fn reserve(&self, images: usize) {
        self.keep.fetch_max(images, Ordering::Relaxed);
        for (preprocessor, spare) in self.preprocessors.iter().zip(&self.spare) {
            let mut spare = spare
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            while spare.len() < images {
                spare.push(vec![0f32; preprocessor.floats_per_image()]);
            }
        }
    }

    /// Hands back one image's buffers (every model's) once its batch ran.
    pub(crate) fn recycle(&self, buffers: Vec<Vec<f32>>) {
        let keep = self.keep.load(Ordering::Relaxed);
        for (buffer, spare) in buffers.into_iter().zip(&self.spare) {
            let mut spare = spare
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if spare.len() < keep {
                spare.push(buffer);
            }
        }
    }

    /// A spare buffer of model `index`, or a new one. Its old contents do
    /// not matter: every view overwrites its whole slot.
    fn buffer(&self, index: usize) -> Vec<f32> {
        let spare = self.spare[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        spare.unwrap_or_else(|| vec![0f32; self.preprocessors[index].floats_per_image()])
    }

    /// Decodes once, as small as every model allows, and writes every
    /// model's input.
    pub(crate) fn prepare(&self, bytes: &[u8]) -> Prepared {
        let big_enough = |width: u32, height: u32| {
            self.photo_side.is_none_or(|side| width.max(height) >= side)
                && self
                    .preprocessors
                    .iter()
                    .all(|preprocessor| preprocessor.big_enough(width, height))
        };
        // The stored size, for boxes found in a reduced photo.
        let info = match self.photo_side {
            Some(_) => Some(adpipe_image::probe(bytes, &self.limits)?),
            None => None,
        };
        let image = adpipe_image::decode_reduced(bytes, &self.limits, &big_enough)?;
        let buffers = self
            .preprocessors
            .iter()
            .enumerate()
            .map(|(index, preprocessor)| {
                let mut buffer = self.buffer(index);
                preprocessor.prepare_decoded(&image, &mut buffer)?;
                Ok(buffer)
            })
            .collect::<Result<_, DecodeError>>()?;
        // The OCR models take the `image` crate's type: the same pixels,
        // moved, not copied.
        let photo = info.and_then(|info| {
            let pixels = RgbImage::from_raw(image.width, image.height, image.pixels)?;
            Some(Photo::new(pixels, &info))
        });
        Ok((buffers, photo))
    }

    /// [`Decoding::prepare`], where a panic in a decoder (none is known:
    /// the property tests look for them) fails this image alone instead of
    /// taking a long-lived thread, and every batch after it, down.
    fn prepare_guarded(&self, bytes: &[u8]) -> Prepared {
        std::panic::catch_unwind(AssertUnwindSafe(|| self.prepare(bytes))).unwrap_or_else(|_| {
            Err(DecodeError::Unprocessable(
                "the decoder failed on this image".into(),
            ))
        })
    }
}

/// Hands a finished batch on.
type Done = Box<dyn FnOnce(PreparedBatch) + Send>;

/// A batch whose images are being prepared on the pool's threads.
struct Pending {
    remaining: AtomicUsize,
    results: Mutex<Vec<Option<Prepared>>>,
    done: Mutex<Option<Done>>,
}

impl Pending {
    /// Stores one image's result; the thread that stores the last one
    /// assembles the batch and hands it on, so nobody waits for it.
    fn finish(&self, index: usize, prepared: Prepared) {
        lock(&self.results)[index] = Some(prepared);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let results = std::mem::take(&mut *lock(&self.results));
        let batch = PreparedBatch::from_results(results.into_iter().map(|result| {
            result.expect("every image of a batch is prepared before the last one finishes")
        }));
        if let Some(done) = lock(&self.done).take() {
            done(batch);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Job {
    index: usize,
    bytes: ImageBytes,
    batch: Arc<Pending>,
}

/// Long-lived decoding threads fed through a bounded queue, one job per
/// image: no thread is started or joined per batch, and the caller neither
/// blocks nor gives up a thread while a batch is prepared.
pub(crate) struct DecoderPool {
    jobs: Option<crossbeam_channel::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// Images waiting for a decoding thread. The worker stages one batch at a
/// time, so it never fills this; a caller that floods the pool waits here.
const QUEUED_IMAGES: usize = 1024;

impl DecoderPool {
    pub(crate) fn start(decoding: Arc<Decoding>, threads: usize) -> Self {
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(QUEUED_IMAGES);
        let threads = (0..threads.max(1))
            .map(|number| {
                let (queue, decoding) = (queue.clone(), decoding.clone());
                std::thread::Builder::new()
                    .name(format!("adpipe-decode-{number}"))
                    .spawn(move || {
                        for job in queue {
                            let prepared = decoding.prepare_guarded((*job.bytes).as_ref());
                            job.batch.finish(job.index, prepared);
                        }
                    })
                    .expect("the decoding threads start")
            })
            .collect();
        Self {
            jobs: Some(jobs),
            threads,
        }
    }

    /// Prepares `images` on the pool's threads; `done` gets the batch, in
    /// the images' order, on the thread that finishes last (at once, on
    /// this thread, for an empty batch). Dropping the pool first drops
    /// `done` unrun.
    pub(crate) fn submit(&self, images: Vec<ImageBytes>, done: Done) {
        if images.is_empty() {
            done(PreparedBatch::from_results(std::iter::empty()));
            return;
        }
        let batch = Arc::new(Pending {
            remaining: AtomicUsize::new(images.len()),
            results: Mutex::new((0..images.len()).map(|_| None).collect()),
            done: Mutex::new(Some(done)),
        });
        let jobs = self.jobs.as_ref().expect("the pool is running");
        for (index, bytes) in images.into_iter().enumerate() {
            let job = Job {
                index,
                bytes,
                batch: batch.clone(),
            };
            if jobs.send(job).is_err() {
                // Every thread is gone: the batch, and `done`, are dropped.
                return;
            }
        }
    }
}

impl Drop for DecoderPool {
    fn drop(&mut self) {
        // Closing the queue ends each thread after the job in hand.
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for DecoderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderPool")
            .field("threads", &self.threads.len())
            .finish()
    }
}
