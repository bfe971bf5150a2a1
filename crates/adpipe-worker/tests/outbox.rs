//! The outbox's promises, checked once for every channel (email through
//! the SMTP catcher of scripts/dev-services.sh, webhooks to a receiver) on
//! both databases (a SQLite file, a fresh database on the machine's
//! PostgreSQL; without either service the test fails):
//!
//! - a worker that dies after the receiver took a message and before the
//!   answer came back loses nothing: after a restart, once the lease runs
//!   out, the message goes out again under the same id (Message-ID,
//!   `webhook-id`), so a receiver can drop the copy — at least once;
//! - deciding goes on while no receiver answers;
//! - once the receiver answers, everything owed is delivered and recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpipe_core::{AdId, AdText, DecidedBy, Decision, Email, Status, Tag};
use adpipe_notify::{Mailer, SmtpConfig, WebhookConfig, WebhookSender};
use adpipe_store::{Blobs, Database, NewAd};
use adpipe_testkit::{Catcher, HoldingProxy, drop_postgres, fresh_postgres, webhooks};
use adpipe_worker::outbox::{self, Channel, EmailChannel, Settings, WebhookChannel};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Short leases, so a dead worker's messages come back within the test.
/// Two at a time: some in flight when the worker dies, some not yet
/// claimed; and the SMTP catcher serves four sessions at once, which the
/// tests running beside this one need too.
const SETTINGS: Settings = Settings {
    batch: 2,
    lease: Duration::from_secs(2),
    idle_poll: Duration::from_millis(100),
};

/// A channel's far end as the test sees it.
trait Receiver {
    type Channel: Channel;
    /// What a client sends before the receiver's answer that the proxy
    /// loses: the end of an SMTP message, the end of an HTTP request's head.
    const MARKER: &'static [u8];
    /// Where the receiver listens.
    fn address(&self) -> SocketAddr;
    /// The channel, sending through `via`.
    fn channel(&self, via: SocketAddr) -> Self::Channel;
    /// Each copy of `ad`'s message that arrived, by the id it carried.
    async fn copies(&self, ad: AdId, domain: &str) -> Vec<String>;
}

struct SmtpCatcher {
    catcher: Catcher,
}

impl Receiver for SmtpCatcher {
    type Channel = EmailChannel;
    const MARKER: &'static [u8] = b"\r\n.\r\n";

    fn address(&self) -> SocketAddr {
        std::env::var("ADPIPE_TEST_SMTP")
            .unwrap_or_else(|_| "127.0.0.1:1025".into())
            .parse()
            .expect("ADPIPE_TEST_SMTP: host:port")
    }

    fn channel(&self, via: SocketAddr) -> EmailChannel {
        let mailer = Mailer::new(&SmtpConfig {
            host: via.ip().to_string(),
            port: via.port(),
            // Longer than the test waits for an answer the proxy lost.
            timeout: Duration::from_secs(120),
            ..SmtpConfig::default()
        })
        .expect("mailer");
        EmailChannel::new(mailer, "http://127.0.0.1:8080".into())
    }

    async fn copies(&self, ad: AdId, domain: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for message in self.catcher.messages_to(&address(ad, domain)).await {
            let id = self.catcher.message_id_header(&message["id"]).await;
            ids.push(id.expect("every email has a Message-ID"));
        }
        ids
    }
}

struct WebhookReceiver {
    address: SocketAddr,
    log: webhooks::Log,
}

impl WebhookReceiver {
    async fn start() -> Self {
        let (url, log) = webhooks::receiver("/hooks", |_| 200).await;
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches("/hooks")
            .parse()
            .expect("receiver address");
        Self { address, log }
    }
}

impl Receiver for WebhookReceiver {
    type Channel = WebhookChannel;
    const MARKER: &'static [u8] = b"\r\n\r\n";

    fn address(&self) -> SocketAddr {
        self.address
    }

    fn channel(&self, via: SocketAddr) -> WebhookChannel {
        WebhookChannel::new(
            WebhookSender::new(WebhookConfig {
                url: format!("http://{via}/hooks"),
                secret: String::new(),
                timeout: Duration::from_secs(30),
            })
            .expect("sender"),
        )
    }

    async fn copies(&self, ad: AdId, _domain: &str) -> Vec<String> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|received| received.event_and_ad().1 == ad.to_string())
            .map(|received| received.header("webhook-id").to_owned())
            .collect()
    }
}

fn address(ad: AdId, domain: &str) -> String {
    format!("ad-{ad}@{domain}")
}

/// `count` ads submitted and approved, as a worker records them: each owes
/// its submitter an email and the site a webhook.
async fn decide(db: &Database, count: usize, domain: &str) -> Vec<AdId> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let id = AdId::new();
        db.insert_ad(&NewAd {
            id,
            text: AdText::parse("Red bicycle, barely used").expect("text"),
            email: Email::parse(&address(id, domain)).expect("email"),
            image_key: Blobs::key_for(id, "jpg"),
            content_type: "image/jpeg".into(),
        })
        .await
        .expect("insert");
        ids.push(id);
    }
    db.claim_pending(count as u32, Duration::from_secs(60))
        .await
        .expect("claim");
    let decision = Decision {
        status: Status::Approved,
        category: Some("bicycle".into()),
        score: 0.91,
        reason: None,
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    };
    let tags = [Tag {
        label: "mountain bike".into(),
        confidence: 0.91,
    }];
    let by = DecidedBy {
        model: "efficientnet-lite0".into(),
        policy: "vehicles".into(),
    };
    for id in &ids {
        assert!(
            db.record_decision(*id, &decision, &tags, &by)
                .await
                .expect("record")
        );
    }
    ids
}

async fn connect(url: &str) -> Database {
    Database::connect(url, 4)
        .await
        .expect("database")
        .with_webhooks(true)
}

/// Waits until every ad in `ads` arrived at least `copies` times.
async fn arrived<R: Receiver>(receiver: &R, ads: &[AdId], copies: usize, domain: &str) {
    let started = Instant::now();
    loop {
        let mut missing = 0;
        for ad in ads {
            if receiver.copies(*ad, domain).await.len() < copies {
                missing += 1;
            }
        }
        if missing == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{missing} of {} ads not delivered {copies} time(s) within 60 s",
            ads.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn start<R: Receiver>(
    db: &Database,
    receiver: &R,
    via: SocketAddr,
) -> (tokio::task::JoinHandle<()>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(outbox::run(
        db.clone(),
        receiver.channel(via),
        SETTINGS,
        Arc::new(Notify::new()),
        shutdown.clone(),
    ));
    (task, shutdown)
}

async fn a_dying_worker_loses_nothing<R: Receiver>(url: &str, receiver: &R) {
    let domain = format!("outbox-{}.example.com", &AdId::new().to_string()[..8]);
    let db = connect(url).await;
    let proxy = HoldingProxy::start(receiver.address(), R::MARKER).await;
    let first = decide(&db, 5, &domain).await;

    // The receiver takes what is sent; its answers are lost on the way.
    proxy.hold(true);
    let (dying, _) = start(&db, receiver, proxy.address());
    arrived_any(receiver, &first, &domain).await;
    let second = tokio::time::timeout(Duration::from_secs(10), decide(&db, 3, &domain))
        .await
        .expect("deciding does not wait for a receiver that does not answer");
    // The worker dies with messages in hand, none recorded.
    dying.abort();
    assert!(dying.await.expect_err("aborted").is_cancelled());
    db.close().await;
    // A message the proxy was forwarding when the worker died can still
    // reach the receiver after the abort: counted as not taken, it would
    // arrive once and leave its second copy owed at the end. What arrived
    // is read once nothing more does.
    let mut taken = Vec::new();
    loop {
        let mut now_taken = Vec::new();
        for ad in &first {
            if !receiver.copies(*ad, &domain).await.is_empty() {
                now_taken.push(*ad);
            }
        }
        if !taken.is_empty() && now_taken == taken {
            break;
        }
        taken = now_taken;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A new process; the answers come through again. What the receiver
    // took comes again (nothing recorded it), under the same id.
    let db = connect(url).await;
    proxy.hold(false);
    let (restarted, shutdown) = start(&db, receiver, proxy.address());
    arrived(receiver, &taken, 2, &domain).await;
    arrived(receiver, &first, 1, &domain).await;
    arrived(receiver, &second, 1, &domain).await;
    shutdown.cancel();
    restarted.await.expect("the loop ends cleanly");

    for ad in &taken {
        let copies = receiver.copies(*ad, &domain).await;
        assert!(
            copies.windows(2).all(|pair| pair[0] == pair[1]),
            "{} copies of one message carry one id, so the receiver can drop the second: {copies:?}",
            R::Channel::NAME
        );
    }
    let channel = receiver.channel(proxy.address());
    let owed = channel
        .claim(&db, 100, SETTINGS.lease)
        .await
        .expect("claim");
    assert_eq!(
        owed.len(),
        0,
        "every {} recorded as delivered",
        R::Channel::NAME
    );
    db.close().await;
}

/// Waits until one ad of `ads` at least has arrived.
async fn arrived_any<R: Receiver>(receiver: &R, ads: &[AdId], domain: &str) {
    let started = Instant::now();
    loop {
        for ad in ads {
            if !receiver.copies(*ad, domain).await.is_empty() {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing delivered within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("adpipe-outbox-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite:{}", dir.join("adpipe.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_on_sqlite() {
    let catcher = SmtpCatcher {
        catcher: Catcher::new(),
    };
    a_dying_worker_loses_nothing(&sqlite_url(), &catcher).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_outbox").await;
    let catcher = SmtpCatcher {
        catcher: Catcher::new(),
    };
    a_dying_worker_loses_nothing(&url, &catcher).await;
    drop_postgres(admin, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    let receiver = WebhookReceiver::start().await;
    a_dying_worker_loses_nothing(&sqlite_url(), &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_outbox").await;
    let receiver = WebhookReceiver::start().await;
    a_dying_worker_loses_nothing(&url, &receiver).await;
    drop_postgres(admin, &name).await;
}
