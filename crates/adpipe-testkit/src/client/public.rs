//! What submitters, their browsers and the site call, without credentials:
//! submitting, the status of an ad, its image, an appeal, and what tells
//! about the service itself (health, the OpenAPI document, metrics).

use std::fmt::Display;

use reqwest::Method;
use reqwest::multipart::{Form, Part};

use super::{Answer, ApiClient};

/// The form of one ad as the web page sends it: `text`, `email` and the
/// photo as `image`. Its file name is a claim the server ignores.
pub fn ad_form(text: &str, email: &str, image: Vec<u8>) -> Form {
    Form::new()
        .text("text", text.to_owned())
        .text("email", email.to_owned())
        .part("image", Part::bytes(image).file_name("photo.jpg"))
}

impl ApiClient {
    /// `POST /ads`: submits an ad.
    pub async fn post_ad(&self, text: &str, email: &str, image: Vec<u8>) -> Answer {
        self.post_form(ad_form(text, email, image)).await
    }

    /// `POST /ads` with a form of the test's making (a field missing, one
    /// too many, a claimed file type).
    pub async fn post_form(&self, form: Form) -> Answer {
        self.send(self.request(Method::POST, "/ads").multipart(form))
            .await
    }

    /// [`post_form`](Self::post_form); `Err` when no HTTP answer came.
    pub async fn try_post_form(&self, form: Form) -> Result<Answer, reqwest::Error> {
        self.try_send(self.request(Method::POST, "/ads").multipart(form))
            .await
    }

    /// `GET /ads/{id}`: what the submitter sees of an ad.
    pub async fn status(&self, id: impl Display) -> Answer {
        self.get(&format!("/ads/{id}")).await
    }

    /// `GET /ads/{id}/image`: an approved ad's image.
    pub async fn image(&self, id: impl Display) -> Answer {
        self.get(&format!("/ads/{id}/image")).await
    }

    /// `POST /ads/{id}/appeal` with `body` as it is (JSON, or what poses
    /// as it: refusals of bad bodies are part of the contract).
    pub async fn appeal(&self, id: impl Display, body: impl Into<String>) -> Answer {
        let request = self
            .request(Method::POST, &format!("/ads/{id}/appeal"))
            .header("content-type", "application/json")
            .body(body.into());
        self.send(request).await
    }

    /// `GET /healthz`: the process is alive.
    pub async fn health(&self) -> Answer {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the process can serve (its database answers).
    pub async fn ready(&self) -> Answer {
        self.get("/readyz").await
    }

    /// `GET /openapi.json`: the API's own description.
    pub async fn openapi(&self) -> Answer {
        self.get("/openapi.json").await
    }

    /// `GET /metrics`: the Prometheus text (see [`Answer::text`]).
    pub async fn metrics(&self) -> Answer {
        self.get("/metrics").await
    }
}
