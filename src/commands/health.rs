//! `health`: exit 0 when the daemon sharing this ledger finished a good
//! cycle recently, 1 otherwise, with a one-line reason (Docker HEALTHCHECK).
//! "Recently" is three poll intervals, the same bound as the watchdog's.

use std::path::Path;

use time::OffsetDateTime;

use crate::config::EnvMap;
use crate::exit;
use crate::ledger::Ledger;

/// Unhealthy, in Docker's sense.
const UNHEALTHY: u8 = 1;

pub fn run(named: Option<&Path>, env: &EnvMap) -> anyhow::Result<u8> {
    let loaded = super::load_config(named, env)?;
    let path = &loaded.config.ledger.path;
    if !path.is_file() {
        println!("unhealthy: no ledger at {} (the daemon has not run)", path.display());
        return Ok(UNHEALTHY);
    }
    let ledger = match Ledger::open(path) {
        Ok(l) => l,
        Err(e) => {
            println!("unhealthy: {e}");
            return Ok(UNHEALTHY);
        }
    };
    let limit = loaded.config.daemon.poll_interval.get() * 3;
    match ledger.last_good_cycle()? {
        None => {
            println!("unhealthy: no cycle has succeeded yet");
            Ok(UNHEALTHY)
        }
        Some(at) => {
            let age = (OffsetDateTime::now_utc() - at)
                .max(time::Duration::ZERO)
                .unsigned_abs();
            if age <= limit {
                println!("healthy: last good cycle {}s ago", age.as_secs());
                Ok(exit::OK)
            } else {
                println!(
                    "unhealthy: last good cycle {}s ago (limit {}s: three poll intervals)",
                    age.as_secs(),
                    limit.as_secs()
                );
                Ok(UNHEALTHY)
            }
        }
    }
}
