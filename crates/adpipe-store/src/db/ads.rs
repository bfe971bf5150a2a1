//! An ad's row: stored when submitted, read by id, counted, deleted.

use std::str::FromStr;

use adpipe_core::{AdId, Status};
use sqlx::Row;

use super::{AdRecord, COLUMNS, Database, DbError, NewAd, now_millis, record};

impl Database {
    pub async fn insert_ad(&self, ad: &NewAd) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO ads (id, text, email, image_key, content_type, status, created_at, \
                 appeal_secret) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        )
        .bind(ad.id.to_string())
        .bind(ad.text.as_str())
        .bind(ad.email.as_str())
        .bind(&ad.image_key)
        .bind(&ad.content_type)
        .bind(now_millis())
        // The key of the appeal link its rejection email may carry: 122
        // random bits, unlike the id (whose first bits are its time).
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_ad(&self, id: AdId) -> Result<Option<AdRecord>, DbError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| record(&row)).transpose()
    }

    /// Removes the row; returns whether there was one.
    pub async fn delete_ad(&self, id: AdId) -> Result<bool, DbError> {
        let result = sqlx::query("DELETE FROM ads WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Of these image keys, those no ad's row names (at most a few hundred
    /// per call: one query with a placeholder per key).
    pub async fn image_keys_without_ads(&self, keys: &[String]) -> Result<Vec<String>, DbError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=keys.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT image_key FROM ads WHERE image_key IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let named: std::collections::HashSet<String> = rows
            .iter()
            .map(|row| row.try_get("image_key"))
            .collect::<Result<_, _>>()?;
        Ok(keys
            .iter()
            .filter(|key| !named.contains(*key))
            .cloned()
            .collect())
    }

    /// How many ads are in each status.
    pub async fn count_by_status(&self) -> Result<Vec<(Status, i64)>, DbError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM ads GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                let count: i64 = row.try_get("n")?;
                let status = Status::from_str(&status).map_err(|message| DbError::Corrupt {
                    id: String::new(),
                    message,
                })?;
                Ok((status, count))
            })
            .collect()
    }
}
