//! The configuration as users write it: names, types, precedence, secrets.
use super::*;

#[test]
fn secrets_never_reach_the_printed_configuration() {
    let mut config = Config {
        admin_token: Some(Secret::new("tok-123")),
        ..Config::default()
    };
    config.s3.secret_key = Some(Secret::new("sk-456"));
    config.s3.access_key = Some(Secret::new("ak-789"));
    config.smtp.password = Some(Secret::new("pw-000"));
    // Issue 17's leak: a password with an unencoded '/'.
    config.database_url = Some(SecretUrl::new("postgres://u:Se/cr3t@h/d"));
    config.amqp_url = Some(SecretUrl::new("amqp://u:mq?pass@h/"));
    let shown = config.redacted_toml();
    let debugged = format!("{config:?}");
    for secret in [
        "tok-123", "sk-456", "ak-789", "pw-000", "Se/cr3t", "mq?pass",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
        assert!(!debugged.contains(secret), "{secret} leaked:\n{debugged}");
    }
    assert!(shown.contains("postgres://u:***@h/d"), "{shown}");
    assert!(shown.contains("admin_token = \"***\""));
}

#[test]
fn defaults_come_from_the_crates_that_use_them() {
    let api = adpipe_api::ApiConfig::default();
    let section = ApiSection::default();
    assert_eq!(section.rate_limit_per_minute, api.rate_limit_per_minute);
    assert_eq!(section.rate_limit_burst, api.rate_limit_burst);
    assert_eq!(
        Config::default().decode_limits(),
        adpipe_image::DecodeLimits::default()
    );
}

/// The names scripts, compose files and the README rely on.
const DOCUMENTED: &[&str] = &[
    "ADPIPE_HTTP_ADDR",
    "ADPIPE_DATA_DIR",
    "ADPIPE_DATABASE_URL",
    "ADPIPE_DATABASE_MAX_CONNECTIONS",
    "ADPIPE_AMQP_URL",
    "ADPIPE_AMQP_QUEUE",
    "ADPIPE_AMQP_DELIVERY_LIMIT",
    "ADPIPE_PUBLIC_URL",
    "ADPIPE_ADMIN_TOKEN",
    "ADPIPE_MODEL",
    "ADPIPE_POLICY",
    "ADPIPE_GATES",
    "ADPIPE_ORT_LIB",
    "ADPIPE_DEVICE",
    "ADPIPE_MODEL_CACHE",
    "ADPIPE_SHADOW_MODEL",
    "ADPIPE_LOG_JSON",
    "ADPIPE_TRUSTED_PROXIES",
    "ADPIPE_METRICS_ADDR",
    "ADPIPE_S3_ENDPOINT",
    "ADPIPE_S3_BUCKET",
    "ADPIPE_S3_REGION",
    "ADPIPE_S3_ACCESS_KEY",
    "ADPIPE_S3_SECRET_KEY",
    "ADPIPE_S3_PATH_STYLE",
    "ADPIPE_SMTP_HOST",
    "ADPIPE_SMTP_PORT",
    "ADPIPE_SMTP_USERNAME",
    "ADPIPE_SMTP_PASSWORD",
    "ADPIPE_SMTP_TLS",
    "ADPIPE_SMTP_FROM",
    "ADPIPE_WEBHOOK_URL",
    "ADPIPE_WEBHOOK_SECRET",
    "ADPIPE_MAX_IMAGE_BYTES",
    "ADPIPE_MAX_IMAGE_PIXELS",
    "ADPIPE_REQUEST_TIMEOUT_SECS",
    "ADPIPE_RATE_LIMIT_PER_MINUTE",
    "ADPIPE_RATE_LIMIT_BURST",
    "ADPIPE_MAX_CONCURRENT_REQUESTS",
    "ADPIPE_MAX_CONNECTIONS",
    "ADPIPE_HEADER_READ_TIMEOUT_SECS",
    "ADPIPE_SESSION_IDLE_SECS",
    "ADPIPE_SESSION_MAX_SECS",
    "ADPIPE_CLAIM_SECS",
    "ADPIPE_WORKER_BATCH_SIZE",
    "ADPIPE_WORKER_MAX_WAIT_MS",
    "ADPIPE_WORKER_POLL_INTERVAL_MS",
    "ADPIPE_WORKER_LEASE_SECS",
    "ADPIPE_WORKER_MAX_ATTEMPTS",
    "ADPIPE_WORKER_SWEEP_INTERVAL_MS",
    "ADPIPE_WORKER_SWEEP_MIN_AGE_MS",
    "ADPIPE_WORKER_THREADS",
    "ADPIPE_WORKER_DECODE_THREADS",
];

fn from_vars(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    Config::from_sources(
        None,
        vars.iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    )
}

#[test]
fn every_setting_has_its_documented_variable() {
    let derived: Vec<String> = env::settings().into_keys().collect();
    let mut documented: Vec<String> = DOCUMENTED.iter().map(|name| name.to_string()).collect();
    documented.sort();
    assert_eq!(derived, documented);
}

#[test]
fn variables_are_read_as_their_settings_types() {
    let config = from_vars(&[
        ("ADPIPE_SMTP_PORT", "2525"),
        ("ADPIPE_S3_BUCKET", "123"),
        ("ADPIPE_S3_PATH_STYLE", "false"),
        ("ADPIPE_WORKER_THREADS", "3"),
        ("ADPIPE_LOG_JSON", "true"),
        ("ADPIPE_GATES", "a.toml,b.toml"),
        ("ADPIPE_ADMIN_TOKEN", ""),
        ("ADPIPE_METRICS_ADDR", ""),
        ("ADPIPE_MAX_IMAGE_PIXELS", "150000000"),
        ("ADPIPE_SMTP_PASSWORD", "0042"),
        ("ADPIPE_NOT_A_SETTING", "ignored"),
    ])
    .expect("valid");
    assert_eq!(config.smtp.port, 2525);
    assert_eq!(config.s3.bucket.as_deref(), Some("123"));
    assert_eq!(config.s3.path_style, Some(false));
    assert_eq!(config.worker.threads, Some(3));
    assert!(config.log_json);
    assert_eq!(
        config.gates,
        [PathBuf::from("a.toml"), PathBuf::from("b.toml")]
    );
    assert!(config.admin_token.is_none(), "empty means unset");
    assert!(config.metrics_addr.is_none(), "empty means unset");
    assert_eq!(config.api.max_image_pixels, 150_000_000);
    assert_eq!(
        config.smtp.password.as_ref().map(Secret::expose),
        Some("0042")
    );
}

#[test]
fn a_bad_variable_is_named_in_the_error() {
    for (name, value) in [
        ("ADPIPE_SMTP_PORT", "70000"),
        ("ADPIPE_WORKER_BATCH_SIZE", "many"),
        ("ADPIPE_WORKER_THREADS", "-1"),
        ("ADPIPE_LOG_JSON", "yes please"),
    ] {
        let error = from_vars(&[(name, value)]).expect_err(name).to_string();
        assert!(error.contains(name), "{error}");
    }
}

#[test]
fn variables_override_the_file() {
    let file = std::env::temp_dir().join(format!("adpipe-config-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        "http_addr = \"0.0.0.0:9\"\n[worker]\nbatch_size = 4\nthreads = 2\n",
    )
    .expect("write");
    let config = Config::from_sources(
        Some(&file),
        [("ADPIPE_WORKER_BATCH_SIZE".to_owned(), "16".to_owned())],
    )
    .expect("valid");
    let _ = std::fs::remove_file(&file);
    assert_eq!(config.http_addr, "0.0.0.0:9");
    assert_eq!(config.worker.batch_size, 16);
    assert_eq!(config.worker.threads, Some(2));
    assert_eq!(
        config.worker.lease_secs,
        WorkerSection::default().lease_secs
    );
}

#[test]
fn the_file_is_strict_about_names() {
    let error = toml::from_str::<Config>("htp_addr = \"x\"").unwrap_err();
    assert!(error.to_string().contains("htp_addr"));
    let config: Config = toml::from_str("[worker]\nbatch_size = 4\n").expect("valid");
    assert_eq!(config.worker.batch_size, 4);
    assert_eq!(config.http_addr, "127.0.0.1:8080");
}

#[test]
fn trusted_proxies_are_a_list_of_networks() {
    let config =
        from_vars(&[("ADPIPE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")]).expect("networks");
    assert_eq!(config.trusted_proxies, ["10.0.0.0/8", "192.0.2.7"]);
    assert!(!config.api_config().trusted_proxies.is_empty());
    let error = from_vars(&[("ADPIPE_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")])
        .expect_err("a host name is not a network")
        .to_string();
    assert!(error.contains("proxy.local"), "{error}");
}

#[test]
fn a_whsec_webhook_secret_must_be_base64_and_any_other_is_its_bytes() {
    for secret in [
        "an old secret, any text",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        let config = from_vars(&[
            ("ADPIPE_WEBHOOK_URL", "http://127.0.0.1:9/hooks"),
            ("ADPIPE_WEBHOOK_SECRET", secret),
        ])
        .expect(secret);
        let webhook = config.webhook_config().expect("webhooks on");
        assert_eq!(webhook.secret, secret, "handed on as written");
    }
    // URL-safe base64 (`-`, `_`): the libraries would derive another key.
    let url_safe = "whsec_MfKQ9r8GKYqrTwj-PD8ILPZIo2LaLa_w";
    let error = from_vars(&[("ADPIPE_WEBHOOK_SECRET", url_safe)])
        .expect_err("not base64")
        .to_string();
    assert!(error.contains("ADPIPE_WEBHOOK_SECRET"), "{error}");
    assert!(error.contains("base64"), "{error}");
    assert!(!error.contains("MfKQ9r8G"), "the secret leaked: {error}");
}
