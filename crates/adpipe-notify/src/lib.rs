//! Tells a submitter what became of their ad: the email (plain text and
//! HTML) and the SMTP mailer that sends it. The defaults point at a
//! MailHog-style catcher on 127.0.0.1:1025. And tells the site, by signed
//! webhook ([`webhook`]).

mod render;
pub mod signing;
pub mod webhook;

pub use render::{Rendered, render};
pub use webhook::{WebhookConfig, WebhookError, WebhookSender};

use std::time::Duration;

use adpipe_core::{AdId, Status};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How to reach the SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: TlsMode,
    /// `Name <address>`: some catchers (and many spam filters) reject a
    /// bare address.
    pub from: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP, for a catcher on localhost.
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1025,
            username: None,
            password: None,
            tls: TlsMode::None,
            from: "adpipe <noreply@adpipe.localhost>".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid mail setting: {0}")]
    Config(String),
    #[error("invalid recipient {address:?}: {message}")]
    Recipient { address: String, message: String },
    #[error("the SMTP server did not take the email: {0}")]
    Send(String),
}

/// What the submitter is told.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub id: AdId,
    pub to: &'a str,
    pub status: Status,
    pub category: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// When the decision this notice tells of was made (Unix ms): with the
    /// id it names the email, so a resend of the same notice (a worker that
    /// died between sending and recording it) carries the same Message-ID
    /// and mail providers can drop the copy.
    pub decided_at: i64,
    /// Base of the link to the ad, e.g. `https://ads.example.com`.
    pub public_url: &'a str,
    /// A rejection open to appeal: the ad's appeal secret, which the
    /// email's appeal link carries (nobody else is shown it). `None`: no
    /// appeal link (appealed already, or not a rejection).
    pub appeal_secret: Option<&'a str>,
    /// This decision answers the submitter's appeal.
    pub after_appeal: bool,
}

impl Notice<'_> {
    /// The page a person opens: the web page showing the ad's status, not
    /// the JSON of `GET /ads/{id}`.
    pub fn link(&self) -> String {
        format!("{}/?id={}", self.public_url.trim_end_matches('/'), self.id)
    }

    /// The page where the submitter appeals a rejection, once: the status
    /// page with the ad's appeal secret. Only for a rejection open to
    /// appeal.
    pub fn appeal_link(&self) -> Option<String> {
        if self.status != Status::Rejected {
            return None;
        }
        self.appeal_secret.map(|secret| {
            format!(
                "{}/?id={}&appeal={secret}",
                self.public_url.trim_end_matches('/'),
                self.id
            )
        })
    }

    /// `<id.decided_at@domain>`, the domain taken from the sender.
    fn message_id(&self, from: &Mailbox) -> String {
        format!("<{}.{}@{}>", self.id, self.decided_at, from.email.domain())
    }
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    description: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.description)
            .finish()
    }
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = config.from.parse().map_err(|error| {
            NotifyError::Config(format!("from address {:?}: {error}", config.from))
        })?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(config.timeout));
        if config.tls != TlsMode::None {
            let parameters = TlsParameters::new(config.host.clone()).map_err(|error| {
                NotifyError::Config(format!("TLS for {}: {error}", config.host))
            })?;
            builder = builder.tls(match config.tls {
                TlsMode::StartTls => Tls::Required(parameters),
                _ => Tls::Wrapper(parameters),
            });
        }
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            description: format!("{}:{}", config.host, config.port),
        })
    }

    pub fn server(&self) -> &str {
        &self.description
    }

    /// The email of a notice, headers included. A Message-ID is set here:
    /// mail without one is scored as spam by many providers.
    fn message(&self, notice: &Notice<'_>, to: Mailbox) -> Result<Message, NotifyError> {
        let rendered = render(notice);
        Message::builder()
            .message_id(Some(notice.message_id(&self.from)))
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|error| NotifyError::Config(error.to_string()))
    }

    pub async fn send(&self, notice: &Notice<'_>) -> Result<(), NotifyError> {
        let to: Mailbox = notice
            .to
            .parse()
            .map_err(
                |error: lettre::address::AddressError| NotifyError::Recipient {
                    address: notice.to.to_owned(),
                    message: error.to_string(),
                },
            )?;
        let message = self.message(notice, to)?;
        self.transport
            .send(message)
            .await
            .map_err(|error| NotifyError::Send(error.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_email_has_a_message_id_stable_across_resends() {
        let mailer = Mailer::new(&SmtpConfig::default()).expect("mailer");
        let id = AdId::new();
        let notice = Notice {
            id,
            to: "ana@example.com",
            status: Status::Approved,
            category: Some("car"),
            reason: None,
            decided_at: 1_764_547_200_000,
            public_url: "http://localhost:8080",
            appeal_secret: None,
            after_appeal: false,
        };
        let to: Mailbox = "ana@example.com".parse().expect("address");
        let header = |message: &Message| {
            message
                .headers()
                .get_raw("Message-ID")
                .map(str::to_owned)
                .expect("a Message-ID header")
        };
        let first = mailer.message(&notice, to.clone()).expect("message");
        let again = mailer.message(&notice, to.clone()).expect("message");
        assert_eq!(
            header(&first),
            format!("<{id}.1764547200000@adpipe.localhost>")
        );
        assert_eq!(header(&first), header(&again), "a resend is the same email");
        let redecided = Notice {
            decided_at: notice.decided_at + 1,
            ..notice
        };
        let other = mailer.message(&redecided, to).expect("message");
        assert_ne!(
            header(&first),
            header(&other),
            "a new decision is a new email"
        );
    }
}
