//! The command line. These names are a public interface (scripts, systemd
//! units and Docker health checks call them): add, never rename.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{HumanDuration, parse_duration};

#[derive(Debug, Parser)]
#[command(
    name = "kameo-bot",
    version,
    about = "Invests on Kameo (kameo.se) for one person: watches loans, decides by a strategy, bids within caps, keeps a ledger.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--config FILE`, shared by every command that reads the configuration.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArg {
    /// Config file (default: $KAMEO_BOT_CONFIG, ./config/kameo-bot.toml, /etc/kameo-bot/config.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon. Bids for real only when daemon.dry_run = false.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// One cycle, then exit 0 if it worked (for cron).
        #[arg(long)]
        once: bool,
        /// Force a dry run whatever the config says: preview, never submit.
        #[arg(long)]
        dry_run: bool,
    },
    /// The simulator and the daemon together, bidding against it: the zero-setup demo.
    Sandbox {
        /// How long to run ("2m", "30s").
        #[arg(long, default_value = "2m", value_parser = duration_arg)]
        duration: HumanDuration,
        /// How many times faster the simulated market moves.
        #[arg(long, default_value_t = 60)]
        speed: u32,
        /// Seed for the simulated market (random when absent).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The Kameo simulator alone, for tests and for trying a strategy.
    Simulate {
        /// Address of the API host; the web host listens on the next port.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
        /// How many times faster the simulated market moves.
        #[arg(long, default_value_t = 1)]
        speed: u32,
        /// Seed for the simulated market.
        #[arg(long)]
        seed: Option<u64>,
        /// Fault injection, e.g. "5xx=0.05,slow=0.02,malformed=0.01,expire=600s,burst429=0.01".
        #[arg(long)]
        faults: Option<String>,
    },
    /// Check or show the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// The loans open (or about to open) for investment.
    Loans {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Available and reserved cash per currency.
    Balance {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Preview a bid on a loan; submit it only with --submit.
    Bid {
        /// The loan's id (loan_application_id).
        loan_id: u64,
        /// Whole currency units, e.g. 500.
        amount: u64,
        /// Actually submit the bid after the preview. Spends real money.
        #[arg(long)]
        submit: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// What was bid, exposure, and expected return, from the ledger.
    Report {
        /// Only what happened on or after this date (YYYY-MM-DD).
        #[arg(long, value_parser = date_arg)]
        since: Option<time::Date>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The current 2FA code and seconds left (checks the TOTP secret).
    Totp {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Exit 0 if the daemon completed a cycle recently (Docker HEALTHCHECK).
    Health {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate; list every problem; exit 78 if invalid.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The effective config (file + environment), secrets masked.
    Show {
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn duration_arg(text: &str) -> Result<HumanDuration, String> {
    parse_duration(text).map(HumanDuration)
}

fn date_arg(text: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format).map_err(|e| format!("`{text}` is not a date like 2026-01-31: {e}"))
}
