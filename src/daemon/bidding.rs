//! Placing one bid, journaled step by step: intent (committed before
//! anything is sent) → preview → submitted (written before the submit goes
//! out) → confirmed | rejected | unknown. Used by the daemon and by
//! `kameo-bot bid`, so a bid made by hand is in the ledger too.

use time::OffsetDateTime;

use crate::kameo::{Intention, KameoClient, KameoError, Loan};
use crate::ledger::{BidStatus, Ledger, LedgerError};

/// How a bid ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BidOutcome {
    /// Kameo took it.
    Confirmed { amount: u64 },
    /// Dry run: previewed and stopped.
    DryRun { amount: u64 },
    /// Kameo refused it (preview or submit), with its message.
    Rejected { message: String },
    /// Sent, fate unknown: reconciled in a later cycle, counted meanwhile.
    Unknown { reason: String },
    /// Nothing reached Kameo (transport trouble before the submit).
    NotSent { reason: String },
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Records and logs Kameo's refusal at `stage`, in Kameo's own words.
fn refused(
    ledger: &Ledger,
    id: i64,
    loan_id: u64,
    amount: u64,
    stage: &str,
    message: String,
    field_errors: std::collections::BTreeMap<String, Vec<String>>,
) -> Result<BidOutcome, LedgerError> {
    let message = if field_errors.is_empty() {
        message
    } else {
        format!("{message} {field_errors:?}")
    };
    ledger.mark(id, BidStatus::Rejected, &message, now())?;
    tracing::warn!(event = "bid_rejected", loan_id, amount, stage, reason = %message, "Kameo refused the bid");
    Ok(BidOutcome::Rejected { message })
}

/// Places `amount` on `loan`; every step is in the ledger before the next.
pub async fn place_bid(
    client: &KameoClient,
    ledger: &Ledger,
    loan: &Loan,
    amount: u64,
    dry_run: bool,
) -> Result<BidOutcome, LedgerError> {
    let loan_id = loan.loan_application_id;
    let id = ledger.begin_intent(loan_id, &loan.currency, amount, loan.my_bid_amount, dry_run, now())?;

    let preview = match client.preview(loan_id, amount, Intention::Add).await {
        Ok(p) => p,
        Err(KameoError::BidRejected {
            message, field_errors, ..
        }) => {
            return refused(ledger, id, loan_id, amount, "preview", message, field_errors);
        }
        Err(e) => {
            let reason = e.to_string();
            ledger.mark(id, BidStatus::Released, &format!("preview failed: {reason}"), now())?;
            tracing::warn!(event = "api_error", loan_id, amount, stage = "preview", error = %reason, "preview failed; nothing sent");
            return Ok(BidOutcome::NotSent { reason });
        }
    };
    let amount = preview.bid_amount;
    ledger.mark(id, BidStatus::Previewed, "", now())?;
    tracing::info!(event = "bid_previewed", loan_id, amount, dry_run, "bid previewed");

    if dry_run {
        ledger.mark(id, BidStatus::DryRun, "dry run: not submitted", now())?;
        return Ok(BidOutcome::DryRun { amount });
    }

    // Before the submit leaves: a crash from here on leaves a row that
    // reconciliation treats as possibly sent, never as "never sent".
    ledger.mark(id, BidStatus::Submitted, "", now())?;
    match client
        .submit(loan_id, amount, Intention::Add, &preview.sequence_hash)
        .await
    {
        Ok(receipt) => {
            ledger.mark(id, BidStatus::Confirmed, &receipt.heading, now())?;
            tracing::info!(event = "bid_submitted", loan_id, amount, currency = %loan.currency, "bid placed");
            Ok(BidOutcome::Confirmed { amount })
        }
        Err(KameoError::BidRejected {
            message, field_errors, ..
        }) => refused(ledger, id, loan_id, amount, "submit", message, field_errors),
        // A 401 (or no connection at all): Kameo did not take it.
        Err(e @ (KameoError::SessionExpired { .. } | KameoError::Transient { .. })) => {
            let reason = e.to_string();
            ledger.mark(id, BidStatus::Released, &format!("not taken: {reason}"), now())?;
            tracing::warn!(event = "api_error", loan_id, amount, stage = "submit", error = %reason, "submit not taken");
            Ok(BidOutcome::NotSent { reason })
        }
        Err(e) => {
            let reason = e.to_string();
            ledger.mark(id, BidStatus::Unknown, &reason, now())?;
            tracing::warn!(event = "bid_submitted", loan_id, amount, outcome = "unknown", error = %reason, "submit outcome unknown; will reconcile");
            Ok(BidOutcome::Unknown { reason })
        }
    }
}
