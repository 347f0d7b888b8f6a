//! The two-factor code Kameo asks for after the password: a standard TOTP
//! (SHA-1, 6 digits, 30-second step), as Google Authenticator makes it.
//!
//! Why a wrapper around totp-rs: users paste secrets as the sites show them
//! (`abcd efgh ijkl mnop`, lower case, with or without `=` padding) and many
//! sites issue 80-bit secrets that totp-rs's strict builder refuses. We
//! normalise, check the secret decodes, and never let it or a code reach a
//! message.

use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, Builder};

use crate::config::Secret;

/// Kameo's TOTP step, in seconds.
pub const STEP_SECS: u64 = 30;
const DIGITS: u8 = 6;
/// Below 80 bits a secret is almost surely a typo, not a real seed.
const MIN_SECRET_BYTES: usize = 10;

/// Why a TOTP secret cannot be used. Never carries the secret itself.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("the TOTP secret is not valid base32 (letters A-Z and digits 2-7)")]
    NotBase32,
    #[error("the TOTP secret is too short ({bits} bits; at least 80 expected)")]
    TooShort { bits: usize },
}

/// Makes codes from a secret.
pub struct TotpGenerator {
    totp: totp_rs::Totp,
}

impl std::fmt::Debug for TotpGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpGenerator(********)")
    }
}

/// Upper case, no spaces, dashes or padding: what base32 decoding wants.
pub fn normalise_base32(secret: &str) -> String {
    secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl TotpGenerator {
    pub fn new(secret: &Secret) -> Result<Self, TotpError> {
        let normalised = normalise_base32(secret.expose());
        let decoded = totp_rs::Secret::try_from_base32(&normalised).map_err(|_| TotpError::NotBase32)?;
        let len = decoded.as_bytes().len();
        if len < MIN_SECRET_BYTES {
            return Err(TotpError::TooShort { bits: len * 8 });
        }
        // build_noncompliant: the strict build() refuses 80-bit secrets that
        // real sites issue. Digits (6) and step (30) are fixed and valid, so
        // nothing it skips checking can make generate() panic.
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_step_duration(STEP_SECS)
            .with_skew(1)
            .with_secret(decoded)
            .build_noncompliant();
        Ok(TotpGenerator { totp })
    }

    /// The code for the step holding `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.totp.generate(unix_secs).to_string()
    }

    /// Whether `code` is valid at `unix_secs`, ±1 step; the step it matched.
    pub fn check_at(&self, code: &str, unix_secs: u64) -> Option<u64> {
        self.totp.check(code, unix_secs)
    }

    /// The current code and how many seconds it stays valid.
    pub fn current(&self) -> (String, u64) {
        let now = unix_now();
        (self.code_at(now), STEP_SECS - now % STEP_SECS)
    }
}

/// Seconds since the epoch; 0 if the clock is before 1970 (then every code
/// is wrong anyway, and the login error says to check the clock).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Which 30-second step `unix_secs` falls in.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the seed "12345678901234567890".
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors_truncated_to_six_digits() {
        let g = TotpGenerator::new(&Secret::new(RFC_SECRET)).unwrap();
        // The RFC lists 8-digit codes; the 6-digit code is their last six.
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(g.code_at(t), &eight[2..], "t = {t}");
        }
    }

    #[test]
    fn accepts_the_ways_people_paste_secrets() {
        let reference = TotpGenerator::new(&Secret::new(RFC_SECRET)).unwrap().code_at(59);
        for pasted in [
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
            "gezdgnbv-gy3tqojq-gezdgnbv-gy3tqojq",
        ] {
            assert_eq!(
                TotpGenerator::new(&Secret::new(pasted)).unwrap().code_at(59),
                reference,
                "{pasted}"
            );
        }
    }

    #[test]
    fn rejects_bad_secrets_without_echoing_them() {
        let e = TotpGenerator::new(&Secret::new("not base32 at all!")).unwrap_err();
        assert_eq!(e, TotpError::NotBase32);
        assert!(!e.to_string().contains("base32 at all"));
        assert_eq!(
            TotpGenerator::new(&Secret::new("GEZDGNBV")).unwrap_err(),
            TotpError::TooShort { bits: 40 }
        );
    }

    #[test]
    fn checks_within_one_step() {
        let g = TotpGenerator::new(&Secret::new(RFC_SECRET)).unwrap();
        let code = g.code_at(1_000_000);
        assert!(g.check_at(&code, 1_000_000 + 30).is_some());
        assert!(g.check_at(&code, 1_000_000 + 95).is_none());
    }
}
