//! `adpipe tag FILE...`: tag and judge image files offline, the way the
//! worker would, and print one line (or one JSON object) per file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use adpipe_core::policy::TextReading;
use adpipe_core::{Status, TextInImage};
use adpipe_tagger::{Assessment, Device, ItemError, Moderator};
use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::assets;

/// Files bigger than this are not images anyone uploads; refuse to read them.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// Image files (JPEG, PNG, WebP, GIF, BMP).
    #[arg(
        required_unless_present = "ads",
        conflicts_with = "ads",
        value_name = "FILE"
    )]
    files: Vec<PathBuf>,
    /// The ad's text, judged with every file: the policy's text rules, and
    /// its text evidence when the policy reads texts.
    #[arg(long, value_name = "TEXT", conflicts_with = "ads")]
    text: Option<String>,
    /// Whole ads, one per line: `image path<TAB>text` (a relative path is
    /// read from the file's own directory; empty lines and lines starting
    /// with `#` are skipped).
    #[arg(long, value_name = "FILE.tsv")]
    ads: Option<PathBuf>,
    /// Print one JSON object per file instead of a table.
    #[arg(long)]
    json: bool,
    /// How many labels to print per file.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    top_k: u16,
    /// Images per inference run.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: u16,
    /// Threads for inference, and as many again for decoding [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// The classifier's model.toml [default: models/efficientnet-lite0/model.toml].
    #[arg(long, env = "ADPIPE_MODEL", value_name = "MODEL.toml")]
    model: Option<PathBuf>,
    /// The policy that decides [default: models/policies/vehicles.toml].
    #[arg(long, env = "ADPIPE_POLICY", value_name = "POLICY.toml")]
    policy: Option<PathBuf>,
    /// A gate that can veto any decision, e.g. models/policies/nsfw-gate.toml (repeatable).
    #[arg(
        long = "gate",
        env = "ADPIPE_GATES",
        value_delimiter = ',',
        value_name = "GATE.toml"
    )]
    gates: Vec<PathBuf>,
    /// Run on this device instead of the one in model.toml.
    #[arg(long, value_enum)]
    device: Option<DeviceArg>,
    /// The ONNX Runtime library [default: found in .ort/ of the repository].
    #[arg(long, env = "ADPIPE_ORT_LIB", value_name = "PATH")]
    ort_lib: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Serialize)]
struct JsonTag<'a> {
    label: &'a str,
    confidence: f32,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    tags: Vec<JsonTag<'a>>,
    category: Option<&'a str>,
    decision: &'static str,
    reason: Option<&'a str>,
    score: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gates: Vec<JsonGate<'a>>,
    /// What the ad's text says, when the policy reads texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a TextReading>,
    /// The text read in the photo, when the policy reads it
    /// (`[text_in_image]`); empty for a photo the glance saw no text in, or
    /// one rejected before it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    text_in_image: Option<&'a [TextInImage]>,
}

#[derive(Serialize)]
struct JsonGate<'a> {
    name: &'a str,
    score: f32,
}

#[derive(Serialize)]
struct JsonFailure {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    error: JsonError,
}

#[derive(Serialize)]
struct JsonError {
    code: &'static str,
    message: String,
}

fn error_code(error: &ItemError) -> &'static str {
    match error {
        ItemError::Read(_) => "unreadable",
        ItemError::Decode(decode) => decode.code(),
        ItemError::Inference(_) => "inference_failed",
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes is more than the {} MiB an image may have",
            metadata.len(),
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    std::fs::read(path).map_err(|error| error.to_string())
}

/// One image to tag, with the text of its ad when there is one.
struct Item {
    path: PathBuf,
    text: Option<String>,
    /// Its line in the `--ads` file.
    line: Option<usize>,
}

/// Reads an `--ads` file: `image path<TAB>text` per line.
fn read_ads(path: &Path) -> anyhow::Result<Vec<Item>> {
    let content =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut items = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let number = index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((image, text)) = line.split_once('\t') else {
            anyhow::bail!(
                "{}:{number}: expected `image path<TAB>text`, found no tab",
                path.display()
            );
        };
        if image.trim().is_empty() {
            anyhow::bail!("{}:{number}: the image path is empty", path.display());
        }
        items.push(Item {
            path: base.join(image.trim()),
            text: Some(text.to_owned()),
            line: Some(number),
        });
    }
    if items.is_empty() {
        anyhow::bail!("{} holds no ads", path.display());
    }
    Ok(items)
}

/// Returns whether every file was tagged.
pub fn run(args: TagArgs) -> anyhow::Result<bool> {
    let items = match &args.ads {
        Some(ads) => read_ads(ads)?,
        None => args
            .files
            .iter()
            .map(|path| Item {
                path: path.clone(),
                text: args.text.clone(),
                line: None,
            })
            .collect(),
    };
    let device = args.device.map(|device| match device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::Cuda,
    });
    let config = crate::service::tagger_config(
        args.threads.map(usize::from),
        None,
        device,
        args.ort_lib.clone(),
    );
    let model = assets::model_or_default(args.model.as_deref());
    let policy = assets::policy_or_default(args.policy.as_deref());
    let moderator = Moderator::load(&model, &policy, &args.gates, &config)
        .context("cannot start the tagger")?
        .with_top_k(usize::from(args.top_k));
    // `--text` is the same text for every file: read it once.
    let shared_text = match &args.text {
        Some(text) => moderator
            .read_text(text)
            .context("cannot read the text with the policy's text model")?,
        None => None,
    };

    let progress = if items.len() > 1 {
        ProgressBar::with_draw_target(Some(items.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, {eta} left")
            .expect("the template is valid"),
    );

    let started = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let (mut approved, mut rejected, mut in_review, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let mut write_error = None;
    moderator.tagger().classify_stream(
        &items,
        |item| read_file(&item.path),
        usize::from(args.batch_size),
        |index, result| {
            let item = &items[index];
            let file = item.path.display().to_string();
            let read = match (&item.text, args.ads.is_some()) {
                (Some(text), true) => moderator.read_text(text).map_err(|error| {
                    ItemError::Inference(format!("cannot read the text: {error}"))
                }),
                _ => Ok(shared_text.clone()),
            };
            let assessed = result
                .and_then(|outputs| read.map(|text| (outputs, text)))
                .and_then(|(outputs, text_scores)| {
                    // The reading travels with the decision (`decision.text`).
                    let mut assessment = moderator.assess_outputs(&outputs, text_scores.as_ref());
                    if moderator.reads_photos() {
                        // The stream keeps no photo: read the file again.
                        let bytes = read_file(&item.path).map_err(ItemError::Read)?;
                        assessment.decision = moderator.judge_photo(&bytes, assessment.decision)?;
                    }
                    Ok(assessment)
                });
            let line = match assessed {
                Ok(mut assessment) => {
                    if let Some(text) = &item.text {
                        assessment.decision = moderator.judge_text(text, assessment.decision);
                    }
                    match assessment.decision.status {
                        Status::Approved => approved += 1,
                        Status::InReview => in_review += 1,
                        _ => rejected += 1,
                    }
                    if args.json {
                        json_line(file, item.line, &assessment, moderator.reads_photos())
                    } else {
                        table_line(&file, &assessment)
                    }
                }
                Err(error) => {
                    failed += 1;
                    let place = match item.line {
                        Some(line) => format!("{file} (line {line})"),
                        None => file.clone(),
                    };
                    progress.suspend(|| eprintln!("adpipe: {place}: {error}"));
                    if args.json {
                        serde_json::to_string(&JsonFailure {
                            file,
                            line: item.line,
                            error: JsonError {
                                code: error_code(&error),
                                message: error.to_string(),
                            },
                        })
                        .expect("plain data serialises")
                    } else {
                        progress.inc(1);
                        return;
                    }
                }
            };
            if write_error.is_none()
                && let Err(error) = progress.suspend(|| writeln!(stdout, "{line}"))
            {
                write_error = Some(error);
            }
            progress.inc(1);
        },
    );
    progress.finish_and_clear();
    if let Some(error) = write_error {
        // A closed pipe (`adpipe tag … | head`) is the reader's choice.
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(error).context("cannot write the results");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if items.len() > 1 {
        eprintln!(
            "tagged {} files in {elapsed:.2} s ({:.1} images/s): {approved} approved, {in_review} for a person to review, {rejected} rejected, {failed} failed",
            items.len(),
            (approved + in_review + rejected) as f64 / elapsed,
        );
    }
    Ok(failed == 0)
}

fn json_line(
    file: String,
    line: Option<usize>,
    assessment: &Assessment,
    reads_photos: bool,
) -> String {
    let decision = &assessment.decision;
    serde_json::to_string(&JsonResult {
        file,
        line,
        tags: assessment
            .tags
            .iter()
            .map(|tag| JsonTag {
                label: &tag.label,
                confidence: round4(tag.confidence),
            })
            .collect(),
        category: decision.category.as_deref(),
        decision: decision.status.as_str(),
        reason: decision.reason.as_deref(),
        score: round4(decision.score),
        gates: assessment
            .gate_scores
            .iter()
            .map(|(name, score)| JsonGate {
                name,
                score: round4(*score),
            })
            .collect(),
        text: decision.text.as_ref(),
        text_in_image: reads_photos.then_some(decision.text_in_image.as_slice()),
    })
    .expect("plain data serialises")
}

/// Four decimals are all a probability is worth printing.
fn round4(value: f32) -> f32 {
    (value * 10_000.0).round() / 10_000.0
}

fn table_line(file: &str, assessment: &Assessment) -> String {
    let decision = &assessment.decision;
    let tags = assessment
        .tags
        .iter()
        .map(|tag| format!("{} {:.0}%", tag.label, tag.confidence * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    let says = decision
        .text
        .as_ref()
        .map(|text| match text.says.as_deref() {
            Some(name) => format!("  text: {name} {:.0}%", text.confidence() * 100.0),
            None => format!(
                "  text: says nothing (similarity {:.2})",
                text.best_similarity
            ),
        });
    let reason = decision
        .reason
        .as_deref()
        .map(|reason| format!("  — {reason}"))
        .unwrap_or_default();
    let in_photo = if decision.text_in_image.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = decision
            .text_in_image
            .iter()
            .map(|line| format!("{:?}", line.text))
            .collect();
        format!("  in the photo: {}", lines.join(" "))
    };
    format!(
        "{:<9} {:<12} {:>4.0}%  {file}  ({tags}){}{in_photo}{reason}",
        decision.status.as_str(),
        decision.category.as_deref().unwrap_or("-"),
        decision.score * 100.0,
        says.unwrap_or_default(),
    )
}
