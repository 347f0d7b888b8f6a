//! Where the configuration comes from, layer by layer, and how a bad one is
//! reported: every problem, each naming its key, never the first one only.
//!
//! The environment is passed in as a map (see [`process_env`]) so that tests
//! and the reload path read the same sources without touching process state.
//! Secrets never go through figment's value parser: it would turn a password
//! `012345` into the number 12345.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::{Figment, Provider};

use super::secret::{Secret, SecretSource};
use super::{Config, DaemonConfig, KameoConfig, LedgerConfig, LoggingConfig, StrategyConfig};

/// Environment variables by name.
pub type EnvMap = BTreeMap<String, String>;

/// The process environment, read once.
pub fn process_env() -> EnvMap {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

const ENV_PREFIX: &str = "KAMEO_BOT__";
const CONFIG_ENV: &str = "KAMEO_BOT_CONFIG";
const LOCAL_CONFIG: &str = "config/kameo-bot.toml";
const SYSTEM_CONFIG: &str = "/etc/kameo-bot/config.toml";
const SECTIONS: [&str; 5] = ["kameo", "strategy", "daemon", "ledger", "logging"];

/// The original Python tool's plain variable names and the key each sets.
const PLAIN_ENV: [(&str, &str); 10] = [
    ("KAMEO_EMAIL", "kameo.email"),
    ("KAMEO_BASE_URL", "kameo.api_url"),
    ("KAMEO_WEB_URL", "kameo.web_url"),
    ("KAMEO_RATE_LIMIT_DELAY", "kameo.rate_limit_delay"),
    ("MAX_BID_AMOUNT", "strategy.max_bid_amount"),
    ("MIN_INTEREST_RATE", "strategy.min_interest_rate"),
    ("MAX_COMPETITORS", "strategy.max_competitors"),
    ("RESERVE_PERCENTAGE", "strategy.reserve_percentage"),
    ("LOG_LEVEL", "logging.level"),
    ("SAVE_RAW_DATA", "kameo.save_raw_data"),
];

/// Keys whose env values are taken as text as they stand, never parsed
/// (an email or a path made of digits must stay text).
const TEXT_KEYS: [&str; 9] = [
    "kameo.email",
    "kameo.api_url",
    "kameo.web_url",
    "kameo.timeout",
    "daemon.poll_interval",
    "daemon.pause_file",
    "ledger.path",
    "logging.level",
    "logging.directory",
];

/// A secret key, the plain variable that sets it, and its credential name.
struct SecretKey {
    key: &'static str,
    field: &'static str,
    plain: &'static str,
    credential: &'static str,
}

const SECRET_KEYS: [SecretKey; 2] = [
    SecretKey {
        key: "kameo.password",
        field: "password",
        plain: "KAMEO_PASSWORD",
        credential: "kameo_password",
    },
    SecretKey {
        key: "kameo.totp_secret",
        field: "totp_secret",
        plain: "KAMEO_TOTP_SECRET",
        credential: "kameo_totp_secret",
    },
];

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with the configuration, tied to the key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    pub fn error(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
            severity: Severity::Warning,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{tag}: {}: {}", self.key, self.message)
    }
}

/// Why no configuration could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration{}: {} problem(s)\n{}", source_suffix(.file), .problems.len(), list(.problems))]
    Invalid {
        file: Option<PathBuf>,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn source_suffix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!(" in {}", f.display()))
        .unwrap_or_default()
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

/// A configuration that loaded and validated, with what `config show` needs.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
    /// `kameo.password` / `kameo.totp_secret` → where the value came from.
    pub secret_sources: BTreeMap<&'static str, SecretSource>,
    pub warnings: Vec<Problem>,
}

/// Finds the config file: `--config`, else `$KAMEO_BOT_CONFIG`, else
/// `./config/kameo-bot.toml`, else `/etc/kameo-bot/config.toml`. A file the
/// user named must exist; the two fallbacks are optional (env-only setups).
pub fn locate_config_file(named: Option<&Path>, env: &EnvMap) -> Result<Option<PathBuf>, Problem> {
    let named = named
        .map(Path::to_path_buf)
        .or_else(|| env.get(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
    if let Some(path) = named {
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(Problem::error(
                "config",
                format!("file {} does not exist or is not a file", path.display()),
            ))
        };
    }
    Ok([LOCAL_CONFIG, SYSTEM_CONFIG]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file()))
}

/// Loads, layers and validates the configuration.
pub fn load(named: Option<&Path>, env: &EnvMap) -> Result<Loaded, ConfigError> {
    let file = locate_config_file(named, env).map_err(|p| ConfigError::Invalid {
        file: None,
        problems: vec![p],
    })?;
    let invalid = |problems| ConfigError::Invalid {
        file: file.clone(),
        problems,
    };

    let mut problems = Vec::new();
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &file {
        // Read it ourselves first: figment reports a TOML syntax error without
        // the line, and we want a clear "cannot read" for permissions.
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Err(e) = toml::from_str::<toml::Table>(&text) {
                    return Err(invalid(vec![Problem::error("config", format!("not valid TOML: {e}"))]));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            Err(e) => {
                return Err(invalid(vec![Problem::error(
                    "config",
                    format!("cannot read {}: {e}", path.display()),
                )]));
            }
        }
    }

    let mut origins: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(".");
        if SECRET_KEYS.iter().any(|s| s.key == key) {
            continue; // read raw below
        }
        figment = figment.merge(Serialized::default(&key, env_value(&key, value)));
        origins.insert(key, name.clone());
    }
    for (name, key) in PLAIN_ENV {
        if let Some(value) = env.get(name) {
            figment = figment.merge(Serialized::default(key, env_value(key, value)));
            origins.insert(key.to_string(), name.to_string());
        }
    }

    // Unknown sections are caught here; unknown keys inside a section by serde.
    if let Ok(data) = figment.data() {
        for dict in data.values() {
            for section in dict.keys() {
                if !SECTIONS.contains(&section.as_str()) {
                    problems.push(Problem::error(
                        section.clone(),
                        format!("unknown section; expected one of {}", SECTIONS.join(", ")),
                    ));
                }
            }
        }
    }

    let mut config = Config::default();
    let mut failed_sections: Vec<&str> = Vec::new();
    macro_rules! section {
        ($name:literal, $field:ident, $ty:ty) => {
            match figment.extract_inner::<$ty>($name) {
                Ok(v) => config.$field = v,
                Err(e) => {
                    failed_sections.push($name);
                    problems.extend(figment_problems($name, e, &origins));
                }
            }
        };
    }
    section!("kameo", kameo, KameoConfig);
    section!("strategy", strategy, StrategyConfig);
    section!("daemon", daemon, DaemonConfig);
    section!("ledger", ledger, LedgerConfig);
    section!("logging", logging, LoggingConfig);

    let mut warnings = Vec::new();
    let mut secret_sources = BTreeMap::new();
    for secret in &SECRET_KEYS {
        match read_secret(secret, &config, file.as_deref(), env) {
            Ok(Some((value, source))) => {
                warn_if_exposed(secret.key, &source, &mut warnings);
                let slot = match secret.field {
                    "password" => &mut config.kameo.password,
                    _ => &mut config.kameo.totp_secret,
                };
                *slot = Some(value);
                secret_sources.insert(secret.key, source);
            }
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }

    for p in super::validate(&config) {
        let section = p.key.split('.').next().unwrap_or_default();
        if failed_sections.contains(&section) {
            continue; // judged on defaults, not on what the user wrote
        }
        match p.severity {
            Severity::Error => problems.push(p),
            Severity::Warning => warnings.push(p),
        }
    }

    if problems.is_empty() {
        Ok(Loaded {
            config,
            file,
            secret_sources,
            warnings,
        })
    } else {
        Err(invalid(problems))
    }
}

/// An env value as figment would read it, except for text keys.
fn env_value(key: &str, raw: &str) -> Value {
    if TEXT_KEYS.contains(&key) {
        Value::from(raw.to_string())
    } else {
        // figment's parser never fails: what is not TOML-ish stays a string.
        raw.parse::<Value>().unwrap_or_else(|_| Value::from(raw.to_string()))
    }
}

/// Turns figment's error chain into problems that name the full key.
fn figment_problems(section: &str, error: figment::Error, origins: &BTreeMap<String, String>) -> Vec<Problem> {
    error
        .into_iter()
        .map(|e| {
            // extract_inner's paths hold the section in varying places; rebuild
            // them as `section.field`.
            let mut path = vec![section.to_string()];
            path.extend(e.path.iter().filter(|p| p.as_str() != section).cloned());
            let message = match &e.kind {
                figment::error::Kind::UnknownField(field, expected) => {
                    if path.last() != Some(field) {
                        path.push(field.clone());
                    }
                    format!("unknown key; expected one of {}", expected.join(", "))
                }
                other => other.to_string(),
            };
            let key = path.join(".");
            let message = match origins.get(&key) {
                Some(var) => format!("{message} (from environment variable {var})"),
                None => message,
            };
            Problem::error(key, message)
        })
        .collect()
}

/// The strongest source of one secret, read as raw text.
fn read_secret(
    secret: &SecretKey,
    config: &Config,
    file: Option<&Path>,
    env: &EnvMap,
) -> Result<Option<(Secret, SecretSource)>, Problem> {
    let from_toml = match secret.field {
        "password" => config.kameo.password.clone(),
        _ => config.kameo.totp_secret.clone(),
    };
    let mut found = from_toml.zip(file.map(|f| SecretSource::File(f.display().to_string())));

    let prefixed = format!("{ENV_PREFIX}KAMEO__{}", secret.field.to_ascii_uppercase());
    for name in [prefixed.as_str(), secret.plain] {
        if let Some(value) = env.get(name) {
            found = Some((Secret::new(value.clone()), SecretSource::Env(name.to_string())));
        }
    }

    let file_var = format!("{}_FILE", secret.plain);
    if let Some(path) = env.get(&file_var).filter(|p| !p.is_empty()) {
        let value = read_secret_file(Path::new(path))
            .map_err(|e| Problem::error(secret.key, format!("cannot read {path} (named by {file_var}): {e}")))?;
        found = Some((
            value,
            SecretSource::EnvFile {
                variable: file_var.clone(),
                path: path.clone(),
            },
        ));
    }

    if let Some(dir) = env.get("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        let path = Path::new(dir).join(secret.credential);
        if path.is_file() {
            let value = read_secret_file(&path)
                .map_err(|e| Problem::error(secret.key, format!("cannot read credential {}: {e}", path.display())))?;
            found = Some((value, SecretSource::Credential(path.display().to_string())));
        }
    }
    Ok(found)
}

/// A secret file's content without the trailing newline an editor adds.
fn read_secret_file(path: &Path) -> std::io::Result<Secret> {
    let text = std::fs::read_to_string(path)?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// Warns when a file holding a secret can be read by group or others.
fn warn_if_exposed(key: &str, source: &SecretSource, warnings: &mut Vec<Problem>) {
    use std::os::unix::fs::PermissionsExt;
    let path = match source {
        SecretSource::File(p) | SecretSource::EnvFile { path: p, .. } => p,
        SecretSource::Env(_) | SecretSource::Credential(_) => return,
    };
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o044 != 0
    {
        warnings.push(Problem::warning(
            key,
            format!("{path} holds a secret and is readable by group or others; chmod 600 it"),
        ));
    }
}
