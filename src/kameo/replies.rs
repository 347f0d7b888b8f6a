//! Reading Kameo's answers: success, or the error that says what happened
//! (an expired session, a server fault, a refused bid in Kameo's own words,
//! a body we cannot read), and the balances call's money strings.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{KameoError, excerpt};
use super::models::{Balances, CashAccount, TransferInit};
use super::money::parse_ore;
use super::transport::Reply;

const EXCERPT: usize = 200;

/// Turns an answer that is not a success into the right error.
pub(super) fn check_reply(endpoint: &str, reply: &Reply, json_expected: bool) -> Result<(), KameoError> {
    if reply.is_session_expired(json_expected) {
        return Err(KameoError::SessionExpired {
            endpoint: endpoint.into(),
        });
    }
    match reply.status {
        200..=299 => Ok(()),
        500..=599 => Err(KameoError::Transient {
            endpoint: endpoint.into(),
            reason: format!("HTTP {}: {}", reply.status, excerpt(&reply.body, EXCERPT)),
        }),
        status => Err(KameoError::Api {
            endpoint: endpoint.into(),
            status,
            message: kameo_message(&reply.body).unwrap_or_else(|| excerpt(&reply.body, EXCERPT)),
        }),
    }
}

pub(super) fn parse<T: DeserializeOwned>(endpoint: &str, body: &str) -> Result<T, KameoError> {
    serde_json::from_str(body).map_err(|e| KameoError::Malformed {
        endpoint: endpoint.into(),
        reason: e.to_string(),
        excerpt: excerpt(body, EXCERPT),
    })
}

/// Kameo's own words in an error body: `message`, `messages` or `errors`.
fn kameo_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    if let Some(m) = v.get("message").and_then(Value::as_str) {
        return Some(m.to_string());
    }
    let list = v.get("messages").or_else(|| v.get("errors"))?;
    Some(list.to_string())
}

/// A 4xx on a bid is Kameo refusing it: its message and field errors.
pub(super) fn bid_refusal(loan_id: u64, reply: &Reply) -> Result<(), KameoError> {
    if !(400..500).contains(&reply.status) || matches!(reply.status, 401 | 403 | 429) {
        return Ok(());
    }
    let v: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let mut field_errors = std::collections::BTreeMap::new();
    if let Some(errors) = v.get("errors").and_then(Value::as_object) {
        for (field, messages) in errors {
            let list = match messages {
                Value::Array(items) => items
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), String::from))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            field_errors.insert(field.clone(), list);
        }
    }
    let message = kameo_message(&reply.body).unwrap_or_else(|| excerpt(&reply.body, EXCERPT));
    Err(KameoError::BidRejected {
        loan_id,
        status: reply.status,
        message,
        field_errors,
        raw: excerpt(&reply.body, 2000),
    })
}

/// Reads the balances call's Swedish money strings into öre.
pub fn balances_from(raw: TransferInit) -> Result<Balances, KameoError> {
    let malformed = |reason: String| KameoError::Malformed {
        endpoint: "balances".into(),
        reason,
        excerpt: String::new(),
    };
    if !raw.error_text.trim().is_empty() {
        return Err(KameoError::Api {
            endpoint: "balances".into(),
            status: 200,
            message: raw.error_text,
        });
    }
    let data = raw.content.data.ok_or_else(|| malformed("no content.data".into()))?;
    let mut accounts = Vec::new();
    for a in data.accounts {
        let available =
            parse_ore(&a.available_cash).map_err(|e| malformed(format!("{} availableCash: {e}", a.currency_code)))?;
        let reserved =
            parse_ore(&a.reserved_cash).map_err(|e| malformed(format!("{} reservedCash: {e}", a.currency_code)))?;
        accounts.push(CashAccount {
            account_no: a.account_no,
            currency: a.currency_code,
            available_ore: available,
            reserved_ore: reserved,
        });
    }
    Ok(Balances {
        accounts,
        xsrf_token: crate::config::Secret::new(data.xsrf_token),
        transfer_requests: data.transfer_requests,
        translation: data
            .translation
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), String::from)))
            .collect(),
        rates: data.rates,
        fees: data.fees,
        message: raw.content.message,
    })
}
