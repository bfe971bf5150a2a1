//! `adpipe train --out DIR`: a classifier head for the site's own
//! categories, fitted on the backbone's features of labelled photos (one
//! folder per category, `none/` for what is not published) and/or of the
//! ads the team decided (their kept embeddings, `--from-decisions`),
//! written as a model folder (`kind = "image_head"`) that every command
//! taking a model accepts, with the policy it proposes, its report and its
//! model card.

mod decisions;
mod output;
mod photos;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use adpipe_core::policy::Policy;
use adpipe_core::{Labels, Status};
use adpipe_tagger::{ModelSpec, TaggerConfig, image_head};
use adpipe_train::report::{ReportInput, html};
use adpipe_train::{Dataset, Example, FitOptions, TrainOptions, band};
use anyhow::{Context, bail};

use crate::config::Config;
use crate::{assets, service};
use output::{live_shares, model_card, proposed_policy, relative_to};

/// The class of what is not published: the photo folder's name, and the
/// label of a rejected ad.
pub const NONE: &str = "none";

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("data")
        .required(true)
        .multiple(true)
        .args(["photos", "from_decisions"])
))]
pub struct TrainArgs {
    /// Where the trained head goes: model.toml, head.safetensors,
    /// labels.txt, policy.toml, report.html, model-card.md.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Labelled photos: one folder per category (its name is the
    /// category's), and `none/` for photos that should not be published.
    #[arg(long, value_name = "PHOTOS")]
    photos: Option<PathBuf>,
    /// Learn from the ads the team decided (the configured database): an
    /// approval labels the photo with its category, a rejection with
    /// `none`. Uses the embeddings the workers keep (`adpipe embed
    /// --backfill` fills in older ads).
    #[arg(long)]
    from_decisions: bool,
    /// With --from-decisions, also learn from the model's own decisions
    /// nobody overturned, at a quarter of a person's weight.
    #[arg(long, requires = "from_decisions")]
    trust_model: bool,
    /// Seeds the cross-validation's folds: the same data and seed give the
    /// same head.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folds of the cross-validation that measures the head and draws its band.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=20))]
    folds: u16,
    /// L2 penalty on the head's weights.
    #[arg(long, default_value_t = 0.01)]
    l2: f64,
    /// The head's name [default: the --out folder's name].
    #[arg(long)]
    name: Option<String>,
    /// The backbone: an image classifier whose model.toml names an
    /// `[output] embedding` [default: the configured model, else
    /// models/efficientnet-lite0/model.toml]. The live model the report
    /// compares with is this one with --policy.
    #[arg(long, env = "ADPIPE_MODEL", value_name = "MODEL.toml")]
    model: Option<PathBuf>,
    /// The live policy the report compares with [default: the configured
    /// one, else models/policies/vehicles.toml].
    #[arg(long, env = "ADPIPE_POLICY", value_name = "POLICY.toml")]
    policy: Option<PathBuf>,
    /// Replace a head already in --out.
    #[arg(long)]
    force: bool,
    /// The ONNX Runtime library [default: found in .ort/ of the repository].
    #[arg(long, env = "ADPIPE_ORT_LIB", value_name = "PATH")]
    ort_lib: Option<PathBuf>,
}

impl TrainArgs {
    pub fn ort_lib(&self) -> Option<&PathBuf> {
        self.ort_lib.as_ref()
    }
}

/// What the live model decided on an example: status and category.
type LiveDecision = (Status, Option<String>);

/// One training example before the classes are numbered.
struct Labelled {
    features: Vec<f32>,
    /// A category, or [`NONE`].
    label: String,
    weight: f32,
    /// Where it came from (a photo's path under the folder, `ad <id>`).
    source: String,
    /// What the live model decided on it, for the report.
    live: LiveDecision,
}

/// Examples from every source, and what was read.
#[derive(Default)]
struct Gathered {
    examples: Vec<Labelled>,
    photos: usize,
    unreadable: usize,
    by_people: usize,
    by_model: usize,
}

impl Gathered {
    /// Where the examples came from, for the model card.
    fn describe(&self, photos: Option<&Path>) -> String {
        let mut parts = Vec::new();
        if let Some(folder) = photos {
            parts.push(format!("{} photos in `{}`", self.photos, folder.display()));
        }
        if self.by_people + self.by_model > 0 {
            parts.push(format!(
                "{} ads decided by people and {} by the model (weight {})",
                self.by_people,
                self.by_model,
                decisions::TRUSTED_MODEL_WEIGHT
            ));
        }
        parts.join(", ")
    }

    /// The classes (categories sorted, [`NONE`] last), the examples
    /// numbered by them, and the live model's decisions in their order.
    fn into_dataset(self) -> anyhow::Result<(Dataset, Vec<LiveDecision>)> {
        let categories: BTreeSet<&str> = self
            .examples
            .iter()
            .map(|example| example.label.as_str())
            .filter(|label| *label != NONE)
            .collect();
        if categories.is_empty() {
            bail!(
                "nothing to learn a category from: no labelled photos of a category, and no \
                 approved ad with an embedding"
            );
        }
        let mut classes: Vec<String> = categories.into_iter().map(str::to_owned).collect();
        let none = self
            .examples
            .iter()
            .any(|example| example.label == NONE)
            .then(|| {
                classes.push(NONE.to_owned());
                classes.len() - 1
            });
        let width = self.examples[0].features.len();
        if let Some(odd) = self.examples.iter().find(|e| e.features.len() != width) {
            bail!(
                "{} has {} features where the others have {width}: its embedding was made by \
                 another model of the same name; run `adpipe embed --backfill` after a change \
                 of backbone",
                odd.source,
                odd.features.len()
            );
        }
        let mut live = Vec::with_capacity(self.examples.len());
        let examples = self
            .examples
            .into_iter()
            .map(|example| {
                live.push(example.live);
                Example {
                    label: classes
                        .iter()
                        .position(|class| *class == example.label)
                        .expect("every label is a class"),
                    features: example.features,
                    weight: example.weight,
                    source: example.source,
                }
            })
            .collect();
        Ok((
            Dataset {
                classes,
                none,
                examples,
            },
            live,
        ))
    }
}

pub fn run(args: TrainArgs, config: &Config, tagger_config: TaggerConfig) -> anyhow::Result<bool> {
    let started = Instant::now();
    if args.out.join("model.toml").exists() && !args.force {
        bail!(
            "{} already holds a model; give --force to replace it",
            args.out.display()
        );
    }
    let model_path = assets::model_or_default(args.model.as_deref());
    let live_spec = ModelSpec::load(&model_path)
        .with_context(|| format!("cannot read the model {}", model_path.display()))?;
    let features = live_spec.features().with_context(|| {
        format!(
            "{} names no [output] embedding: a head is trained on a backbone's feature vector",
            model_path.display()
        )
    })?;
    let backbone = live_spec
        .backbone
        .clone()
        .unwrap_or(live_spec.source.clone());
    let policy_path = assets::policy_or_default(args.policy.as_deref());
    let policy_text = std::fs::read_to_string(&policy_path)
        .with_context(|| format!("cannot read {}", policy_path.display()))?;
    let live_policy = Policy::from_toml(&policy_text, &policy_path.display().to_string())?
        .bind(&live_spec.labels, &live_spec.name)?;
    let live_name = format!("{} + {}", live_spec.name, live_policy.name());

    let mut gathered = Gathered::default();
    if args.from_decisions {
        let runtime = service::runtime()?;
        runtime.block_on(async {
            let db = service::open_database(config).await?;
            let read = decisions::gather(
                &db,
                live_spec.embedding_model(),
                args.trust_model,
                &mut gathered,
            )
            .await;
            db.close().await;
            read
        })?;
        eprintln!(
            "adpipe train: {} ads decided by people{}",
            gathered.by_people,
            if args.trust_model {
                format!(", {} by the model", gathered.by_model)
            } else {
                String::new()
            }
        );
    }
    if let Some(folder) = &args.photos {
        photos::gather(
            folder,
            features,
            live_spec,
            &live_policy,
            &tagger_config,
            &mut gathered,
        )?;
    }
    let unreadable = gathered.unreadable;
    let data = gathered.describe(args.photos.as_deref());
    let (dataset, live) = gathered.into_dataset()?;
    let classes = dataset.classes.clone();
    let none = dataset.none;
    if none.is_none() {
        eprintln!(
            "adpipe train: warning: nothing labelled {NONE} (no {NONE}/ folder, no rejected \
             ad), so the head knows nothing that should not be published and its band \
             rejects nothing"
        );
    }
    let options = TrainOptions {
        fit: FitOptions {
            l2: args.l2,
            ..FitOptions::default()
        },
        folds: usize::from(args.folds),
        seed: args.seed,
    };
    let training = adpipe_train::train(&dataset, &options)?;
    let labels: Vec<usize> = dataset.examples.iter().map(|e| e.label).collect();
    let head_shares = training.band.shares(&training.held_out, &labels, none);
    let live = live_shares(&live, &classes, &labels);

    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_name()
            .map_or_else(|| "head".into(), |n| n.to_string_lossy().into_owned())
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let head = adpipe_tagger::Head {
        weight: training.head.weight.clone(),
        bias: training.head.bias.clone(),
        features: training.head.features,
        temperature: training.temperature,
    };
    let weights = head.to_safetensors().map_err(anyhow::Error::msg)?;
    let write = |file: &str, bytes: &[u8]| {
        std::fs::write(args.out.join(file), bytes)
            .with_context(|| format!("cannot write {}", args.out.join(file).display()))
    };
    write("head.safetensors", &weights)?;
    write("labels.txt", format!("{}\n", classes.join("\n")).as_bytes())?;
    let backbone_from_out = relative_to(&args.out, &backbone);
    write(
        "model.toml",
        image_head::model_toml(&name, &backbone_from_out, training.temperature).as_bytes(),
    )?;
    let live_dir = policy_path.parent().unwrap_or(Path::new("."));
    let proposed = proposed_policy(
        &name,
        &classes,
        &training.band,
        live_policy.policy(),
        live_dir,
        &args.out,
    )?;
    write("policy.toml", proposed.as_bytes())?;
    let created = adpipe_core::time::rfc3339_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    );
    let scores: Vec<(f32, bool)> = training
        .held_out
        .iter()
        .zip(&labels)
        .map(|(row, &label)| (band::category(row, none).1, Some(label) != none))
        .collect();
    let counts = dataset.counts();
    let sources: Vec<String> = dataset
        .examples
        .iter()
        .map(|example| example.source.clone())
        .collect();
    let mistakes = adpipe_train::report::mistakes(&training.held_out, &labels, &classes, &sources);
    let report = ReportInput {
        name: &name,
        created: &created,
        backbone: &backbone_from_out.display().to_string(),
        classes: &classes,
        none,
        counts: &counts,
        seed: args.seed,
        folds: options.folds,
        l2: args.l2,
        temperature: training.temperature,
        metrics: &training.metrics,
        band: training.band,
        head: head_shares,
        live: Some((&live_name, live)),
        scores: &scores,
        mistakes: &mistakes,
    };
    write("report.html", html(&report).as_bytes())?;
    write(
        "model-card.md",
        model_card(&report, &data, &weights).as_bytes(),
    )?;
    // The head as a model: read back the way `adpipe tag --model` will.
    ModelSpec::load(args.out.join("model.toml"))
        .context("the head just written does not read back")?;
    let _ = Labels::parse(&classes.join("\n"))?;

    println!(
        "trained {name} on {} examples ({}) in {:.1} s; held out ({}-fold):\n  \
         accuracy {:.1} %, temperature {:.3}, proposed band approve_at {:.2}, review_at {:.2}\n  \
         {:<32} approved {:>5.1} %  for people {:>5.1} %  rejected {:>5.1} %  wrong {}\n  \
         {:<32} approved {:>5.1} %  for people {:>5.1} %  rejected {:>5.1} %  wrong {}\n\
         wrote {}: model.toml, head.safetensors, labels.txt, policy.toml, report.html, model-card.md",
        dataset.examples.len(),
        classes
            .iter()
            .zip(&counts)
            .map(|(class, count)| format!("{class} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64(),
        options.folds,
        100.0 * training.metrics.accuracy,
        training.temperature,
        training.band.approve_at,
        training.band.review_at,
        "trained head",
        100.0 * head_shares.share(head_shares.approved),
        100.0 * head_shares.share(head_shares.in_review),
        100.0 * head_shares.share(head_shares.rejected),
        head_shares.wrongly_approved + head_shares.wrongly_rejected,
        format!("live: {live_name}"),
        100.0 * live.share(live.approved),
        100.0 * live.share(live.in_review),
        100.0 * live.share(live.rejected),
        live.wrongly_approved + live.wrongly_rejected,
        args.out.display(),
    );
    Ok(unreadable == 0)
}
