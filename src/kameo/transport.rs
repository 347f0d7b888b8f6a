//! Sending one request to Kameo: the browser-like headers of the captures,
//! the cookie session, the rate budget, 429 handling, and raw capture.
//! Everything above this (login, endpoints) sees a [`Reply`] or a
//! [`KameoError`], never a reqwest type.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use super::KameoError;
use super::rate::{Lane, RateBudget};

/// A browser's user agent: Kameo's front end is what we imitate.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// 429s in a row before a call gives up (each waits its Retry-After).
const MAX_CONSECUTIVE_429: u32 = 5;
/// Without `Retry-After`, wait for the rate window to pass.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What a request carries, and so what it expects back.
pub enum Body<'a> {
    /// No body; an HTML page comes back (the login flow).
    Page,
    /// No body; JSON comes back.
    Query,
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// One answer, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The redirect target's path, for 3xx answers.
    pub location: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn looks_like_html(&self) -> bool {
        self.content_type.contains("text/html") || self.body.trim_start().starts_with('<')
    }

    /// Whether this is how an expired session shows itself (not captured,
    /// so every sign the README lists counts).
    pub fn is_session_expired(&self, json_expected: bool) -> bool {
        let to_login = self
            .location
            .as_deref()
            .is_some_and(|l| l.contains("/user/login") || l.contains("/auth/2fa"));
        matches!(self.status, 401 | 403)
            || ((300..400).contains(&self.status) && to_login)
            || (json_expected && self.status == 200 && self.looks_like_html())
    }
}

pub struct Transport {
    http: reqwest::Client,
    pub budget: RateBudget,
    raw_dir: Option<PathBuf>,
    timeout: Duration,
}

impl Transport {
    pub fn new(
        web_url: &Url,
        timeout: Duration,
        budget: RateBudget,
        raw_dir: Option<PathBuf>,
    ) -> Result<Self, KameoError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("sv"));
        let origin = web_url.origin().ascii_serialization();
        if let Ok(v) = HeaderValue::from_str(&origin) {
            headers.insert(header::ORIGIN, v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("{origin}/")) {
            headers.insert(header::REFERER, v);
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .cookie_store(true)
            // Redirects are part of the login protocol: we read them ourselves.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| KameoError::Transient {
                endpoint: "client".into(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Transport {
            http,
            budget,
            raw_dir,
            timeout,
        })
    }

    /// Sends one request within the budget; waits out 429s.
    pub async fn send(
        &self,
        endpoint: &str,
        method: Method,
        url: Url,
        body: Body<'_>,
        lane: Lane,
    ) -> Result<Reply, KameoError> {
        let mut throttled = 0;
        loop {
            self.budget.acquire(lane).await;
            let sent_at = tokio::time::Instant::now();
            let mut request = self.http.request(method.clone(), url.clone());
            request = match &body {
                Body::Page => request,
                Body::Query => request.header(header::ACCEPT, "application/json, text/plain, */*"),
                Body::Json(v) => request
                    .json(v)
                    .header(header::ACCEPT, "application/json, text/plain, */*"),
                Body::Form(f) => request.form(f),
            };
            let response = request.send().await.map_err(|e| self.transport_error(endpoint, &e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let number = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u32>().ok())
            };
            if let (Some(remaining), Some(limit)) = (number("x-ratelimit-remaining"), number("x-ratelimit-limit")) {
                self.budget.observe_remaining(remaining, limit);
            }
            if status == 429 {
                throttled += 1;
                let wait = number("retry-after")
                    .map(|s| Duration::from_secs(s.into()))
                    .unwrap_or(DEFAULT_RETRY_AFTER);
                tracing::warn!(
                    event = "rate_limited",
                    endpoint,
                    retry_after_secs = wait.as_secs(),
                    "Kameo answered 429; waiting"
                );
                if throttled >= MAX_CONSECUTIVE_429 {
                    return Err(KameoError::RateLimited {
                        endpoint: endpoint.into(),
                        retry_after: wait,
                    });
                }
                self.budget.hold_for(wait);
                continue;
            }
            let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(|l| {
                url.join(l)
                    .map(|u| u.path().to_string())
                    .unwrap_or_else(|_| l.to_string())
            });
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = response.text().await.map_err(|e| self.transport_error(endpoint, &e))?;
            // Endpoint, path and status only: headers carry the session
            // cookie and bodies may carry tokens.
            tracing::debug!(
                event = "api_call",
                endpoint,
                method = %method,
                path = url.path(),
                status,
                ms = sent_at.elapsed().as_millis() as u64,
            );
            let reply = Reply {
                status,
                location,
                content_type,
                body,
            };
            self.save_raw(endpoint, &reply);
            return Ok(reply);
        }
    }

    fn transport_error(&self, endpoint: &str, e: &reqwest::Error) -> KameoError {
        let reason = if e.is_timeout() {
            format!("no answer within {}s", self.timeout.as_secs_f32())
        } else if e.is_connect() {
            format!("cannot connect: {}", root_cause(e))
        } else {
            format!("request failed: {}", root_cause(e))
        };
        KameoError::Transient {
            endpoint: endpoint.into(),
            reason,
        }
    }

    /// Keeps a JSON answer under `raw/<endpoint>/` when `save_raw_data` is on.
    /// HTML pages (login, 2FA) are never kept: they carry session tokens.
    fn save_raw(&self, endpoint: &str, reply: &Reply) {
        let Some(dir) = &self.raw_dir else { return };
        if reply.looks_like_html() || reply.body.is_empty() {
            return;
        }
        let body = match serde_json::from_str::<Value>(&reply.body) {
            Ok(mut v) => {
                redact(&mut v);
                v.to_string()
            }
            // Unreadable bodies are exactly what raw capture is for.
            Err(_) => reply.body.clone(),
        };
        let name: String = endpoint
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = dir.join(name);
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let path = dir.join(format!("{stamp}-{}.json", reply.status));
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, body)) {
            tracing::warn!(event = "api_error", path = %path.display(), error = %e, "cannot save a raw response");
        }
    }
}

/// Blanks tokens in a saved body (the balances call carries the CSRF token).
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if key.contains("token") || key.contains("password") || key.contains("secret") {
                    *val = Value::String(crate::config::MASK.into());
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The innermost message of an error, which says what really happened.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, location: Option<&str>, body: &str) -> Reply {
        Reply {
            status,
            location: location.map(String::from),
            content_type: if body.starts_with('<') {
                "text/html".into()
            } else {
                "application/json".into()
            },
            body: body.into(),
        }
    }

    #[test]
    fn recognises_every_sign_of_an_expired_session() {
        assert!(reply(401, None, "{\"message\":\"Unauthenticated.\"}").is_session_expired(true));
        assert!(reply(403, None, "{}").is_session_expired(true));
        assert!(reply(302, Some("/user/login"), "").is_session_expired(true));
        assert!(reply(302, Some("/auth/2fa"), "").is_session_expired(false));
        assert!(reply(200, None, "<!DOCTYPE html><html>").is_session_expired(true));
        assert!(!reply(200, None, "<!DOCTYPE html><html>").is_session_expired(false));
        assert!(!reply(200, None, "{\"data\":{}}").is_session_expired(true));
        assert!(!reply(302, Some("/aktuella-lan"), "").is_session_expired(true));
    }

    #[test]
    fn redacts_tokens_in_saved_bodies() {
        let mut v = serde_json::json!({"content": {"data": {"xsrfToken": "abc", "accounts": [{"a": 1}]}}});
        redact(&mut v);
        assert_eq!(v["content"]["data"]["xsrfToken"], crate::config::MASK);
        assert_eq!(v["content"]["data"]["accounts"][0]["a"], 1);
    }
}
