//! Accounts, API tokens, console sessions, the sign-in slowdown and the
//! audit log, on both backends: the last enabled admin stays (even when
//! two admins demote each other at once), a password change or a disabled
//! account ends the sessions, revoked tokens and disabled accounts' tokens
//! stop working, sessions expire, the audit log cannot be edited.
//! PostgreSQL: see `support`; when it cannot be reached the test fails,
//! it does not skip.

mod support;

use std::time::Duration;

use adpipe_core::AdId;
use adpipe_store::{
    Account, AccountChange, AuditEntry, AuditFilter, Backend, Database, NewAccount, TokenCreated,
};
use sqlx::Connection;

const HOUR: Duration = Duration::from_secs(3600);

/// The record of an action of `actor` (each story has its own actor, so
/// stories sharing a database count only their own records).
fn by(actor: &str, action: &str, target: &str) -> AuditEntry {
    AuditEntry::new(format!("cli:{actor}"), action).target(target)
}

async fn add(db: &Database, actor: &str, name: &str, role: &str) -> Account {
    let new = NewAccount {
        name,
        role,
        password_hash: "$argon2id$v=19$stand-in",
    };
    db.create_account(&new, &by(actor, "account.created", name))
        .await
        .expect("create")
        .expect("a new name")
}

/// How many records of `action` by `actor` the log holds.
async fn records(db: &Database, actor: &str, action: &str) -> usize {
    let actor = format!("cli:{actor}");
    let filter = AuditFilter {
        actor: Some(actor.as_str()),
        action: Some(action),
        limit: 1000,
        ..AuditFilter::default()
    };
    db.audit(&filter).await.expect("audit").len()
}

/// The names of the enabled admins.
async fn admins(db: &Database) -> Vec<String> {
    let accounts = db.accounts().await.expect("accounts");
    accounts
        .into_iter()
        .filter(|account| account.role == "admin" && !account.disabled)
        .map(|account| account.name)
        .collect()
}

fn changed(outcome: AccountChange) -> Account {
    match outcome {
        AccountChange::Changed(account) => account,
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Accounts: unique names; the last enabled admin is neither demoted nor
/// disabled, not even by two admins acting at once; every change, and
/// only a change, is in the audit log.
async fn accounts_story(db: &Database) {
    const ME: &str = "accounts";
    let ana = add(db, ME, "ana", "admin").await;
    assert_eq!((ana.role.as_str(), ana.disabled), ("admin", false));
    assert_eq!(ana.created_at, ana.password_changed_at);
    add(db, ME, "bo", "admin").await;
    let taken = NewAccount {
        name: "ana",
        role: "viewer",
        password_hash: "x",
    };
    let entry = by(ME, "account.created", "ana");
    assert_eq!(
        db.create_account(&taken, &entry).await.expect("create"),
        None
    );
    assert_eq!(records(db, ME, "account.created").await, 2);
    let stored = db.account_by_name("ana").await.expect("get").expect("ana");
    assert_eq!(stored.account, ana);
    assert_eq!(stored.password_hash, "$argon2id$v=19$stand-in");
    assert!(db.account_by_name("nobody").await.expect("get").is_none());
    let names: Vec<String> = db
        .accounts()
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["ana", "bo"]);

    // Two admins demote each other at once: exactly one of them wins.
    let role = by(ME, "account.role_changed", "race");
    let (first, second) = tokio::join!(
        db.set_role("ana", "viewer", &role),
        db.set_role("bo", "viewer", &role)
    );
    let outcomes = [first.expect("set role"), second.expect("set role")];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == AccountChange::LastAdmin)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(admins(db).await.len(), 1);
    for name in ["ana", "bo"] {
        changed(db.set_role(name, "admin", &role).await.expect("promote"));
    }
    // And disable each other at once.
    let disable = by(ME, "account.disabled", "race");
    let (first, second) = tokio::join!(
        db.set_disabled("ana", true, &disable),
        db.set_disabled("bo", true, &disable)
    );
    let outcomes = [first.expect("disable"), second.expect("disable")];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == AccountChange::LastAdmin)
            .count(),
        1,
        "{outcomes:?}"
    );
    let enable = by(ME, "account.enabled", "race");
    for name in ["ana", "bo"] {
        assert!(!changed(db.set_disabled(name, false, &enable).await.expect("enable")).disabled);
    }
    assert_eq!(admins(db).await, ["ana", "bo"]);

    // One admin left: bo cannot be demoted or disabled, by anyone.
    assert!(
        !changed(
            db.set_role("ana", "moderator", &role)
                .await
                .expect("demote")
        )
        .disabled
    );
    for outcome in [
        db.set_role("bo", "viewer", &role).await,
        db.set_role("bo", "moderator", &role).await,
        db.set_disabled("bo", true, &disable).await,
    ] {
        assert_eq!(outcome.expect("refused"), AccountChange::LastAdmin);
    }
    // Staying admin is no demotion; a disabled admin does not count.
    assert_eq!(
        changed(db.set_role("bo", "admin", &role).await.expect("same")).role,
        "admin"
    );
    changed(db.set_role("ana", "admin", &role).await.expect("promote"));
    assert!(
        changed(
            db.set_disabled("ana", true, &disable)
                .await
                .expect("disable")
        )
        .disabled
    );
    let again = db.set_disabled("ana", true, &disable).await.expect("again");
    assert!(changed(again).disabled, "disabling twice is no error");
    assert_eq!(
        db.set_role("bo", "viewer", &role).await.expect("refused"),
        AccountChange::LastAdmin
    );
    assert_eq!(
        db.set_role("nobody", "viewer", &role).await.expect("set"),
        AccountChange::NotFound
    );
    assert_eq!(
        db.set_disabled("nobody", true, &disable)
            .await
            .expect("set"),
        AccountChange::NotFound
    );
    changed(
        db.set_disabled("ana", false, &enable)
            .await
            .expect("enable"),
    );

    // Records of what happened, none of what was refused.
    assert_eq!(records(db, ME, "account.role_changed").await, 6);
    assert_eq!(records(db, ME, "account.disabled").await, 3);
    assert_eq!(records(db, ME, "account.enabled").await, 3);
}

/// Sessions end with a password change, a disabled account, a sign-out.
async fn sessions_story(db: &Database) {
    const ME: &str = "sessions";
    let cy = add(db, ME, "cy", "moderator").await;
    assert!(
        db.create_session("s1", "cy", Some("10.0.0.1"), Some("test"))
            .await
            .expect("session")
    );
    let found = db.session_account("s1", HOUR, HOUR).await.expect("get");
    assert_eq!(found, Some(cy.clone()));
    assert!(
        !db.create_session("s0", "nobody", None, None)
            .await
            .expect("session")
    );
    assert!(
        db.session_account("s0", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );

    // A new password signs everyone out.
    let reset = by(ME, "account.password_reset", "cy");
    assert!(
        db.set_password("cy", "new-hash", &reset)
            .await
            .expect("set")
    );
    assert!(
        db.session_account("s1", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );
    let stored = db.account_by_name("cy").await.expect("get").expect("cy");
    assert_eq!(stored.password_hash, "new-hash");
    assert!(stored.account.password_changed_at >= cy.created_at);
    assert!(!db.set_password("nobody", "x", &reset).await.expect("set"));
    assert_eq!(records(db, ME, "account.password_reset").await, 1);

    // A disabled account's sessions end, and it gets no new one.
    assert!(
        db.create_session("s2", "cy", None, None)
            .await
            .expect("session")
    );
    let disable = by(ME, "account.disabled", "cy");
    changed(
        db.set_disabled("cy", true, &disable)
            .await
            .expect("disable"),
    );
    assert!(
        db.session_account("s2", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        !db.create_session("s3", "cy", None, None)
            .await
            .expect("session")
    );
    let enable = by(ME, "account.enabled", "cy");
    changed(db.set_disabled("cy", false, &enable).await.expect("enable"));
    assert!(
        db.session_account("s2", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );

    // Signing out: one session, or all of an account's.
    for id in ["s4", "s5", "s6"] {
        assert!(
            db.create_session(id, "cy", None, None)
                .await
                .expect("session")
        );
    }
    assert!(db.end_session("s4").await.expect("end"));
    assert!(!db.end_session("s4").await.expect("end"));
    assert_eq!(db.end_sessions_of("cy").await.expect("end all"), 2);
    assert!(
        db.session_account("s5", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );
}

/// Sessions expire when idle too long (use keeps one alive) and when too
/// old (whatever the use); expired ones are pruned.
async fn expiry_story(db: &Database) {
    const ME: &str = "expiry";
    let fay = add(db, ME, "fay", "viewer").await;
    let ms = Duration::from_millis;

    assert!(
        db.create_session("old", "fay", None, None)
            .await
            .expect("session")
    );
    assert!(
        db.session_account("old", HOUR, ms(600))
            .await
            .expect("get")
            .is_some()
    );
    tokio::time::sleep(ms(700)).await;
    assert!(
        db.session_account("old", HOUR, ms(600))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        db.session_account("old", HOUR, HOUR)
            .await
            .expect("get")
            .is_none(),
        "an expired session is deleted"
    );

    assert!(
        db.create_session("idle", "fay", None, None)
            .await
            .expect("session")
    );
    let idle = ms(800);
    assert_eq!(
        db.session_account("idle", idle, HOUR).await.expect("get"),
        Some(fay)
    );
    tokio::time::sleep(ms(500)).await;
    assert!(
        db.session_account("idle", idle, HOUR)
            .await
            .expect("get")
            .is_some()
    );
    tokio::time::sleep(ms(500)).await;
    // 1 s since it began, 0.5 s since it was last used.
    assert!(
        db.session_account("idle", idle, HOUR)
            .await
            .expect("get")
            .is_some()
    );
    tokio::time::sleep(ms(1000)).await;
    assert!(
        db.session_account("idle", idle, HOUR)
            .await
            .expect("get")
            .is_none()
    );

    assert!(
        db.create_session("pruned", "fay", None, None)
            .await
            .expect("session")
    );
    assert!(
        db.create_session("kept", "fay", None, None)
            .await
            .expect("session")
    );
    tokio::time::sleep(ms(300)).await;
    // Used after 0.3 s with a 1 s idle limit: its last use is noted.
    assert!(
        db.session_account("kept", ms(1000), HOUR)
            .await
            .expect("get")
            .is_some()
    );
    assert_eq!(db.prune_sessions(ms(200), HOUR).await.expect("prune"), 1);
    assert!(
        db.session_account("pruned", HOUR, HOUR)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        db.session_account("kept", HOUR, HOUR)
            .await
            .expect("get")
            .is_some()
    );
}

/// Tokens: named per account, revocable, dead with a disabled account
/// (and back with it), their last use noted.
async fn tokens_story(db: &Database) {
    const ME: &str = "tokens";
    add(db, ME, "dee", "moderator").await;
    add(db, ME, "eve", "viewer").await;
    let made = by(ME, "token.created", "dee");
    let TokenCreated::Created(ci) = db
        .create_token("dee", "ci", "h-ci", &made)
        .await
        .expect("make")
    else {
        panic!("a new token")
    };
    assert_eq!((ci.account.as_str(), ci.name.as_str()), ("dee", "ci"));
    assert_eq!((ci.last_used_at, ci.revoked_at), (None, None));
    let taken = db
        .create_token("dee", "ci", "h-other", &made)
        .await
        .expect("make");
    assert_eq!(taken, TokenCreated::NameTaken);
    let orphan = db
        .create_token("nobody", "ci", "h-none", &made)
        .await
        .expect("make");
    assert_eq!(orphan, TokenCreated::NoAccount);
    assert_eq!(records(db, ME, "token.created").await, 1);

    let holder = db
        .account_for_token("h-ci")
        .await
        .expect("find")
        .expect("live");
    assert_eq!(holder.account.name, "dee");
    assert_eq!(
        (holder.token_id.as_str(), holder.token_name.as_str()),
        (ci.id.as_str(), "ci")
    );
    assert!(
        db.account_for_token("h-unknown")
            .await
            .expect("find")
            .is_none()
    );
    let used = db.tokens(Some("dee")).await.expect("list")[0].last_used_at;
    assert!(used.is_some(), "its use is noted");
    db.account_for_token("h-ci")
        .await
        .expect("find")
        .expect("live");
    let listed = db.tokens(Some("dee")).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, used, "at most once a minute");

    // Tokens of a disabled account stop working, and work again with it.
    let TokenCreated::Created(eves) = db
        .create_token("eve", "export", "h-eve", &made)
        .await
        .expect("make")
    else {
        panic!("a new token")
    };
    let disable = by(ME, "account.disabled", "eve");
    changed(
        db.set_disabled("eve", true, &disable)
            .await
            .expect("disable"),
    );
    assert!(db.account_for_token("h-eve").await.expect("find").is_none());
    let enable = by(ME, "account.enabled", "eve");
    changed(
        db.set_disabled("eve", false, &enable)
            .await
            .expect("enable"),
    );
    assert!(db.account_for_token("h-eve").await.expect("find").is_some());
    let all: Vec<String> = db
        .tokens(None)
        .await
        .expect("all")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all[..2], [eves.id.clone(), ci.id.clone()], "newest first");

    // Revoked: by its owner (not by another), or by an admin.
    let revoke = by(ME, "token.revoked", "ci");
    assert!(
        !db.revoke_token(&ci.id, Some("eve"), &revoke)
            .await
            .expect("revoke")
    );
    assert!(db.account_for_token("h-ci").await.expect("find").is_some());
    assert!(
        db.revoke_token(&ci.id, Some("dee"), &revoke)
            .await
            .expect("revoke")
    );
    assert!(
        !db.revoke_token(&ci.id, None, &revoke)
            .await
            .expect("revoke"),
        "already"
    );
    assert!(db.account_for_token("h-ci").await.expect("find").is_none());
    assert!(
        db.tokens(Some("dee")).await.expect("list")[0]
            .revoked_at
            .is_some()
    );
    assert!(
        db.revoke_token(&eves.id, None, &revoke)
            .await
            .expect("revoke")
    );
    assert!(db.account_for_token("h-eve").await.expect("find").is_none());
    assert_eq!(records(db, ME, "token.revoked").await, 2);
    // A revoked token's name is free again.
    let renewed = db
        .create_token("dee", "ci", "h-ci-2", &made)
        .await
        .expect("make");
    assert!(matches!(renewed, TokenCreated::Created(_)), "{renewed:?}");
}

/// Sign-in failures lock a key after N within a window, for a while.
async fn slowdown_story(db: &Database) {
    let ms = Duration::from_millis;
    let key = "name:gus";
    assert_eq!(db.sign_in_locked(key).await.expect("locked?"), None);
    for _ in 0..2 {
        assert_eq!(
            db.sign_in_failed(key, HOUR, 3, ms(2000))
                .await
                .expect("fail"),
            None
        );
    }
    assert_eq!(db.sign_in_locked(key).await.expect("locked?"), None);
    let locked = db
        .sign_in_failed(key, HOUR, 3, ms(2000))
        .await
        .expect("fail");
    assert_eq!(locked, Some(ms(2000)));
    let left = db
        .sign_in_locked(key)
        .await
        .expect("locked?")
        .expect("locked");
    assert!(left > ms(1000) && left <= ms(2000), "{left:?}");
    assert_eq!(
        db.sign_in_locked("name:other").await.expect("locked?"),
        None
    );
    db.sign_in_succeeded(key).await.expect("forget");
    assert_eq!(db.sign_in_locked(key).await.expect("locked?"), None);

    // Failures older than the window do not count; a lock ends.
    let key = "address:192.0.2.7";
    assert_eq!(
        db.sign_in_failed(key, ms(300), 2, ms(300))
            .await
            .expect("fail"),
        None
    );
    tokio::time::sleep(ms(400)).await;
    assert_eq!(
        db.sign_in_failed(key, ms(300), 2, ms(300))
            .await
            .expect("fail"),
        None
    );
    assert!(
        db.sign_in_failed(key, ms(300), 2, ms(300))
            .await
            .expect("fail")
            .is_some()
    );
    assert!(db.sign_in_locked(key).await.expect("locked?").is_some());
    tokio::time::sleep(ms(400)).await;
    assert_eq!(db.sign_in_locked(key).await.expect("locked?"), None);
    assert!(db.prune_sign_in_failures(ms(100)).await.expect("prune") >= 1);
}

/// The audit log: newest first, filtered, paged, and append-only for
/// everyone, adpipe's own SQL included.
async fn audit_story(db: &Database, url: &str) {
    let actor = "account:auditor";
    let first = AuditEntry::new(actor, "ad.decided")
        .target("ad:1")
        .detail(serde_json::json!({ "outcome": "approved" }))
        .client(Some("203.0.113.9"), Some("Firefox"));
    db.append_audit(&first).await.expect("append");
    let since = adpipe_store::now_millis();
    db.append_audit(&AuditEntry::new(actor, "ad.claimed").target("ad:2"))
        .await
        .expect("append");
    db.append_audit(&AuditEntry::new(actor, "ad.decided").target("ad:2"))
        .await
        .expect("append");

    let mine = AuditFilter {
        actor: Some(actor),
        ..AuditFilter::default()
    };
    let all = db.audit(&mine).await.expect("audit");
    let targets: Vec<&str> = all.iter().filter_map(|r| r.target.as_deref()).collect();
    assert_eq!(targets, ["ad:2", "ad:2", "ad:1"], "newest first");
    assert!(all[0].seq > all[1].seq && all[1].seq > all[2].seq);
    let oldest = &all[2];
    assert_eq!(
        (oldest.actor.as_str(), oldest.action.as_str()),
        (actor, "ad.decided")
    );
    assert_eq!(
        oldest.detail,
        Some(serde_json::json!({ "outcome": "approved" }))
    );
    assert_eq!(oldest.address.as_deref(), Some("203.0.113.9"));
    assert_eq!(oldest.user_agent.as_deref(), Some("Firefox"));
    assert!(oldest.at > 0 && oldest.at <= since);

    let decided = AuditFilter {
        action: Some("ad.decided"),
        ..mine
    };
    assert_eq!(db.audit(&decided).await.expect("audit").len(), 2);
    let page = AuditFilter { limit: 2, ..mine };
    let first_page = db.audit(&page).await.expect("audit");
    assert_eq!(first_page.len(), 2);
    let next = AuditFilter {
        before_seq: Some(first_page[1].seq),
        ..page
    };
    assert_eq!(db.audit(&next).await.expect("audit"), all[2..]);
    let recent = AuditFilter {
        since: Some(since),
        ..mine
    };
    assert!(db.audit(&recent).await.expect("audit").len() >= 2);

    // Nobody edits it: not an update, not a delete, not a truncate.
    let mut raw = sqlx::AnyConnection::connect(url).await.expect("raw");
    let mut refused = vec![
        "UPDATE audit_log SET actor = 'account:someone-else'",
        "UPDATE audit_log SET detail = NULL WHERE actor = 'account:auditor'",
        "DELETE FROM audit_log WHERE actor = 'account:auditor'",
        "DELETE FROM audit_log",
    ];
    if db.backend() == Backend::Postgres {
        refused.push("TRUNCATE audit_log");
    }
    for sql in refused {
        assert!(sqlx::query(sql).execute(&mut raw).await.is_err(), "{sql}");
    }
    raw.close().await.ok();
    assert_eq!(db.audit(&mine).await.expect("audit"), all);
}

async fn every_story(db: &Database, url: &str) {
    accounts_story(db).await;
    sessions_story(db).await;
    expiry_story(db).await;
    tokens_story(db).await;
    slowdown_story(db).await;
    audit_story(db, url).await;
}

#[tokio::test]
async fn accounts_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("adpipe-accounts-{}", AdId::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("adpipe.db").display());
    let db = Database::connect(&url, 4).await.expect("sqlite");
    every_story(&db, &url).await;
    db.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn accounts_on_postgres() {
    let (admin, name, url) = support::fresh_postgres("adpipe_accounts").await;
    let db = Database::connect(&url, 4).await.expect("postgres");
    every_story(&db, &url).await;
    db.close().await;
    support::drop_postgres(admin, &name).await;
}
