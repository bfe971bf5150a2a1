//! The team's decisions as training examples: each decided ad's kept photo
//! embedding (no photo is decoded), labelled with what was decided.
//!
//! An approval labels the photo with the ad's category, a rejection with
//! `none`: the head learns which photos the site publishes, so a rejection
//! for the text alone teaches it wrongly (the report's mistakes table names
//! such ads). A person's decision counts fully; the model's own, never
//! overturned, only with `--trust-model` and at [`TRUSTED_MODEL_WEIGHT`]:
//! it mostly repeats what the model already knows.

use adpipe_core::Status;
use adpipe_store::Database;
use adpipe_store::db::DecidedEmbedding;

use super::{Gathered, Labelled, NONE};

/// How much an automatic decision nobody overturned counts, against 1 for
/// a person's.
pub const TRUSTED_MODEL_WEIGHT: f32 = 0.25;

/// What one decided ad teaches, if anything.
fn label(ad: &DecidedEmbedding, trust_model: bool) -> Option<(String, f32)> {
    let weight = if ad.by_person {
        1.0
    } else if trust_model {
        TRUSTED_MODEL_WEIGHT
    } else {
        return None;
    };
    let label = match (ad.status, &ad.category) {
        (Status::Approved, Some(category)) => category.clone(),
        (Status::Rejected, _) => NONE.to_owned(),
        // An approval without a category names nothing to learn.
        _ => return None,
    };
    Some((label, weight))
}

/// Reads the decided ads with an embedding of `model` into `gathered`.
pub async fn gather(
    db: &Database,
    model: &str,
    trust_model: bool,
    gathered: &mut Gathered,
) -> anyhow::Result<()> {
    let decided = db.decided_embeddings(model).await?;
    let (missing_kept, missing) = db.embedding_counts(model).await?;
    if missing > 0 {
        eprintln!(
            "adpipe train: {missing} decided ads have no embedding of {model} \
             (`adpipe embed --backfill` fills them in); training on the {missing_kept} that do"
        );
    }
    for ad in &decided {
        let Some((label, weight)) = label(ad, trust_model) else {
            continue;
        };
        if ad.by_person {
            gathered.by_people += 1;
        } else {
            gathered.by_model += 1;
        }
        gathered.examples.push(Labelled {
            features: ad.vector.clone(),
            label,
            weight,
            source: format!("ad {}", ad.id),
            // What the model did when the ad came in: the live model's
            // record on these ads.
            live: ad.model_outcome.clone().unwrap_or((Status::InReview, None)),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use adpipe_core::AdId;

    fn decided(status: Status, category: Option<&str>, by_person: bool) -> DecidedEmbedding {
        DecidedEmbedding {
            id: AdId::new(),
            status,
            category: category.map(str::to_owned),
            by_person,
            model_outcome: None,
            vector: vec![0.0; 4],
        }
    }

    #[test]
    fn people_teach_fully_the_model_only_when_trusted_and_less() {
        let approved = decided(Status::Approved, Some("car"), true);
        assert_eq!(label(&approved, false), Some(("car".into(), 1.0)));
        let rejected = decided(Status::Rejected, Some("car"), true);
        assert_eq!(label(&rejected, false), Some((NONE.into(), 1.0)));
        let automatic = decided(Status::Approved, Some("car"), false);
        assert_eq!(label(&automatic, false), None);
        assert_eq!(
            label(&automatic, true),
            Some(("car".into(), TRUSTED_MODEL_WEIGHT))
        );
        assert_eq!(label(&decided(Status::Approved, None, true), true), None);
    }
}
