//! The API in-process on a temporary SQLite file and image folder: what it
//! accepts, what it refuses and why, and that a refused request leaves
//! nothing behind.

mod support;

use adpipe_api::ApiConfig;
use adpipe_core::AdId;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::{Setup, TestApp, photo};

/// The served app and a client for it.
struct Server {
    app: TestApp,
    http: reqwest::Client,
}

impl std::ops::Deref for Server {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn start(config: ApiConfig) -> Server {
    let setup = Setup {
        config,
        limits: adpipe_api::ServerLimits {
            header_read_timeout: std::time::Duration::from_millis(500),
            ..adpipe_api::ServerLimits::default()
        },
        metrics: None,
        database_url: None,
    };
    Server {
        app: TestApp::serve(setup).await,
        http: reqwest::Client::new(),
    }
}

impl Server {
    async fn post(&self, form: Form) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/ads", self.base))
            .multipart(form)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Rows and image files: both must stay at zero after a refusal.
    async fn residue(&self) -> (i64, usize) {
        let rows = self
            .db
            .count_by_status()
            .await
            .expect("count")
            .into_iter()
            .map(|(_, n)| n)
            .sum();
        let files = std::fs::read_dir(self.dir.join("blobs/images"))
            .map(|entries| entries.count())
            .unwrap_or(0);
        (rows, files)
    }
}

fn form(text: &str, email: &str, image: Vec<u8>) -> Form {
    Form::new()
        .text("text", text.to_owned())
        .text("email", email.to_owned())
        .part("image", Part::bytes(image).file_name("photo.jpg"))
}

#[tokio::test]
async fn a_valid_ad_is_stored_pending_under_a_server_chosen_name() {
    let server = start(ApiConfig::default()).await;
    let image = photo("other/cat_chelsea.png");
    let form = Form::new()
        .text("text", "  Cat, friendly  ".to_owned())
        .text("email", "ana@example.com".to_owned())
        // The name and type a client claims are ignored.
        .part(
            "image",
            Part::bytes(image.clone())
                .file_name("../../etc/passwd.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let (status, body) = server.post(form).await;
    assert_eq!(status, 202, "{body}");
    let id: AdId = body["id"].as_str().expect("id").parse().expect("uuid");
    let ad = server.db.get_ad(id).await.expect("get").expect("stored");
    assert_eq!(ad.text, "Cat, friendly");
    assert_eq!(ad.content_type, "image/png");
    assert_eq!(ad.image_key, format!("images/{id}.png"));
    assert_eq!(
        std::fs::read(server.dir.join("blobs").join(&ad.image_key)).expect("blob"),
        image
    );

    let status: Value = server
        .http
        .get(format!("{}/ads/{id}", server.base))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(status["status"], "pending");
    assert_eq!(status["message"], "Your ad is in the review queue");
    assert!(status.get("text").is_none(), "pending ads show no text");
}

#[tokio::test]
async fn bad_submissions_get_a_clear_4xx_and_leave_nothing_behind() {
    let server = start(ApiConfig {
        max_image_bytes: 256 * 1024,
        ..ApiConfig::default()
    })
    .await;
    let jpeg = photo("vehicle/car_rear_motionblur.jpg");
    let mut huge_png_header = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    huge_png_header.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R']);
    huge_png_header.extend_from_slice(&30_000u32.to_be_bytes());
    huge_png_header.extend_from_slice(&30_000u32.to_be_bytes());
    huge_png_header.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "no image",
            Form::new()
                .text("text", "x")
                .text("email", "ana@example.com"),
            400,
            "missing_field",
        ),
        (
            "bad email",
            form("Bike", "not-an-email", jpeg.clone()),
            400,
            "invalid_email",
        ),
        (
            "header injection",
            form(
                "Bike",
                "ana@example.com\r\nBcc: all@example.com",
                jpeg.clone(),
            ),
            400,
            "invalid_email",
        ),
        (
            "empty text",
            form("   ", "ana@example.com", jpeg.clone()),
            400,
            "invalid_text",
        ),
        (
            "text too long",
            form(&"a".repeat(5001), "ana@example.com", jpeg.clone()),
            400,
            "invalid_text",
        ),
        (
            "HTML posing as an image",
            form(
                "Bike",
                "ana@example.com",
                b"<html><script>alert(1)</script>".to_vec(),
            ),
            415,
            "image_unsupported_type",
        ),
        (
            "empty image",
            form("Bike", "ana@example.com", Vec::new()),
            400,
            "image_empty",
        ),
        (
            "decompression bomb",
            form("Bike", "ana@example.com", huge_png_header),
            413,
            "image_too_large",
        ),
        (
            "too many bytes",
            form("Bike", "ana@example.com", vec![0xFF; 300 * 1024]),
            413,
            "image_too_many_bytes",
        ),
        (
            "unknown field",
            form("Bike", "ana@example.com", jpeg.clone()).text("price", "12"),
            400,
            "unknown_field",
        ),
        (
            "duplicate field",
            form("Bike", "ana@example.com", jpeg.clone()).text("email", "bob@example.com"),
            400,
            "duplicate_field",
        ),
    ];
    for (what, form, status, code) in cases {
        let (got, body) = server.post(form).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
        assert!(
            !body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{what}: a message for people"
        );
    }

    let response = server
        .http
        .post(format!("{}/ads", server.base))
        .json(&serde_json::json!({"text": "x"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "expected_multipart");

    assert_eq!(server.residue().await, (0, 0), "no row, no image");
}

#[tokio::test]
async fn ids_are_checked_and_unknown_routes_answer_json() {
    let server = start(ApiConfig::default()).await;
    for (path, status, code) in [
        ("/ads/42", 400, "invalid_id"),
        ("/ads/..%2F..%2Fetc%2Fpasswd", 400, "invalid_id"),
        (&format!("/ads/{}", AdId::new()), 404, "not_found"),
        (&format!("/ads/{}/image", AdId::new()), 404, "not_found"),
        ("/nothing-here", 404, "not_found"),
    ] {
        let response = server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    let response = server
        .http
        .delete(format!("{}/ads", server.base))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 405);
}

async fn submit_cat(server: &Server) -> AdId {
    let (status, body) = server
        .post(form(
            "Cat",
            "ana@example.com",
            photo("other/cat_chelsea.png"),
        ))
        .await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().expect("id").parse().expect("uuid")
}

/// Without the bootstrap token the admin endpoints are there (accounts
/// sign in) but a token nobody issued opens nothing, not even as an empty
/// bootstrap token.
#[tokio::test]
async fn admin_endpoints_need_a_token_someone_issued() {
    let server = start(ApiConfig::default()).await;
    for token in ["anything", ""] {
        let response = server
            .http
            .get(format!("{}/admin/ads", server.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 401, "{token:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn admins_list_review_and_delete_with_their_token() {
    let token = "correct-horse-battery-staple";
    let server = start(ApiConfig {
        admin_token: Some(token.into()),
        ..ApiConfig::default()
    })
    .await;
    let ids = [
        submit_cat(&server).await,
        submit_cat(&server).await,
        submit_cat(&server).await,
    ];
    let admin = |method: reqwest::Method, path: &str| {
        server
            .http
            .request(method, format!("{}{path}", server.base))
    };

    for bad in [None, Some("wrong"), Some("correct-horse-battery-stapl")] {
        let mut request = admin(reqwest::Method::GET, "/admin/ads");
        if let Some(bad) = bad {
            request = request.bearer_auth(bad);
        }
        let response = request.send().await.expect("GET");
        assert_eq!(response.status(), 401, "{bad:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "unauthorized");
    }

    // Two per page, newest first, following `next`.
    let page: Value = admin(reqwest::Method::GET, "/admin/ads?status=pending&limit=2")
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let first: Vec<&str> = page["ads"]
        .as_array()
        .expect("ads")
        .iter()
        .map(|ad| ad["id"].as_str().expect("id"))
        .collect();
    assert_eq!(first, [ids[2].to_string(), ids[1].to_string()]);
    let next = page["next"].as_str().expect("a next page");
    let page: Value = admin(
        reqwest::Method::GET,
        &format!("/admin/ads?status=pending&limit=2&before={next}"),
    )
    .bearer_auth(token)
    .send()
    .await
    .expect("GET")
    .json()
    .await
    .expect("JSON");
    assert_eq!(page["ads"][0]["id"], ids[0].to_string());
    assert!(page["next"].is_null());
    let response = admin(reqwest::Method::GET, "/admin/ads?status=bogus")
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 400);

    // Re-review: a decided ad goes back to pending.
    let rejected = adpipe_core::Decision {
        status: adpipe_core::Status::Rejected,
        category: None,
        score: 0.1,
        reason: Some("no".into()),
        suggestion: None,
        text: None,
    };
    let by = adpipe_core::DecidedBy {
        model: "m".into(),
        policy: "p".into(),
    };
    assert!(
        server
            .db
            .record_decision(ids[0], &rejected, &[], &by)
            .await
            .expect("record")
    );
    let response = admin(
        reqwest::Method::POST,
        &format!("/admin/ads/{}/review", ids[0]),
    )
    .bearer_auth(token)
    .send()
    .await
    .expect("POST");
    assert_eq!(response.status(), 202);
    let ad = server.db.get_ad(ids[0]).await.expect("get").expect("ad");
    assert_eq!(ad.status, adpipe_core::Status::Pending);
    assert_eq!(
        (ad.reason, ad.decided_at, ad.notified_at),
        (None, None, None)
    );

    // Delete: row and image gone; a second delete is a 404.
    let image = server.dir.join("blobs").join(&ad.image_key);
    assert!(image.exists());
    let path = format!("/admin/ads/{}", ids[0]);
    let response = admin(reqwest::Method::DELETE, &path)
        .bearer_auth(token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    assert!(server.db.get_ad(ids[0]).await.expect("get").is_none());
    assert!(!image.exists());
    let response = admin(reqwest::Method::DELETE, &path)
        .bearer_auth(token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let server = start(ApiConfig {
        rate_limit_per_minute: 6,
        rate_limit_burst: 2,
        ..ApiConfig::default()
    })
    .await;
    submit_cat(&server).await;
    submit_cat(&server).await;
    let response = server
        .http
        .post(format!("{}/ads", server.base))
        .multipart(form(
            "Cat",
            "ana@example.com",
            photo("other/cat_chelsea.png"),
        ))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&wait), "{wait}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Reading is not limited.
    let response = server
        .http
        .get(format!("{}/ads/{}", server.base, AdId::new()))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 404);
}

/// One submission with `X-Forwarded-For: forwarded_for`; its status.
async fn submit_as(server: &Server, forwarded_for: &str) -> u16 {
    server
        .http
        .post(format!("{}/ads", server.base))
        .header("x-forwarded-for", forwarded_for)
        .multipart(form(
            "Cat",
            "ana@example.com",
            photo("other/cat_chelsea.png"),
        ))
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate() {
    let limited = ApiConfig {
        rate_limit_per_minute: 1,
        rate_limit_burst: 1,
        ..ApiConfig::default()
    };
    // The test connects from 127.0.0.1: here that is the site's proxy.
    let behind_proxy = start(ApiConfig {
        trusted_proxies: adpipe_api::TrustedProxies::parse(&["127.0.0.0/8"]).expect("cidr"),
        ..limited.clone()
    })
    .await;
    assert_eq!(submit_as(&behind_proxy, "203.0.113.1").await, 202);
    assert_eq!(submit_as(&behind_proxy, "203.0.113.2").await, 202);
    assert_eq!(submit_as(&behind_proxy, "203.0.113.1").await, 429);
    // What the client wrote itself, left of the address the proxy saw,
    // does not buy it a new bucket.
    assert_eq!(
        submit_as(&behind_proxy, "198.51.100.9, 203.0.113.2").await,
        429
    );

    // From a peer nobody trusts, the header is the client's own word and
    // changes nothing: one bucket for the peer.
    let direct = start(limited).await;
    assert_eq!(submit_as(&direct, "203.0.113.1").await, 202);
    assert_eq!(submit_as(&direct, "203.0.113.2").await, 429);
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_with_a_json_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(ApiConfig {
        request_timeout: std::time::Duration::from_millis(500),
        ..ApiConfig::default()
    })
    .await;
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(
            b"POST /ads HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n\
              Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhel",
        )
        .await
        .expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("answered within 5 s")
    .expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"request_timeout\""), "{response}");
    assert_eq!(server.residue().await, (0, 0));
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(ApiConfig::default()).await;
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /ads/x HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let mut response = Vec::new();
    // The server closes the connection (hyper answers 408 or just closes)
    // well before the client would have finished.
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("closed within 5 s")
    .ok();
}

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let server = start(ApiConfig::default()).await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["status"], status, "{path}: {body}");
    }
    server.db.close().await;
    let response = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
}

/// Sends `body` whole over a plain TCP connection and only then reads the
/// answer, as a client without `Expect: 100-continue` does (Python's
/// http.client and requests): a server that answered and closed while the
/// body was still coming gives it a broken pipe or a reset instead.
async fn send_whole_then_read(
    address: std::net::SocketAddr,
    content_type: &str,
    body: &[u8],
) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let head = format!(
        "POST /ads HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|error| format!("sending the head: {error}"))?;
    stream
        .write_all(body)
        .await
        .map_err(|error| format!("cut off by an early answer while sending: {error}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|error| format!("the answer was not read: {error}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// One multipart part: its header lines and its raw value.
fn part(boundary: &str, headers: &str, value: &[u8]) -> Vec<u8> {
    let mut part = format!("--{boundary}\r\n{headers}\r\n\r\n").into_bytes();
    part.extend_from_slice(value);
    part.extend_from_slice(b"\r\n");
    part
}

fn field(boundary: &str, name: &str, value: &[u8]) -> Vec<u8> {
    part(
        boundary,
        &format!("Content-Disposition: form-data; name=\"{name}\""),
        value,
    )
}

fn image_part(boundary: &str, bytes: usize) -> Vec<u8> {
    part(
        boundary,
        "Content-Disposition: form-data; name=\"image\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg",
        &vec![0xAB; bytes],
    )
}

/// What is sent (a name, the Content-Type, the body's parts) and the
/// status and code of the answer.
struct EarlyRefusal<'a>(&'a str, &'a str, Vec<Vec<u8>>, u16, &'a str);

/// The large case: a 1 MiB text refused at once, then 8 MiB of image.
#[tokio::test]
async fn a_refused_body_is_read_to_its_end_before_the_answer() {
    let server = start(ApiConfig::default()).await;
    let boundary = "refused-early";
    let mut body = field(boundary, "text", &vec![b'a'; 1024 * 1024]);
    body.extend(image_part(boundary, 8 * 1024 * 1024));
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let answer = send_whole_then_read(
        server.address.expect("served"),
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
    )
    .await
    .expect("the answer to a 1 MiB text");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"text_too_long\""), "{answer}");
}

/// Every refusal made while the body is still coming (a field refused
/// before the rest of the form arrives), each sent 100 times by a client
/// that sends everything before it reads: every time the answer is read
/// whole, with its status and JSON code, so the race between the answer
/// and the body cannot hide. Only a body whose declared length is over the
/// limit is refused without being read (413 at once): reading it to the
/// limit would still leave the client sending.
#[tokio::test]
async fn every_early_refusal_reaches_a_client_that_sends_before_it_reads() {
    // The default limit: a rest of 8 MiB is more than the kernel's socket
    // buffers take in, so an answer sent before it is read closes on a
    // client that is still sending.
    const MAX_IMAGE: usize = 10 * 1024 * 1024;
    let server = start(ApiConfig {
        max_image_bytes: MAX_IMAGE,
        rate_limit_per_minute: 0,
        ..ApiConfig::default()
    })
    .await;
    let address = server.address.expect("served");
    let b = "early";
    let text = || field(b, "text", b"Red hatchback, one owner");
    let email = || field(b, "email", b"seller@example.com");
    // The rest of the form, still to come when the refusal is made.
    let rest = || image_part(b, 8 * 1024 * 1024);
    let form = format!("multipart/form-data; boundary={b}");
    let cases: Vec<EarlyRefusal> = vec![
        EarlyRefusal(
            "not a form",
            "application/json",
            vec![vec![b' '; 8 * 1024 * 1024]],
            415,
            "expected_multipart",
        ),
        EarlyRefusal(
            "text too long",
            &form,
            vec![field(b, "text", &[b'a'; 64 * 1024]), rest()],
            400,
            "text_too_long",
        ),
        EarlyRefusal(
            "text blank",
            &form,
            vec![field(b, "text", b"   "), rest()],
            400,
            "invalid_text",
        ),
        EarlyRefusal(
            "text not UTF-8",
            &form,
            vec![field(b, "text", &[0xff, 0xfe, 0xfd]), rest()],
            400,
            "invalid_utf8",
        ),
        EarlyRefusal(
            "email invalid",
            &form,
            vec![text(), field(b, "email", b"not-an-address"), rest()],
            400,
            "invalid_email",
        ),
        EarlyRefusal(
            "email too long",
            &form,
            vec![text(), field(b, "email", &[b'a'; 2048]), rest()],
            400,
            "invalid_email",
        ),
        EarlyRefusal(
            "unknown field",
            &form,
            vec![field(b, "price", b"100"), rest()],
            400,
            "unknown_field",
        ),
        EarlyRefusal(
            "field twice",
            &form,
            vec![text(), text(), rest()],
            400,
            "duplicate_field",
        ),
        EarlyRefusal(
            "part without headers",
            &form,
            vec![part(b, "not a header line", b"x"), rest()],
            400,
            "malformed_multipart",
        ),
        EarlyRefusal(
            // Refused 10 MiB into its image; 192 KiB of it still to come.
            "image over the limit",
            &form,
            vec![text(), email(), image_part(b, MAX_IMAGE + 192 * 1024)],
            413,
            "image_too_many_bytes",
        ),
    ];
    for EarlyRefusal(what, content_type, parts, status, code) in cases {
        let mut body = parts.concat();
        body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        for round in 0..100 {
            let answer = send_whole_then_read(address, content_type, &body)
                .await
                .unwrap_or_else(|error| panic!("{what}, round {round}: {error}"));
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}"))
                    && answer.contains(&format!("\"code\":\"{code}\"")),
                "{what}, round {round}: {answer}"
            );
        }
    }

    // Over the rate limit: refused before the handler sees the request.
    let limited = start(ApiConfig {
        max_image_bytes: MAX_IMAGE,
        rate_limit_per_minute: 1,
        rate_limit_burst: 1,
        ..ApiConfig::default()
    })
    .await;
    let address = limited.address.expect("served");
    let mut body = [text(), email(), rest()].concat();
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    for round in 0..=100 {
        let answer = send_whole_then_read(address, &form, &body)
            .await
            .unwrap_or_else(|error| panic!("over the rate limit, round {round}: {error}"));
        // The first takes the one token (and is refused for its image).
        if round > 0 {
            assert!(
                answer.starts_with("HTTP/1.1 429") && answer.contains("\"code\":\"rate_limited\""),
                "over the rate limit, round {round}: {answer}"
            );
        }
    }
}
