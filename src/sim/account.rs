//! The simulated investor: cash per currency, bids, and the rules Kameo
//! applies to a bid (open, minimum, EUR 1,000 per-project cap, cash, a valid
//! single-use sequence hash). Each broken rule is a 422 in the shape the
//! client must understand: `{"message", "errors": {field: [..]}}`.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use time::{Duration, OffsetDateTime};

use super::market::{Market, SimLoan};

/// How long a preview's sequence hash stays valid (real time).
pub const SEQUENCE_HASH_TTL: Duration = Duration::minutes(5);

/// A bid the simulator accepted.
#[derive(Debug, Clone)]
pub struct AcceptedBid {
    pub loan_id: u64,
    pub amount: u64,
    pub at: OffsetDateTime,
}

/// A preview or submit as the API host received it.
#[derive(Debug, Clone, Copy)]
pub struct BidRequest<'a> {
    pub session: &'a str,
    pub loan_id: u64,
    pub amount: &'a serde_json::Value,
    /// `add` (a new bid) or `update` (the new total of an existing one).
    pub intention: &'a str,
    /// Empty on a preview; the preview's hash on a submit.
    pub hash: &'a str,
}

/// Cash in öre (1/100 of the unit), per currency.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cash {
    pub available: i64,
    pub reserved: i64,
    pub invested: i64,
}

struct PendingHash {
    session: String,
    loan_id: u64,
    amount: u64,
    expires: OffsetDateTime,
}

/// Why a bid was refused: status, message and field errors.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
    pub field: &'static str,
}

impl Refusal {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status: 422,
            message: message.into(),
            field,
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "message": self.message, "errors": { self.field: [self.message] } })
    }
}

/// The one investor account the simulator serves.
pub struct Account {
    pub email: String,
    pub password: String,
    pub totp_secret: String,
    pub sophisticated: bool,
    pub cash: BTreeMap<&'static str, Cash>,
    pub bids: Vec<AcceptedBid>,
    hashes: HashMap<String, PendingHash>,
    allocated: Vec<u64>,
    pub hash_ttl: Duration,
}

/// The per-project cap for a non-sophisticated investor, whole units.
pub fn project_cap(currency: &str) -> u64 {
    match currency {
        "DKK" => 7_500,
        _ => 11_500,
    }
}

impl Account {
    pub fn new(email: &str, password: &str, totp_secret: &str, cash_sek: u64) -> Self {
        let mut cash = BTreeMap::new();
        cash.insert(
            "SEK",
            Cash {
                available: cash_sek as i64 * 100,
                ..Cash::default()
            },
        );
        cash.insert(
            "NOK",
            Cash {
                available: cash_sek as i64 * 100 / 2,
                ..Cash::default()
            },
        );
        cash.insert("DKK", Cash::default());
        Account {
            email: email.into(),
            password: password.into(),
            totp_secret: totp_secret.into(),
            sophisticated: false,
            cash,
            bids: Vec::new(),
            hashes: HashMap::new(),
            allocated: Vec::new(),
            hash_ttl: SEQUENCE_HASH_TTL,
        }
    }

    /// What this account has bid on a loan in total (`my_bid_amount`).
    pub fn my_bid(&self, loan_id: u64) -> u64 {
        self.bids
            .iter()
            .filter(|b| b.loan_id == loan_id)
            .map(|b| b.amount)
            .sum()
    }

    /// All accepted bids on a loan by this account plus others' demand.
    pub fn subscribed(&self, loan: &SimLoan, now: OffsetDateTime) -> u64 {
        loan.others_at(now) + self.my_bid(loan.id)
    }

    /// Parses the `amount` string the way the platform does: whole units only.
    pub fn parse_amount(raw: &serde_json::Value) -> Result<u64, Refusal> {
        let text = match raw {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(Refusal::new("amount", "Beloppet måste anges.")),
        };
        text.parse::<u64>()
            .map_err(|_| Refusal::new("amount", format!("Beloppet måste vara ett heltal (fick \"{text}\").")))
    }

    /// The rules shared by preview and submit. `total` is what the account
    /// would have on the loan after this bid.
    fn check(&self, loan: &SimLoan, amount: u64, total: u64, now: OffsetDateTime) -> Result<(), Refusal> {
        if !loan.is_open(now) {
            return Err(Refusal::new("loan", "Lånet är inte öppet för teckning."));
        }
        if amount < loan.min_amount {
            return Err(Refusal::new(
                "amount",
                format!("Minsta belopp är {} {}.", loan.min_amount, loan.currency),
            ));
        }
        let cap = project_cap(loan.currency);
        if !self.sophisticated && total > cap {
            return Err(Refusal::new(
                "amount",
                format!(
                    "Som icke-kvalificerad investerare får du investera högst {cap} {} per projekt.",
                    loan.currency
                ),
            ));
        }
        let available = self.cash.get(loan.currency).map(|c| c.available).unwrap_or(0);
        if (amount as i64) * 100 > available {
            return Err(Refusal::new("amount", "Otillräckligt saldo på kontot."));
        }
        Ok(())
    }

    fn total_after(&self, loan_id: u64, amount: u64, intention: &str) -> u64 {
        if intention == "update" {
            amount
        } else {
            self.my_bid(loan_id) + amount
        }
    }

    /// The loan and whole amount a request names, or why not.
    fn read_request<'m>(market: &'m Market, request: &BidRequest<'_>) -> Result<(&'m SimLoan, u64), Refusal> {
        let loan = market.get(request.loan_id).ok_or_else(|| Refusal {
            status: 404,
            message: "Lånet finns inte.".into(),
            field: "loan",
        })?;
        Ok((loan, Self::parse_amount(request.amount)?))
    }

    /// Kameo's rules for this request; the money it moves.
    fn allowed(
        &self,
        loan: &SimLoan,
        request: &BidRequest<'_>,
        amount: u64,
        now: OffsetDateTime,
    ) -> Result<u64, Refusal> {
        let delta = self.delta(request.loan_id, amount, request.intention);
        self.check(
            loan,
            delta,
            self.total_after(request.loan_id, amount, request.intention),
            now,
        )?;
        Ok(delta)
    }

    /// A preview: checks the rules and hands out a single-use hash.
    pub fn preview(
        &mut self,
        market: &Market,
        request: &BidRequest<'_>,
        now: OffsetDateTime,
        rng: &mut StdRng,
    ) -> Result<(u64, String, OffsetDateTime), Refusal> {
        let (loan, amount) = Self::read_request(market, request)?;
        self.allowed(loan, request, amount, now)?;
        let hash = super::session::random_hex(rng, 32);
        let expires = now + self.hash_ttl;
        self.hashes.retain(|_, h| h.expires > now);
        self.hashes.insert(
            hash.clone(),
            PendingHash {
                session: request.session.into(),
                loan_id: request.loan_id,
                amount,
                expires,
            },
        );
        Ok((amount, hash, expires))
    }

    /// The money a bid moves: for an update, only the increase.
    fn delta(&self, loan_id: u64, amount: u64, intention: &str) -> u64 {
        if intention == "update" {
            amount.saturating_sub(self.my_bid(loan_id))
        } else {
            amount
        }
    }

    /// A submit: the hash must come from this session's preview of the same
    /// loan and amount, unused and unexpired; then the rules again.
    pub fn submit(&mut self, market: &Market, request: &BidRequest<'_>, now: OffsetDateTime) -> Result<u64, Refusal> {
        let (loan, amount) = Self::read_request(market, request)?;
        let BidRequest {
            session, loan_id, hash, ..
        } = *request;
        let bad_hash = || {
            Refusal::new(
                "sequence_hash",
                "Budet har gått ut eller är ogiltigt. Förhandsgranska igen.",
            )
        };
        let pending = self.hashes.remove(hash).ok_or_else(bad_hash)?;
        if pending.session != session
            || pending.loan_id != loan_id
            || pending.amount != amount
            || pending.expires <= now
        {
            return Err(bad_hash());
        }
        let delta = self.allowed(loan, request, amount, now)?;
        let cash = self.cash.entry(loan.currency).or_default();
        cash.available -= delta as i64 * 100;
        cash.reserved += delta as i64 * 100;
        self.bids.push(AcceptedBid {
            loan_id,
            amount: delta,
            at: now,
        });
        Ok(delta)
    }

    /// Allocates loans that left allocation: pro-rata when oversubscribed;
    /// the allocated part becomes invested, the rest goes back to available.
    pub fn settle(&mut self, market: &Market, now: OffsetDateTime) {
        for loan in market.loans.iter().filter(|l| now >= l.closes_at) {
            if self.allocated.contains(&loan.id) {
                continue;
            }
            self.allocated.push(loan.id);
            let mine = self.my_bid(loan.id);
            if mine == 0 {
                continue;
            }
            let subscribed = self.subscribed(loan, now).max(1);
            let allocated = if subscribed > loan.application_amount {
                (mine as u128 * loan.application_amount as u128 / subscribed as u128) as u64
            } else {
                mine
            };
            let cash = self.cash.entry(loan.currency).or_default();
            cash.reserved -= mine as i64 * 100;
            cash.invested += allocated as i64 * 100;
            cash.available += (mine - allocated) as i64 * 100;
        }
    }
}

pub use crate::kameo::money::format_ore as swedish_money;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_must_be_whole() {
        assert_eq!(Account::parse_amount(&serde_json::json!("3000")).unwrap(), 3000);
        assert!(Account::parse_amount(&serde_json::json!("3000,50")).is_err());
        assert!(Account::parse_amount(&serde_json::json!("-5")).is_err());
        assert!(Account::parse_amount(&serde_json::json!(null)).is_err());
    }
}
