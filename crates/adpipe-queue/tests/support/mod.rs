//! The tests' side of the broker: their own queues, a plain lapin
//! connection to look at them, and a relay to cut connections with.
//! Shared by several test binaries, each of which uses a part.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adpipe_core::AdId;
use adpipe_core::redact_url;
use adpipe_queue::{AmqpConfig, Consumer, Delivery, Publisher};
use futures_util::FutureExt;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A test's own queues plus a plain lapin connection to inspect them.
pub struct Broker {
    pub config: AmqpConfig,
    connection: Connection,
    /// For everything that cannot fail and close it.
    pub channel: Channel,
}

/// The crate's warnings (reconnects) in a failing test's output.
pub fn log() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "adpipe_queue=debug".into()),
        )
        .try_init();
}

/// Runs `test` against fresh queues, and deletes them whatever happens.
pub async fn with_broker<F, Fut>(test: F)
where
    F: FnOnce(Arc<Broker>) -> Fut,
    Fut: Future<Output = ()>,
{
    log();
    let broker = Arc::new(Broker::connect().await);
    let outcome = AssertUnwindSafe(test(broker.clone())).catch_unwind().await;
    broker.delete_queues().await;
    // Gracefully, or RabbitMQ logs a warning about a vanished client.
    // Gracefully, or RabbitMQ logs a warning about a vanished client. (lapin
    // refuses to close a connection while a dropped channel is still closing,
    // hence the one long-lived channel.)
    if let Err(err) = broker.connection.close(200, "OK".into()).await {
        eprintln!("could not close the test connection: {err}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

impl Broker {
    pub async fn connect() -> Self {
        let url = std::env::var("ADPIPE_TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let connect = Connection::connect(&url, ConnectionProperties::default());
        let connection = match timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(err)) => no_broker(&url, &err.to_string()),
            Err(_) => no_broker(&url, "no answer within 5 s"),
        };
        let channel = connection
            .create_channel()
            .await
            .expect("open a test channel");
        let mut config = AmqpConfig::new(url);
        config.queue = format!("adpipe.test.{}", AdId::new());
        Self {
            config,
            connection,
            channel,
        }
    }

    pub fn dead(&self) -> String {
        format!("{}.dead", self.config.queue)
    }

    /// A channel of its own, for what may fail; close it afterwards.
    pub async fn fresh_channel(&self) -> Channel {
        self.connection
            .create_channel()
            .await
            .expect("open a test channel")
    }

    /// Ready messages, through a passive declare.
    pub async fn depth(&self, queue: &str) -> u32 {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = self
            .channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .unwrap_or_else(|err| panic!("passive declare of {queue}: {err}"));
        queue.message_count()
    }

    /// Queue statistics trail acks and dead-lettering by a moment.
    pub async fn wait_for_depth(&self, queue: &str, expected: u32) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let depth = self.depth(queue).await;
            if depth == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{queue} holds {depth} messages, expected {expected}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn publish_raw(&self, body: &[u8]) {
        self.channel
            .basic_publish(
                "".into(),
                self.config.queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default(),
            )
            .await
            .expect("publish a raw message");
    }

    pub async fn delete_queues(&self) {
        for queue in [self.config.queue.clone(), self.dead()] {
            if let Err(err) = self
                .channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
            {
                eprintln!("could not delete test queue {queue}: {err}");
            }
        }
    }

    pub fn consumer(&self, prefetch: u16) -> Consumer {
        let mut config = self.config.clone();
        config.prefetch = prefetch;
        Consumer::new(config)
    }

    pub async fn publisher(&self) -> Publisher {
        Publisher::connect(self.config.clone())
            .await
            .expect("connect the publisher")
    }
}

fn no_broker(url: &str, why: &str) -> ! {
    panic!(
        "RabbitMQ is not reachable at {} ({why}). These tests need a real broker: start one \
         (e.g. `docker run -d -p 5672:5672 rabbitmq:4`) or point ADPIPE_TEST_AMQP_URL at one.",
        redact_url(url)
    )
}

pub async fn publish_all(publisher: &Publisher, count: usize) -> Vec<AdId> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let id = AdId::new();
        publisher.publish(id).await.expect("publish");
        ids.push(id);
    }
    ids
}

/// Collects `count` deliveries, in batches of at most `max`.
pub async fn receive(consumer: &mut Consumer, count: usize, max: usize) -> Vec<Vec<Delivery>> {
    let mut batches = Vec::new();
    let mut received = 0;
    for _ in 0..20 {
        let batch = consumer
            .next_batch(max, Duration::from_millis(200), Duration::from_secs(2))
            .await;
        assert!(
            batch.len() <= max,
            "a batch of {} with max {max}",
            batch.len()
        );
        received += batch.len();
        if !batch.is_empty() {
            batches.push(batch);
        }
        if received >= count {
            assert_eq!(received, count, "more deliveries than messages");
            return batches;
        }
    }
    panic!("received {received} of {count} messages");
}

pub fn sorted_ids(deliveries: &[Delivery]) -> Vec<AdId> {
    let mut ids: Vec<AdId> = deliveries
        .iter()
        .map(|d| d.ad_id().expect("a valid id"))
        .collect();
    ids.sort();
    ids
}

pub async fn ack_all(deliveries: Vec<Delivery>) {
    for delivery in deliveries {
        delivery.ack().await.expect("ack");
    }
}

/// A TCP relay to the broker whose connections can be cut, as a network
/// failure or a broker restart would.
pub struct Proxy {
    pub url: String,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(broker_url: &str) -> Self {
        let mut uri: AMQPUri = broker_url.parse().expect("the test URL parses");
        let upstream = (uri.authority.host.clone(), uri.authority.port);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr: SocketAddr = listener.local_addr().expect("the proxy's address");
        uri.authority.host = addr.ip().to_string();
        uri.authority.port = addr.port();
        let relays = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let relays = relays.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let upstream = upstream.clone();
                    let relay = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    relays.lock().expect("relays").push(relay);
                }
            }
        });
        Self {
            url: uri.to_string(),
            relays,
            accept,
        }
    }

    pub fn cut(&self) {
        for relay in self.relays.lock().expect("relays").drain(..) {
            relay.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
