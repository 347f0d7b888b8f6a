//! Serde types for Kameo's payloads, built from the captured responses in
//! `shared/kameo-api/`. Every captured field is kept; unknown fields are
//! ignored; numbers are read leniently (see [`super::lenient`]). Shapes that
//! were only reconstructed (bidding, subscription) keep what else they carry
//! in `extra`, so nothing Kameo says is lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::lenient::{decimal, flag, loose_int, text, time_opt, whole, whole_or_zero};
use crate::config::Secret;

/// `subscription_state` of a listed loan. 30 = "Tilldelning" (allocation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionState {
    #[serde(deserialize_with = "whole")]
    pub state_id: u64,
    #[serde(default, deserialize_with = "text")]
    pub status_text_localized: String,
}

/// The captured state of allocation; a loan in it (or later) takes no bids.
pub const STATE_ALLOCATION: u64 = 30;

/// One loan of the investment-options listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loan {
    #[serde(deserialize_with = "whole")]
    pub loan_application_id: u64,
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub teaser: String,
    #[serde(default, deserialize_with = "text")]
    pub image: String,
    /// Loan size, whole currency units.
    #[serde(deserialize_with = "whole")]
    pub application_amount: u64,
    /// Percent a year.
    #[serde(deserialize_with = "decimal")]
    pub annual_interest_rate: f64,
    #[serde(deserialize_with = "whole")]
    pub duration_in_months: u64,
    #[serde(default, deserialize_with = "loose_int")]
    pub is_listed: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub available_kiis_languages: String,
    #[serde(deserialize_with = "text")]
    pub risk_score: String,
    /// May exceed `application_amount` (oversubscription).
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub subscribed_amount: u64,
    pub subscription_state: SubscriptionState,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub listing_date: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub subscription_starts_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub subscription_ends_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "loose_int")]
    pub allocation_type_id: Option<i64>,
    /// Minutes.
    #[serde(default, deserialize_with = "loose_int")]
    pub book_building_duration: Option<i64>,
    #[serde(deserialize_with = "text")]
    pub currency: String,
    /// The smallest bid, whole units.
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub min_amount: u64,
    #[serde(default, deserialize_with = "loose_int")]
    pub underwriter_state: Option<i64>,
    #[serde(default, deserialize_with = "loose_int")]
    pub fully_funded_state: Option<i64>,
    /// What this account has bid on the loan: the one reliable signal.
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub my_bid_amount: u64,
    /// Bidders, if the platform ever reports them (not in any capture).
    #[serde(
        default,
        alias = "number_of_investors",
        alias = "investors_count",
        deserialize_with = "loose_int"
    )]
    pub bidders: Option<i64>,
}

fn ser_time<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    use time::format_description::well_known::Rfc3339;
    match t.and_then(|t| t.format(&Rfc3339).ok()) {
        Some(text) => s.serialize_str(&text),
        None => s.serialize_none(),
    }
}

impl Loan {
    /// Subscribed / application, e.g. 0.998; 0 for a zero-sized loan.
    pub fn subscribed_ratio(&self) -> f64 {
        if self.application_amount == 0 {
            0.0
        } else {
            self.subscribed_amount as f64 / self.application_amount as f64
        }
    }

    /// Whether subscription is open at `now`, by the timestamps (the state
    /// ids other than 30 are not known).
    pub fn is_open_at(&self, now: OffsetDateTime) -> bool {
        let started = self.subscription_starts_at.is_none_or(|t| t <= now);
        let not_ended = self.subscription_ends_at.is_none_or(|t| now < t);
        started && not_ended && self.subscription_state.state_id < STATE_ALLOCATION
    }
}

/// One page of the listing, with the items that could not be read.
#[derive(Debug, Clone)]
pub struct ListingPage {
    pub loans: Vec<Loan>,
    /// Items we could not parse: (loan id if readable, why).
    pub unreadable: Vec<(Option<u64>, String)>,
    pub current_page: u64,
    pub last_page: u64,
    pub total: u64,
    pub per_page: u64,
    pub result_count: u64,
}

/// The listing's pagination fields, as captured.
#[derive(Debug, Deserialize)]
pub struct ListingData {
    #[serde(default)]
    pub investment_options: Vec<Value>,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub result_count: u64,
    #[serde(deserialize_with = "whole")]
    pub current_page: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub per_page: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub total: u64,
    #[serde(deserialize_with = "whole")]
    pub last_page: u64,
}

/// `{"data": …}`, the API host's envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// The Q&A of a loan (captured shape).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Questions {
    #[serde(default)]
    pub settings: QuestionSettings,
    #[serde(default)]
    pub my_questions: Vec<Value>,
    #[serde(default)]
    pub other_questions: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct QuestionSettings {
    #[serde(default, deserialize_with = "flag")]
    pub can_create_question: bool,
}

/// The `subscription` object inside a preview (reconstructed).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BidSubscription {
    #[serde(default, deserialize_with = "flag")]
    pub subscription_is_open: bool,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub subscribed_amount: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub total_amount: u64,
    #[serde(default, deserialize_with = "loose_int")]
    pub investment_status: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub investment_status_text: String,
}

/// What `GET /bidding/ID/load` answers (body never captured: all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BidForm {
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub min_amount: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub my_bid_amount: u64,
    #[serde(default)]
    pub subscription: Option<BidSubscription>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A preview's answer (reconstructed): the hash the submit must echo.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Preview {
    #[serde(deserialize_with = "whole")]
    pub bid_amount: u64,
    #[serde(deserialize_with = "text")]
    pub sequence_hash: String,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub valid_until: Option<OffsetDateTime>,
    #[serde(default)]
    pub subscription: Option<BidSubscription>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A submit's answer (reported shape).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SubmitReceipt {
    #[serde(default, deserialize_with = "text")]
    pub heading: String,
    #[serde(default)]
    pub messages: Vec<Value>,
    #[serde(default, deserialize_with = "flag")]
    pub show_open_banking_payment_initiation: bool,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `POST /loan/subscription/ID` (reconstructed).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Subscription {
    #[serde(deserialize_with = "whole")]
    pub loan_application_id: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub application_amount: u64,
    #[serde(default, deserialize_with = "whole_or_zero")]
    pub subscribed_amount: u64,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub listing_date: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub subscription_starts_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "time_opt", serialize_with = "ser_time")]
    pub subscription_ends_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "loose_int")]
    pub investment_status: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub investment_status_text: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionData {
    pub subscription: Subscription,
}

/// One cash account (captured), money in öre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashAccount {
    pub account_no: String,
    pub currency: String,
    pub available_ore: i64,
    pub reserved_ore: i64,
}

/// The balances call (captured `kameo_transfer::init`), every field kept.
#[derive(Debug, Clone, Serialize)]
pub struct Balances {
    pub accounts: Vec<CashAccount>,
    /// The CSRF token for account operations; masked like a secret.
    #[serde(skip)]
    pub xsrf_token: Secret,
    pub transfer_requests: Vec<Value>,
    pub translation: BTreeMap<String, String>,
    pub rates: Value,
    pub fees: Value,
    pub message: Value,
}

impl Balances {
    pub fn account(&self, currency: &str) -> Option<&CashAccount> {
        self.accounts.iter().find(|a| a.currency == currency)
    }
}

/// The raw shape of the balances call, before money strings are parsed.
#[derive(Debug, Deserialize)]
pub struct TransferInit {
    #[serde(default, deserialize_with = "text")]
    pub error_text: String,
    pub content: TransferContent,
}

#[derive(Debug, Deserialize)]
pub struct TransferContent {
    #[serde(default)]
    pub message: Value,
    pub data: Option<TransferData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferData {
    #[serde(default, deserialize_with = "text")]
    pub xsrf_token: String,
    #[serde(default)]
    pub accounts: Vec<RawCashAccount>,
    #[serde(default)]
    pub transfer_requests: Vec<Value>,
    #[serde(default)]
    pub translation: BTreeMap<String, Value>,
    #[serde(default)]
    pub rates: Value,
    #[serde(default)]
    pub fees: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCashAccount {
    #[serde(deserialize_with = "text")]
    pub account_no: String,
    #[serde(deserialize_with = "text")]
    pub currency_code: String,
    #[serde(deserialize_with = "text")]
    pub available_cash: String,
    #[serde(deserialize_with = "text")]
    pub reserved_cash: String,
}
