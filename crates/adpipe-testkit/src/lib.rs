//! What the tests of every crate share, in one place instead of a copy per
//! test folder: a PostgreSQL database of its own for each test (the
//! machine's server, never a mock: without it the test fails, it does not
//! skip), an HTTP client for adpipe's API with one method per endpoint,
//! the SMTP catcher's API, a webhook receiver that keeps every
//! request, a proxy that loses answers (a sender dying mid-delivery),
//! Chromium driven through chromedriver, stopping and starting the
//! machine's RabbitMQ and PostgreSQL (the fault tests), and CRC-32, which
//! hand-made PNG files need for their chunks.

pub mod browser;
mod client;
mod env;
mod mail;
mod png;
mod postgres;
mod proxy;
pub mod services;
pub mod webhooks;

pub use client::{Answer, ApiClient, ad_form};
pub use env::{env_or, free_port};
pub use mail::Catcher;
pub use png::crc32;
pub use postgres::{drop_postgres, fresh_postgres, postgres_admin_url};
pub use proxy::HoldingProxy;
