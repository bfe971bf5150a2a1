//! The moderation team: sessions (a browser's sign-in), accounts, API
//! tokens and the audit log.

use std::fmt::Display;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, ApiClient, with_query};

impl ApiClient {
    /// `GET /admin/me`: who the API takes this caller for.
    pub async fn me(&self) -> Answer {
        self.get("/admin/me").await
    }

    /// `POST /admin/session`: signs in with a name and password, sending
    /// this client's cookie and `Origin`, if any. See [`Answer::session_cookie`].
    pub async fn sign_in(&self, name: &str, password: &str) -> Answer {
        self.post_json(
            "/admin/session",
            &json!({"name": name, "password": password}),
        )
        .await
    }

    /// Signs in from this site as a browser does, which must work: the
    /// client of that session.
    pub async fn signed_in(&self, name: &str, password: &str) -> ApiClient {
        let answer = self
            .with_origin(Some(&self.base))
            .sign_in(name, password)
            .await;
        assert_eq!(answer.status, 200, "signing in as {name}: {answer}");
        let cookie = answer
            .session_cookie()
            .unwrap_or_else(|| panic!("no session cookie for {name}: {answer:?}"));
        self.with_cookie(&cookie)
    }

    /// `DELETE /admin/session`: ends this caller's session.
    pub async fn sign_out(&self) -> Answer {
        self.call(Method::DELETE, "/admin/session", None).await
    }

    /// `POST /admin/me/password`: changes the caller's own password.
    pub async fn change_password(&self, current: &str, new: &str) -> Answer {
        self.post_json(
            "/admin/me/password",
            &json!({"current": current, "new": new}),
        )
        .await
    }

    /// `GET /admin/users`: every account.
    pub async fn users(&self) -> Answer {
        self.get("/admin/users").await
    }

    /// `POST /admin/users`: adds an account; without a password the server
    /// makes one and shows it once.
    pub async fn add_user(&self, name: &str, role: &str, password: Option<&str>) -> Answer {
        let mut account = json!({"name": name, "role": role});
        if let Some(password) = password {
            account["password"] = json!(password);
        }
        self.post_json("/admin/users", &account).await
    }

    /// `PATCH /admin/users/{name}`: a role, or `disabled`.
    pub async fn change_user(&self, name: &str, changes: &Value) -> Answer {
        self.call(
            Method::PATCH,
            &format!("/admin/users/{name}"),
            Some(changes),
        )
        .await
    }

    /// `GET /admin/tokens`: the caller's tokens (an admin's: everyone's).
    pub async fn tokens(&self) -> Answer {
        self.get("/admin/tokens").await
    }

    /// `POST /admin/tokens`: makes a token named `name` for the caller's
    /// account; its secret is in the answer, once.
    pub async fn add_token(&self, name: &str) -> Answer {
        self.post_json("/admin/tokens", &json!({"name": name}))
            .await
    }

    /// [`add_token`](Self::add_token), which must work: the secret, as a
    /// script sends it in `Authorization: Bearer`.
    pub async fn new_token(&self, name: &str) -> String {
        let made = self.add_token(name).await;
        made["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token shown: {made}"))
            .to_owned()
    }

    /// `DELETE /admin/tokens/{id}`: revokes a token.
    pub async fn revoke_token(&self, id: impl Display) -> Answer {
        self.call(Method::DELETE, &format!("/admin/tokens/{id}"), None)
            .await
    }

    /// `GET /admin/audit?query`: the audit log, newest first (`action`,
    /// `limit`, …).
    pub async fn audit(&self, query: &str) -> Answer {
        self.get(&with_query("/admin/audit", query)).await
    }
}
