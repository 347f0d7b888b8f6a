//! Tolerant readers for numbers and times in Kameo's JSON: the same field
//! comes as `10`, `10.5` or `"10,5"` depending on the endpoint, and shapes we
//! only reconstructed may differ from what we expect. Each reader accepts
//! every reasonable spelling and refuses the rest with a message.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn text_number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    cleaned.replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite())
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => text_number(s),
        _ => None,
    }
}

/// A decimal (rates): int, float or numeric text.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    as_f64(&v).ok_or_else(|| de::Error::custom(format!("expected a number, found {v}")))
}

/// A whole, non-negative number (amounts, ids, months): int, a float with no
/// fraction, or digits as text. A fraction is refused, never rounded.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    whole_value(&v).ok_or_else(|| de::Error::custom(format!("expected a whole non-negative number, found {v}")))
}

pub fn whole_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<u64>()
                .ok()
                .or_else(|| as_f64(v).filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
        }
        _ => None,
    }
}

/// Like [`whole`], with null or absence as 0 (e.g. `my_bid_amount`).
pub fn whole_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(0);
    }
    whole_value(&v).ok_or_else(|| de::Error::custom(format!("expected a whole non-negative number, found {v}")))
}

/// An optional integer of any spelling; a bad one is None, not an error
/// (for flags we keep but do not act on).
pub fn loose_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match &v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    })
}

/// A boolean that may come as `true`, `1` or `"1"`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => Ok(matches!(s.trim(), "1" | "true" | "yes")),
        Value::Null => Ok(false),
        _ => Err(de::Error::custom(format!("expected a boolean, found {v}"))),
    }
}

/// An RFC 3339 time with offset, or null.
pub fn time_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map(Some)
            .map_err(|e| de::Error::custom(format!("`{s}` is not an RFC 3339 time: {e}"))),
        _ => Err(de::Error::custom(format!("expected a time, found {v}"))),
    }
}

/// Text that may come as a number.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(de::Error::custom(format!("expected text, found {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "whole")]
        w: u64,
        #[serde(deserialize_with = "decimal")]
        d: f64,
    }

    #[test]
    fn numbers_in_every_spelling() {
        for (json, w, d) in [
            (r#"{"w": 10, "d": 10}"#, 10, 10.0),
            (r#"{"w": "3000", "d": "9,5"}"#, 3000, 9.5),
            (r#"{"w": 12.0, "d": 7.25}"#, 12, 7.25),
            (r#"{"w": " 500 ", "d": "11.75"}"#, 500, 11.75),
        ] {
            let t: T = serde_json::from_str(json).unwrap();
            assert_eq!((t.w, t.d), (w, d), "{json}");
        }
        for bad in [
            r#"{"w": 10.5, "d": 1}"#,
            r#"{"w": -1, "d": 1}"#,
            r#"{"w": "ten", "d": 1}"#,
            r#"{"w": 1, "d": "x"}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
