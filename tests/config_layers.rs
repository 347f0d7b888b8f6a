//! The layering order: defaults ← TOML ← KAMEO_BOT__ env ← plain names ←
//! *_FILE ← systemd credentials; secrets read raw.

use std::os::unix::fs::PermissionsExt;

use kameo_bot::config::{EnvMap, SecretSource, Severity, load};

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn each_layer_overrides_the_one_below() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "c.toml",
        "[strategy]\nmin_interest_rate = 9.0\nbid_amount = 1000\nmax_bid_amount = 2000\n[daemon]\npoll_interval = \"2m\"\n",
        0o600,
    );
    let loaded = load(
        Some(&file),
        &env(&[
            ("KAMEO_BOT__STRATEGY__BID_AMOUNT", "1500"),
            ("KAMEO_BOT__STRATEGY__MIN_INTEREST_RATE", "9.5"),
            ("MIN_INTEREST_RATE", "10.25"),
            ("KAMEO_BOT__KAMEO__COUNTRIES", "[\"sweden\", \"norway\"]"),
            ("KAMEO_BOT__DAEMON__POLL_INTERVAL", "90s"),
        ]),
    )
    .unwrap();
    let c = &loaded.config;
    assert_eq!(c.strategy.bid_amount, 1500, "env beats file");
    assert_eq!(c.strategy.max_bid_amount, 2000, "file beats default");
    assert_eq!(c.strategy.min_interest_rate, 10.25, "plain name beats KAMEO_BOT__");
    assert_eq!(c.kameo.countries, ["sweden", "norway"]);
    assert_eq!(c.daemon.poll_interval.get().as_secs(), 90);
    assert_eq!(c.strategy.daily_budget, 50_000, "default kept");
    assert!(c.daemon.dry_run, "dry run is the default");
}

#[test]
fn secrets_are_read_raw_and_credentials_win() {
    let dir = tempfile::tempdir().unwrap();
    let pw_file = write(&dir, "pw", "012345\n", 0o600);
    let creds = tempfile::tempdir().unwrap();
    write(&creds, "kameo_totp_secret", "JBSWY3DPEHPK3PXP\n", 0o600);

    let loaded = load(
        None,
        &env(&[
            ("KAMEO_PASSWORD", "from-env"),
            ("KAMEO_PASSWORD_FILE", pw_file.to_str().unwrap()),
            ("KAMEO_TOTP_SECRET", "AAAAAAAAAAAAAAAA"),
            ("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap()),
        ]),
    )
    .unwrap();
    let k = &loaded.config.kameo;
    assert_eq!(
        k.password.as_ref().unwrap().expose(),
        "012345",
        "leading zero kept, newline dropped"
    );
    assert_eq!(k.totp_secret.as_ref().unwrap().expose(), "JBSWY3DPEHPK3PXP");
    assert!(matches!(
        loaded.secret_sources["kameo.password"],
        SecretSource::EnvFile { .. }
    ));
    assert!(matches!(
        loaded.secret_sources["kameo.totp_secret"],
        SecretSource::Credential(_)
    ));
}

#[test]
fn numeric_env_password_keeps_leading_zero() {
    let loaded = load(None, &env(&[("KAMEO_BOT__KAMEO__PASSWORD", "0012")])).unwrap();
    assert_eq!(loaded.config.kameo.password.unwrap().expose(), "0012");
}

#[test]
fn a_readable_file_with_a_secret_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let open = write(&dir, "open.toml", "[kameo]\npassword = \"pw\"\n", 0o644);
    let loaded = load(Some(&open), &EnvMap::new()).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].severity, Severity::Warning);
    assert!(loaded.warnings[0].message.contains("open.toml"));
    assert!(!loaded.warnings[0].message.contains("pw\""));

    let closed = write(&dir, "closed.toml", "[kameo]\npassword = \"pw\"\n", 0o600);
    assert!(load(Some(&closed), &EnvMap::new()).unwrap().warnings.is_empty());
}

#[test]
fn bad_env_values_name_key_and_variable_and_all_problems_are_listed() {
    let err = load(
        None,
        &env(&[
            ("MAX_BID_AMOUNT", "plenty"),
            ("RESERVE_PERCENTAGE", "2"),
            ("KAMEO_BOT__DAEMON__POLL_INTERVAL", "soon"),
            ("KAMEO_BOT__KAMEO__API_URL", "::"),
        ]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("strategy.max_bid_amount") && text.contains("MAX_BID_AMOUNT"),
        "{text}"
    );
    assert!(text.contains("daemon.poll_interval"), "{text}");
    assert!(text.contains("kameo.api_url"), "{text}");
    assert!(err.problems().len() >= 3, "{text}");
}

#[test]
fn kameo_bot_config_env_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "c.toml", "[strategy]\nbid_amount = 700\n", 0o600);
    let loaded = load(None, &env(&[("KAMEO_BOT_CONFIG", file.to_str().unwrap())])).unwrap();
    assert_eq!(loaded.config.strategy.bid_amount, 700);
    assert_eq!(loaded.file.as_deref(), Some(file.as_path()));
}
