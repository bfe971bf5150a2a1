//! ONNX Runtime alone through the Rust tagger's session: one model, random
//! input, a fixed batch and thread count, no decoding and no policy. It is
//! the ceiling `benches/ceiling.sh` holds the worker's pace against, beside
//! the same measurement from Python onnxruntime.
//!
//! Not a criterion benchmark: it prints one JSON line, so the script can
//! put it in the same table as the other runs. Settings come from the
//! environment, as `cargo bench` passes its own arguments:
//!
//! ```sh
//! CEILING_MODEL=models/efficientnet-lite0/model.toml CEILING_BATCH=8 \
//! CEILING_THREADS=2 CEILING_VIEWS=1 CEILING_SECONDS=5 CEILING_DEVICE=cpu \
//!   cargo bench --bench ceiling
//! ```
//!
//! `CEILING_SPINNING=true` lets idle intra-op threads spin, as Python
//! onnxruntime's default does (the worker's default does not).
//! `CEILING_BATCH` may list several sizes (`1,8,64,256`): one model load,
//! one line per size (scripts/gpu-check.sh uses it on CUDA).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use adpipe_tagger::{Device, Model, ModelSpec, SessionConfig, TaggerConfig, View};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid value")),
        Err(_) => default,
    }
}

fn main() {
    // `cargo bench` also runs harness-less targets in `--test` mode for
    // `cargo test --benches`; one short run proves it still works.
    let quick = std::env::args().any(|argument| argument == "--test");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model_path = repo.join(setting(
        "CEILING_MODEL",
        "models/efficientnet-lite0/model.toml".to_owned(),
    ));
    let batches: Vec<usize> = setting("CEILING_BATCH", "8".to_owned())
        .split(',')
        .map(|size| match size.trim().parse() {
            Ok(size) if size > 0 => size,
            _ => panic!("CEILING_BATCH={size:?} is not a batch size"),
        })
        .collect();
    let device = match setting("CEILING_DEVICE", "cpu".to_owned()).as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda,
        other => panic!("CEILING_DEVICE={other:?}: cpu or cuda"),
    };
    let threads: usize = setting("CEILING_THREADS", 2);
    let views: usize = setting("CEILING_VIEWS", 1);
    let seconds: f64 = if quick {
        0.2
    } else {
        setting("CEILING_SECONDS", 5.0)
    };
    assert!(
        (1..=2).contains(&views),
        "CEILING_VIEWS is 1 (center_crop) or 2 (center_crop and stretch)"
    );

    let mut spec = ModelSpec::load(&model_path).expect("model.toml");
    spec.preprocess.views = [View::CenterCrop, View::Stretch][..views].to_vec();
    let config = TaggerConfig {
        session: SessionConfig {
            intra_threads: threads,
            device: Some(device),
            spinning: setting("CEILING_SPINNING", SessionConfig::default().spinning),
            ..SessionConfig::default()
        },
        ..TaggerConfig::default()
    };
    let model = Model::load(spec, &config).expect("the model loads (run scripts/setup.sh)");
    let floats = model.preprocessor().floats_per_image();

    let classifier = model.classifier();
    let budget = Duration::from_secs_f64(seconds);
    for batch in batches {
        let input = random_input(batch * floats);
        for _ in 0..3 {
            classifier.infer(&input, batch).expect("inference");
        }
        let started = Instant::now();
        let mut runs = 0usize;
        while started.elapsed() < budget {
            classifier.infer(&input, batch).expect("inference");
            runs += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let images = (runs * batch) as f64;
        println!(
            "{{\"model\": {:?}, \"execution\": {:?}, \"batch\": {batch}, \"threads\": {threads}, \
             \"views\": {views}, \"images_per_s\": {:.2}, \"inferences_per_s\": {:.2}}}",
            model.spec().name,
            model.execution().as_str(),
            images / elapsed,
            images * views as f64 / elapsed
        );
    }
}

/// Random input in the model's normalised range, as the Python side feeds:
/// what the numbers are does not change the work.
fn random_input(len: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}
