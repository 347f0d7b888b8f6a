//! [`KameoClient`]: every endpoint of `shared/kameo-api/README.md`, typed,
//! on one cookie session that logs itself in, and in again once when Kameo
//! lets it expire.
//!
//! Reads and previews are retried on transient failures. A submit is not:
//! when its outcome is unknown the caller gets [`KameoError::OutcomeUnknown`]
//! and must reconcile against `my_bid_amount`, because a resent submit can
//! double a bid.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::auth::{self, Credentials, TotpSteps};
use super::error::{KameoError, excerpt};
use super::models::*;
use super::rate::{Lane, RateBudget};
use super::replies::{balances_from, bid_refusal, check_reply, parse};
use super::retry::retry_transient;
use super::totp::TotpGenerator;
use super::transport::{Body, Transport};
use crate::config::KameoConfig;

/// Items per listing page (the captured front end asks for 12).
pub const PAGE_SIZE: u64 = 12;
/// A listing longer than this many pages is treated as a loop.
const MAX_PAGES: u64 = 200;
const EXCERPT: usize = 200;
/// In the state directory: the last TOTP step any of our processes used.
const TOTP_STEP_FILE: &str = "totp-step";

/// Whether a bid adds to this account's money on the loan or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intention {
    Add,
    Update,
}

impl Intention {
    fn as_str(self) -> &'static str {
        match self {
            Intention::Add => "add",
            Intention::Update => "update",
        }
    }
}

struct SessionState {
    logged_in: bool,
    /// Bumped by every login, so concurrent callers that saw the same
    /// expiry log in once, not once each.
    generation: u64,
    steps: TotpSteps,
}

pub struct KameoClient {
    transport: Transport,
    api: Url,
    web: Url,
    credentials: Option<Credentials>,
    countries: Vec<String>,
    session: Mutex<SessionState>,
}

impl std::fmt::Debug for KameoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KameoClient")
            .field("api", &self.api.as_str())
            .field("web", &self.web.as_str())
            .finish()
    }
}

fn base_url(key: &str, text: &str) -> Result<Url, KameoError> {
    // A trailing slash makes `join("loans/…")` keep the `/v1` path.
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    Url::parse(&with_slash).map_err(|e| KameoError::MissingCredentials(format!("{key} `{text}` is not a URL: {e}")))
}

impl KameoClient {
    /// A client for `config`. `state_dir` (the ledger's directory) keeps the
    /// last TOTP step used and, with `save_raw_data`, raw bodies under `raw/`.
    pub fn new(config: &KameoConfig, state_dir: Option<&Path>) -> Result<Self, KameoError> {
        let api = base_url("kameo.api_url", &config.api_url)?;
        let web = base_url("kameo.web_url", &config.web_url)?;
        let credentials = match (&config.password, &config.totp_secret) {
            (Some(password), Some(secret)) if !config.email.is_empty() => Some(Credentials {
                email: config.email.clone(),
                password: password.clone(),
                totp: TotpGenerator::new(secret).map_err(|e| KameoError::MissingCredentials(e.to_string()))?,
            }),
            _ => None,
        };
        let gap = Duration::from_secs_f64(config.rate_limit_delay.clamp(0.0, 60.0));
        let budget = RateBudget::new(config.requests_per_minute, gap);
        let raw_dir = state_dir.filter(|_| config.save_raw_data).map(|d| d.join("raw"));
        let steps = match state_dir {
            Some(dir) if dir.is_dir() => TotpSteps::persistent(dir.join(TOTP_STEP_FILE)),
            _ => TotpSteps::default(),
        };
        Ok(KameoClient {
            transport: Transport::new(&web, config.timeout.get(), budget, raw_dir)?,
            api,
            web,
            credentials,
            countries: config.countries.clone(),
            session: Mutex::new(SessionState {
                logged_in: false,
                generation: 0,
                steps,
            }),
        })
    }

    /// The most requests a minute this client will make.
    pub fn ceiling_per_minute(&self) -> u32 {
        self.transport.budget.ceiling_per_minute
    }

    /// Logs in now (otherwise the first call does).
    pub async fn login(&self) -> Result<(), KameoError> {
        let mut session = self.session.lock().await;
        self.login_locked(&mut session).await
    }

    async fn login_locked(&self, session: &mut SessionState) -> Result<(), KameoError> {
        let creds = self.credentials.as_ref().ok_or_else(|| {
            KameoError::MissingCredentials("kameo.email, kameo.password and kameo.totp_secret are all needed".into())
        })?;
        session.logged_in = false;
        match auth::login(&self.transport, &self.web, creds, &mut session.steps).await {
            Ok(()) => {
                session.logged_in = true;
                session.generation += 1;
                tracing::info!(event = "login", email = %creds.email, "logged in to Kameo");
                Ok(())
            }
            Err(e) => {
                tracing::error!(event = "login_failed", error = %e, "login failed");
                Err(e)
            }
        }
    }

    /// The session generation after making sure we are logged in.
    async fn ensure_session(&self) -> Result<u64, KameoError> {
        let mut session = self.session.lock().await;
        if !session.logged_in {
            self.login_locked(&mut session).await?;
        }
        Ok(session.generation)
    }

    /// Logs in again unless another caller already did since `seen`.
    async fn relogin(&self, seen: u64, endpoint: &str) -> Result<(), KameoError> {
        let mut session = self.session.lock().await;
        if session.generation == seen {
            tracing::warn!(
                event = "session_expired",
                endpoint,
                "Kameo ended the session; logging in again"
            );
            self.login_locked(&mut session).await?;
        }
        Ok(())
    }

    /// Runs `op` on a live session; on expiry logs in again once and reruns.
    async fn with_session<T, F, Fut>(&self, endpoint: &str, mut op: F) -> Result<T, KameoError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, KameoError>>,
    {
        let generation = self.ensure_session().await?;
        match op().await {
            Err(KameoError::SessionExpired { .. }) => {
                self.relogin(generation, endpoint).await?;
                op().await
            }
            other => other,
        }
    }

    fn url(&self, base: &Url, path: &str) -> Result<Url, KameoError> {
        base.join(path.trim_start_matches('/'))
            .map_err(|e| KameoError::Malformed {
                endpoint: path.into(),
                reason: format!("cannot build the URL: {e}"),
                excerpt: String::new(),
            })
    }

    /// One JSON call: sends, checks for expiry and errors, parses.
    async fn call_json<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        lane: Lane,
    ) -> Result<T, KameoError> {
        let body = body.map_or(Body::Query, Body::Json);
        let reply = self.transport.send(endpoint, method, url, body, lane).await?;
        check_reply(endpoint, &reply, true)?;
        parse(endpoint, &reply.body)
    }

    /// A read: on a live session, retried on transient failures.
    async fn read<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<T, KameoError> {
        retry_transient(endpoint, || {
            self.with_session(endpoint, || {
                self.call_json(endpoint, method.clone(), url.clone(), body.as_ref(), Lane::Read)
            })
        })
        .await
    }

    /// One page of the investment options, for the configured countries.
    pub async fn listing_page(&self, page: u64, limit: u64) -> Result<ListingPage, KameoError> {
        let mut url = self.url(&self.api, "loans/listing/investment-options")?;
        {
            let mut query = url.query_pairs_mut();
            for country in crate::config::COUNTRIES {
                let on = self.countries.iter().any(|c| c == country);
                query.append_pair(&format!("subscription_origin_{country}"), if on { "1" } else { "0" });
            }
            query
                .append_pair("limit", &limit.to_string())
                .append_pair("page", &page.to_string());
        }
        let data: Envelope<ListingData> = self.read("listing", Method::GET, url, None).await?;
        let data = data.data;
        let mut loans = Vec::new();
        let mut unreadable = Vec::new();
        for item in data.investment_options {
            let id = item.get("loan_application_id").and_then(super::lenient::whole_value);
            match serde_json::from_value::<Loan>(item) {
                Ok(loan) => loans.push(loan),
                Err(e) => {
                    tracing::warn!(event = "api_error", endpoint = "listing", loan_id = ?id, error = %e, "a listed loan could not be read; skipped");
                    unreadable.push((id, e.to_string()));
                }
            }
        }
        Ok(ListingPage {
            loans,
            unreadable,
            current_page: data.current_page,
            last_page: data.last_page,
            total: data.total,
            per_page: data.per_page,
            result_count: data.result_count,
        })
    }

    /// Every page of the listing: all loans, and the items that could not be read.
    pub async fn listing(&self) -> Result<ListingPage, KameoError> {
        let mut all = self.listing_page(1, PAGE_SIZE).await?;
        let mut page = all.current_page.max(1);
        while page < all.last_page {
            if page >= MAX_PAGES {
                return Err(KameoError::Malformed {
                    endpoint: "listing".into(),
                    reason: format!("more than {MAX_PAGES} pages"),
                    excerpt: String::new(),
                });
            }
            page += 1;
            let next = self.listing_page(page, PAGE_SIZE).await?;
            all.loans.extend(next.loans);
            all.unreadable.extend(next.unreadable);
            all.last_page = next.last_page;
            all.total = next.total;
            if next.result_count == 0 && next.current_page >= next.last_page {
                break;
            }
        }
        // A loan that moved across a page boundary between two requests
        // shows twice; keep its latest view.
        let mut seen = std::collections::HashSet::new();
        all.loans.reverse();
        all.loans.retain(|l| seen.insert(l.loan_application_id));
        all.loans.reverse();
        all.current_page = page;
        all.result_count = all.loans.len() as u64;
        Ok(all)
    }

    /// The Q&A of a loan.
    pub async fn questions(&self, loan_id: u64) -> Result<Questions, KameoError> {
        let mut url = self.url(&self.api, "q-a")?;
        url.query_pairs_mut()
            .append_pair("loan_application_id", &loan_id.to_string());
        Ok(self
            .read::<Envelope<Questions>>("q-a", Method::GET, url, None)
            .await?
            .data)
    }

    /// The bid form of a loan (`GET /bidding/ID/load`).
    pub async fn bid_form(&self, loan_id: u64) -> Result<BidForm, KameoError> {
        let url = self.url(&self.api, &format!("bidding/{loan_id}/load"))?;
        Ok(self
            .read::<Envelope<BidForm>>("bid form", Method::GET, url, None)
            .await?
            .data)
    }

    /// The subscription of a loan (`POST /loan/subscription/ID`).
    pub async fn subscription(&self, loan_id: u64) -> Result<Subscription, KameoError> {
        let url = self.url(&self.api, &format!("loan/subscription/{loan_id}"))?;
        let data: Envelope<SubscriptionData> = self.read("subscription", Method::POST, url, Some(json!({}))).await?;
        Ok(data.data.subscription)
    }

    /// Cash per currency (`kameo_transfer::init` on the web host).
    pub async fn balances(&self) -> Result<Balances, KameoError> {
        let url = self.url(&self.web, "ezjscore/call/kameo_transfer::init")?;
        let raw: TransferInit = self.read("balances", Method::GET, url, None).await?;
        balances_from(raw)
    }

    fn bid_body(amount: u64, intention: Intention, hash: &str) -> Value {
        // `amount` is a string on the wire, whole units.
        json!({"amount": amount.to_string(), "intention": intention.as_str(), "sequence_hash": hash, "payment_options": ["ip"]})
    }

    /// Previews a bid: Kameo checks it and hands out the hash a submit must
    /// echo. No money moves, so it is retried like a read.
    pub async fn preview(&self, loan_id: u64, amount: u64, intention: Intention) -> Result<Preview, KameoError> {
        let url = self.url(&self.api, &format!("bidding/{loan_id}/load"))?;
        let body = Self::bid_body(amount, intention, "");
        retry_transient("preview", || {
            self.with_session("preview", || async {
                let reply = self
                    .transport
                    .send("preview", Method::POST, url.clone(), Body::Json(&body), Lane::Bid)
                    .await?;
                bid_refusal(loan_id, &reply)?;
                check_reply("preview", &reply, true)?;
                let preview: Envelope<Preview> = parse("preview", &reply.body)?;
                if preview.data.sequence_hash.trim().is_empty() {
                    return Err(KameoError::Malformed {
                        endpoint: "preview".into(),
                        reason: "no sequence_hash in the preview".into(),
                        excerpt: excerpt(&reply.body, EXCERPT),
                    });
                }
                Ok(preview.data)
            })
        })
        .await
    }

    /// Submits a previewed bid, once. Any answer that does not clearly say
    /// "accepted" or "refused" is [`KameoError::OutcomeUnknown`]. A 401 means
    /// it was not taken: the session is renewed and `SessionExpired` returned
    /// (the hash belonged to the old session; preview again).
    pub async fn submit(
        &self,
        loan_id: u64,
        amount: u64,
        intention: Intention,
        sequence_hash: &str,
    ) -> Result<SubmitReceipt, KameoError> {
        let generation = self.ensure_session().await?;
        let url = self.url(&self.api, &format!("bidding/{loan_id}/submit"))?;
        let body = Self::bid_body(amount, intention, sequence_hash);
        let unknown = |reason: String| KameoError::OutcomeUnknown {
            loan_id,
            amount,
            reason,
        };
        let reply = match self
            .transport
            .send("submit", Method::POST, url, Body::Json(&body), Lane::Bid)
            .await
        {
            Ok(reply) => reply,
            // Could not connect at all: nothing was sent.
            Err(KameoError::Transient { reason, .. }) if reason.starts_with("cannot connect") => {
                return Err(KameoError::Transient {
                    endpoint: "submit".into(),
                    reason,
                });
            }
            Err(KameoError::Transient { reason, .. }) => return Err(unknown(reason)),
            Err(other) => return Err(other),
        };
        if matches!(reply.status, 401 | 403) || (reply.status != 200 && reply.is_session_expired(true)) {
            self.relogin(generation, "submit").await?;
            return Err(KameoError::SessionExpired {
                endpoint: "submit".into(),
            });
        }
        bid_refusal(loan_id, &reply)?;
        if reply.status >= 500 {
            return Err(unknown(format!("HTTP {}", reply.status)));
        }
        if reply.status != 200 && reply.status != 201 {
            return Err(unknown(format!(
                "HTTP {}: {}",
                reply.status,
                excerpt(&reply.body, EXCERPT)
            )));
        }
        match serde_json::from_str::<Envelope<SubmitReceipt>>(&reply.body) {
            Ok(receipt) => Ok(receipt.data),
            Err(e) => Err(unknown(format!(
                "unreadable answer ({e}): {}",
                excerpt(&reply.body, EXCERPT)
            ))),
        }
    }
}
