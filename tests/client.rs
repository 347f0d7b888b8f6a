//! The Kameo client against the simulator over real HTTP on port 0.

mod common;

use std::time::Duration;

use kameo_bot::config::{HumanDuration, KameoConfig, Secret};
use kameo_bot::kameo::{Intention, KameoClient, KameoError, LoginStep};
use kameo_bot::sim::{
    DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, Fault, FaultSpec, Scenario, ScenarioLoan, SimOptions, Simulator,
};

fn loan(id: u64, opens_after: i64) -> ScenarioLoan {
    ScenarioLoan {
        application_amount: 2_000_000,
        ..ScenarioLoan::new(id, opens_after)
    }
}

fn config(sim: &Simulator) -> KameoConfig {
    KameoConfig {
        email: DEMO_EMAIL.into(),
        password: Some(Secret::new(DEMO_PASSWORD)),
        totp_secret: Some(Secret::new(DEMO_TOTP_SECRET.to_lowercase())),
        api_url: sim.api_url(),
        web_url: sim.web_url(),
        countries: vec!["sweden".into(), "norway".into(), "denmark".into()],
        rate_limit_delay: 0.0,
        timeout: HumanDuration(Duration::from_secs(2)),
        ..KameoConfig::default()
    }
}

async fn setup(loans: Vec<ScenarioLoan>) -> (Simulator, KameoClient) {
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario { loans }),
        ..SimOptions::default()
    })
    .await;
    let client = KameoClient::new(&config(&sim), None).unwrap();
    (sim, client)
}

#[tokio::test]
async fn logs_in_and_reads_every_endpoint() {
    let (sim, client) = setup(vec![loan(1, -10), loan(2, 600)]).await;
    client.login().await.unwrap();
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans.len(), 2);
    let open = listing.loans.iter().find(|l| l.loan_application_id == 1).unwrap();
    assert_eq!(
        (open.currency.as_str(), open.min_amount, open.my_bid_amount),
        ("SEK", 500, 0)
    );
    assert!(open.is_open_at(sim.now()));

    let balances = client.balances().await.unwrap();
    assert_eq!(balances.account("SEK").unwrap().available_ore, 20_000_000);
    assert_eq!(balances.accounts.len(), 3);
    assert_eq!(format!("{:?}", balances.xsrf_token), "********");

    assert!(client.questions(1).await.unwrap().settings.can_create_question);
    assert_eq!(client.bid_form(1).await.unwrap().min_amount, 500);
    assert_eq!(client.subscription(1).await.unwrap().loan_application_id, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn previews_and_submits_a_bid() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    let preview = client.preview(1, 1500, Intention::Add).await.unwrap();
    assert_eq!(preview.bid_amount, 1500);
    assert_eq!(preview.sequence_hash.len(), 32);
    let receipt = client
        .submit(1, 1500, Intention::Add, &preview.sequence_hash)
        .await
        .unwrap();
    assert_eq!(receipt.heading, "Ditt bud är registrerat");
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans[0].my_bid_amount, 1500);
    assert_eq!(sim.accepted_bids().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_says_which_step_failed_and_is_not_retried() {
    let sim = common::sim(SimOptions::default()).await;
    let mut cfg = config(&sim);
    cfg.password = Some(Secret::new("Pw-4711-not-it"));
    let client = KameoClient::new(&cfg, None).unwrap();
    let err = client.listing().await.unwrap_err();
    assert!(
        matches!(
            err,
            KameoError::LoginRefused {
                step: LoginStep::Password,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_login_refused());
    assert!(
        !format!("{err} {err:?}").contains("Pw-4711"),
        "the password must not show: {err}"
    );
    assert_eq!(sim.journal().count("POST", "/user/login"), 1, "one attempt, no loop");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_totp_secret_is_refused_after_one_more_try() {
    let sim = common::sim(SimOptions::default()).await;
    let mut cfg = config(&sim);
    cfg.totp_secret = Some(Secret::new("JBSWY3DPEHPK3PXPJBSWY3DP"));
    let client = KameoClient::new(&cfg, None).unwrap();
    let err = client.login().await.unwrap_err();
    assert!(
        matches!(
            err,
            KameoError::LoginRefused {
                step: LoginStep::TwoFactorCode,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("clock"), "{err}");
    assert_eq!(sim.journal().count("POST", "/auth/2fa"), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_transparently() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    client.listing().await.unwrap();
    sim.expire_sessions();
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans.len(), 1);
    assert_eq!(
        sim.journal().count("POST", "/auth/2fa"),
        2,
        "one login, then one for the expiry"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_on_the_web_host_is_renewed_too() {
    let (sim, client) = setup(vec![]).await;
    client.balances().await.unwrap();
    sim.expire_sessions();
    assert_eq!(client.balances().await.unwrap().accounts.len(), 3);
    assert_eq!(sim.journal().count("POST", "/auth/2fa"), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_429_burst_is_absorbed() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    client.login().await.unwrap();
    for _ in 0..3 {
        sim.queue_fault("investment-options", Fault::TooManyRequests);
    }
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans.len(), 1);
    assert_eq!(sim.journal().too_many_requests(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_malformed_bodies_are_retried_on_reads() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    client.login().await.unwrap();
    sim.queue_fault("investment-options", Fault::ServerError);
    sim.queue_fault("investment-options", Fault::Malformed);
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans.len(), 1);
    assert_eq!(sim.journal().count("GET", "investment-options"), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_submit_that_times_out_is_unknown_and_not_resent() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    sim.set_faults(FaultSpec::parse("slow_delay=4s").unwrap());
    let preview = client.preview(1, 2000, Intention::Add).await.unwrap();
    sim.queue_fault("/submit", Fault::Slow);
    let err = client
        .submit(1, 2000, Intention::Add, &preview.sequence_hash)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            KameoError::OutcomeUnknown {
                loan_id: 1,
                amount: 2000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(sim.journal().count("POST", "/submit"), 1, "never resent");
    // The platform took it: the listing shows it, which is how the caller reconciles.
    assert_eq!(sim.accepted_bids().len(), 1);
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans[0].my_bid_amount, 2000);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_submit_answered_with_5xx_is_unknown_and_not_resent() {
    let (sim, client) = setup(vec![loan(1, -10)]).await;
    let preview = client.preview(1, 2000, Intention::Add).await.unwrap();
    sim.queue_fault("/submit", Fault::ServerError);
    let err = client
        .submit(1, 2000, Intention::Add, &preview.sequence_hash)
        .await
        .unwrap_err();
    assert!(matches!(err, KameoError::OutcomeUnknown { .. }), "{err}");
    assert_eq!(sim.journal().count("POST", "/submit"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_listing_walks_every_page() {
    let loans: Vec<ScenarioLoan> = (1..=40).map(|i| loan(i, 60)).collect();
    let (sim, client) = setup(loans).await;
    let listing = client.listing().await.unwrap();
    assert_eq!(listing.loans.len(), 40);
    assert_eq!(
        sim.journal().count("GET", "investment-options"),
        4,
        "12 a page: 4 pages"
    );
    let mut ids: Vec<u64> = listing.loans.iter().map(|l| l.loan_application_id).collect();
    ids.sort();
    assert_eq!(ids, (1..=40).collect::<Vec<_>>());
    sim.shutdown().await;
}

#[tokio::test]
async fn every_refused_bid_is_a_clear_error() {
    let mut dkk = loan(3, -10);
    dkk.country = "denmark".into();
    let (sim, client) = setup(vec![loan(1, -10), loan(2, 600), dkk]).await;
    let cases: [(u64, u64, &str); 4] = [
        (2, 1000, "loan"),
        (1, 100, "amount"),
        (1, 12_000, "amount"),
        (3, 1000, "amount"),
    ];
    for (id, amount, field) in cases {
        match client.preview(id, amount, Intention::Add).await {
            Err(KameoError::BidRejected {
                loan_id,
                status,
                message,
                field_errors,
                ..
            }) => {
                assert_eq!((loan_id, status), (id, 422));
                assert!(!message.is_empty());
                assert!(field_errors.contains_key(field), "loan {id} {amount}: {field_errors:?}");
            }
            other => panic!("loan {id} amount {amount}: expected a rejection, got {other:?}"),
        }
    }
    // A bad hash on submit, and the message in the error's text.
    let err = client
        .submit(1, 1000, Intention::Add, "0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sequence_hash"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_bodies_are_kept_without_tokens_when_asked() {
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario {
            loans: vec![loan(1, -10)],
        }),
        ..SimOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&sim);
    cfg.save_raw_data = true;
    let client = KameoClient::new(&cfg, Some(dir.path())).unwrap();
    client.listing().await.unwrap();
    client.balances().await.unwrap();
    let mut files = Vec::new();
    for entry in common::files_below(dir.path()) {
        files.push(std::fs::read_to_string(&entry).unwrap());
    }
    assert!(files.iter().any(|f| f.contains("investment_options")), "{files:?}");
    let balances = files.iter().find(|f| f.contains("accounts")).expect("balances kept");
    assert!(balances.contains("\"xsrfToken\":\"********\""), "{balances}");
    assert!(!files.iter().any(|f| f.contains(DEMO_PASSWORD) || f.contains("<html")));
    sim.shutdown().await;
}
