//! Every valid fixture loads; every invalid one is rejected by the real
//! binary with exit 78 and names the key its first line expects.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn check(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kameo-bot"))
        .env_clear()
        .args(["config", "check", "--config"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_valid_fixture_loads() {
    let files = fixtures("valid");
    assert!(files.len() >= 4);
    for file in files {
        let (code, out) = check(&file);
        assert_eq!(code, 0, "{} should be valid:\n{out}", file.display());
        assert!(out.contains("is valid"), "{out}");
    }
}

#[test]
fn the_example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/kameo-bot.example.toml");
    let (code, out) = check(&example);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn every_invalid_fixture_fails_naming_its_key() {
    let files = fixtures("invalid");
    assert!(files.len() >= 15, "only {} invalid fixtures", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks '# expect: KEY'", file.display()))
            .trim()
            .to_string();
        let (code, out) = check(&file);
        assert_eq!(code, 78, "{} should exit 78:\n{out}", file.display());
        assert!(
            out.contains(&format!("error: {expected}:")),
            "{} should name `{expected}`:\n{out}",
            file.display()
        );
    }
}

#[test]
fn a_named_file_that_is_missing_is_an_error() {
    let (code, out) = check(Path::new("/nonexistent/kameo-bot.toml"));
    assert_eq!(code, 78);
    assert!(out.contains("does not exist"), "{out}");
}

#[test]
fn config_show_masks_secrets_and_shows_env_values() {
    let out = Command::new(env!("CARGO_BIN_EXE_kameo-bot"))
        .env_clear()
        .env("KAMEO_EMAIL", "a@b.se")
        .env("MIN_INTEREST_RATE", "8.5")
        .env("KAMEO_PASSWORD", "x")
        .env("KAMEO_TOTP_SECRET", "JBSWY3DPEHPK3PXP")
        .args(["config", "show", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/kameo-bot.example.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("email = \"a@b.se\""), "{stdout}");
    assert!(stdout.contains("min_interest_rate = 8.5"), "{stdout}");
    assert!(stdout.contains("password = \"********\""), "{stdout}");
    assert!(
        stdout.contains("kameo.password = ******** from environment variable KAMEO_PASSWORD"),
        "{stdout}"
    );
    assert!(!stdout.contains("JBSWY3DPEHPK3PXP"), "{stdout}");
    // The password `x` must not appear as a value anywhere.
    assert!(!stdout.lines().any(|l| l.ends_with("= \"x\"")), "{stdout}");
}
