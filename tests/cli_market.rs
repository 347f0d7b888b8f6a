//! `loans`, `balance` and `bid` of the real binary against a real
//! `kameo-bot simulate` process, with the base URLs pointed at it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use kameo_bot::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_kameo-bot");

struct Simulate {
    child: Child,
    api_url: String,
    web_url: String,
}

impl Drop for Simulate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn simulate() -> Simulate {
    let mut child = Command::new(BIN)
        .args(["simulate", "--listen", "127.0.0.1:0", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = |key: &str| loop {
        let line = lines.next().expect("simulate prints its URLs").unwrap();
        if let Some(rest) = line.trim().strip_prefix(&format!("{key} = \"")) {
            return rest.trim_end_matches('"').to_string();
        }
    };
    let api_url = url("api_url");
    let web_url = url("web_url");
    // Keep reading: a closed pipe would kill the simulator at its next line.
    std::thread::spawn(move || lines.for_each(drop));
    Simulate {
        child,
        api_url,
        web_url,
    }
}

/// Runs the binary in `dir` (its ledger directory), as an operator would.
fn run_in(dir: &std::path::Path, sim: &Simulate, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .current_dir(dir)
        .env("KAMEO_EMAIL", DEMO_EMAIL)
        .env("KAMEO_PASSWORD", DEMO_PASSWORD)
        .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
        .env("KAMEO_BASE_URL", &sim.api_url)
        .env("KAMEO_WEB_URL", &sim.web_url)
        .env("KAMEO_RATE_LIMIT_DELAY", "0")
        .env("KAMEO_BOT__KAMEO__COUNTRIES", "[\"sweden\", \"norway\", \"denmark\"]")
        .env("KAMEO_BOT__LEDGER__PATH", dir.join("ledger.sqlite"))
        .env("LOG_LEVEL", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn loans_balance_and_bid_work_against_the_simulator() {
    let sim = simulate();
    let dir = tempfile::tempdir().unwrap();
    let run = |sim: &Simulate, args: &[&str]| run_in(dir.path(), sim, args);

    // Three commands, three logins: single-use TOTP codes allow two per
    // 30-second step, so this test waits for one step at most.
    let table = run(&sim, &["loans"]);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table));
    let out = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(out.lines().next().unwrap().contains("subs%"), "{out}");
    assert!(out.contains("loan(s)"), "{out}");
    // An open SEK loan: state 20 in the table.
    let id = out
        .lines()
        .find(|l| l.contains(" SEK ") && l.contains("20 Öppen"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the seeded market has an open SEK loan")
        .to_string();

    let placed = run(&sim, &["bid", &id, "500", "--submit"]);
    assert_eq!(placed.status.code(), Some(0), "{}", text(&placed));
    assert!(text(&placed).contains("preview: 500 on loan"), "{}", text(&placed));
    assert!(text(&placed).contains("registered by Kameo"), "{}", text(&placed));

    let after = run(&sim, &["balance"]);
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("199 500,00"),
        "{}",
        text(&after)
    );
}

#[test]
fn a_refused_login_exits_77() {
    let sim = simulate();
    let out = Command::new(BIN)
        .env_clear()
        .env("KAMEO_EMAIL", DEMO_EMAIL)
        .env("KAMEO_PASSWORD", "Not-The-Password-99")
        .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
        .env("KAMEO_BASE_URL", &sim.api_url)
        .env("KAMEO_WEB_URL", &sim.web_url)
        .env("KAMEO_BOT__LEDGER__PATH", "/tmp/unused/ledger.sqlite")
        .args(["loans"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));
    assert!(!text(&out).contains("Not-The-Password-99"));
    assert!(text(&out).contains("email or password"), "{}", text(&out));
}

#[test]
fn kameo_down_exits_69() {
    let out = Command::new(BIN)
        .env_clear()
        .env("KAMEO_EMAIL", DEMO_EMAIL)
        .env("KAMEO_PASSWORD", DEMO_PASSWORD)
        .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
        .env("KAMEO_BASE_URL", "http://127.0.0.1:9/v1")
        .env("KAMEO_WEB_URL", "http://127.0.0.1:9")
        .env("KAMEO_BOT__LEDGER__PATH", "/tmp/unused/ledger.sqlite")
        .args(["balance"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69), "{}", text(&out));
}
