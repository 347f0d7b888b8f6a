//! Exit codes, following sysexits(3), and which error maps to which.
//!
//! Scripts and systemd's `RestartPreventExitStatus=` rely on these numbers:
//! 78 means "fix the config, restarting won't help"; 77 "the login was
//! refused"; 69 "Kameo (or this feature) is not available right now".

use crate::config::ConfigError;
use crate::kameo::KameoError;

pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 64;
pub const UNAVAILABLE: u8 = 69;
pub const NO_PERMISSION: u8 = 77;
pub const CONFIG: u8 = 78;

/// A command that cannot do its job yet or here, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Bad command-line input that clap could not catch (e.g. a bad date).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error, judged by the first typed cause in its chain.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<ConfigError>().is_some() {
            return CONFIG;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return USAGE;
        }
        if cause.downcast_ref::<Unavailable>().is_some() {
            return UNAVAILABLE;
        }
        if let Some(e) = cause.downcast_ref::<KameoError>() {
            return if e.is_login_refused() {
                NO_PERMISSION
            } else {
                UNAVAILABLE
            };
        }
    }
    FAILURE
}
