//! Performance figures for the daemon, printed, never asserted:
//!
//! 1. reaction latency after a subscription opens (the simulator measures
//!    submit arrival − `subscription_starts_at`), and 429s, over a 60 s run
//!    with 50 listed loans, 15 of which open during the run;
//! 2. the real binary: start → READY=1 (login excluded: READY comes before
//!    the first cycle), idle RSS and idle CPU.
//!
//! Run: `cargo build --release && cargo run --release --example bench`
//! (`BENCH_SECONDS=20` for a shorter first part).

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kameo_bot::config::{EnvMap, load};
use kameo_bot::daemon::{self, ConfigSource, Intent};
use kameo_bot::sim::{
    DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, Scenario, ScenarioLoan, SimOptions, Simulator, quantile,
};

fn loan(id: u64, rate: f64, opens_after: i64) -> ScenarioLoan {
    ScenarioLoan {
        title: format!("Bench loan {id}"),
        application_amount: 5_000_000,
        annual_interest_rate: rate,
        other_demand: 1_000_000,
        ..ScenarioLoan::new(id, opens_after)
    }
}

fn env_for(sim: &Simulator, dir: &std::path::Path, poll: &str) -> EnvMap {
    [
        ("KAMEO_BASE_URL", sim.api_url()),
        ("KAMEO_WEB_URL", sim.web_url()),
        ("KAMEO_EMAIL", DEMO_EMAIL.to_string()),
        ("KAMEO_PASSWORD", DEMO_PASSWORD.to_string()),
        ("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET.to_string()),
        ("KAMEO_RATE_LIMIT_DELAY", "0".to_string()),
        ("KAMEO_BOT__DAEMON__DRY_RUN", "false".to_string()),
        ("KAMEO_BOT__DAEMON__POLL_INTERVAL", poll.to_string()),
        ("KAMEO_BOT__DAEMON__PAUSE_FILE", dir.join("PAUSE").display().to_string()),
        (
            "KAMEO_BOT__LEDGER__PATH",
            dir.join("ledger.sqlite").display().to_string(),
        ),
        ("KAMEO_BOT__STRATEGY__BID_AMOUNT", "2000".to_string()),
        ("KAMEO_BOT__STRATEGY__DAILY_BUDGET", "0".to_string()),
        ("KAMEO_BOT__STRATEGY__MAX_SUBSCRIBED_RATIO", "5.0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The most requests the simulator saw in any 60 s window.
fn busiest_minute(times: &[time::OffsetDateTime]) -> usize {
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + time::Duration::seconds(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// `storm`: 18 of the 35 loans listed at start are open and eligible, so the
/// first cycle bids 18 times under the rate budget while others open.
async fn reaction(seconds: u64, storm: bool) -> anyhow::Result<()> {
    // A normal hour sees a handful of openings; a storm crowds them.
    let opening: u64 = if storm { 15 } else { 8 };
    let gap = (seconds.saturating_sub(10) / opening).max(1) as i64;
    let rate = |i: u64| if storm && i % 2 == 1 { 10.0 } else { 6.0 };
    let mut loans: Vec<ScenarioLoan> = (1..=35).map(|i| loan(i, rate(i), -120)).collect();
    loans.extend((0..opening as i64).map(|k| loan(100 + k as u64, 10.0, 5 + k * gap)));
    let sim = Simulator::start(SimOptions {
        scenario: Some(Scenario { loans }),
        cash_sek: 1_000_000,
        ..SimOptions::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("kameo-bot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let source = ConfigSource {
        file: None,
        env: env_for(&sim, &dir, "20s"),
        force_dry_run: false,
    };
    let loaded = load(None, &source.env)?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let _ = tx.send(Intent::Shutdown).await;
    });
    let started = time::OffsetDateTime::now_utc();
    daemon::run(source, loaded, None, false, rx).await?;

    let journal = sim.journal();
    let latencies = journal.reaction_latencies_ms(started);
    let api: Vec<_> = journal
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/v1"))
        .map(|r| r.at)
        .collect();
    let kind = if storm {
        "a bid storm: 18 eligible loans open at start"
    } else {
        "a normal hour: nothing eligible open at start"
    };
    println!("   {seconds} s run, 50 listed loans, {opening} opening during the run; {kind}");
    println!(
        "   bids on loans that opened while running: {} of {opening}",
        latencies.len()
    );
    if let (Some(p50), Some(p99)) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99)) {
        println!("   reaction latency: p50 {p50:.1} ms, p99 {p99:.1} ms   (goal: p50 <= 15 ms, p99 <= 100 ms)");
    }
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let shown: Vec<String> = sorted.iter().map(|l| format!("{l:.0}")).collect();
    println!("   every latency, ms: {}", shown.join(" "));
    println!(
        "   bids accepted in all: {}",
        journal.bids.iter().filter(|b| b.accepted).count()
    );
    println!(
        "   API requests: {}, busiest 60 s window: {} (ceiling 54, Kameo's limit 60)",
        api.len(),
        busiest_minute(&api)
    );
    println!("   429 answers: {}   (goal: 0)", journal.too_many_requests());
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn proc_field(pid: u32, file: &str) -> String {
    let mut s = String::new();
    let _ = std::fs::File::open(format!("/proc/{pid}/{file}")).and_then(|mut f| f.read_to_string(&mut s));
    s
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = proc_field(pid, "stat");
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    proc_field(pid, "status")
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

async fn process_figures() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let bin: PathBuf = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("kameo-bot"))
        .unwrap_or_default();
    if !bin.is_file() {
        println!(
            "2. skipped: {} is not built (run `cargo build --release` first)",
            bin.display()
        );
        return Ok(());
    }
    let sim = Simulator::start(SimOptions {
        scenario: Some(Scenario {
            loans: vec![loan(1, 6.0, -60)],
        }),
        ..SimOptions::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("kameo-bot-bench-proc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path)?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut cmd = Command::new(&bin);
    cmd.env_clear()
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null());
    for (k, v) in env_for(&sim, &dir, "60s") {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf)?;
    let ready = started.elapsed();
    println!("2. the real binary ({})", bin.display());
    println!(
        "   start -> {}: {:.1} ms   (goal: <= 50 ms, login excluded)",
        String::from_utf8_lossy(&buf[..n]).trim(),
        ready.as_secs_f64() * 1000.0
    );
    // Let the first cycle (login, listing) pass, then measure idleness.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = child.id();
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (secs, ticks) = (t0.elapsed().as_secs_f64(), cpu_ticks(pid) - c0);
    println!("   idle RSS: {:.1} MB   (goal: <= 15 MB)", rss_kib(pid) as f64 / 1024.0);
    println!(
        "   idle CPU: {:.2} % of a core over {secs:.0} s   (goal: <= 0.5 %)",
        ticks as f64 / ticks_per_sec / secs * 100.0
    );
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    println!("1a. reaction latency and rate budget (= a simulated hour at --speed 60)");
    reaction(seconds, false).await?;
    println!("1b. the same while bidding on everything eligible at start");
    reaction(seconds, true).await?;
    process_figures().await?;
    Ok(())
}
