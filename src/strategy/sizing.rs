//! How much to bid: `bid_amount` (or more, to meet a target allocation on an
//! oversubscribed loan), cut by every cap. Whole currency units and integer
//! arithmetic only: no float can round a bid above a cap.

use serde::Serialize;

use super::{Action, Context, Decision, SkipReason};
use crate::config::Oversubscription;
use crate::kameo::Loan;

/// The limit that set (or sank) a bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    MaxBidAmount,
    ProjectCap,
    Cash,
    DailyBudget,
    TotalBudget,
}

impl Cap {
    pub fn code(self) -> &'static str {
        match self {
            Cap::MaxBidAmount => "max_bid_amount",
            Cap::ProjectCap => "project_cap",
            Cap::Cash => "cash",
            Cap::DailyBudget => "daily_budget",
            Cap::TotalBudget => "total_budget",
        }
    }
}

/// Whole units that may be spent from `available_ore`, keeping
/// `reserve_percentage` back. The reserve is rounded up, the rest down.
pub fn spendable_units(available_ore: i64, reserve_percentage: f64) -> u64 {
    if available_ore <= 0 {
        return 0;
    }
    // The share as basis points, once (validation keeps it in 0..=1),
    // rounded up: a cap may only ever err toward spending less. The epsilon
    // keeps float noise (0.07 × 10 000 = 700.000…1) from adding a point.
    let bp = (reserve_percentage.clamp(0.0, 1.0) * 10_000.0 - 1e-6).ceil().max(0.0) as i128;
    let available = available_ore as i128;
    let reserve = (available * bp + 9_999) / 10_000;
    ((available - reserve).max(0) / 100) as u64
}

/// The bid that makes a pro-rata allocation reach `target` on a loan of
/// `application` with `subscribed` already: b·A/(S+b) ≥ t ⇔ b ≥ t·S/(A−t).
/// None when even an unlimited bid cannot get there.
fn bid_for_allocation(target: u64, subscribed: u64, application: u64) -> Option<u64> {
    if application <= target {
        return None;
    }
    let num = u128::from(target) * u128::from(subscribed);
    let den = u128::from(application - target);
    u64::try_from(num.div_ceil(den)).ok().map(|b| b.max(target))
}

pub(super) fn size(loan: &Loan, ctx: &Context<'_>) -> Decision {
    let c = ctx.config;
    let mut target = c.bid_amount;
    let mut why_target = format!("strategy.bid_amount {}", c.bid_amount);
    if c.oversubscription == Oversubscription::TargetAllocation
        && loan.subscribed_amount > loan.application_amount
        && let Some(b) = bid_for_allocation(c.bid_amount, loan.subscribed_amount, loan.application_amount)
    {
        target = b;
        why_target = format!("{b} to expect an allocation of {} pro rata", c.bid_amount);
    }

    let remaining = |limit: u64, used: u64| limit.saturating_sub(used);
    let mut caps: Vec<(Cap, u64)> = vec![(Cap::MaxBidAmount, remaining(c.max_bid_amount, ctx.already_on_loan))];
    if !ctx.sophisticated_investor {
        // An unknown currency has no configured cap: then none is allowed.
        let cap = c.project_cap(&loan.currency).unwrap_or(0);
        caps.push((Cap::ProjectCap, remaining(cap, ctx.already_on_loan)));
    }
    caps.push((Cap::Cash, spendable_units(ctx.available_ore, c.reserve_percentage)));
    if c.daily_budget > 0 {
        caps.push((Cap::DailyBudget, remaining(c.daily_budget, ctx.spent_today)));
    }
    if c.total_budget > 0 {
        caps.push((Cap::TotalBudget, remaining(c.total_budget, ctx.spent_total)));
    }

    let mut amount = target;
    let mut capped_by = None;
    for (cap, limit) in &caps {
        if *limit < amount {
            amount = *limit;
            capped_by = Some(*cap);
        }
    }
    let min = loan.min_amount.max(1);
    if amount < min {
        let by = capped_by
            .map(|c| format!(" (bound by {})", c.code()))
            .unwrap_or_default();
        return Decision {
            action: Action::Skip {
                reason: SkipReason::BelowMinAmount,
            },
            capped_by,
            detail: format!("{amount} is below the loan's min_amount {min}{by}"),
        };
    }
    let detail = match capped_by {
        Some(cap) => format!("bid {amount}: {why_target}, capped by {}", cap.code()),
        None => format!("bid {amount}: {why_target}"),
    };
    Decision {
        action: Action::Bid { amount },
        capped_by,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spendable_cash_keeps_the_reserve_and_rounds_down() {
        assert_eq!(spendable_units(3_466_748, 0.10), 31_200); // 34 667,48 less 3 466,75
        assert_eq!(spendable_units(100_000, 0.0), 1_000);
        assert_eq!(spendable_units(100_000, 1.0), 0);
        assert_eq!(spendable_units(99, 0.0), 0);
        assert_eq!(spendable_units(-5_000, 0.1), 0);
        assert_eq!(spendable_units(1_000_000, 0.333), 6_670);
        assert_eq!(spendable_units(1_000_000, 0.07), 9_300, "no float noise");
        // 0.12344 is 1234.4 basis points: the reserve rounds up to 1235.
        assert_eq!(spendable_units(100_000_000, 0.12344), 876_500);
    }

    #[test]
    fn allocation_targets() {
        // 190 000 subscribed of 100 000: to get 5 000, bid 5000·190000/95000 = 10 000.
        assert_eq!(bid_for_allocation(5_000, 190_000, 100_000), Some(10_000));
        assert_eq!(bid_for_allocation(5_000, 0, 100_000), Some(5_000));
        assert_eq!(bid_for_allocation(100_000, 1, 100_000), None);
    }
}
