//! `kameo-bot report`: what was bid, what is committed, what it should
//! earn, and why loans were skipped, computed from the ledger alone.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;
use time::OffsetDateTime;

use super::bids::BidStatus;
use super::{Ledger, LedgerError, from_ms, ms};
use crate::kameo::money::format_ore;

/// A count and a sum of whole units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub count: u64,
    pub amount: u64,
}

impl Tally {
    fn add(&mut self, amount: u64) {
        self.count += 1;
        self.amount += amount;
    }
}

/// Committed money in one currency and what it should earn.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CurrencyTotals {
    /// Confirmed plus still pending (pending counts until Kameo denies it).
    pub committed: u64,
    pub confirmed: u64,
    /// Weighted by amount, percent.
    pub weighted_average_rate: f64,
    /// Σ amount × rate, whole units a year.
    pub expected_yearly_interest: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalancePoint {
    pub date: String,
    pub currency: String,
    pub available_ore: i64,
    pub reserved_ore: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<String>,
    pub bids_by_status: BTreeMap<String, Tally>,
    pub by_currency: BTreeMap<String, CurrencyTotals>,
    /// Committed bids by the loan's risk class.
    pub by_risk: BTreeMap<String, Tally>,
    /// Committed bids by month written (YYYY-MM).
    pub by_month: BTreeMap<String, Tally>,
    /// The last balance of each day, per currency.
    pub balance_history: Vec<BalancePoint>,
    /// How many loans each skip reason rejected (distinct loans).
    pub skip_reasons: BTreeMap<String, u64>,
}

fn date(ms_value: i64, with_day: bool) -> String {
    let t = from_ms(ms_value);
    if with_day {
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    } else {
        format!("{:04}-{:02}", t.year(), u8::from(t.month()))
    }
}

/// Builds the report for everything on or after `since`.
pub fn build_report(ledger: &Ledger, since: Option<OffsetDateTime>) -> Result<Report, LedgerError> {
    let since_ms = since.map_or(i64::MIN, ms);
    let conn = &ledger.conn;

    let mut bids_by_status: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_currency: BTreeMap<String, CurrencyTotals> = BTreeMap::new();
    let mut by_risk: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_month: BTreeMap<String, Tally> = BTreeMap::new();
    let mut rate_weight: BTreeMap<String, f64> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT b.status, b.dry_run, b.currency, b.amount, b.created_ms, l.annual_interest_rate, l.risk_score
         FROM bids b LEFT JOIN loans l ON l.loan_id = b.loan_id WHERE b.created_ms >= ?1 ORDER BY b.id",
    )?;
    let rows = stmt.query_map([since_ms], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)? as u64,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
            r.get::<_, Option<String>>(6)?.unwrap_or_else(|| "?".into()),
        ))
    })?;
    for row in rows {
        let (status_code, dry_run, currency, amount, created, rate, risk) = row?;
        let status = BidStatus::ALL
            .into_iter()
            .find(|s| s.code() == status_code)
            .unwrap_or(BidStatus::Unknown);
        bids_by_status.entry(status.code().to_string()).or_default().add(amount);
        if dry_run || !status.is_committed() {
            continue;
        }
        let totals = by_currency.entry(currency.clone()).or_default();
        totals.committed += amount;
        if status == BidStatus::Confirmed {
            totals.confirmed += amount;
        }
        // Basis points, so the interest sum stays in integers.
        let bp = (rate * 100.0).round().max(0.0) as u64;
        totals.expected_yearly_interest += amount * bp / 10_000;
        *rate_weight.entry(currency).or_default() += rate * amount as f64;
        by_risk.entry(risk).or_default().add(amount);
        by_month.entry(date(created, false)).or_default().add(amount);
    }
    for (currency, totals) in by_currency.iter_mut() {
        if totals.committed > 0 {
            let weighted = rate_weight.get(currency).copied().unwrap_or(0.0) / totals.committed as f64;
            totals.weighted_average_rate = (weighted * 100.0).round() / 100.0;
        }
    }

    let mut balance_history = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT at_ms, currency, available_ore, reserved_ore FROM balances b
         WHERE at_ms >= ?1 AND id = (SELECT MAX(id) FROM balances b2 WHERE b2.currency = b.currency
                                     AND b2.at_ms / 86400000 = b.at_ms / 86400000)
         ORDER BY at_ms, currency",
    )?;
    for row in stmt.query_map([since_ms], |r| {
        Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })? {
        let (at, currency, available_ore, reserved_ore) = row?;
        balance_history.push(BalancePoint {
            date: date(at, true),
            currency,
            available_ore,
            reserved_ore,
        });
    }

    let mut skip_reasons = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT reason, COUNT(DISTINCT loan_id) FROM decisions WHERE action = 'skip' AND decided_ms >= ?1 GROUP BY reason",
    )?;
    for row in stmt.query_map(params![since_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (reason, loans) = row?;
        skip_reasons.insert(reason, loans as u64);
    }

    Ok(Report {
        since: since.map(|s| date(ms(s), true)),
        bids_by_status,
        by_currency,
        by_risk,
        by_month,
        balance_history,
        skip_reasons,
    })
}

impl Report {
    /// The report as tables for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let heading =
            |out: &mut String, title: &str| out.push_str(&format!("\n{title}\n{}\n", "-".repeat(title.len())));
        out.push_str(&format!(
            "kameo-bot report{}\n",
            self.since.as_ref().map(|s| format!(" since {s}")).unwrap_or_default()
        ));
        heading(&mut out, "Bids by status");
        if self.bids_by_status.is_empty() {
            out.push_str("  (no bids)\n");
        }
        for (status, t) in &self.bids_by_status {
            out.push_str(&format!("  {status:<10} {:>5} bid(s) {:>12}\n", t.count, t.amount));
        }
        heading(&mut out, "Committed per currency");
        for (currency, t) in &self.by_currency {
            out.push_str(&format!(
                "  {currency}  committed {:>10}  confirmed {:>10}  avg rate {:>5.2}%  expected interest/yr {:>8}\n",
                t.committed, t.confirmed, t.weighted_average_rate, t.expected_yearly_interest
            ));
        }
        for (title, map) in [("By risk class", &self.by_risk), ("By month", &self.by_month)] {
            heading(&mut out, title);
            for (key, t) in map {
                out.push_str(&format!("  {key:<8} {:>5} bid(s) {:>12}\n", t.count, t.amount));
            }
        }
        heading(&mut out, "Balance history (last of each day)");
        for b in &self.balance_history {
            out.push_str(&format!(
                "  {} {}  available {:>14}  reserved {:>14}\n",
                b.date,
                b.currency,
                format_ore(b.available_ore, ' '),
                format_ore(b.reserved_ore, ' ')
            ));
        }
        heading(&mut out, "Loans skipped, by reason");
        for (reason, loans) in &self.skip_reasons {
            out.push_str(&format!("  {reason:<22} {loans:>5}\n"));
        }
        out
    }
}
