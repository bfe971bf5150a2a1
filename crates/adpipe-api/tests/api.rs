//! The API in-process on a temporary SQLite file and image folder: what it
//! accepts, what it refuses and why, and that a refused request leaves
//! nothing behind.

mod support;

use adpipe_api::ApiConfig;
use adpipe_core::AdId;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use support::{Setup, TestApp, ad_form, photo};

/// The app served, with a short wait for a request's headers.
async fn start(config: ApiConfig) -> TestApp {
    let setup = Setup {
        config,
        limits: adpipe_api::ServerLimits {
            header_read_timeout: std::time::Duration::from_millis(500),
            ..adpipe_api::ServerLimits::default()
        },
        metrics: None,
        database_url: None,
    };
    TestApp::serve(setup).await
}

/// Rows and image files: both must stay at zero after a refusal.
async fn residue(app: &TestApp) -> (i64, usize) {
    let files = std::fs::read_dir(app.dir.join("blobs/images"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    (app.rows().await, files)
}

#[tokio::test]
async fn a_valid_ad_is_stored_pending_under_a_server_chosen_name() {
    let app = start(ApiConfig::default()).await;
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
    let submitted = app.post_form(form).await;
    assert_eq!(submitted.status, 202, "{submitted}");
    let id: AdId = submitted.id().parse().expect("uuid");
    let ad = app.db.get_ad(id).await.expect("get").expect("stored");
    assert_eq!(ad.text, "Cat, friendly");
    assert_eq!(ad.content_type, "image/png");
    assert_eq!(ad.image_key, format!("images/{id}.png"));
    assert_eq!(
        std::fs::read(app.dir.join("blobs").join(&ad.image_key)).expect("blob"),
        image
    );

    let status = app.status(id).await;
    assert_eq!(status["status"], "pending");
    assert_eq!(status["message"], "Your ad is in the review queue");
    assert!(
        status.body.get("text").is_none(),
        "pending ads show no text"
    );
}

#[tokio::test]
async fn bad_submissions_get_a_clear_4xx_and_leave_nothing_behind() {
    let app = start(ApiConfig {
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
            ad_form("Bike", "not-an-email", jpeg.clone()),
            400,
            "invalid_email",
        ),
        (
            "header injection",
            ad_form(
                "Bike",
                "ana@example.com\r\nBcc: all@example.com",
                jpeg.clone(),
            ),
            400,
            "invalid_email",
        ),
        (
            "empty text",
            ad_form("   ", "ana@example.com", jpeg.clone()),
            400,
            "invalid_text",
        ),
        (
            "text too long",
            ad_form(&"a".repeat(5001), "ana@example.com", jpeg.clone()),
            400,
            "invalid_text",
        ),
        (
            "HTML posing as an image",
            ad_form(
                "Bike",
                "ana@example.com",
                b"<html><script>alert(1)</script>".to_vec(),
            ),
            415,
            "image_unsupported_type",
        ),
        (
            "empty image",
            ad_form("Bike", "ana@example.com", Vec::new()),
            400,
            "image_empty",
        ),
        (
            "decompression bomb",
            ad_form("Bike", "ana@example.com", huge_png_header),
            413,
            "image_too_large",
        ),
        (
            "too many bytes",
            ad_form("Bike", "ana@example.com", vec![0xFF; 300 * 1024]),
            413,
            "image_too_many_bytes",
        ),
        (
            "unknown field",
            ad_form("Bike", "ana@example.com", jpeg.clone()).text("price", "12"),
            400,
            "unknown_field",
        ),
        (
            "duplicate field",
            ad_form("Bike", "ana@example.com", jpeg.clone()).text("email", "bob@example.com"),
            400,
            "duplicate_field",
        ),
    ];
    for (what, form, status, code) in cases {
        let answer = app.post_form(form).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, Some(code)),
            "{what}: {answer}"
        );
        assert!(
            !answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{what}: a message for people"
        );
    }

    let not_a_form = app
        .post_json("/ads", &serde_json::json!({"text": "x"}))
        .await;
    assert_eq!(not_a_form.status, 415);
    assert_eq!(not_a_form["error"]["code"], "expected_multipart");

    assert_eq!(residue(&app).await, (0, 0), "no row, no image");
}

#[tokio::test]
async fn ids_are_checked_and_unknown_routes_answer_json() {
    let app = start(ApiConfig::default()).await;
    for (path, status, code) in [
        ("/ads/42", 400, "invalid_id"),
        ("/ads/..%2F..%2Fetc%2Fpasswd", 400, "invalid_id"),
        (&format!("/ads/{}", AdId::new()), 404, "not_found"),
        (&format!("/ads/{}/image", AdId::new()), 404, "not_found"),
        ("/nothing-here", 404, "not_found"),
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer["error"]["code"], code, "{path}");
    }
    assert_eq!(app.call(Method::DELETE, "/ads", None).await.status, 405);
}

async fn submit_cat(app: &TestApp) -> AdId {
    let submitted = app
        .post_ad("Cat", "ana@example.com", photo("other/cat_chelsea.png"))
        .await;
    assert_eq!(submitted.status, 202, "{submitted}");
    submitted.id().parse().expect("uuid")
}

/// Without the bootstrap token the admin endpoints are there (accounts
/// sign in) but a token nobody issued opens nothing, not even as an empty
/// bootstrap token.
#[tokio::test]
async fn admin_endpoints_need_a_token_someone_issued() {
    let app = start(ApiConfig::default()).await;
    for token in ["anything", ""] {
        let answer = app.as_token(token).ads("").await;
        assert_eq!(answer.status, 401, "{token:?}");
        assert!(answer.headers.contains_key("www-authenticate"));
        assert_eq!(answer["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn admins_list_review_and_delete_with_their_token() {
    let token = "correct-horse-battery-staple";
    let app = start(ApiConfig {
        admin_token: Some(token.into()),
        ..ApiConfig::default()
    })
    .await;
    let ids = [
        submit_cat(&app).await,
        submit_cat(&app).await,
        submit_cat(&app).await,
    ];

    for bad in [None, Some("wrong"), Some("correct-horse-battery-stapl")] {
        let answer = match bad {
            Some(bad) => app.as_token(bad).ads("").await,
            None => app.ads("").await,
        };
        assert_eq!(answer.status, 401, "{bad:?}");
        assert!(answer.headers.contains_key("www-authenticate"));
        assert_eq!(answer["error"]["code"], "unauthorized");
    }

    // Two per page, newest first, following `next`.
    let admin = app.as_token(token);
    let page = admin.ads("status=pending&limit=2").await;
    let first: Vec<&str> = page["ads"]
        .as_array()
        .expect("ads")
        .iter()
        .map(|ad| ad["id"].as_str().expect("id"))
        .collect();
    assert_eq!(first, [ids[2].to_string(), ids[1].to_string()]);
    let next = page["next"].as_str().expect("a next page");
    let page = admin
        .ads(&format!("status=pending&limit=2&before={next}"))
        .await;
    assert_eq!(page["ads"][0]["id"], ids[0].to_string());
    assert!(page["next"].is_null());
    assert_eq!(admin.ads("status=bogus").await.status, 400);

    // Re-review: a decided ad goes back to pending.
    let rejected = adpipe_core::Decision {
        status: adpipe_core::Status::Rejected,
        category: None,
        score: 0.1,
        reason: Some("no".into()),
        suggestion: None,
        text: None,
        text_in_image: Vec::new(),
    };
    let by = adpipe_core::DecidedBy {
        model: "m".into(),
        policy: "p".into(),
    };
    assert!(
        app.db
            .record_decision(ids[0], &rejected, &[], &by)
            .await
            .expect("record")
    );
    assert_eq!(admin.send_back_to_model(ids[0]).await.status, 202);
    let ad = app.db.get_ad(ids[0]).await.expect("get").expect("ad");
    assert_eq!(ad.status, adpipe_core::Status::Pending);
    assert_eq!(
        (ad.reason, ad.decided_at, ad.notified_at),
        (None, None, None)
    );

    // Delete: row and image gone; a second delete is a 404.
    let image = app.dir.join("blobs").join(&ad.image_key);
    assert!(image.exists());
    assert_eq!(admin.delete_ad(ids[0]).await.status, 204);
    assert!(app.db.get_ad(ids[0]).await.expect("get").is_none());
    assert!(!image.exists());
    assert_eq!(admin.delete_ad(ids[0]).await.status, 404);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let app = start(ApiConfig {
        rate_limit_per_minute: 6,
        rate_limit_burst: 2,
        ..ApiConfig::default()
    })
    .await;
    submit_cat(&app).await;
    submit_cat(&app).await;
    let refused = app
        .post_ad("Cat", "ana@example.com", photo("other/cat_chelsea.png"))
        .await;
    assert_eq!(refused.status, 429);
    let wait: u64 = refused
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&wait), "{wait}");
    assert_eq!(refused["error"]["code"], "rate_limited");
    // Reading is not limited.
    assert_eq!(app.status(AdId::new()).await.status, 404);
}

/// One submission with `X-Forwarded-For: forwarded_for`; its status.
async fn submit_as(app: &TestApp, forwarded_for: &str) -> u16 {
    app.with_header("x-forwarded-for", forwarded_for)
        .post_ad("Cat", "ana@example.com", photo("other/cat_chelsea.png"))
        .await
        .status
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
    let app = start(ApiConfig {
        request_timeout: std::time::Duration::from_millis(500),
        ..ApiConfig::default()
    })
    .await;
    let address = app.base.trim_start_matches("http://");
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
    assert_eq!(residue(&app).await, (0, 0));
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = start(ApiConfig::default()).await;
    let address = app.base.trim_start_matches("http://");
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
    let app = start(ApiConfig::default()).await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer["status"], status, "{path}: {answer}");
    }
    app.db.close().await;
    let ready = app.ready().await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready["checks"]["database"]["ok"], false, "{ready}");
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
    let app = start(ApiConfig::default()).await;
    let boundary = "refused-early";
    let mut body = field(boundary, "text", &vec![b'a'; 1024 * 1024]);
    body.extend(image_part(boundary, 8 * 1024 * 1024));
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let answer = send_whole_then_read(
        app.address.expect("served"),
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
    let app = start(ApiConfig {
        max_image_bytes: MAX_IMAGE,
        rate_limit_per_minute: 0,
        ..ApiConfig::default()
    })
    .await;
    let address = app.address.expect("served");
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
