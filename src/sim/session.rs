//! Cookie sessions shared by both hosts, and the API host's rate limit.
//!
//! Kameo's session cookie is set on `.kameo.se` and so reaches both hosts. On
//! 127.0.0.1 a host-only cookie does the same: cookies ignore the port.

use std::collections::{HashMap, VecDeque};

use rand::Rng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tokio::time::{Duration, Instant};

/// The cookie's name, as eZ Publish calls it.
pub const COOKIE: &str = "eZSESSID";
/// Kameo's limit, per session (or per client without one), per minute.
pub const RATE_LIMIT: usize = 60;
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// How far a session has come through the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Anonymous,
    PasswordAccepted,
    Authenticated,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub stage: Stage,
    /// The form token of the 2FA page.
    pub token: String,
    pub authenticated_at: Option<OffsetDateTime>,
}

#[derive(Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
    /// TOTP steps already used: a code works once.
    pub used_steps: Vec<u64>,
    windows: HashMap<String, VecDeque<Instant>>,
}

/// `len` random lower-case hex digits (a digit below 16 always converts).
pub fn random_hex(rng: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl Sessions {
    pub fn create(&mut self, rng: &mut StdRng) -> String {
        let id = random_hex(rng, 32);
        self.by_id.insert(
            id.clone(),
            Session {
                stage: Stage::Anonymous,
                token: random_hex(rng, 40),
                authenticated_at: None,
            },
        );
        id
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id)
    }

    /// Whether `id` is logged in and not expired (`lifetime`, if any).
    pub fn is_authenticated(&self, id: &str, now: OffsetDateTime, lifetime: Option<time::Duration>) -> bool {
        match self.by_id.get(id) {
            Some(s) if s.stage == Stage::Authenticated => match (s.authenticated_at, lifetime) {
                (Some(at), Some(life)) => now < at + life,
                _ => true,
            },
            _ => false,
        }
    }

    /// Ends every session (what an expiry at Kameo looks like to a client).
    pub fn expire_all(&mut self) {
        for s in self.by_id.values_mut() {
            s.stage = Stage::Anonymous;
        }
    }

    /// Counts a request against `key`'s minute. Ok(remaining) or
    /// Err(seconds until a slot frees up).
    pub fn take(&mut self, key: &str, now: Instant) -> Result<usize, u64> {
        let window = self.windows.entry(key.to_string()).or_default();
        while window.front().is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW) {
            window.pop_front();
        }
        if window.len() >= RATE_LIMIT {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = RATE_WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.push_back(now);
        Ok(RATE_LIMIT - window.len())
    }
}

/// The session id in a `Cookie:` header, if any.
pub fn session_from_cookie(header: Option<&str>) -> Option<String> {
    header?.split(';').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then(|| value.to_string())
    })
}
