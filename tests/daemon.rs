//! The real binary against the simulator: bidding, signals, sd_notify,
//! crash recovery, the pause file, `--once` and the sandbox.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kameo_bot::sim::{
    DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, Fault, FaultSpec, Scenario, ScenarioLoan, SimOptions, Simulator,
};

const BIN: &str = env!("CARGO_BIN_EXE_kameo-bot");

fn loan(id: u64, rate: f64, risk: &str, opens_after: i64) -> ScenarioLoan {
    ScenarioLoan {
        application_amount: 5_000_000,
        annual_interest_rate: rate,
        risk_score: risk.into(),
        ..ScenarioLoan::new(id, opens_after)
    }
}

async fn sim(loans: Vec<ScenarioLoan>) -> Simulator {
    common::sim(SimOptions {
        scenario: Some(Scenario { loans }),
        ..SimOptions::default()
    })
    .await
}

/// A working directory with a config file for the simulator.
struct Setup {
    dir: tempfile::TempDir,
    api_url: String,
    web_url: String,
}

impl Setup {
    fn new(sim: &Simulator, strategy: &str) -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
            api_url: sim.api_url(),
            web_url: sim.web_url(),
        };
        s.write_config(strategy);
        s
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("kameo-bot.toml")
    }

    fn write_config(&self, strategy: &str) {
        let d = self.dir.path().display();
        let text = format!(
            "[kameo]\nemail = \"{DEMO_EMAIL}\"\napi_url = \"{}\"\nweb_url = \"{}\"\nrate_limit_delay = 0.0\ntimeout = \"3s\"\n\n\
             [strategy]\nbid_amount = 2000\nmax_bid_amount = 4000\ndaily_budget = 0\nrisk_scores = [\"A\", \"B\"]\n{strategy}\n\n\
             [daemon]\ndry_run = false\npoll_interval = \"5s\"\npause_file = \"{d}/PAUSE\"\n\n\
             [ledger]\npath = \"{d}/ledger.sqlite\"\n\n[logging]\nformat = \"json\"\nlevel = \"info\"\n",
            self.api_url, self.web_url
        );
        std::fs::write(self.config(), text).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .current_dir(self.dir.path())
            .env("KAMEO_PASSWORD", DEMO_PASSWORD)
            .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .args(args);
        c
    }

    fn once(&self) -> (i32, String) {
        let out = self.command(&["--once"]).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

/// A running daemon whose log lines are collected as they come.
struct Running {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(setup: &Setup, notify: Option<&Path>) -> Running {
        Running::start_with(setup, notify, &[])
    }

    fn start_with(setup: &Setup, notify: Option<&Path>, env: &[(&str, &str)]) -> Running {
        let mut cmd = setup.command(&[]);
        if let Some(socket) = notify {
            cmd.env("NOTIFY_SOCKET", socket);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Running { child, log }
    }

    fn wait_for(&self, what: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(what)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn count(&self, what: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(what)).count()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn dump(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` in a blocking thread-friendly way until true or timeout.
async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

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
    let sim = sim(loans).await;
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
async fn reload_term_and_sd_notify() {
    let sim = sim(vec![loan(1, 10.0, "B", -60), loan(2, 11.0, "A", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 15.0");
    let socket_path = setup.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let recv = |socket: &UnixDatagram| {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };

    let mut daemon = Running::start(&setup, Some(&socket_path));
    assert_eq!(recv(&socket), "READY=1\n");
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    assert!(recv(&socket).starts_with("STATUS=last cycle ok"));
    assert!(sim.accepted_bids().is_empty(), "15 % is above every loan");

    // A valid change: a lower minimum rate makes bids happen.
    setup.write_config("min_interest_rate = 8.0");
    daemon.signal("HUP");
    let reloading = recv(&socket);
    assert!(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{reloading}");
    assert_eq!(recv(&socket), "READY=1\n");
    assert!(
        daemon.wait_for("\"event\":\"config_reloaded\"", Duration::from_secs(5)),
        "{}",
        daemon.dump()
    );
    assert!(
        daemon.dump().contains("strategy.min_interest_rate"),
        "the change is named"
    );
    assert!(
        eventually(Duration::from_secs(15), || sim.accepted_bids().len() == 2).await,
        "{}",
        daemon.dump()
    );

    // An invalid file: rejected, every problem listed, still running.
    std::fs::write(
        setup.config(),
        "[strategy]\nreserve_percentage = 1.5\nbid_amount = \"lots\"\n",
    )
    .unwrap();
    daemon.signal("HUP");
    assert!(
        daemon.wait_for("\"event\":\"config_rejected\"", Duration::from_secs(5)),
        "{}",
        daemon.dump()
    );
    assert!(daemon.dump().contains("strategy.bid_amount"), "{}", daemon.dump());
    assert_eq!(daemon.child.try_wait().unwrap(), None, "still running");

    // SIGTERM: STOPPING=1 and exit 0 within a few seconds.
    daemon.signal("TERM");
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.starts_with("STOPPING=1")) {
        seen.push(recv(&socket));
    }
    assert_eq!(daemon.wait_exit(Duration::from_secs(5)), Some(0), "{}", daemon.dump());
    assert_eq!(daemon.count("\"event\":\"shutdown\""), 1);
    assert_eq!(sim.accepted_bids().len(), 2, "no bid came twice");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_submit_then_restart_never_bids_twice() {
    let sim = sim(vec![loan(1, 10.0, "B", -60)]).await;
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
    let sim = sim(vec![loan(1, 10.0, "B", -60)]).await;
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
async fn sigterm_during_a_cycle_exits_when_the_cycle_ends_not_a_poll_later() {
    let sim = sim(vec![loan(1, 6.0, "B", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let mut daemon = Running::start(&setup, None);
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    // The next cycle's listing is handled, then its answer held back 2 s.
    sim.set_faults(FaultSpec::parse("slow_delay=2s").unwrap());
    sim.queue_fault("investment-options", Fault::Slow);
    assert!(
        eventually(Duration::from_secs(15), || sim
            .journal()
            .count("GET", "investment-options")
            >= 2)
        .await,
        "{}",
        daemon.dump()
    );
    let asked = Instant::now();
    daemon.signal("TERM");
    let code = daemon.wait_exit(Duration::from_secs(10));
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{}", daemon.dump());
    assert!(took < Duration::from_secs(4), "exit took {took:?} after SIGTERM");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_previews_once_and_never_submits() {
    let sim = sim(vec![loan(1, 10.0, "B", -60), loan(2, 10.0, "A", -60)]).await;
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

/// How many WATCHDOG=1 arrive on `socket` within `window`.
fn watchdogs_within(socket: &UnixDatagram, window: Duration) -> usize {
    let deadline = Instant::now() + window;
    let mut n = 0;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if let Ok(len) = socket.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..len]).contains("WATCHDOG=1")
        {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watchdog_is_petted_only_while_cycles_succeed() {
    let sim = sim(vec![loan(1, 6.0, "B", -60)]).await;
    let setup = Setup::new(&sim, "min_interest_rate = 8.0");
    let socket_path = setup.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    // Petted every second; three 5 s poll intervals make a cycle stale.
    let daemon = Running::start_with(&setup, Some(&socket_path), &[("WATCHDOG_USEC", "2000000")]);
    assert!(
        daemon.wait_for("\"event\":\"cycle\"", Duration::from_secs(15)),
        "{}",
        daemon.dump()
    );
    assert!(
        watchdogs_within(&socket, Duration::from_secs(3)) >= 2,
        "petted while healthy"
    );
    // Kameo breaks: every cycle from now on fails.
    sim.set_faults(FaultSpec::parse("5xx=1.0").unwrap());
    let quiet = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(17));
        // Drop what queued up meanwhile (in the socket and behind it) until
        // the socket is quiet, then count what still comes.
        socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 512];
        while socket.recv(&mut buf).is_ok() {}
        socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        watchdogs_within(&socket, Duration::from_secs(4))
    })
    .await
    .unwrap();
    assert_eq!(
        quiet,
        0,
        "still petted with no good cycle for three poll intervals:\n{}",
        daemon.dump()
    );
    assert!(daemon.dump().contains("cycle failed"), "{}", daemon.dump());
    sim.shutdown().await;
}
