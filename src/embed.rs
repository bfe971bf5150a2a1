//! `adpipe embed`: how many decided ads have their photo's feature vector
//! kept, and with `--backfill` fills it in for those decided before the
//! workers kept one (or under another backbone), so that a head can be
//! trained on the team's decisions (`adpipe train --from-decisions`)
//! without decoding a photo then.
//!
//! Safe beside running workers: it writes only the embedding columns, and
//! pending ads are left to the workers, which keep one when they tag.

use std::path::PathBuf;

use adpipe_core::{AdId, Embedding};
use adpipe_store::db::Unembedded;
use adpipe_store::{Blobs, Database};
use adpipe_tagger::{Device, Model, ModelSpec, Tagger, TaggerConfig};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::assets;
use crate::config::Config;
use crate::service;

/// Ads read at a time; they are run through the model `--batch-size` at a
/// time.
const PAGE: u32 = 256;

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Compute and keep the embedding of every decided ad that has none of
    /// this model (without it: only count them).
    #[arg(long)]
    backfill: bool,
    /// The image model whose feature vector to keep: a model.toml with an
    /// `[output] embedding`, or a trained head (its backbone's is kept)
    /// [default: the configured model, ADPIPE_MODEL].
    #[arg(long, value_name = "MODEL_TOML")]
    model: Option<PathBuf>,
    /// Images per run of the model [default: the worker's batch size].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: Option<u16>,
}

#[derive(Debug, Default)]
struct Tally {
    kept: usize,
    /// The photo is missing from the store or does not decode.
    unreadable: usize,
}

/// Returns whether every ad that lacked an embedding got one.
pub fn run(config: &Config, args: EmbedArgs) -> anyhow::Result<bool> {
    let model_path = assets::model_or_default(args.model.as_deref().or(config.model.as_deref()));
    let spec = ModelSpec::load(&model_path)
        .with_context(|| format!("cannot read the model {}", model_path.display()))?;
    let model = spec.embedding_model().to_owned();
    let features = spec.features().with_context(|| {
        format!(
            "{} names no [output] embedding, so it has no feature vector to keep \
             (docs/models.md, \"Embeddings\")",
            model_path.display()
        )
    })?;
    let runtime = service::runtime()?;
    let db = runtime.block_on(service::open_database(config))?;
    let (kept, missing) = runtime
        .block_on(db.embedding_counts(&model))
        .context("cannot count the embeddings")?;
    if !args.backfill || missing == 0 {
        println!(
            "embed: {kept} decided ads have an embedding of {model}, {missing} have none{}",
            if missing > 0 {
                "; `adpipe embed --backfill` fills them in"
            } else {
                ""
            }
        );
        runtime.block_on(db.close());
        return Ok(true);
    }
    let device = config.device.as_deref().map(|device| match device {
        "cuda" => Device::Cuda,
        _ => Device::Cpu,
    });
    let tagger_config = TaggerConfig {
        limits: config.decode_limits(),
        ..service::tagger_config(
            config.worker.threads,
            config.worker.decode_threads,
            device,
            config.ort_lib.clone(),
        )
    };
    let tagger = Tagger::new(
        vec![Model::load(features, &tagger_config).context("cannot load the model")?],
        &tagger_config,
    );
    let blobs = service::open_blobs(config)?;
    let batch_size = args
        .batch_size
        .map_or(config.worker_config().batch_size, usize::from)
        .max(1);
    eprintln!("adpipe: keeping the embedding of {model} for {missing} ads");
    let progress =
        ProgressBar::with_draw_target(Some(missing.max(0) as u64), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} ads, {per_sec}, {eta} left")
            .expect("the template is valid"),
    );
    let mut tally = Tally::default();
    let walked = runtime.block_on(async {
        let mut after: Option<AdId> = None;
        loop {
            let page = db.ads_without_embedding(&model, after, PAGE).await?;
            let Some(last) = page.last() else {
                return anyhow::Ok(());
            };
            after = Some(last.id);
            for batch in page.chunks(batch_size) {
                backfill_batch(&db, &blobs, &tagger, &model, batch, &mut tally, &progress).await?;
                progress.inc(batch.len() as u64);
            }
        }
    });
    progress.finish_and_clear();
    println!(
        "embed: {} ads got an embedding of {model}, {} photos could not be read",
        tally.kept, tally.unreadable
    );
    runtime.block_on(db.close());
    walked.context("stopped: the database failed")?;
    Ok(tally.unreadable == 0)
}

async fn backfill_batch(
    db: &Database,
    blobs: &Blobs,
    tagger: &Tagger,
    model: &str,
    ads: &[Unembedded],
    tally: &mut Tally,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let fetched =
        futures_util::future::join_all(ads.iter().map(|ad| blobs.get(&ad.image_key))).await;
    let mut readable = Vec::with_capacity(ads.len());
    for (ad, bytes) in ads.iter().zip(fetched) {
        match bytes {
            Ok(bytes) => readable.push((ad.id, bytes)),
            Err(error) => {
                tally.unreadable += 1;
                progress.suspend(|| eprintln!("adpipe: ad {}: {error}", ad.id));
            }
        }
    }
    let images: Vec<&[u8]> = readable.iter().map(|(_, bytes)| bytes.as_ref()).collect();
    // The model runs on this thread; the database's tasks on the others.
    let results =
        tokio::task::block_in_place(|| tagger.classify(&images)).context("the model failed")?;
    for ((id, _), result) in readable.iter().zip(results) {
        match result {
            Ok(outputs) => {
                // A features model's scores are the feature vector.
                let vector = outputs.scores.into_iter().next().unwrap_or_default();
                db.keep_embedding(*id, &Embedding::new(model, vector))
                    .await?;
                tally.kept += 1;
            }
            Err(error) => {
                tally.unreadable += 1;
                progress
                    .suspend(|| eprintln!("adpipe: ad {id}: the photo does not decode: {error}"));
            }
        }
    }
    Ok(())
}
