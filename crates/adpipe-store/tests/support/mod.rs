//! What the store's test binaries share: a database of their own on the
//! machine's PostgreSQL, dropped at the end (`adpipe-testkit`).
//!
//! PostgreSQL comes from `ADPIPE_TEST_POSTGRES_URL` (default
//! postgres://postgres@127.0.0.1:5432/test); when it cannot be reached the
//! test fails, it does not skip.
#![allow(unused_imports)]

pub use adpipe_testkit::{drop_postgres, fresh_postgres};
