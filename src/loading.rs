//! How the models are loaded: the configured model and policy, a promoted
//! version's folder (`adpipe models`), a head run in shadow
//! (`ADPIPE_SHADOW_MODEL`), and the threads and runtime they get.

use std::path::{Path, PathBuf};

use adpipe_tagger::{Device, HeadJudge, Moderator, RuntimeOptions, SessionConfig, TaggerConfig};
use adpipe_worker::Shadow;
use anyhow::Context;

use crate::assets;
use crate::config::Config;

/// Threads for the model and for decoding: one per core for each by
/// default. They run at the same time (the worker decodes the next batch
/// while the model runs), and on 2 cores 2 + 2 decided more ads a second
/// than 1 + 1, 2 + 1 or 1 + 2 (`benches/pipeline.sh threads`, BENCHMARKS.md).
pub fn tagger_config(
    threads: Option<usize>,
    decode_threads: Option<usize>,
    device: Option<Device>,
    ort_lib: Option<PathBuf>,
) -> TaggerConfig {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    TaggerConfig {
        runtime: RuntimeOptions {
            library: ort_lib,
            prefer_gpu: device == Some(Device::Cuda),
        },
        session: SessionConfig {
            intra_threads: threads,
            device,
            ..SessionConfig::default()
        },
        preprocess_threads: decode_threads.unwrap_or(threads).max(1),
        ..TaggerConfig::default()
    }
}

pub(crate) fn load_moderator(config: &Config) -> anyhow::Result<Moderator> {
    let model = assets::model_or_default(config.model.as_deref());
    let policy = assets::policy_or_default(config.policy.as_deref());
    load_moderator_from(config, &model, &policy)
}

/// A promoted version's folder (`adpipe models`), loaded as the configured
/// model is: its `policy.toml` when it has one (a trained head names its
/// own categories), else the configured policy.
pub(crate) fn load_version(config: &Config, folder: &Path) -> anyhow::Result<Moderator> {
    let own_policy = folder.join("policy.toml");
    let policy = if own_policy.is_file() {
        own_policy
    } else {
        assets::policy_or_default(config.policy.as_deref())
    };
    load_moderator_from(config, &folder.join("model.toml"), &policy)
}

/// `ADPIPE_SHADOW_MODEL`: a trained head, named by the hash of its files
/// as `adpipe models add` would name it.
pub(crate) fn fixed_shadow(config: &Config, path: &Path) -> anyhow::Result<Shadow> {
    let bundle = crate::models::bundle::read(path)?;
    let model_toml = crate::models::bundle::model_toml_path(path);
    let folder = model_toml.parent().unwrap_or(Path::new("."));
    let own_policy = folder.join("policy.toml");
    let policy = if own_policy.is_file() {
        own_policy
    } else {
        assets::policy_or_default(config.policy.as_deref())
    };
    let judge = HeadJudge::load(&model_toml, &policy)?
        .context("it is not a trained head (kind = \"image_head\"): only a head runs in shadow")?;
    Ok(Shadow {
        version: adpipe_store::version_of(&bundle.files),
        judge,
    })
}

fn load_moderator_from(config: &Config, model: &Path, policy: &Path) -> anyhow::Result<Moderator> {
    let device = config.device.as_deref().map(|device| match device {
        "cuda" => Device::Cuda,
        _ => Device::Cpu,
    });
    // The limits the API checked uploads against: an image it accepted is
    // one the worker decodes.
    let tagger = TaggerConfig {
        limits: config.decode_limits(),
        ..tagger_config(
            config.worker.threads,
            config.worker.decode_threads,
            device,
            config.ort_lib.clone(),
        )
    };
    Moderator::load(model, policy, &config.gates, &tagger).context("cannot load the classifier")
}
