//! A fresh, empty database per test on the machine's PostgreSQL.

use sqlx::Connection;

/// The server tests make their databases on: `ADPIPE_TEST_POSTGRES_URL`,
/// or postgres://postgres@127.0.0.1:5432/test (the one CI starts).
pub fn postgres_admin_url() -> String {
    std::env::var("ADPIPE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database named `<prefix>_<uuid>` for one test: the connection that
/// made it (to drop it with [`drop_postgres`]), its name and its URL.
/// Without PostgreSQL the test fails with the URL it tried.
pub async fn fresh_postgres(prefix: &str) -> (sqlx::PgConnection, String, String) {
    let admin_url = postgres_admin_url();
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
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

/// Drops a database [`fresh_postgres`] made, connections and all.
pub async fn drop_postgres(mut admin: sqlx::PgConnection, name: &str) {
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}
