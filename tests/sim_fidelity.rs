//! The simulator's answers have the captured payloads' keys, recursively,
//! with the same JSON types.

mod common;

use std::path::Path;

use kameo_bot::sim::SimOptions;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kameo-api")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences between the shapes of `captured` and `served`, by path.
fn shape_diff(captured: &Value, served: &Value, path: &str, out: &mut Vec<String>) {
    if kind(captured) != kind(served) {
        // `null` in a capture says nothing about the type (e.g. "rates").
        if !captured.is_null() {
            out.push(format!(
                "{path}: captured {} but served {}",
                kind(captured),
                kind(served)
            ));
        }
        return;
    }
    match (captured, served) {
        (Value::Object(c), Value::Object(s)) => {
            for (k, v) in c {
                match s.get(k) {
                    Some(sv) => shape_diff(v, sv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
            for k in s.keys().filter(|k| !c.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the capture"));
            }
        }
        (Value::Array(c), Value::Array(s)) => {
            if let (Some(cf), Some(sf)) = (c.first(), s.first()) {
                for item in s {
                    shape_diff(cf, item, &format!("{path}[]"), out);
                }
                let _ = sf;
            }
        }
        _ => {}
    }
}

async fn served(path_and_query: &str, web: bool) -> Value {
    let sim = common::sim(SimOptions::default()).await;
    let client = common::raw_client();
    common::raw_login(&client, &sim, 0).await;
    let base = if web { sim.web_url() } else { sim.api_url() };
    let body: Value = client
        .get(format!("{base}{path_and_query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sim.shutdown().await;
    body
}

#[tokio::test]
async fn listing_page_one_has_the_captured_shape() {
    let served = served(
        "/loans/listing/investment-options?subscription_origin_sweden=1&subscription_origin_norway=0&subscription_origin_denmark=1&limit=12&page=1",
        false,
    )
    .await;
    assert!(!served["data"]["investment_options"].as_array().unwrap().is_empty());
    let mut diff = Vec::new();
    shape_diff(&fixture("investment-options.page1.json"), &served, "", &mut diff);
    assert!(diff.is_empty(), "{diff:#?}");
}

#[tokio::test]
async fn listing_past_the_last_page_has_the_captured_shape() {
    let served = served(
        "/loans/listing/investment-options?subscription_origin_sweden=1&limit=50&page=2",
        false,
    )
    .await;
    assert_eq!(served["data"]["investment_options"], Value::Array(vec![]));
    assert_eq!(served["data"]["current_page"], 2);
    let mut diff = Vec::new();
    shape_diff(&fixture("investment-options.page2-empty.json"), &served, "", &mut diff);
    assert!(diff.is_empty(), "{diff:#?}");
}

#[tokio::test]
async fn balances_have_the_captured_shape() {
    let served = served("/ezjscore/call/kameo_transfer::init", true).await;
    let mut diff = Vec::new();
    shape_diff(&fixture("transfer-init.json"), &served, "", &mut diff);
    assert!(diff.is_empty(), "{diff:#?}");
    assert_eq!(served["content"]["data"]["accounts"][0]["availableCash"], "200 000,00");
}

#[test]
fn the_shape_check_can_fail() {
    let mut diff = Vec::new();
    let captured = serde_json::json!({"a": 1, "b": {"c": "x"}});
    let served = serde_json::json!({"a": "1", "b": {}, "d": true});
    shape_diff(&captured, &served, "", &mut diff);
    assert_eq!(diff.len(), 3, "{diff:?}");
}
