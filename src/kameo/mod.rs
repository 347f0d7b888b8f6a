//! Everything that speaks HTTP to Kameo. Nothing outside this module builds
//! a request to the platform, so its rules (rate budget, re-login, never
//! resending a submit) hold everywhere.
//!
//! - `transport`: one request, with the browser's headers, the cookie jar,
//!   the rate budget and 429 handling;
//! - `auth`: the captured login flow and the 2FA token;
//! - `client`: the endpoints, typed, with re-login and retries;
//! - `replies`: answers into results or errors, in Kameo's own words;
//! - `models`, `lenient`, `money`: reading Kameo's payloads exactly;
//! - `rate`, `retry`, `totp`: the budget, backoff, and the 2FA code.

mod auth;
mod client;
mod error;
mod lenient;
pub mod models;
pub mod money;
pub mod rate;
mod replies;
mod retry;
pub mod totp;
mod transport;

pub use auth::two_factor_token;
pub use client::{Intention, KameoClient, PAGE_SIZE};
pub use error::{KameoError, LoginStep, excerpt};
pub use models::{Balances, CashAccount, ListingPage, Loan, Preview, SubmitReceipt};
pub use replies::balances_from;
