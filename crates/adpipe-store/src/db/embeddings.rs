//! Each ad's photo as the image model saw it: its feature vector, kept
//! when the worker tags the ad (with the decision, in the same write) or
//! when `adpipe embed --backfill` fills it in, and read back to train a
//! head on the team's decisions without decoding an image again.
//!
//! Stored as little-endian f16: half the room of f32 (2,560 bytes for
//! EfficientNet-Lite0's 1,280 values) and, for features of magnitude 0-10,
//! a relative error below 0.05 %, far under what moves a linear head.

use adpipe_core::{AdId, Embedding, Status};
use sqlx::Row;

use super::{Database, DbError};

/// The bytes kept for `vector`.
pub fn encode_embedding(vector: &[f32]) -> Vec<u8> {
    vector
        .iter()
        .flat_map(|value| half::f16::from_f32(*value).to_le_bytes())
        .collect()
}

/// The vector `bytes` hold; `None` when they cannot be one (odd length).
pub fn decode_embedding(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|pair| half::f16::from_le_bytes([pair[0], pair[1]]).to_f32())
            .collect(),
    )
}

/// An ad whose photo has no feature vector of the model asked about yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unembedded {
    pub id: AdId,
    pub image_key: String,
}

/// A decided ad's photo embedding with what was decided and by whom: a
/// labelled example for training a head on the team's decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedEmbedding {
    pub id: AdId,
    /// Approved or rejected.
    pub status: Status,
    pub category: Option<String>,
    /// Whether the decision that stands is a person's (`moderator:…`);
    /// otherwise the model's, never overturned.
    pub by_person: bool,
    /// What the model decided when the ad came in (its first automatic
    /// decision, `in_review` when it asked for a person), for comparing
    /// a trained head with the model on the same ads.
    pub model_outcome: Option<(Status, Option<String>)>,
    pub vector: Vec<f32>,
}

/// An ad a person decided, with its photo and text.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonDecided {
    pub id: AdId,
    /// Approved or rejected.
    pub status: Status,
    pub category: Option<String>,
    /// What the model decided when the ad came in (as in
    /// [`DecidedEmbedding::model_outcome`]).
    pub model_outcome: Option<(Status, Option<String>)>,
    pub image_key: String,
    pub text: String,
}

/// The columns both readers of decided ads share: what was decided, by
/// whom last, and what a model first decided.
const DECIDED_COLUMNS: &str = "a.id, a.status, a.category, \
    (SELECT d.decided_by FROM decisions d WHERE d.ad_id = a.id \
     ORDER BY d.seq DESC LIMIT 1) AS last_by, \
    (SELECT d.outcome FROM decisions d WHERE d.ad_id = a.id \
     AND d.decided_by LIKE 'model:%' ORDER BY d.seq LIMIT 1) AS model_outcome, \
    (SELECT d.category FROM decisions d WHERE d.ad_id = a.id \
     AND d.decided_by LIKE 'model:%' ORDER BY d.seq LIMIT 1) AS model_category";

/// What [`DECIDED_COLUMNS`] hold.
struct Decided {
    id: AdId,
    status: Status,
    category: Option<String>,
    by_person: bool,
    model_outcome: Option<(Status, Option<String>)>,
}

fn decided_of(row: &sqlx::any::AnyRow) -> Result<Decided, DbError> {
    let id: String = row.try_get("id")?;
    let corrupt = |message: String| DbError::Corrupt {
        id: id.clone(),
        message,
    };
    let status: String = row.try_get("status")?;
    let status = status
        .parse()
        .map_err(|_| corrupt(format!("status {status:?}")))?;
    let last_by: Option<String> = row.try_get("last_by")?;
    let model_outcome: Option<String> = row.try_get("model_outcome")?;
    let model_outcome = match model_outcome {
        Some(outcome) => Some((
            outcome
                .parse()
                .map_err(|_| corrupt(format!("outcome {outcome:?}")))?,
            row.try_get("model_category")?,
        )),
        None => None,
    };
    Ok(Decided {
        id: id.parse().map_err(|_| corrupt("not an ad id".into()))?,
        status,
        category: row.try_get("category")?,
        by_person: last_by.is_some_and(|by| by.starts_with("moderator:")),
        model_outcome,
    })
}

impl Database {
    /// Keeps `embedding` as the ad's (replacing one of another model).
    /// False for an unknown ad.
    pub async fn keep_embedding(&self, id: AdId, embedding: &Embedding) -> Result<bool, DbError> {
        let result =
            sqlx::query("UPDATE ads SET embedding = $1, embedding_model = $2 WHERE id = $3")
                .bind(encode_embedding(&embedding.vector))
                .bind(embedding.model.as_str())
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The ad's kept feature vector, if it has one.
    pub async fn embedding_of(&self, id: AdId) -> Result<Option<Embedding>, DbError> {
        let row = sqlx::query(
            "SELECT embedding, embedding_model FROM ads \
             WHERE id = $1 AND embedding IS NOT NULL",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bytes: Vec<u8> = row.try_get("embedding")?;
        let model: String = row.try_get("embedding_model")?;
        let vector = decode_embedding(&bytes).ok_or_else(|| DbError::Corrupt {
            id: id.to_string(),
            message: format!("an embedding of {} bytes", bytes.len()),
        })?;
        Ok(Some(Embedding::new(model, vector)))
    }

    /// Up to `limit` ads after `after` (by id) whose photo has no feature
    /// vector of `model`: what `adpipe embed --backfill` fills in. Pending
    /// ads are left to the workers (they keep one when they tag), failed
    /// ones have no photo that decodes.
    pub async fn ads_without_embedding(
        &self,
        model: &str,
        after: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<Unembedded>, DbError> {
        let rows = sqlx::query(
            "SELECT id, image_key FROM ads \
             WHERE status NOT IN ('pending', 'failed') \
               AND (embedding IS NULL OR embedding_model <> $1) AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(model)
        .bind(after.map_or_else(String::new, |id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(Unembedded {
                    id: id.parse().map_err(|_| DbError::Corrupt {
                        message: "not an ad id".into(),
                        id: id.clone(),
                    })?,
                    image_key: row.try_get("image_key")?,
                })
            })
            .collect()
    }

    /// Every approved or rejected ad with a feature vector of `model`,
    /// oldest first, with what was decided, by whom, and what the model
    /// first said.
    pub async fn decided_embeddings(&self, model: &str) -> Result<Vec<DecidedEmbedding>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {DECIDED_COLUMNS}, a.embedding FROM ads a \
             WHERE a.status IN ('approved', 'rejected') \
               AND a.embedding IS NOT NULL AND a.embedding_model = $1 \
             ORDER BY a.id"
        ))
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let decided = decided_of(row)?;
                let bytes: Vec<u8> = row.try_get("embedding")?;
                let vector = decode_embedding(&bytes).ok_or_else(|| DbError::Corrupt {
                    id: decided.id.to_string(),
                    message: format!("an embedding of {} bytes", bytes.len()),
                })?;
                Ok(DecidedEmbedding {
                    id: decided.id,
                    status: decided.status,
                    category: decided.category,
                    by_person: decided.by_person,
                    model_outcome: decided.model_outcome,
                    vector,
                })
            })
            .collect()
    }

    /// Every ad whose standing decision is a person's, oldest first, with
    /// its photo's key and its text: what `adpipe models promote` runs a
    /// candidate that is not a trained head on.
    pub async fn decided_by_people(&self) -> Result<Vec<PersonDecided>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {DECIDED_COLUMNS}, a.image_key, a.text FROM ads a \
             WHERE a.status IN ('approved', 'rejected') ORDER BY a.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut ads = Vec::new();
        for row in &rows {
            let decided = decided_of(row)?;
            if decided.by_person {
                ads.push(PersonDecided {
                    id: decided.id,
                    status: decided.status,
                    category: decided.category,
                    model_outcome: decided.model_outcome,
                    image_key: row.try_get("image_key")?,
                    text: row.try_get("text")?,
                });
            }
        }
        Ok(ads)
    }

    /// How many decided ads have a feature vector of `model`, and how many
    /// have none (or another model's).
    pub async fn embedding_counts(&self, model: &str) -> Result<(i64, i64), DbError> {
        let row = sqlx::query(
            "SELECT \
               COUNT(CASE WHEN embedding IS NOT NULL AND embedding_model = $1 THEN 1 END) AS kept, \
               COUNT(CASE WHEN embedding IS NULL OR embedding_model <> $1 THEN 1 END) AS missing \
             FROM ads WHERE status NOT IN ('pending', 'failed')",
        )
        .bind(model)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("kept")?, row.try_get("missing")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_keeps_features_within_a_twentieth_of_a_percent() {
        let vector: Vec<f32> = (0..1280)
            .map(|i| (i as f32 * 0.37).sin().abs() * 6.0)
            .collect();
        let bytes = encode_embedding(&vector);
        assert_eq!(bytes.len(), 2 * vector.len());
        let back = decode_embedding(&bytes).unwrap();
        for (a, b) in vector.iter().zip(&back) {
            assert!((a - b).abs() <= a.abs() * 5e-4 + 1e-4, "{a} became {b}");
        }
        assert_eq!(decode_embedding(&bytes[1..]), None);
    }
}
