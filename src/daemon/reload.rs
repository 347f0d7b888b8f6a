//! SIGHUP: read the config from the same sources, validate it, and apply
//! what changed without dropping the session or the ledger. An invalid
//! config is rejected with every problem listed, and the old one stays.

use std::collections::BTreeMap;

use super::{ConfigSource, notify};
use crate::config::Config;
use crate::kameo::KameoClient;
use crate::telemetry::Telemetry;

use super::Bot;

/// Every leaf of a config as `section.key` → its TOML text (secrets masked).
fn leaves(config: &Config) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(toml::Value::Table(sections)) = toml::Value::try_from(config) {
        for (section, value) in sections {
            if let toml::Value::Table(keys) = value {
                for (key, v) in keys {
                    out.insert(format!("{section}.{key}"), v.to_string());
                }
            }
        }
    }
    out
}

/// The keys whose values differ, secrets included (by name only).
pub fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    let (a, b) = (leaves(old), leaves(new));
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if old.kameo.password != new.kameo.password {
        keys.push("kameo.password".into());
    }
    if old.kameo.totp_secret != new.kameo.totp_secret {
        keys.push("kameo.totp_secret".into());
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Reloads; logs `config_reloaded` or `config_rejected`.
pub fn apply(bot: &mut Bot, source: &ConfigSource, telemetry: Option<&Telemetry>) {
    notify::reloading();
    match source.load() {
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            tracing::error!(event = "config_rejected", problems = ?problems, "the new config is invalid; keeping the old one");
        }
        Ok(loaded) => {
            let mut new = loaded.config;
            if new.ledger.path != bot.config.ledger.path {
                tracing::warn!(
                    event = "config_rejected",
                    key = "ledger.path",
                    "ledger.path cannot change while running; restart to move the ledger"
                );
                new.ledger.path = bot.config.ledger.path.clone();
            }
            let changed = changed_keys(&bot.config, &new);
            if new.kameo != bot.config.kameo {
                match KameoClient::new(&new.kameo, new.ledger.state_dir()) {
                    Ok(client) => bot.client = client,
                    Err(e) => {
                        tracing::error!(event = "config_rejected", error = %e, "the new [kameo] settings cannot be used; keeping the old config");
                        notify::ready();
                        return;
                    }
                }
            }
            if new.logging.level != bot.config.logging.level
                && let Some(t) = telemetry
                && let Err(e) = t.set_level(&new.logging.level)
            {
                tracing::warn!(event = "config_rejected", key = "logging.level", error = %e, "log level not changed");
            }
            for w in &loaded.warnings {
                tracing::warn!(event = "config_reloaded", warning = %w);
            }
            let dry_run = source.force_dry_run || new.daemon.dry_run;
            bot.set_config(new, dry_run);
            tracing::info!(event = "config_reloaded", changed = ?changed, dry_run, "config reloaded");
        }
    }
    notify::ready();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn names_what_changed_and_never_the_secret_values() {
        let old = Config::default();
        let mut new = Config::default();
        new.strategy.min_interest_rate = 8.0;
        new.daemon.dry_run = false;
        new.kameo.password = Some(Secret::new("s3cret"));
        let changed = changed_keys(&old, &new);
        assert_eq!(
            changed,
            ["daemon.dry_run", "kameo.password", "strategy.min_interest_rate"]
        );
        assert!(changed_keys(&old, &old.clone()).is_empty());
    }
}
