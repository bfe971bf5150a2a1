//! The moderation team on the real server: the bootstrap token makes the
//! first accounts; people sign in with name and password (a session
//! cookie a page elsewhere cannot use), guessing is slowed, roles are
//! enforced on the server, tokens are shown once and revocable, a
//! password change or a disabled account ends what it held, and the
//! audit log tells who did what. On SQLite, and the whole story on
//! PostgreSQL too.

mod support;

use adpipe_api::ApiConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    Setup, TestApp, account_token, add_account, drop_postgres, fresh_postgres, password_of, sign_in,
};

const BOOTSTRAP: &str = "bootstrap-only-for-the-first-admin";

async fn start_on(database_url: Option<String>) -> (TestApp, reqwest::Client) {
    let app = TestApp::serve(Setup {
        config: ApiConfig {
            admin_token: Some(BOOTSTRAP.into()),
            rate_limit_per_minute: 0,
            categories: vec!["car".into()],
            ..ApiConfig::default()
        },
        database_url,
        ..Setup::default()
    })
    .await;
    (app, reqwest::Client::new())
}

/// A request with a session cookie, from this site (as a browser sends it).
fn with_cookie(
    http: &reqwest::Client,
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
) -> reqwest::RequestBuilder {
    http.request(method, format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("origin", &app.base)
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_team_signs_in_works_within_its_roles_and_is_audited_on_sqlite() {
    let (app, http) = start_on(None).await;
    team_story(&app, &http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_signs_in_works_within_its_roles_and_is_audited_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_accounts").await;
    let (app, http) = start_on(Some(url)).await;
    team_story(&app, &http).await;
    drop(app);
    drop_postgres(admin, &name).await;
}

async fn team_story(app: &TestApp, http: &reqwest::Client) {
    let base = &app.base;
    // Nobody: 401 with a JSON body.
    let (status, body) = json_of(http.get(format!("{base}/admin/me")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");

    // The bootstrap token makes the first admin; the password is generated
    // and shown once.
    let (status, made) = json_of(
        http.post(format!("{base}/admin/users"))
            .bearer_auth(BOOTSTRAP)
            .json(&json!({"name": "Ada", "role": "admin"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["name"].as_str(), made["role"].as_str()),
        (Some("ada"), Some("admin"))
    );
    let ada_password = made["password"].as_str().expect("generated").to_owned();
    assert!(ada_password.chars().count() >= 12);
    let (status, again) = json_of(
        http.post(format!("{base}/admin/users"))
            .bearer_auth(BOOTSTRAP)
            .json(&json!({"name": "ada", "role": "viewer", "password": "another-long-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), again["error"]["code"].as_str()),
        (409, Some("account_exists"))
    );
    let (status, short) = json_of(
        http.post(format!("{base}/admin/users"))
            .bearer_auth(BOOTSTRAP)
            .json(&json!({"name": "vic", "role": "viewer", "password": "short"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), short["error"]["code"].as_str()),
        (400, Some("invalid_account"))
    );
    add_account(app, http, BOOTSTRAP, "vic", "viewer").await;
    add_account(app, http, BOOTSTRAP, "mo", "moderator").await;

    // A wrong password and an unknown name get the same answer.
    let failed = |name: &'static str, password: &'static str| {
        http.post(format!("{base}/admin/session"))
            .json(&json!({"name": name, "password": password}))
            .send()
    };
    let wrong = json_of(failed("mo", "not-mos-password").await.unwrap()).await;
    let unknown = json_of(failed("nobody", "not-mos-password").await.unwrap()).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(
        wrong, unknown,
        "an unknown name answers like a wrong password"
    );
    assert_eq!(wrong.1["error"]["code"], "sign_in_failed");

    // Signing in: an HttpOnly, SameSite=Strict cookie for /admin only.
    let response = http
        .post(format!("{base}/admin/session"))
        .json(&json!({"name": "ada", "password": ada_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "adpipe_session=ses_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let ada = set_cookie.split(';').next().unwrap().to_owned();
    let me: Value = with_cookie(http, app, reqwest::Method::GET, "/admin/me", &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["name"].as_str(), me["via"].as_str()),
        (Some("ada"), Some("session"))
    );
    assert!(
        me["may"]
            .as_array()
            .unwrap()
            .contains(&json!("manage_accounts"))
    );

    // Signing in again from the same browser makes a new session id and
    // ends the one it held.
    let again = http
        .post(format!("{base}/admin/session"))
        .header("cookie", &ada)
        .json(&json!({"name": "ada", "password": ada_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let renewed = again.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(renewed, ada, "a new session id at each sign-in");
    let old = with_cookie(http, app, reqwest::Method::GET, "/admin/me", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the session it replaced is over");
    let ada = renewed;

    // A page elsewhere cannot ride the session: a change needs this
    // site's Origin.
    for origin in [None, Some("https://evil.example")] {
        let mut request = http
            .post(format!("{base}/admin/tokens"))
            .header("cookie", &ada)
            .json(&json!({"name": "stolen"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let (status, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!(
            (status.as_u16(), body["error"]["code"].as_str()),
            (403, Some("cross_site_request")),
            "{origin:?}"
        );
    }

    // Roles, on the server: a viewer reads, does not decide, does not
    // manage accounts.
    let vic = sign_in(app, http, "vic", &password_of("vic")).await;
    let reviews = with_cookie(http, app, reqwest::Method::GET, "/admin/reviews", &vic)
        .send()
        .await
        .unwrap();
    assert_eq!(reviews.status(), 200);
    let (status, body) = json_of(
        with_cookie(
            http,
            app,
            reqwest::Method::POST,
            &format!("/admin/ads/{}/decision", adpipe_core::AdId::new()),
            &vic,
        )
        .json(&json!({"outcome": "rejected"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    for path in ["/admin/users", "/admin/audit"] {
        let status = with_cookie(http, app, reqwest::Method::GET, path, &vic)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{path}");
    }

    // Nobody changes their own role; the last admin stays one.
    let (status, body) = json_of(
        with_cookie(http, app, reqwest::Method::PATCH, "/admin/users/ada", &ada)
            .json(&json!({"role": "viewer"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = json_of(
        http.patch(format!("{base}/admin/users/ada"))
            .bearer_auth(BOOTSTRAP)
            .json(&json!({"disabled": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (409, Some("last_admin"))
    );

    // Tokens: shown once, listed without their secret, revocable.
    let mo_token = account_token_of_existing(app, http, "mo").await;
    let me: Value = http
        .get(format!("{base}/admin/me"))
        .bearer_auth(&mo_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["name"].as_str(), me["via"].as_str()),
        (Some("mo"), Some("token"))
    );
    let listed: Value = http
        .get(format!("{base}/admin/tokens"))
        .bearer_auth(&mo_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 1, "{listed}");
    assert!(
        !listed.to_string().contains(&mo_token),
        "the secret is never listed"
    );
    let id = tokens[0]["id"].as_str().unwrap().to_owned();
    let revoked = http
        .delete(format!("{base}/admin/tokens/{id}"))
        .bearer_auth(&mo_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = http
        .get(format!("{base}/admin/me"))
        .bearer_auth(&mo_token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "a revoked token stops working");

    // A disabled account's tokens and sessions stop working; enabled, it
    // signs in again.
    let mo_token = account_token_of_existing(app, http, "mo").await;
    let mo_session = sign_in(app, http, "mo", &password_of("mo")).await;
    let disabled = with_cookie(http, app, reqwest::Method::PATCH, "/admin/users/mo", &ada)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(
        http.get(format!("{base}/admin/me"))
            .bearer_auth(&mo_token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        with_cookie(http, app, reqwest::Method::GET, "/admin/me", &mo_session)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let refused = http
        .post(format!("{base}/admin/session"))
        .json(&json!({"name": "mo", "password": password_of("mo")}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "a disabled account cannot sign in");
    let enabled = with_cookie(http, app, reqwest::Method::PATCH, "/admin/users/mo", &ada)
        .json(&json!({"disabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 200);

    // A password change ends every session of the account.
    let mo_session = sign_in(app, http, "mo", &password_of("mo")).await;
    let changed = with_cookie(
        http,
        app,
        reqwest::Method::POST,
        "/admin/me/password",
        &mo_session,
    )
    .json(&json!({"current": password_of("mo"), "new": "a-brand-new-long-password"}))
    .send()
    .await
    .unwrap();
    assert_eq!(changed.status(), 204);
    assert_eq!(
        with_cookie(http, app, reqwest::Method::GET, "/admin/me", &mo_session)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    sign_in(app, http, "mo", "a-brand-new-long-password").await;

    // Signing out ends the session.
    let signed_out = with_cookie(http, app, reqwest::Method::DELETE, "/admin/session", &vic)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    assert_eq!(
        with_cookie(http, app, reqwest::Method::GET, "/admin/me", &vic)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Guessing is slowed: after a few failures, 429 with Retry-After, even
    // with the right password.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            failed("vic", "guess-guess-guess")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let locked = http
        .post(format!("{base}/admin/session"))
        .json(&json!({"name": "vic", "password": password_of("vic")}))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));

    // The audit log tells who did what; it is newest first.
    let audit: Value = with_cookie(
        http,
        app,
        reqwest::Method::GET,
        "/admin/audit?limit=500",
        &ada,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let entries = audit["entries"].as_array().expect("entries");
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap(),
                entry["action"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("bootstrap", "account.created"),
        ("account:ada", "session.signed_in"),
        ("anonymous:nobody", "session.sign_in_failed"),
        ("account:mo", "token.created"),
        ("token:mo/tests", "token.revoked"),
        ("account:ada", "account.disabled"),
        ("account:mo", "account.password_changed"),
        ("account:vic", "session.signed_out"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} missing from {actions:?}"
        );
    }
    let seqs: Vec<i64> = entries
        .iter()
        .map(|entry| entry["seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first"
    );
    let only: Value = with_cookie(
        http,
        app,
        reqwest::Method::GET,
        "/admin/audit?action=account.disabled",
        &ada,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(only["entries"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only["entries"][0]["target"], "account:mo");
}

/// Signs `name` (made already) in and makes a token in that session.
async fn account_token_of_existing(app: &TestApp, http: &reqwest::Client, name: &str) -> String {
    let cookie = sign_in(app, http, name, &password_of(name)).await;
    let made: Value = with_cookie(http, app, reqwest::Method::POST, "/admin/tokens", &cookie)
        .json(&json!({"name": "tests"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn decisions_are_signed_by_the_account_that_made_them() {
    let (app, http) = start_on(None).await;
    let token = account_token(&app, &http, BOOTSTRAP, "ana", "moderator").await;
    let me: Value = http
        .get(format!("{}/admin/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "moderator");
    // A moderator cannot manage accounts or read the audit log.
    for path in ["/admin/users", "/admin/audit"] {
        let status = http
            .get(format!("{}{path}", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{path}");
    }
}

/// Every `/admin` operation with the least role that may call it; `None`:
/// anybody (signing in). The test fails for an operation of the document
/// missing here, so a new route cannot be forgotten.
const MATRIX: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/admin/ads", Some("viewer")),
    ("GET", "/admin/ads/{id}", Some("viewer")),
    ("GET", "/admin/ads/{id}/history", Some("viewer")),
    ("GET", "/admin/ads/{id}/image", Some("viewer")),
    ("GET", "/admin/reviews", Some("viewer")),
    ("GET", "/admin/me", Some("viewer")),
    ("POST", "/admin/me/password", Some("viewer")),
    ("GET", "/admin/tokens", Some("viewer")),
    ("POST", "/admin/tokens", Some("viewer")),
    ("DELETE", "/admin/tokens/{id}", Some("viewer")),
    ("DELETE", "/admin/session", Some("viewer")),
    ("POST", "/admin/session", None),
    ("POST", "/admin/ads/{id}/decision", Some("moderator")),
    ("POST", "/admin/ads/{id}/claim", Some("moderator")),
    ("DELETE", "/admin/ads/{id}/claim", Some("moderator")),
    ("DELETE", "/admin/ads/{id}", Some("admin")),
    ("POST", "/admin/ads/{id}/review", Some("admin")),
    ("GET", "/admin/users", Some("admin")),
    ("POST", "/admin/users", Some("admin")),
    ("PATCH", "/admin/users/{name}", Some("admin")),
    ("GET", "/admin/audit", Some("admin")),
];

const ROLES: [&str; 3] = ["viewer", "moderator", "admin"];

#[tokio::test]
async fn every_admin_route_needs_its_role_and_no_less() {
    let (app, http) = start_on(None).await;
    let http = &http;
    // Every operation of the document is in the matrix, once.
    let document: Value = http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        if !path.starts_with("/admin/") {
            continue;
        }
        for method in operations.as_object().expect("operations").keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    for (method, path) in &documented {
        let listed = MATRIX
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .count();
        assert_eq!(
            listed, 1,
            "{method} {path}: list it in MATRIX once, with its role"
        );
    }
    assert_eq!(
        documented.len(),
        MATRIX.len(),
        "MATRIX lists an undocumented route"
    );

    let mut tokens = Vec::new();
    for role in ROLES {
        let name = format!("{role}-1");
        tokens.push((
            role,
            account_token(&app, http, BOOTSTRAP, &name, role).await,
        ));
    }
    let ad = adpipe_core::AdId::new();
    for (method, path, least) in MATRIX {
        let url = format!(
            "{}{}",
            app.base,
            path.replace("{id}", &ad.to_string())
                .replace("{name}", "nobody")
        );
        let method: reqwest::Method = method.parse().unwrap();
        let call = |token: Option<&str>| {
            let mut request = http.request(method.clone(), &url).json(&json!({}));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        let anonymous = call(None).await.unwrap().status().as_u16();
        let Some(least) = least else {
            assert_ne!(anonymous, 401, "{method} {path} is open to anybody");
            continue;
        };
        assert_eq!(anonymous, 401, "{method} {path} without credentials");
        let least_rank = ROLES.iter().position(|role| role == least).unwrap();
        for (rank, (role, token)) in tokens.iter().enumerate() {
            let response = call(Some(token)).await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if rank < least_rank {
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (403, Some("forbidden")),
                    "{method} {path} as a {role}"
                );
            } else {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as a {role}: {status} {body}"
                );
            }
        }
    }
}
