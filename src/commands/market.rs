//! `loans`, `balance` and `bid`: one look at (or one action on) Kameo.

use std::path::Path;

use anyhow::Context;
use time::OffsetDateTime;

use crate::config::{EnvMap, Loaded};
use crate::daemon::{BidOutcome, place_bid};
use crate::exit;
use crate::kameo::money::format_ore;
use crate::kameo::{KameoClient, Loan};
use crate::ledger::Ledger;
use crate::telemetry::{self, Console};

/// Loads the config, starts logging to stderr, and builds a client.
pub(crate) fn connect(
    named: Option<&Path>,
    env: &EnvMap,
) -> anyhow::Result<(Loaded, KameoClient, telemetry::Telemetry)> {
    let loaded = super::load_config(named, env)?;
    let telemetry = telemetry::init(&loaded.config.logging, Console::Stderr)?;
    let client = KameoClient::new(&loaded.config.kameo, loaded.config.ledger.state_dir())
        .context("cannot set up the Kameo client")?;
    Ok((loaded, client, telemetry))
}

fn short_time(t: Option<OffsetDateTime>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.and_then(|t| t.format(&format).ok()).unwrap_or_else(|| "-".into())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// The loans table: one line a loan.
pub fn loans_table(loans: &[Loan]) -> String {
    let mut out = format!(
        "{:>6}  {:<40}  {:>6}  {:>4}  {:<4}  {:>13}  {:>6}  {:<20}  {:<16}  {:>8}\n",
        "id", "title", "rate", "mo", "risk", "size", "subs%", "state", "opens (UTC)", "my bid"
    );
    for l in loans {
        out.push_str(&format!(
            "{:>6}  {:<40}  {:>5.2}%  {:>4}  {:<4}  {:>9} {:<3}  {:>5.1}%  {:<20}  {:<16}  {:>8}\n",
            l.loan_application_id,
            truncate(&l.title, 40),
            l.annual_interest_rate,
            l.duration_in_months,
            l.risk_score,
            l.application_amount,
            l.currency,
            l.subscribed_ratio() * 100.0,
            truncate(
                &format!(
                    "{} {}",
                    l.subscription_state.state_id, l.subscription_state.status_text_localized
                ),
                20
            ),
            short_time(l.subscription_starts_at),
            l.my_bid_amount,
        ));
    }
    out
}

pub async fn loans(named: Option<&Path>, env: &EnvMap, json: bool) -> anyhow::Result<u8> {
    let (_, client, _telemetry) = connect(named, env)?;
    let listing = client.listing().await.context("cannot read the listing")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&listing.loans)?);
    } else {
        print!("{}", loans_table(&listing.loans));
        println!("{} loan(s)", listing.loans.len());
    }
    for (id, why) in &listing.unreadable {
        eprintln!("warning: a listed loan (id {id:?}) could not be read: {why}");
    }
    Ok(exit::OK)
}

pub async fn balance(named: Option<&Path>, env: &EnvMap, json: bool) -> anyhow::Result<u8> {
    let (_, client, _telemetry) = connect(named, env)?;
    let balances = client.balances().await.context("cannot read the balances")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&balances.accounts)?);
    } else {
        println!("{:<8}  {:>16}  {:>16}", "currency", "available", "reserved");
        for a in &balances.accounts {
            println!(
                "{:<8}  {:>16}  {:>16}",
                a.currency,
                format_ore(a.available_ore, ' '),
                format_ore(a.reserved_ore, ' ')
            );
        }
    }
    Ok(exit::OK)
}

pub async fn bid(named: Option<&Path>, env: &EnvMap, loan_id: u64, amount: u64, submit: bool) -> anyhow::Result<u8> {
    if amount == 0 {
        return Err(exit::UsageError("AMOUNT must be a whole number above 0".into()).into());
    }
    let (loaded, client, _telemetry) = connect(named, env)?;
    let path = &loaded.config.ledger.path;
    let ledger = Ledger::open(path).with_context(|| format!("cannot open the ledger {}", path.display()))?;
    let listing = client.listing().await.context("cannot read the listing")?;
    let loan = listing
        .loans
        .iter()
        .find(|l| l.loan_application_id == loan_id)
        .ok_or_else(|| {
            exit::UsageError(format!(
                "loan {loan_id} is not in the listing (kameo.countries = {:?})",
                loaded.config.kameo.countries
            ))
        })?;
    // Journaled like the daemon's bids: the ledger knows what was done by hand.
    match place_bid(&client, &ledger, loan, amount, !submit).await? {
        BidOutcome::DryRun { amount } => {
            println!("preview: {amount} on loan {loan_id} accepted by Kameo");
            println!("not submitted (add --submit to place the bid; it spends real money)");
            Ok(exit::OK)
        }
        BidOutcome::Confirmed { amount } => {
            println!("preview: {amount} on loan {loan_id} accepted by Kameo");
            println!(
                "submitted: {amount} {} on loan {loan_id}, registered by Kameo",
                loan.currency
            );
            Ok(exit::OK)
        }
        BidOutcome::Rejected { message } => Err(anyhow::anyhow!("Kameo refused the bid on loan {loan_id}: {message}")),
        BidOutcome::Unknown { reason } => Err(anyhow::anyhow!(
            "the submit on loan {loan_id} may or may not have been taken ({reason}); the daemon reconciles it, or check `kameo-bot loans`"
        )),
        BidOutcome::NotSent { reason } => Err(exit::Unavailable(format!("nothing was sent: {reason}")).into()),
    }
}
