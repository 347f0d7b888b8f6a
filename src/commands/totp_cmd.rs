//! `totp`: the current 2FA code, to compare with the phone and check the
//! secret and the clock.

use std::path::Path;

use anyhow::Context;

use crate::config::EnvMap;
use crate::exit;
use crate::kameo::totp::TotpGenerator;

pub fn run(named: Option<&Path>, env: &EnvMap) -> anyhow::Result<u8> {
    let loaded = super::load_config(named, env)?;
    let secret = loaded.config.kameo.totp_secret.as_ref().context(
        "no TOTP secret configured (KAMEO_TOTP_SECRET, KAMEO_TOTP_SECRET_FILE or the kameo_totp_secret credential)",
    )?;
    let generator = TotpGenerator::new(secret).context("kameo.totp_secret")?;
    let (code, left) = generator.current();
    // Printing the code is this command's purpose; it goes to the terminal
    // that asked for it, never to a log.
    println!("{code}  ({left}s left)");
    Ok(exit::OK)
}
