//! A generated corpus of hostile and broken requests against the API
//! in-process: every one gets a 4xx with a JSON error body (never a 5xx, a
//! panic or a silent hang-up), and none leaves a row or a file behind.
//!
//! Most requests are written byte by byte over TCP, so nothing between the
//! test and the server tidies them up; a few go through reqwest. The corpus
//! is generated from fixed seeds: every run sends the same bytes.
//!
//! `cargo test -p adpipe-api --test hostile -- --nocapture` prints a table
//! of what was tried and what came back.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use adpipe_api::ApiConfig;
use adpipe_core::AdId;
use adpipe_testkit::crc32;
use serde_json::Value;
use support::{Setup, TestApp, photo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

const MIB: usize = 1024 * 1024;
const MAX_IMAGE_BYTES: usize = MIB;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any one exchange may take before it counts as a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(8);
const BOUNDARY: &str = "hostile-7f3a9c";

// ---------------------------------------------------------------- server

/// The served app and a client that gives up on a hang.
struct Server {
    app: TestApp,
    address: SocketAddr,
    http: reqwest::Client,
}

impl std::ops::Deref for Server {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn start() -> Server {
    let app = TestApp::serve(Setup {
        config: ApiConfig {
            max_image_bytes: MAX_IMAGE_BYTES,
            request_timeout: REQUEST_TIMEOUT,
            rate_limit_per_minute: 0,
            ..ApiConfig::default()
        },
        limits: adpipe_api::ServerLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            ..adpipe_api::ServerLimits::default()
        },
        metrics: None,
        database_url: None,
    })
    .await;
    Server {
        address: app.address.expect("served"),
        app,
        http: reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .build()
            .expect("client"),
    }
}

// ---------------------------------------------------------------- inputs

/// A small xorshift: the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A PNG header claiming `width`×`height`, with a valid CRC; `end` adds an
/// IEND chunk so that only the size is wrong.
fn png_claiming(width: u32, height: u32, end: bool) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    bytes.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    if end {
        bytes.extend_from_slice(&png_chunk(
            b"IDAT",
            &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        bytes.extend_from_slice(&png_chunk(b"IEND", &[]));
    }
    bytes
}

/// Where a JPEG's segment with one of `markers` starts (walking segments).
fn jpeg_segment(bytes: &[u8], markers: &[u8]) -> usize {
    let mut at = 2;
    loop {
        assert_eq!(bytes[at], 0xFF, "a marker at {at}");
        if markers.contains(&bytes[at + 1]) {
            return at;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
}

/// A real, complete JPEG whose frame header claims `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = photo("other/kiwi_fruit.jpg");
    let sof = jpeg_segment(&bytes, &[0xC0, 0xC1, 0xC2]);
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// A complete one-pixel GIF on a logical screen of `width`×`height`.
fn gif_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.extend_from_slice(&width.to_le_bytes());
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&[0x80, 0, 0]); // a 2-colour global table
    bytes.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    bytes.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    bytes.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3B]);
    bytes
}

fn bmp_claiming(width: i32, height: i32) -> Vec<u8> {
    let mut bytes = b"BM".to_vec();
    bytes.extend_from_slice(&70u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&54u32.to_le_bytes());
    bytes.extend_from_slice(&40u32.to_le_bytes());
    bytes.extend_from_slice(&width.to_le_bytes());
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&24u16.to_le_bytes());
    bytes.extend_from_slice(&[0; 24]);
    bytes.extend_from_slice(&[0; 16]);
    bytes
}

fn webp_vp8x_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut chunk = b"VP8X".to_vec();
    chunk.extend_from_slice(&10u32.to_le_bytes());
    chunk.extend_from_slice(&[0; 4]);
    chunk.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    chunk.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
    bytes.extend_from_slice(b"WEBP");
    bytes.extend_from_slice(&chunk);
    bytes
}

// ------------------------------------------------------- building requests

/// One multipart part: its header lines and its body.
fn part(headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut part = Vec::new();
    for header in headers {
        part.extend_from_slice(header);
        part.extend_from_slice(b"\r\n");
    }
    part.extend_from_slice(b"\r\n");
    part.extend_from_slice(body);
    part
}

fn field(name: &str, value: &[u8]) -> Vec<u8> {
    part(
        &[format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes()],
        value,
    )
}

fn file(name: &str, file_name: &[u8], content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut disposition =
        format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"").into_bytes();
    disposition.extend_from_slice(file_name);
    disposition.push(b'"');
    part(
        &[
            &disposition,
            format!("Content-Type: {content_type}").as_bytes(),
        ],
        data,
    )
}

fn image(data: &[u8]) -> Vec<u8> {
    file("image", b"photo.jpg", "image/jpeg", data)
}

/// A multipart body with `boundary`, closed properly.
fn multipart_with(boundary: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn multipart(parts: &[Vec<u8>]) -> Vec<u8> {
    multipart_with(BOUNDARY, parts)
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

const TEXT: &[u8] = b"Blue bike, barely used";
const EMAIL: &[u8] = b"ana@example.com";

/// The three fields, each replaceable.
fn ad(text: &[u8], email: &[u8], image_part: Vec<u8>) -> Vec<u8> {
    multipart(&[field("text", text), field("email", email), image_part])
}

fn head(method: &str, path: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: hostile.test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A POST /ads with a Content-Length that matches the body.
fn post(content_type: Option<&str>, body: Vec<u8>) -> Raw {
    let mut headers = vec![("Content-Length", body.len().to_string())];
    if let Some(content_type) = content_type {
        headers.push(("Content-Type", content_type.to_owned()));
    }
    Raw {
        head: head("POST", "/ads", &headers),
        body: Body::Full(body),
    }
}

fn post_form(body: Vec<u8>) -> Raw {
    post(Some(&form_type()), body)
}

fn get(path: &str) -> Raw {
    Raw {
        head: head("GET", path, &[]),
        body: Body::Full(Vec::new()),
    }
}

// ------------------------------------------------------- sending requests

/// What follows the head on the wire.
enum Body {
    /// All of it, at once.
    Full(Vec<u8>),
    /// This, then zeros until `total` bytes of body were sent (or the
    /// server answered), plain or as HTTP chunks.
    Stream {
        prefix: Vec<u8>,
        total: usize,
        chunked: bool,
    },
    /// This, then nothing more while the connection stays open.
    Stall(Vec<u8>),
    /// This, then the client closes its sending side.
    HalfClose(Vec<u8>),
}

struct Raw {
    head: Vec<u8>,
    body: Body,
}

enum Send {
    Raw(Raw),
    Reqwest(reqwest::Request),
}

/// What a case must get.
#[derive(Clone, Copy)]
enum Expect {
    /// A 4xx with a JSON error, whose code is one of these (any if empty).
    Refused(&'static [&'static str]),
    /// A 408 `request_timeout` JSON error.
    TimedOut,
    /// A 4xx JSON error, or the connection closed without a reset.
    RefusedOrClosed,
    /// Refused with this status by hyper's HTTP/1 parser, before any
    /// application code runs: its answers carry no body (hyper offers no
    /// hook to write one), so only the status and a clean close are judged.
    Parser(u16),
}

const ANY: Expect = Expect::Refused(&[]);

struct Case {
    category: &'static str,
    name: String,
    send: Send,
    expect: Expect,
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Reads until `buffer` holds `want` bytes; false on EOF.
async fn fill(
    reader: &mut OwnedReadHalf,
    buffer: &mut Vec<u8>,
    want: usize,
) -> Result<bool, String> {
    while buffer.len() < want {
        let read = reader
            .read_buf(buffer)
            .await
            .map_err(|error| format!("{error} after {} bytes", buffer.len()))?;
        if read == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn read_answer(reader: &mut OwnedReadHalf) -> Result<Answer, String> {
    let mut buffer = Vec::new();
    loop {
        let Some(end) = find(&buffer, b"\r\n\r\n") else {
            let read = reader
                .read_buf(&mut buffer)
                .await
                .map_err(|error| format!("{error} after {} bytes", buffer.len()))?;
            if read == 0 {
                return Err(if buffer.is_empty() {
                    "closed without a response".into()
                } else {
                    format!(
                        "closed inside the response head: {:?}",
                        String::from_utf8_lossy(&buffer)
                    )
                });
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {head:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        buffer.drain(..end + 4);
        if (100..200).contains(&status) {
            continue;
        }
        let content_type = header("content-type").unwrap_or_default();
        let body = if let Some(length) = header("content-length") {
            let length: usize = length.parse().map_err(|_| "a bad Content-Length")?;
            if !fill(reader, &mut buffer, length).await? {
                return Err(format!("{status}: closed inside the body"));
            }
            buffer[..length].to_vec()
        } else if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                while find(&buffer, b"\r\n").is_none() {
                    let want = buffer.len() + 1;
                    if !fill(reader, &mut buffer, want).await? {
                        return Err(format!("{status}: closed inside a chunk"));
                    }
                }
                let line = find(&buffer, b"\r\n").expect("a line");
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&buffer[..line])
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .trim(),
                    16,
                )
                .map_err(|_| "a bad chunk size")?;
                if !fill(reader, &mut buffer, line + 2 + size + 2).await? {
                    return Err(format!("{status}: closed inside a chunk"));
                }
                body.extend_from_slice(&buffer[line + 2..line + 2 + size]);
                buffer.drain(..line + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            reader
                .read_to_end(&mut buffer)
                .await
                .map_err(|error| format!("{status}: {error} inside the body"))?;
            std::mem::take(&mut buffer)
        };
        return Ok(Answer {
            status,
            content_type,
            body,
        });
    }
}

async fn exchange_raw(address: SocketAddr, raw: Raw) -> Result<Answer, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let (mut reader, mut writer) = stream.into_split();
    // Write and read at once: the server may answer (and stop reading)
    // before the body is all sent.
    let writing = tokio::spawn(async move {
        let _ = async {
            writer.write_all(&raw.head).await?;
            match raw.body {
                Body::Full(bytes) | Body::Stall(bytes) => writer.write_all(&bytes).await?,
                Body::HalfClose(bytes) => {
                    writer.write_all(&bytes).await?;
                    writer.shutdown().await?;
                }
                Body::Stream {
                    prefix,
                    total,
                    chunked,
                } => {
                    let block = vec![0u8; 64 * 1024];
                    let mut pieces = vec![prefix];
                    let mut sent = pieces[0].len();
                    loop {
                        for piece in pieces.drain(..) {
                            if chunked {
                                writer
                                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                                    .await?;
                            }
                            writer.write_all(&piece).await?;
                            if chunked {
                                writer.write_all(b"\r\n").await?;
                            }
                        }
                        if sent >= total {
                            break;
                        }
                        let n = block.len().min(total - sent);
                        pieces.push(block[..n].to_vec());
                        sent += n;
                    }
                    if chunked {
                        writer.write_all(b"0\r\n\r\n").await?;
                    }
                }
            }
            Ok::<_, std::io::Error>(())
        }
        .await;
        // Dropping the write half would close the connection (the server
        // then drops the request): hold it until the answer is read.
        std::future::pending::<()>().await;
        drop(writer);
    });
    let answer = tokio::time::timeout(ANSWER_WITHIN, read_answer(&mut reader))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {ANSWER_WITHIN:?}")));
    writing.abort();
    answer
}

async fn exchange(server: &Server, send: Send) -> Result<Answer, String> {
    match send {
        Send::Raw(raw) => exchange_raw(server.address, raw).await,
        Send::Reqwest(request) => {
            let response = server
                .http
                .execute(request)
                .await
                .map_err(|error| format!("reqwest: {error:?}"))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response
                .bytes()
                .await
                .map_err(|error| format!("reqwest body: {error}"))?;
            Ok(Answer {
                status,
                content_type,
                body: body.to_vec(),
            })
        }
    }
}

/// The JSON error code of a 4xx, or why the answer is not acceptable.
fn judge(answer: &Result<Answer, String>, expect: Expect) -> Result<String, String> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(reason)
            if matches!(expect, Expect::RefusedOrClosed)
                && reason == "closed without a response" =>
        {
            return Ok("(closed)".into());
        }
        Err(reason) => return Err(format!("no response: {reason}")),
    };
    let shown = || {
        let text = String::from_utf8_lossy(&answer.body);
        let text: String = text.chars().take(300).collect();
        format!(
            "{} content-type {:?} body {text:?}",
            answer.status, answer.content_type
        )
    };
    if !(400..500).contains(&answer.status) {
        return Err(format!("not a 4xx: {}", shown()));
    }
    if let Expect::Parser(status) = expect {
        return if answer.status == status && answer.body.is_empty() {
            Ok(format!("{status} (HTTP parser)"))
        } else {
            Err(format!("expected hyper's bodiless {status}: {}", shown()))
        };
    }
    if matches!(expect, Expect::TimedOut) && answer.status != 408 {
        return Err(format!("expected 408: {}", shown()));
    }
    if !answer.content_type.starts_with("application/json") {
        return Err(format!("not JSON: {}", shown()));
    }
    let body: Value =
        serde_json::from_slice(&answer.body).map_err(|_| format!("not JSON: {}", shown()))?;
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    if code.is_empty() || message.is_empty() {
        return Err(format!("no error.code and error.message: {}", shown()));
    }
    match expect {
        Expect::Refused(codes) if !codes.is_empty() && !codes.contains(&code) => {
            Err(format!("expected one of {codes:?}: {}", shown()))
        }
        Expect::TimedOut if code != "request_timeout" => {
            Err(format!("expected request_timeout: {}", shown()))
        }
        _ => Ok(format!("{} {code}", answer.status)),
    }
}

// ------------------------------------------------------------- the corpus

#[derive(Default)]
struct Corpus {
    cases: Vec<Case>,
}

impl Corpus {
    fn raw(&mut self, category: &'static str, name: impl Into<String>, raw: Raw, expect: Expect) {
        self.cases.push(Case {
            category,
            name: name.into(),
            send: Send::Raw(raw),
            expect,
        });
    }

    fn reqwest(
        &mut self,
        category: &'static str,
        name: impl Into<String>,
        request: reqwest::Request,
        expect: Expect,
    ) {
        self.cases.push(Case {
            category,
            name: name.into(),
            send: Send::Reqwest(request),
            expect,
        });
    }
}

const CORRUPT: Expect = Expect::Refused(&["image_corrupt"]);
const UNSUPPORTED: Expect = Expect::Refused(&["image_unsupported_type"]);
const NOT_AN_IMAGE_OR_BROKEN: Expect =
    Expect::Refused(&["image_corrupt", "image_too_large", "image_unsupported_type"]);
const TOO_LARGE_OR_CORRUPT: Expect = Expect::Refused(&["image_too_large", "image_corrupt"]);
const TOO_BIG_A_BODY: Expect = Expect::Refused(&["payload_too_large", "image_too_many_bytes"]);
const MULTIPART: Expect = Expect::Refused(&[
    "malformed_multipart",
    "expected_multipart",
    "missing_field",
    "unknown_field",
]);
const ID: Expect = Expect::Refused(&["invalid_id", "not_found", "bad_request"]);

fn images(corpus: &mut Corpus) {
    // Truncated real photos: a JPEG or a PNG cut anywhere.
    for name in [
        "other/kiwi_fruit.jpg",
        "vehicle/car_rear_motionblur.jpg",
        "other/grace_hopper.jpg",
        "other/honey_bee_flower.jpg",
        "other/cat_chelsea.png",
        "other/tulips.png",
    ] {
        let bytes = photo(name);
        let len = bytes.len();
        let header = if name.ends_with(".jpg") {
            jpeg_segment(&bytes, &[0xDA]) + 14
        } else {
            33
        };
        for cut in [12, header, len / 10, len / 2, len * 9 / 10, len - 1] {
            corpus.raw(
                "truncated photo",
                format!("{name} cut at {cut} of {len}"),
                post_form(ad(TEXT, EMAIL, image(&bytes[..cut]))),
                CORRUPT,
            );
        }
    }

    // Bit flips where a header check must notice them: the magic bytes,
    // a PNG's IHDR (CRC-protected), a JPEG's end-of-image marker.
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let jpegs = ["other/lion.jpg", "other/quokka.jpg", "other/squirrel.jpg"];
    let pngs = ["other/cat_chelsea.png", "other/coffee_cup.png"];
    for round in 0..32 {
        let (name, region, expect): (&str, std::ops::Range<usize>, Expect) = match round % 4 {
            0 => (jpegs[rng.below(jpegs.len())], 0..3, UNSUPPORTED),
            1 => (pngs[rng.below(pngs.len())], 0..8, UNSUPPORTED),
            2 => (pngs[rng.below(pngs.len())], 8..33, TOO_LARGE_OR_CORRUPT),
            _ => {
                let name = jpegs[rng.below(jpegs.len())];
                let len = photo(name).len();
                (name, len - 2..len, CORRUPT)
            }
        };
        let mut bytes = photo(name);
        let at = region.start + rng.below(region.len());
        let bit = rng.below(8);
        bytes[at] ^= 1 << bit;
        corpus.raw(
            "bit-flipped photo",
            format!("{name}: bit {bit} of byte {at}"),
            post_form(ad(TEXT, EMAIL, image(&bytes))),
            expect,
        );
    }

    // Decompression bombs: huge sizes in small files.
    let too_large = Expect::Refused(&["image_too_large"]);
    for (name, bytes, expect) in [
        (
            "png 30000×30000, header only",
            png_claiming(30_000, 30_000, false),
            too_large,
        ),
        (
            "png 30000×30000, complete",
            png_claiming(30_000, 30_000, true),
            too_large,
        ),
        ("png 100000×1", png_claiming(100_000, 1, true), too_large),
        ("png 1×100000", png_claiming(1, 100_000, true), too_large),
        (
            "png 4294967295²",
            png_claiming(u32::MAX, u32::MAX, true),
            too_large,
        ),
        ("jpeg 65000×65000", jpeg_claiming(65_000, 65_000), too_large),
        ("jpeg 20000×20000", jpeg_claiming(20_000, 20_000), too_large),
        ("jpeg 65535×1", jpeg_claiming(65_535, 1), too_large),
        ("gif 65535×65535", gif_claiming(65_535, 65_535), too_large),
        ("gif 16385×1", gif_claiming(16_385, 1), too_large),
        (
            "bmp 100000×100000",
            bmp_claiming(100_000, 100_000),
            TOO_LARGE_OR_CORRUPT,
        ),
        (
            "bmp 20000×-20000",
            bmp_claiming(20_000, -20_000),
            TOO_LARGE_OR_CORRUPT,
        ),
        (
            "webp 16777216²",
            webp_vp8x_claiming(1 << 24, 1 << 24),
            TOO_LARGE_OR_CORRUPT,
        ),
    ] {
        corpus.raw(
            "decompression bomb",
            name,
            post_form(ad(TEXT, EMAIL, image(&bytes))),
            expect,
        );
    }

    // Not images at all, whatever they are called.
    let others: Vec<(&str, Vec<u8>)> = vec![
        (
            "plain text",
            b"Honestly a photo of my bike, trust me".to_vec(),
        ),
        (
            "svg",
            br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>"#.to_vec(),
        ),
        (
            "svg with xml prolog",
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        (
            "html",
            b"<!doctype html><script>alert(document.cookie)</script>".to_vec(),
        ),
        (
            "pdf",
            b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF".to_vec(),
        ),
        (
            "zip",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload.exe".to_vec(),
        ),
        (
            "elf",
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec(),
        ),
        (
            "windows exe",
            b"MZ\x90\x00\x03\x00\x00\x00This program cannot be run in DOS mode".to_vec(),
        ),
        ("tiff", b"II*\x00\x08\x00\x00\x00\x00\x00".to_vec()),
        ("ico", b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00".to_vec()),
        (
            "heic",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic".to_vec(),
        ),
        (
            "wav",
            b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00".to_vec(),
        ),
        ("php", b"<?php system($_GET['c']); ?>".to_vec()),
        (
            "json",
            br#"{"image": "data:image/png;base64,iVBORw0KGgo="}"#.to_vec(),
        ),
        ("shell script", b"#!/bin/sh\nrm -rf /\n".to_vec()),
    ];
    for (what, bytes) in &others {
        for (file_name, content_type) in [("photo.jpg", "image/jpeg"), ("image.png", "image/png")] {
            corpus.raw(
                "not an image",
                format!("{what} as {file_name} ({content_type})"),
                post_form(ad(
                    TEXT,
                    EMAIL,
                    file("image", file_name.as_bytes(), content_type, bytes),
                )),
                UNSUPPORTED,
            );
        }
    }

    // Polyglots: an image's magic bytes in front of something else.
    let gif_screen = b"GIF89a\x10\x00\x10\x00\x00\x00\x00".to_vec();
    let mut polyglots: Vec<(&str, Vec<u8>)> = vec![
        (
            "GIF89a + html",
            b"GIF89a<html><script>alert(1)</script></html>".to_vec(),
        ),
        ("GIF89a + js", b"GIF89a=1;alert(document.domain)//".to_vec()),
        ("GIF89a alone", b"GIF89a".to_vec()),
        (
            "GIF87a + junk",
            b"GIF87a\x01\x00\x01\x00junkjunkjunk".to_vec(),
        ),
        (
            "jpeg magic + html",
            b"\xFF\xD8\xFF\xE0<html><script>alert(1)</script>".to_vec(),
        ),
        (
            "png signature + html",
            b"\x89PNG\r\n\x1a\n<script>alert(1)</script>".to_vec(),
        ),
        (
            "webp header + js",
            b"RIFF\x20\x00\x00\x00WEBPalert(1)//alert(1)//".to_vec(),
        ),
        (
            "'BM' text",
            b"BMW X5, 2019, 80000 km, full service history".to_vec(),
        ),
    ];
    let mut screen_and_script = gif_screen;
    screen_and_script.extend_from_slice(b"<script>alert(1)</script>");
    polyglots.push(("gif screen + script", screen_and_script));
    for (what, bytes) in polyglots {
        corpus.raw(
            "polyglot",
            what,
            post_form(ad(TEXT, EMAIL, image(&bytes))),
            NOT_AN_IMAGE_OR_BROKEN,
        );
    }

    // Nothing at all.
    for (file_name, content_type) in [
        ("photo.jpg", "image/jpeg"),
        ("", "application/octet-stream"),
        ("empty.png", "image/png"),
    ] {
        corpus.raw(
            "empty image",
            format!("0 bytes as {file_name:?} ({content_type})"),
            post_form(ad(
                TEXT,
                EMAIL,
                file("image", file_name.as_bytes(), content_type, b""),
            )),
            Expect::Refused(&["image_empty"]),
        );
    }

    // Over the image limit, under the body limit.
    let mut padded_png = photo("other/astronaut_portrait.png");
    padded_png.resize(MAX_IMAGE_BYTES + 1, 0);
    for (what, bytes) in [
        ("1 MiB + 1 of 0xFF", vec![0xFF; MAX_IMAGE_BYTES + 1]),
        ("a real PNG padded to 1 MiB + 1", padded_png),
        ("1 MiB + 200 KiB jpeg-ish", {
            let mut bytes = photo("other/kiwi_fruit.jpg");
            bytes.resize(MAX_IMAGE_BYTES + 200 * 1024, 0x55);
            bytes
        }),
    ] {
        corpus.raw(
            "image over the limit",
            what,
            post_form(ad(TEXT, EMAIL, image(&bytes))),
            Expect::Refused(&["image_too_many_bytes"]),
        );
    }
}

fn bodies(corpus: &mut Corpus) {
    let image_start = {
        let mut prefix = format!("--{BOUNDARY}\r\n").into_bytes();
        prefix.extend_from_slice(&field("text", TEXT));
        prefix.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
        prefix.extend_from_slice(&field("email", EMAIL));
        prefix.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
        prefix.extend_from_slice(&image(b"\xFF\xD8\xFF\xE0"));
        prefix
    };
    let text_start = {
        let mut prefix = format!("--{BOUNDARY}\r\n").into_bytes();
        prefix.extend_from_slice(&field("text", b"a"));
        prefix
    };
    let twenty = 20 * MIB;
    for (what, prefix, length, chunked) in [
        (
            "20 MiB image, Content-Length",
            image_start.clone(),
            Some(twenty.to_string()),
            false,
        ),
        ("20 MiB image, chunked", image_start.clone(), None, true),
        (
            "20 MiB text, Content-Length",
            text_start.clone(),
            Some(twenty.to_string()),
            false,
        ),
        ("20 MiB text, chunked", text_start, None, true),
        (
            "2 MiB image, Content-Length",
            image_start.clone(),
            Some((2 * MIB).to_string()),
            false,
        ),
    ] {
        let mut headers = vec![("Content-Type", form_type())];
        match length {
            Some(length) => headers.push(("Content-Length", length)),
            None => headers.push(("Transfer-Encoding", "chunked".into())),
        }
        let total = if what.starts_with("2 MiB") {
            2 * MIB
        } else {
            twenty
        };
        corpus.raw(
            "body over the limit",
            what,
            Raw {
                head: head("POST", "/ads", &headers),
                body: Body::Stream {
                    prefix,
                    total,
                    chunked,
                },
            },
            Expect::Refused(&["payload_too_large", "image_too_many_bytes", "text_too_long"]),
        );
    }
    // A length no server should believe: refused before any body.
    for length in ["18446744073709551615", "1099511627776"] {
        corpus.raw(
            "body over the limit",
            format!("Content-Length: {length}"),
            Raw {
                head: head(
                    "POST",
                    "/ads",
                    &[
                        ("Content-Type", form_type()),
                        ("Content-Length", length.into()),
                    ],
                ),
                body: Body::Stream {
                    prefix: image_start.clone(),
                    total: 4 * MIB,
                    chunked: false,
                },
            },
            // hyper keeps u64::MAX as a marker and refuses it as a header.
            if length == "18446744073709551615" {
                Expect::Parser(431)
            } else {
                TOO_BIG_A_BODY
            },
        );
    }
}

fn fields(corpus: &mut Corpus) {
    let jpeg = photo("other/kiwi_fruit.jpg");
    let text = || field("text", TEXT);
    let email = || field("email", EMAIL);
    let img = || image(&jpeg);
    let missing = Expect::Refused(&["missing_field"]);
    for (what, parts) in [
        ("no text", vec![email(), img()]),
        ("no email", vec![text(), img()]),
        ("no image", vec![text(), email()]),
        ("no field at all", vec![]),
        ("only an image", vec![img()]),
    ] {
        corpus.raw("missing field", what, post_form(multipart(&parts)), missing);
    }
    let duplicate = Expect::Refused(&["duplicate_field"]);
    for (what, parts) in [
        ("text twice", vec![text(), text(), email(), img()]),
        (
            "email twice",
            vec![text(), email(), field("email", b"bob@example.com"), img()],
        ),
        ("image twice", vec![text(), email(), img(), img()]),
        ("image twice, first", vec![img(), img(), text(), email()]),
    ] {
        corpus.raw(
            "duplicate field",
            what,
            post_form(multipart(&parts)),
            duplicate,
        );
    }
    let unknown = Expect::Refused(&["unknown_field", "malformed_multipart"]);
    for (what, extra) in [
        ("price", field("price", b"12")),
        ("Text (case)", field("Text", TEXT)),
        ("image[]", file("image[]", b"a.jpg", "image/jpeg", &jpeg)),
        ("file", file("file", b"a.jpg", "image/jpeg", &jpeg)),
        ("empty name", field("", b"x")),
        (
            "no name parameter",
            part(&[b"Content-Disposition: form-data"], b"x"),
        ),
        ("a 10 KiB name", field(&"n".repeat(10 * 1024), b"x")),
    ] {
        corpus.raw(
            "unknown field",
            format!("{what}, first"),
            post_form(multipart(&[extra, text(), email(), img()])),
            unknown,
        );
    }
}

fn emails_and_texts(corpus: &mut Corpus, http: &reqwest::Client, base: &str) {
    let jpeg = photo("other/kiwi_fruit.jpg");
    let long_local = format!("{}@example.com", "a".repeat(288));
    let long_domain = format!("ana@{}.com", "b".repeat(2000));
    let emails: Vec<(&str, Vec<u8>)> = vec![
        ("no @", b"ana.example.com".to_vec()),
        ("two @", b"ana@bob@example.com".to_vec()),
        ("a space", b"ana maria@example.com".to_vec()),
        ("a space in the domain", b"ana@exam ple.com".to_vec()),
        ("unicode local part", "ünï@example.com".as_bytes().to_vec()),
        ("unicode domain", "ana@exämple.com".as_bytes().to_vec()),
        ("300 characters", long_local.into_bytes()),
        ("2 KiB (over the field limit)", long_domain.into_bytes()),
        ("no dot in the domain", b"a@b".to_vec()),
        ("display-name form", b"Ana <ana@example.com>".to_vec()),
        ("angle brackets", b"<ana@example.com>".to_vec()),
        ("empty", b"".to_vec()),
        ("only spaces", b"   ".to_vec()),
        ("@ alone", b"@".to_vec()),
        ("no local part", b"@example.com".to_vec()),
        ("no domain", b"ana@".to_vec()),
        ("empty domain label", b"ana@example..com".to_vec()),
        ("leading dot", b".ana@example.com".to_vec()),
        ("hyphen label", b"ana@-example.com".to_vec()),
        (
            "two addresses",
            b"ana@example.com, bob@example.com".to_vec(),
        ),
        (
            "CRLF header injection",
            b"ana@example.com\r\nBcc: all@example.com".to_vec(),
        ),
        (
            "LF header injection",
            b"ana@example.com\nBcc: all@example.com".to_vec(),
        ),
        (
            "CR header injection",
            b"ana@example.com\rBcc: all@example.com".to_vec(),
        ),
        (
            "CRLF in front",
            b"\r\nBcc: all@example.com\r\nana@example.com".to_vec(),
        ),
        (
            "encoded CRLF",
            b"ana@example.com%0d%0aBcc:all@example.com".to_vec(),
        ),
        ("NUL", b"ana@example.com\0".to_vec()),
        ("tab inside", b"ana@exa\tmple.com".to_vec()),
        ("invalid UTF-8", b"ana\xFF@example.com".to_vec()),
        ("overlong UTF-8", b"ana\xC0\xAE@example.com".to_vec()),
    ];
    for (index, (what, email)) in emails.into_iter().enumerate() {
        let expect = Expect::Refused(&["invalid_email", "invalid_utf8"]);
        // Every third through reqwest, the rest byte by byte.
        match (index % 3, String::from_utf8(email.clone())) {
            (0, Ok(email)) => {
                let form = reqwest::multipart::Form::new()
                    .text("text", "Blue bike")
                    .text("email", email)
                    .part(
                        "image",
                        reqwest::multipart::Part::bytes(jpeg.clone()).file_name("photo.jpg"),
                    );
                let request = http
                    .post(format!("{base}/ads"))
                    .multipart(form)
                    .build()
                    .expect("request");
                corpus.reqwest(
                    "invalid email",
                    format!("{what} (reqwest)"),
                    request,
                    expect,
                );
            }
            _ => corpus.raw(
                "invalid email",
                what,
                post_form(ad(TEXT, &email, image(&jpeg))),
                expect,
            ),
        }
    }

    let texts: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty", b"".to_vec(), Expect::Refused(&["invalid_text"])),
        (
            "spaces",
            b"     ".to_vec(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "whitespace mix",
            b" \t\r\n \t".to_vec(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "unicode spaces",
            "\u{3000}\u{00A0}\u{2003}\u{2028}".as_bytes().to_vec(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "5001 characters",
            vec![b'a'; 5001],
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "5001 two-byte characters",
            "é".repeat(5001).into_bytes(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "1 MiB",
            vec![b'a'; MIB],
            Expect::Refused(&["text_too_long", "invalid_text"]),
        ),
        (
            "a NUL",
            b"Bike\0for sale".to_vec(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "terminal escapes",
            b"Bike \x1b[31mred\x1b[0m".to_vec(),
            Expect::Refused(&["invalid_text"]),
        ),
        (
            "a lone continuation byte",
            b"Bike \x80".to_vec(),
            Expect::Refused(&["invalid_utf8"]),
        ),
        (
            "a cut sequence",
            b"Bike \xC3".to_vec(),
            Expect::Refused(&["invalid_utf8"]),
        ),
        (
            "an overlong slash",
            b"Bike \xC0\xAF".to_vec(),
            Expect::Refused(&["invalid_utf8"]),
        ),
        (
            "a surrogate",
            b"Bike \xED\xA0\x80".to_vec(),
            Expect::Refused(&["invalid_utf8"]),
        ),
        (
            "FF FE",
            b"\xFF\xFEB\x00i\x00k\x00e\x00".to_vec(),
            Expect::Refused(&["invalid_utf8"]),
        ),
    ];
    for (what, text, expect) in texts {
        corpus.raw(
            "invalid text",
            what,
            post_form(ad(&text, EMAIL, image(&jpeg))),
            expect,
        );
    }
}

fn file_names(corpus: &mut Corpus) {
    // Hostile names on refused content: refused for the content, and the
    // name is never used (see the accepted list for whole images).
    let text_file = b"not an image at all".to_vec();
    let long_name = "a".repeat(10 * 1024) + ".jpg";
    for name in [
        b"../../etc/passwd".as_slice(),
        b"..\\..\\windows\\win.ini",
        b"/etc/passwd",
        b"C:\\Windows\\System32\\drivers\\etc\\hosts",
        b"....//....//etc/passwd",
        b"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        b"photo.jpg\0.exe",
        b"\0",
        long_name.as_bytes(),
    ] {
        corpus.raw(
            "file name",
            format!("{:?}", String::from_utf8_lossy(&name[..name.len().min(40)])),
            post_form(ad(
                TEXT,
                EMAIL,
                file("image", name, "image/jpeg", &text_file),
            )),
            Expect::Refused(&["image_unsupported_type", "malformed_multipart"]),
        );
    }
    corpus.raw(
        "file name",
        "RFC 5987 filename* traversal",
        post_form(ad(
            TEXT,
            EMAIL,
            part(
                &[
                    b"Content-Disposition: form-data; name=\"image\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd",
                    b"Content-Type: image/jpeg",
                ],
                &text_file,
            ),
        )),
        Expect::Refused(&["image_unsupported_type", "malformed_multipart"]),
    );
}

fn ids(corpus: &mut Corpus, http: &reqwest::Client, base: &str) {
    let v4_upper = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
    let v7 = AdId::new().to_string();
    let no_dashes = v7.replace('-', "");
    let ten_kib = "a".repeat(10 * 1024);
    let hundred_kib = "7".repeat(100 * 1024);
    let ids: Vec<(&str, String)> = vec![
        ("1", "1".into()),
        ("0", "0".into()),
        ("-1", "-1".into()),
        ("NUL", "%00".into()),
        ("..", "..".into()),
        ("encoded ../", "..%2F".into()),
        ("encoded ..", "%2e%2e".into()),
        ("10 KiB", ten_kib),
        ("100 KiB", hundred_kib),
        ("uppercase UUIDv4 (unknown)", v4_upper.into()),
        ("lowercase UUIDv4 (unknown)", v4_upper.to_lowercase()),
        (
            "nil UUID (unknown)",
            "00000000-0000-0000-0000-000000000000".into(),
        ),
        (
            "max UUID (unknown)",
            "ffffffff-ffff-ffff-ffff-ffffffffffff".into(),
        ),
        ("no dashes", no_dashes),
        ("braces", format!("%7B{v7}%7D")),
        ("urn", format!("urn:uuid:{v7}")),
        ("trailing newline", format!("{v7}%0A")),
        ("trailing space", format!("{v7}%20")),
        ("sql injection", "%27%20OR%201%3D1%20--".into()),
        (
            "sql injection, quoted",
            "1%27%3B%20DROP%20TABLE%20ads%3B%20--".into(),
        ),
        ("36 x", "x".repeat(36)),
        ("36 multibyte", "%C3%A9".repeat(18)),
        ("bad percent encoding", "%zz".into()),
        ("encoded invalid UTF-8", "%FF%FE".into()),
        ("a dash too many", format!("{v7}-")),
    ];
    for (index, (what, id)) in ids.iter().enumerate() {
        for suffix in ["", "/image"] {
            if !suffix.is_empty() && index % 3 != 0 {
                continue;
            }
            let path = format!("/ads/{id}{suffix}");
            let name = format!("GET /ads/{{{what}}}{suffix}");
            // Plain ASCII ids also through reqwest, the rest raw (reqwest
            // would resolve dot segments).
            if index % 4 == 1 && !id.contains('.') && id.len() < 100 {
                let request = http.get(format!("{base}{path}")).build().expect("request");
                corpus.reqwest("ad id", format!("{name} (reqwest)"), request, ID);
            } else {
                // hyper refuses a URI over 64 KiB itself.
                let expect = if id.len() > 65_534 {
                    Expect::Parser(414)
                } else {
                    ID
                };
                corpus.raw("ad id", name, get(&path), expect);
            }
        }
    }
    // Beyond what the server reads of a request head.
    corpus.raw(
        "ad id",
        "GET /ads/{1 MiB}",
        get(&format!("/ads/{}", "a".repeat(MIB))),
        Expect::Parser(431),
    );
    corpus.raw("ad id", "GET /ads/../", get("/ads/../"), ANY);
    corpus.raw("ad id", "GET /ads/", get("/ads/"), ANY);
}

fn multipart_structure(corpus: &mut Corpus) {
    let jpeg = photo("other/kiwi_fruit.jpg");
    let good = ad(TEXT, EMAIL, image(&jpeg));
    let cut = |bytes: &[u8], end: usize| bytes[..end].to_vec();

    corpus.raw(
        "malformed multipart",
        "no boundary parameter",
        post(Some("multipart/form-data"), good.clone()),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "empty boundary",
        post(Some("multipart/form-data; boundary="), good.clone()),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "wrong boundary",
        post(
            Some("multipart/form-data; boundary=other-boundary"),
            good.clone(),
        ),
        MULTIPART,
    );
    let closing = find(&good, format!("--{BOUNDARY}--").as_bytes()).expect("closing");
    corpus.raw(
        "malformed multipart",
        "unterminated (no closing boundary)",
        post_form(cut(&good, closing)),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "unterminated inside the image",
        post_form(cut(&good, good.len() / 2)),
        MULTIPART,
    );
    let second = find(&good[10..], format!("--{BOUNDARY}\r\n").as_bytes()).expect("second") + 10;
    corpus.raw(
        "malformed multipart",
        "unterminated inside part headers",
        post_form(cut(&good, second + BOUNDARY.len() + 20)),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "body is the closing boundary only",
        post_form(format!("--{BOUNDARY}--\r\n").into_bytes()),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "empty body",
        post_form(Vec::new()),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "garbage body",
        post_form(b"this is not multipart at all".to_vec()),
        MULTIPART,
    );
    let long_boundary = "b".repeat(8 * 1024);
    corpus.raw(
        "malformed multipart",
        "8 KiB boundary, body uses another",
        post(
            Some(&format!("multipart/form-data; boundary={long_boundary}")),
            good.clone(),
        ),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "a part without Content-Disposition",
        post_form(multipart(&[
            part(&[b"Content-Type: text/plain"], TEXT),
            field("email", EMAIL),
            image(&jpeg),
        ])),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "a header line without a colon",
        post_form(multipart(&[
            part(&[b"Content-Disposition form-data; name=\"text\""], TEXT),
            field("email", EMAIL),
            image(&jpeg),
        ])),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "no blank line after part headers",
        post_form(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\nBike\r\n--{BOUNDARY}--\r\n"
            )
            .into_bytes(),
        ),
        MULTIPART,
    );
    corpus.raw(
        "malformed multipart",
        "a NUL in a part header",
        post_form(multipart(&[
            part(&[b"Content-Disposition: form-data; name=\"te\0xt\""], TEXT),
            field("email", EMAIL),
            image(&jpeg),
        ])),
        MULTIPART,
    );
}

fn content_types(corpus: &mut Corpus, http: &reqwest::Client, base: &str) {
    let jpeg = photo("other/kiwi_fruit.jpg");
    let good = ad(TEXT, EMAIL, image(&jpeg));
    let expected = Expect::Refused(&["expected_multipart"]);
    corpus.raw(
        "content type",
        "application/json",
        post(
            Some("application/json"),
            br#"{"text":"Bike","email":"ana@example.com","image":"/9j/4AAQ"}"#.to_vec(),
        ),
        expected,
    );
    corpus.raw(
        "content type",
        "text/plain",
        post(
            Some("text/plain"),
            b"text=Bike&email=ana@example.com".to_vec(),
        ),
        expected,
    );
    corpus.raw("content type", "none", post(None, good.clone()), expected);
    corpus.raw(
        "content type",
        "form-urlencoded",
        post(
            Some("application/x-www-form-urlencoded"),
            b"text=Bike&email=ana%40example.com&image=x".to_vec(),
        ),
        expected,
    );
    corpus.raw(
        "content type",
        "multipart/mixed with a good body",
        post(
            Some(&format!("multipart/mixed; boundary={BOUNDARY}")),
            good.clone(),
        ),
        expected,
    );
    corpus.raw(
        "content type",
        "image/jpeg with the image as the body",
        post(Some("image/jpeg"), jpeg.clone()),
        expected,
    );
    corpus.raw(
        "content type",
        "text/html with a multipart body",
        post(Some("text/html"), good.clone()),
        expected,
    );
    corpus.raw(
        "content type",
        "garbage",
        post(Some(";;;=== /"), good),
        expected,
    );
    let request = http
        .post(format!("{base}/ads"))
        .json(&serde_json::json!({"text": "Bike", "email": "ana@example.com"}))
        .build()
        .expect("request");
    corpus.reqwest("content type", "JSON body (reqwest)", request, expected);
    let request = http
        .post(format!("{base}/ads"))
        .form(&[("text", "Bike"), ("email", "ana@example.com")])
        .build()
        .expect("request");
    corpus.reqwest(
        "content type",
        "urlencoded form (reqwest)",
        request,
        expected,
    );
}

fn methods(corpus: &mut Corpus, http: &reqwest::Client, base: &str) {
    let id = AdId::new();
    for (method, path) in [
        ("PUT", "/ads".to_owned()),
        ("DELETE", "/ads".to_owned()),
        ("PATCH", "/ads".to_owned()),
        ("GET", "/ads".to_owned()),
        ("OPTIONS", "/ads".to_owned()),
        ("TRACE", "/ads".to_owned()),
        ("POST", format!("/ads/{id}")),
        ("PUT", format!("/ads/{id}")),
        ("DELETE", format!("/ads/{id}")),
        ("POST", format!("/ads/{id}/image")),
        ("BREW", "/ads".to_owned()),
        ("POST", "/ads/".to_owned()),
        ("POST", "/ADS".to_owned()),
        ("POST", "/admin/ads".to_owned()),
    ] {
        let name = format!("{method} {path}");
        let expect = Expect::Refused(&["method_not_allowed", "not_found", "bad_request"]);
        if method == "PATCH" || method == "DELETE" {
            let request = http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{base}{path}"),
                )
                .body("x")
                .build()
                .expect("request");
            corpus.reqwest("method", format!("{name} (reqwest)"), request, expect);
        } else {
            corpus.raw(
                "method",
                name,
                Raw {
                    head: head(
                        method,
                        &path,
                        &[
                            ("Content-Type", form_type()),
                            ("Content-Length", "0".into()),
                        ],
                    ),
                    body: Body::Full(Vec::new()),
                },
                expect,
            );
        }
    }
}

fn slow_and_framing(corpus: &mut Corpus) {
    let jpeg = photo("other/kiwi_fruit.jpg");
    let good = ad(TEXT, EMAIL, image(&jpeg));
    let declared = vec![
        ("Content-Type", form_type()),
        ("Content-Length", good.len().to_string()),
    ];
    for (what, sent) in [
        ("headers only", 0),
        ("inside the first part's headers", 40),
        ("inside the image", good.len() / 2),
        // Complete as multipart (the close delimiter needs no CRLF after
        // it), incomplete as HTTP: the declared length never arrives.
        ("before the final CRLF", good.len() - 2),
    ] {
        corpus.raw(
            "slow body",
            format!("stalls {what}"),
            Raw {
                head: head("POST", "/ads", &declared),
                body: Body::Stall(good[..sent].to_vec()),
            },
            Expect::TimedOut,
        );
    }
    let chunk = format!("{:x}\r\n", good.len()).into_bytes();
    corpus.raw(
        "slow body",
        "stalls inside a chunk",
        Raw {
            head: head(
                "POST",
                "/ads",
                &[
                    ("Content-Type", form_type()),
                    ("Transfer-Encoding", "chunked".into()),
                ],
            ),
            body: Body::Stall([chunk.as_slice(), &good[..good.len() / 2]].concat()),
        },
        Expect::TimedOut,
    );

    // A request head that never ends (slowloris): the request deadline
    // starts only once the head is in; the server's header-read timeout
    // ends it.
    corpus.raw(
        "slow head",
        "stalls inside the request headers",
        Raw {
            head: b"POST /ads HTTP/1.1\r\nHost: hostile.test\r\nContent-Ty".to_vec(),
            body: Body::Stall(Vec::new()),
        },
        Expect::RefusedOrClosed,
    );

    let length = |length: String| {
        head(
            "POST",
            "/ads",
            &[("Content-Type", form_type()), ("Content-Length", length)],
        )
    };
    corpus.raw(
        "content length",
        "shorter than the body",
        Raw {
            head: length((good.len() / 2).to_string()),
            body: Body::Full(good.clone()),
        },
        MULTIPART,
    );
    corpus.raw(
        "content length",
        "longer than the body, then closed",
        Raw {
            head: length((good.len() + 1000).to_string()),
            body: Body::HalfClose(good.clone()),
        },
        Expect::RefusedOrClosed,
    );
    corpus.raw(
        "content length",
        "longer than the body, then silence",
        Raw {
            head: length((good.len() + 1000).to_string()),
            body: Body::Stall(good.clone()),
        },
        Expect::TimedOut,
    );
    corpus.raw(
        "content length",
        "zero, with a body",
        Raw {
            head: length("0".into()),
            body: Body::Full(good.clone()),
        },
        MULTIPART,
    );
    for (what, headers, expect) in [
        (
            "not a number",
            vec![("Content-Length", "abc".to_owned())],
            Expect::Parser(400),
        ),
        (
            "negative",
            vec![("Content-Length", "-1".to_owned())],
            Expect::Parser(400),
        ),
        (
            "two different lengths",
            vec![
                ("Content-Length", good.len().to_string()),
                ("Content-Length", "10".to_owned()),
            ],
            Expect::Parser(400),
        ),
        (
            "Content-Length and chunked",
            vec![
                ("Content-Length", good.len().to_string()),
                ("Transfer-Encoding", "chunked".to_owned()),
            ],
            ANY,
        ),
    ] {
        let mut headers = headers;
        headers.push(("Content-Type", form_type()));
        corpus.raw(
            "content length",
            what,
            Raw {
                head: head("POST", "/ads", &headers),
                body: Body::Full(good.clone()),
            },
            expect,
        );
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    tried: usize,
    client_errors: usize,
    server_errors: usize,
    other: usize,
    failed: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_corpus_gets_json_4xx_and_leaves_nothing_behind() {
    let started = Instant::now();
    let server = start().await;
    let mut corpus = Corpus::default();
    images(&mut corpus);
    bodies(&mut corpus);
    fields(&mut corpus);
    emails_and_texts(&mut corpus, &server.http, &server.base);
    file_names(&mut corpus);
    ids(&mut corpus, &server.http, &server.base);
    multipart_structure(&mut corpus);
    content_types(&mut corpus, &server.http, &server.base);
    methods(&mut corpus, &server.http, &server.base);
    slow_and_framing(&mut corpus);
    let total = corpus.cases.len();
    assert!(total >= 200, "{total} cases");

    // Requests that wait for the server's deadline run side by side; the
    // rest one after another.
    let (slow, quick): (Vec<Case>, Vec<Case>) = corpus
        .cases
        .into_iter()
        .partition(|case| matches!(case.expect, Expect::TimedOut));
    let mut waiting = tokio::task::JoinSet::new();
    for case in slow {
        let address = server.address;
        waiting.spawn(async move {
            let sent = Instant::now();
            let Send::Raw(raw) = case.send else {
                unreachable!("slow cases are raw")
            };
            let answer = exchange_raw(address, raw).await;
            (
                case.category,
                case.name,
                case.expect,
                answer,
                sent.elapsed(),
            )
        });
    }
    let mut results = Vec::new();
    for case in quick {
        let sent = Instant::now();
        let answer = exchange(&server, case.send).await;
        results.push((
            case.category,
            case.name,
            case.expect,
            answer,
            sent.elapsed(),
        ));
    }
    while let Some(result) = waiting.join_next().await {
        results.push(result.expect("slow case"));
    }

    // ADPIPE_HOSTILE_VERBOSE=1 prints what every case got.
    let verbose = std::env::var_os("ADPIPE_HOSTILE_VERBOSE").is_some();
    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for (category, name, expect, answer, took) in &results {
        let row = tally.entry(category).or_default();
        row.tried += 1;
        match answer {
            Ok(answer) if (400..500).contains(&answer.status) => row.client_errors += 1,
            Ok(answer) if answer.status >= 500 => row.server_errors += 1,
            _ => row.other += 1,
        }
        match judge(answer, *expect) {
            Ok(code) => {
                if verbose || matches!(expect, Expect::TimedOut | Expect::RefusedOrClosed) {
                    eprintln!("{category} / {name}: {code} after {took:.1?}");
                }
            }
            Err(problem) => {
                row.failed += 1;
                failures.push(format!("[{category}] {name}: {problem}"));
            }
        }
    }

    // The server is still there, and kept nothing.
    let alive = server
        .http
        .get(format!("{}/ads/{}", server.base, AdId::new()))
        .send()
        .await
        .expect("the server still answers");
    assert_eq!(alive.status(), 404);
    let rows = server.rows().await;
    let files = server.blob_files();

    eprintln!();
    eprintln!(
        "{:<22} {:>6} {:>6} {:>6} {:>6} {:>7}",
        "category", "tried", "4xx", "5xx", "other", "failed"
    );
    let mut sum = Tally::default();
    for (category, row) in &tally {
        eprintln!(
            "{category:<22} {:>6} {:>6} {:>6} {:>6} {:>7}",
            row.tried, row.client_errors, row.server_errors, row.other, row.failed
        );
        sum.tried += row.tried;
        sum.client_errors += row.client_errors;
        sum.server_errors += row.server_errors;
        sum.other += row.other;
        sum.failed += row.failed;
    }
    eprintln!(
        "{:<22} {:>6} {:>6} {:>6} {:>6} {:>7}",
        "total", sum.tried, sum.client_errors, sum.server_errors, sum.other, sum.failed
    );
    eprintln!(
        "rows left: {rows}, files left: {}, peak RSS (VmHWM): {} MiB, took {:.1?}",
        files.len(),
        peak_rss_kib() / 1024,
        started.elapsed()
    );
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }

    assert!(
        failures.is_empty(),
        "{} of {total} hostile requests were not answered with a JSON 4xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(rows, 0, "no row for a refused request");
    assert!(files.is_empty(), "no file for a refused request: {files:?}");
}

/// What looks odd but is a fine ad: the name and type a client claims are
/// ignored, so these are stored, under the server's own names.
#[tokio::test]
async fn odd_but_valid_submissions_are_accepted_under_server_names() {
    let server = start().await;
    let png = photo("other/cat_chelsea.png");
    let jpeg = photo("other/kiwi_fruit.jpg");
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a PNG named .exe, sent as text/html",
            ad(TEXT, EMAIL, file("image", b"setup.exe", "text/html", &png)),
            "png",
        ),
        (
            "a JPEG named ../../etc/passwd",
            ad(
                TEXT,
                EMAIL,
                file("image", b"../../etc/passwd", "image/jpeg", &jpeg),
            ),
            "jpg",
        ),
        (
            "a JPEG named ..\\..\\win.ini",
            ad(
                TEXT,
                EMAIL,
                file(
                    "image",
                    b"..\\..\\win.ini",
                    "application/octet-stream",
                    &jpeg,
                ),
            ),
            "jpg",
        ),
        (
            "an image part with no file name",
            ad(TEXT, EMAIL, field("image", &jpeg)),
            "jpg",
        ),
        (
            "an address with spaces around it, text with a zero-width space",
            ad(
                "Bike\u{200B} for sale".as_bytes(),
                b"  ana@example.com  ",
                image(&png),
            ),
            "png",
        ),
    ];
    // Multipart part headers have no size limit of their own; the body
    // limit bounds them.
    let mut huge_header = b"X-Padding: ".to_vec();
    huge_header.extend(std::iter::repeat_n(b'p', 256 * 1024));
    cases.push((
        "a 256 KiB header in a part",
        multipart(&[
            part(
                &[
                    &huge_header,
                    b"Content-Disposition: form-data; name=\"text\"",
                ],
                TEXT,
            ),
            field("email", EMAIL),
            image(&jpeg),
        ]),
        "jpg",
    ));
    let accepted = cases.len();
    for (what, body, extension) in cases {
        let answer = exchange_raw(server.address, post_form(body))
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert_eq!(answer.status, 202, "{what}: {text}");
        let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
        let id: AdId = body["id"].as_str().expect("id").parse().expect("uuid");
        let ad = server.db.get_ad(id).await.expect("get").expect("stored");
        assert_eq!(ad.image_key, format!("images/{id}.{extension}"), "{what}");
    }
    assert_eq!(server.rows().await, accepted as i64);
    let files = server.blob_files();
    assert_eq!(files.len(), accepted, "{files:?}");
    assert!(
        files
            .iter()
            .all(|path| path.parent() == Some(&server.dir.join("blobs/images"))),
        "{files:?}"
    );
}
