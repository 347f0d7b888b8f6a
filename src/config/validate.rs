//! Checks a parsed configuration for values that are typed right but wrong:
//! out of range, contradictory, or unsafe. Returns every problem at once so
//! an operator fixes the file in one pass.

use std::time::Duration;

use super::load::Problem;
use super::{COUNTRIES, CURRENCIES, Config, KAMEO_REQUESTS_PER_MINUTE, PLATFORM_MIN_BID, RISK_SCORES};

/// Every error and warning about `config`.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut p = Vec::new();
    kameo(config, &mut p);
    strategy(config, &mut p);
    daemon(config, &mut p);
    if config.ledger.path.as_os_str().is_empty() {
        p.push(Problem::error("ledger.path", "must not be empty"));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.logging.level) {
        p.push(Problem::error(
            "logging.level",
            format!(
                "`{}` is not a log filter like \"info\" or \"kameo_bot=debug,warn\": {e}",
                config.logging.level
            ),
        ));
    }
    p
}

fn kameo(c: &Config, p: &mut Vec<Problem>) {
    let k = &c.kameo;
    let live = !c.daemon.dry_run;
    if k.email.trim().is_empty() {
        if live {
            p.push(Problem::error("kameo.email", "is required when daemon.dry_run = false"));
        }
    } else if !looks_like_email(&k.email) {
        p.push(Problem::error(
            "kameo.email",
            format!("`{}` is not an email address", k.email),
        ));
    }
    if live && k.password.as_ref().is_none_or(|s| s.is_empty()) {
        p.push(Problem::error(
            "kameo.password",
            "is required when daemon.dry_run = false (KAMEO_PASSWORD, KAMEO_PASSWORD_FILE or the kameo_password credential)",
        ));
    }
    match &k.totp_secret {
        Some(secret) if !secret.is_empty() => {
            if let Err(e) = crate::kameo::totp::TotpGenerator::new(secret) {
                p.push(Problem::error("kameo.totp_secret", e.to_string()));
            }
        }
        _ if live => p.push(Problem::error(
            "kameo.totp_secret",
            "is required when daemon.dry_run = false (KAMEO_TOTP_SECRET, KAMEO_TOTP_SECRET_FILE or the kameo_totp_secret credential)",
        )),
        _ => {}
    }
    check_url("kameo.api_url", &k.api_url, p);
    check_url("kameo.web_url", &k.web_url, p);
    if k.countries.is_empty() {
        p.push(Problem::error(
            "kameo.countries",
            format!("must name at least one of {}", COUNTRIES.join(", ")),
        ));
    }
    for country in &k.countries {
        if !COUNTRIES.contains(&country.as_str()) {
            p.push(Problem::error(
                "kameo.countries",
                format!("`{country}` is not one of {}", COUNTRIES.join(", ")),
            ));
        }
    }
    if k.requests_per_minute == 0 || k.requests_per_minute > KAMEO_REQUESTS_PER_MINUTE {
        p.push(Problem::error(
            "kameo.requests_per_minute",
            format!(
                "= {}: must be between 1 and {KAMEO_REQUESTS_PER_MINUTE} (Kameo's limit)",
                k.requests_per_minute
            ),
        ));
    }
    if !k.rate_limit_delay.is_finite() || !(0.0..=60.0).contains(&k.rate_limit_delay) {
        p.push(Problem::error(
            "kameo.rate_limit_delay",
            format!("= {}: must be between 0 and 60 seconds", k.rate_limit_delay),
        ));
    }
    let t = k.timeout.get();
    if t < Duration::from_secs(1) || t > Duration::from_secs(300) {
        p.push(Problem::error(
            "kameo.timeout",
            format!("= {}: must be between 1s and 5m", k.timeout),
        ));
    }
}

fn strategy(c: &Config, p: &mut Vec<Problem>) {
    let s = &c.strategy;
    if !s.min_interest_rate.is_finite() || !(0.0..=100.0).contains(&s.min_interest_rate) {
        p.push(Problem::error(
            "strategy.min_interest_rate",
            format!("= {}: must be a percentage between 0 and 100", s.min_interest_rate),
        ));
    }
    if s.max_duration_months == 0 || s.max_duration_months > 600 {
        p.push(Problem::error(
            "strategy.max_duration_months",
            format!("= {}: must be between 1 and 600", s.max_duration_months),
        ));
    }
    one_of_list("strategy.risk_scores", &s.risk_scores, &RISK_SCORES, p);
    one_of_list("strategy.currencies", &s.currencies, &CURRENCIES, p);
    if s.exclude_title_keywords.iter().any(|k| k.trim().is_empty()) {
        p.push(Problem::error(
            "strategy.exclude_title_keywords",
            "must not hold an empty keyword (it would exclude every loan)",
        ));
    }
    if s.bid_amount == 0 {
        p.push(Problem::error("strategy.bid_amount", "must be at least 1"));
    } else if s.bid_amount < PLATFORM_MIN_BID {
        p.push(Problem::warning(
            "strategy.bid_amount",
            format!(
                "= {}: below Kameo's usual minimum bid of {PLATFORM_MIN_BID}; most loans will be skipped",
                s.bid_amount
            ),
        ));
    }
    if s.max_bid_amount < s.bid_amount {
        p.push(Problem::error(
            "strategy.max_bid_amount",
            format!(
                "= {}: must be at least strategy.bid_amount ({})",
                s.max_bid_amount, s.bid_amount
            ),
        ));
    }
    if !s.reserve_percentage.is_finite() || !(0.0..=1.0).contains(&s.reserve_percentage) {
        p.push(Problem::error(
            "strategy.reserve_percentage",
            format!("= {}: must be between 0 and 1", s.reserve_percentage),
        ));
    }
    if !s.max_subscribed_ratio.is_finite() || s.max_subscribed_ratio <= 0.0 || s.max_subscribed_ratio > 100.0 {
        p.push(Problem::error(
            "strategy.max_subscribed_ratio",
            format!("= {}: must be above 0 and at most 100", s.max_subscribed_ratio),
        ));
    }
    if s.daily_budget > 0 && s.total_budget > 0 && s.daily_budget > s.total_budget {
        p.push(Problem::warning(
            "strategy.daily_budget",
            format!(
                "= {}: larger than strategy.total_budget ({}); the total budget binds first",
                s.daily_budget, s.total_budget
            ),
        ));
    }
    for (key, cap) in [
        ("strategy.project_cap_sek", s.project_cap_sek),
        ("strategy.project_cap_nok", s.project_cap_nok),
        ("strategy.project_cap_dkk", s.project_cap_dkk),
    ] {
        if cap == 0 {
            p.push(Problem::error(key, "must be above 0"));
        }
    }
}

fn daemon(c: &Config, p: &mut Vec<Problem>) {
    let d = &c.daemon;
    let poll = d.poll_interval.get();
    if poll < Duration::from_secs(5) || poll > Duration::from_secs(3600) {
        p.push(Problem::error(
            "daemon.poll_interval",
            format!("= {}: must be between 5s and 1h", d.poll_interval),
        ));
    }
    if d.pause_file.as_os_str().is_empty() {
        p.push(Problem::error("daemon.pause_file", "must not be empty"));
    }
}

fn looks_like_email(email: &str) -> bool {
    let mut parts = email.split('@');
    matches!((parts.next(), parts.next(), parts.next()),
        (Some(user), Some(domain), None) if !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !email.contains(char::is_whitespace))
}

fn check_url(key: &str, url: &str, p: &mut Vec<Problem>) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(u) => p.push(Problem::error(
            key,
            format!("`{url}`: must be an http(s) URL with a host, not {}", u.scheme()),
        )),
        Err(e) => p.push(Problem::error(key, format!("`{url}` is not a URL: {e}"))),
    }
}

fn one_of_list(key: &str, values: &[String], allowed: &[&str], p: &mut Vec<Problem>) {
    if values.is_empty() {
        p.push(Problem::error(
            key,
            format!("must name at least one of {}", allowed.join(", ")),
        ));
    }
    for v in values {
        if !allowed.contains(&v.as_str()) {
            p.push(Problem::error(
                key,
                format!("`{v}` is not one of {}", allowed.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(c: &Config) -> Vec<String> {
        validate(c).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn defaults_are_valid_in_dry_run() {
        assert!(
            validate(&Config::default()).is_empty(),
            "{:?}",
            validate(&Config::default())
        );
    }

    #[test]
    fn collects_every_problem_at_once() {
        let mut c = Config::default();
        c.strategy.reserve_percentage = 1.5;
        c.strategy.bid_amount = 20_000;
        c.kameo.requests_per_minute = 61;
        let problems = validate(&c);
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "kameo.requests_per_minute",
                "strategy.max_bid_amount",
                "strategy.reserve_percentage"
            ]
        );
        assert_eq!(
            problems[2].to_string(),
            "error: strategy.reserve_percentage: = 1.5: must be between 0 and 1"
        );
    }

    #[test]
    fn live_mode_needs_credentials() {
        let mut c = Config::default();
        c.daemon.dry_run = false;
        assert_eq!(keys(&c), ["kameo.email", "kameo.password", "kameo.totp_secret"]);
    }

    #[test]
    fn small_bid_only_warns() {
        let mut c = Config::default();
        c.strategy.bid_amount = 100;
        let problems = validate(&c);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, super::super::Severity::Warning);
    }
}
