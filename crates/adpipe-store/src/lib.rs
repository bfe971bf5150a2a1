//! Where ads live: the database (SQLite or PostgreSQL) and the image blobs
//! (local disk or any object store).

pub mod blobs;
pub mod db;

pub use blobs::{BlobError, Blobs, S3Config};
pub use db::{
    AdRecord, Backend, Database, DbError, HistoryEntry, Moderated, Moderation, NewAd,
    WebhookDelivery, now_millis,
};
