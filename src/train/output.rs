//! Writing a trained head out: its folder (weights, labels, model.toml),
//! the policy it proposes, its report and its model card.

use std::path::{Component, Path, PathBuf};

use adpipe_core::Status;
use adpipe_train::report::ReportInput;
use adpipe_train::{BandShares, Training};

use super::NONE;

/// `to` as seen from the folder `from`: relative where they share a root.
pub(super) fn relative_to(from: &Path, to: &Path) -> PathBuf {
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
pub(super) fn proposed_policy(name: &str, classes: &[String], training: &Training) -> String {
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
pub(super) fn live_shares(
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

pub(super) fn model_card(report: &ReportInput<'_>, data: &str, weights: &[u8]) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(weights));
    let mut card = format!(
        "# {name}\n\nA classifier head trained by `adpipe train` on {created}.\n\n\
         - Backbone: `{backbone}` (its `embedding` output)\n\
         - Weights: `head.safetensors`, sha256 `{digest}`\n\
         - Data: {data}; {total} examples in {classes} classes\n\
         - Method: multinomial logistic regression, class-balanced, L2 {l2}, L-BFGS; \
         temperature {temperature:.3} from {folds}-fold held-out predictions; seed {seed}\n\
         - Held-out accuracy {accuracy:.1} %, expected calibration error {ece:.3}\n\
         - Proposed band: approve_at {approve:.2}, review_at {review:.2} (`policy.toml`)\n\n\
         | class | examples | precision | recall |\n| --- | ---: | ---: | ---: |\n",
        name = report.name,
        created = report.created,
        backbone = report.backbone,
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
        "\nLimits: it knows only what these examples show. Read report.html, where it stands \
         beside the live model on the same examples, before it decides anything.\n",
    );
    card
}
