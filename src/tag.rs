//! `adpipe tag FILE...`: tag and judge image files offline, the way the
//! worker would, and print one line (or one JSON object) per file.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use adpipe_core::Status;
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
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The ad's text, judged by the policy's text rules with every file.
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
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
    tags: Vec<JsonTag<'a>>,
    category: Option<&'a str>,
    decision: &'static str,
    reason: Option<&'a str>,
    score: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gates: Vec<JsonGate<'a>>,
}

#[derive(Serialize)]
struct JsonGate<'a> {
    name: &'a str,
    score: f32,
}

#[derive(Serialize)]
struct JsonFailure {
    file: String,
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

fn read_file(path: &PathBuf) -> Result<Vec<u8>, String> {
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

/// Returns whether every file was tagged.
pub fn run(args: TagArgs) -> anyhow::Result<bool> {
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
    let text = match &args.text {
        Some(text) => moderator
            .read_text(text)
            .context("cannot read the text with the policy's text model")?,
        None => None,
    };

    let progress = if args.files.len() > 1 {
        ProgressBar::with_draw_target(Some(args.files.len() as u64), ProgressDrawTarget::stderr())
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
        &args.files,
        read_file,
        usize::from(args.batch_size),
        |index, result| {
            let file = args.files[index].display().to_string();
            let line = match result {
                Ok(outputs) => {
                    let mut assessment = moderator.assess_outputs(&outputs, text.as_ref());
                    if let Some(text) = &args.text {
                        assessment.decision = moderator.judge_text(text, assessment.decision);
                    }
                    match assessment.decision.status {
                        Status::Approved => approved += 1,
                        Status::InReview => in_review += 1,
                        _ => rejected += 1,
                    }
                    if args.json {
                        json_line(file, &assessment)
                    } else {
                        table_line(&file, &assessment)
                    }
                }
                Err(error) => {
                    failed += 1;
                    progress.suspend(|| eprintln!("adpipe: {file}: {error}"));
                    if args.json {
                        serde_json::to_string(&JsonFailure {
                            file,
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
    if args.files.len() > 1 {
        eprintln!(
            "tagged {} files in {elapsed:.2} s ({:.1} images/s): {approved} approved, {in_review} for a person to review, {rejected} rejected, {failed} failed",
            args.files.len(),
            (approved + in_review + rejected) as f64 / elapsed,
        );
    }
    Ok(failed == 0)
}

fn json_line(file: String, assessment: &Assessment) -> String {
    let decision = &assessment.decision;
    serde_json::to_string(&JsonResult {
        file,
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
    format!(
        "{:<9} {:<12} {:>4.0}%  {file}  ({tags})",
        decision.status.as_str(),
        decision.category.as_deref().unwrap_or("-"),
        decision.score * 100.0,
    )
}
