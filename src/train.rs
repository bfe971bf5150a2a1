//! `adpipe train --out DIR --photos PHOTOS`: a classifier head for the
//! site's own categories, fitted on the backbone's features of labelled
//! photos (one folder per category, `none/` for what is not published),
//! written as a model folder (`kind = "image_head"`) that every command
//! taking a model accepts, with the policy it proposes, its report and its
//! model card.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use adpipe_core::policy::Policy;
use adpipe_core::{Labels, Status};
use adpipe_tagger::{ItemError, Model, ModelSpec, Tagger, TaggerConfig, image_head};
use adpipe_train::report::{ReportInput, html};
use adpipe_train::{BandShares, Dataset, Example, FitOptions, TrainOptions, Training, band};
use anyhow::{Context, bail};

use crate::assets;

/// The folder of photos that should not be published.
pub const NONE: &str = "none";

/// The file types a photo folder may hold.
const PHOTO_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Where the trained head goes: model.toml, head.safetensors,
    /// labels.txt, policy.toml, report.html, model-card.md.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Labelled photos: one folder per category (its name is the
    /// category's), and `none/` for photos that should not be published.
    #[arg(long, value_name = "PHOTOS")]
    photos: PathBuf,
    /// Seeds the cross-validation's folds: the same photos and seed give
    /// the same head.
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

/// One labelled photo.
struct Photo {
    path: PathBuf,
    class: usize,
}

/// The categories (folder names, sorted, `none` last) and their photos.
fn read_photos(root: &Path) -> anyhow::Result<(Vec<String>, Vec<Photo>)> {
    let entries = std::fs::read_dir(root)
        .with_context(|| format!("cannot read the photo folder {}", root.display()))?;
    let mut folders: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        for file in std::fs::read_dir(entry.path())? {
            let path = file?.path();
            let is_photo = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| PHOTO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if path.is_file() && is_photo {
                files.push(path);
            }
        }
        files.sort();
        folders.insert(name, files);
    }
    let none = folders.remove(NONE);
    let mut classes: Vec<String> = folders.keys().cloned().collect();
    if classes.is_empty() {
        bail!(
            "{} has no category folders: put each category's photos in a folder named after \
             it (and photos that should not be published in {NONE}/)",
            root.display()
        );
    }
    let mut photos = Vec::new();
    for (class, files) in folders.into_values().enumerate() {
        photos.extend(files.into_iter().map(|path| Photo { path, class }));
    }
    if let Some(files) = none {
        let class = classes.len();
        classes.push(NONE.into());
        photos.extend(files.into_iter().map(|path| Photo { path, class }));
    }
    Ok((classes, photos))
}

/// `to` as seen from the folder `from`: relative where they share a root.
fn relative_to(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to)) = (from.canonicalize(), to.canonicalize()) else {
        return to.to_owned();
    };
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return to;
    }
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for part in &to_parts[common..] {
        relative.push(part);
    }
    relative
}

/// The policy a head proposes: its categories named directly, the band it
/// drew on held-out predictions.
fn proposed_policy(name: &str, classes: &[String], training: &Training) -> String {
    let mut policy = format!(
        "# Proposed by `adpipe train` for the head in this folder: its categories, and the\n\
         # band that made no wrong automatic decision on the held-out predictions with the\n\
         # fewest photos for people (report.html). Read the report before you use it.\n\
         name = {name:?}\n\
         description = \"Ads in the categories the head {name} was trained on.\"\n\
         approve_at = {:.2}\n\
         review_at = {:.2}\n\
         reject_reason = \"We only publish ads in our categories.\"\n",
        training.band.approve_at, training.band.review_at,
    );
    for class in classes.iter().filter(|class| *class != NONE) {
        policy.push_str(&format!("\n[[category]]\nname = {class:?}\n"));
    }
    policy
}

/// How the live model and policy treat the same photos.
fn live_shares(
    decisions: &[(Status, Option<String>)],
    classes: &[String],
    labels: &[usize],
) -> BandShares {
    let mut shares = BandShares {
        total: labels.len(),
        ..BandShares::default()
    };
    for ((status, category), &label) in decisions.iter().zip(labels) {
        let truth = &classes[label];
        match status {
            Status::Approved => {
                shares.approved += 1;
                if truth == NONE || category.as_deref() != Some(truth) {
                    shares.wrongly_approved += 1;
                }
            }
            Status::Rejected => {
                shares.rejected += 1;
                if truth != NONE {
                    shares.wrongly_rejected += 1;
                }
            }
            _ => shares.in_review += 1,
        }
    }
    shares
}

pub fn run(args: TrainArgs, config: TaggerConfig) -> anyhow::Result<bool> {
    let started = Instant::now();
    if args.out.join("model.toml").exists() && !args.force {
        bail!(
            "{} already holds a model; give --force to replace it",
            args.out.display()
        );
    }
    let (classes, photos) = read_photos(&args.photos)?;
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

    let tagger = Tagger::new(
        vec![
            Model::load(features, &config)?,
            Model::load(live_spec, &config)?,
        ],
        &config,
    );
    eprintln!(
        "adpipe train: {} photos in {} classes ({}); reading their features",
        photos.len(),
        classes.len(),
        classes.join(", ")
    );
    let mut examples = Vec::with_capacity(photos.len());
    let mut live = Vec::with_capacity(photos.len());
    let mut unreadable = 0;
    tagger.classify_stream(
        &photos,
        |photo| std::fs::read(&photo.path).map_err(|error| error.to_string()),
        8,
        |index, result: Result<_, ItemError>| {
            let photo = &photos[index];
            match result {
                Ok(outputs) => {
                    let decision = live_policy.decide(&outputs[1], None);
                    live.push((decision.status, decision.category.clone()));
                    examples.push(Example {
                        features: outputs[0].clone(),
                        label: photo.class,
                        weight: 1.0,
                        source: photo.path.display().to_string(),
                    });
                }
                Err(error) => {
                    unreadable += 1;
                    eprintln!("adpipe train: skipped {}: {error}", photo.path.display());
                }
            }
        },
    );
    let none = classes.iter().position(|class| class == NONE);
    if none.is_none() {
        eprintln!(
            "adpipe train: warning: no {NONE}/ folder, so the head knows no photo that should \
             not be published and its band rejects nothing"
        );
    }
    let dataset = Dataset {
        classes: classes.clone(),
        none,
        examples,
    };
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
    write(
        "policy.toml",
        proposed_policy(&name, &classes, &training).as_bytes(),
    )?;
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
        .map(|example| {
            Path::new(&example.source)
                .strip_prefix(&args.photos)
                .map_or(example.source.clone(), |path| path.display().to_string())
        })
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
        model_card(&report, &args.photos, &weights).as_bytes(),
    )?;
    // The head as a model: read back the way `adpipe tag --model` will.
    ModelSpec::load(args.out.join("model.toml"))
        .context("the head just written does not read back")?;
    let _ = Labels::parse(&classes.join("\n"))?;

    println!(
        "trained {name} on {} photos ({}) in {:.1} s; held out ({}-fold):\n  \
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

fn model_card(report: &ReportInput<'_>, photos: &Path, weights: &[u8]) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(weights));
    let mut card = format!(
        "# {name}\n\nA classifier head trained by `adpipe train` on {created}.\n\n\
         - Backbone: `{backbone}` (its `embedding` output)\n\
         - Weights: `head.safetensors`, sha256 `{digest}`\n\
         - Photos: `{photos}`, {total} in {classes} classes\n\
         - Method: multinomial logistic regression, class-balanced, L2 {l2}, L-BFGS; \
         temperature {temperature:.3} from {folds}-fold held-out predictions; seed {seed}\n\
         - Held-out accuracy {accuracy:.1} %, expected calibration error {ece:.3}\n\
         - Proposed band: approve_at {approve:.2}, review_at {review:.2} (`policy.toml`)\n\n\
         | class | photos | precision | recall |\n| --- | ---: | ---: | ---: |\n",
        name = report.name,
        created = report.created,
        backbone = report.backbone,
        photos = photos.display(),
        total = report.counts.iter().sum::<usize>(),
        classes = report.classes.len(),
        l2 = report.l2,
        temperature = report.temperature,
        folds = report.folds,
        seed = report.seed,
        accuracy = 100.0 * report.metrics.accuracy,
        ece = report.metrics.expected_calibration_error,
        approve = report.band.approve_at,
        review = report.band.review_at,
    );
    for ((class, count), metrics) in report
        .classes
        .iter()
        .zip(report.counts)
        .zip(&report.metrics.per_class)
    {
        card.push_str(&format!(
            "| {class} | {count} | {:.1} % | {:.1} % |\n",
            100.0 * metrics.precision,
            100.0 * metrics.recall
        ));
    }
    card.push_str(
        "\nLimits: it knows only what these photos show. Read report.html, where it stands \
         beside the live model on the same photos, before it decides anything.\n",
    );
    card
}
