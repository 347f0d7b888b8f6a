//! The strategy: which loans to bid on, and how much. A pure function of a
//! loan and a [`Context`], with no I/O, so every decision can be explained,
//! stored and table-tested.
//!
//! Rules run in a fixed order and the first that rejects a loan names the
//! reason; sizing then applies every cap and says which one bound.

mod sizing;

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::StrategyConfig;
use crate::kameo::Loan;

pub use sizing::{Cap, spendable_units};

/// What the strategy knows besides the loan.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub config: &'a StrategyConfig,
    pub now: OffsetDateTime,
    /// Available cash in the loan's currency, öre (from the balances call).
    pub available_ore: i64,
    /// What this account already has on the loan: the larger of the
    /// ledger's committed amount and Kameo's `my_bid_amount`.
    pub already_on_loan: u64,
    /// Committed today (UTC) and in total, in the loan's currency.
    pub spent_today: u64,
    pub spent_total: u64,
    pub sophisticated_investor: bool,
}

/// Why a loan is skipped. The codes are stable: they are stored in the
/// ledger, logged as `reason`, and counted by `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Allocation or later, or the subscription window has ended.
    Closed,
    /// The subscription opens later (the daemon arms a timer for it).
    NotOpenYet,
    Currency,
    RateTooLow,
    TooLong,
    RiskClass,
    ExcludedKeyword,
    Oversubscribed,
    TooManyCompetitors,
    AlreadyBid,
    /// After every cap the bid is below the loan's `min_amount`.
    BelowMinAmount,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Closed => "closed",
            SkipReason::NotOpenYet => "not_open_yet",
            SkipReason::Currency => "currency",
            SkipReason::RateTooLow => "rate_too_low",
            SkipReason::TooLong => "too_long",
            SkipReason::RiskClass => "risk_class",
            SkipReason::ExcludedKeyword => "excluded_keyword",
            SkipReason::Oversubscribed => "oversubscribed",
            SkipReason::TooManyCompetitors => "too_many_competitors",
            SkipReason::AlreadyBid => "already_bid",
            SkipReason::BelowMinAmount => "below_min_amount",
        }
    }
}

/// Bid or skip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Bid { amount: u64 },
    Skip { reason: SkipReason },
}

/// A decision and its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub action: Action,
    /// For a bid: the cap that set the amount (None when `bid_amount` did).
    /// For a skip on size: the cap that pushed it below `min_amount`.
    pub capped_by: Option<Cap>,
    /// One line an operator can read.
    pub detail: String,
}

impl Decision {
    fn skip(reason: SkipReason, detail: impl Into<String>) -> Self {
        Decision {
            action: Action::Skip { reason },
            capped_by: None,
            detail: detail.into(),
        }
    }

    /// `bid` or `skip`, as logged.
    pub fn action_name(&self) -> &'static str {
        match self.action {
            Action::Bid { .. } => "bid",
            Action::Skip { .. } => "skip",
        }
    }

    /// The stable reason code: a skip's reason, or `eligible` for a bid.
    pub fn reason_code(&self) -> &'static str {
        match self.action {
            Action::Bid { .. } => "eligible",
            Action::Skip { reason } => reason.code(),
        }
    }

    pub fn amount(&self) -> u64 {
        match self.action {
            Action::Bid { amount } => amount,
            Action::Skip { .. } => 0,
        }
    }
}

/// Decides on one loan.
pub fn decide(loan: &Loan, ctx: &Context<'_>) -> Decision {
    let c = ctx.config;
    let id = loan.loan_application_id;
    if let Some(reason) = state_rule(loan, ctx.now) {
        let detail = match reason {
            SkipReason::NotOpenYet => format!("loan {id} opens later"),
            _ => format!(
                "loan {id} is closed for bids (state {})",
                loan.subscription_state.state_id
            ),
        };
        return Decision::skip(reason, detail);
    }
    if !c.currencies.iter().any(|cur| cur.eq_ignore_ascii_case(&loan.currency)) {
        return Decision::skip(
            SkipReason::Currency,
            format!("{} is not in strategy.currencies", loan.currency),
        );
    }
    if loan.annual_interest_rate < c.min_interest_rate {
        return Decision::skip(
            SkipReason::RateTooLow,
            format!(
                "rate {}% is below strategy.min_interest_rate {}%",
                loan.annual_interest_rate, c.min_interest_rate
            ),
        );
    }
    if loan.duration_in_months > u64::from(c.max_duration_months) {
        return Decision::skip(
            SkipReason::TooLong,
            format!(
                "{} months is over strategy.max_duration_months {}",
                loan.duration_in_months, c.max_duration_months
            ),
        );
    }
    if !c
        .risk_scores
        .iter()
        .any(|r| r.eq_ignore_ascii_case(loan.risk_score.trim()))
    {
        return Decision::skip(
            SkipReason::RiskClass,
            format!("risk {} is not in strategy.risk_scores", loan.risk_score),
        );
    }
    let title = loan.title.to_lowercase();
    if let Some(word) = c
        .exclude_title_keywords
        .iter()
        .find(|k| title.contains(&k.to_lowercase()))
    {
        return Decision::skip(SkipReason::ExcludedKeyword, format!("the title contains \"{word}\""));
    }
    let ratio = loan.subscribed_ratio();
    if ratio > c.max_subscribed_ratio {
        return Decision::skip(
            SkipReason::Oversubscribed,
            format!(
                "subscribed {:.1}% is over strategy.max_subscribed_ratio {:.1}%",
                ratio * 100.0,
                c.max_subscribed_ratio * 100.0
            ),
        );
    }
    if let Some(bidders) = loan.bidders.filter(|b| *b > i64::from(c.max_competitors)) {
        return Decision::skip(
            SkipReason::TooManyCompetitors,
            format!(
                "{bidders} bidders is over strategy.max_competitors {}",
                c.max_competitors
            ),
        );
    }
    if ctx.already_on_loan > 0 {
        return Decision::skip(
            SkipReason::AlreadyBid,
            format!("{} already on loan {id}", ctx.already_on_loan),
        );
    }
    sizing::size(loan, ctx)
}

/// Open now, opening later, or closed.
fn state_rule(loan: &Loan, now: OffsetDateTime) -> Option<SkipReason> {
    if loan.subscription_state.state_id >= crate::kameo::models::STATE_ALLOCATION {
        return Some(SkipReason::Closed);
    }
    if loan.subscription_ends_at.is_some_and(|end| now >= end) {
        return Some(SkipReason::Closed);
    }
    if loan.subscription_starts_at.is_some_and(|start| now < start) {
        return Some(SkipReason::NotOpenYet);
    }
    None
}

#[cfg(test)]
mod tests;
