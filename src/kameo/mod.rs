//! Everything that speaks HTTP to Kameo. Nothing outside this module builds
//! a request to the platform, so its rules (rate budget, re-login, never
//! resending a submit) hold everywhere.

mod error;
pub mod totp;

pub use error::{KameoError, LoginStep, excerpt};
