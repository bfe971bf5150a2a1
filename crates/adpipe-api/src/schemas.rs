//! Shapes for the OpenAPI document that the handlers build in other ways
//! (a multipart form, JSON made with `json!`, a domain type of adpipe-core,
//! which knows nothing of HTTP). Only the document reads them; the
//! handlers name them in their annotations.

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// The fields of `POST /ads` (multipart/form-data, in any order, each once).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SubmitForm {
    /// The ad's text: 1 to 5000 characters, no control characters but
    /// newlines and tabs; trimmed.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    text: String,
    /// Where the outcome is emailed.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// One JPEG, PNG, WebP, GIF or BMP image, at most `ADPIPE_MAX_IMAGE_BYTES`
    /// (10 MiB) and `ADPIPE_MAX_IMAGE_PIXELS`. The type is read from the
    /// bytes; the file name and part content type are ignored.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// An ad's status.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum StatusName {
    /// Waiting for the model.
    Pending,
    Approved,
    /// Not approved by the policy; see `reason`.
    Rejected,
    /// The model was not sure (or the approval was sampled for quality
    /// control): a person decides.
    InReview,
    /// Could not be processed (an undecodable image, say); see `reason`.
    Failed,
}

/// One label of the classifier.
#[derive(ToSchema)]
#[schema(as = Tag)]
#[allow(dead_code)]
pub(crate) struct TagSchema {
    /// A label of the model's `labels.txt`.
    label: String,
    #[schema(minimum = 0.0, maximum = 1.0)]
    confidence: f32,
}

/// What the ad's text said, when the policy reads texts (`[text]`): for
/// moderators, beside the photo's tags.
#[derive(ToSchema)]
#[schema(as = TextReading)]
#[allow(dead_code)]
pub(crate) struct TextReadingSchema {
    /// The text's best guess: one of the policy's categories, `off_topic`
    /// (something the policy does not publish), or null when the text is
    /// too far from every description to say anything.
    says: Option<String>,
    /// The text's probability per category (they and `off_topic` sum to 1).
    #[schema(value_type = std::collections::HashMap<String, f32>)]
    categories: std::collections::HashMap<String, f32>,
    #[schema(minimum = 0.0, maximum = 1.0)]
    off_topic: f32,
    /// Its best cosine similarity to any category's description (-1 to 1).
    #[schema(minimum = -1.0, maximum = 1.0)]
    best_similarity: f32,
}

/// One line of text read in the ad's photo, when the policy reads photos
/// (`[text_in_image]`): evidence for moderators, never shown to the
/// submitter.
#[derive(ToSchema)]
#[schema(as = TextInImage)]
#[allow(dead_code)]
pub(crate) struct TextInImageSchema {
    /// The line as read (the submitter's photo says it: show it as text).
    text: String,
    #[schema(rename = "box", schema_with = corners)]
    corners: [[f32; 2]; 4],
    /// How sure the reader is, 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0)]
    confidence: f32,
}

/// A line's box: four `[x, y]` points (utoipa's `[[f32; 2]; 4]` would be
/// arrays of any length).
fn corners() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let point = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Number))
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new()
        .items(point)
        .min_items(Some(4))
        .max_items(Some(4))
        .description(Some(
            "Its four corners `[x, y]` in the original photo's pixels, clockwise from the \
             top-left one (a line may be rotated).",
        ))
        .build()
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Readiness {
    /// `ready` or `not_ready`.
    #[schema(example = "ready")]
    status: String,
    /// One entry per dependency: `database`, `blobs`, `queue`, and `model`
    /// where this process runs a worker.
    checks: BTreeMap<String, Check>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Check {
    ok: bool,
    /// What answered, when ok.
    detail: Option<String>,
    /// Why not, otherwise.
    error: Option<String>,
}
