//! JSON log lines carry timestamp, level and event at the top level, and a
//! configured password and TOTP secret never reach them, even at trace.

use kameo_bot::config::{EnvMap, LogFormat, LoggingConfig, load};
use kameo_bot::telemetry::{self, Console};

const PASSWORD: &str = "pw-Z9q!unique-4711";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";

#[test]
fn json_lines_have_the_stable_fields_and_no_secrets_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let logging = LoggingConfig {
        level: "trace".into(),
        format: LogFormat::Json,
        directory: dir.path().to_str().unwrap().into(),
    };
    let telemetry = telemetry::init(&logging, Console::Stderr).unwrap();

    let env: EnvMap = [
        ("KAMEO_PASSWORD", PASSWORD),
        ("KAMEO_TOTP_SECRET", TOTP_SECRET),
        ("KAMEO_EMAIL", "a@b.se"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let loaded = load(None, &env).unwrap();
    let kameo = &loaded.config.kameo;
    // Every way a careless line could format the secrets.
    tracing::trace!(event = "started", config = ?loaded.config, "config loaded");
    tracing::debug!(event = "login", password = ?kameo.password, totp = %kameo.totp_secret.as_ref().unwrap(), "debug");
    tracing::info!(event = "cycle", loaded = ?loaded, "info");
    let generator = kameo_bot::kameo::totp::TotpGenerator::new(kameo.totp_secret.as_ref().unwrap()).unwrap();
    tracing::trace!(event = "login", generator = ?generator, "totp ready");
    drop(telemetry); // flushes the non-blocking file writer

    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 4, "{text}");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["event"].is_string(), "{line}");
    }
    assert_eq!(lines[0]["event"], "started");
    assert_eq!(lines[0]["level"], "TRACE");
    assert!(!text.contains(PASSWORD), "password leaked:\n{text}");
    assert!(!text.contains(TOTP_SECRET), "TOTP secret leaked:\n{text}");
    assert!(!text.contains("JBSW Y3DP"), "TOTP secret leaked:\n{text}");
    assert!(text.contains("********"), "secrets should show masked:\n{text}");
}
