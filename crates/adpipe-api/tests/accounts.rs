//! The moderation team on the real server: the bootstrap token makes the
//! first accounts; people sign in with name and password (a session
//! cookie a page elsewhere cannot use), guessing is slowed, roles are
//! enforced on the server, tokens are shown once and revocable, a
//! password change or a disabled account ends what it held, and the
//! audit log tells who did what. On SQLite, and the whole story on
//! PostgreSQL too.

mod support;

use adpipe_api::ApiConfig;
use serde_json::json;
use support::{Setup, TestApp, drop_postgres, fresh_postgres, password_of};

const BOOTSTRAP: &str = "bootstrap-only-for-the-first-admin";

async fn start_on(database_url: Option<String>) -> TestApp {
    TestApp::serve(Setup {
        config: ApiConfig {
            admin_token: Some(BOOTSTRAP.into()),
            rate_limit_per_minute: 0,
            categories: vec!["car".into()],
            ..ApiConfig::default()
        },
        database_url,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn a_team_signs_in_works_within_its_roles_and_is_audited_on_sqlite() {
    let app = start_on(None).await;
    team_story(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_signs_in_works_within_its_roles_and_is_audited_on_postgres() {
    let (admin, name, url) = fresh_postgres("adpipe_accounts").await;
    let app = start_on(Some(url)).await;
    team_story(&app).await;
    drop(app);
    drop_postgres(admin, &name).await;
}

async fn team_story(app: &TestApp) {
    let bootstrap = app.as_token(BOOTSTRAP);
    // Nobody: 401 with a JSON body.
    let nobody = app.me().await;
    assert_eq!(nobody.status, 401);
    assert_eq!(nobody["error"]["code"], "unauthorized");

    // The bootstrap token makes the first admin; the password is generated
    // and shown once.
    let made = bootstrap.add_user("Ada", "admin", None).await;
    assert_eq!(made.status, 201, "{made}");
    assert_eq!(
        (made["name"].as_str(), made["role"].as_str()),
        (Some("ada"), Some("admin"))
    );
    let ada_password = made["password"].as_str().expect("generated").to_owned();
    assert!(ada_password.chars().count() >= 12);
    let again = bootstrap
        .add_user("ada", "viewer", Some("another-long-password"))
        .await;
    assert_eq!((again.status, again.code()), (409, Some("account_exists")));
    let short = bootstrap.add_user("vic", "viewer", Some("short")).await;
    assert_eq!((short.status, short.code()), (400, Some("invalid_account")));
    app.add_account(BOOTSTRAP, "vic", "viewer").await;
    app.add_account(BOOTSTRAP, "mo", "moderator").await;

    // A wrong password and an unknown name get the same answer.
    let wrong = app.sign_in("mo", "not-mos-password").await;
    let unknown = app.sign_in("nobody", "not-mos-password").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        (wrong.status, &wrong.body),
        (unknown.status, &unknown.body),
        "an unknown name answers like a wrong password"
    );
    assert_eq!(wrong["error"]["code"], "sign_in_failed");

    // Signing in: an HttpOnly, SameSite=Strict cookie for /admin only.
    let signed_in = app.sign_in("ada", &ada_password).await;
    assert_eq!(signed_in.status, 200);
    let set_cookie = signed_in.header("set-cookie").expect("a cookie");
    for part in [
        "adpipe_session=ses_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let ada = app.with_cookie(set_cookie.split(';').next().unwrap());
    let me = ada.me().await;
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
    let again = ada.with_origin(None).sign_in("ada", &ada_password).await;
    assert_eq!(again.status, 200);
    let renewed = app.with_cookie(&again.session_cookie().expect("a session cookie"));
    assert_ne!(
        renewed.cookie(),
        ada.cookie(),
        "a new session id at each sign-in"
    );
    assert_eq!(
        ada.me().await.status,
        401,
        "the session it replaced is over"
    );
    let ada = renewed;

    // A page elsewhere cannot ride the session: a change needs this
    // site's Origin.
    for origin in [None, Some("https://evil.example")] {
        let stolen = ada.with_origin(origin).add_token("stolen").await;
        assert_eq!(
            (stolen.status, stolen.code()),
            (403, Some("cross_site_request")),
            "{origin:?}"
        );
    }

    // Roles, on the server: a viewer reads, does not decide, does not
    // manage accounts.
    let vic = app.signed_in("vic", &password_of("vic")).await;
    assert_eq!(vic.reviews().await.status, 200);
    let refused = vic
        .decide(adpipe_core::AdId::new(), &json!({"outcome": "rejected"}))
        .await;
    assert_eq!((refused.status, refused.code()), (403, Some("forbidden")));
    for path in ["/admin/users", "/admin/audit"] {
        assert_eq!(vic.get(path).await.status, 403, "{path}");
    }

    // Nobody changes their own role; the last admin stays one.
    let refused = ada.change_user("ada", &json!({"role": "viewer"})).await;
    assert_eq!((refused.status, refused.code()), (403, Some("forbidden")));
    let refused = bootstrap
        .change_user("ada", &json!({"disabled": true}))
        .await;
    assert_eq!((refused.status, refused.code()), (409, Some("last_admin")));

    // Tokens: shown once, listed without their secret, revocable.
    let mo_token = app.token_of("mo").await;
    let mo = app.as_token(&mo_token);
    let me = mo.me().await;
    assert_eq!(
        (me["name"].as_str(), me["via"].as_str()),
        (Some("mo"), Some("token"))
    );
    let listed = mo.tokens().await;
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 1, "{listed}");
    assert!(
        !listed.text().contains(&mo_token),
        "the secret is never listed"
    );
    let id = tokens[0]["id"].as_str().unwrap();
    assert_eq!(mo.revoke_token(id).await.status, 204);
    assert_eq!(mo.me().await.status, 401, "a revoked token stops working");

    // A disabled account's tokens and sessions stop working; enabled, it
    // signs in again.
    let mo = app.as_token(&app.token_of("mo").await);
    let mo_session = app.signed_in("mo", &password_of("mo")).await;
    let disabled = ada.change_user("mo", &json!({"disabled": true})).await;
    assert_eq!(disabled.status, 200);
    assert_eq!(mo.me().await.status, 401);
    assert_eq!(mo_session.me().await.status, 401);
    let refused = app.sign_in("mo", &password_of("mo")).await;
    assert_eq!(refused.status, 401, "a disabled account cannot sign in");
    let enabled = ada.change_user("mo", &json!({"disabled": false})).await;
    assert_eq!(enabled.status, 200);

    // A password change ends every session of the account.
    let mo_session = app.signed_in("mo", &password_of("mo")).await;
    let changed = mo_session
        .change_password(&password_of("mo"), "a-brand-new-long-password")
        .await;
    assert_eq!(changed.status, 204);
    assert_eq!(mo_session.me().await.status, 401);
    app.signed_in("mo", "a-brand-new-long-password").await;

    // Signing out ends the session.
    assert_eq!(vic.sign_out().await.status, 204);
    assert_eq!(vic.me().await.status, 401);

    // Guessing is slowed: after a few failures, 429 with Retry-After, even
    // with the right password.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.sign_in("vic", "guess-guess-guess").await.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let locked = app.sign_in("vic", &password_of("vic")).await;
    assert_eq!(locked.status, 429);
    assert!(locked.headers.contains_key("retry-after"));

    // The audit log tells who did what; it is newest first.
    let audit = ada.audit("limit=500").await;
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
    let only = ada.audit("action=account.disabled").await;
    assert_eq!(only["entries"].as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only["entries"][0]["target"], "account:mo");
}

#[tokio::test]
async fn decisions_are_signed_by_the_account_that_made_them() {
    let app = start_on(None).await;
    let ana = app.as_token(&app.account_token(BOOTSTRAP, "ana", "moderator").await);
    assert_eq!(ana.me().await["role"], "moderator");
    // A moderator cannot manage accounts or read the audit log.
    for path in ["/admin/users", "/admin/audit"] {
        assert_eq!(ana.get(path).await.status, 403, "{path}");
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
    ("GET", "/admin/models", Some("viewer")),
    ("GET", "/admin/models/shadow", Some("viewer")),
    ("GET", "/admin/models/{version}/report.html", Some("viewer")),
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
    let app = start_on(None).await;
    // Every operation of the document is in the matrix, once.
    let document = app.openapi().await;
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

    let mut callers = Vec::new();
    for role in ROLES {
        let name = format!("{role}-1");
        let token = app.account_token(BOOTSTRAP, &name, role).await;
        callers.push((role, app.as_token(&token)));
    }
    let ad = adpipe_core::AdId::new();
    let empty = json!({});
    for (method, path, least) in MATRIX {
        let concrete = path
            .replace("{id}", &ad.to_string())
            .replace("{name}", "nobody")
            .replace("{version}", &"0".repeat(64));
        let method: reqwest::Method = method.parse().unwrap();
        let anonymous = app.call(method.clone(), &concrete, Some(&empty)).await;
        let Some(least) = least else {
            assert_ne!(anonymous.status, 401, "{method} {path} is open to anybody");
            continue;
        };
        assert_eq!(anonymous.status, 401, "{method} {path} without credentials");
        let least_rank = ROLES.iter().position(|role| role == least).unwrap();
        for (rank, (role, caller)) in callers.iter().enumerate() {
            let answer = caller.call(method.clone(), &concrete, Some(&empty)).await;
            if rank < least_rank {
                assert_eq!(
                    (answer.status, answer.code()),
                    (403, Some("forbidden")),
                    "{method} {path} as a {role}"
                );
            } else {
                assert!(
                    answer.status != 401 && answer.status != 403,
                    "{method} {path} as a {role}: {answer}"
                );
            }
        }
    }
}
