//! The moderators' side of the API: the ads, the review queue, claims,
//! decisions and their history. Each needs a caller with the right role
//! (see [`ApiClient::as_token`] and [`ApiClient::with_cookie`]).

use std::fmt::Display;

use reqwest::Method;
use serde_json::Value;

use super::{Answer, ApiClient, with_query};

impl ApiClient {
    /// `GET /admin/ads?query`: a page of ads, newest first (`query` without
    /// its `?`; empty for the first page of all).
    pub async fn ads(&self, query: &str) -> Answer {
        self.get(&with_query("/admin/ads", query)).await
    }

    /// `GET /admin/ads/{id}`: everything stored about one ad.
    pub async fn admin_ad(&self, id: impl Display) -> Answer {
        self.get(&format!("/admin/ads/{id}")).await
    }

    /// `GET /admin/ads/{id}/image`: the image of any ad, whatever its status.
    pub async fn admin_image(&self, id: impl Display) -> Answer {
        self.get(&format!("/admin/ads/{id}/image")).await
    }

    /// `DELETE /admin/ads/{id}`: the ad and its image.
    pub async fn delete_ad(&self, id: impl Display) -> Answer {
        self.call(Method::DELETE, &format!("/admin/ads/{id}"), None)
            .await
    }

    /// `POST /admin/ads/{id}/review`: sends a decided ad back to the model.
    pub async fn send_back_to_model(&self, id: impl Display) -> Answer {
        self.call(Method::POST, &format!("/admin/ads/{id}/review"), None)
            .await
    }

    /// `GET /admin/reviews`: the first page of the review queue.
    pub async fn reviews(&self) -> Answer {
        self.reviews_page("").await
    }

    /// `GET /admin/reviews?query`: a page of the queue, oldest first
    /// (`limit`, `after`).
    pub async fn reviews_page(&self, query: &str) -> Answer {
        self.get(&with_query("/admin/reviews", query)).await
    }

    /// `POST /admin/ads/{id}/decision`: approves or rejects an ad in review
    /// (or, with `override`, overturns a final decision).
    pub async fn decide(&self, id: impl Display, decision: &Value) -> Answer {
        self.post_json(&format!("/admin/ads/{id}/decision"), decision)
            .await
    }

    /// `GET /admin/ads/{id}/history`: every decision about an ad, oldest
    /// first.
    pub async fn history(&self, id: impl Display) -> Answer {
        self.get(&format!("/admin/ads/{id}/history")).await
    }

    /// `POST /admin/ads/{id}/claim`: holds an ad in review for this caller.
    pub async fn claim(&self, id: impl Display) -> Answer {
        self.call(Method::POST, &format!("/admin/ads/{id}/claim"), None)
            .await
    }

    /// `DELETE /admin/ads/{id}/claim`: lets it go.
    pub async fn release_claim(&self, id: impl Display) -> Answer {
        self.call(Method::DELETE, &format!("/admin/ads/{id}/claim"), None)
            .await
    }
}
