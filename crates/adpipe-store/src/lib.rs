//! Where ads live: the database (SQLite or PostgreSQL) and the image blobs
//! (local disk or any object store), and the model versions workers run.

pub mod blobs;
pub mod db;
pub mod model_files;
pub mod prune;

pub use blobs::{BlobError, Blobs, S3Config, caused_by_full_disk};
pub use db::{APPELLANT, Appealed};
pub use db::{
    Account, AccountChange, AccountWithHash, AdRecord, AuditEntry, AuditFilter, AuditRecord,
    Backend, ClaimOutcome, Database, DbError, HistoryEntry, Moderated, Moderation, NewAccount,
    NewAd, TokenCreated, TokenHolder, TokenInfo, WebhookDelivery, now_millis,
};
pub use db::{
    DeployAction, DeployError, Deployment, ModelVersion, ShadowAgreement, ShadowRow,
    promoted_stack, shadow_report,
};
pub use model_files::{
    ModelFile, ModelFilesError, fetch_model, get_model_file, get_model_files, put_model_files,
    version_of,
};
pub use prune::{ORPHAN_MIN_AGE, PruneError, Pruned, prune_orphan_images};
