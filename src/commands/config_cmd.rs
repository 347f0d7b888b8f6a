//! `config check` and `config show`.

use std::path::Path;

use crate::config::{self, EnvMap, MASK};
use crate::exit;

/// Prints every problem; 0 when valid (warnings allowed), 78 when not.
pub fn check(named: Option<&Path>, env: &EnvMap) -> u8 {
    match config::load(named, env) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("{w}");
            }
            let source = loaded
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| "defaults and environment (no file)".into());
            println!("ok: {source} is valid ({} warning(s))", loaded.warnings.len());
            exit::OK
        }
        Err(e) => {
            for p in e.problems() {
                println!("{p}");
            }
            println!("invalid: {} problem(s)", e.problems().len());
            exit::CONFIG
        }
    }
}

/// Prints the effective config as TOML, secrets masked, with their sources.
pub fn show(named: Option<&Path>, env: &EnvMap) -> anyhow::Result<u8> {
    let loaded = super::load_config(named, env)?;
    let mut out = String::from("# kameo-bot effective configuration\n");
    match &loaded.file {
        Some(f) => out.push_str(&format!("# file: {}\n", f.display())),
        None => out.push_str("# file: none (defaults and environment only)\n"),
    }
    for key in ["kameo.password", "kameo.totp_secret"] {
        match loaded.secret_sources.get(key) {
            Some(source) => out.push_str(&format!("# {key} = {MASK} from {source}\n")),
            None => out.push_str(&format!("# {key}: not set\n")),
        }
    }
    out.push('\n');
    out.push_str(&toml::to_string_pretty(&loaded.config)?);
    print!("{out}");
    Ok(exit::OK)
}
