//! Configuration: the typed settings, their defaults, and where they come from.
//!
//! Why a module of its own: the daemon reloads its config on SIGHUP, and the
//! same load + validate path serves `config check`, `config show`, startup
//! and reload, so a bad file is judged the same way everywhere. Layers, from
//! weakest to strongest: defaults ← TOML file ← `KAMEO_BOT__SECTION__KEY` ←
//! the plain names of the original Python tool (`KAMEO_EMAIL`, …) ←
//! `*_FILE` secrets ← systemd credentials. See [`load`].

mod duration;
mod load;
mod secret;
mod validate;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use duration::{HumanDuration, format_duration, parse_duration};
pub use load::{ConfigError, EnvMap, Loaded, Problem, Severity, load, locate_config_file, process_env};
pub use secret::{MASK, Secret, SecretSource};
pub use validate::validate;

/// Kameo's own ceiling: 60 requests a minute on the API host.
pub const KAMEO_REQUESTS_PER_MINUTE: u32 = 60;
pub const DEFAULT_API_URL: &str = "https://api.kameo.se/v1";
pub const DEFAULT_WEB_URL: &str = "https://www.kameo.se";
pub const DEFAULT_RATE_LIMIT_DELAY_SECS: f64 = 1.0;
pub const DEFAULT_TIMEOUT_SECS: u64 = 20;
pub const DEFAULT_MIN_INTEREST_RATE: f64 = 7.0;
pub const DEFAULT_MAX_DURATION_MONTHS: u32 = 36;
pub const DEFAULT_BID_AMOUNT: u64 = 5_000;
pub const DEFAULT_MAX_BID_AMOUNT: u64 = 10_000;
pub const DEFAULT_RESERVE_PERCENTAGE: f64 = 0.10;
pub const DEFAULT_MAX_COMPETITORS: u32 = 20;
pub const DEFAULT_MAX_SUBSCRIBED_RATIO: f64 = 1.0;
pub const DEFAULT_DAILY_BUDGET: u64 = 50_000;
/// EUR 1,000 per project for a non-sophisticated investor, in each currency.
pub const DEFAULT_PROJECT_CAP_SEK: u64 = 11_500;
pub const DEFAULT_PROJECT_CAP_NOK: u64 = 11_500;
pub const DEFAULT_PROJECT_CAP_DKK: u64 = 7_500;
/// Kameo's smallest bid in the captures; a smaller `bid_amount` is suspicious.
pub const PLATFORM_MIN_BID: u64 = 500;
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_PAUSE_FILE: &str = "/var/lib/kameo-bot/PAUSE";
pub const DEFAULT_LEDGER_PATH: &str = "/var/lib/kameo-bot/ledger.sqlite";

/// The whole effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kameo: KameoConfig,
    pub strategy: StrategyConfig,
    pub daemon: DaemonConfig,
    pub ledger: LedgerConfig,
    pub logging: LoggingConfig,
}

/// `[kameo]`: who we are and how we talk to the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KameoConfig {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<Secret>,
    pub api_url: String,
    pub web_url: String,
    pub countries: Vec<String>,
    pub requests_per_minute: u32,
    pub rate_limit_delay: f64,
    pub timeout: HumanDuration,
    pub save_raw_data: bool,
    pub sophisticated_investor: bool,
}

impl Default for KameoConfig {
    fn default() -> Self {
        KameoConfig {
            email: String::new(),
            password: None,
            totp_secret: None,
            api_url: DEFAULT_API_URL.into(),
            web_url: DEFAULT_WEB_URL.into(),
            countries: vec!["sweden".into()],
            requests_per_minute: KAMEO_REQUESTS_PER_MINUTE,
            rate_limit_delay: DEFAULT_RATE_LIMIT_DELAY_SECS,
            timeout: HumanDuration::from_secs(DEFAULT_TIMEOUT_SECS),
            save_raw_data: false,
            sophisticated_investor: false,
        }
    }
}

/// How to size a bid on an oversubscribed loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Oversubscription {
    /// Bid `bid_amount` whatever the allocation will be.
    #[default]
    Ignore,
    /// Raise the bid so the pro-rata allocation is expected to reach
    /// `bid_amount`, inside every cap.
    TargetAllocation,
}

/// `[strategy]`: which loans to bid on and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    pub min_interest_rate: f64,
    pub max_duration_months: u32,
    pub risk_scores: Vec<String>,
    pub currencies: Vec<String>,
    pub exclude_title_keywords: Vec<String>,
    pub bid_amount: u64,
    pub max_bid_amount: u64,
    pub reserve_percentage: f64,
    pub max_competitors: u32,
    pub max_subscribed_ratio: f64,
    pub daily_budget: u64,
    pub total_budget: u64,
    pub oversubscription: Oversubscription,
    pub project_cap_sek: u64,
    pub project_cap_nok: u64,
    pub project_cap_dkk: u64,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        StrategyConfig {
            min_interest_rate: DEFAULT_MIN_INTEREST_RATE,
            max_duration_months: DEFAULT_MAX_DURATION_MONTHS,
            risk_scores: vec!["A".into(), "B".into(), "C".into()],
            currencies: vec!["SEK".into()],
            exclude_title_keywords: Vec::new(),
            bid_amount: DEFAULT_BID_AMOUNT,
            max_bid_amount: DEFAULT_MAX_BID_AMOUNT,
            reserve_percentage: DEFAULT_RESERVE_PERCENTAGE,
            max_competitors: DEFAULT_MAX_COMPETITORS,
            max_subscribed_ratio: DEFAULT_MAX_SUBSCRIBED_RATIO,
            daily_budget: DEFAULT_DAILY_BUDGET,
            total_budget: 0,
            oversubscription: Oversubscription::Ignore,
            project_cap_sek: DEFAULT_PROJECT_CAP_SEK,
            project_cap_nok: DEFAULT_PROJECT_CAP_NOK,
            project_cap_dkk: DEFAULT_PROJECT_CAP_DKK,
        }
    }
}

impl StrategyConfig {
    /// The per-project cap for a non-sophisticated investor in `currency`.
    pub fn project_cap(&self, currency: &str) -> Option<u64> {
        match currency {
            "SEK" => Some(self.project_cap_sek),
            "NOK" => Some(self.project_cap_nok),
            "DKK" => Some(self.project_cap_dkk),
            _ => None,
        }
    }
}

/// `[daemon]`: the loop and its brakes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    pub dry_run: bool,
    pub poll_interval: HumanDuration,
    pub pause_file: PathBuf,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            dry_run: true,
            poll_interval: HumanDuration::from_secs(DEFAULT_POLL_INTERVAL_SECS),
            pause_file: PathBuf::from(DEFAULT_PAUSE_FILE),
        }
    }
}

/// `[ledger]`: where the durable record lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    pub path: PathBuf,
}

impl LedgerConfig {
    /// The ledger's directory: where the small state files beside it live
    /// (the last TOTP step used, raw bodies). None for a bare file name.
    pub fn state_dir(&self) -> Option<&std::path::Path> {
        self.path.parent().filter(|p| !p.as_os_str().is_empty())
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            path: PathBuf::from(DEFAULT_LEDGER_PATH),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
    /// Pretty on a terminal, JSON otherwise (journald, Docker).
    #[default]
    Auto,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// An `EnvFilter` directive: `info`, `debug`, `kameo_bot=trace,info`.
    pub level: String,
    pub format: LogFormat,
    /// When set, JSON lines also go to daily-rotated files here.
    pub directory: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: LogFormat::Auto,
            directory: String::new(),
        }
    }
}

/// The countries Kameo lists loans from, in the order of its query flags.
pub const COUNTRIES: [&str; 3] = ["sweden", "norway", "denmark"];
/// The currencies Kameo keeps an account in.
pub const CURRENCIES: [&str; 3] = ["SEK", "NOK", "DKK"];
/// Kameo's risk classes.
pub const RISK_SCORES: [&str; 5] = ["A", "B", "C", "D", "E"];
