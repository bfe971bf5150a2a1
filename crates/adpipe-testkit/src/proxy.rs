//! A TCP proxy that can lose a receiver's answers: what a sender sees when
//! its process dies after the receiver took a message and before the
//! answer came back (the receiver has it, the sender never recorded it).
//! Protocol-blind but for one marker: once a connection's client has sent
//! `marker` (the end of an SMTP message's DATA, the end of an HTTP
//! request's headers), the server's answers on it are dropped while the
//! proxy is holding.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct HoldingProxy {
    address: SocketAddr,
    holding: Arc<AtomicBool>,
}

impl HoldingProxy {
    /// Listens on a port of its own and forwards to `target`.
    pub async fn start(target: SocketAddr, marker: &'static [u8]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let holding = Arc::new(AtomicBool::new(false));
        let hold = holding.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, target, marker, hold.clone()));
            }
        });
        Self { address, holding }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// From now on, answers that follow the marker are lost (`true`), or
    /// everything passes (`false`).
    pub fn hold(&self, holding: bool) {
        self.holding.store(holding, Ordering::SeqCst);
    }
}

async fn forward(
    client: TcpStream,
    target: SocketAddr,
    marker: &'static [u8],
    holding: Arc<AtomicBool>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let marker_sent = Arc::new(AtomicBool::new(false));
    let seen = marker_sent.clone();
    let upstream = async move {
        let mut buffer = [0u8; 8192];
        // The marker may straddle two reads.
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            tail.extend_from_slice(&buffer[..n]);
            if tail.windows(marker.len()).any(|window| window == marker) {
                seen.store(true, Ordering::SeqCst);
            }
            let keep = tail.len().saturating_sub(marker.len());
            tail.drain(..keep);
            if to_server.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        to_server.shutdown().await.ok();
    };
    let downstream = async move {
        let mut buffer = [0u8; 8192];
        loop {
            let n = match from_server.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if holding.load(Ordering::SeqCst) && marker_sent.load(Ordering::SeqCst) {
                // Lost on the way: the sender waits for an answer that
                // never comes.
                continue;
            }
            if to_client.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(upstream, downstream);
}
