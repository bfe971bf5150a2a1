//! What every use of RabbitMQ shares: opening a connection, turning
//! lapin's errors into `QueueError`s without leaking the password, and the
//! reconnect backoff. A connection with its channel and the topology
//! declared is a [`crate::link::Link`].

use std::net::Ipv6Addr;
use std::time::Duration;

use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties, ErrorKind};
use tokio::time::{Instant, timeout_at};

use crate::{AmqpConfig, QueueError, credentials, redact_url};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    Publisher,
    Consumer,
    /// `adpipe migrate`, replacing queues.
    Migration,
}

/// Opens a connection within `deadline`, with an error that says what to
/// check and never shows the password.
pub(crate) async fn connect(
    config: &AmqpConfig,
    role: Role,
    deadline: Instant,
) -> Result<Connection, QueueError> {
    let uri = parse_uri(config)?;
    let properties =
        ConnectionProperties::default().with_connection_name(connection_name(role).into());
    // lapin has no handshake timeout of its own. Abandoning the attempt
    // here leaves its io thread waiting until the peer answers or hangs
    // up, which a broker that is merely slow eventually does.
    let connect = Connection::connect_uri(uri, properties);
    match timeout_at(deadline, connect).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(QueueError::Unavailable(format!(
            "cannot connect to {} ({}); check that RabbitMQ is running and that the \
                 URL and its credentials are right",
            redact_url(&config.url),
            scrub(&err.to_string(), &config.url),
        ))),
        Err(_) => Err(QueueError::Unavailable(format!(
            "no answer from {} within {:?}; check that RabbitMQ is running and reachable",
            redact_url(&config.url),
            config.connect_timeout,
        ))),
    }
}

/// Broker or connection trouble is `Unavailable`; the rest is `Protocol`.
pub(crate) fn error(err: &lapin::Error, config: &AmqpConfig, doing: &str) -> QueueError {
    let text = scrub(&err.to_string(), &config.url);
    if is_connection_error(err) {
        QueueError::Unavailable(format!(
            "{doing}: {text} (RabbitMQ at {})",
            redact_url(&config.url)
        ))
    } else {
        QueueError::Protocol(format!("{doing}: {text}"))
    }
}

pub(crate) fn is_connection_error(err: &lapin::Error) -> bool {
    match err.kind() {
        ErrorKind::IOError(_)
        | ErrorKind::RuntimeShutdownError(_)
        | ErrorKind::InvalidConnectionState(_)
        | ErrorKind::InvalidChannelState(..)
        | ErrorKind::MissingHeartbeatError => true,
        ErrorKind::ProtocolError(_) => err.is_amqp_hard_error(),
        _ => false,
    }
}

fn parse_uri(config: &AmqpConfig) -> Result<AMQPUri, QueueError> {
    let mut uri: AMQPUri = config.url.parse().map_err(|err: String| {
        // amq-protocol-uri quotes the whole URL, password included.
        QueueError::Protocol(format!(
            "{} is not an AMQP URL ({}); expected amqp://user:password@host:5672/%2f",
            redact_url(&config.url),
            scrub(&err, &config.url),
        ))
    })?;
    // amq-protocol-uri takes the host from `Url::domain()`, which is None
    // for an IPv6 literal, and then silently falls back to localhost.
    if let Some(ip) = ipv6_host(&config.url) {
        uri.authority.host = ip.to_string();
    }
    Ok(uri)
}

fn ipv6_host(url: &str) -> Option<Ipv6Addr> {
    let start = match credentials(url) {
        Some(credentials) => credentials.host_start,
        None => url.find("://").map_or(0, |i| i + 3),
    };
    let bracketed = url[start..].strip_prefix('[')?;
    bracketed[..bracketed.find(']')?].parse().ok()
}

/// Removes the URL's password from a text, in case a library quoted it.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redact_url(url));
    if let Some(range) = credentials(url).and_then(|c| c.password) {
        let raw = &url[range];
        for secret in [raw.to_owned(), percent_decode(raw)] {
            if !secret.is_empty() {
                text = text.replace(&secret, "***");
            }
        }
    }
    text
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Shown in the RabbitMQ management UI, so an operator can tell which
/// process holds which connection.
fn connection_name(role: Role) -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "adpipe".to_owned());
    let role = match role {
        Role::Publisher => "publisher",
        Role::Consumer => "consumer",
        Role::Migration => "migration",
    };
    format!("{program} {role} (pid {})", std::process::id())
}

/// Exponential delay between connection attempts: 0.5 s doubling to 30 s,
/// back to 0.5 s after a success.
#[derive(Debug)]
pub(crate) struct Backoff {
    delay: Duration,
    retry_at: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    pub(crate) fn new() -> Self {
        Self {
            delay: Self::FIRST,
            retry_at: None,
        }
    }

    /// Records a failure; returns how long until the next attempt.
    pub(crate) fn failed(&mut self) -> Duration {
        let wait = self.delay;
        self.retry_at = Some(Instant::now() + wait);
        self.delay = (self.delay * 2).min(Self::MAX);
        wait
    }

    pub(crate) fn succeeded(&mut self) {
        *self = Self::new();
    }

    /// When the next attempt may start, if that is still in the future.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.retry_at.filter(|at| *at > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_thirty_seconds_and_resets() {
        let mut backoff = Backoff::new();
        assert!(backoff.retry_at().is_none());
        let waits: Vec<_> = (0..9).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert!(backoff.retry_at().is_some());
        backoff.succeeded();
        assert!(backoff.retry_at().is_none());
        assert_eq!(backoff.failed(), Duration::from_millis(500));
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let url = "amqp://guest:s3cr%40t@host:5672/%2f";
        assert_eq!(
            scrub(&format!("Invalid URL: '{url}'"), url),
            "Invalid URL: 'amqp://guest:***@host:5672/%2f'"
        );
        assert_eq!(scrub("login s3cr@t refused", url), "login *** refused");
    }

    #[test]
    fn bad_url_error_hides_the_password() {
        let config = AmqpConfig::new("amqp://guest:s3cret@host:99999999/%2f");
        let Err(err) = parse_uri(&config) else {
            panic!("port out of range accepted")
        };
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("guest:***@host"), "{text}");
    }

    #[test]
    fn hosts_are_taken_from_the_url() {
        let host = |url: &str| parse_uri(&AmqpConfig::new(url)).map(|uri| uri.authority.host);
        assert_eq!(host("amqp://u:p@10.1.2.3:5672/%2f"), Ok("10.1.2.3".into()));
        assert_eq!(host("amqp://u:p@[::1]:5672/%2f"), Ok("::1".into()));
        assert_eq!(host("amqp://[fd00::7]"), Ok("fd00::7".into()));
        assert_eq!(
            host("amqps://mq.example.com/x"),
            Ok("mq.example.com".into())
        );
    }
}
