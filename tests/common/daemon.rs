//! The harness for end-to-end tests of the real binary: a simulator with a
//! fixed market, a working directory with a config for it, a running daemon
//! whose log lines are collected, and waiting for something to happen.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kameo_bot::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, Scenario, ScenarioLoan, SimOptions, Simulator};

pub const BIN: &str = env!("CARGO_BIN_EXE_kameo-bot");

pub fn loan(id: u64, rate: f64, risk: &str, opens_after: i64) -> ScenarioLoan {
    ScenarioLoan {
        application_amount: 5_000_000,
        annual_interest_rate: rate,
        risk_score: risk.into(),
        ..ScenarioLoan::new(id, opens_after)
    }
}

pub async fn scenario_sim(loans: Vec<ScenarioLoan>) -> Simulator {
    super::sim(SimOptions {
        scenario: Some(Scenario { loans }),
        ..SimOptions::default()
    })
    .await
}

/// A working directory with a config file for the simulator.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub api_url: String,
    pub web_url: String,
}

impl Setup {
    pub fn new(sim: &Simulator, strategy: &str) -> Setup {
        let s = Setup {
            dir: tempfile::tempdir().unwrap(),
            api_url: sim.api_url(),
            web_url: sim.web_url(),
        };
        s.write_config(strategy);
        s
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("kameo-bot.toml")
    }

    pub fn write_config(&self, strategy: &str) {
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

    pub fn command(&self, args: &[&str]) -> Command {
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

    pub fn once(&self) -> (i32, String) {
        let out = self.command(&["--once"]).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

/// A running daemon whose log lines are collected as they come.
pub struct Running {
    pub child: Child,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub fn start(setup: &Setup, notify: Option<&Path>) -> Running {
        Running::start_with(setup, notify, &[])
    }

    pub fn start_with(setup: &Setup, notify: Option<&Path>, env: &[(&str, &str)]) -> Running {
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

    pub fn wait_for(&self, what: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(what)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn count(&self, what: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(what)).count()
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn dump(&self) -> String {
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
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
