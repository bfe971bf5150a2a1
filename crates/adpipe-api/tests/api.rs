//! The API in-process on a temporary SQLite file and image folder: what it
//! accepts, what it refuses and why, and that a refused request leaves
//! nothing behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adpipe_api::{ApiConfig, AppState, Enqueue};
use adpipe_core::AdId;
use adpipe_store::{Blobs, Database};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

struct Server {
    base: String,
    dir: PathBuf,
    db: Database,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn photo(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

async fn start(config: ApiConfig) -> Server {
    let dir = std::env::temp_dir().join(format!("adpipe-api-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = Database::connect(&format!("sqlite:{}", dir.join("ads.db").display()), 4)
        .await
        .expect("database");
    let blobs = Blobs::local(&dir.join("blobs")).expect("blobs");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState {
        db: db.clone(),
        blobs,
        enqueue: Enqueue::Embedded(None),
        config: Arc::new(ApiConfig {
            public_url: base.clone(),
            ..config
        }),
    };
    tokio::spawn(adpipe_api::serve(
        listener,
        adpipe_api::router(state),
        std::future::pending(),
    ));
    Server {
        base,
        dir,
        db,
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
