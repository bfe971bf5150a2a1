//! Property-based fuzzing of what a client controls: the multipart body
//! (boundaries, headers, field names, truncation) and the image bytes
//! (real photos mutated, random bytes behind real magic numbers). Runs the
//! router in-process, without sockets, so a few hundred cases take
//! seconds. The property: every answer is 202 or a 4xx with a JSON error,
//! never a 5xx or a panic, and a refused request leaves no row behind.
//!
//! `PROPTEST_CASES` raises the number of cases; a failing case is saved
//! under proptest-regressions/ and replayed first from then on.

mod support;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use support::{Setup, TestApp, photo};
use tower::ServiceExt;

#[derive(Debug, Clone)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn image_bytes() -> impl Strategy<Value = Vec<u8>> {
    let jpeg = photo("vehicle/car_rear_motionblur.jpg");
    let png = photo("other/coffee_cup.png");
    prop_oneof![
        // A real photo with a few bytes changed and maybe cut short.
        (
            prop::sample::select(vec![jpeg, png]),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            prop::option::of(any::<prop::sample::Index>()),
        )
            .prop_map(|(mut bytes, edits, cut)| {
                for (index, value) in edits {
                    let at = index.index(bytes.len());
                    bytes[at] = value;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len()));
                }
                bytes
            }),
        // Magic numbers followed by noise.
        (
            prop::sample::select(vec![
                &b"\xFF\xD8\xFF"[..],
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                b"GIF89a",
                b"RIFF\0\0\0\0WEBPVP8 ",
                b"BM",
                b"<svg",
                b"%PDF-",
            ]),
            prop::collection::vec(any::<u8>(), 0..512),
        )
            .prop_map(|(magic, noise)| [magic, &noise[..]].concat()),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn part() -> impl Strategy<Value = Part> {
    (
        prop::sample::select(vec![
            "text", "email", "image", "", "price", "TEXT", "ima\"ge",
        ]),
        prop::option::of("[a-z./\\\\]{0,12}"),
        prop::option::of(prop::sample::select(vec![
            "image/jpeg",
            "text/html",
            "application/octet-stream",
            "",
        ])),
        prop_oneof![
            image_bytes(),
            "[ -~]{0,40}".prop_map(String::into_bytes),
            Just(b"ana@example.com".to_vec()),
            Just(b"ana@example.com\r\nBcc: x@example.com".to_vec()),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
    )
        .prop_map(|(name, filename, content_type, body)| Part {
            name: name.to_owned(),
            filename,
            content_type: content_type.map(str::to_owned),
            body,
        })
}

fn encode(boundary: &str, parts: &[Part], close: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.body);
        body.extend_from_slice(b"\r\n");
    }
    if close {
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    body
}

fn request() -> impl Strategy<Value = (String, Vec<u8>)> {
    (
        "[A-Za-z0-9'()+_,./:=?-]{1,70}",
        prop::collection::vec(part(), 0..5),
        any::<bool>(),
        prop::option::of(any::<prop::sample::Index>()),
        prop::sample::select(vec![true, true, true, false]),
    )
        .prop_map(|(boundary, parts, close, cut, header_matches)| {
            let mut body = encode(&boundary, &parts, close);
            if let Some(cut) = cut {
                body.truncate(cut.index(body.len() + 1));
            }
            let header_boundary = if header_matches {
                boundary
            } else {
                format!("{boundary}x")
            };
            (
                format!("multipart/form-data; boundary=\"{header_boundary}\""),
                body,
            )
        })
}

/// The app in-process on a runtime of its own, as proptest calls from
/// plain threads.
struct Harness {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
}

impl Harness {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let app = runtime.block_on(TestApp::in_process(Setup::default()));
        Self { runtime, app }
    }

    fn rows(&self) -> i64 {
        self.runtime.block_on(self.app.rows())
    }

    fn post(&self, content_type: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
        self.runtime.block_on(async {
            let request = Request::post("/ads")
                .header("content-type", content_type)
                .body(Body::from(body))
                .expect("request");
            let response = self
                .app
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            )
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_multipart_body_gets_202_or_a_json_4xx((content_type, body) in request()) {
        thread_local! {
            static HARNESS: Harness = Harness::new();
        }
        HARNESS.with(|harness| {
            let before = harness.rows();
            let (status, answer) = harness.post(&content_type, body);
            if status == 202 {
                prop_assert_eq!(harness.rows(), before + 1);
            } else {
                prop_assert!((400..500).contains(&status), "status {status}: {answer}");
                prop_assert!(answer["error"]["code"].is_string(), "JSON error: {answer}");
                prop_assert_eq!(harness.rows(), before, "a refused request left a row");
            }
            Ok(())
        })?;
    }
}
