//! `report`: the ledger's totals, as tables or JSON.

use std::path::Path;

use anyhow::Context;

use crate::config::EnvMap;
use crate::exit;
use crate::ledger::{Ledger, build_report};

pub fn run(named: Option<&Path>, env: &EnvMap, since: Option<time::Date>, json: bool) -> anyhow::Result<u8> {
    let loaded = super::load_config(named, env)?;
    let path = &loaded.config.ledger.path;
    if !path.exists() {
        return Err(exit::Unavailable(format!("no ledger at {} yet: the daemon has not run", path.display())).into());
    }
    let ledger = Ledger::open(path).with_context(|| format!("cannot open the ledger {}", path.display()))?;
    let since = since.map(|d| d.midnight().assume_utc());
    let report = build_report(&ledger, since)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(exit::OK)
}
