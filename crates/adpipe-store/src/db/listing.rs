//! Pages of ads for the admin API and `adpipe retag`: by status, by
//! creation time, keyset-paginated on the time-ordered ids.

use adpipe_core::{AdId, Status};
use sqlx::Row;

use super::{AdRecord, COLUMNS, Database, DbError, record};

/// Which ads `adpipe retag` looks at: every condition that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct AdFilter {
    /// Empty: every status.
    pub statuses: Vec<Status>,
    /// Created at or after this time (Unix milliseconds).
    pub created_from: Option<i64>,
    /// Created before this time (Unix milliseconds).
    pub created_before: Option<i64>,
}

impl AdFilter {
    /// The conditions as SQL. Only statuses (fixed words) and numbers are
    /// written into it, nothing a user typed.
    fn sql(&self) -> String {
        let mut conditions = vec!["1 = 1".to_owned()];
        if !self.statuses.is_empty() {
            let statuses = self
                .statuses
                .iter()
                .map(|status| format!("'{}'", status.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(format!("status IN ({statuses})"));
        }
        if let Some(from) = self.created_from {
            conditions.push(format!("created_at >= {from}"));
        }
        if let Some(before) = self.created_before {
            conditions.push(format!("created_at < {before}"));
        }
        conditions.join(" AND ")
    }
}

impl Database {
    /// One page of ads, newest first, optionally of one status and one
    /// submitter's address. `before` is the last id of the previous page
    /// (ids are UUIDv7, so they sort by creation time).
    pub async fn list_ads(
        &self,
        status: Option<Status>,
        email: Option<&str>,
        before: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<AdRecord>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ads WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR lower(email) = lower($2)) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(status.map(Status::as_str))
        .bind(email)
        .bind(before.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// How many ads the filter matches.
    pub async fn count_ads(&self, filter: &AdFilter) -> Result<i64, DbError> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM ads WHERE {}",
            filter.sql()
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// One page of the ads the filter matches, oldest first: those after
    /// `after` (the last id of the previous page; ids are UUIDv7, so they
    /// sort by creation time). A keyset, not an offset: rows that change or
    /// vanish between pages neither repeat nor hide others.
    pub async fn ads_after(
        &self,
        filter: &AdFilter,
        after: Option<AdId>,
        limit: u32,
    ) -> Result<Vec<AdRecord>, DbError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM ads WHERE {} AND id > $1 ORDER BY id LIMIT $2",
                    filter.sql()
                ))
                .bind(after.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM ads WHERE {} ORDER BY id LIMIT $1",
                    filter.sql()
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(record).collect()
    }
}
