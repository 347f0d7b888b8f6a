//! Helpers shared by the integration tests: a simulator on port 0 and a raw
//! HTTP login that follows the captured flow step by step.
#![allow(dead_code)]

pub mod daemon;

use kameo_bot::config::Secret;
use kameo_bot::kameo::totp::{STEP_SECS, TotpGenerator, unix_now};
pub use kameo_bot::kameo::two_factor_token;
use kameo_bot::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, SimOptions, Simulator};

pub async fn sim(options: SimOptions) -> Simulator {
    Simulator::start(options).await.expect("simulator starts on port 0")
}

/// A browser-like client that does not follow redirects, so tests see them.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The demo account's TOTP code, `steps_ahead` steps from now (the simulator
/// accepts one step of skew; each step's code works once).
pub fn demo_code(steps_ahead: u64) -> String {
    let g = TotpGenerator::new(&Secret::new(DEMO_TOTP_SECRET)).unwrap();
    g.code_at(unix_now() + steps_ahead * STEP_SECS)
}

/// Logs the raw client in with the demo account; `steps_ahead` picks a code
/// not used yet by earlier logins in the same test.
pub async fn raw_login(client: &reqwest::Client, sim: &Simulator, steps_ahead: u64) {
    let web = sim.web_url();
    client.get(format!("{web}/user/login")).send().await.unwrap();
    let r = client
        .post(format!("{web}/user/login"))
        .form(&[
            ("Login", DEMO_EMAIL),
            ("Password", DEMO_PASSWORD),
            ("LoginButton", ""),
            ("RedirectURI", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/auth/check");
    let r = client.get(format!("{web}/auth/check")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/auth/2fa");
    let page = client
        .get(format!("{web}/auth/2fa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = two_factor_token(&page).expect("token in the /auth/2fa form");
    let r = client
        .post(format!("{web}/auth/2fa"))
        .form(&[
            ("ezxform_token", token.as_str()),
            ("code", &demo_code(steps_ahead)),
            ("submit_code", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "2FA should succeed");
    assert_eq!(r.headers()["location"], "/aktuella-lan");
}

/// All three market flags on, as the client sends them.
pub fn listing_url(sim: &Simulator, limit: usize, page: usize) -> String {
    format!(
        "{}/loans/listing/investment-options?subscription_origin_sweden=1&subscription_origin_norway=1&subscription_origin_denmark=1&limit={limit}&page={page}",
        sim.api_url()
    )
}

/// Every file below `dir` (none if it does not exist).
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path)
            } else {
                out.push(path)
            }
        }
    }
    out
}

/// The listing's first page as JSON, all markets, with the raw client.
pub async fn listing(client: &reqwest::Client, sim: &Simulator) -> serde_json::Value {
    client
        .get(listing_url(sim, 12, 1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
