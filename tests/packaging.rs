//! Operations: `health`, the systemd unit (score and verify where
//! systemd-analyze exists), and the Dockerfile's instructions (images cannot
//! be built here, so the file is checked by reading it).

use std::path::Path;
use std::process::Command;

use kameo_bot::ledger::Ledger;
use time::{Duration, OffsetDateTime};

const BIN: &str = env!("CARGO_BIN_EXE_kameo-bot");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn health(ledger: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .env_clear()
        .env("KAMEO_BOT__LEDGER__PATH", ledger)
        .env("KAMEO_BOT__DAEMON__POLL_INTERVAL", "60s")
        .arg("health")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

#[test]
fn health_is_0_on_a_fresh_heartbeat_and_1_on_a_stale_or_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let (code, line) = health(&path);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("no ledger"), "{line}");

    let ledger = Ledger::open(&path).unwrap();
    let (code, line) = health(&path);
    assert_eq!((code, line.contains("no cycle has succeeded")), (1, true), "{line}");

    // A failed cycle is no heartbeat.
    let failed = ledger.begin_cycle(false, OffsetDateTime::now_utc()).unwrap();
    ledger
        .finish_cycle(failed, 0, 0, Some("Kameo down"), OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(health(&path).0, 1);

    let stale = OffsetDateTime::now_utc() - Duration::minutes(4);
    let id = ledger.begin_cycle(false, stale).unwrap();
    ledger.finish_cycle(id, 3, 0, None, stale).unwrap();
    let (code, line) = health(&path);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("limit 180s"), "{line}");

    let id = ledger.begin_cycle(false, OffsetDateTime::now_utc()).unwrap();
    ledger.finish_cycle(id, 3, 0, None, OffsetDateTime::now_utc()).unwrap();
    let (code, line) = health(&path);
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("healthy"), "{line}");
}

fn unit() -> String {
    std::fs::read_to_string(root().join("systemd/kameo-bot.service")).unwrap()
}

#[test]
fn the_unit_has_what_operations_rely_on() {
    let unit = unit();
    let lines: Vec<&str> = unit.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    for needed in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartPreventExitStatus=77 78",
        "StateDirectory=kameo-bot",
        "ConfigurationDirectory=kameo-bot",
        "LoadCredential=kameo_password:/etc/kameo-bot/credentials/kameo_password",
        "LoadCredential=kameo_totp_secret:/etc/kameo-bot/credentials/kameo_totp_secret",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
        "UMask=0077",
    ] {
        assert!(lines.contains(&needed), "the unit lacks `{needed}`");
    }
    assert!(lines.iter().any(|l| l.starts_with("WatchdogSec=")));
    assert!(lines.iter().any(|l| l.starts_with("RestrictAddressFamilies=")));
    let lower = unit.to_lowercase();
    assert!(
        !lower.contains("kameo_password=") && !lower.contains("environment=kameo_password"),
        "no secret in the unit"
    );
}

fn systemd_analyze() -> Option<&'static str> {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "systemd-analyze")
}

#[test]
fn the_unit_scores_at_most_1_5_and_verifies_clean() {
    let Some(tool) = systemd_analyze() else {
        eprintln!("systemd-analyze is not installed: score and verify not checked here");
        return;
    };
    let out = Command::new(tool)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(root().join("systemd/kameo-bot.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for kameo-bot.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no score in:\n{text}"));
    assert!(score <= 1.5, "exposure {score} > 1.5:\n{text}");

    // verify wants ExecStart to exist: point a copy at the built binary.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("kameo-bot.service");
    std::fs::write(&copy, unit().replace("/usr/local/bin/kameo-bot", BIN)).unwrap();
    let out = Command::new(tool).arg("verify").arg(&copy).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
}

#[test]
fn the_dockerfile_builds_small_runs_unprivileged_and_checks_health() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    // Instructions, with line continuations joined.
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let all = |keyword: &str| {
        instructions
            .iter()
            .filter(move |l| l.starts_with(keyword))
            .copied()
            .collect::<Vec<_>>()
    };
    assert!(all("FROM ").len() >= 2, "multi-stage");
    assert!(
        all("RUN ").iter().any(|r| r.contains("cargo build --release --locked")),
        "a locked release build"
    );
    let user = all("USER ");
    let user = user.last().expect("a USER");
    assert!(
        !user.contains("root") && !user.ends_with(" 0") && !user.contains(" 0:"),
        "non-root: {user}"
    );
    assert!(all("VOLUME ").iter().any(|v| v.contains("/var/lib/kameo-bot")));
    assert!(
        all("HEALTHCHECK ")
            .iter()
            .any(|h| h.contains("kameo-bot") && h.contains("health"))
    );
    assert!(all("STOPSIGNAL ").iter().any(|s| s.contains("SIGTERM")));
    assert!(joined.contains("KAMEO_BOT_CONFIG=/etc/kameo-bot/config.toml"));
    assert!(joined.contains("KAMEO_BOT__LOGGING__FORMAT=json"));
    // The build context the Dockerfile copies exists, and the ignore file keeps target/ out.
    for copied in ["Cargo.toml", "Cargo.lock", "src"] {
        assert!(root().join(copied).exists(), "{copied}");
    }
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "target/"));
}
