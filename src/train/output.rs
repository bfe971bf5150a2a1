//! Writing a trained head out: its folder (weights, labels, model.toml),
//! the policy it proposes, its report and its model card.

use std::path::{Component, Path, PathBuf};

use adpipe_core::Status;
use adpipe_core::policy::{Category, Policy, TextSection};
use adpipe_train::report::ReportInput;
use adpipe_train::{Band, BandShares};
use anyhow::Context;

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
/// drew on held-out predictions, and what the live policy reads in the
/// ad's text. Its text rules always come along (contact details, scams:
/// nothing to do with the photo). Its `[text]` check comes along when the
/// live policy describes every one of the head's categories in text, with
/// the text model named from `out`; otherwise a comment says why not.
pub(super) fn proposed_policy(
    name: &str,
    classes: &[String],
    band: &Band,
    live: &Policy,
    live_dir: &Path,
    out: &Path,
) -> anyhow::Result<String> {
    let prototypes = |class: &str| {
        live.categories
            .iter()
            .find(|category| category.name == class)
            .map(|category| category.text.clone())
            .unwrap_or_default()
    };
    let categories: Vec<&String> = classes.iter().filter(|class| *class != NONE).collect();
    let undescribed: Vec<&str> = categories
        .iter()
        .filter(|class| prototypes(class).is_empty())
        .map(|class| class.as_str())
        .collect();
    let text = match &live.text {
        Some(section) if undescribed.is_empty() => Some(TextSection {
            model: relative_to(out, &live_dir.join(&section.model))
                .display()
                .to_string(),
            ..section.clone()
        }),
        _ => None,
    };
    let proposed = Policy {
        name: name.to_owned(),
        description: format!("Ads in the categories the head {name} was trained on."),
        min_score: None,
        approve_at: Some(band.approve_at),
        review_at: Some(band.review_at),
        review_sample: live.review_sample,
        reject_reason: Some("We only publish ads in our categories.".into()),
        categories: categories
            .iter()
            .map(|class| Category {
                name: (*class).clone(),
                labels: Vec::new(),
                text: if text.is_some() {
                    prototypes(class)
                } else {
                    Vec::new()
                },
            })
            .collect(),
        text_rules: live.text_rules.clone(),
        text,
        // Reading the text in photos needs the OCR models beside the
        // version; not carried (the header says so).
        text_in_image: None,
    };
    let mut header = String::from(
        "# Proposed by `adpipe train` for the head in this folder: its categories, and the\n\
         # band that made no wrong automatic decision on the held-out predictions with the\n\
         # fewest photos for people (report.html). Read the report before you use it.\n\
         # The live policy's text rules are carried over as they were.\n",
    );
    match (&live.text, undescribed.is_empty()) {
        (None, _) => header
            .push_str("# The live policy does not read the ad's text, so neither does this one.\n"),
        (Some(_), true) => header.push_str(
            "# The live policy's [text] check is carried over: the text model (named from this\n\
             # folder) and each category's text descriptions.\n",
        ),
        (Some(_), false) => header.push_str(&format!(
            "# The live policy reads the ad's text but does not describe {} in text, so\n\
             # this policy judges by the photo alone: add a [text] section and `text = [...]`\n\
             # to every category to check the text (docs/policies.md).\n",
            undescribed.join(", ")
        )),
    }
    if live.text_in_image.is_some() {
        header.push_str("# The live policy's [text_in_image] (OCR) is not carried over.\n");
    }
    let mut table = toml::Value::try_from(&proposed).context("cannot write the proposed policy")?;
    tidy_floats(&mut table);
    let body = toml::to_string(&table).context("cannot write the proposed policy")?;
    Ok(format!("{header}{body}"))
}

/// The policy's numbers as a person wrote them: an f32 such as 0.57 or
/// 0.02 widens to 0.5699999928474426 or 0.019999999552965164, so each is
/// rounded to the six digits an f32 holds.
fn tidy_floats(value: &mut toml::Value) {
    match value {
        toml::Value::Float(number) => {
            *number = format!("{:.6}", *number).parse().unwrap_or(*number);
        }
        toml::Value::Array(items) => items.iter_mut().for_each(tidy_floats),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, item)| tidy_floats(item)),
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = r#"
name = "live"
approve_at = 0.3
[text]
model = "../minilm-l6-static/model.toml"
temperature = 0.02
min_similarity = 0.42
off_topic = ["car insurance"]
neutral = ["for sale"]
[[category]]
name = "car"
labels = ["cab"]
text = ["car", "a used car for sale"]
[[category]]
name = "boat"
labels = ["canoe"]
text = ["boat"]
[[text_rule]]
name = "contact details"
contacts = ["phone"]
action = "review"
reason = "Contact details."
"#;

    fn propose(classes: &[&str]) -> Policy {
        let live = Policy::from_toml(LIVE, "live.toml").unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let classes: Vec<String> = classes.iter().map(|c| (*c).to_owned()).collect();
        let band = Band {
            approve_at: 0.57,
            review_at: 0.12,
        };
        let out = std::env::temp_dir();
        let text = proposed_policy(
            "head",
            &classes,
            &band,
            &live,
            &root.join("models/policies"),
            &out,
        )
        .unwrap();
        // The band as drawn, not as an f32 widens (0.5699999928474426).
        assert!(text.contains("approve_at = 0.57\n"), "{text}");
        assert!(text.contains("review_at = 0.12\n"), "{text}");
        Policy::from_toml(&text, "proposed.toml").unwrap()
    }

    #[test]
    fn the_live_policys_text_check_and_rules_come_with_a_head() {
        let proposed = propose(&["boat", "car", NONE]);
        let names: Vec<&str> = proposed
            .categories
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["boat", "car"]);
        assert_eq!(proposed.categories[1].text, ["car", "a used car for sale"]);
        // Named directly: each reads the head's label of its own name.
        assert!(
            proposed
                .categories
                .iter()
                .all(|c| c.labels == [c.name.clone()])
        );
        let text = proposed.text.expect("the [text] check comes along");
        assert_eq!(text.temperature, 0.02);
        assert_eq!(text.neutral, ["for sale"]);
        // Named from where the head is written, so it still resolves.
        let model = std::env::temp_dir().join(&text.model);
        assert!(model.exists(), "{}", model.display());
        assert_eq!(proposed.text_rules.len(), 1);
    }

    #[test]
    fn a_head_with_categories_the_live_policy_does_not_describe_keeps_the_rules_only() {
        let proposed = propose(&["tool", "car", NONE]);
        assert!(proposed.text.is_none());
        assert!(proposed.categories.iter().all(|c| c.text.is_empty()));
        assert_eq!(
            proposed.text_rules.len(),
            1,
            "contact details still checked"
        );
    }
}
