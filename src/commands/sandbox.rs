//! `sandbox`: the simulator and the daemon together, live against it, then
//! a summary. Its environment is built here, never read from the process:
//! real credentials in the shell cannot reach the demo, and the demo can
//! reach nothing but 127.0.0.1.

use std::path::{Path, PathBuf};

use anyhow::Context;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::config::{EnvMap, HumanDuration};
use crate::daemon::{self, ConfigSource, Intent, signals};
use crate::exit;
use crate::kameo::money::format_ore;
use crate::ledger::{BidStatus, Ledger, build_report};
use crate::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, SimOptions, Simulator, quantile};
use crate::telemetry::{self, Console};

const SANDBOX_CONFIG: &str = "config/sandbox.toml";

pub async fn run(duration: HumanDuration, speed: u32, seed: Option<u64>, named: Option<&Path>) -> anyhow::Result<u8> {
    if speed == 0 {
        return Err(exit::UsageError("--speed must be at least 1".into()).into());
    }
    let seed = seed.unwrap_or_else(crate::kameo::totp::unix_now);
    let sim = Simulator::start(SimOptions {
        speed,
        seed,
        ..SimOptions::default()
    })
    .await
    .context("cannot start the simulator")?;

    let dir = std::env::temp_dir().join(format!("kameo-bot-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = named.map(PathBuf::from).or_else(|| {
        Path::new(SANDBOX_CONFIG)
            .is_file()
            .then(|| PathBuf::from(SANDBOX_CONFIG))
    });
    let mut env = EnvMap::new();
    for (k, v) in [
        ("KAMEO_BASE_URL", sim.api_url()),
        ("KAMEO_WEB_URL", sim.web_url()),
        ("KAMEO_EMAIL", DEMO_EMAIL.into()),
        ("KAMEO_PASSWORD", DEMO_PASSWORD.into()),
        ("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET.into()),
        (
            "KAMEO_BOT__LEDGER__PATH",
            dir.join("ledger.sqlite").display().to_string(),
        ),
        ("KAMEO_BOT__DAEMON__PAUSE_FILE", dir.join("PAUSE").display().to_string()),
    ] {
        env.insert(k.into(), v);
    }
    let source = ConfigSource {
        file,
        env,
        force_dry_run: false,
    };
    let loaded = source.load()?;
    let telemetry = telemetry::init(&loaded.config.logging, Console::Stdout)?;
    println!(
        "sandbox: simulated Kameo at {} (seed {seed}, {speed}x), running {duration}; Ctrl-C to stop early",
        sim.api_url()
    );

    // The daemon's intents: the process's signals, and the end of --duration.
    let (tx, rx) = mpsc::channel(8);
    let mut signal_rx = signals::listen()?;
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(i) = signal_rx.recv().await {
            if forward.send(i).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        tokio::time::sleep(duration.get()).await;
        let _ = tx.send(Intent::Shutdown).await;
    });

    let started = OffsetDateTime::now_utc();
    let ledger_path = loaded.config.ledger.path.clone();
    // Whatever the daemon's outcome, stop the simulator and remove the
    // temporary ledger; the outcome is reported after.
    let ran = daemon::run(source, loaded, Some(&telemetry), false, rx).await;
    let summary = ran.and_then(|()| summarise(&sim, &ledger_path, started));
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", summary?);
    Ok(exit::OK)
}

fn summarise(sim: &Simulator, ledger_path: &Path, started: OffsetDateTime) -> anyhow::Result<String> {
    let ledger = Ledger::open(ledger_path)?;
    let report = build_report(&ledger, None)?;
    let bids = ledger.bids()?;
    let journal = sim.journal();
    let mut out = String::from("\n== sandbox summary ==\n");
    out.push_str(&format!(
        "loans seen:        {}\n",
        sim.loans().iter().filter(|l| l.listing_date <= sim.now()).count()
    ));
    out.push_str("decisions (loans per reason):\n");
    for (reason, n) in &report.skip_reasons {
        out.push_str(&format!("  skip {reason:<22} {n}\n"));
    }
    let confirmed: Vec<_> = bids.iter().filter(|b| b.status == BidStatus::Confirmed).collect();
    out.push_str(&format!(
        "bids placed:       {} (amounts: {})\n",
        confirmed.len(),
        report
            .by_currency
            .iter()
            .map(|(c, t)| format!("{} {c}", t.confirmed))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for b in &bids {
        out.push_str(&format!(
            "  loan {:>5}  {:>6} {}  {}\n",
            b.loan_id,
            b.amount,
            b.currency,
            b.status.code()
        ));
    }
    let rejected = journal.bids.iter().filter(|b| !b.accepted).count();
    out.push_str(&format!("refused by Kameo:  {rejected}\n"));
    out.push_str(&format!("429 answers:       {}\n", journal.too_many_requests()));
    for currency in ["SEK", "NOK", "DKK"] {
        let cash = sim.cash(currency);
        out.push_str(&format!(
            "cash {currency}:          available {}  reserved {}\n",
            format_ore(cash.available, ' '),
            format_ore(cash.reserved, ' ')
        ));
    }
    // Reaction latency: loans that opened while the daemon was running.
    let latencies = journal.reaction_latencies_ms(started);
    match (quantile(&latencies, 0.5), quantile(&latencies, 0.99)) {
        (Some(p50), Some(p99)) => out.push_str(&format!(
            "reaction latency:  p50 {p50:.1} ms, p99 {p99:.1} ms over {} bid(s) on loans that opened while running\n",
            latencies.len()
        )),
        _ => out.push_str(
            "reaction latency:  no loan the strategy wanted opened while running (try a longer --duration)\n",
        ),
    }
    Ok(out)
}
