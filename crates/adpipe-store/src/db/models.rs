//! Model versions and which one the workers run: `adpipe models` adds a
//! version (its files go to the blob store, [`crate::Blobs`], under
//! `models/<version>/`), promotes one or rolls back, and every worker asks
//! [`Database::live_model`] before each batch.
//!
//! Deployments are rows that are never changed: promoting pushes a version
//! on a stack, rolling back pops it, and the stack is read by replaying the
//! rows, so the history of who ran what stays whole.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Database, DbError, now_millis};
use crate::AuditEntry;

/// A model folder as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    /// The SHA-256 of its files, hex.
    pub version: String,
    pub name: String,
    /// model.toml's kind (`image_classifier`, `image_head`).
    pub kind: String,
    /// The folder's files, relative paths.
    pub files: Vec<String>,
    pub added_by: String,
    /// Unix milliseconds.
    pub added_at: i64,
}

/// What a promotion or rollback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployAction {
    Promote,
    Rollback,
}

impl DeployAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployAction::Promote => "promote",
            DeployAction::Rollback => "rollback",
        }
    }
}

/// One promotion or rollback, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub seq: i64,
    /// The version live from then on; `None` is the model the workers were
    /// configured with.
    pub version: Option<String>,
    pub action: DeployAction,
    /// Promoted although it did worse on the ads people decided.
    pub forced: bool,
    pub by: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// The versions promoted and not rolled back, oldest first, after
/// `deployments` (oldest first). The last is live; none is the configured
/// model.
pub fn promoted_stack(deployments: &[Deployment]) -> Vec<Option<String>> {
    let mut stack = Vec::new();
    for deployment in deployments {
        match deployment.action {
            DeployAction::Promote => stack.push(deployment.version.clone()),
            DeployAction::Rollback => {
                stack.pop();
            }
        }
    }
    stack
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("no model version {0} has been added (adpipe models list)")]
    UnknownVersion(String),
    #[error("nothing to roll back: the workers run the model they were configured with")]
    NothingToRollBack,
    #[error("version {0} is live already")]
    AlreadyLive(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for DeployError {
    fn from(error: sqlx::Error) -> Self {
        DeployError::Db(error.into())
    }
}

impl Database {
    /// Lists a version; true when it is new (the same files added again
    /// are the same version, and keep their first record).
    pub async fn add_model_version(&self, version: &ModelVersion) -> Result<bool, DbError> {
        let files = serde_json::to_string(&version.files).map_err(|error| DbError::Corrupt {
            id: version.version.clone(),
            message: format!("cannot write the file list as JSON: {error}"),
        })?;
        let result = sqlx::query(
            "INSERT INTO model_versions (version, name, kind, files, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING",
        )
        .bind(&version.version)
        .bind(&version.name)
        .bind(&version.kind)
        .bind(files)
        .bind(&version.added_by)
        .bind(version.added_at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Every version, the newest first.
    pub async fn model_versions(&self) -> Result<Vec<ModelVersion>, DbError> {
        let rows = sqlx::query(
            "SELECT version, name, kind, files, added_by, added_at FROM model_versions \
             ORDER BY added_at DESC, version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_version).collect()
    }

    /// The versions whose hash starts with `prefix` (as git takes a short
    /// commit id).
    pub async fn model_versions_starting(
        &self,
        prefix: &str,
    ) -> Result<Vec<ModelVersion>, DbError> {
        let versions = self.model_versions().await?;
        Ok(versions
            .into_iter()
            .filter(|version| version.version.starts_with(prefix))
            .collect())
    }

    /// Every promotion and rollback, oldest first.
    pub async fn deployments(&self) -> Result<Vec<Deployment>, DbError> {
        let rows = sqlx::query(
            "SELECT seq, version, action, forced, by_actor, at FROM model_deployments ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_deployment).collect()
    }

    /// The version the workers should run, with its files; `None` for the
    /// model they were configured with. One small query: workers ask
    /// before every batch.
    pub async fn live_model(&self) -> Result<Option<ModelVersion>, DbError> {
        self.newest_version_in("model_deployments").await
    }

    /// The version the newest row of `table` names (`model_deployments`,
    /// `model_shadows`: rows never changed, the newest one stands); none
    /// when that row names none.
    pub(super) async fn newest_version_in(
        &self,
        table: &'static str,
    ) -> Result<Option<ModelVersion>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT v.version, v.name, v.kind, v.files, v.added_by, v.added_at \
             FROM {table} t JOIN model_versions v ON v.version = t.version \
             WHERE t.seq = (SELECT MAX(seq) FROM {table})"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_version).transpose()
    }

    /// Makes `version` live, with its audit record, in one transaction.
    pub async fn promote_model(
        &self,
        version: &str,
        forced: bool,
        audit: &AuditEntry,
    ) -> Result<Deployment, DeployError> {
        let mut tx = self.deployment_change().await?;
        ensure_known(&mut tx, version).await?;
        let stack = promoted_stack(&deployments_in(&mut tx).await?);
        if stack.last().cloned().flatten().as_deref() == Some(version) {
            return Err(DeployError::AlreadyLive(version.to_owned()));
        }
        let deployment = self
            .record_deployment(&mut tx, Some(version), DeployAction::Promote, forced, audit)
            .await?;
        tx.commit().await?;
        Ok(deployment)
    }

    /// Goes back to the version live before the current one (or to the
    /// configured model), with its audit record, in one transaction.
    pub async fn roll_back_model(&self, audit: &AuditEntry) -> Result<Deployment, DeployError> {
        let mut tx = self.deployment_change().await?;
        let mut stack = promoted_stack(&deployments_in(&mut tx).await?);
        if stack.pop().is_none() {
            return Err(DeployError::NothingToRollBack);
        }
        let back_to = stack.pop().flatten();
        let audit = audit
            .clone()
            .detail(serde_json::json!({ "back_to": back_to }));
        let deployment = self
            .record_deployment(
                &mut tx,
                back_to.as_deref(),
                DeployAction::Rollback,
                false,
                &audit,
            )
            .await?;
        tx.commit().await?;
        Ok(deployment)
    }

    async fn record_deployment(
        &self,
        tx: &mut Transaction<'static, Any>,
        version: Option<&str>,
        action: DeployAction,
        forced: bool,
        audit: &AuditEntry,
    ) -> Result<Deployment, DeployError> {
        let at = now_millis();
        let row = sqlx::query(
            "INSERT INTO model_deployments (version, action, forced, by_actor, at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(version)
        .bind(action.as_str())
        .bind(i64::from(forced))
        .bind(&audit.actor)
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
        self.append_audit_in(tx, audit).await?;
        Ok(Deployment {
            seq: row.try_get("seq")?,
            version: version.map(str::to_owned),
            action,
            forced,
            by: audit.actor.clone(),
            at,
        })
    }

    /// A transaction that holds the write lock before it reads the stack,
    /// so two admins promoting at once are serialised, not interleaved.
    async fn deployment_change(&self) -> Result<Transaction<'static, Any>, DbError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE model_deployments IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        } else {
            // SQLite takes its write lock at the first write statement,
            // even one that changes nothing.
            sqlx::query("UPDATE model_versions SET name = name WHERE version = ''")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}

/// Refuses a version `adpipe models add` never stored.
pub(super) async fn ensure_known(
    tx: &mut Transaction<'static, Any>,
    version: &str,
) -> Result<(), DeployError> {
    let known = sqlx::query("SELECT version FROM model_versions WHERE version = $1")
        .bind(version)
        .fetch_optional(&mut **tx)
        .await?;
    match known {
        Some(_) => Ok(()),
        None => Err(DeployError::UnknownVersion(version.to_owned())),
    }
}

async fn deployments_in(tx: &mut Transaction<'static, Any>) -> Result<Vec<Deployment>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, version, action, forced, by_actor, at FROM model_deployments ORDER BY seq",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(read_deployment).collect()
}

pub(super) fn read_version(row: &AnyRow) -> Result<ModelVersion, DbError> {
    let files: String = row.try_get("files")?;
    let version: String = row.try_get("version")?;
    Ok(ModelVersion {
        files: serde_json::from_str(&files).map_err(|error| DbError::Corrupt {
            id: version.clone(),
            message: format!("its file list: {error}"),
        })?,
        version,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        added_by: row.try_get("added_by")?,
        added_at: row.try_get("added_at")?,
    })
}

fn read_deployment(row: &AnyRow) -> Result<Deployment, DbError> {
    let action: String = row.try_get("action")?;
    let forced: i64 = row.try_get("forced")?;
    let seq: i64 = row.try_get("seq")?;
    Ok(Deployment {
        seq,
        version: row.try_get("version")?,
        action: match action.as_str() {
            "promote" => DeployAction::Promote,
            "rollback" => DeployAction::Rollback,
            other => {
                return Err(DbError::Corrupt {
                    id: format!("deployment {seq}"),
                    message: format!("unknown action {other}"),
                });
            }
        },
        forced: forced != 0,
        by: row.try_get("by_actor")?,
        at: row.try_get("at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(action: DeployAction, version: Option<&str>) -> Deployment {
        Deployment {
            seq: 0,
            version: version.map(str::to_owned),
            action,
            forced: false,
            by: "cli:test".into(),
            at: 0,
        }
    }

    #[test]
    fn rollbacks_unwind_promotions_in_order() {
        use DeployAction::{Promote, Rollback};
        let rows = [
            deployment(Promote, Some("a")),
            deployment(Promote, Some("b")),
            deployment(Promote, Some("c")),
            deployment(Rollback, Some("b")),
        ];
        assert_eq!(
            promoted_stack(&rows),
            [Some("a".to_owned()), Some("b".to_owned())]
        );
        let more = [
            rows.to_vec(),
            vec![deployment(Rollback, Some("a")), deployment(Rollback, None)],
        ]
        .concat();
        assert!(promoted_stack(&more).is_empty());
    }
}
