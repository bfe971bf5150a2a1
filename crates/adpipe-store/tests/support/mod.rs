//! What the store's test binaries share: a database of their own on the
//! machine's PostgreSQL, dropped at the end.
//!
//! PostgreSQL comes from `ADPIPE_TEST_POSTGRES_URL` (default
//! postgres://postgres@127.0.0.1:5432/test); when it cannot be reached the
//! test fails, it does not skip.

use adpipe_core::AdId;
use sqlx::Connection;

/// A fresh, empty database: the connection that made it (to drop it), its
/// name and its URL.
pub async fn fresh_postgres(prefix: &str) -> (sqlx::PgConnection, String, String) {
    let admin_url = std::env::var("ADPIPE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("{prefix}_{}", AdId::new().to_string().replace('-', ""));
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| {
            panic!("PostgreSQL at {admin_url} is needed for this test: {error}")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("{admin_url} names no database"),
    };
    (admin, name, url)
}

pub async fn drop_postgres(mut admin: sqlx::PgConnection, name: &str) {
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop");
}
