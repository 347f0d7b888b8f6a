//! The bid journal: intent → previewed → submitted → confirmed | rejected |
//! unknown, and reconciliation of what was left open against Kameo's
//! `my_bid_amount`. Every pending bid counts as money committed until Kameo
//! clearly confirms or denies it: a listing can lag behind a bid.

use rusqlite::params;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::{Ledger, LedgerError, from_ms, ms};
use crate::kameo::Loan;

/// Where a bid is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BidStatus {
    /// Written before the preview: nothing sent yet.
    Intent,
    /// Kameo accepted the preview; no submit sent.
    Previewed,
    /// The submit is being sent or was sent: its fate may be unknown.
    Submitted,
    /// Kameo answered the submit with success.
    Confirmed,
    /// Kameo refused the preview or the submit.
    Rejected,
    /// The submit's outcome could not be known (timeout, 5xx).
    Unknown,
    /// Reconciliation found Kameo does not show it: no money committed.
    Released,
    /// A dry run: previewed, never submitted.
    DryRun,
}

impl BidStatus {
    pub const ALL: [BidStatus; 8] = [
        BidStatus::Intent,
        BidStatus::Previewed,
        BidStatus::Submitted,
        BidStatus::Confirmed,
        BidStatus::Rejected,
        BidStatus::Unknown,
        BidStatus::Released,
        BidStatus::DryRun,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BidStatus::Intent => "intent",
            BidStatus::Previewed => "previewed",
            BidStatus::Submitted => "submitted",
            BidStatus::Confirmed => "confirmed",
            BidStatus::Rejected => "rejected",
            BidStatus::Unknown => "unknown",
            BidStatus::Released => "released",
            BidStatus::DryRun => "dry_run",
        }
    }

    fn from_code(code: &str) -> BidStatus {
        BidStatus::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(BidStatus::Unknown)
    }

    /// Not settled yet: counts as committed and must be reconciled.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            BidStatus::Intent | BidStatus::Previewed | BidStatus::Submitted | BidStatus::Unknown
        )
    }

    /// Money on the platform, or possibly so.
    pub fn is_committed(self) -> bool {
        self.is_pending() || self == BidStatus::Confirmed
    }
}

/// One row of the journal.
#[derive(Debug, Clone, Serialize)]
pub struct BidRow {
    pub id: i64,
    pub loan_id: u64,
    pub currency: String,
    pub amount: u64,
    pub status: BidStatus,
    pub dry_run: bool,
    /// Kameo's `my_bid_amount` for the loan when the intent was written.
    pub platform_before: u64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub message: String,
}

/// What reconciliation did with an open bid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub bid_id: i64,
    pub loan_id: u64,
    pub amount: u64,
    pub was: BidStatus,
    pub now: BidStatus,
}

/// SQL for "status is one of these": the committed set.
const COMMITTED: &str = "status IN ('intent','previewed','submitted','unknown','confirmed')";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BidRow> {
    Ok(BidRow {
        id: r.get(0)?,
        loan_id: r.get::<_, i64>(1)? as u64,
        currency: r.get(2)?,
        amount: r.get::<_, i64>(3)? as u64,
        status: BidStatus::from_code(&r.get::<_, String>(4)?),
        dry_run: r.get(5)?,
        platform_before: r.get::<_, i64>(6)? as u64,
        created_ms: r.get(7)?,
        updated_ms: r.get(8)?,
        message: r.get(9)?,
    })
}

/// Appends to a bid's history, inside the caller's transaction.
fn event(
    conn: &rusqlite::Connection,
    bid_id: i64,
    status: BidStatus,
    detail: &str,
    at: OffsetDateTime,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO bid_events (bid_id, status, at_ms, detail) VALUES (?1, ?2, ?3, ?4)",
        params![bid_id, status.code(), ms(at), detail],
    )?;
    Ok(())
}

const COLUMNS: &str =
    "id, loan_id, currency, amount, status, dry_run, platform_before, created_ms, updated_ms, message";

impl Ledger {
    /// Writes an intent and commits it: call before the preview is sent.
    pub fn begin_intent(
        &self,
        loan_id: u64,
        currency: &str,
        amount: u64,
        platform_before: u64,
        dry_run: bool,
        at: OffsetDateTime,
    ) -> Result<i64, LedgerError> {
        // One transaction, one fsync: the row and its first event together.
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO bids (loan_id, currency, amount, status, dry_run, platform_before, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, 'intent', ?4, ?5, ?6, ?6)",
            params![
                loan_id as i64,
                currency,
                amount as i64,
                dry_run,
                platform_before as i64,
                ms(at)
            ],
        )?;
        let id = tx.last_insert_rowid();
        event(&tx, id, BidStatus::Intent, "", at)?;
        tx.commit()?;
        Ok(id)
    }

    /// Moves a bid to `status`, with a note, in one transaction (one fsync:
    /// this runs between a preview and its submit, where every millisecond
    /// is reaction latency).
    pub fn mark(&self, bid_id: i64, status: BidStatus, detail: &str, at: OffsetDateTime) -> Result<(), LedgerError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "UPDATE bids SET status = ?2, updated_ms = ?3, message = ?4 WHERE id = ?1",
            params![bid_id, status.code(), ms(at), detail],
        )?;
        event(&tx, bid_id, status, detail, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Every bid, oldest first.
    pub fn bids(&self) -> Result<Vec<BidRow>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM bids ORDER BY id"))?;
        let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Bids not settled yet (real ones, not dry runs), oldest first.
    pub fn pending_bids(&self) -> Result<Vec<BidRow>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM bids WHERE dry_run = 0 AND status IN ('intent','previewed','submitted','unknown') ORDER BY id"
        ))?;
        let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Whether a dry run already previewed a bid on this loan (a dry run
    /// previews each loan once, not every cycle).
    pub fn dry_run_previewed(&self, loan_id: u64) -> Result<bool, LedgerError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM bids WHERE loan_id = ?1 AND dry_run = 1 AND status = 'dry_run'",
            [loan_id as i64],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Money committed (or possibly so) on a loan.
    pub fn committed_on_loan(&self, loan_id: u64) -> Result<u64, LedgerError> {
        let sum: i64 = self.conn.query_row(
            &format!("SELECT COALESCE(SUM(amount), 0) FROM bids WHERE loan_id = ?1 AND dry_run = 0 AND {COMMITTED}"),
            [loan_id as i64],
            |r| r.get(0),
        )?;
        Ok(sum as u64)
    }

    /// Money committed in `currency` by bids written at or after `since`.
    pub fn committed_since(&self, currency: &str, since: Option<OffsetDateTime>) -> Result<u64, LedgerError> {
        let since = since.map_or(i64::MIN, ms);
        let sum: i64 = self.conn.query_row(
            &format!("SELECT COALESCE(SUM(amount), 0) FROM bids WHERE currency = ?1 AND created_ms >= ?2 AND dry_run = 0 AND {COMMITTED}"),
            params![currency, since],
            |r| r.get(0),
        )?;
        Ok(sum as u64)
    }

    /// Settles what it can of the pending bids against the listing.
    ///
    /// - Kameo shows the money (`my_bid_amount` ≥ what it was + the bid):
    ///   confirmed.
    /// - Never sent (intent, previewed): released.
    /// - Sent (submitted, unknown) and not shown: released once `grace` has
    ///   passed since the submit (a listing can lag); pending until then.
    /// - The loan is no longer listed: a sent bid stays pending (and counts);
    ///   an unsent one is released.
    pub fn reconcile(
        &self,
        listing: &[Loan],
        grace: Duration,
        now: OffsetDateTime,
    ) -> Result<Vec<Reconciled>, LedgerError> {
        let mut out = Vec::new();
        let mut expected_on: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        for bid in self.pending_bids()? {
            let listed = listing.iter().find(|l| l.loan_application_id == bid.loan_id);
            let sent = matches!(bid.status, BidStatus::Submitted | BidStatus::Unknown);
            let settle = |to: BidStatus, why: String| -> Result<Reconciled, LedgerError> {
                self.mark(bid.id, to, &why, now)?;
                Ok(Reconciled {
                    bid_id: bid.id,
                    loan_id: bid.loan_id,
                    amount: bid.amount,
                    was: bid.status,
                    now: to,
                })
            };
            let outcome = match listed {
                Some(loan) => {
                    let base = expected_on.get(&bid.loan_id).copied().unwrap_or(bid.platform_before);
                    let expected = base + bid.amount;
                    if loan.my_bid_amount >= expected {
                        expected_on.insert(bid.loan_id, expected);
                        Some(settle(
                            BidStatus::Confirmed,
                            format!("Kameo shows {} on the loan", loan.my_bid_amount),
                        )?)
                    } else if !sent {
                        Some(settle(BidStatus::Released, "never submitted".into())?)
                    } else if now - from_ms(bid.updated_ms) >= grace {
                        Some(settle(
                            BidStatus::Released,
                            format!(
                                "Kameo shows {} on the loan, not {expected}, after {}s",
                                loan.my_bid_amount,
                                grace.whole_seconds()
                            ),
                        )?)
                    } else {
                        None
                    }
                }
                None if !sent => Some(settle(
                    BidStatus::Released,
                    "never submitted; the loan is no longer listed".into(),
                )?),
                None => None,
            };
            out.extend(outcome);
        }
        Ok(out)
    }
}
