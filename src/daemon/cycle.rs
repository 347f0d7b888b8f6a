//! One bidding cycle: balances → listing (all pages) → snapshot → reconcile
//! open intents → decide each loan → bid. Also the timer path: when an
//! upcoming loan the strategy wants opens, bid on it at once from what the
//! last cycle saw, instead of waiting for the next poll.

use std::collections::{BTreeMap, HashMap, HashSet};

use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

use super::bidding::{BidOutcome, place_bid};
use crate::config::Config;
use crate::kameo::{KameoClient, KameoError, Loan};
use crate::ledger::{Ledger, fingerprint};
use crate::strategy::{Action, Context, Decision, SkipReason, decide};

/// A sent bid Kameo does not show yet is given this long before it is
/// released: listings can lag behind a bid.
pub const RECONCILE_GRACE: Duration = Duration::minutes(10);

/// Why a cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Kameo(#[from] KameoError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

/// What one cycle saw and did.
#[derive(Debug, Default, Clone)]
pub struct CycleSummary {
    pub loans_seen: usize,
    pub bids: usize,
    pub amount: u64,
}

/// The daemon's working state between cycles.
pub struct Bot {
    pub config: Config,
    /// The effective dry run (`--dry-run` or the config).
    pub dry_run: bool,
    pub client: KameoClient,
    pub ledger: Ledger,
    fingerprint: String,
    /// The last decision logged per loan: a decision is logged and stored
    /// when it changes, not every cycle.
    last_decision: HashMap<u64, (&'static str, &'static str, u64)>,
    known: HashSet<u64>,
    /// Upcoming loans the strategy would bid on, by opening time.
    pub timers: BTreeMap<u64, Loan>,
    /// Cash per currency at the last balances read, öre.
    cash: HashMap<String, i64>,
    paused: bool,
    pub bids_placed: usize,
}

impl Bot {
    pub fn new(config: Config, dry_run: bool, client: KameoClient, ledger: Ledger) -> Self {
        Bot {
            fingerprint: fingerprint(&config.strategy),
            config,
            dry_run,
            client,
            ledger,
            last_decision: HashMap::new(),
            known: HashSet::new(),
            timers: BTreeMap::new(),
            cash: HashMap::new(),
            paused: false,
            bids_placed: 0,
        }
    }

    /// Takes a new config (reload): decisions are logged afresh under it.
    pub fn set_config(&mut self, config: Config, dry_run: bool) {
        self.fingerprint = fingerprint(&config.strategy);
        self.config = config;
        self.dry_run = dry_run;
        self.last_decision.clear();
    }

    /// Whether the pause file exists; logs the change once.
    fn check_pause(&mut self) -> bool {
        let paused = self.config.daemon.pause_file.exists();
        if paused != self.paused {
            if paused {
                tracing::warn!(event = "paused", file = %self.config.daemon.pause_file.display(), "pause file present: no new bids");
            } else {
                tracing::info!(event = "resumed", "pause file gone: bidding again");
            }
            self.paused = paused;
        }
        paused
    }

    /// The strategy's context for a loan, from the ledger and Kameo.
    fn context(&self, loan: &Loan, now: OffsetDateTime, spent_this_cycle: u64) -> Result<Context<'_>, CycleError> {
        let midnight = now.replace_time(time::Time::MIDNIGHT);
        let cash = self.cash.get(&loan.currency).copied().unwrap_or(0);
        Ok(Context {
            config: &self.config.strategy,
            now,
            available_ore: cash - (spent_this_cycle as i64) * 100,
            already_on_loan: self
                .ledger
                .committed_on_loan(loan.loan_application_id)?
                .max(loan.my_bid_amount),
            spent_today: self.ledger.committed_since(&loan.currency, Some(midnight))?,
            spent_total: self.ledger.committed_since(&loan.currency, None)?,
            sophisticated_investor: self.config.kameo.sophisticated_investor,
        })
    }

    fn log_decision(
        &mut self,
        cycle: Option<i64>,
        loan: &Loan,
        d: &Decision,
        now: OffsetDateTime,
    ) -> Result<(), CycleError> {
        let key = (d.action_name(), d.reason_code(), d.amount());
        if self.last_decision.get(&loan.loan_application_id) == Some(&key) {
            return Ok(());
        }
        self.last_decision.insert(loan.loan_application_id, key);
        tracing::info!(
            event = "decision",
            loan_id = loan.loan_application_id,
            action = d.action_name(),
            amount = d.amount(),
            reason = d.reason_code(),
            capped_by = d.capped_by.map(|c| c.code()),
            detail = %d.detail,
            dry_run = self.dry_run,
        );
        self.ledger
            .record_decision(cycle, loan.loan_application_id, d, &self.fingerprint, self.dry_run, now)?;
        Ok(())
    }

    /// Runs one cycle. `stop` turning true ends it before the next bid.
    pub async fn cycle(&mut self, stop: &watch::Receiver<bool>) -> Result<CycleSummary, CycleError> {
        let started = OffsetDateTime::now_utc();
        let cycle_id = self.ledger.begin_cycle(self.dry_run, started)?;
        let result = self.cycle_inner(cycle_id, stop).await;
        let now = OffsetDateTime::now_utc();
        match &result {
            Ok(s) => self.ledger.finish_cycle(cycle_id, s.loans_seen, s.bids, None, now)?,
            Err(e) => self.ledger.finish_cycle(cycle_id, 0, 0, Some(&e.to_string()), now)?,
        }
        result
    }

    async fn cycle_inner(&mut self, cycle_id: i64, stop: &watch::Receiver<bool>) -> Result<CycleSummary, CycleError> {
        let balances = self.client.balances().await?;
        let now = OffsetDateTime::now_utc();
        self.ledger.record_balances(&balances, now)?;
        self.cash = balances
            .accounts
            .iter()
            .map(|a| (a.currency.clone(), a.available_ore))
            .collect();

        let listing = self.client.listing().await?;
        let now = OffsetDateTime::now_utc();
        self.ledger.record_snapshot(&listing.loans, now)?;
        for loan in &listing.loans {
            if self.known.insert(loan.loan_application_id) {
                tracing::info!(
                    event = "loan_discovered",
                    loan_id = loan.loan_application_id,
                    title = %loan.title,
                    rate = loan.annual_interest_rate,
                    months = loan.duration_in_months,
                    risk = %loan.risk_score,
                    currency = %loan.currency,
                    opens = ?loan.subscription_starts_at,
                );
            }
        }
        for r in self.ledger.reconcile(&listing.loans, RECONCILE_GRACE, now)? {
            tracing::info!(
                event = "bid_reconciled",
                loan_id = r.loan_id,
                amount = r.amount,
                was = r.was.code(),
                now = r.now.code()
            );
        }

        let paused = self.check_pause();
        let mut summary = CycleSummary {
            loans_seen: listing.loans.len(),
            ..CycleSummary::default()
        };
        // First decide on every loan and arm the timers of the upcoming ones,
        // so a loan opening while this cycle bids is already armed.
        let mut upcoming = BTreeMap::new();
        let mut wanted = Vec::new();
        for loan in &listing.loans {
            let ctx = self.context(loan, now, 0)?;
            let decision = decide(loan, &ctx);
            if decision.action
                == (Action::Skip {
                    reason: SkipReason::NotOpenYet,
                })
                && let Some(opens) = loan.subscription_starts_at
            {
                let at_open = Context {
                    now: opens,
                    ..ctx.clone()
                };
                if matches!(decide(loan, &at_open).action, Action::Bid { .. }) {
                    upcoming.insert(loan.loan_application_id, loan.clone());
                }
            }
            self.log_decision(Some(cycle_id), loan, &decision, now)?;
            if matches!(decision.action, Action::Bid { .. }) {
                wanted.push(loan);
            }
        }
        self.timers = upcoming;

        // Then bid, each bid decided again against the ledger as it is now
        // (earlier bids of this cycle, or a loan that opened meanwhile and
        // went first, change the caps).
        let mut spent: HashMap<String, u64> = HashMap::new();
        for loan in wanted {
            if paused || *stop.borrow() || self.previewed_in_dry_run(loan)? {
                continue;
            }
            self.fire_due_timers().await?;
            let at = OffsetDateTime::now_utc();
            let ctx = self.context(loan, at, spent.get(&loan.currency).copied().unwrap_or(0))?;
            let decision = decide(loan, &ctx);
            // Logged again only if it changed (e.g. a budget ran out).
            self.log_decision(Some(cycle_id), loan, &decision, at)?;
            let Action::Bid { amount } = decision.action else {
                continue;
            };
            let outcome = place_bid(&self.client, &self.ledger, loan, amount, self.dry_run).await?;
            // Money Kameo took, or may have taken, is spent for the rest of
            // this cycle (the balances were read before it).
            let committed = match outcome {
                BidOutcome::Confirmed { amount } => Some(amount),
                BidOutcome::Unknown { .. } => Some(amount),
                BidOutcome::DryRun { amount } => {
                    summary.bids += 1;
                    summary.amount += amount;
                    None
                }
                BidOutcome::Rejected { .. } | BidOutcome::NotSent { .. } => None,
            };
            if let Some(amount) = committed {
                *spent.entry(loan.currency.clone()).or_default() += amount;
                self.bids_placed += 1;
                summary.bids += 1;
                summary.amount += amount;
            }
        }
        self.fire_due_timers().await?;
        Ok(summary)
    }

    /// In a dry run, a loan already previewed once is not previewed again.
    fn previewed_in_dry_run(&self, loan: &Loan) -> Result<bool, CycleError> {
        Ok(self.dry_run && self.ledger.dry_run_previewed(loan.loan_application_id)?)
    }

    /// Bids on every armed loan whose opening time has passed.
    async fn fire_due_timers(&mut self) -> Result<(), CycleError> {
        let now = OffsetDateTime::now_utc();
        let due: Vec<u64> = self
            .timers
            .values()
            .filter(|l| l.subscription_starts_at.is_some_and(|t| t <= now))
            .map(|l| l.loan_application_id)
            .collect();
        for loan_id in due {
            self.on_open(loan_id).await?;
        }
        Ok(())
    }

    /// The next upcoming loan the strategy wants, and when it opens.
    pub fn next_timer(&self) -> Option<(OffsetDateTime, u64)> {
        self.timers
            .values()
            .filter_map(|l| l.subscription_starts_at.map(|t| (t, l.loan_application_id)))
            .min()
    }

    /// A timer fired: the loan opens now. Bid from the last cycle's view,
    /// re-checking the strategy against the ledger first.
    pub async fn on_open(&mut self, loan_id: u64) -> Result<Option<BidOutcome>, CycleError> {
        let Some(loan) = self.timers.remove(&loan_id) else {
            return Ok(None);
        };
        if self.check_pause() || self.previewed_in_dry_run(&loan)? {
            return Ok(None);
        }
        let now = OffsetDateTime::now_utc().max(loan.subscription_starts_at.unwrap_or(OffsetDateTime::UNIX_EPOCH));
        let ctx = self.context(&loan, now, 0)?;
        let decision = decide(&loan, &ctx);
        self.log_decision(None, &loan, &decision, now)?;
        let Action::Bid { amount } = decision.action else {
            return Ok(None);
        };
        let outcome = place_bid(&self.client, &self.ledger, &loan, amount, self.dry_run).await?;
        if matches!(outcome, BidOutcome::Confirmed { .. } | BidOutcome::Unknown { .. }) {
            self.bids_placed += 1;
            if let Some(cash) = self.cash.get_mut(&loan.currency) {
                *cash -= amount as i64 * 100;
            }
        }
        Ok(Some(outcome))
    }
}
