//! adpipe's domain: what an ad is, what a classifier says about its image,
//! and the policies that turn that into a decision. Pure data and logic, no
//! I/O, so every adapter (tagger, store, queue, api, worker) can share it.

pub mod ad;
pub mod embedding;
pub mod model;
pub mod policy;
pub mod secret;
pub mod tags;
pub mod text_in_image;
pub mod time;

pub use ad::{AdId, AdText, Email, InvalidAdId, InvalidAdText, InvalidEmail, Status};
pub use embedding::Embedding;
pub use model::{ModelKind, ModelSource, RequiredModel, UnknownModelKind};
pub use policy::{
    Band, BoundGate, BoundPolicy, Category, DecidedBy, Decision, Gate, Policy, PolicyError,
    Verdict, moderator_label, short_version,
};
pub use secret::{Secret, SecretUrl, UrlCredentials, redact_url, url_credentials};
pub use tags::{Labels, LabelsError, Tag, top_k};
pub use text_in_image::TextInImage;
