//! Stopping and starting the machine's own RabbitMQ and PostgreSQL, for
//! the tests that take them away (faults, chaos).
use std::process::Command;

/// Runs a command; a failure fails the test.
pub fn sh(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// The version of the machine's PostgreSQL cluster (`/etc/postgresql/N`).
fn postgres_version() -> String {
    std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .unwrap_or_else(|| "15".into())
}

/// `start`, `stop` or `restart` of the machine's PostgreSQL cluster.
pub fn postgres(action: &str) {
    sh(
        "pg_ctlcluster",
        &postgres_arguments(action).each_ref().map(String::as_str),
    );
}

fn postgres_arguments(action: &str) -> [String; 4] {
    [
        "--skip-systemctl-redirect".into(),
        postgres_version(),
        "main".into(),
        action.into(),
    ]
}

/// Starts RabbitMQ's application if it was stopped; never fails (a test
/// putting things back as it ends).
pub fn start_rabbitmq() {
    let _ = Command::new("rabbitmqctl").arg("start_app").status();
}

/// Starts PostgreSQL if it was stopped; never fails, as [`start_rabbitmq`].
pub fn start_postgres() {
    let _ = Command::new("pg_ctlcluster")
        .args(postgres_arguments("start"))
        .status();
}

/// Puts RabbitMQ and PostgreSQL back however a test ends (on drop).
pub struct RestoreServices;

impl Drop for RestoreServices {
    fn drop(&mut self) {
        start_rabbitmq();
        start_postgres();
    }
}
