//! Pages of lists (`limit` in the admin listings and the audit log): the
//! bounds the OpenAPI document states, checked in one place.

use crate::{ApiError, ErrorCode};

const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

/// A page size as asked, or 400 when the document's bounds (1 to 500)
/// do not hold: a client asking for more should know it gets less.
pub(crate) fn page_limit(limit: Option<u64>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=u64::from(MAX_PAGE)).contains(&limit) => Ok(limit as u32),
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidLimit,
            "limit must be between 1 and 500",
        )),
    }
}
