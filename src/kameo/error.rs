//! What can go wrong talking to Kameo, as one enum the caller can act on:
//! a refused login stops the daemon (exit 77), a transient failure waits for
//! the next cycle, a rejected bid is recorded with Kameo's own words, and an
//! unknown submit outcome is reconciled — never resent.

use std::collections::BTreeMap;
use std::time::Duration;

/// The step of the login flow, for "which step failed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStep {
    LoginPage,
    Password,
    TwoFactorPage,
    TwoFactorCode,
}

impl std::fmt::Display for LoginStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoginStep::LoginPage => "GET /user/login",
            LoginStep::Password => "POST /user/login (email and password)",
            LoginStep::TwoFactorPage => "GET /auth/2fa",
            LoginStep::TwoFactorCode => "POST /auth/2fa (TOTP code)",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KameoError {
    /// The platform said no to our credentials. Never retried in a loop.
    #[error("login refused at {step}: {reason}")]
    LoginRefused { step: LoginStep, reason: String },
    /// No email, password or TOTP secret configured.
    #[error("cannot log in: {0}")]
    MissingCredentials(String),
    /// Logged in again after an expiry and the session still did not hold.
    #[error("{endpoint}: session expired and a fresh login did not restore it")]
    SessionExpired { endpoint: String },
    /// Kameo answered 429 and waiting did not help within the call.
    #[error("{endpoint}: rate limited by Kameo (retry after {retry_after:?})")]
    RateLimited { endpoint: String, retry_after: Duration },
    /// Connection error, timeout or 5xx that outlasted the retries.
    #[error("{endpoint}: {reason}")]
    Transient { endpoint: String, reason: String },
    /// Kameo refused a bid (422 and the like) and said why.
    #[error("bid on loan {loan_id} rejected (HTTP {status}): {message}{}", field_list(.field_errors))]
    BidRejected {
        loan_id: u64,
        status: u16,
        message: String,
        field_errors: BTreeMap<String, Vec<String>>,
        raw: String,
    },
    /// A submit whose fate we cannot know (timeout, 5xx, reset). The caller
    /// must reconcile against `my_bid_amount`; resending could double a bid.
    #[error("submit of {amount} on loan {loan_id}: outcome unknown ({reason})")]
    OutcomeUnknown { loan_id: u64, amount: u64, reason: String },
    /// A body we could not read, with a short excerpt for the operator.
    #[error("{endpoint}: unexpected response ({reason}); body starts: {excerpt}")]
    Malformed {
        endpoint: String,
        reason: String,
        excerpt: String,
    },
    /// Kameo answered with an error we have no better name for.
    #[error("{endpoint}: HTTP {status}: {message}")]
    Api {
        endpoint: String,
        status: u16,
        message: String,
    },
}

fn field_list(fields: &BTreeMap<String, Vec<String>>) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {}", v.join("; "))).collect();
    format!(" [{}]", parts.join(", "))
}

impl KameoError {
    /// Whether the credentials themselves were refused (exit 77).
    pub fn is_login_refused(&self) -> bool {
        matches!(
            self,
            KameoError::LoginRefused { .. } | KameoError::MissingCredentials(_)
        )
    }

    /// Whether waiting and trying again might work.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            KameoError::Transient { .. } | KameoError::RateLimited { .. } | KameoError::Malformed { .. }
        )
    }
}

/// At most `max` characters of a body, on one line, for error messages,
/// with the values of `…token…` keys masked (the balances call carries a
/// CSRF token, and an unreadable body cannot be redacted as JSON).
pub fn excerpt(body: &str, max: usize) -> String {
    let masked = mask_tokens(body);
    let one_line: String = masked.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        out.push('…');
    }
    out
}

/// Replaces the string value after every `…token…":` with the mask.
fn mask_tokens(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("token\"") {
        let key_end = search + found + "token\"".len();
        let rest = &text[key_end..];
        let after_colon = rest.trim_start().strip_prefix(':').map(str::trim_start);
        match after_colon.and_then(|v| v.strip_prefix('"')) {
            Some(value) => {
                let value_start = text.len() - value.len();
                let value_end = value.find('"').map_or(text.len(), |e| value_start + e);
                out.push_str(&text[copied..value_start]);
                out.push_str(crate::config::MASK);
                copied = value_end;
                search = value_end;
            }
            None => search = key_end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_mask_token_values_even_in_broken_json() {
        let body = r#"{"content":{"data":{"xsrfToken" : "abc123secret","accounts":[{"a"#;
        let e = excerpt(body, 200);
        assert!(!e.contains("abc123secret"), "{e}");
        assert!(e.contains(r#""xsrfToken" : "********""#), "{e}");
        assert_eq!(excerpt("no tokens here", 200), "no tokens here");
        assert_eq!(excerpt(r#"{"token":"#, 200), r#"{"token":"#);
        assert_eq!(excerpt(r#"{"csrf_token":"x"}"#, 200), r#"{"csrf_token":"********"}"#);
    }
}
