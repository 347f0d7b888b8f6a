//! The real binary against the simulator: bidding exactly once, crash
//! recovery, the pause file, dry runs, `--once`, secrets, and the sandbox.

mod common;

use std::process::Command;
use std::time::Duration;

use kameo_bot::sim::{DEMO_PASSWORD, DEMO_TOTP_SECRET, Fault, FaultSpec, Scenario, ScenarioLoan, SimOptions};

use common::daemon::{BIN, Running, Setup, eventually, loan, scenario_sim};

#[tokio::test(flavor = "multi_thread")]
async fn bids_exactly_once_on_each_eligible_loan_across_pages() {
    // 30 loans over 3 pages: eligible ones are rate >= 9 and risk A/B.
    let loans: Vec<ScenarioLoan> = (1..=30)
        .map(|i| {
            let rate = if i % 3 == 0 { 8.0 } else { 10.0 };
            let risk = if i % 5 == 0 { "D" } else { "B" };
            loan(i, rate, risk, -60)
        })
        .collect();
    let eligible: Vec<u64> = (1..=30).filter(|i| i % 3 != 0 && i % 5 != 0).collect();
    let sim = scenario_sim(loans).await;
    let setup = Setup::new(&sim, "min_interest_rate = 9.0");

    let (code, out) = tokio::task::spawn_blocking({
        let config = setup.config();
        let dir = setup.dir.path().to_path_buf();
        move || {
            let out = Command::new(BIN)
                .env_clear()
                .current_dir(&dir)
                .env("KAMEO_PASSWORD", DEMO_PASSWORD)
                .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
                .args(["run", "--once", "--config"])
                .arg(config)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let mut bid_on: Vec<u64> = sim.accepted_bids().iter().map(|b| b.loan_id).collect();
    bid_on.sort();
    assert_eq!(bid_on, eligible, "exactly the eligible loans");
    assert!(sim.accepted_bids().iter().all(|b| b.amount == 2000));
    assert_eq!(out.matches("\"event\":\"decision\"").count(), 30, "one decision a loan");

    // Again: everything eligible already has a bid.
    let (code, out) = tokio::task::spawn_blocking(move || setup.once()).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(sim.accepted_bids().len(), eligible.len(), "no second bid: {out}");
    assert!(out.contains("already_bid"), "{out}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_submit_then_restart_never_bids_twice() {
    let sim = scenario_sim(vec![loan(1, 10.0, "B", -60)]).await;
    sim.set_faults(FaultSpec::parse("slow_delay=30s").unwrap());
    sim.queue_fault("/submit", Fault::Slow);
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let mut daemon = Running::start(&setup, None);
    // The platform has taken the bid; its answer is held back. Kill now.
    assert!(
        eventually(Duration::from_secs(20), || sim.accepted_bids().len() == 1).await,
        "{}",
        daemon.dump()
    );
    daemon.child.kill().unwrap(); // SIGKILL
    daemon.child.wait().unwrap();

    let (code, out) = tokio::task::spawn_blocking(move || setup.once()).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"event\":\"bid_reconciled\""), "{out}");
    assert!(out.contains("\"now\":\"confirmed\""), "{out}");
    assert_eq!(sim.accepted_bids().len(), 1, "the restart did not bid again");
    assert_eq!(sim.journal().count("POST", "/submit"), 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pause_file_stops_new_bids_and_once_says_how_it_went() {
    let sim = scenario_sim(vec![loan(1, 10.0, "B", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    std::fs::write(setup.dir.path().join("PAUSE"), "").unwrap();
    let dir = setup.dir.path().to_path_buf();
    let (setup, code, out) = tokio::task::spawn_blocking(move || {
        let (c, o) = setup.once();
        (setup, c, o)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"event\":\"paused\""), "{out}");
    assert!(sim.accepted_bids().is_empty());

    std::fs::remove_file(dir.join("PAUSE")).unwrap();
    let (code, out) = tokio::task::spawn_blocking(move || setup.once()).await.unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(sim.accepted_bids().len(), 1, "{out}");
    sim.shutdown().await;

    // Kameo unreachable: --once exits 69.
    let unreachable = Setup {
        dir: tempfile::tempdir().unwrap(),
        api_url: "http://127.0.0.1:9/v1".into(),
        web_url: "http://127.0.0.1:9".into(),
    };
    unreachable.write_config("");
    let (code, out) = unreachable.once();
    assert_eq!(code, 69, "{out}");
}

#[test]
fn the_sandbox_runs_and_prints_its_summary() {
    let out = Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KAMEO_PASSWORD")
        .args(["sandbox", "--duration", "8s", "--speed", "60", "--seed", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("== sandbox summary =="), "{stdout}");
    assert!(stdout.contains("reaction latency:"), "{stdout}");
    assert!(stdout.contains("bids placed:"), "{stdout}");
    assert!(stdout.contains("429 answers:       0"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_log_even_at_trace() {
    const PASSWORD: &str = "Tr4ce-Pw-Unique-8812";
    const SECRET: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario {
            loans: vec![loan(1, 10.0, "B", -60)],
        }),
        password: PASSWORD.into(),
        totp_secret: SECRET.into(),
        ..SimOptions::default()
    })
    .await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let dir = setup.dir.path().to_path_buf();
    // The setup comes back out so its directory outlives the run.
    let (_setup, out) = tokio::task::spawn_blocking(move || {
        let out = setup
            .command(&["--once"])
            .env("KAMEO_PASSWORD", PASSWORD)
            .env("KAMEO_TOTP_SECRET", SECRET.to_lowercase())
            .env("LOG_LEVEL", "trace")
            .env("SAVE_RAW_DATA", "true")
            .output()
            .unwrap();
        (setup, out)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(sim.accepted_bids().len(), 1, "it logged in and bid: {text}");
    assert!(
        text.contains("\"event\":\"api_call\"") && text.contains("\"level\":\"DEBUG\""),
        "verbose output expected: {text}"
    );
    for secret in [PASSWORD, SECRET, &SECRET.to_lowercase(), "eZSESSID"] {
        assert!(!text.contains(secret), "{secret} leaked into the log:\n{text}");
    }
    // Nor into the raw bodies kept beside the ledger.
    let raw: String = common::files_below(&dir.join("raw"))
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(raw.contains("investment_options"), "raw capture is on");
    assert!(!raw.contains(PASSWORD) && !raw.contains(SECRET));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_previews_once_and_never_submits() {
    let sim = scenario_sim(vec![loan(1, 10.0, "B", -60), loan(2, 10.0, "A", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let (code, out) = tokio::task::spawn_blocking(move || {
        let first = setup.command(&["--once", "--dry-run"]).output().unwrap();
        let second = setup.command(&["--once", "--dry-run"]).output().unwrap();
        let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
        (
            first.status.code().unwrap_or(-1) + second.status.code().unwrap_or(-1),
            text(&first) + &text(&second),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(sim.journal().count("POST", "/submit"), 0, "never a submit: {out}");
    assert_eq!(
        sim.journal().count("POST", "/load"),
        2,
        "each loan previewed once over two cycles: {out}"
    );
    assert_eq!(out.matches("\"event\":\"bid_previewed\"").count(), 2, "{out}");
    assert!(
        out.lines()
            .filter(|l| l.contains("\"event\":\"decision\""))
            .all(|l| l.contains("\"dry_run\":true")),
        "{out}"
    );
    sim.shutdown().await;
}
