//! Logging in: the captured five-step flow on the web host, ending in a
//! cookie session that both hosts accept.
//!
//! A refused password or code is never retried in a loop: Kameo may lock the
//! account. The one exception is the TOTP code, which is tried once more at
//! the next 30-second step (the first may have been at a step edge).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, Url};

use super::error::{KameoError, LoginStep, excerpt};
use super::rate::Lane;
use super::totp::{STEP_SECS, TotpGenerator, step_of, unix_now};
use super::transport::{Body, Reply, Transport};
use crate::config::Secret;

/// What a login needs.
pub struct Credentials {
    pub email: String,
    pub password: Secret,
    pub totp: TotpGenerator,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The TOTP steps used: a code is sent at most once. With a state file the
/// memory is shared by every process of one installation (the daemon and a
/// `kameo-bot loans` started beside it), so none sends a code another used.
#[derive(Debug, Default)]
pub struct TotpSteps {
    last_used: Option<u64>,
    file: Option<PathBuf>,
}

impl TotpSteps {
    /// Steps remembered in `file` (created when first written).
    pub fn persistent(file: PathBuf) -> Self {
        TotpSteps {
            last_used: None,
            file: Some(file),
        }
    }

    fn remembered(&self) -> Option<u64> {
        let from_file = self
            .file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| t.trim().parse::<u64>().ok());
        self.last_used.max(from_file)
    }

    fn remember(&mut self, step: u64) {
        self.last_used = Some(step);
        if let Some(file) = &self.file
            && let Err(e) = std::fs::write(file, step.to_string())
        {
            tracing::warn!(event = "login", path = %file.display(), error = %e, "cannot record the TOTP step used");
        }
    }

    /// The step to send a code for: the current one, or the next if the
    /// current was used (verifiers accept one step of skew). Waits when even
    /// that is taken.
    async fn next(&mut self) -> u64 {
        loop {
            let now = unix_now();
            let current = step_of(now);
            let step = self.remembered().map_or(current, |last| current.max(last + 1));
            if step <= current + 1 {
                self.remember(step);
                return step;
            }
            let into_step = now % STEP_SECS;
            tokio::time::sleep(Duration::from_secs(STEP_SECS - into_step)).await;
        }
    }
}

fn refused(step: LoginStep, reason: impl Into<String>) -> KameoError {
    KameoError::LoginRefused {
        step,
        reason: reason.into(),
    }
}

/// A reply that is a server or transport problem, not a refusal.
fn unavailable(step: LoginStep, reply: &Reply) -> Option<KameoError> {
    (reply.status >= 500).then(|| KameoError::Transient {
        endpoint: step.to_string(),
        reason: format!("HTTP {}: {}", reply.status, excerpt(&reply.body, 120)),
    })
}

fn join(base: &Url, path: &str) -> Result<Url, KameoError> {
    base.join(path).map_err(|e| KameoError::Transient {
        endpoint: path.into(),
        reason: format!("bad web_url: {e}"),
    })
}

/// GETs a page of the login flow: a 5xx is Kameo being down, anything but
/// a 200 is a refusal at `step`.
async fn fetch_page(transport: &Transport, web: &Url, path: &str, step: LoginStep) -> Result<Reply, KameoError> {
    let page = transport
        .send(path, Method::GET, join(web, path)?, Body::Page, Lane::Read)
        .await?;
    if let Some(e) = unavailable(step, &page) {
        return Err(e);
    }
    if page.status != 200 {
        return Err(refused(
            step,
            format!("HTTP {} instead of the page at {path}", page.status),
        ));
    }
    Ok(page)
}

/// Runs the whole login. On success the transport's cookie jar holds a
/// session that both hosts accept.
pub async fn login(
    transport: &Transport,
    web: &Url,
    creds: &Credentials,
    steps: &mut TotpSteps,
) -> Result<(), KameoError> {
    // 1. The login page sets the session cookie.
    fetch_page(transport, web, "/user/login", LoginStep::LoginPage).await?;

    // 2. Email and password → 302 /auth/check; wrong ones re-render the page.
    let form = [
        ("Login", creds.email.as_str()),
        ("Password", creds.password.expose()),
        ("LoginButton", ""),
        ("RedirectURI", ""),
    ];
    let reply = transport
        .send(
            "login",
            Method::POST,
            join(web, "/user/login")?,
            Body::Form(&form),
            Lane::Read,
        )
        .await?;
    if let Some(e) = unavailable(LoginStep::Password, &reply) {
        return Err(e);
    }
    let mut next = match (reply.status, reply.location.as_deref()) {
        (300..=399, Some(location)) if !location.contains("/user/login") => location.to_string(),
        _ => {
            return Err(refused(
                LoginStep::Password,
                "Kameo kept us on the login page: the email or password is wrong",
            ));
        }
    };

    // 3. Follow /auth/check → /auth/2fa (or straight in, if no 2FA is asked).
    for _ in 0..3 {
        if next.contains("/auth/2fa") || !next.contains("/auth/") {
            break;
        }
        let hop = transport
            .send("login", Method::GET, join(web, &next)?, Body::Page, Lane::Read)
            .await?;
        match (hop.status, hop.location) {
            (300..=399, Some(location)) => next = location,
            (status, _) => {
                return Err(refused(
                    LoginStep::Password,
                    format!("{next} answered HTTP {status}, not a redirect"),
                ));
            }
        }
    }
    if next.contains("/user/login") {
        return Err(refused(
            LoginStep::Password,
            "sent back to the login page after the password",
        ));
    }
    if !next.contains("/auth/2fa") {
        return Ok(()); // logged in without a second factor
    }

    // 4–5. The 2FA page's token, then the code; one more try at the next step.
    for attempt in 1..=2 {
        let page = fetch_page(transport, web, "/auth/2fa", LoginStep::TwoFactorPage).await?;
        let token = two_factor_token(&page.body)
            .ok_or_else(|| refused(LoginStep::TwoFactorPage, "no ezxform_token in the /auth/2fa form"))?;
        let code = creds.totp.code_at(steps.next().await * STEP_SECS);
        let form = [
            ("ezxform_token", token.as_str()),
            ("code", code.as_str()),
            ("submit_code", ""),
        ];
        let reply = transport
            .send(
                "2fa",
                Method::POST,
                join(web, "/auth/2fa")?,
                Body::Form(&form),
                Lane::Read,
            )
            .await?;
        if let Some(e) = unavailable(LoginStep::TwoFactorCode, &reply) {
            return Err(e);
        }
        match (reply.status, reply.location.as_deref()) {
            (300..=399, Some(l)) if !l.contains("/auth/2fa") && !l.contains("/user/login") => return Ok(()),
            _ if attempt == 1 => {
                tracing::warn!(event = "login_failed", step = %LoginStep::TwoFactorCode, "code refused; trying once more at the next step");
                let into_step = unix_now() % STEP_SECS;
                tokio::time::sleep(Duration::from_secs(STEP_SECS - into_step)).await;
            }
            _ => {}
        }
    }
    Err(refused(
        LoginStep::TwoFactorCode,
        "the TOTP code was refused twice: check kameo.totp_secret and this machine's clock (timedatectl)",
    ))
}

/// The `ezxform_token` of the form posting to `/auth/2fa` (the page has a
/// second form, `/auth/e-sign`, with its own token); the meta tag otherwise.
pub fn two_factor_token(html: &str) -> Option<String> {
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let form = &rest[start..];
        let end = form.find("</form>").map_or(form.len(), |e| e + 7);
        let (body, after) = form.split_at(end);
        let open_tag = &body[..body.find('>').unwrap_or(body.len())];
        if attribute(open_tag, "action").is_some_and(|a| a.trim_end_matches('/').ends_with("/auth/2fa")) {
            let mut inputs = body;
            while let Some(i) = inputs.find("<input") {
                let tag = &inputs[i..];
                let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
                if attribute(tag, "name").as_deref() == Some("ezxform_token") {
                    return attribute(tag, "value").filter(|v| !v.is_empty());
                }
                inputs = &inputs[i + 6..];
            }
        }
        rest = after;
    }
    let meta = html.find("id=\"ezxform_token_js\"").map(|i| {
        let open = html[..i].rfind('<').unwrap_or(0);
        let close = html[i..].find('>').map_or(html.len(), |c| i + c);
        &html[open..close]
    })?;
    attribute(meta, "content").filter(|v| !v.is_empty())
}

/// The value of `name="…"` (or `'…'`) in a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let at = search.find(name)?;
        let before_ok = at == 0 || search[..at].ends_with(|c: char| c.is_whitespace());
        let after = search[at + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                return inner.find(quote).map(|end| inner[..end].to_string());
            }
            return Some(value.split(|c: char| c.is_whitespace() || c == '/').next()?.to_string());
        }
        search = &search[at + name.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The captured page's structure: meta tag, e-sign form, 2FA form.
    const PAGE: &str = r#"<html><head><meta name="csrf-token" id="ezxform_token_js" title="TOK" content="TOK" /></head><body>
<form method="post" action="/auth/e-sign"><input type="hidden" name="ezxform_token" value="ESIGN" /></form>
<form method="post" action="/auth/2fa"><input type="text" name="code" /><input type="hidden" name="ezxform_token" value="TOK" /></form></body></html>"#;

    #[test]
    fn takes_the_token_from_the_2fa_form_not_the_esign_one() {
        assert_eq!(two_factor_token(PAGE).as_deref(), Some("TOK"));
    }

    #[test]
    fn tolerates_attribute_order_quotes_and_absolute_actions() {
        let page = "<form action='https://www.kameo.se/auth/2fa/' method=post><input value='X1' type=hidden name='ezxform_token'></form>";
        assert_eq!(two_factor_token(page).as_deref(), Some("X1"));
    }

    #[test]
    fn falls_back_to_the_meta_tag_and_fails_cleanly() {
        let page = r#"<meta name="csrf-token" id="ezxform_token_js" content="META" /><form action="/auth/2fa"></form>"#;
        assert_eq!(two_factor_token(page).as_deref(), Some("META"));
        assert_eq!(two_factor_token("<html>no form</html>"), None);
        assert_eq!(
            two_factor_token("<form action=\"/auth/2fa\"><input name=\"ezxform_token\""),
            None
        );
    }

    #[tokio::test]
    async fn a_step_is_never_used_twice() {
        let mut steps = TotpSteps::default();
        let a = steps.next().await;
        let b = steps.next().await;
        assert_eq!(b, a + 1, "the second login in a step uses the next step's code");
    }

    #[tokio::test]
    async fn processes_sharing_a_state_file_share_the_memory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("totp-step");
        let a = TotpSteps::persistent(file.clone()).next().await;
        let b = TotpSteps::persistent(file.clone()).next().await;
        assert_eq!(b, a + 1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), b.to_string());
    }
}
