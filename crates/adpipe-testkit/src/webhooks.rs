//! A webhook receiver for the tests: a port of its own, every request kept.
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Adpipe-Delivery` (deprecated; the same as `webhook-id`).
    pub delivery: String,
    /// `X-Adpipe-Signature` (deprecated: the body alone).
    pub signature: String,
    /// Every header as it came, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub answered: u16,
    /// The receiver's clock when it came (Unix seconds).
    pub received_at: i64,
}

impl Received {
    /// The value of the header `name` (any case); empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    }

    /// Whether the Standard Webhooks headers (`webhook-id`,
    /// `webhook-timestamp`, `webhook-signature`) verify with `secret`, as
    /// the receiver checked them when the request came.
    pub fn verify_standard(&self, secret: &str) -> Result<(), adpipe_notify::webhook::VerifyError> {
        adpipe_notify::webhook::verify_standard(
            secret,
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            self.header("webhook-signature"),
            self.body.as_bytes(),
            self.received_at,
            adpipe_notify::webhook::TOLERANCE,
        )
    }

    /// The body's `event` and `id` (the ad).
    pub fn event_and_ad(&self) -> (String, String) {
        let body: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
        (field("event"), field("id"))
    }
}

pub type Log = Arc<Mutex<Vec<Received>>>;

/// Listens on `http://127.0.0.1:PORT{path}` and answers the n-th request
/// (from 0) with the status `answer(n)`. Returns the URL and the log.
pub async fn receiver(path: &str, answer: fn(usize) -> u16) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}{path}", listener.local_addr().expect("addr"));
    let seen: Log = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve_one(stream, log.clone(), answer));
        }
    });
    (url, seen)
}

async fn serve_one(mut stream: TcpStream, log: Log, answer: fn(usize) -> u16) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body_start) = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&buffer[..end]).to_string(), end + 4);
        }
    };
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    while buffer.len() < body_start + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[body_start..body_start + length]).to_string();
    let received_at = adpipe_notify::webhook::unix_now();
    let answered = {
        let mut log = log.lock().expect("log");
        let answered = answer(log.len());
        log.push(Received {
            delivery: header("x-adpipe-delivery"),
            signature: header("x-adpipe-signature"),
            headers: headers.clone(),
            body,
            answered,
            received_at,
        });
        answered
    };
    let reason = if answered == 200 { "OK" } else { "Refused" };
    let reply =
        format!("HTTP/1.1 {answered} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(reply.as_bytes()).await.ok();
}
