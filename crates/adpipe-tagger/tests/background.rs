//! The long-lived decoding threads the worker stages its batches on: the
//! same inputs, in the same order, as preparing a batch in place; an
//! unreadable image fails alone; batches submitted from several threads at
//! once each come back whole.
//!
//! Needs ONNX Runtime from `scripts/setup.sh` (the model is loaded to
//! compare what it makes of both batches).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, mpsc};

use adpipe_tagger::{ImageBytes, ModelSpec, PreparedBatch, Tagger, TaggerConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One test at a time: the last one counts the decoding threads of the
/// whole process.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tagger() -> Tagger {
    let path = repo().join("models/efficientnet-lite0/model.toml");
    let spec = ModelSpec::load(&path).expect("model.toml");
    let config = TaggerConfig {
        preprocess_threads: 3,
        ..TaggerConfig::default()
    };
    Tagger::load(spec, &config).expect("the model loads (run scripts/setup.sh first)")
}

/// Every committed photo, with a few bytes that are no image in between.
fn images() -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = ["vehicle", "other"]
        .iter()
        .flat_map(|group| {
            std::fs::read_dir(repo().join("tests/fixtures/photos").join(group))
                .expect("photos")
                .map(|entry| entry.expect("entry").path())
        })
        .collect();
    paths.sort();
    let mut images: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| std::fs::read(path).expect("photo"))
        .collect();
    images.insert(3, b"not an image".to_vec());
    images.push(Vec::new());
    images
}

fn in_background(tagger: &Tagger, images: &[Vec<u8>]) -> PreparedBatch {
    let (sender, receiver) = mpsc::channel();
    let owned: Vec<ImageBytes> = images
        .iter()
        .map(|image| Box::new(image.clone()) as ImageBytes)
        .collect();
    tagger.prepare_batch_in_background(owned, move |batch| {
        sender.send(batch).expect("the test waits");
    });
    receiver.recv().expect("the batch comes back")
}

/// What the model makes of a batch, comparable across batches: per image,
/// its probabilities or its error.
fn outcomes(tagger: &Tagger, batch: PreparedBatch) -> Vec<Result<Vec<Vec<f32>>, String>> {
    tagger
        .infer(batch)
        .expect("inference")
        .into_iter()
        .map(|result| {
            result
                .map(|outputs| outputs.scores)
                .map_err(|error| error.to_string())
        })
        .collect()
}

#[test]
fn background_batches_match_batches_prepared_in_place() {
    let _serial = one_at_a_time();
    let tagger = tagger();
    let images = images();
    let slices: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let expected = outcomes(&tagger, tagger.prepare_batch(&slices));
    let background = in_background(&tagger, &images);
    assert_eq!(background.len(), images.len());
    let actual = outcomes(&tagger, background);
    assert_eq!(actual, expected, "same inputs, same order");
    assert!(actual[3].is_err() && actual.last().expect("images").is_err());
    assert_eq!(
        actual.iter().filter(|outcome| outcome.is_ok()).count(),
        images.len() - 2
    );
}

#[test]
fn an_empty_batch_comes_back_at_once() {
    let _serial = one_at_a_time();
    let tagger = tagger();
    let batch = in_background(&tagger, &[]);
    assert!(batch.is_empty());
}

#[test]
fn batches_from_several_threads_each_come_back_whole() {
    let _serial = one_at_a_time();
    let tagger = tagger();
    let images = images();
    let slices: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let expected = outcomes(&tagger, tagger.prepare_batch(&slices));
    std::thread::scope(|scope| {
        for offset in 0..4 {
            let (tagger, images, expected) = (&tagger, &images, &expected);
            scope.spawn(move || {
                // Each thread its own slice of the photos, several times.
                let take: Vec<Vec<u8>> = images.iter().skip(offset).cloned().collect();
                for _ in 0..3 {
                    let actual = outcomes(tagger, in_background(tagger, &take));
                    assert_eq!(actual, expected[offset..]);
                }
            });
        }
    });
}

#[test]
fn dropping_the_tagger_ends_its_decoding_threads() {
    let _serial = one_at_a_time();
    let tagger = tagger();
    let _ = in_background(&tagger, &images()[..2]);
    assert_eq!(threads_named("adpipe-decode"), 3);
    drop(tagger);
    // Joined threads have ended, but the kernel may list a thread in
    // /proc/self/task for a moment after its join returned (the join wakes
    // when the thread clears its id, before the task is released).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while threads_named("adpipe-decode") > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(threads_named("adpipe-decode"), 0);
}

fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}
