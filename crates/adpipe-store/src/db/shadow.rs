//! Shadow runs: a candidate model judges new ads beside the live one
//! without deciding anything. Its verdicts are kept next to what the live
//! model decided, and [`shadow_report`] says, per category, how often the
//! two agree and how each agrees with what the moderators decided.

use std::collections::BTreeMap;

use adpipe_core::{AdId, Decision, Status};
use sqlx::Row;

use super::models::{DeployError, ensure_known};
use super::{Database, DbError, now_millis};
use crate::{AuditEntry, ModelVersion};

/// One shadow verdict with the live model's decision and what stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowRow {
    pub shadow: (Status, Option<String>),
    pub live: (Status, Option<String>),
    /// The ad's outcome now, and whether a person made it.
    pub now: (Status, Option<String>),
    pub by_person: bool,
}

/// How a shadow candidate and the live model compare on one category (the
/// ad's outcome now: its category when approved, `rejected`, `in_review`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowAgreement {
    pub category: String,
    pub ads: u64,
    /// The shadow would have decided as the live model did.
    pub agrees_with_live: u64,
    /// Of these, ads whose outcome a person decided...
    pub decided_by_people: u64,
    /// ...where the live model's decision was the person's...
    pub live_agrees_with_people: u64,
    /// ...and where the shadow's would have been.
    pub shadow_agrees_with_people: u64,
    /// Of the ads people decided, those each model left to people.
    pub live_left_to_people: u64,
    pub shadow_left_to_people: u64,
}

fn outcome_key(outcome: &(Status, Option<String>)) -> String {
    match outcome {
        (Status::Approved, Some(category)) => category.clone(),
        (status, _) => status.as_str().to_owned(),
    }
}

/// Per category of the ads' outcome now, and a last row `all`.
pub fn shadow_report(rows: &[ShadowRow]) -> Vec<ShadowAgreement> {
    let mut by_category: BTreeMap<String, ShadowAgreement> = BTreeMap::new();
    let mut all = ShadowAgreement {
        category: "all".into(),
        ..ShadowAgreement::default()
    };
    for row in rows {
        let key = outcome_key(&row.now);
        let entry = by_category
            .entry(key.clone())
            .or_insert_with(|| ShadowAgreement {
                category: key,
                ..ShadowAgreement::default()
            });
        for tally in [&mut *entry, &mut all] {
            tally.ads += 1;
            tally.agrees_with_live += u64::from(row.shadow == row.live);
            if row.by_person {
                tally.decided_by_people += 1;
                tally.live_agrees_with_people += u64::from(row.live == row.now);
                tally.shadow_agrees_with_people += u64::from(row.shadow == row.now);
                tally.live_left_to_people += u64::from(row.live.0 == Status::InReview);
                tally.shadow_left_to_people += u64::from(row.shadow.0 == Status::InReview);
            }
        }
    }
    let mut report: Vec<ShadowAgreement> = by_category.into_values().collect();
    report.push(all);
    report
}

fn parse_status(text: &str, id: &str) -> Result<Status, DbError> {
    text.parse().map_err(|_| DbError::Corrupt {
        id: id.to_owned(),
        message: format!("status {text:?}"),
    })
}

impl Database {
    /// Runs `version` in shadow from the next batch on (`None`: stops the
    /// shadow run), with its audit record, in one transaction.
    pub async fn set_shadow_model(
        &self,
        version: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<(), DeployError> {
        let mut tx = self.pool.begin().await?;
        if let Some(version) = version {
            ensure_known(&mut tx, version).await?;
        }
        sqlx::query("INSERT INTO model_shadows (version, by_actor, at) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(&audit.actor)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        self.append_audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The version an admin set to run in shadow; `None` when none is.
    pub async fn shadow_model(&self) -> Result<Option<ModelVersion>, DbError> {
        self.newest_version_in("model_shadows").await
    }

    /// Keeps what `version` would have decided for ad `id` beside what the
    /// live model decided; a second verdict for the same ad and version
    /// (the ad judged again) is ignored.
    pub async fn record_shadow_verdict(
        &self,
        id: AdId,
        version: &str,
        shadow: &Decision,
        live: &Decision,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO shadow_verdicts (ad_id, version, status, category, score, \
             live_status, live_category, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (ad_id, version) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(version)
        .bind(shadow.status.as_str())
        .bind(shadow.category.as_deref())
        .bind(f64::from(shadow.score))
        .bind(live.status.as_str())
        .bind(live.category.as_deref())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The versions that have verdicts, the most recent first.
    pub async fn shadowed_versions(&self) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query(
            "SELECT version, MAX(at) AS last FROM shadow_verdicts GROUP BY version ORDER BY last DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| row.try_get("version").map_err(DbError::from))
            .collect()
    }

    /// Every verdict of `version`, with the ad's outcome now.
    pub async fn shadow_rows(&self, version: &str) -> Result<Vec<ShadowRow>, DbError> {
        let rows = sqlx::query(
            "SELECT s.ad_id, s.status, s.category, s.live_status, s.live_category, \
               a.status AS now_status, a.category AS now_category, \
               (SELECT d.decided_by FROM decisions d WHERE d.ad_id = a.id \
                ORDER BY d.seq DESC LIMIT 1) AS last_by \
             FROM shadow_verdicts s JOIN ads a ON a.id = s.ad_id \
             WHERE s.version = $1 ORDER BY s.at",
        )
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("ad_id")?;
                let status: String = row.try_get("status")?;
                let live: String = row.try_get("live_status")?;
                let now: String = row.try_get("now_status")?;
                let last_by: Option<String> = row.try_get("last_by")?;
                Ok(ShadowRow {
                    shadow: (parse_status(&status, &id)?, row.try_get("category")?),
                    live: (parse_status(&live, &id)?, row.try_get("live_category")?),
                    now: (parse_status(&now, &id)?, row.try_get("now_category")?),
                    by_person: last_by.is_some_and(|by| by.starts_with("moderator:")),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        shadow: (Status, Option<&str>),
        live: (Status, Option<&str>),
        now: (Status, Option<&str>),
        by_person: bool,
    ) -> ShadowRow {
        let own =
            |(status, category): (Status, Option<&str>)| (status, category.map(str::to_owned));
        ShadowRow {
            shadow: own(shadow),
            live: own(live),
            now: own(now),
            by_person,
        }
    }

    #[test]
    fn agreement_is_counted_per_category_of_the_outcome_now() {
        use Status::{Approved, InReview, Rejected};
        let rows = [
            // Both approve a car the model decided alone.
            row(
                (Approved, Some("car")),
                (Approved, Some("car")),
                (Approved, Some("car")),
                false,
            ),
            // The live model asked; the shadow knew; a person agreed with it.
            row(
                (Approved, Some("car")),
                (InReview, None),
                (Approved, Some("car")),
                true,
            ),
            // The shadow would have rejected what a person approved.
            row(
                (Rejected, None),
                (InReview, None),
                (Approved, Some("truck")),
                true,
            ),
            // Both left a spam ad to a person, who rejected it.
            row((InReview, None), (InReview, None), (Rejected, None), true),
        ];
        let report = shadow_report(&rows);
        let names: Vec<&str> = report.iter().map(|r| r.category.as_str()).collect();
        assert_eq!(names, ["car", "rejected", "truck", "all"]);
        assert_eq!(
            report[0],
            ShadowAgreement {
                category: "car".into(),
                ads: 2,
                agrees_with_live: 1,
                decided_by_people: 1,
                live_agrees_with_people: 0,
                shadow_agrees_with_people: 1,
                live_left_to_people: 1,
                shadow_left_to_people: 0,
            }
        );
        let all = report.last().unwrap();
        assert_eq!(
            (all.ads, all.agrees_with_live, all.decided_by_people),
            (4, 2, 3)
        );
        assert_eq!(
            (all.live_agrees_with_people, all.shadow_agrees_with_people),
            (0, 1)
        );
        assert_eq!((all.live_left_to_people, all.shadow_left_to_people), (3, 1));
    }
}
