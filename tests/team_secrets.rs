//! Passwords, API tokens and session ids are never kept or logged in
//! clear: a whole moderation team's life (accounts made over HTTP and on
//! the command line, sign-ins good and bad, a token made and used, a
//! password changed) on `adpipe serve` logging at debug level, then every
//! byte of the data directory (the SQLite file, its WAL) and of the logs
//! is searched for each secret.

mod support;

use std::io::Write;
use std::process::Stdio;

use support::{Api, Deployment, Processes};

const BOOTSTRAP: &str = "bootstrap-secret-8c1d4e2f";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Every file under `dir`, read whole.
fn every_byte_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push((path.display().to_string(), bytes));
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn no_password_token_or_session_id_is_kept_or_logged_in_clear() {
    let mut processes = Processes::new();
    let deployment = Deployment::embedded(&processes)
        .with("ADPIPE_ADMIN_TOKEN", BOOTSTRAP)
        .with("ADPIPE_RATE_LIMIT_PER_MINUTE", "0");
    // Debug level: what an operator turns on when something is wrong.
    let mut command = processes.command(&["serve"], &deployment.vars);
    command.env("RUST_LOG", "debug,ort=warn,hyper=info,h2=info");
    processes.spawn_command("serve", command);
    let api = Api::new(deployment.port);
    api.wait_until_up(&mut processes).await;
    let bootstrap = api.as_token(BOOTSTRAP);

    let mut secrets: Vec<(String, &str)> = vec![(BOOTSTRAP.to_owned(), "the bootstrap token")];
    // An account over HTTP with a chosen password, one generated.
    let chosen = "ada-chose-this-password-77";
    secrets.push((chosen.to_owned(), "a chosen password"));
    let made = bootstrap.add_user("ada", "admin", Some(chosen)).await;
    assert_eq!(made.status, 201);
    let made = bootstrap.add_user("mo", "moderator", None).await;
    let generated = made["password"].as_str().expect("generated").to_owned();
    secrets.push((generated.clone(), "a generated password"));
    // One on the command line, its password on stdin.
    let piped = "cli-piped-password-4242";
    secrets.push((piped.to_owned(), "a password piped to adpipe users"));
    let mut cli = processes
        .command(
            &["users", "add", "cy", "--role", "viewer"],
            &deployment.vars,
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("adpipe users add");
    cli.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{piped}\n").as_bytes())
        .expect("write the password");
    let output = cli.wait_with_output().expect("adpipe users add");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!contains(&output.stdout, piped) && !contains(&output.stderr, piped));

    // A wrong password, then sign-ins that work; a token made and used.
    let wrong = "not-adas-password-but-close";
    secrets.push((wrong.to_owned(), "a wrong password tried"));
    assert_eq!(api.sign_in("ada", wrong).await.status, 401);
    let signed_in = api.sign_in("ada", chosen).await;
    assert_eq!(signed_in.status, 200);
    let cookie = signed_in.session_cookie().expect("cookie");
    let session = cookie.trim_start_matches("adpipe_session=").to_owned();
    assert!(session.starts_with("ses_"), "{cookie}");
    secrets.push((session, "a session id"));
    let ada = api.with_cookie(&cookie);
    let token = ada.new_token("export").await;
    assert_eq!(api.as_token(&token).reviews().await.status, 200);
    secrets.push((token, "an API token"));
    // A password changed.
    let changed = "ada-changed-it-to-this-99";
    secrets.push((changed.to_owned(), "a changed password"));
    assert_eq!(ada.change_password(chosen, changed).await.status, 204);

    processes.stop_gracefully();
    let logs = processes.logs();
    assert!(
        logs.contains("bootstrap admin"),
        "the bootstrap token is announced:\n{logs}"
    );
    let stored = every_byte_under(&processes.dir.join("data"));
    assert!(
        stored.iter().any(|(path, _)| path.ends_with("adpipe.db")),
        "the database is among the files"
    );
    for (secret, what) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{what} is in the logs");
        for (path, bytes) in &stored {
            assert!(
                !contains(bytes, secret),
                "{what} is stored in clear in {path}"
            );
        }
    }
    // What is kept instead: Argon2id hashes and SHA-256 digests.
    let database = &stored
        .iter()
        .find(|(path, _)| path.ends_with("adpipe.db"))
        .expect("database")
        .1;
    assert!(
        contains(database, "$argon2id$"),
        "passwords as Argon2id hashes"
    );
}
