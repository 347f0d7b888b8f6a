//! `run`: the daemon, fed by the process's signals.

use std::path::Path;

use crate::config::EnvMap;
use crate::daemon::{self, ConfigSource, signals};
use crate::exit;
use crate::telemetry::{self, Console};

pub async fn run(named: Option<&Path>, env: &EnvMap, once: bool, dry_run: bool) -> anyhow::Result<u8> {
    let loaded = super::load_config(named, env)?;
    let telemetry = telemetry::init(&loaded.config.logging, Console::Stdout)?;
    let source = ConfigSource {
        file: loaded.file.clone(),
        env: env.clone(),
        force_dry_run: dry_run,
    };
    let intents = signals::listen()?;
    daemon::run(source, loaded, Some(&telemetry), once, intents).await?;
    Ok(exit::OK)
}
