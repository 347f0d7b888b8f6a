//! Logging: structured lines for operators who filter with jq.
//!
//! Every line the bot writes carries an `event` field with a stable name (see
//! DESIGN.md); JSON lines put it, `timestamp`, `level` and the event's fields
//! at the top level. Dependencies (hyper, h2, rustls, …) are capped at info
//! whatever the level asked for, both to keep the log readable and because
//! transport traces are where headers (cookies) could leak. Secrets are kept
//! out by type: they are [`crate::config::Secret`] and print as `********`.

use std::io::IsTerminal;

use anyhow::Context;
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::config::{LogFormat, LoggingConfig};

/// Crates whose logs never go below info: chatty, and close to the wire.
const QUIET_DEPENDENCIES: [&str; 10] = [
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "reqwest",
    "tower",
    "tower_http",
    "axum",
    "mio",
    "cookie_store",
];

/// Where console lines go: the daemon writes to stdout (journald, Docker);
/// one-shot commands to stderr so their stdout stays clean for `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Stdout,
    Stderr,
}

/// Keeps the log pipeline alive; dropping it flushes the file writer.
pub struct Telemetry {
    filter: reload::Handle<EnvFilter, Registry>,
    _file_guard: Option<WorkerGuard>,
}

impl Telemetry {
    /// Applies a new `logging.level` (on SIGHUP).
    pub fn set_level(&self, level: &str) -> anyhow::Result<()> {
        let filter = build_filter(level)?;
        self.filter.reload(filter).context("cannot apply the new log level")
    }
}

/// Parses a level or an `EnvFilter` directive.
pub fn build_filter(level: &str) -> anyhow::Result<EnvFilter> {
    EnvFilter::try_new(level).with_context(|| format!("logging.level `{level}` is not a valid filter"))
}

/// Whether `format` means JSON on this console.
pub fn wants_json(format: LogFormat, console: Console) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => match console {
            Console::Stdout => !std::io::stdout().is_terminal(),
            Console::Stderr => !std::io::stderr().is_terminal(),
        },
    }
}

/// Installs the global subscriber. Call once per process.
pub fn init(config: &LoggingConfig, console: Console) -> anyhow::Result<Telemetry> {
    let (filter, handle) = reload::Layer::new(build_filter(&config.level)?);
    let cap = QUIET_DEPENDENCIES
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, name| {
            t.with_target(*name, LevelFilter::INFO)
        });

    let json = wants_json(config.format, console);
    let console_layer = match (json, console) {
        (true, Console::Stdout) => json_layer(std::io::stdout).boxed(),
        (true, Console::Stderr) => json_layer(std::io::stderr).boxed(),
        (false, Console::Stdout) => pretty_layer(std::io::stdout, std::io::stdout().is_terminal()).boxed(),
        (false, Console::Stderr) => pretty_layer(std::io::stderr, std::io::stderr().is_terminal()).boxed(),
    };

    let (file_layer, guard) = if config.directory.is_empty() {
        (None, None)
    } else {
        std::fs::create_dir_all(&config.directory)
            .with_context(|| format!("logging.directory {}: cannot create it", config.directory))?;
        let appender = tracing_appender::rolling::daily(&config.directory, "kameo-bot.log");
        // lossy(false): a full buffer makes the logger wait instead of
        // silently dropping lines an operator may need after an incident.
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(appender);
        (Some(json_layer(writer).boxed()), Some(guard))
    };

    tracing_subscriber::registry()
        .with(filter)
        .with(cap)
        .with(console_layer)
        .with(file_layer)
        .try_init()
        .context("a logger is already installed")?;
    Ok(Telemetry {
        filter: handle,
        _file_guard: guard,
    })
}

/// JSON lines with the event's fields at the top level.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
}

fn pretty_layer<S, W>(writer: W, ansi: bool) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
}
