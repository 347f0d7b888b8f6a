//! The daemon: the loop that runs cycles on a schedule, fires a bid the
//! moment a wanted loan opens, reloads its config on SIGHUP and stops
//! cleanly on SIGTERM.
//!
//! `run` takes its intents (shutdown, reload) as a channel, not from the
//! process's signals, so tests drive it directly; `kameo-bot run` feeds the
//! channel from [`signals::listen`].

mod bidding;
mod cycle;
mod notify;
mod reload;
pub mod signals;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub use bidding::{BidOutcome, place_bid};
pub use cycle::{Bot, CycleError, CycleSummary, RECONCILE_GRACE};
pub use signals::Intent;

use crate::config::{EnvMap, Loaded};
use crate::kameo::KameoClient;
use crate::ledger::Ledger;
use crate::telemetry::Telemetry;

/// How long an in-flight bid may take to finish once a stop is asked.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// A timer fires this much after the opening time, so our bid is not early.
const TIMER_SLACK: Duration = Duration::from_millis(3);
/// After a refused bid at opening, the next cycle comes this soon.
const RETRY_AFTER_REFUSED_OPENING: Duration = Duration::from_secs(2);

/// Where the config comes from, to read it again on reload.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub file: Option<PathBuf>,
    pub env: EnvMap,
    /// `run --dry-run`: a dry run whatever the config says, reloads included.
    pub force_dry_run: bool,
}

impl ConfigSource {
    pub fn load(&self) -> Result<Loaded, crate::config::ConfigError> {
        crate::config::load(self.file.as_deref(), &self.env)
    }
}

/// Opens the ledger and the client for a config.
pub fn build_bot(loaded: &Loaded, force_dry_run: bool) -> anyhow::Result<Bot> {
    let config = loaded.config.clone();
    let ledger = Ledger::open(&config.ledger.path)
        .with_context(|| format!("cannot open the ledger {}", config.ledger.path.display()))?;
    let client = KameoClient::new(&config.kameo, config.ledger.state_dir())?;
    let dry_run = force_dry_run || config.daemon.dry_run;
    Ok(Bot::new(config, dry_run, client, ledger))
}

/// Shutdown and reload requests that arrived while something was running.
#[derive(Debug, Default)]
struct Requests {
    shutdown: bool,
    reload: bool,
}

/// Runs `work` while listening for intents. A shutdown turns `stop` on (no
/// new bids) and gives the work [`SHUTDOWN_GRACE`] to finish; None if it did not.
async fn guarded<F: Future>(
    work: F,
    intents: &mut mpsc::Receiver<Intent>,
    stop: &watch::Sender<bool>,
    requests: &mut Requests,
) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        if requests.shutdown {
            return tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await.ok();
        }
        tokio::select! {
            out = &mut work => return Some(out),
            intent = intents.recv() => match intent {
                Some(Intent::Reload) => requests.reload = true,
                Some(Intent::Shutdown) | None => {
                    requests.shutdown = true;
                    let _ = stop.send(true);
                }
            },
        }
    }
}

/// The poll interval, stretched when a cycle needs more requests than the
/// budget allows at that pace, with ±10 % jitter.
fn next_poll_in(bot: &Bot, requests_per_cycle: u32) -> Duration {
    let configured = bot.config.daemon.poll_interval.get();
    let ceiling = bot.client.ceiling_per_minute().max(1);
    // Leave half of the budget for bids and retries.
    let floor = Duration::from_secs(60) * requests_per_cycle.max(1) * 2 / ceiling;
    let base = configured.max(floor);
    let nanos = time::OffsetDateTime::now_utc().nanosecond() as u64;
    let jitter = base.as_millis() as u64 / 10;
    let offset = if jitter == 0 { 0 } else { nanos % (2 * jitter) };
    (base + Duration::from_millis(offset)).saturating_sub(Duration::from_millis(jitter))
}

fn status_line(bot: &Bot, last: &str, next_in: Duration) -> String {
    format!(
        "{last}; bids placed {}; next wake in {}s",
        bot.bids_placed,
        next_in.as_secs()
    )
}

/// Runs the daemon until a shutdown intent (or one cycle with `once`).
pub async fn run(
    source: ConfigSource,
    loaded: Loaded,
    telemetry: Option<&Telemetry>,
    once: bool,
    mut intents: mpsc::Receiver<Intent>,
) -> anyhow::Result<()> {
    let mut bot = build_bot(&loaded, source.force_dry_run)?;
    tracing::info!(
        event = "started",
        version = env!("CARGO_PKG_VERSION"),
        dry_run = bot.dry_run,
        api_url = %bot.config.kameo.api_url,
        ledger = %bot.config.ledger.path.display(),
        once,
        "kameo-bot started"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut requests = Requests::default();

    if once {
        let summary = bot.cycle(&stop_rx).await.map_err(|e| match e {
            // Unwrapped so the exit code sees Kameo's error (69, 77).
            CycleError::Kameo(k) => anyhow::Error::from(k),
            CycleError::Ledger(l) => anyhow::Error::from(l),
        })?;
        tracing::info!(
            event = "cycle",
            loans = summary.loans_seen,
            bids = summary.bids,
            amount = summary.amount,
            dry_run = bot.dry_run,
            "cycle done"
        );
        tracing::info!(event = "shutdown", "one cycle done");
        return Ok(());
    }

    let heartbeat = notify::Heartbeat::new();
    let stale_after = Arc::new(Mutex::new(bot.config.daemon.poll_interval.get() * 3));
    let watchdog = notify::spawn_watchdog(heartbeat.clone(), stale_after.clone());
    notify::ready();

    let mut next_poll = Instant::now();
    let mut requests_per_cycle = 4;
    loop {
        // First what was asked meanwhile, even during a cycle: a SIGTERM
        // must not wait for the next wake-up.
        if requests.reload {
            requests.reload = false;
            reload::apply(&mut bot, &source, telemetry);
            *stale_after.lock().unwrap_or_else(|p| p.into_inner()) = bot.config.daemon.poll_interval.get() * 3;
        }
        if requests.shutdown {
            break;
        }
        let timer = bot.next_timer().map(|(at, id)| {
            let wait = (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            (Instant::now() + wait.unsigned_abs() + TIMER_SLACK, id)
        });
        let wake = timer.map_or(next_poll, |(at, _)| at.min(next_poll));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            intent = intents.recv() => {
                match intent {
                    Some(Intent::Reload) => requests.reload = true,
                    Some(Intent::Shutdown) | None => requests.shutdown = true,
                }
                continue;
            }
        }
        let now = Instant::now();
        if let Some((_, loan_id)) = timer.filter(|(at, _)| *at <= now) {
            match guarded(bot.on_open(loan_id), &mut intents, &stop_tx, &mut requests).await {
                Some(Err(e)) => tracing::error!(event = "api_error", loan_id, error = %e, "bid at opening failed"),
                // Refused at opening (clocks differ, or it filled at once):
                // look again soon rather than a whole poll interval later.
                Some(Ok(Some(BidOutcome::Rejected { .. } | BidOutcome::NotSent { .. }))) => {
                    next_poll = next_poll.min(Instant::now() + RETRY_AFTER_REFUSED_OPENING);
                }
                Some(Ok(_)) | None => {}
            }
            continue;
        }
        if now < next_poll {
            continue;
        }
        let started = Instant::now();
        let result = guarded(bot.cycle(&stop_rx), &mut intents, &stop_tx, &mut requests).await;
        let took = started.elapsed();
        let line = match result {
            Some(Ok(summary)) => {
                heartbeat.beat();
                requests_per_cycle = 2 + (summary.loans_seen as u32).div_ceil(crate::kameo::PAGE_SIZE as u32);
                tracing::info!(
                    event = "cycle",
                    loans = summary.loans_seen,
                    bids = summary.bids,
                    amount = summary.amount,
                    duration_ms = took.as_millis() as u64,
                    dry_run = bot.dry_run,
                    "cycle done"
                );
                "last cycle ok".to_string()
            }
            Some(Err(CycleError::Kameo(e))) if e.is_login_refused() => {
                // Retrying a refused login can lock the account: stop.
                notify::stopping();
                return Err(e.into());
            }
            Some(Err(e)) => {
                tracing::error!(event = "api_error", error = %e, "cycle failed; the next one still comes");
                "last cycle failed".to_string()
            }
            None => "last cycle cut short by shutdown".to_string(),
        };
        let next_in = next_poll_in(&bot, requests_per_cycle);
        next_poll = Instant::now() + next_in;
        notify::status(&status_line(&bot, &line, next_in));
    }

    notify::stopping();
    if let Some(w) = watchdog {
        w.abort();
    }
    tracing::info!(event = "shutdown", bids_placed = bot.bids_placed, "stopped");
    Ok(())
}
