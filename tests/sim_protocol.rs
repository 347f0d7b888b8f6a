//! The simulator over real HTTP on port 0: login as captured, listing,
//! bidding with every refusal, expiry, rate limit, faults, allocation.

mod common;

use common::{demo_code, listing_url, raw_client, raw_login, two_factor_token};
use kameo_bot::sim::{DEMO_EMAIL, Fault, FaultSpec, Scenario, ScenarioLoan, SimOptions, Simulator};
use serde_json::{Value, json};

fn loan(id: u64, country: &str, opens_after: i64) -> ScenarioLoan {
    ScenarioLoan {
        country: country.into(),
        annual_interest_rate: 9.5,
        listed_after: -3600,
        ..ScenarioLoan::new(id, opens_after)
    }
}

async fn sim_with(loans: Vec<ScenarioLoan>) -> Simulator {
    common::sim(SimOptions {
        scenario: Some(Scenario { loans }),
        ..SimOptions::default()
    })
    .await
}

async fn logged_in(loans: Vec<ScenarioLoan>) -> (Simulator, reqwest::Client) {
    let sim = sim_with(loans).await;
    let client = raw_client();
    raw_login(&client, &sim, 0).await;
    (sim, client)
}

async fn preview(c: &reqwest::Client, sim: &Simulator, id: u64, amount: &str) -> (u16, Value) {
    let r = c
        .post(format!("{}/bidding/{id}/load", sim.api_url()))
        .json(&json!({"amount": amount, "intention": "add", "sequence_hash": "", "payment_options": ["ip"]}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn submit(c: &reqwest::Client, sim: &Simulator, id: u64, amount: &str, hash: &str) -> (u16, Value) {
    let r = c
        .post(format!("{}/bidding/{id}/submit", sim.api_url()))
        .json(&json!({"amount": amount, "intention": "add", "sequence_hash": hash, "payment_options": ["ip"]}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Preview then submit; the submit's status and body.
async fn bid(c: &reqwest::Client, sim: &Simulator, id: u64, amount: &str) -> (u16, Value) {
    let (status, body) = preview(c, sim, id, amount).await;
    assert_eq!(status, 200, "{body}");
    let hash = body["data"]["sequence_hash"].as_str().unwrap().to_string();
    submit(c, sim, id, amount, &hash).await
}

#[tokio::test]
async fn login_follows_the_captured_flow_and_refuses_what_it_should() {
    let sim = sim_with(vec![]).await;
    let web = sim.web_url();
    let c = raw_client();
    let r = c.get(format!("{web}/user/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["set-cookie"].to_str().unwrap().starts_with("eZSESSID="));

    // Wrong password: back on the login page, no redirect.
    let r = c
        .post(format!("{web}/user/login"))
        .form(&[("Login", DEMO_EMAIL), ("Password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("action=\"/user/login\""));

    // The 2FA page is out of reach before the password.
    let r = c.get(format!("{web}/auth/2fa")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/user/login");

    raw_login(&c, &sim, 0).await;
    // The session now reaches the API host too (cookie shared across ports).
    let r = c.get(listing_url(&sim, 12, 1)).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // A second client: the e-sign form's token is refused, as is a used code.
    let c2 = raw_client();
    c2.get(format!("{web}/user/login")).send().await.unwrap();
    c2.post(format!("{web}/user/login"))
        .form(&[("Login", DEMO_EMAIL), ("Password", kameo_bot::sim::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    let page = c2
        .get(format!("{web}/auth/2fa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"csrf-token\" id=\"ezxform_token_js\""));
    assert!(page.contains("action=\"/auth/e-sign\""));
    let token = two_factor_token(&page).unwrap();
    let esign_token = format!("esign-{token}");
    for (token, code) in [
        (esign_token.as_str(), demo_code(1)),
        (token.as_str(), demo_code(0)),
        (token.as_str(), "000000".into()),
    ] {
        let r = c2
            .post(format!("{web}/auth/2fa"))
            .form(&[("ezxform_token", token), ("code", code.as_str()), ("submit_code", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "token {token} code {code} must be refused");
        assert!(r.text().await.unwrap().contains("Felaktig kod"));
    }
    let r = c2
        .post(format!("{web}/auth/2fa"))
        .form(&[
            ("ezxform_token", token.as_str()),
            ("code", demo_code(1).as_str()),
            ("submit_code", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/aktuella-lan");
    sim.shutdown().await;
}

#[tokio::test]
async fn listing_paginates_and_filters_by_country() {
    let mut loans: Vec<ScenarioLoan> = (1..=27).map(|i| loan(i, "sweden", 60)).collect();
    loans.extend((28..=30).map(|i| loan(i, "denmark", 60)));
    let (sim, c) = logged_in(loans).await;
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body: Value = c
            .get(listing_url(&sim, 12, page))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = &body["data"];
        assert_eq!(data["last_page"], 3);
        assert_eq!(data["total"], 30);
        assert_eq!(data["current_page"], page);
        for item in data["investment_options"].as_array().unwrap() {
            seen.push(item["loan_application_id"].as_u64().unwrap());
        }
    }
    seen.sort();
    assert_eq!(seen, (1..=30).collect::<Vec<_>>());

    let url = format!(
        "{}/loans/listing/investment-options?subscription_origin_sweden=0&subscription_origin_norway=0&subscription_origin_denmark=1&limit=12&page=1",
        sim.api_url()
    );
    let body: Value = c.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["data"]["total"], 3);
    assert!(
        body["data"]["investment_options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["currency"] == "DKK")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn preview_then_submit_reserves_cash_and_shows_my_bid() {
    let (sim, c) = logged_in(vec![loan(1, "sweden", -10)]).await;
    let (status, body) = preview(&c, &sim, 1, "3000").await;
    assert_eq!(status, 200, "{body}");
    let hash = body["data"]["sequence_hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 32);
    assert!(hash.chars().all(|ch| ch.is_ascii_hexdigit()));
    assert_eq!(body["data"]["subscription"]["subscription_is_open"], true);

    let (status, body) = submit(&c, &sim, 1, "3000", &hash).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["heading"], "Ditt bud är registrerat");
    // Single use: the same hash again is refused.
    let (status, body) = submit(&c, &sim, 1, "3000", &hash).await;
    assert_eq!(
        (status, body["errors"]["sequence_hash"].is_array()),
        (422, true),
        "{body}"
    );

    let listing: Value = common::listing(&c, &sim).await;
    assert_eq!(listing["data"]["investment_options"][0]["my_bid_amount"], 3000);
    assert_eq!(sim.cash("SEK").reserved, 300_000);
    assert_eq!(sim.cash("SEK").available, 19_700_000);
    let bids = sim.journal().bids;
    assert_eq!(bids.len(), 2);
    assert!(bids[0].accepted && !bids[1].accepted);
    assert!(bids[0].reaction_latency().unwrap() >= time::Duration::seconds(10));
    sim.shutdown().await;
}

#[tokio::test]
async fn every_refusal_is_a_422_naming_its_field() {
    let mut dkk = loan(3, "denmark", -10);
    dkk.min_amount = 1000;
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario {
            loans: vec![loan(1, "sweden", -10), loan(2, "sweden", 600), dkk],
        }),
        hash_ttl: time::Duration::seconds(1),
        cash_sek: 20_000,
        ..SimOptions::default()
    })
    .await;
    let c = raw_client();
    raw_login(&c, &sim, 0).await;

    let cases: [(u64, &str, &str); 5] = [
        (2, "1000", "loan"),      // not open yet
        (3, "500", "amount"),     // below min_amount (1000 on this loan)
        (1, "12000", "amount"),   // over the 11,500 SEK cap
        (3, "1000", "amount"),    // no DKK cash
        (1, "3000,50", "amount"), // not a whole number
    ];
    for (id, amount, field) in cases {
        let (status, body) = preview(&c, &sim, id, amount).await;
        assert_eq!(status, 422, "loan {id} amount {amount}: {body}");
        assert!(body["message"].is_string(), "{body}");
        assert!(
            body["errors"][field][0].is_string(),
            "loan {id} amount {amount} should blame {field}: {body}"
        );
    }

    // The cap sums over bids: 10,000 then 2,000 more is over 11,500.
    assert_eq!(bid(&c, &sim, 1, "10000").await.0, 200);
    let (status, body) = preview(&c, &sim, 1, "2000").await;
    assert_eq!((status, body["errors"]["amount"].is_array()), (422, true), "{body}");

    // A hash for another amount, and an expired hash.
    let (_, body) = preview(&c, &sim, 1, "500").await;
    let hash = body["data"]["sequence_hash"].as_str().unwrap().to_string();
    let (status, body) = submit(&c, &sim, 1, "600", &hash).await;
    assert_eq!(
        (status, body["errors"]["sequence_hash"].is_array()),
        (422, true),
        "{body}"
    );
    let (_, body) = preview(&c, &sim, 1, "500").await;
    let hash = body["data"]["sequence_hash"].as_str().unwrap().to_string();
    sim.travel(time::Duration::seconds(2));
    let (status, body) = submit(&c, &sim, 1, "500", &hash).await;
    assert_eq!(
        (status, body["errors"]["sequence_hash"].is_array()),
        (422, true),
        "{body}"
    );
    let (status, body) = submit(&c, &sim, 1, "500", "0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        (status, body["errors"]["sequence_hash"].is_array()),
        (422, true),
        "{body}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn insufficient_cash_is_refused() {
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario {
            loans: vec![loan(1, "sweden", -10)],
        }),
        cash_sek: 1_000,
        ..SimOptions::default()
    })
    .await;
    let c = raw_client();
    raw_login(&c, &sim, 0).await;
    let (status, body) = preview(&c, &sim, 1, "1500").await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().contains("saldo"), "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_sessions_get_401_on_the_api_and_a_redirect_on_the_web() {
    let (sim, c) = logged_in(vec![loan(1, "sweden", -10)]).await;
    assert_eq!(c.get(listing_url(&sim, 12, 1)).send().await.unwrap().status(), 200);
    sim.expire_sessions();
    let r = c.get(listing_url(&sim, 12, 1)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"message": "Unauthenticated."}));
    let r = c
        .get(format!("{}/ezjscore/call/kameo_transfer::init", sim.web_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (302, "/user/login")
    );

    // Injected expiry: sessions end `expire` simulated seconds after login.
    raw_login(&c, &sim, 1).await;
    sim.set_faults(FaultSpec::parse("expire=600s").unwrap());
    assert_eq!(c.get(listing_url(&sim, 12, 1)).send().await.unwrap().status(), 200);
    sim.travel(time::Duration::seconds(601));
    assert_eq!(c.get(listing_url(&sim, 12, 1)).send().await.unwrap().status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sixty_first_request_in_a_minute_is_refused() {
    let (sim, c) = logged_in(vec![]).await;
    let mut last_remaining = 60;
    for i in 0..60 {
        let r = c.get(listing_url(&sim, 12, 1)).send().await.unwrap();
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.headers()["x-ratelimit-limit"], "60");
        let remaining: u32 = r.headers()["x-ratelimit-remaining"].to_str().unwrap().parse().unwrap();
        assert!(remaining < last_remaining);
        last_remaining = remaining;
    }
    let r = c.get(listing_url(&sim, 12, 1)).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Too Many Attempts."})
    );
    assert_eq!(sim.journal().too_many_requests(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_fail_the_way_they_say() {
    let (sim, c) = logged_in(vec![loan(1, "sweden", -10)]).await;
    sim.queue_fault("investment-options", Fault::ServerError);
    assert_eq!(c.get(listing_url(&sim, 12, 1)).send().await.unwrap().status(), 503);
    sim.queue_fault("investment-options", Fault::Malformed);
    let text = c
        .get(listing_url(&sim, 12, 1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    sim.queue_fault("investment-options", Fault::TooManyRequests);
    assert_eq!(c.get(listing_url(&sim, 12, 1)).send().await.unwrap().status(), 429);
    // A slow submit is carried out, then answered late.
    sim.set_faults(FaultSpec::parse("slow_delay=1s").unwrap());
    sim.queue_fault("/submit", Fault::Slow);
    let started = std::time::Instant::now();
    assert_eq!(bid(&c, &sim, 1, "1000").await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(sim.accepted_bids().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn oversubscribed_loans_allocate_pro_rata_and_release_the_rest() {
    let mut l = loan(1, "sweden", -10);
    l.application_amount = 100_000;
    l.other_demand = 190_000; // with our 10,000: 200,000 for 100,000
    let (sim, c) = logged_in(vec![l]).await;
    assert_eq!(bid(&c, &sim, 1, "10000").await.0, 200);
    sim.travel(time::Duration::seconds(3600 - 10));
    let listing: Value = common::listing(&c, &sim).await;
    assert_eq!(
        listing["data"]["investment_options"][0]["subscription_state"]["state_id"],
        30
    );
    assert_eq!(
        listing["data"]["investment_options"][0]["subscription_state"]["status_text_localized"],
        "Tilldelning"
    );
    assert_eq!(listing["data"]["investment_options"][0]["subscribed_amount"], 200_000);
    sim.travel(time::Duration::seconds(601));
    let cash = sim.cash("SEK");
    assert_eq!((cash.invested, cash.reserved, cash.available), (500_000, 0, 19_500_000));
    let listing: Value = common::listing(&c, &sim).await;
    assert_eq!(listing["data"]["total"], 0, "closed loans leave the listing");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_accelerated_market_brings_new_loans_in_real_time_stamps() {
    let sim = common::sim(SimOptions {
        speed: 600,
        seed: 42,
        ..SimOptions::default()
    })
    .await;
    let before = sim.loans().len();
    sim.travel(time::Duration::seconds(60)); // ten market-hours at 600x
    let loans = sim.loans();
    assert!(loans.len() > before + 3, "{before} -> {}", loans.len());
    let now = sim.now();
    for l in &loans {
        assert!(l.listing_date <= l.starts_at && l.starts_at < l.ends_at);
        assert!(
            (l.starts_at - now).abs() < time::Duration::hours(2),
            "timestamps are wall-clock near now"
        );
    }
    sim.shutdown().await;
}
