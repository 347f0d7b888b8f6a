//! The ledger on real temp files: intents survive a "crash", reconciliation
//! settles them both ways, exposure counts what it must, and `report` adds
//! up.

use std::process::Command;

use kameo_bot::kameo::Loan;
use kameo_bot::kameo::models::{Balances, CashAccount, SubscriptionState};
use kameo_bot::ledger::{BidStatus, Ledger, build_report};
use kameo_bot::strategy::{Action, Decision, SkipReason};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn loan(id: u64, my_bid: u64, rate: f64, risk: &str) -> Loan {
    Loan {
        loan_application_id: id,
        title: format!("Loan {id}"),
        teaser: String::new(),
        image: String::new(),
        application_amount: 1_000_000,
        annual_interest_rate: rate,
        duration_in_months: 12,
        is_listed: None,
        available_kiis_languages: String::new(),
        risk_score: risk.into(),
        subscribed_amount: 0,
        subscription_state: SubscriptionState {
            state_id: 20,
            status_text_localized: String::new(),
        },
        listing_date: None,
        subscription_starts_at: None,
        subscription_ends_at: None,
        allocation_type_id: None,
        book_building_duration: None,
        currency: "SEK".into(),
        min_amount: 500,
        underwriter_state: None,
        fully_funded_state: None,
        my_bid_amount: my_bid,
        bidders: None,
    }
}

#[test]
fn an_intent_survives_a_crash_and_is_confirmed_when_kameo_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let id = {
        let ledger = Ledger::open(&path).unwrap();
        let id = ledger.begin_intent(1, "SEK", 2_000, 0, false, now()).unwrap();
        ledger.mark(id, BidStatus::Submitted, "", now()).unwrap();
        id
        // dropped here without an outcome: the process "died"
    };
    let ledger = Ledger::open(&path).unwrap();
    let pending = ledger.pending_bids().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].status), (id, BidStatus::Submitted));
    assert_eq!(ledger.committed_on_loan(1).unwrap(), 2_000, "pending money counts");

    let settled = ledger
        .reconcile(&[loan(1, 2_000, 10.0, "B")], Duration::minutes(5), now())
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].now, BidStatus::Confirmed);
    assert!(ledger.pending_bids().unwrap().is_empty());
    assert_eq!(ledger.committed_on_loan(1).unwrap(), 2_000);
}

#[test]
fn an_intent_kameo_does_not_show_is_released_but_only_when_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    {
        let ledger = Ledger::open(&path).unwrap();
        ledger.begin_intent(1, "SEK", 1_000, 0, false, now()).unwrap(); // never sent
        let sent = ledger.begin_intent(2, "SEK", 1_500, 500, false, now()).unwrap();
        ledger.mark(sent, BidStatus::Unknown, "timeout", now()).unwrap();
        let gone = ledger.begin_intent(3, "SEK", 700, 0, false, now()).unwrap();
        ledger.mark(gone, BidStatus::Submitted, "", now()).unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    let listing = [loan(1, 0, 9.0, "A"), loan(2, 500, 9.0, "A")];

    // Right after: the unsent one goes; the sent one waits (listings lag).
    let settled = ledger.reconcile(&listing, Duration::minutes(5), now()).unwrap();
    assert_eq!(
        settled.iter().map(|r| (r.loan_id, r.now)).collect::<Vec<_>>(),
        [(1, BidStatus::Released)]
    );
    assert_eq!(ledger.committed_on_loan(2).unwrap(), 1_500);

    // After the grace: Kameo still shows only the 500 from before: released.
    let later = now() + Duration::minutes(6);
    let settled = ledger.reconcile(&listing, Duration::minutes(5), later).unwrap();
    assert_eq!(
        settled.iter().map(|r| (r.loan_id, r.now)).collect::<Vec<_>>(),
        [(2, BidStatus::Released)]
    );
    assert_eq!(ledger.committed_on_loan(2).unwrap(), 0);

    // Loan 3 is no longer listed: a sent bid cannot be judged, and counts.
    assert_eq!(ledger.pending_bids().unwrap().len(), 1);
    assert_eq!(ledger.committed_since("SEK", None).unwrap(), 700);
}

#[test]
fn exposure_counts_committed_money_only() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
    let t = now();
    let statuses = [
        (BidStatus::Confirmed, false, 1_000),
        (BidStatus::Unknown, false, 2_000),
        (BidStatus::Rejected, false, 4_000),
        (BidStatus::Released, false, 8_000),
        (BidStatus::DryRun, true, 16_000),
    ];
    for (status, dry, amount) in statuses {
        let id = ledger.begin_intent(9, "SEK", amount, 0, dry, t).unwrap();
        ledger.mark(id, status, "", t).unwrap();
    }
    assert_eq!(ledger.committed_on_loan(9).unwrap(), 3_000);
    assert_eq!(
        ledger.committed_since("SEK", Some(t - Duration::hours(1))).unwrap(),
        3_000
    );
    assert_eq!(ledger.committed_since("SEK", Some(t + Duration::hours(1))).unwrap(), 0);
    assert_eq!(ledger.committed_since("NOK", None).unwrap(), 0);
}

#[test]
fn snapshots_are_written_only_when_a_loan_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
    let mut l = loan(5, 0, 10.0, "B");
    assert_eq!(ledger.record_snapshot(std::slice::from_ref(&l), now()).unwrap(), 1);
    assert_eq!(ledger.record_snapshot(std::slice::from_ref(&l), now()).unwrap(), 0);
    l.subscribed_amount = 10_000;
    assert_eq!(ledger.record_snapshot(std::slice::from_ref(&l), now()).unwrap(), 1);
    assert_eq!(ledger.snapshot_count(5).unwrap(), 2);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.sqlite");
    drop(Ledger::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Ledger::open(&path).err().expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

/// A ledger with known content, its report checked number by number, and
/// the same through `kameo-bot report --json`.
#[test]
fn the_report_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut ledger = Ledger::open(&path).unwrap();
    let t = now();
    ledger
        .record_snapshot(&[loan(1, 0, 10.0, "A"), loan(2, 0, 8.0, "B"), loan(3, 0, 12.0, "C")], t)
        .unwrap();
    for (loan_id, amount, status) in [
        (1, 4_000, BidStatus::Confirmed),
        (2, 6_000, BidStatus::Confirmed),
        (3, 1_000, BidStatus::Rejected),
        (3, 2_000, BidStatus::Unknown),
    ] {
        let id = ledger.begin_intent(loan_id, "SEK", amount, 0, false, t).unwrap();
        ledger.mark(id, status, "", t).unwrap();
    }
    let skip = |reason| Decision {
        action: Action::Skip { reason },
        capped_by: None,
        detail: String::new(),
    };
    for (loan_id, reason) in [
        (10, SkipReason::RateTooLow),
        (11, SkipReason::RateTooLow),
        (10, SkipReason::RateTooLow),
        (12, SkipReason::RiskClass),
    ] {
        ledger
            .record_decision(None, loan_id, &skip(reason), "fp", false, t)
            .unwrap();
    }
    ledger
        .record_balances(
            &Balances {
                accounts: vec![CashAccount {
                    account_no: "1".into(),
                    currency: "SEK".into(),
                    available_ore: 3_466_748,
                    reserved_ore: 1_200_000,
                }],
                xsrf_token: Default::default(),
                transfer_requests: vec![],
                translation: Default::default(),
                rates: serde_json::Value::Null,
                fees: serde_json::Value::Null,
                message: serde_json::Value::Null,
            },
            t,
        )
        .unwrap();

    let report = build_report(&ledger, None).unwrap();
    let sek = &report.by_currency["SEK"];
    assert_eq!((sek.committed, sek.confirmed), (12_000, 10_000));
    // 4000·10% + 6000·8% + 2000·12% = 400 + 480 + 240
    assert_eq!(sek.expected_yearly_interest, 1_120);
    // (4000·10 + 6000·8 + 2000·12) / 12000 = 9.33
    assert_eq!(sek.weighted_average_rate, 9.33);
    assert_eq!(report.bids_by_status["confirmed"].amount, 10_000);
    assert_eq!(report.bids_by_status["rejected"].count, 1);
    assert_eq!(report.by_risk["C"].amount, 2_000);
    assert_eq!(report.by_month.values().map(|t| t.amount).sum::<u64>(), 12_000);
    assert_eq!(report.skip_reasons["rate_too_low"], 2, "distinct loans");
    assert_eq!(report.skip_reasons["risk_class"], 1);
    assert_eq!(report.balance_history.len(), 1);
    assert!(report.render().contains("34 667,48"));
    drop(ledger);

    let out = Command::new(env!("CARGO_BIN_EXE_kameo-bot"))
        .env_clear()
        .env("KAMEO_BOT__LEDGER__PATH", &path)
        .args(["report", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["by_currency"]["SEK"]["committed"], 12_000);
    assert_eq!(json["by_currency"]["SEK"]["expected_yearly_interest"], 1_120);

    let tomorrow = (OffsetDateTime::now_utc() + Duration::days(1)).date();
    let out = Command::new(env!("CARGO_BIN_EXE_kameo-bot"))
        .env_clear()
        .env("KAMEO_BOT__LEDGER__PATH", &path)
        .args(["report", "--since", &tomorrow.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(no bids)"), "{text}");
}
