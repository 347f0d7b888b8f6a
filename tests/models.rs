//! Every captured payload parses, with every field checked; a bad item in a
//! listing is skipped with a reason instead of failing the whole listing.

use std::path::Path;

use kameo_bot::kameo::balances_from;
use kameo_bot::kameo::models::{Envelope, ListingData, Loan, TransferInit};
use time::macros::datetime;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kameo-api")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_captured_listing_page_parses_field_by_field() {
    let page: Envelope<ListingData> = serde_json::from_str(&fixture("investment-options.page1.json")).unwrap();
    let d = page.data;
    assert_eq!(
        (d.result_count, d.current_page, d.per_page, d.total, d.last_page),
        (1, 1, 12, 1, 1)
    );
    assert_eq!(d.investment_options.len(), 1);
    let loan: Loan = serde_json::from_value(d.investment_options[0].clone()).unwrap();
    assert_eq!(
        loan.title,
        "Fastighetsbolag söker finansiering för att belåna fem markfastigheter i Strömma, Värmdö"
    );
    assert_eq!(
        loan.teaser,
        "#4840 | Fastigheterna är värderade till totalt SEK 25 000 000"
    );
    assert_eq!(
        loan.image,
        "https://platform-text-media-prod.s3.eu-north-1.amazonaws.com/486/4840/6854059d676d7.jpg"
    );
    assert_eq!(loan.loan_application_id, 4840);
    assert_eq!(loan.application_amount, 12_500_000);
    assert_eq!(loan.annual_interest_rate, 10.0);
    assert_eq!(loan.duration_in_months, 12);
    assert_eq!(loan.is_listed, Some(0));
    assert_eq!(loan.available_kiis_languages, "SE");
    assert_eq!(loan.risk_score, "B");
    assert_eq!(loan.subscribed_amount, 12_479_500);
    assert_eq!(loan.subscription_state.state_id, 30);
    assert_eq!(loan.subscription_state.status_text_localized, "Tilldelning");
    assert_eq!(loan.listing_date, Some(datetime!(2025-07-07 11:11:55 +02:00)));
    assert_eq!(loan.subscription_starts_at, Some(datetime!(2025-07-07 14:00:00 +02:00)));
    assert_eq!(loan.subscription_ends_at, Some(datetime!(2025-07-10 23:59:00 +02:00)));
    assert_eq!(loan.allocation_type_id, Some(2));
    assert_eq!(loan.book_building_duration, Some(1440));
    assert_eq!(loan.currency, "SEK");
    assert_eq!(loan.min_amount, 500);
    assert_eq!(loan.underwriter_state, Some(0));
    assert_eq!(loan.fully_funded_state, Some(0));
    assert_eq!(loan.my_bid_amount, 0);
    assert_eq!(loan.bidders, None);
    // In allocation: closed for bids whatever the clock says.
    assert!(!loan.is_open_at(datetime!(2025-07-08 12:00:00 UTC)));
}

#[test]
fn the_captured_empty_page_parses() {
    let page: Envelope<ListingData> = serde_json::from_str(&fixture("investment-options.page2-empty.json")).unwrap();
    let d = page.data;
    assert!(d.investment_options.is_empty());
    assert_eq!(
        (d.result_count, d.current_page, d.per_page, d.total, d.last_page),
        (0, 2, 12, 1, 1)
    );
}

#[test]
fn the_captured_balances_parse_into_ore() {
    let raw: TransferInit = serde_json::from_str(&fixture("transfer-init.json")).unwrap();
    let b = balances_from(raw).unwrap();
    let accounts: Vec<(&str, &str, i64, i64)> = b
        .accounts
        .iter()
        .map(|a| {
            (
                a.account_no.as_str(),
                a.currency.as_str(),
                a.available_ore,
                a.reserved_ore,
            )
        })
        .collect();
    assert_eq!(
        accounts,
        [
            ("1000001", "SEK", 3_466_748, 0),
            ("1000009", "NOK", 0, 0),
            ("1000017", "DKK", 0, 0)
        ]
    );
    assert_eq!(b.xsrf_token.expose(), "0123456789abcdef0123456789abcdef01234567");
    assert!(b.transfer_requests.is_empty());
    assert_eq!(b.translation["insufficientCashWithMarginErr"], "10% marginal krävs.");
    assert_eq!(b.translation.len(), 10);
    assert!(b.rates.is_null() && b.fees.is_null() && b.message.is_null());
}

#[test]
fn a_balances_error_text_is_an_error() {
    let raw: TransferInit =
        serde_json::from_str(r#"{"error_text": "Du är inte inloggad", "content": {"data": null}}"#).unwrap();
    let err = balances_from(raw).unwrap_err();
    assert!(err.to_string().contains("Du är inte inloggad"), "{err}");
}

#[test]
fn unexpected_spellings_parse_and_garbage_is_refused() {
    let mut item: serde_json::Value =
        serde_json::from_str::<Envelope<ListingData>>(&fixture("investment-options.page1.json"))
            .unwrap()
            .data
            .investment_options[0]
            .clone();
    item["annual_interest_rate"] = "9,75".into();
    item["application_amount"] = "2500000".into();
    item["my_bid_amount"] = serde_json::Value::Null;
    item["number_of_investors"] = 14.into();
    item["a_field_nobody_knows"] = "ignored".into();
    let loan: Loan = serde_json::from_value(item.clone()).unwrap();
    assert_eq!(
        (
            loan.annual_interest_rate,
            loan.application_amount,
            loan.my_bid_amount,
            loan.bidders
        ),
        (9.75, 2_500_000, 0, Some(14))
    );

    item["min_amount"] = "500.5".into();
    let err = serde_json::from_value::<Loan>(item.clone()).unwrap_err();
    assert!(err.to_string().contains("whole"), "{err}");
    item["min_amount"] = 500.into();
    item["subscription_starts_at"] = "tomorrow".into();
    assert!(serde_json::from_value::<Loan>(item).is_err());
}
