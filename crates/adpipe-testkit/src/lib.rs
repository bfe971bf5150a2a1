//! What the tests of every crate share, in one place instead of a copy per
//! test folder: a PostgreSQL database of its own for each test (the
//! machine's server, never a mock: without it the test fails, it does not
//! skip), and CRC-32, which hand-made PNG files need for their chunks.

mod png;
mod postgres;

pub use png::crc32;
pub use postgres::{drop_postgres, fresh_postgres, postgres_admin_url};
